"""Date builders and formatters: ``$dateToString $dateFromString $dateToParts $dateFromParts``.

Formatting follows moment 2.29 (``en`` locale) tokens; the older ``[format, date]`` form of
``$dateToString`` takes MongoDB ``%`` specifiers (decisions.md). Without a ``timezone`` the
server zone is UTC."""

from __future__ import annotations

import calendar
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..types import to_date
from ..values import INVALID_DATE, MISSING, NAN, string_form, to_number, truthy
from ._shared import charge_text, raw_error
from .date import _ZONES, locale_week

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_TOKENS = re.compile(
    r"(\[[^\[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[o|w]?|W[o|W]?|Qo?|N{1,5}|YYYYYY|YYYYY|YYYY|YY|y{2,4}|yo?"
    r"|gg(ggg?)?|GG(GGG?)?|e|E|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?|.)",
    re.DOTALL,
)
_LOCALE_TOKENS = re.compile(r"(\[[^\[]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})")
_LOCALE = {
    "LTS": "h:mm:ss A", "LT": "h:mm A", "L": "MM/DD/YYYY", "LL": "MMMM D, YYYY", "LLL": "MMMM D, YYYY h:mm A", "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY", "ll": "MMM D, YYYY", "lll": "MMM D, YYYY h:mm A", "llll": "ddd, MMM D, YYYY h:mm A",
}
MAX_FORMAT = 10_000  # characters of format text


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _pad(n: int, width: int) -> str:
    return ("-" if n < 0 else "") + str(abs(n)).zfill(width)


def _offset(value: datetime, sep: str) -> str:
    minutes = int((value.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{sep}{minutes % 60:02d}"


def _locale_week_year(value: datetime) -> int:
    week = locale_week(value)
    return value.year + 1 if week == 1 and value.month == 12 else value.year


def _token(value: datetime, token: str, zoned: bool) -> str:
    weekday = value.isoweekday() % 7
    hour12 = value.hour % 12 or 12
    ms = value.microsecond // 1000
    simple = {
        "M": lambda: str(value.month), "Mo": lambda: ordinal(value.month), "MM": lambda: _pad(value.month, 2),
        "MMM": lambda: _MONTHS[value.month - 1][:3], "MMMM": lambda: _MONTHS[value.month - 1],
        "Q": lambda: str((value.month - 1) // 3 + 1), "Qo": lambda: ordinal((value.month - 1) // 3 + 1),
        "D": lambda: str(value.day), "Do": lambda: ordinal(value.day), "DD": lambda: _pad(value.day, 2),
        "DDD": lambda: str(value.timetuple().tm_yday), "DDDo": lambda: ordinal(value.timetuple().tm_yday), "DDDD": lambda: _pad(value.timetuple().tm_yday, 3),
        "d": lambda: str(weekday), "do": lambda: ordinal(weekday), "dd": lambda: _DAYS[weekday][:2], "ddd": lambda: _DAYS[weekday][:3], "dddd": lambda: _DAYS[weekday],
        "e": lambda: str(weekday), "E": lambda: str(value.isoweekday()),
        "w": lambda: str(locale_week(value)), "wo": lambda: ordinal(locale_week(value)), "ww": lambda: _pad(locale_week(value), 2),
        "W": lambda: str(value.isocalendar()[1]), "Wo": lambda: ordinal(value.isocalendar()[1]), "WW": lambda: _pad(value.isocalendar()[1], 2),
        "YYYY": lambda: _pad(value.year, 4) if value.year <= 9999 else f"+{value.year}", "YY": lambda: _pad(value.year % 100, 2),
        "YYYYY": lambda: _pad(value.year, 5), "YYYYYY": lambda: ("-" if value.year < 0 else "+") + str(abs(value.year)).zfill(6),
        "y": lambda: str(value.year), "yy": lambda: _pad(value.year % 100, 2), "yyy": lambda: _pad(value.year, 3), "yyyy": lambda: _pad(value.year, 4), "yo": lambda: ordinal(value.year),
        "gg": lambda: _pad(_locale_week_year(value) % 100, 2), "gggg": lambda: _pad(_locale_week_year(value), 4), "ggggg": lambda: _pad(_locale_week_year(value), 5),
        "GG": lambda: _pad(value.isocalendar()[0] % 100, 2), "GGGG": lambda: _pad(value.isocalendar()[0], 4), "GGGGG": lambda: _pad(value.isocalendar()[0], 5),
        "a": lambda: "am" if value.hour < 12 else "pm", "A": lambda: "AM" if value.hour < 12 else "PM",
        "H": lambda: str(value.hour), "HH": lambda: _pad(value.hour, 2), "h": lambda: str(hour12), "hh": lambda: _pad(hour12, 2),
        "k": lambda: str(value.hour or 24), "kk": lambda: _pad(value.hour or 24, 2),
        "m": lambda: str(value.minute), "mm": lambda: _pad(value.minute, 2), "s": lambda: str(value.second), "ss": lambda: _pad(value.second, 2),
        "hmm": lambda: f"{hour12}{value.minute:02d}", "hmmss": lambda: f"{hour12}{value.minute:02d}{value.second:02d}",
        "Hmm": lambda: f"{value.hour}{value.minute:02d}", "Hmmss": lambda: f"{value.hour}{value.minute:02d}{value.second:02d}",
        "Z": lambda: _offset(value, ":"), "ZZ": lambda: _offset(value, ""),
        "z": lambda: (value.tzname() or "") if zoned else "", "zz": lambda: (value.tzname() or "") if zoned else "",
        "X": lambda: str(math.floor(value.timestamp())), "x": lambda: str(round(value.timestamp() * 1000)),
    }
    if token in simple:
        return simple[token]()
    if token.startswith("S"):
        return (f"{ms:03d}" + "0" * 6)[: len(token)]
    if token.startswith("N"):
        return "AD" if len(token) < 4 else "Anno Domini" if len(token) == 4 else "AD"
    return token


def moment_format(value: datetime, fmt: str, zoned: bool = False) -> str:
    """``moment(value).format(fmt)``; ``zoned`` when the moment carries a named zone (``z``)."""
    for _ in range(5):  # moment expands locale tokens up to 5 times
        expanded = _LOCALE_TOKENS.sub(lambda m: m.group(0) if m.group(1) or m.group(2) else _LOCALE[m.group(3)], fmt)
        if expanded == fmt:
            break
        fmt = expanded
    out: list[str] = []
    for match in _TOKENS.finditer(fmt):
        literal, escaped, token = match.group(1), match.group(2), match.group(3)
        if literal:
            out.append(literal[1:-1])
        elif escaped:
            out.append(token)
        else:
            out.append(_token(value, token, zoned))
    return "".join(out)


_PERCENT = {
    "d": lambda v: f"{v.day:02d}", "G": lambda v: f"{v.isocalendar()[0]:04d}", "H": lambda v: f"{v.hour:02d}", "j": lambda v: f"{v.timetuple().tm_yday:03d}",
    "L": lambda v: f"{v.microsecond // 1000:03d}", "m": lambda v: f"{v.month:02d}", "M": lambda v: f"{v.minute:02d}", "S": lambda v: f"{v.second:02d}",
    "u": lambda v: str(v.isoweekday()), "U": lambda v: f"{(v.timetuple().tm_yday + 6 - v.isoweekday() % 7) // 7:02d}", "V": lambda v: f"{v.isocalendar()[1]:02d}",
    "w": lambda v: str(v.isoweekday() % 7 + 1), "Y": lambda v: f"{v.year:04d}", "z": lambda v: _offset(v, ""),
    "Z": lambda v: str(int((v.utcoffset() or timedelta()).total_seconds() // 60)), "%": lambda v: "%",
}


def percent_format(value: datetime, fmt: str) -> str:
    return re.sub(r"%(.)", lambda m: _PERCENT[m.group(1)](value) if m.group(1) in _PERCENT else m.group(0), fmt, flags=re.DOTALL)


def zone_of(op: Any, zone: Any) -> ZoneInfo | None:
    """A truthy zone name (case-insensitive), ``None`` when absent or unknown; a non-string raises."""
    if not truthy(zone):
        return None
    if not isinstance(zone, str):
        raise raw_error(op, f"Time zone name must be a string, got {string_form(zone)} [{type(zone).__name__}]")
    name = _ZONES.get(zone.lower())
    return ZoneInfo(name) if name else None


def _cast(value: Any) -> Any:
    """The Date cast with failures swallowed: a Date or ``None``."""
    if value is None or value is MISSING:
        return None
    try:
        result = to_date(value)
    except Fault:
        return None
    return result if isinstance(result, datetime) else None


@register(OPERATORS, "$dateToString")
class DateToString(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.percent = isinstance(raw, list)
        if self.percent:
            self.format, self.date = self.array(parser, raw, exactly=2)
            self.zone = self.on_null = None
            return
        parts = self.object(parser, raw, ("date", "format", "timezone"))
        self.date, self.format, self.zone = parts["date"], parts["format"], parts["timezone"]
        self.on_null = parser.expr(raw["onNull"], join(self.path, "onNull"), self.depth + 1) if "onNull" in raw else None

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        date, fmt = self.date.evaluate(ctx), self.format.evaluate(ctx)
        zone = self.zone.evaluate(ctx) if self.zone is not None else MISSING
        value = _cast(date)
        if value is None:
            return self.on_null.evaluate(ctx) if self.on_null is not None else MISSING
        value = value.astimezone(timezone.utc)
        if truthy(fmt) and not isinstance(fmt, str):
            raise raw_error(self, "format.replace is not a function")
        if truthy(fmt):
            charge_text(ctx, len(fmt) * 8, self.path)
            if len(fmt) > MAX_FORMAT:
                raise qf(f"{self.name} format is longer than {MAX_FORMAT} characters.", self.path)
        if self.percent:
            return percent_format(value, fmt if isinstance(fmt, str) else "%Y-%m-%dT%H:%M:%S.%LZ")
        tz = zone_of(self, zone)
        if tz is not None:
            value = value.astimezone(tz)
        if not truthy(fmt):
            utc_default = tz is not None and not (value.utcoffset() or timedelta())
            fmt = "YYYY-MM-DDTHH:mm:ss[Z]" if utc_default else "YYYY-MM-DDTHH:mm:ssZ"
        return moment_format(value, fmt, zoned=tz is not None)


@register(OPERATORS, "$dateFromString")
class DateFromString(Operator):
    """``format`` is effectively ignored and ``timezone`` does not move the instant (platform)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("dateString", "format", "timezone"))
        self.text, self.format, self.zone = parts["dateString"], parts["format"], parts["timezone"]
        self.on_error = parser.expr(raw["onError"], join(self.path, "onError"), self.depth + 1) if "onError" in raw else None
        self.on_null = parser.expr(raw["onNull"], join(self.path, "onNull"), self.depth + 1) if "onNull" in raw else None

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        text, _fmt, zone = self.text.evaluate(ctx), self.format.evaluate(ctx), self.zone.evaluate(ctx)
        if truthy(zone) and not isinstance(zone, str):
            raise raw_error(self, f"Time zone name must be a string, got {string_form(zone)}")
        value = None
        if text is not None and text is not MISSING:
            if isinstance(text, str):
                charge_text(ctx, len(text), self.path)
            try:
                value = to_date(text)
            except Fault:
                if self.on_error is not None:
                    return self.on_error.evaluate(ctx)
        if not isinstance(value, datetime):
            return self.on_null.evaluate(ctx) if self.on_null is not None else MISSING
        return value


@register(OPERATORS, "$dateToParts")
class DateToParts(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("date", "timezone", "iso8601"))
        self.date, self.zone, self.iso = parts["date"], parts["timezone"], parts["iso8601"]

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        date, zone, iso = self.date.evaluate(ctx), self.zone.evaluate(ctx), self.iso.evaluate(ctx)
        keys = ("isoWeekYear", "isoWeek", "isoDayOfWeek") if truthy(iso) else ("year", "month", "day")
        keys += ("hour", "minute", "second", "millisecond")
        if date is None:
            return {key: NAN for key in keys}
        try:
            value = to_date(date)
        except Fault:
            return MISSING
        tz = zone_of(self, zone)
        value = value.astimezone(tz or timezone.utc)
        head = list(value.isocalendar()) if truthy(iso) else [value.year, value.month - 1, value.day]
        return dict(zip(keys, [*head, value.hour, value.minute, value.second, value.microsecond // 1000]))


def _parse_int(value: Any) -> float:
    """JS ``parseInt(String(v), 10)``: NaN when nothing numeric leads."""
    match = re.match(r"^\s*([+-]?\d+)", string_form(value)[:400])
    return int(match.group(1)) if match else NAN


_UNITS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_ISO = ("isoWeekYear", "isoWeek", "isoDayOfWeek")


@register(OPERATORS, "$dateFromParts")
class DateFromParts(Operator):
    """moment object construction in UTC: month 0-based; absent units before the first given one
    are today's, later ones 1 (day) or 0; out of range → Invalid Date."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.parts = self.object(parser, raw, (*_UNITS, *_ISO, "timezone"))

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        v = {key: node.evaluate(ctx) for key, node in self.parts.items()}
        zone = v.pop("timezone")
        if truthy(zone) and not isinstance(zone, str):
            raise raw_error(self, f"Time zone name must be a string, got {string_form(zone)}")
        if truthy(v["year"]) and truthy(v["isoWeekYear"]):
            return MISSING
        if (truthy(v["isoWeek"]) or truthy(v["isoDayOfWeek"])) and not truthy(v["isoWeekYear"]):
            return MISSING
        now = ctx.now().astimezone(timezone.utc)
        current = {"year": now.year, "month": now.month - 1, "day": now.day, "hour": now.hour, "minute": now.minute, "second": now.second, "millisecond": now.microsecond // 1000}
        units = _UNITS[3:] if truthy(v["isoWeekYear"]) else _UNITS
        given = [u for u in units if v[u] is not None and v[u] is not MISSING]
        first = units.index(given[0]) if given else len(units)
        values: dict[str, Any] = dict(current)
        for i, unit in enumerate(units):
            if unit in given:
                values[unit] = _parse_int(v[unit])
            elif i > first:
                values[unit] = 1 if unit == "day" else 0
        if any(isinstance(x, float) and math.isnan(x) for x in values.values()):
            return INVALID_DATE
        result = _build(values)
        if result is INVALID_DATE or not truthy(v["isoWeekYear"]):
            return result
        return _iso_shift(result, v)


def _build(p: dict[str, Any]) -> Any:
    year, month, day = p["year"], p["month"], p["day"]
    if not (1 <= year <= 9999 and 0 <= month <= 11 and 1 <= day <= calendar.monthrange(year, month + 1)[1]):
        return INVALID_DATE
    if not (0 <= p["hour"] <= 24 and 0 <= p["minute"] <= 59 and 0 <= p["second"] <= 59 and 0 <= p["millisecond"] <= 999):
        return INVALID_DATE
    if p["hour"] == 24:
        if p["minute"] or p["second"] or p["millisecond"]:
            return INVALID_DATE
        return datetime(year, month + 1, day, tzinfo=timezone.utc) + timedelta(days=1)
    return datetime(year, month + 1, day, p["hour"], p["minute"], p["second"], p["millisecond"] * 1000, tzinfo=timezone.utc)


def _iso_shift(value: datetime, v: dict[str, Any]) -> Any:
    """moment's ``isoWeekYear(y)``, then ``isoWeek(w)``, then ``isoWeekday(d)``."""
    try:
        target = _parse_int(v["isoWeekYear"])
        if isinstance(target, float):
            return INVALID_DATE
        year, week, day = value.isocalendar()
        weeks = datetime(target, 12, 28).isocalendar()[1]
        moved = datetime.fromisocalendar(target, min(week, weeks), day)
        value = value.replace(year=moved.year, month=moved.month, day=moved.day)
        for key, current in (("isoWeek", lambda d: d.isocalendar()[1]), ("isoDayOfWeek", lambda d: d.isoweekday())):
            if truthy(v[key]):
                wanted = _parse_int(v[key])
                if isinstance(wanted, float):
                    return INVALID_DATE
                step = 7 if key == "isoWeek" else 1
                value = value + timedelta(days=(wanted - current(value)) * step)
        return value
    except (ValueError, OverflowError):
        return INVALID_DATE


_ = to_number
