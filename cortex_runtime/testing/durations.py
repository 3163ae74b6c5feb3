"""Durations as tests write them: milliseconds, or a number with a unit ('90s', '2h', '1d')."""

from __future__ import annotations

import re
from typing import Any

from ..faults import Fault

__all__ = ["duration_ms"]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def duration_ms(value: Any) -> int:
    """``value`` in whole milliseconds; a clear fault for anything that is not a forward duration."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, (int, float)):
        if value != value or value < 0 or value == float("inf"):
            raise Fault("cortex.invalidArgument.unspecified", reason="clock.advance expects a non-negative duration.", path="duration")
        return int(value)
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found:
            return int(float(found.group(1)) * _UNITS[found.group(2) or "ms"])
    raise Fault("cortex.invalidArgument.unspecified", reason=f"clock.advance expects ms or a duration such as '2h' or '1d', not {value!r}.", path="duration")
