"""Operators, one file per family; importing this package registers them all in ``OPERATORS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import OPERATORS, Compiler, ExpressionContext, Operator, Parser, register

__all__ = ["INLINE", "eager"]

# Fast paths for compiled eager operators: ``hook(gen, op, args, call)`` gets the argument
# expressions and the generic call's source, and returns source that computes the same value
# for the common types and falls back to ``call`` otherwise (or ``None`` for no fast path).
INLINE: dict[str, Callable[[Compiler, Operator, list[str], str], str | None]] = {}
BOOLEAN = {"$gt", "$gte", "$lt", "$lte", "$ne", "$not", "$isArray", "$in"}  # always return a bool


def eager(name: str, shape: str = "array", *, with_ctx: bool = False, **counts: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a plain operator: arguments evaluated in order, then ``fn(op, *values)``
    (``fn(op, ctx, *values)`` with ``with_ctx``, for operators that charge the budget).

    ``shape`` is ``single`` (one expression), ``array`` (a list, passed as one list argument)
    or ``fixed`` (a list with ``exactly``/``between`` elements, passed spread)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        class _Eager(Operator):
            def setup(self, parser: Parser, raw: Any) -> None:
                self.args = [self.single(parser, raw)] if shape == "single" else self.array(parser, raw, **counts)

            def evaluate(self, ctx: ExpressionContext) -> Any:
                self.enter(ctx)
                values = [arg.evaluate(ctx) for arg in self.args]
                head = (self, ctx) if with_ctx else (self,)
                return fn(*head, values) if shape == "array" else fn(*head, *values)

            def compile(self, gen: Compiler) -> str:
                if not gen.enter(self):
                    return "None"
                args = [gen.value(arg) for arg in self.args]
                head = [gen.const(self), "ctx"] if with_ctx else [gen.const(self)]
                call = gen.call(fn, *head, f"[{', '.join(args)}]") if shape == "array" else gen.call(fn, *head, *args)
                hook = INLINE.get(name)
                fast = hook(gen, self, args, call) if hook is not None else None
                out = gen.temp()
                gen.line(f"{out} = {fast or call}")
                if name in BOOLEAN:
                    gen.bools.add(out)
                return out

        _Eager.__name__ = _Eager.__qualname__ = f"Op_{name[1:]}"
        register(OPERATORS, name)(_Eager)
        return fn

    return decorate


from . import arithmetic, array, boolean, comparison, conditional, database, date, object, string, type, variable  # noqa: E402,F401
from . import control, datebuild, regex, semver, set  # noqa: E402,F401
from . import access, function, i18n  # noqa: E402,F401
