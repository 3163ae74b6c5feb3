"""``require('qs')``: Node's ``querystring`` (modules.md §33; src: cortex/lib/modules/sandbox/apis/module/qs.js).

* ``stringify(obj, sep = '&', eq = '=')``: own keys in order; Strings, finite Numbers, BigInts
  and Booleans are written, an Array repeats its key once per element, anything else
  (objects, null, undefined, NaN) is written as an empty value. A non-object gives ``''``.
* ``parse(str, sep = '&', eq = '=', options)``: ``+`` is a space, ``%XX`` sequences are decoded
  leniently; a repeated key collects an Array; empty pairs are skipped; at most
  ``options.maxKeys`` pairs (default 1,000, as Node; 0 for no limit) are read.
* ``escape(str)``: ``encodeURIComponent``; a lone surrogate is ``URIError: URI malformed`` in
  Node, here ``cortex.invalidArgument.unspecified``.
* ``unescape(str)``: ``decodeURIComponent``, falling back to byte-wise decoding when that fails.

A falsy ``sep`` or ``eq`` means the default, as in Node. Limits: strings are at most
``MAX_INPUT_CHARS`` (8 Mi characters), objects at most ``MAX_KEYS`` keys
(``cortex.tooLarge.unspecified``).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote, unquote

from ..faults import Fault
from ..sandbox import RunInfo
from ..sandbox.codec import Undefined

__all__ = ["QsModule", "escape", "parse", "stringify", "unescape"]

MAX_INPUT_CHARS = 8 * 1024 * 1024
MAX_KEYS = 100_000
DEFAULT_MAX_KEYS = 1000
# encodeURIComponent leaves these alone (besides ASCII letters and digits).
_SAFE = "-_.!~*'()"


def _too_large(what: str) -> Fault:
    return Fault("cortex.tooLarge.unspecified", reason=f"{what} is too large for qs.")


def _text(value: Any) -> str:
    """JavaScript's String(value) for the values the codec carries."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, Undefined):
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join("" if item is None or isinstance(item, Undefined) else _text(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def escape(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_INPUT_CHARS:
        raise _too_large("The string")
    try:
        return quote(text, safe=_SAFE, encoding="utf-8", errors="strict")
    except UnicodeEncodeError as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason="URI malformed") from exc


def unescape(value: Any) -> str:
    text = _text(value)
    if len(text) > MAX_INPUT_CHARS:
        raise _too_large("The string")
    if "%" not in text:
        return text
    return unquote(text, encoding="utf-8", errors="replace")


def _primitive(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _text(value) if math.isfinite(value) else ""
    return ""


def _sep(value: Any, default: str) -> str:
    return _text(value) if value not in (None, "", 0, False) and not isinstance(value, Undefined) else default


def stringify(obj: Any, sep: Any = None, eq: Any = None) -> str:
    if not isinstance(obj, dict):
        return ""
    if len(obj) > MAX_KEYS:
        raise _too_large("The object")
    separator, equals = _sep(sep, "&"), _sep(eq, "=")
    parts: list[str] = []
    for key, value in obj.items():
        name = escape(key) + equals
        if isinstance(value, list):
            parts.extend(name + escape(_primitive(item)) for item in value)
        else:
            parts.append(name + escape(_primitive(value)))
        if len(parts) > MAX_KEYS:
            raise _too_large("The object")
    return separator.join(parts)


def _decode(text: str) -> str:
    return unescape(text.replace("+", " "))


def parse(text: Any, sep: Any = None, eq: Any = None, options: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(text, str) or not text:
        return out
    if len(text) > MAX_INPUT_CHARS:
        raise _too_large("The string")
    separator, equals = _sep(sep, "&"), _sep(eq, "=")
    max_keys = DEFAULT_MAX_KEYS
    if isinstance(options, dict) and isinstance(options.get("maxKeys"), (int, float)) and not isinstance(options.get("maxKeys"), bool):
        max_keys = int(options["maxKeys"])
    limit = min(max_keys, MAX_KEYS) if max_keys > 0 else MAX_KEYS
    for pair in text.split(separator, limit)[:limit]:
        if not pair:
            continue
        key, found, value = pair.partition(equals)
        key, value = _decode(key), _decode(value) if found else ""
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = [out[key], value]
    return out


class QsModule:
    require_name = "qs"
    prefix = "qs."
    needs_context = False
    methods = ("parse", "stringify", "escape", "unescape")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        a = list(args) + [None] * 4
        if name == "qs.parse":
            return parse(a[0], a[1], a[2], a[3])
        if name == "qs.stringify":
            return stringify(a[0], a[1], a[2])
        if name == "qs.escape":
            return escape(a[0])
        if name == "qs.unescape":
            return unescape(a[0])
        raise Fault("script.invalidArgument.unknownCommand", path=name)
