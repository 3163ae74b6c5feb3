"""String operators; JS semantics (UTF-16 lengths, ``String()`` coercion, raw TypeErrors as kError)."""

from __future__ import annotations

import re
from typing import Any

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, register
from ..values import MISSING, string_form
from . import INLINE, eager


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


def _str_guard(gen: Any, value: str) -> str | None:
    if value in gen.known:
        return "" if type(gen.known[value]) is str else None
    return f"type({value}) is str"


def _inline_strings(build: Any) -> Any:
    def hook(gen: Any, op: Any, args: list[str], call: str) -> str | None:
        guards = [_str_guard(gen, a) for a in args]
        if not 1 <= len(args) <= 32 or None in guards:
            return None
        test = " and ".join(g for g in guards if g)
        return f"({build(args)} if {test} else {call})" if test else f"({build(args)})"

    return hook


INLINE["$concat"] = _inline_strings(lambda args: " + ".join(args))
INLINE["$toUpper"] = _inline_strings(lambda args: f"{args[0]}.upper()")
INLINE["$toLower"] = _inline_strings(lambda args: f"{args[0]}.lower()")


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


class _Trimming(Operator):
    """``{input, chars}``: the input (a string, else a fault) and the characters (default a space)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("input", "chars"))
        self.input, self.chars = parts["input"], parts["chars"]

    def operands(self, ctx: ExpressionContext) -> tuple[str, str]:
        self.enter(ctx)
        value, chars = self.input.evaluate(ctx), self.chars.evaluate(ctx)
        if not isinstance(value, str):
            raise _type_error(self, "input must be a string")
        return value, " " if chars is MISSING else string_form(chars)


@register(OPERATORS, "$trim")
class Trim(_Trimming):
    """Not a character-set trim: split on ``chars``, drop empty pieces, re-join (spec quirk)."""

    def evaluate(self, ctx: ExpressionContext) -> Any:
        value, chars = self.operands(ctx)
        if chars == "":
            return value
        return chars.join(piece for piece in value.split(chars) if piece)


class _SideTrim(_Trimming):
    left = True

    def evaluate(self, ctx: ExpressionContext) -> Any:
        value, chars = self.operands(ctx)
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


# ---- search, replace, JSON ----------------------------------------------------------------

import json as _json  # noqa: E402
import math as _math  # noqa: E402
from datetime import datetime as _datetime  # noqa: E402

from bson import ObjectId as _ObjectId  # noqa: E402

from ..core import check_literal_depth as _check_depth, qf as _qf  # noqa: E402
from ..values import INVALID_DATE as _INVALID_DATE, is_number as _is_number, jsnum as _jsnum, number_string as _number_string  # noqa: E402
from ._shared import charge_text as _charge_text, eager_ctx as _eager_ctx  # noqa: E402


def _is_set(value: Any) -> bool:
    return value is not None and value is not MISSING


def _index_checks(op: Any, text: Any, search: Any, start: Any, end: Any) -> bool:
    """The shared checks of ``$indexOfBytes``/``$indexOfCP``; False when the string is null."""
    if text is None:
        return False
    if not isinstance(text, str):
        raise _qf("$indexOfBytes expects a string param", op.path)
    if search is None:
        raise _qf("$indexOfBytes search string cannot be null", op.path)
    if _is_set(start) and not (_is_number(start) and start >= 0):
        raise _qf("$indexOfBytes start param should be a non negative number", op.path)
    if _is_set(end) and not (_is_number(end) and end >= 0):
        raise _qf("$indexOfBytes end param should be a non negative number", op.path)
    return True


def _int(value: Any) -> int:
    return 0 if not _is_number(value) or _math.isnan(value) else int(min(value, 2**53))


@_eager_ctx("$indexOfBytes", "fixed", between=(2, 4))
def _index_of_bytes(op: Any, ctx: Any, text: Any, search: Any, start: Any = MISSING, end: Any = MISSING) -> Any:
    if not _index_checks(op, text, search, start, end):
        return None
    _charge_text(ctx, len(text), op.path)
    data = text.encode("utf-8", "surrogatepass")
    if _is_set(start) and _is_set(end) and start > end:
        return -1
    if _is_set(start) and start > len(data):
        raise _qf("$indexOfBytes start cannot be grater than byte length", op.path)
    if isinstance(search, str):
        needle = search.encode("utf-8", "surrogatepass")
    elif isinstance(search, list) and all(_is_number(b) for b in search):
        needle = bytes(_int(b) % 256 for b in search)
    elif isinstance(search, (bytes, bytearray)):
        needle = bytes(search)
    else:
        raise _type_error(op, 'The "value" argument must be one of type string, Buffer, or Uint8Array')
    if _is_set(start):
        cut = data[_int(start) : _int(end) if _truthy(end) else len(data)]
    elif _truthy(end):
        cut = data[_int(end) :]
    else:
        cut = data
    return cut.find(needle)


def _truthy(value: Any) -> bool:
    from ..values import truthy

    return truthy(value)


@_eager_ctx("$indexOfCP", "fixed", between=(2, 4))
def _index_of_cp(op: Any, ctx: Any, text: Any, search: Any, start: Any = MISSING, end: Any = MISSING) -> Any:
    """Platform quirks kept: a normal start < end window gives -1, only a one-code-point search
    can match, the fourth argument is a length, and "not found" with a start is ``start - 1``."""
    if not _index_checks(op, text, search, start, end):
        return None
    if not isinstance(search, str):
        raise _type_error(op, "search.codePointAt is not a function")
    _charge_text(ctx, len(text), op.path)
    has_start = _is_set(start)
    if has_start:
        begin = _int(start)
        if begin > len(text):
            return -1
        if _is_set(end) and end > start:
            return -1
        length = _int(end) if _truthy(end) else 0
        window = text[begin : begin + length] if length else text[begin:]
    elif _truthy(end):
        begin = _int(end)
        window = text[begin : begin + len(text)]
    else:
        begin, window = 0, text
    if len(search) == 1:
        found = window.find(search)
        if found >= 0:
            return begin + found
    return _int(start) - 1 if has_start else -1


class _Replace(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("input", "find", "replacement"))
        self.input, self.find, self.replacement = parts["input"], parts["find"], parts["replacement"]

    def values(self, ctx: ExpressionContext) -> tuple[str, Any, Any]:
        self.enter(ctx)
        value, find, replacement = self.input.evaluate(ctx), self.find.evaluate(ctx), self.replacement.evaluate(ctx)
        if not isinstance(value, str):
            raise _type_error(self, f"{self.name[1:]} input must be a string")
        return value, find, replacement


def _utf16_units(text: str) -> list[str]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(data), 2)]


@register(OPERATORS, "$replaceAll")
class ReplaceAll(_Replace):
    """A split then join: literal, no ``$`` patterns; the output size is charged before it is built."""

    def evaluate(self, ctx: ExpressionContext) -> Any:
        value, find, replacement = self.values(ctx)
        if find is MISSING:
            return value
        glue = "," if replacement is MISSING else string_form(replacement)
        _charge_text(ctx, len(value), self.path)
        if isinstance(find, re.Pattern):
            pieces = find.split(value)
        else:
            needle = string_form(find)
            pieces = _utf16_units(value) if needle == "" else value.split(needle)
        _charge_text(ctx, len(value) + len(glue) * (len(pieces) - 1), self.path)
        return glue.join("" if p is None else p for p in pieces)


def _expand(template: str, match_text: str, before: str, after: str, groups: tuple[Any, ...] = (), named: dict[str, Any] | None = None) -> str:
    """JS ``GetSubstitution``: ``$$ $& $` $'`` and, for a RegExp, ``$n``/``$<name>``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        c = template[i]
        nxt = template[i + 1] if i + 1 < len(template) else ""
        if c != "$" or not nxt:
            out.append(c)
            i += 1
            continue
        if nxt == "$":
            out.append("$")
        elif nxt == "&":
            out.append(match_text)
        elif nxt == "`":
            out.append(before)
        elif nxt == "'":
            out.append(after)
        elif nxt.isdigit() and groups:
            two = template[i + 1 : i + 3]
            if len(two) == 2 and two.isdigit() and 1 <= int(two) <= len(groups):
                out.append(groups[int(two) - 1] or "")
                i += 3
                continue
            if 1 <= int(nxt) <= len(groups):
                out.append(groups[int(nxt) - 1] or "")
            else:
                out.append(c + nxt)
        elif nxt == "<" and named:
            close = template.find(">", i + 2)
            if close < 0:
                out.append(c + nxt)
            else:
                out.append(named.get(template[i + 2 : close]) or "")
                i = close + 1
                continue
        else:
            out.append(c + nxt)
        i += 2
    return "".join(out)


@register(OPERATORS, "$replaceOne")
class ReplaceOne(_Replace):
    """JS ``String.prototype.replace``: the first occurrence, replacement patterns honoured."""

    def evaluate(self, ctx: ExpressionContext) -> Any:
        value, find, replacement = self.values(ctx)
        template = string_form(replacement)
        _charge_text(ctx, len(value) + len(template), self.path)
        if isinstance(find, re.Pattern):
            match = find.search(value)
            if match is None:
                return value
            start, stop = match.span()
            middle = _expand(template, match.group(0), value[:start], value[stop:], match.groups(), match.groupdict())
        else:
            needle = string_form(find)
            start = value.find(needle)
            if start < 0:
                return value
            stop = start + len(needle)
            middle = _expand(template, needle, value[:start], value[stop:])
        _charge_text(ctx, len(value) + len(middle), self.path)
        return value[:start] + middle + value[stop:]


def _reject_constant(text: str) -> Any:
    raise ValueError(f"Unexpected token {text[0]} in JSON")


@_eager_ctx("$jsonParse", "single")
def _json_parse(op: Any, ctx: Any, value: Any) -> Any:
    if value is None:
        return None
    if _is_number(value) or isinstance(value, bool):
        return value
    if value is MISSING or isinstance(value, dict):
        raise _type_error(op, f'"{string_form(value)}" is not valid JSON')
    text = string_form(value)
    _charge_text(ctx, len(text), op.path)
    try:
        result = _json.loads(text, parse_constant=_reject_constant, parse_int=lambda s: _jsnum(int(s)) if len(s) < 300 else float(s), parse_float=lambda s: _jsnum(float(s)))
    except RecursionError as exc:
        raise Fault("cortex.invalidArgument.tooLarge", reason="JSON nesting too deep.", path=op.path) from exc
    except ValueError as exc:
        raise _type_error(op, f"Unexpected token in JSON: {exc}") from exc
    _check_depth(result, op.path)
    return result


def _iso(value: _datetime) -> str:
    from datetime import timezone

    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _to_json(ctx: Any, value: Any, path: str) -> str | None:
    """JSON.stringify; ``None`` for the values it leaves out (undefined)."""
    stack_depth = 0

    def walk(v: Any) -> str | None:
        nonlocal stack_depth
        ctx.charge(1, path)
        if v is MISSING:
            return None
        if v is None or v is _INVALID_DATE:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if _is_number(v):
            return "null" if isinstance(v, float) and not _math.isfinite(v) else _number_string(v)
        if isinstance(v, str):
            _charge_text(ctx, len(v), path)
            return _json.dumps(v, ensure_ascii=False)
        if isinstance(v, _datetime):
            return f'"{_iso(v)}"'
        if isinstance(v, _ObjectId):
            return f'"{v}"'
        if isinstance(v, (bytes, bytearray)):
            ctx.charge(len(v), path)
            return '{"type":"Buffer","data":[' + ",".join(str(b) for b in v) + "]}"
        stack_depth += 1
        if stack_depth > 512:
            raise _type_error(op_for_errors, "Converting circular structure to JSON")
        try:
            if isinstance(v, list):
                return "[" + ",".join(walk(item) or "null" for item in v) + "]"
            if isinstance(v, dict):
                parts = []
                for key, item in _js_key_order(v):
                    text = walk(item)
                    if text is not None:
                        parts.append(f"{_json.dumps(str(key), ensure_ascii=False)}:{text}")
                return "{" + ",".join(parts) + "}"
            return "{}"  # RegExp and other objects without own enumerable data
        finally:
            stack_depth -= 1

    op_for_errors = _Named(path)
    return walk(value)


def _js_key_order(value: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """JS own-key order: array-index keys ascending first, then the rest in insertion order."""
    def index(key: Any) -> int | None:
        text = str(key)
        return int(text) if text.isdigit() and (text == "0" or not text.startswith("0")) and int(text) < 2**32 - 1 else None

    indexed = sorted(((index(k), k, v) for k, v in value.items() if index(k) is not None), key=lambda t: t[0])
    return [(k, v) for _, k, v in indexed] + [(k, v) for k, v in value.items() if index(k) is None]


class _Named:
    name = "$jsonStringify"

    def __init__(self, path: str) -> None:
        self.path = path


@_eager_ctx("$jsonStringify", "single")
def _json_stringify(op: Any, ctx: Any, value: Any) -> Any:
    text = _to_json(ctx, value, op.path)
    return MISSING if text is None else text
