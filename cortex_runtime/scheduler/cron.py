"""Cron triggers: pure values computing fire times from standard 5-field cron expressions.

This is the only module that imports croniter; its errors become
``cortex.invalidArgument.unspecified`` faults with ``path='cron'``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterBadDateError, CroniterError

from ..clock import ensure_utc
from ..faults import Fault

__all__ = ["DEFAULT_MAX_RUNS_PER_DAY", "CronTrigger", "check_daily_cap", "runs_per_day"]

DEFAULT_MAX_RUNS_PER_DAY = 8640
"""The platform's ``maxJobRunsPerDay`` (decisions.md "Daily job runs"; the docs' 24 is not used)."""

# A fixed instant keeps validation and runs_per_day deterministic (no clock reads in triggers).
_REFERENCE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_DAY = timedelta(days=1)
# croniter's "R" (random) and "H" (hashed) tokens make the schedule depend on something other
# than the expression, so a trigger would stop being a pure value.
_NON_STANDARD_TOKEN = re.compile(r"(?<![A-Za-z])[RrHh](?![A-Za-z])")


def _invalid(reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason, path="cron")


@dataclass(frozen=True)
class CronTrigger:
    """A 5-field cron expression evaluated in time zone ``tz``; validated on construction.

    Day-of-month and day-of-week combine with OR when both are restricted, as in Vixie cron.
    """

    expression: str
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise _invalid("A cron expression must be a string.")
        fields = self.expression.split()
        if len(fields) != 5:
            raise _invalid(f"A cron expression needs exactly 5 fields, got {len(fields)}.")
        if _NON_STANDARD_TOKEN.search(self.expression):
            raise _invalid("Random (R) and hashed (H) cron fields are not supported.")
        if not isinstance(self.tz, str):
            raise _unknown_zone(self.tz)
        _check_fires(self.expression, self.tz)

    def next(self, after: datetime) -> datetime:
        """The first fire time strictly after ``after`` (timezone-aware), in UTC."""
        start = ensure_utc(after).astimezone(ZoneInfo(self.tz))
        # A copy of the expanded iterator, moved to ``start``, is croniter(expression, start) without re-parsing.
        fired: datetime = copy.copy(_expanded(self.expression, self.tz)).get_next(datetime, start_time=start)
        return fired.astimezone(timezone.utc)


def _unknown_zone(tz: object) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=f"Unknown time zone: {tz!r}.", path="tz")


# Validation and the daily count are pure functions of their arguments and cost croniter
# expansions (the count one per run of the day), so every upsert and release would pay them again.
@lru_cache(maxsize=4096)
def _check_fires(expression: str, tz: str) -> None:
    """Raise unless ``expression`` parses and fires at least once in ``tz`` (failures are not cached)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise _unknown_zone(tz) from exc
    try:
        croniter(expression, _REFERENCE.astimezone(zone)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise _invalid(f"The cron expression {expression!r} never fires.") from exc
    except (CroniterError, ValueError, KeyError) as exc:
        raise _invalid(f"Invalid cron expression {expression!r}: {exc}") from exc


@lru_cache(maxsize=4096)
def _expanded(expression: str, tz: str) -> croniter:
    """A croniter of a valid ``expression``; expanding its fields is most of what constructing one costs."""
    return croniter(expression, _REFERENCE.astimezone(ZoneInfo(tz)))


def runs_per_day(expression: str, tz: str = "UTC", *, stop_after: int | None = None) -> int:
    """How many times ``expression`` fires in one day, counting from a fixed reference.

    The window is the 24 h starting at the first fire time after the reference, so sparse
    schedules (weekly, monthly) are measured on a day they actually run. Counting stops early
    once ``stop_after`` runs are found.
    """
    CronTrigger(expression, tz)  # a bad (or unhashable) argument is a fault, not a cache error
    return _count_runs(expression, tz, stop_after)


@lru_cache(maxsize=4096)
def _count_runs(expression: str, tz: str, stop_after: int | None) -> int:
    # Each step goes through CronTrigger.next (a fresh croniter) rather than one croniter
    # iterator: across a DST change the two disagree, and next() is what the scheduler runs.
    trigger = CronTrigger(expression, tz)
    first = trigger.next(_REFERENCE)
    end = first + _DAY
    count = 0
    moment = first
    while moment < end:
        count += 1
        if stop_after is not None and count >= stop_after:
            break
        moment = trigger.next(moment)
    return count


def check_daily_cap(expression: str, cap: int = DEFAULT_MAX_RUNS_PER_DAY, tz: str = "UTC") -> None:
    """Refuse a schedule that would fire more than ``cap`` times a day (``kMaxAllowed``, 403)."""
    count = runs_per_day(expression, tz, stop_after=cap + 1)
    if count > cap:
        raise Fault(
            "cortex.accessDenied.maxJobsPerDay",
            reason=f"The cron expression {expression!r} fires more than {cap} times per day.",
            path="cron",
        )
