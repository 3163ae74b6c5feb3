"""Value types: guess, cast, equals and compare (engine spec §4, operator spec §0.5).

``equals``/``compare`` cast the second value to the first one's type, so ``1`` equals
``'1'``; a failed cast makes them unequal (``compare`` then gives -1), as on the platform.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from ..faults import Fault
from .values import INVALID_DATE, MISSING, epoch_ms, from_ms, is_number, is_numeric, string_form, to_number

__all__ = ["TYPE_NAMES", "cast", "compare", "equals", "guess", "js_gt", "locale_compare"]

TYPE_NAMES = ("Array", "Binary", "Boolean", "Cursor", "Date", "Null", "Number", "Object", "ObjectId", "RegExp", "String", "Unknown")
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
_TRUE = {"y", "yes", "true", "1"}


def guess(value: Any) -> str:
    if value is None or value is MISSING:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if is_number(value):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, datetime) or value is INVALID_DATE:
        return "Date"
    if isinstance(value, ObjectId):
        return "ObjectId"
    if isinstance(value, (bytes, bytearray)):
        return "Binary"
    if isinstance(value, re.Pattern):
        return "RegExp"
    return "Unknown"


def _cast_error(value: Any, to: str) -> Fault:
    shown = "undefined" if value is MISSING else string_form(value)
    return Fault("cortex.invalidArgument.castError", reason=f'Could not cast "{shown}" to {to}.')


def parse_date(text: str) -> Any:
    """JS ``new Date(string)`` for the ISO forms (date-only and zone-less times are UTC)."""
    candidate = text.strip()
    try:
        parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    except ValueError:
        for fmt in ("%a %b %d %Y %H:%M:%S GMT%z", "%b %d %Y", "%d %b %Y"):
            try:
                parsed = datetime.strptime(candidate.split(" (")[0], fmt)
                break
            except ValueError:
                continue
        else:
            return INVALID_DATE
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def to_date(value: Any) -> Any:
    """The Date cast; raises the cast fault (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, ObjectId):
        return value.generation_time
    if isinstance(value, str) and _HEX24.match(value):
        return ObjectId(value).generation_time
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value is MISSING or value is INVALID_DATE or isinstance(value, (bool, dict)):
        raise _cast_error(value, "Date")
    if is_number(value):
        result = from_ms(value)
    else:
        text = string_form(value)
        number = to_number(text)
        result = from_ms(number) if not math.isnan(number) else parse_date(text)
    if result is INVALID_DATE:
        raise _cast_error(value, "Date")
    return result


def cast(value: Any, to: str) -> Any:
    if to in ("Null", "Unknown"):
        return value
    if to == "Array":
        return [] if value is None or value is MISSING else value if isinstance(value, list) else [value]
    if to == "Boolean":
        if value is None or value is MISSING or isinstance(value, bool):
            return value
        return string_form(value).lower() in _TRUE
    if to == "Date":
        return to_date(value)
    if value is None or value is MISSING:
        return value
    if to == "Number":
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, datetime):
            return epoch_ms(value)
        if is_numeric(value):
            number = to_number(value)
            return int(number) if float(number).is_integer() and abs(number) <= 2**53 else number
        raise _cast_error(value, "Number")
    if to == "String":
        return value if isinstance(value, str) else string_form(value)
    if to == "Object":
        if isinstance(value, dict):
            return value
        raise _cast_error(value, "Object")
    if to == "ObjectId":
        if isinstance(value, ObjectId):
            return value
        if isinstance(value, str) and _HEX24.match(value):
            return ObjectId(value)
        if isinstance(value, dict) and isinstance(value.get("_id"), ObjectId):
            return value["_id"]
        if isinstance(value, (str, datetime)) or is_number(value):
            try:
                return ObjectId.from_datetime(to_date(value))
            except Fault:
                pass
        raise _cast_error(value, "ObjectId")
    if to == "RegExp":
        if isinstance(value, re.Pattern):
            return value
        if isinstance(value, str) and len(value) > 1 and value.startswith("/") and value.rfind("/") > 0:
            body, flags = value[1 : value.rfind("/")], value[value.rfind("/") + 1 :]
            try:
                return re.compile(body, re.IGNORECASE if "i" in flags else 0)
            except re.error:
                pass
        raise _cast_error(value, "String")
    if to == "Binary":
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise Fault("cortex.invalidArgument.castError", reason="Could not cast value to Binary.")
    raise _cast_error(value, to)


def deep_equal(a: Any, b: Any) -> bool:
    """Structural equality: dates by time, ids by value, any key order; ``True`` is not ``1``."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if type(a) is not type(b) and not (isinstance(a, datetime) and isinstance(b, datetime)):
        return False
    if isinstance(a, re.Pattern):
        return a.pattern == b.pattern
    return bool(a == b)


def _loose(a: Any, b: Any) -> bool:
    """JS ``==`` for the cases left after a cast to ``a``'s type."""
    if a is None or a is MISSING:
        return b is None or b is MISSING
    if b is None or b is MISSING:
        return False
    if type(a) is type(b) or (is_number(a) and is_number(b)):
        return bool(a == b)
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    return to_number(a) == to_number(b)


def _strict(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and bool(a == b)


def equals(a: Any, b: Any, *, do_cast: bool = True, strict: bool = False) -> Any:
    """``Type.equals`` (silent): ``False`` on a failed cast, ``None`` for invalid Dates."""
    kind = guess(a)
    try:
        if do_cast or kind == "Date":
            b = cast(b, kind) if kind != "Date" or b is not None else None
    except Fault:
        return False
    if kind in ("Array", "Object"):
        return deep_equal(a, b)
    if kind == "Date":
        if a is INVALID_DATE or not isinstance(b, datetime):
            return None
        return epoch_ms(a) == epoch_ms(b)
    if kind == "ObjectId":
        return isinstance(b, ObjectId) and a == b
    if kind == "RegExp":
        return isinstance(b, re.Pattern) and a.pattern == b.pattern
    return _strict(a, b) if strict else _loose(a, b)


def locale_compare(a: str, b: str) -> int:
    """An approximation of ICU root collation: case-insensitive first, lowercase first on ties."""
    ka, kb = (a.casefold(), [c.isupper() for c in a]), (b.casefold(), [c.isupper() for c in b])
    return 0 if ka == kb else (-1 if ka < kb else 1)


def _primitive(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return string_form(value)
    if isinstance(value, datetime):
        return epoch_ms(value)
    return value


def js_gt(a: Any, b: Any) -> bool:
    """JS ``a > b``: strings by code units, everything else as numbers (NaN → false)."""
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a.encode("utf-16-be") > b.encode("utf-16-be")
    x, y = to_number(a), to_number(b)
    return not (math.isnan(x) or math.isnan(y)) and x > y


def compare(a: Any, b: Any, *, do_cast: bool = True) -> int:
    """``Type.compare`` (silent): 0 equal, 1 greater, else -1 (also on a failed cast)."""
    kind = guess(a)
    try:
        if do_cast:
            b = cast(b, kind)
    except Fault:
        return -1
    if equals(a, b, do_cast=False):
        return 0
    if kind == "String":
        return locale_compare(a, string_form(b))
    if kind == "RegExp":
        return locale_compare(string_form(a), string_form(b))
    return 1 if js_gt(a, b) else -1
