"""String operators; JS semantics (UTF-16 lengths, ``String()`` coercion, raw TypeErrors as kError)."""

from __future__ import annotations

import re
from typing import Any

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, register
from ..values import MISSING, string_form
from . import eager


def _type_error(op: Any, what: str) -> Fault:
    """Where the platform throws a raw JS TypeError, a generic server error (spec §0.3)."""
    return Fault("kError", reason=f"{op.name}: {what}", path=op.path)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@eager("$concat", "array", between=(0, 100))
def _concat(op: Any, values: list[Any]) -> Any:
    if any(v is None or v is MISSING for v in values):
        return None
    return "".join(string_form(v) for v in values)


def _case(name: str, upper: bool) -> None:
    def compute(op: Any, value: Any) -> Any:
        if not isinstance(value, str):
            raise _type_error(op, "value.toLowerCase is not a function" if not upper else "value.toUpperCase is not a function")
        return value.upper() if upper else value.lower()

    eager(name, "single")(compute)


_case("$toLower", False)
_case("$toUpper", True)


@eager("$strcasecmp", "fixed", exactly=2)
def _strcasecmp(op: Any, a: Any, b: Any) -> Any:
    if not isinstance(a, str) or not isinstance(b, str):
        raise _type_error(op, "arguments must be strings")
    x, y = a.lower().encode("utf-16-be"), b.lower().encode("utf-16-be")
    return 0 if x == y else (1 if x > y else -1)


@eager("$strLenCP", "single")
def _str_len_cp(op: Any, value: Any) -> Any:
    if value is None or value is MISSING:
        raise _type_error(op, f"Cannot read properties of {string_form(value)} (reading 'length')")
    if isinstance(value, str):
        return _utf16_len(value)
    return len(value) if isinstance(value, list) else MISSING


@eager("$strLenBytes", "single")
def _str_len_bytes(op: Any, value: Any) -> Any:
    if not isinstance(value, str):
        raise _type_error(op, "value must be a string")
    return len(value.encode("utf-8"))


@eager("$split", "fixed", exactly=2)
def _split(op: Any, text: Any, separator: Any) -> Any:
    text = string_form(text)
    if separator is MISSING:
        return [text]
    if isinstance(separator, re.Pattern):
        return separator.split(text)
    separator = string_form(separator)
    if separator == "":
        return [text.encode("utf-16-le")[i : i + 2].decode("utf-16-le", "replace") for i in range(0, len(text.encode("utf-16-le")), 2)]
    return text.split(separator)


@eager("$substrCP", "fixed", exactly=3)
def _substr_cp(op: Any, text: Any, start: Any, count: Any) -> Any:
    from ..values import to_number, truthy

    chars = list(string_form(text))
    begin = to_number(start)
    begin = 0 if begin != begin else int(begin)
    if begin < 0:
        begin = max(len(chars) + begin, 0)
    if not truthy(count):
        return "".join(chars[begin:])
    return "".join(chars[begin : begin + max(int(to_number(count)), 0)])


@register(OPERATORS, "$trim")
class Trim(Operator):
    """Not a character-set trim: split on ``chars``, drop empty pieces, re-join (spec quirk)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("input", "chars"))
        self.input, self.chars = parts["input"], parts["chars"]

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value, chars = self.input.evaluate(ctx), self.chars.evaluate(ctx)
        if not isinstance(value, str):
            raise _type_error(self, "input must be a string")
        chars = " " if chars is MISSING else string_form(chars)
        if chars == "":
            return value
        return chars.join(piece for piece in value.split(chars) if piece)


class _SideTrim(Operator):
    left = True

    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("input", "chars"))
        self.input, self.chars = parts["input"], parts["chars"]

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value, chars = self.input.evaluate(ctx), self.chars.evaluate(ctx)
        if not isinstance(value, str):
            raise _type_error(self, "input must be a string")
        chars = " " if chars is MISSING else string_form(chars)
        if chars == "":
            return value
        try:
            pattern = re.compile(f"^[{chars}]+" if self.left else f"[{chars}]+$")
        except re.error as exc:
            raise _type_error(self, f"Invalid regular expression: {exc}") from exc
        return pattern.sub("", value)


@register(OPERATORS, "$ltrim")
class LTrim(_SideTrim):
    left = True


@register(OPERATORS, "$rtrim")
class RTrim(_SideTrim):
    left = False


def _substr_bytes(op: Any, text: Any, start: Any, count: Any) -> Any:
    """UTF-8 bytes from start to start+count (the end taken before a negative start is
    resolved, as on the platform); a cut character decodes as U+FFFD."""
    from ..values import to_number

    data = string_form(text).encode("utf-8")
    begin, length = to_number(start), to_number(count)
    begin, length = (0 if v != v else int(v) for v in (begin, length))
    if length <= 0:
        return ""
    return data[begin : begin + length].decode("utf-8", "replace")


eager("$substrBytes", "fixed", exactly=3)(_substr_bytes)
eager("$substr", "fixed", exactly=3)(_substr_bytes)
