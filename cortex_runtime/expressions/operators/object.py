"""``$object`` (the template form of §1.3) and object helpers."""

from __future__ import annotations

from typing import Any

from ..core import OPERATORS, Compiler, ExpressionContext, Operator, Parser, _is_operator_key, join, qf, register
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

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        items = [(repr(key) if type(key) is str else gen.const(key), gen.value(node)) for key, node in self.fields.items()]
        out = gen.temp()
        gen.line(f"{out} = {{{', '.join(f'{key}: {value}' for key, value in items)}}}")
        return out


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


_CANONICAL_INT = __import__("re").compile(r"^(0|-?[1-9][0-9]*)$")
_HEX24 = __import__("re").compile(r"^[0-9a-fA-F]{24}$")
_CUSTOM_NAME = __import__("re").compile(r"^(c_|o_)|__")
_UUID = __import__("re").compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _dig(ctx: Any, value: Any, segments: list[str], path: str) -> Any:
    for index, segment in enumerate(segments):
        if value is None or value is MISSING:
            return value
        ctx.charge(1, path)
        if segment == "__proto__":
            return MISSING
        if _CANONICAL_INT.match(segment) or _HEX24.match(segment):
            value = (value[0] if value else MISSING) if isinstance(value, list) else MISSING
        elif isinstance(value, list):
            if _CUSTOM_NAME.search(segment) or _UUID.match(segment):
                value = value[0] if value else MISSING
            else:
                ctx.charge(len(value), path)
                return [_dig(ctx, item, segments[index:], path) for item in value]
        elif isinstance(value, dict):
            value = value.get(segment, MISSING)
        elif isinstance(value, str) and segment == "length":
            value = len(value.encode("utf-16-le")) // 2
        else:
            return MISSING
    return value


@register(OPERATORS, "$dig")
class Dig(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.document, self.segments = self.array(parser, raw, exactly=2)

    def evaluate(self, ctx: Any) -> Any:
        self.enter(ctx)
        document, path = self.document.evaluate(ctx), self.segments.evaluate(ctx)
        if document is None or document is MISSING:
            return None
        if isinstance(path, str):
            segments = path.split(".")
        elif isinstance(path, list):
            ctx.charge(len(path), self.path)
            segments = [string_form(s) for s in path]
        else:
            return document
        return _dig(ctx, document, segments, self.path)


def _flat_keys(ctx: Any, keys: list[Any], path: str) -> list[str]:
    out: list[str] = []
    stack = list(reversed(keys))
    while stack:
        key = stack.pop()
        ctx.charge(1, path)
        if isinstance(key, list):
            stack.extend(reversed(key))
        else:
            out.append(string_form(key))
    return out


def _enumerable(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


class _KeysOperator(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, at_least=2)


@register(OPERATORS, "$omit")
class Omit(_KeysOperator):
    def evaluate(self, ctx: Any) -> Any:
        self.enter(ctx)
        value, *keys = [arg.evaluate(ctx) for arg in self.args]
        drop = set(_flat_keys(ctx, keys, self.path))
        source = _enumerable(value)
        ctx.charge(len(source), self.path)
        return {k: v for k, v in source.items() if k not in drop}


@register(OPERATORS, "$pick")
class Pick(_KeysOperator):
    def evaluate(self, ctx: Any) -> Any:
        self.enter(ctx)
        value, *keys = [arg.evaluate(ctx) for arg in self.args]
        wanted = _flat_keys(ctx, keys, self.path)
        out: dict[str, Any] = {}
        if isinstance(value, str):  # characters by index
            for key in wanted:
                if key.isdigit() and (key == "0" or not key.startswith("0")) and int(key) < len(value):
                    out[key] = value[int(key)]
            return out
        source = _enumerable(value)
        for key in wanted:
            if key in source:
                out[key] = source[key]
        return out
