"""JavaScript value semantics the engine inherits (operator spec §0.4), over Python values.

Three distinct "nothing" values are kept apart: ``MISSING`` (JS undefined), ``None`` (JS null)
and ``EMPTY`` (the pipeline drop marker). Numbers are JS doubles: results are normalised
back to ``int`` when integral so JSON output matches the platform.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

__all__ = ["EMPTY", "INVALID_DATE", "MISSING", "is_number", "is_numeric", "jsnum", "parse_float", "string_form", "to_number", "to_output", "truthy"]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False

    def __deepcopy__(self, memo: Any) -> _Sentinel:
        return self


MISSING: Any = _Sentinel("MISSING")
EMPTY: Any = _Sentinel("EMPTY")
INVALID_DATE: Any = _Sentinel("Invalid Date")

NAN = float("nan")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Infinity)$")
_RADIX = re.compile(r"^0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)$")
_LEADING = re.compile(r"^\s*[+-]?(Infinity|\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")


def plain(value: Any) -> Any:
    """A value as the database and JSON would keep it: missing object values dropped,
    missing array elements null."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [None if v is MISSING else plain(v) for v in value]
    return value


def is_number(value: Any) -> bool:
    """A JS number (NaN and the infinities included); booleans are not numbers."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def jsnum(value: float) -> int | float:
    """Normalise a double: integral values within 2**53 come back as ``int`` (``-0`` → 0)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) <= 2**53 else float(value)
    if math.isfinite(value) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is EMPTY or value is INVALID_DATE:
        return value is INVALID_DATE
    if isinstance(value, bool):
        return value
    if is_number(value):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def to_number(value: Any) -> float:
    """JS ``ToNumber``."""
    if value is None:
        return 0
    if value is MISSING or value is INVALID_DATE:
        return NAN
    if isinstance(value, bool):
        return 1 if value else 0
    if is_number(value):
        return value
    if isinstance(value, datetime):
        return _epoch_ms(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if _NUMBER.match(text):
            return float(text.replace("Infinity", "inf"))
        radix = _RADIX.match(text)
        if radix:
            return int(text, 0)
        return NAN
    if isinstance(value, list):
        return to_number(string_form(value))
    return NAN


def parse_float(value: Any) -> float:
    """JS ``parseFloat`` of the value's string form."""
    if value is MISSING:
        return NAN
    match = _LEADING.match(string_form(value))
    if not match:
        return NAN
    return float(match.group(0).strip().replace("Infinity", "inf"))


def is_numeric(value: Any) -> bool:
    """``ToNumber(v) − parseFloat(v) + 1 ≥ 0`` (spec §0.4): finite numbers and numeric strings."""
    if isinstance(value, list):
        return False
    a, b = to_number(value), parse_float(value)
    diff = a - b + 1
    return not math.isnan(diff) and diff >= 0


def _epoch_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(round(value.timestamp() * 1000))


def number_string(value: float) -> str:
    """JS number formatting (``1e+21``, ``0.1``, ``NaN``)."""
    if isinstance(value, int):
        return str(value) if abs(value) < 10**21 else number_string(float(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        exp = int(exponent)
        if -7 < exp < 21:
            return format(value, "f").rstrip("0").rstrip(".") if exp < 0 else str(int(value))
        return f"{mantissa}e{'+' if exp > 0 else '-'}{abs(exp)}"
    return text


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def date_string(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{_DAYS[value.weekday()]} {value.strftime('%b %d %Y %H:%M:%S')} GMT+0000 (Coordinated Universal Time)"


def string_form(value: Any) -> str:
    """JS ``String(v)``: arrays comma-joined with null/missing items empty, objects ``[object Object]``."""
    if value is None:
        return "null"
    if value is MISSING:
        return "undefined"
    if value is INVALID_DATE:
        return "Invalid Date"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_number(value):
        return number_string(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is MISSING else string_form(v) for v in value)
    if isinstance(value, datetime):
        return date_string(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, re.Pattern):
        return f"/{value.pattern}/"
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def epoch_ms(value: datetime) -> int:
    return _epoch_ms(value)


def from_ms(ms: float) -> Any:
    """A Date from epoch ms; out-of-range or NaN gives ``INVALID_DATE``."""
    try:
        if math.isnan(ms) or math.isinf(ms):
            return INVALID_DATE
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return INVALID_DATE


def to_output(value: Any) -> Any:
    """Engine values to what a script receives (JSON semantics for undefined and NaN)."""
    if value is MISSING or value is INVALID_DATE:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: to_output(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [to_output(v) for v in value]
    return value
