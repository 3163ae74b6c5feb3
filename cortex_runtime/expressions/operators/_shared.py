"""Helpers shared by the newer operator families: a context-aware ``eager``, raw-error faults
and the text budget (long strings are charged to the evaluation budget before they are built)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...faults import Fault
from ..core import ExpressionContext

__all__ = ["TEXT_UNIT", "charge_text", "eager_ctx", "raw_error"]

TEXT_UNIT = 16  # characters (or bytes) of produced or scanned text per budget operation


def charge_text(ctx: ExpressionContext, length: int, path: str = "") -> None:
    """Charge ``length`` characters of work; a huge string exhausts the budget before it exists."""
    if length > TEXT_UNIT:
        ctx.charge(length // TEXT_UNIT, path)


def raw_error(op: Any, what: str) -> Fault:
    """Where the platform throws a raw JavaScript error, a generic server error (spec §0.3)."""
    return Fault("kError", reason=f"{op.name}: {what}", path=op.path)


def eager_ctx(name: str, shape: str = "array", **counts: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like ``operators.eager`` but ``fn(op, ctx, ...)`` so the operator can charge the budget."""
    from . import eager

    return eager(name, shape, with_ctx=True, **counts)
