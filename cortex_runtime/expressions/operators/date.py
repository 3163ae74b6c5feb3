"""Date-part operators (``DateOperator``, spec §0.6): ``{date, timezone}``, moment semantics."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, register
from ..types import to_date
from ..values import MISSING, truthy

_ZONES = {name.lower(): name for name in available_timezones()}


class DateOperator(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, datetime):
            raw = {"date": raw}
        parts = self.object(parser, raw, ("date", "timezone"))
        self.date, self.zone = parts["date"], parts["timezone"]

    def part(self, value: datetime) -> Any:
        raise NotImplementedError

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        raw, zone = self.date.evaluate(ctx), self.zone.evaluate(ctx)
        try:
            value = to_date(raw)
        except Fault as fault:
            fault.path = self.path
            raise
        if value is None:
            return MISSING
        if truthy(zone):
            if not isinstance(zone, str):
                raise Fault("kError", reason=f"Time zone name must be a string, got {zone}", path=self.path)
            name = _ZONES.get(zone.lower())
            if name is None:
                return MISSING
            value = value.astimezone(ZoneInfo(name))
        return self.part(value)


def _date_part(name: str, fn: Any) -> None:
    cls = type(f"Op_{name[1:]}", (DateOperator,), {"part": lambda self, v: fn(v)})
    register(OPERATORS, name)(cls)


_date_part("$year", lambda v: v.year)
_date_part("$month", lambda v: v.month - 1)  # moment: January = 0
_date_part("$dayOfMonth", lambda v: v.day)
_date_part("$hour", lambda v: v.hour)
_date_part("$minute", lambda v: v.minute)
_date_part("$second", lambda v: v.second)
_date_part("$millisecond", lambda v: v.microsecond // 1000)
_date_part("$isoDayOfWeek", lambda v: v.isoweekday())
_date_part("$isoWeek", lambda v: v.isocalendar()[1])
_date_part("$isoWeekYear", lambda v: v.isocalendar()[0])
_date_part("$dayOfWeek", lambda v: v.isoweekday() % 7)  # moment weekday(), en locale: Sunday = 0
_date_part("$dayOfYear", lambda v: v.timetuple().tm_yday)


def locale_week(value: datetime) -> int:
    """moment's ``week()`` in the default ``en`` locale: weeks start on Sunday and week 1 is the
    week holding 1 January (2022-12-31 → 53, 2021-12-31 → 1, 2021-01-03 → 2)."""
    from datetime import timedelta

    weekday = value.isoweekday() % 7  # Sunday = 0
    saturday = value.date() + timedelta(days=6 - weekday)
    if saturday.year > value.year:
        return 1
    jan1 = value.date().replace(month=1, day=1)
    return (value.timetuple().tm_yday - 1 + jan1.isoweekday() % 7) // 7 + 1


_date_part("$week", locale_week)
