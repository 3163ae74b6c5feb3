"""``$let`` and ``$literal``: user variables and escaping (spec §1.4, §2.4)."""

from __future__ import annotations

import copy
from typing import Any

from ..core import OPERATORS, Compiler, ExpressionContext, Operator, Parser, check_literal_depth, check_variable_name, join, qf, register
from ..values import MISSING


@register(OPERATORS, "$literal")
class Literal(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        check_literal_depth(raw, self.path)
        self.value = raw

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return copy.deepcopy(self.value)

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        value = self.value
        if value is None or value is MISSING or type(value) in (bool, int, float, str):
            return gen.literal(value)  # deepcopy gives these back as they are
        if type(value) in (list, dict) and not value:
            return "[]" if type(value) is list else "{}"
        out = gen.temp()
        gen.line(f"{out} = _deepcopy({gen.const(value)})")
        return out


@register(OPERATORS, "$let")
class Let(Operator):
    """Vars are parsed and evaluated in declaration order, each seeing only the earlier ones."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        if "in" not in raw:
            raise qf("$let.in must be defined.", self.path)
        variables = raw.get("vars")
        variables = {} if variables is None else variables
        if not isinstance(variables, dict):
            raise qf("Operator ExpressionRules expects an object.", join(self.path, "vars"))
        self.literal = bool(raw.get("literal"))
        with parser.scope():
            self.vars: list[tuple[str, Any]] = []
            for name, value in variables.items():
                check_variable_name(name, "Operator ExpressionRules", join(self.path, "vars"))
                parser.declare(name)
                self.vars.append((name, parser.expr(value, join(join(self.path, "vars"), name), self.depth + 1)))
            if self.literal:
                check_literal_depth(raw["in"], join(self.path, "in"))
                self.body: Any = raw["in"]
            else:
                self.body = parser.expr(raw["in"], join(self.path, "in"), self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        scope = ctx.push(self.path)
        try:
            for name, node in self.vars:
                scope[name] = node.evaluate(ctx)
            if not self.literal:
                return self.body.evaluate(ctx)
            return _substitute(copy.deepcopy(self.body), scope)
        finally:
            ctx.pop()

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        out = gen.temp()
        scope = gen.scoped(self.path)
        for name, node in self.vars:
            value = gen.value(node)
            gen.line(f"{scope}[{name!r}] = {value}")
        if self.literal:
            gen.line(f"{out} = {gen.call(_substitute, f'_deepcopy({gen.const(self.body)})', scope)}")
        else:
            body = gen.value(self.body)
            gen.line(f"{out} = {body}")
        gen.end_scoped()
        return out


def _substitute(value: Any, scope: dict[str, Any]) -> Any:
    def name_of(text: Any) -> str | None:
        return text[2:] if isinstance(text, str) and text.startswith("$$") and text[2:] in scope else None

    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            var = name_of(key)
            out[str(scope[var]) if var else key] = _substitute(item, scope)
        return out
    if isinstance(value, list):
        return [_substitute(item, scope) for item in value]
    var = name_of(value)
    return scope[var] if var else value


_ = MISSING
