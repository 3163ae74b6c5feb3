"""``$object`` (the template form of §1.3) and object helpers."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, ExpressionContext, Operator, Parser, _is_operator_key, join, qf, register
from ...faults import Fault
from ..values import MISSING, string_form
from . import eager


@register(OPERATORS, "$object")
class Object(Operator):
    """Keys are output verbatim; nested plain objects are templates again, nested arrays are not."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        self.fields = {}
        for key, value in raw.items():
            if isinstance(value, dict) and not _is_operator_key(value):
                value = {"$object": value}
            self.fields[key] = parser.expr(value, join(self.path, key), self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        return {key: node.evaluate(ctx) for key, node in self.fields.items()}


@eager("$mergeObjects", "array")
def _merge(op: Any, values: list[Any]) -> Any:
    out: dict[str, Any] = {}
    for value in values:
        if isinstance(value, dict):
            out.update(value)
    return out


@eager("$objectToArray", "single")
def _object_to_array(op: Any, value: Any) -> Any:
    if value is None or value is MISSING:
        raise Fault("kError", reason=f"Cannot convert {string_form(value)} to object", path=op.path)
    if isinstance(value, dict):
        return [{"k": k, "v": v} for k, v in value.items()]
    if isinstance(value, (str, list)):
        return [{"k": str(i), "v": v} for i, v in enumerate(value)]
    return []


@eager("$arrayToObject", "array")
def _array_to_object(op: Any, pairs: list[Any]) -> Any:
    out: dict[str, Any] = {}
    for pair in pairs:
        if isinstance(pair, list):
            if len(pair) > 2:
                raise qf("Operator$arrayToObject expects an Array or Object {k,v}", op.path)
            key, value = (pair + [MISSING, MISSING])[:2]
        elif isinstance(pair, dict) and pair:
            if not pair.get("k") or not pair.get("v"):
                raise qf("Operator$arrayToObject expects an Array or Object {k,v}", op.path)
            key, value = pair["k"], pair["v"]
        elif pair is None or pair is MISSING:
            raise qf("Operator$arrayToObject expects an Array or Object {k,v}", op.path)
        else:
            key, value = MISSING, MISSING
        out[string_form(key)] = value
    return out
