"""Write-time casting of primitive values, as the platform's Mongoose schema casts them (fidelity.md §1).

Each ``to_<type>`` function returns the converted value or raises :class:`CastFailure`, which
carries the Mongoose kind (``string``, ``Number``, ``Boolean``, ``date``, ``ObjectId``, ``Buffer``).
:func:`cast_message` renders ``Cast to <kind> failed for value <value> (type <T>) at path "<path>"``
with :func:`inspect`, a port of the parts of Node's ``util.inspect`` (default options) that the
message shows: quoting, ``[ a, b ]``/``{ k: v }`` layout, depth 2, 80 columns and 100 items.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

from bson import ObjectId

__all__ = [
    "CastFailure",
    "cast_message",
    "inspect",
    "js_string",
    "js_type",
    "json_length",
    "to_boolean",
    "to_date",
    "to_number",
    "to_object_id",
    "to_string",
    "to_uuid_bytes",
    "uuid_problem",
]


class CastFailure(Exception):
    """A value the Mongoose caster of ``kind`` refuses."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- JavaScript views of host values ----------------------------------------------------


def _js_number(value: float | int) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return "-0" if value == 0 and math.copysign(1, value) < 0 else str(int(value))
        return repr(value)
    return str(value)


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _long_date(moment: datetime) -> str:
    """``Date.prototype.toString()`` in UTC: ``Wed Jan 01 2020 00:00:00 GMT+0000 (Coordinated Universal Time)``."""
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%a %b %d %Y %H:%M:%S") + " GMT+0000 (Coordinated Universal Time)"


def js_string(value: Any) -> str:
    """``String(value)`` as JavaScript would give it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, datetime):
        return _long_date(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def js_type(value: Any) -> str:
    """``typeof`` for primitives, else the constructor name."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "object"
    if isinstance(value, (list, tuple)):
        return "Array"
    if isinstance(value, datetime):
        return "Date"
    if isinstance(value, ObjectId):
        return "ObjectID"
    if isinstance(value, (bytes, bytearray)):
        return "Buffer"
    if isinstance(value, Mapping):
        return "Object"
    return type(value).__name__


# --- util.inspect -------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$]*$")
_BREAK_LENGTH = 80
_MAX_ITEMS = 100
_DEPTH = 2


def _quote(text: str) -> str:
    quote = "'"
    if "'" in text:
        quote = '"' if '"' not in text else ("`" if "`" not in text else "'")
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    if quote == "'":
        escaped = escaped.replace("'", "\\'")
    return f"{quote}{escaped}{quote}"


def _key(key: Any) -> str:
    text = str(key)
    return text if _IDENTIFIER.match(text) else _quote(text)


def _join(entries: list[str], braces: tuple[str, str], indent: int) -> str:
    start = len(entries) + indent + len(braces[0]) + 10
    total = start + sum(len(entry) for entry in entries) + len(entries)
    single = ", ".join(entries)
    if total <= _BREAK_LENGTH and "\n" not in single:
        return f"{braces[0]} {single} {braces[1]}"
    pad = "\n" + " " * indent
    return f"{braces[0]}{pad}  " + f",{pad}  ".join(entries) + f"{pad}{braces[1]}"


def _inspect(value: Any, depth: int, indent: int) -> str:
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return _iso(datetime(value.year, value.month, value.day, tzinfo=timezone.utc))
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if depth > _DEPTH:
            return "[Array]"
        entries = [_inspect(item, depth + 1, indent + 2) for item in list(value)[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            more = len(value) - _MAX_ITEMS
            entries.append(f"... {more} more item{'s' if more > 1 else ''}")
        return _join(entries, ("[", "]"), indent)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        if depth > _DEPTH:
            return "[Object]"
        entries = [f"{_key(k)}: {_inspect(v, depth + 1, indent + 2)}" for k, v in value.items()]
        return _join(entries, ("{", "}"), indent)
    return str(value)


def inspect(value: Any) -> str:
    """Node's ``util.inspect(value)`` with default options, for the values scripts can send."""
    return _inspect(value, 0, 0)


def cast_message(kind: str, value: Any, path: str) -> str:
    """Mongoose's CastError text: the inspected value has its outer single quotes made double."""
    shown = inspect(value)
    if shown.startswith("'"):
        shown = '"' + shown[1:]
    if shown.endswith("'"):
        shown = shown[:-1] + '"'
    if not shown.startswith('"'):
        shown = f'"{shown}"'
    return f'Cast to {kind} failed for value {shown} (type {js_type(value)}) at path "{path}"'


# --- casters ------------------------------------------------------------------------------

_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_RADIX = re.compile(r"^0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)$")
_HEX_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def _plain_number(number: float) -> int | float:
    if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def js_to_number(text: str) -> float:
    """``Number(text)``: NaN when JavaScript would give NaN."""
    stripped = text.strip()
    if stripped == "":
        return 0.0
    if stripped in ("Infinity", "+Infinity"):
        return math.inf
    if stripped == "-Infinity":
        return -math.inf
    if _DECIMAL.match(stripped):
        return float(stripped)
    if _RADIX.match(stripped):
        return float(int(stripped, 0))
    return math.nan


def to_string(value: Any) -> Any:
    """Mongoose String cast after the Cortex patch: ``[]`` is ``''``, ``[x]`` is ``x`` (cast in turn)."""
    if isinstance(value, (list, tuple)):
        if not value:
            return ""
        if len(value) > 1:
            raise CastFailure("string")
        value = value[0]
        if isinstance(value, (list, tuple)):
            raise CastFailure("string")
    if isinstance(value, Mapping):
        if isinstance(value.get("_id"), str):
            return value["_id"]
        raise CastFailure("string")
    if value is None or isinstance(value, str):
        return value
    return js_string(value)


def to_number(value: Any) -> Any:
    """Mongoose Number cast: ``''`` is null, strings go through ``Number()``, booleans are 1/0."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            raise CastFailure("Number")
        return _plain_number(float(value)) if isinstance(value, float) else value
    if isinstance(value, str):
        if value == "":
            return None
        number = js_to_number(value)
        if math.isnan(number):
            raise CastFailure("Number")
        return _plain_number(number)
    raise CastFailure("Number")


_TRUE = (True, "true", 1, "1", "yes")
_FALSE = (False, "false", 0, "0", "no")


def to_boolean(value: Any) -> bool:
    """Mongoose Boolean cast: only the listed true and false values."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, str)):
        if value in _TRUE[1:]:
            return True
        if value in _FALSE[1:]:
            return False
    raise CastFailure("Boolean")


_ISO_PARTIAL = re.compile(r"^([+-]\d{6}|\d{4})(-(\d{2})(-(\d{2}))?)?$")


def _parse_date_text(text: str) -> datetime | None:
    """JavaScript ``Date.parse`` for the forms it documents: ISO (date-only read as UTC, other
    times in UTC too since the host runs in UTC) and RFC 2822 dates."""
    text = text.strip()
    partial = _ISO_PARTIAL.match(text)
    if partial:
        try:
            return datetime(int(partial.group(1)), int(partial.group(3) or 1), int(partial.group(5) or 1), tzinfo=timezone.utc)
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _from_ms(ms: float) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise CastFailure("date") from None


def to_date(value: Any) -> Any:
    """Mongoose Date cast: ``''`` is null, numbers are epoch ms, numeric strings outside the year
    range are ms, other values are parsed as dates; booleans are refused."""
    if value == "" and isinstance(value, str):
        return None
    if isinstance(value, bool):
        raise CastFailure("date")
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    elif isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise CastFailure("date")
        moment = _from_ms(value)
    else:
        text = js_string(value) if isinstance(value, (list, tuple)) else value
        if not isinstance(text, str):
            raise CastFailure("date")
        number = js_to_number(text) if text.strip() else math.nan
        if not math.isnan(number) and (number >= 275761 or number < -271820):
            moment = _from_ms(number)
        else:
            parsed = _parse_date_text(text)
            if parsed is None:
                raise CastFailure("date")
            moment = parsed
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_object_id(value: Any) -> ObjectId:
    """Mongoose ObjectId cast: an ObjectId, an object's ``_id``, 24 hex characters, or any
    12-character string read as raw bytes; a one-element array goes through its string form."""
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, Mapping) and "_id" in value:
        return to_object_id(value["_id"])
    if isinstance(value, (list, tuple)):
        value = js_string(value)
    if isinstance(value, str):
        if _HEX_ID.match(value):
            return ObjectId(value)
        raw = value.encode("utf-8")
        if len(value) == 12 and len(raw) == 12:
            return ObjectId(raw)
    raise CastFailure("ObjectId")


# --- UUID and the JSON size of Any values ----------------------------------------------

_UUID_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def to_uuid_bytes(value: Any) -> bytes:
    """The Cortex UUID setter: a 16-byte Buffer, or 32 hex digits once dashes are removed
    (``{…}`` braces allowed). Anything else is refused as Mongoose's ``Buffer`` kind."""
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) == 16:
        return bytes(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        text = text.replace("-", "")
        if _UUID_HEX.match(text):
            return bytes.fromhex(text)
    raise CastFailure("Buffer")


def uuid_problem(value: Any) -> str | None:
    """The UUID validator's reason for a stored value, or None when it is a valid RFC 4122 UUID:
    ``Invalid uuid.`` (not 16 bytes), ``Invalid uuid version N.`` (versions 1 to 5 are accepted)
    and ``Invalid uuid format.`` (a variant other than RFC 4122)."""
    try:
        data = to_uuid_bytes(value)
    except CastFailure:
        return "Invalid uuid."
    version = data[6] >> 4
    if not 1 <= version <= 5:
        return f"Invalid uuid version {version}."
    if data[8] & 0xC0 != 0x80:
        return "Invalid uuid format."
    return None


def _json_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, datetime):
        return json.dumps(_iso(value))
    if isinstance(value, (str, ObjectId, uuid.UUID)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _json_text(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def json_length(value: Any) -> int:
    """``JSON.stringify(value).length``: the text's length in UTF-16 code units."""
    return len(_json_text(value).encode("utf-16-le")) // 2
