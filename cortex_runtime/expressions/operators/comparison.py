"""``$eq $ne $gt $gte $lt $lte $cmp $equals``: cast ``b`` to ``a``'s type, silent (spec §0.5)."""

from __future__ import annotations

import math
from typing import Any

from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..types import cast, compare, equals, guess
from ..values import MISSING, truthy
from . import INLINE, eager

_M = 2**53


def _number_guard(gen: Any, value: str, *, cast: bool) -> str | None:
    """Source true when ``value`` is a number that ``compare`` treats as plain Python numbers:
    a float (finite when it is the cast side) or an int within 2**53. ``""`` if known so."""
    if value in gen.known:
        known = gen.known[value]
        if type(known) is int and -_M <= known <= _M:
            return ""
        if type(known) is float and (not cast or -math.inf < known < math.inf):
            return ""
        return None
    if cast:
        return f"(type({value}) is int and -{_M} <= {value} <= {_M} or type({value}) is float and -_INF < {value} < _INF)"
    return f"(type({value}) is float or type({value}) is int and -{_M} <= {value} <= {_M})"


def _comparison_inline(template: str) -> Any:
    """``$gt $gte $lt $lte`` on two numbers: ``compare`` is 0 on ``==``, 1 on ``>``, else -1."""

    def hook(gen: Any, op: Any, args: list[str], call: str) -> str | None:
        a, b = args
        guards = (_number_guard(gen, a, cast=False), _number_guard(gen, b, cast=True))
        if None in guards:
            return None
        test = " and ".join(g for g in guards if g)
        fast = template.format(a=a, b=b)
        return f"(({fast}) if {test} else {call})" if test else f"({fast})"

    return hook


def _equality_inline(negate: bool) -> Any:
    """``$eq``/``$ne`` on two strings, or two numbers the cast leaves as they are: ``==``."""

    def hook(gen: Any, op: Any, args: list[str], call: str) -> str | None:
        a, b = args
        fast = f"{a} != {b}" if negate else f"{a} == {b}"
        tests = []
        if not any(type(gen.known.get(x)) is str for x in args if x in gen.known):
            guards = (_number_guard(gen, a, cast=False), _number_guard(gen, b, cast=True))
            if None not in guards:
                tests.append(" and ".join(g for g in guards if g) or "True")
        if all(x not in gen.known or type(gen.known[x]) is str for x in args):
            tests.append(" and ".join(f"type({x}) is str" for x in args if x not in gen.known) or "True")
        if not tests:
            return None
        return f"(({fast}) if {' or '.join(f'({t})' for t in tests)} else {call})"

    return hook


INLINE["$eq"] = _equality_inline(False)
INLINE["$ne"] = _equality_inline(True)

for _name, _template in (("$gt", "{a} > {b}"), ("$gte", "{a} >= {b}"), ("$lt", "not {a} >= {b}"), ("$lte", "not {a} > {b}")):
    INLINE[_name] = _comparison_inline(_template)


@eager("$eq", "fixed", exactly=2)
def _eq(op: Any, a: Any, b: Any) -> Any:
    return equals(a, b)


@eager("$ne", "fixed", exactly=2)
def _ne(op: Any, a: Any, b: Any) -> Any:
    return not equals(a, b)


@eager("$gt", "fixed", exactly=2)
def _gt(op: Any, a: Any, b: Any) -> Any:
    return compare(a, b) > 0


@eager("$gte", "fixed", exactly=2)
def _gte(op: Any, a: Any, b: Any) -> Any:
    return compare(a, b) >= 0


@eager("$lt", "fixed", exactly=2)
def _lt(op: Any, a: Any, b: Any) -> Any:
    return compare(a, b) < 0


@eager("$lte", "fixed", exactly=2)
def _lte(op: Any, a: Any, b: Any) -> Any:
    return compare(a, b) <= 0


@eager("$cmp", "fixed", exactly=2)
def _cmp(op: Any, a: Any, b: Any) -> Any:
    return compare(a, b)


@register(OPERATORS, "$equals")
class Equals(Operator):
    """Configurable equality; unlike ``$eq`` strict by default and a failed cast raises."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        items = raw.get("input")
        if not isinstance(items, list) or len(items) != 2:
            raise qf(f"{self.name} requires an array with exactly 2 elements.", join(self.path, "input"))
        self.a, self.b = (parser.expr(v, join(join(self.path, "input"), i), self.depth + 1) for i, v in enumerate(items))
        self.options = {k: parser.expr(raw.get(k, MISSING), join(self.path, k), self.depth + 1) for k in ("cast", "strict", "silent")}

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        a, b = self.a.evaluate(ctx), self.b.evaluate(ctx)
        defaults = {"cast": True, "strict": True, "silent": False}
        opts = {k: defaults[k] if (v := node.evaluate(ctx)) is None or v is MISSING else truthy(v) for k, node in self.options.items()}
        if opts["cast"] and not opts["silent"]:
            cast(b, guess(a))  # raises the cast fault
        return equals(a, b, do_cast=opts["cast"], strict=opts["strict"])


def _extreme(name: str, sign: int) -> None:
    """``$max``/``$min``: no skipping of null; a failed comparison is -1 (spec quirk)."""

    def compute(op: Any, values: list[Any]) -> Any:
        if not values:
            return MISSING
        best = values[0]
        for value in values[1:]:
            if compare(value, best) * sign > 0:
                best = value
        return best

    eager(name, "array", between=(0, 100))(compute)


_extreme("$max", 1)
_extreme("$min", -1)
