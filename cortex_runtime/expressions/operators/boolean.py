"""``$and $or`` (sequential, short-circuit, always boolean) and ``$not``."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, Compiler, ExpressionContext, Operator, Parser, register
from ..values import truthy
from . import eager


@register(OPERATORS, "$and")
class And(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, at_least=1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return all(truthy(arg.evaluate(ctx)) for arg in self.args)

    def compile(self, gen: Compiler) -> str:
        return _sequence(gen, self, "True")


@register(OPERATORS, "$or")
class Or(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, at_least=1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return any(truthy(arg.evaluate(ctx)) for arg in self.args)

    def compile(self, gen: Compiler) -> str:
        return _sequence(gen, self, "False")


def _sequence(gen: Compiler, op: Operator, keep: str) -> str:
    """``$and`` (``keep`` True) / ``$or`` (False): each later argument runs in its own block only
    while the answer is still ``keep``; flat, so many arguments do not nest."""
    if not gen.enter(op):
        return "None"
    out = gen.temp()
    gen.line(f"{out} = {keep}")
    negate = "not " if keep == "True" else ""
    for i, arg in enumerate(op.args):  # type: ignore[attr-defined]
        if i:
            gen.line(f"if {out}:" if keep == "True" else f"if not {out}:")
            gen.level += 1
            gen.open()
        value = gen.value(arg)
        gen.line(f"if {negate}{gen.truth(value)}: {out} = {'False' if keep == 'True' else 'True'}")
        if i:
            gen.close()
            gen.level -= 1
    gen.bools.add(out)
    return out


@eager("$not", "single")
def _not(op: Any, value: Any) -> Any:
    return not truthy(value)
