"""``$regexFind $regexFindAll $regexMatch``: ``{input, regex, options}``, a JS RegExp per
evaluation. JS pattern syntax is translated for Python's ``re`` (named groups, ``[^]``, ``$``);
an invalid pattern or flag is the raw SyntaxError of the platform, i.e. a ``kError`` fault."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import regex as _regex

from ...faults import Fault

from ..core import OPERATORS, ExpressionContext, Operator, Parser, register
from ..values import MISSING, string_form
from ._shared import charge_text, raw_error

_FLAGS = set("dgimsuy")
_ASCII_CLASSES = {"d": ("[0-9]", "0-9"), "w": ("[A-Za-z0-9_]", "A-Za-z0-9_"), "D": ("[^0-9]", "\\D")}


def translate(source: str, multiline: bool) -> str:
    """A JS regular expression source as a Python ``re`` source."""
    out: list[str] = []
    i, n, in_class = 0, len(source), False
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n:
            nxt = source[i + 1]
            if nxt == "k" and not in_class and source.startswith("<", i + 2) and ">" in source[i + 3 :]:
                end = source.index(">", i + 3)
                out.append(f"(?P={source[i + 3 : end]})")
                i = end + 1
                continue
            if nxt in _ASCII_CLASSES:  # JS \d \w are ASCII-only; Python's are Unicode
                out.append(_ASCII_CLASSES[nxt][1 if in_class else 0])
            elif nxt == "/":
                out.append("/")
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "[":
                c = "\\["
            out.append(c)
            i += 1
            continue
        if c == "[":
            if source.startswith("[^]", i):
                out.append("[\\s\\S]")
                i += 3
                continue
            if source.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            in_class = True
            out.append(c)
            if source.startswith("^", i + 1):
                out.append("^")
                i += 1
            i += 1
            continue
        if c == "(" and source.startswith("(?<", i) and not source.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if c == "$":
            out.append("(?=[\\n\\r\\u2028\\u2029]|\\Z)" if multiline else "\\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_js(source: str, flags: str) -> Any:
    if any(f not in _FLAGS for f in flags) or len(set(flags)) != len(flags):
        raise ValueError(f"Invalid flags supplied to RegExp constructor '{flags}'")
    bits = (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0) | (re.DOTALL if "s" in flags else 0)
    try:
        return _regex.compile(translate(source, "m" in flags), bits)
    except (re.error, _regex.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"Invalid regular expression: /{source}/{flags}: {exc}") from exc


def _python_flags(pattern: Any) -> str:
    return ("i" if pattern.flags & re.IGNORECASE else "") + ("m" if pattern.flags & re.MULTILINE else "") + ("s" if pattern.flags & re.DOTALL else "")


class _RegexOperator(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("input", "regex", "options"))
        self.input, self.regex, self.options = parts["input"], parts["regex"], parts["options"]

    def prepare(self, ctx: ExpressionContext) -> tuple[str, Any, str]:
        self.enter(ctx)
        value, regex, options = self.input.evaluate(ctx), self.regex.evaluate(ctx), self.options.evaluate(ctx)
        text = string_form(value)
        charge_text(ctx, len(text), self.path)
        if isinstance(regex, re.Pattern):
            flags = _python_flags(regex) if options is MISSING else string_form(options)
            try:
                bits = (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0) | (re.DOTALL if "s" in flags else 0)
                if any(f not in _FLAGS for f in flags) or len(set(flags)) != len(flags):
                    raise ValueError(f"Invalid flags supplied to RegExp constructor '{flags}'")
                return text, _regex.compile(regex.pattern, bits), flags
            except (re.error, _regex.error, ValueError) as exc:
                raise raw_error(self, str(exc)) from exc
        source = "" if regex is MISSING else string_form(regex)
        flags = "" if options is MISSING else string_form(options)
        charge_text(ctx, len(source), self.path)
        try:
            return text, compile_js(source, flags), flags
        except ValueError as exc:
            raise raw_error(self, str(exc)) from exc


# A pattern that backtracks catastrophically ((a+)+$ on a long input) is stopped here: Python's
# own re cannot be interrupted, the regex package's matching can.
MATCH_TIMEOUT_S = 1.0


def _bounded(match: Any, text: str, position: int) -> Any:
    try:
        return match(text, position, timeout=MATCH_TIMEOUT_S)
    except TimeoutError as exc:
        raise Fault("cortex.timeout.unspecified", reason="The regular expression took too long to match.") from exc


def _match_array(match: Any) -> list[Any]:
    return [match.group(0), *(MISSING if g is None else g for g in match.groups())]


@register(OPERATORS, "$regexFind")
class RegexFind(_RegexOperator):
    def evaluate(self, ctx: ExpressionContext) -> Any:
        text, pattern, flags = self.prepare(ctx)
        match = _bounded(pattern.match if "y" in flags else pattern.search, text, 0)
        return _match_array(match) if match else []


@register(OPERATORS, "$regexMatch")
class RegexMatch(_RegexOperator):
    def evaluate(self, ctx: ExpressionContext) -> Any:
        text, pattern, flags = self.prepare(ctx)
        return bool(_bounded(pattern.match if "y" in flags else pattern.search, text, 0))


@register(OPERATORS, "$regexFindAll")
class RegexFindAll(_RegexOperator):
    """Every match; ``y`` only adjacent ones. Without ``g``/``y`` the platform loops forever on
    the first match; here it returns every match, as with ``g`` (decisions.md). Each match is
    charged to the budget, so a pattern with a million empty matches faults instead of growing."""

    def evaluate(self, ctx: ExpressionContext) -> Any:
        text, pattern, flags = self.prepare(ctx)
        sticky = "y" in flags
        out: list[Any] = []
        position = 0
        while position <= len(text):
            match = _bounded(pattern.match if sticky else pattern.search, text, position)
            if match is None:
                break
            ctx.charge(1 + pattern.groups, self.path)
            out.append(_match_array(match))
            position = match.end() + 1 if match.end() == match.start() else match.end()
        return out
