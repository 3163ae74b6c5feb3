"""The typed JSON encoding of values crossing the bridge (mirror of js_prelude/00_bridge.js).

JSON carries the plain values; the rest travels as ``{"$cx": tag, "v": ...}``:
``undefined``, ``date`` (ms since the epoch), ``oid`` (hex), ``bigint`` (decimal string),
``binary`` (base64) and ``object`` (an object that has a ``"$cx"`` key, as entries).
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

__all__ = ["UNDEFINED", "Undefined", "decode", "encode", "loads", "to_plain"]

_MAX_SAFE = 2**53 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Undefined:
    """JavaScript's ``undefined``, kept apart from ``None`` (``null``)."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED = Undefined()


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


# Values JSON carries as they are (exact types: a subclass goes the long way).
_AS_IS = frozenset({str, bool, type(None)})


def _tag(value: Any) -> Any:
    cls = type(value)
    if cls in _AS_IS:
        return value
    if cls is dict:
        items = {
            (key if type(key) is str else str(key)): (item if type(item) in _AS_IS else _tag(item))
            for key, item in value.items()
        }
        if "$cx" in items:
            return {"$cx": "object", "v": [[key, item] for key, item in items.items()]}
        return items
    if cls is list:
        return [item if type(item) in _AS_IS else _tag(item) for item in value]
    return _tag_other(value)


def _tag_other(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return value
        return {"$cx": "bigint", "v": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return _tag(dict(value))
    if isinstance(value, (list, tuple)):
        return [_tag(item) for item in value]
    if isinstance(value, Undefined):
        return {"$cx": "undefined"}
    if isinstance(value, datetime):
        return {"$cx": "date", "v": _ms(value)}
    if isinstance(value, ObjectId):
        return {"$cx": "oid", "v": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$cx": "binary", "v": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot send a {type(value).__name__} to a script")


def encode(value: Any) -> str:
    """Encode a Python value for the JS side (the payload is wrapped as ``{"v": value}``)."""
    return json.dumps({"v": _tag(value)}, separators=(",", ":"), allow_nan=False)


def _untag(obj: dict[str, Any]) -> Any:
    tag = obj.get("$cx")
    if not isinstance(tag, str):
        return obj
    v = obj.get("v")
    if tag == "undefined":
        return UNDEFINED
    if tag == "date":
        if v is None:
            return None
        return datetime.fromtimestamp(v / 1000, tz=timezone.utc)
    if tag == "oid":
        return ObjectId(v)
    if tag == "bigint":
        return int(v)
    if tag == "binary":
        return base64.b64decode(v)
    if tag == "object":
        return {key: item for key, item in v}
    return obj


def loads(text: str) -> Any:
    """Parse JSON text from the JS side, turning tagged values back into Python types."""
    # Every tagged value has a "$cx" key, and JSON.stringify never escapes those
    # characters: without that text there is nothing to untag.
    if '"$cx"' not in text:
        return json.loads(text)
    return json.loads(text, object_hook=_untag)


def decode(text: str) -> Any:
    """Decode a payload produced by the JS side's ``__cx_encode``."""
    return loads(text)["v"]


def to_plain(value: Any) -> Any:
    """The JSON form of a result, as ``JSON.stringify`` in the sandbox would give it."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items() if not isinstance(item, Undefined)}
    if isinstance(value, list):
        return [None if isinstance(item, Undefined) else to_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Undefined):
        return None
    return value
