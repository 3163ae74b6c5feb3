"""Set operators (``$setUnion`` lives in ``array.py``). All share the platform's falsy quirk:
a lookup succeeds only if the element it finds is truthy, so 0, "", false, null, missing and
NaN are never "found" (never de-duplicated, never removed). Comparisons are charged up front."""

from __future__ import annotations

from functools import cmp_to_key
from typing import Any

from ..core import ExpressionContext, qf
from ..types import deep_equal, equals
from ..values import MISSING, string_form, truthy
from ._shared import eager_ctx


def _found(item: Any, pool: list[Any], loose: bool = False) -> bool:
    for candidate in pool:
        same = equals(item, candidate) if loose else equals(item, candidate, do_cast=False, strict=True)
        if same:
            return truthy(candidate)
    return False


def _dedupe(ctx: ExpressionContext, items: list[Any], path: str) -> list[Any]:
    ctx.charge(len(items) * len(items) // 2, path)
    out: list[Any] = []
    for item in items:
        if not _found(item, out):
            out.append(item)
    return out


@eager_ctx("$setDifference", "fixed", exactly=2)
def _set_difference(op: Any, ctx: ExpressionContext, first: Any, second: Any) -> Any:
    if not isinstance(first, list) or not isinstance(second, list):
        raise qf("$setDifference require two array inputs", op.path)
    items = _dedupe(ctx, first, op.path)
    ctx.charge(len(items) * len(second), op.path)
    return [item for item in items if not _found(item, second)]


def _js_sort_key(a: Any, b: Any) -> int:
    """JS default sort: undefined last, everything else by its string form in UTF-16 order."""
    if a is MISSING or b is MISSING:
        return (a is MISSING) - (b is MISSING)
    x, y = string_form(a).encode("utf-16-be"), string_form(b).encode("utf-16-be")
    return (x > y) - (x < y)


@eager_ctx("$setEqual", "fixed", exactly=2)
def _set_equal(op: Any, ctx: ExpressionContext, first: Any, second: Any) -> Any:
    if not isinstance(first, list) or not isinstance(second, list):
        raise qf("$setDifference require two array inputs", op.path)  # sic: the platform's text
    a, b = (sorted(_dedupe(ctx, side, op.path), key=cmp_to_key(_js_sort_key)) for side in (first, second))
    return deep_equal(a, b)


@eager_ctx("$setIntersection", "array", at_least=2)
def _set_intersection(op: Any, ctx: ExpressionContext, values: list[Any]) -> Any:
    if not all(isinstance(v, list) for v in values):
        raise qf("$setIntersection require array inputs", op.path)
    items = _dedupe(ctx, values[0], op.path)
    ctx.charge(len(items) * sum(len(v) for v in values[1:]), op.path)
    return [item for item in items if all(_found(item, other) for other in values[1:])]


@eager_ctx("$setIsSubset", "fixed", exactly=2)
def _set_is_subset(op: Any, ctx: ExpressionContext, first: Any, second: Any) -> Any:
    if not isinstance(first, list) or not isinstance(second, list):
        raise qf("$setIsSubset require array inputs", op.path)
    items = _dedupe(ctx, first, op.path)
    ctx.charge(len(items) * len(second), op.path)
    return all(_found(item, second, loose=True) for item in items)  # loose casting equality (spec quirk)
