"""``require('base64')``: ``encode(value)`` and ``decode(value, asBuffer = false)`` (modules.md §2).

On the platform the module is native to the sandbox; its test pins ``decode(encode(s)) === s``
and ``decode(encoded, true).toString() === s`` (src: cortex/test/tests/scripting/Modules.base64.js).
Choices where the spec is silent (inferred from Node's ``Buffer``, which the native module wraps):

* ``encode`` takes a String (its UTF-8 bytes) or a Buffer; the standard alphabet, ``=`` padded.
* ``decode`` reads like ``Buffer.from(s, 'base64')``: the URL-safe alphabet too, whitespace and
  other stray characters skipped, padding optional, stops at the first ``=``. It returns the
  bytes as a UTF-8 String (bad sequences become U+FFFD) or, with ``asBuffer`` true, a Buffer
  (the JS unit in ``js_prelude/65_util.js`` turns the bytes into one).
* Anything else is ``cortex.invalidArgument.unspecified``.

Limits: input is at most ``MAX_INPUT_CHARS`` (8 Mi characters, ``cortex.tooLarge.unspecified``).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo
from .crypto import utf8

__all__ = ["Base64Module", "decode", "encode"]

MAX_INPUT_CHARS = 8 * 1024 * 1024
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def _bounded(length: int) -> None:
    if length > MAX_INPUT_CHARS:
        raise Fault("cortex.tooLarge.unspecified", reason=f"Input exceeds {MAX_INPUT_CHARS} characters.")


def encode(value: Any) -> str:
    if isinstance(value, str):
        _bounded(len(value))
        data = utf8(value)
    elif isinstance(value, (bytes, bytearray)):
        _bounded(len(value))
        data = bytes(value)
    else:
        raise Fault("cortex.invalidArgument.unspecified", reason="String or Buffer expected for base64 encoding.")
    return base64.b64encode(data).decode("ascii")


def decode_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        raise Fault("cortex.invalidArgument.unspecified", reason="String expected for base64 decoding.")
    _bounded(len(value))
    text = value.split("=", 1)[0].replace("-", "+").replace("_", "/")
    text = _NOT_BASE64.sub("", text)
    if len(text) % 4 == 1:
        text = text[:-1]  # a lone trailing character carries no whole byte
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the text is clean by now
        raise Fault("cortex.invalidArgument.unspecified", reason="Invalid base64 string.") from exc


def decode(value: Any, as_buffer: Any = False) -> str | bytes:
    data = decode_bytes(value)
    return data if truthy(as_buffer) else data.decode("utf-8", "replace")


def truthy(value: Any) -> bool:
    """JavaScript truthiness of a decoded value (objects and arrays are true)."""
    if isinstance(value, (dict, list)):
        return True
    if isinstance(value, float) and value != value:
        return False
    return bool(value)


class Base64Module:
    require_name = "base64"
    prefix = "base64."
    needs_context = False
    methods = ("encode", "decode")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name == "base64.encode":
            return encode(args[0] if args else None)
        if name == "base64.decode":
            return decode(args[0] if args else None, args[1] if len(args) > 1 else False)
        raise Fault("script.invalidArgument.unknownCommand", path=name)
