"""``$eq $ne $gt $gte $lt $lte $cmp $equals``: cast ``b`` to ``a``'s type, silent (spec §0.5)."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..types import cast, compare, equals, guess
from ..values import MISSING, truthy
from . import eager


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
