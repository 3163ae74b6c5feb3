"""Time as an injected dependency: the ``Clock`` protocol, the real clock and a fake one.

Everything that needs the time (the scheduler, leases, run records) takes a ``Clock`` so that
tests can move time by hand instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock", "ensure_utc"]

_DEFAULT_FAKE_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; naive datetimes are refused rather than guessed at."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


@runtime_checkable
class Clock(Protocol):
    """A source of the current time and a way to wait."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a non-positive value returns at once)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime = _DEFAULT_FAKE_START) -> None:
        self._now = ensure_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def advance(self, delta: float | timedelta) -> datetime:
        """Move forward by ``delta`` (seconds or a timedelta) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a FakeClock only advances forward; use set() to go back")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (any direction)."""
        with self._lock:
            self._now = ensure_utc(moment)
