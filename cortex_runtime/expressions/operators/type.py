"""Type tests and conversions, through the casts of ``types.py`` (spec §0.5)."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..types import TYPE_NAMES, cast, guess, to_date
from ..values import MISSING, is_number, truthy
from . import eager


@eager("$type", "single")
def _type(op: Any, value: Any) -> Any:
    return guess(value)


@eager("$isNumber", "single")
def _is_number(op: Any, value: Any) -> Any:
    return is_number(value)


@eager("$toBool", "single")
def _to_bool(op: Any, value: Any) -> Any:
    return truthy(value)


@eager("$toNumber", "single")
def _to_number(op: Any, value: Any) -> Any:
    return cast(value, "Number")


@eager("$toString", "single")
def _to_string(op: Any, value: Any) -> Any:
    return cast(value, "String")


@eager("$toDate", "single")
def _to_date(op: Any, value: Any) -> Any:
    return value if value is MISSING else to_date(value)


@eager("$toObjectId", "single")
def _to_object_id(op: Any, value: Any) -> Any:
    return cast(value, "ObjectId")


@eager("$toArray", "single")
def _to_array(op: Any, value: Any) -> Any:
    return value if isinstance(value, list) else [value]


@register(OPERATORS, "$convert")
class Convert(Operator):
    """``onError``/``onNull`` are lazy and only used when given (not null/missing)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        parts = self.object(parser, raw, ("input", "to"))
        self.input, self.to = parts["input"], parts["to"]
        self.on_error = self.on_null = None
        for key in ("onError", "onNull"):
            if raw.get(key) is not None:
                setattr(self, "on_error" if key == "onError" else "on_null", parser.expr(raw[key], join(self.path, key), self.depth + 1))

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value, to = self.input.evaluate(ctx), self.to.evaluate(ctx)
        if to not in TYPE_NAMES:
            raise qf("$convert expects a valid output type", self.path)
        if value is None or value is MISSING:
            return self.on_null.evaluate(ctx) if self.on_null is not None else value
        try:
            return cast(value, to)
        except Exception:
            if self.on_error is not None:
                return self.on_error.evaluate(ctx)
            raise


@eager("$oid", "single")
def _oid(op: Any, value: Any) -> Any:
    """Exactly ``$toObjectId``."""
    return cast(value, "ObjectId")
