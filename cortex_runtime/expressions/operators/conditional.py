"""``$cond $ifNull $switch``: lazy, only the chosen branch is evaluated."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, Compiler, ExpressionContext, Operator, Parser, join, qf, register
from ..values import MISSING, truthy


@register(OPERATORS, "$cond")
class Cond(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, list):
            self.test, self.then, self.other = self.array(parser, raw, exactly=3)
        else:
            parts = self.object(parser, raw, ("if", "then", "else"))
            self.test, self.then, self.other = parts["if"], parts["then"], parts["else"]

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return (self.then if truthy(self.test.evaluate(ctx)) else self.other).evaluate(ctx)

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        test, out = gen.value(self.test), gen.temp()
        gen.line(f"if {gen.truth(test)}:")
        gen.branch(self.then, out)
        gen.line("else:")
        gen.branch(self.other, out)
        return out


@register(OPERATORS, "$ifNull")
class IfNull(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.value, self.replacement = self.array(parser, raw, exactly=2)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value = self.value.evaluate(ctx)
        return self.replacement.evaluate(ctx) if value is None or value is MISSING else value

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        value, out = gen.value(self.value), gen.temp()
        gen.line(f"{out} = {value}")
        gen.line(f"if {out} is None or {out} is MISSING:")
        gen.branch(self.replacement, out)
        return out


@register(OPERATORS, "$switch")
class Switch(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        branches = raw.get("branches", MISSING)
        at = join(self.path, "branches")
        if not isinstance(branches, list):
            raise qf(f"{self.name} requires an array.", at)
        self.branches = []
        for i, branch in enumerate(branches):
            if not isinstance(branch, dict):
                raise qf(f"Operator {self.name} expects an object.", join(at, i))
            here = join(at, i)
            self.branches.append(
                (parser.expr(branch.get("case", MISSING), join(here, "case"), self.depth + 1), parser.expr(branch.get("then", MISSING), join(here, "then"), self.depth + 1))
            )
        self.default = parser.expr(raw.get("default", MISSING), join(self.path, "default"), self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        for case, then in self.branches:
            if truthy(case.evaluate(ctx)):
                return then.evaluate(ctx)
        return self.default.evaluate(ctx)

    def compile(self, gen: Compiler) -> str:
        """Flat: each later case runs in its own block only while no case has matched."""
        if not gen.enter(self):
            return "None"
        out, done = gen.temp(), gen.temp()
        gen.line(f"{done} = False")
        for i, (case, then) in enumerate(self.branches):
            if i:
                gen.line(f"if not {done}:")
                gen.level += 1
                gen.open()
            test = gen.value(case)
            gen.line(f"if {gen.truth(test)}:")
            gen.branch(then, out)
            gen.line(f"    {done} = True")
            if i:
                gen.close()
                gen.level -= 1
        gen.line(f"if not {done}:")
        gen.branch(self.default, out)
        return out
