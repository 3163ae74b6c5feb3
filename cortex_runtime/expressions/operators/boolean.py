"""``$and $or`` (sequential, short-circuit, always boolean) and ``$not``."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, ExpressionContext, Operator, Parser, register
from ..values import truthy
from . import eager


@register(OPERATORS, "$and")
class And(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, at_least=1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return all(truthy(arg.evaluate(ctx)) for arg in self.args)


@register(OPERATORS, "$or")
class Or(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, at_least=1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return any(truthy(arg.evaluate(ctx)) for arg in self.args)


@eager("$not", "single")
def _not(op: Any, value: Any) -> Any:
    return not truthy(value)
