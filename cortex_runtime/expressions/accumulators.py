"""The ten ``$group`` accumulators (spec §5): one state per group, a result at the end."""

from __future__ import annotations

import json
from typing import Any

from .core import ACCUMULATORS, register
from ..faults import Fault
from .types import cast, equals, guess, js_gt, locale_compare
from .values import EMPTY, MISSING, is_numeric, jsnum, parse_float

__all__ = ["Accumulator"]


class Accumulator:
    name = ""

    def __init__(self) -> None:
        self.state: Any = None

    def add(self, value: Any) -> None:
        raise NotImplementedError

    def result(self) -> Any:
        return self.state


def _skip(value: Any) -> bool:
    return value is MISSING or value is EMPTY


@register(ACCUMULATORS, "$sum")
class Sum(Accumulator):
    def add(self, value: Any) -> None:
        if not _skip(value) and is_numeric(value):
            self.state = (self.state or 0) + parse_float(value)

    def result(self) -> Any:
        return None if self.state is None else jsnum(self.state)


@register(ACCUMULATORS, "$avg")
class Avg(Accumulator):
    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, value: Any) -> None:
        if not _skip(value) and is_numeric(value):
            self.total, self.count = self.total + parse_float(value), self.count + 1

    def result(self) -> Any:
        return jsnum(self.total / self.count) if self.count else None


class _Extreme(Accumulator):
    sign = 1

    def add(self, value: Any) -> None:
        if value is None or _skip(value):
            return
        if self.state is None:
            self.state = value
            return
        if _typed_compare(guess(self.state), value, self.state) * self.sign > 0:
            self.state = value


def _typed_compare(kind: str, value: Any, best: Any) -> int:
    """§5 quirk: the candidate is cast to the first value's type; a failed or false test is -1,
    so for ``$min`` an incomparable value wins and for ``$max`` it never does."""
    try:
        value = cast(value, kind)
    except Fault:
        return -1
    if equals(value, best, do_cast=False):
        return 0
    if kind == "String":
        return locale_compare(value, best)
    return 1 if js_gt(value, best) else -1


@register(ACCUMULATORS, "$max")
class Max(_Extreme):
    sign = 1


@register(ACCUMULATORS, "$min")
class Min(_Extreme):
    sign = -1


@register(ACCUMULATORS, "$push")
class Push(Accumulator):
    def __init__(self) -> None:
        self.state = []

    def add(self, value: Any) -> None:
        if not _skip(value):
            self.state.append(value)


def _hash(value: Any) -> str:
    """Structural key: key order ignored, ObjectIds as their hex (so an id equals its hex string)."""
    return json.dumps(value, sort_keys=True, default=str)


@register(ACCUMULATORS, "$addToSet")
class AddToSet(Accumulator):
    def __init__(self) -> None:
        self.state, self.seen = [], set()

    def add(self, value: Any) -> None:
        if _skip(value):
            return
        key = _hash(value)
        if key not in self.seen:
            self.seen.add(key)
            self.state.append(value)


@register(ACCUMULATORS, "$first")
class First(Accumulator):
    def __init__(self) -> None:
        self.state = MISSING

    def add(self, value: Any) -> None:
        if self.state is MISSING and not _skip(value):
            self.state = value


@register(ACCUMULATORS, "$last")
class Last(Accumulator):
    def __init__(self) -> None:
        self.state = MISSING

    def add(self, value: Any) -> None:
        if not _skip(value):
            self.state = value


@register(ACCUMULATORS, "$count")
class Count(Accumulator):
    def __init__(self) -> None:
        self.state = 0

    def add(self, value: Any) -> None:
        if not _skip(value):
            self.state += 1


@register(ACCUMULATORS, "$mergeObjects")
class MergeObjects(Accumulator):
    def __init__(self) -> None:
        self.state = {}

    def add(self, value: Any) -> None:
        if isinstance(value, dict):
            self.state.update(value)
