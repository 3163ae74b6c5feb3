"""``$try $throw $match``: raising and catching faults, and the ``$match`` shorthand."""

from __future__ import annotations

from typing import Any

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, check_literal_depth, join, qf, register
from ..values import MISSING, string_form


def to_fault(value: Any) -> Fault:
    """``Fault.from(value, forceError=true)`` (faults.md §3.2): a Fault stays; a text is an errCode;
    an object with ``object: "fault"`` is created from the registry; anything else is ``kError``."""
    if isinstance(value, Fault):
        return value
    if isinstance(value, str):
        return Fault.from_json({"errCode": value, "object": "fault"}) if value else Fault("kError")
    if isinstance(value, dict):
        if value.get("object") == "fault":
            return Fault.from_json(value)
        code = value.get("code")
        data = {**value, "errCode": value.get("errCode") if isinstance(value.get("errCode"), str) else (code if isinstance(code, str) else "kError")}
        return Fault.from_json(data)
    if isinstance(value, BaseException):
        return Fault("kError", str(value))
    return Fault("kError")


@register(OPERATORS, "$throw")
class Throw(Operator):
    """A plain object without ``$`` keys is taken literally (its values are not evaluated)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.literal = isinstance(raw, dict) and not any(isinstance(k, str) and k.startswith("$") for k in raw)
        if self.literal:
            check_literal_depth(raw, self.path)
            self.value: Any = raw
        else:
            self.value = self.single(parser, raw)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value = dict(self.value) if self.literal else self.value.evaluate(ctx)
        raise to_fault(value)


@register(OPERATORS, "$try")
class Try(Operator):
    """``{input, as = "err", in}``: a fault raised by ``input`` is bound to ``$$<as>`` as its JSON
    form and ``in`` is returned. Running out of the evaluation budget is never caught."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if raw is None or raw is MISSING:
            raise Fault("kError", reason=f"Cannot read properties of {string_form(raw)} (reading 'as')", path=self.path)
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        self.var = self.variable_name(raw.get("as", "err"), join(self.path, "as"))
        with parser.scope():
            parser.declare(self.var)
            self.input = parser.expr(raw.get("input", MISSING), join(self.path, "input"), self.depth + 1)
            self.body = parser.expr(raw.get("in", MISSING), join(self.path, "in"), self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        scope = ctx.push(self.path)
        try:
            depth = len(ctx.scopes)
            try:
                return self.input.evaluate(ctx)
            except Fault as fault:
                if ctx.ops > ctx.max_ops:
                    raise
                error = fault
            except (ValueError, TypeError, ArithmeticError, KeyError, IndexError) as exc:  # a raw error inside an operator
                error = Fault("kError", str(exc))
            del ctx.scopes[depth:]  # scopes left open by the failed input
            data = error.to_json()
            data.pop("trace", None)
            scope[self.var] = data
            try:
                return self.body.evaluate(ctx)
            finally:
                scope.pop(self.var, None)
        finally:
            ctx.pop()


@register(OPERATORS, "$match")
class Match(Operator):
    """Rewritten into ``$and`` of ``$eq: [KEY, VALUE]``: each key is itself an expression."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        self.inner = parser.expr({"$and": [{"$eq": [key, value]} for key, value in raw.items()]}, self.path, self.depth)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return self.inner.evaluate(ctx)
