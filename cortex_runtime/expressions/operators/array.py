"""Array operators; the iterating ones (``$map $filter $reduce``) bind variables per element."""

from __future__ import annotations

import math
from typing import Any

from ..core import OPERATORS, Compiler, ExpressionContext, Operator, Parser, join, qf, register
from ..types import equals
from ..values import MISSING, is_number, is_numeric, jsnum, parse_float, string_form, truthy
from . import INLINE, eager


@register(OPERATORS, "$array")
class Array(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.items = self.array(parser, raw)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        ctx.charge(len(self.items), self.path)
        return [item.evaluate(ctx) for item in self.items]

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        if self.items:
            gen.line(f"ctx.charge({len(self.items)}, {self.path!r})")
        items, out = [gen.value(item) for item in self.items], gen.temp()
        gen.line(f"{out} = [{', '.join(items)}]")
        return out


@eager("$arrayElemAt", "fixed", exactly=2)
def _elem_at(op: Any, items: Any, index: Any) -> Any:
    if not isinstance(items, list):
        raise qf("$arrayElementAt expects first param to be Array", op.path)
    if not is_number(index):
        raise qf("$arrayElementAt expects second param to be Number", op.path)
    if math.isnan(index) or not float(index).is_integer():
        return MISSING
    position = int(index) if index > -1 else len(items) - abs(int(index))
    return items[position] if 0 <= position < len(items) else MISSING


@eager("$concatArrays", "array")
def _concat_arrays(op: Any, values: list[Any]) -> Any:
    if not all(isinstance(v, list) for v in values):
        raise qf("$concatArrays expects params to be Arrays", op.path)
    return [item for value in values for item in value]


@eager("$in", "fixed", exactly=2)
def _in(op: Any, needle: Any, haystack: Any) -> Any:
    if not isinstance(haystack, list):
        raise qf("$in expects an Array as second argument", op.path)
    match = next((item for item in haystack if equals(needle, item, do_cast=False, strict=True)), MISSING)
    return truthy(match)


@eager("$size", "single")
def _size(op: Any, value: Any) -> Any:
    if not isinstance(value, list):
        raise qf("$size expects an Array", op.path)
    return len(value)


INLINE["$size"] = lambda gen, op, args, call: f"(len({args[0]}) if type({args[0]}) is list else {call})"


@eager("$isArray", "single")
def _is_array(op: Any, value: Any) -> Any:
    return isinstance(value, list)


@eager("$reverseArray", "single")
def _reverse(op: Any, value: Any) -> Any:
    if not isinstance(value, list):
        raise qf("$reverseArray expects an Array", op.path)
    return value[::-1]  # a copy: the caller's document is not changed (the platform reverses in place)


@eager("$slice", "fixed", between=(2, 3))
def _slice(op: Any, items: Any, position: Any, end: Any = MISSING) -> Any:
    if not isinstance(items, list):
        raise qf("$slice expects an Array as second argument", op.path)
    if not is_number(position) or not is_number(end):
        raise qf("$slice expects second and third arguments to be a number ", op.path)
    start, stop = (0 if math.isnan(v) else int(v) if not math.isinf(v) else (len(items) if v > 0 else -len(items) - 1) for v in (position, end))
    return items[start:stop]


@eager("$allElementsTrue", "array")
def _all_true(op: Any, values: list[Any]) -> Any:
    items = values[0] if values else MISSING
    if not isinstance(items, list):
        raise qf("Operator$allElementsTrue expects an Array", op.path)
    return not any(item is None or item is MISSING or (is_number(item) and item == 0) for item in items)


@eager("$anyElementTrue", "array")
def _any_true(op: Any, values: list[Any]) -> Any:
    items = values[0] if values else MISSING
    if not isinstance(items, list):
        raise qf("Operator$allElementsTrue expects an Array", op.path)
    return any(not (item is None or item is MISSING or (is_number(item) and item == 0)) for item in items)


@register(OPERATORS, "$range")
class Range(Operator):
    """Charges the whole length to the budget before building, so a huge range faults at once."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, exactly=3)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        start, end, step = (arg.evaluate(ctx) for arg in self.args)
        step = 1 if step is MISSING else step
        if not (is_number(start) and is_number(end) and is_number(step)):
            raise qf("Operator$range expects numbers start, end and step", self.path)
        if step == 0:
            step = 1 if end >= start else -1
        span = (end - start) / step
        if math.isnan(span) or math.isinf(span):
            raise qf("Operator$range produced an invalid array length", self.path)
        length = max(math.ceil(span), 0)
        ctx.charge(length, self.path)
        out, value = [], start
        for _ in range(length):
            out.append(value)
            value = value + step
        return out


class _Iterating(Operator):
    """``{input, as, <body>}``: ``as`` is declared for every argument (spec §2.4)."""

    body_key = "in"

    def setup(self, parser: Parser, raw: Any) -> None:
        if raw is None or raw is MISSING:
            raise Fault("kError", reason=f"Cannot read properties of {string_form(raw)} (reading 'as')")
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        self.var = self.variable_name(raw.get("as", "this"), join(self.path, "as"))
        with parser.scope():
            parser.declare(self.var)
            self.input = parser.expr(raw.get("input", MISSING), join(self.path, "input"), self.depth + 1)
            self.body = parser.expr(raw.get(self.body_key, MISSING), join(self.path, self.body_key), self.depth + 1)

    def items(self, ctx: ExpressionContext) -> list[Any]:
        value = self.input.evaluate(ctx)
        items = [] if value is None or value is MISSING else value if isinstance(value, list) else [value]
        ctx.charge(len(items), self.path)
        return items

    def select(self, ctx: ExpressionContext, *, first: bool) -> Any:
        """The elements whose body is truthy (``$filter``), or the first of them, else missing (``$find``)."""
        self.enter(ctx)
        scope = ctx.push(self.path)
        try:
            out = []
            for item in self.items(ctx):
                scope[self.var] = item
                if truthy(self.body.evaluate(ctx)):
                    if first:
                        return item
                    out.append(item)
            return MISSING if first else out
        finally:
            ctx.pop()


    def compile_loop(self, gen: Compiler, *, keep: bool) -> str:
        """``$map`` (``keep`` False: collect the body's values) or ``$filter`` (``keep``: the
        elements whose body is truthy); the body is charged per element, as it runs."""
        if not gen.enter(self):
            return "None"
        out, items, item = gen.temp(), gen.temp(), gen.temp()
        scope = gen.scoped(self.path)
        value = gen.value(self.input)
        gen.line(f"{items} = {value}")
        gen.line(f"{items} = [] if {items} is None or {items} is MISSING else {items} if isinstance({items}, list) else [{items}]")
        gen.line(f"ctx.charge(len({items}), {self.path!r})")
        gen.line(f"{out} = []")
        gen.line(f"for {item} in {items}:")
        gen.level += 1
        gen.line(f"{scope}[{self.var!r}] = {item}")
        gen.open()
        body = gen.value(self.body)
        gen.line(f"if {gen.truth(body)}: {out}.append({item})" if keep else f"{out}.append({body})")
        gen.close()
        gen.level -= 1
        gen.end_scoped()
        return out


@register(OPERATORS, "$map")
class Map(_Iterating):
    def compile(self, gen: Compiler) -> str:
        return self.compile_loop(gen, keep=False)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        scope = ctx.push(self.path)
        try:
            out = []
            for item in self.items(ctx):
                scope[self.var] = item
                out.append(self.body.evaluate(ctx))
            return out
        finally:
            ctx.pop()


@register(OPERATORS, "$filter")
class Filter(_Iterating):
    body_key = "cond"

    def compile(self, gen: Compiler) -> str:
        return self.compile_loop(gen, keep=True)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        return self.select(ctx, first=False)


@register(OPERATORS, "$reduce")
class Reduce(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        with parser.scope():
            parser.declare("value")
            parser.declare("this")
            self.input, self.initial, self.body = (parser.expr(raw.get(k, MISSING), join(self.path, k), self.depth + 1) for k in ("input", "initialValue", "in"))

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        scope = ctx.push(self.path)
        try:
            value = self.input.evaluate(ctx)
            if value is None or value is MISSING:
                return MISSING
            items = value if isinstance(value, list) else [value]
            ctx.charge(len(items), self.path)
            accumulated = self.initial.evaluate(ctx)
            for item in items:
                scope["value"], scope["this"] = accumulated, item
                accumulated = self.body.evaluate(ctx)
            return accumulated
        finally:
            ctx.pop()

    def compile(self, gen: Compiler) -> str:
        if not gen.enter(self):
            return "None"
        out, items, item = gen.temp(), gen.temp(), gen.temp()
        scope = gen.scoped(self.path)
        value = gen.value(self.input)
        gen.line(f"{items} = {value}")
        gen.line(f"if {items} is None or {items} is MISSING:")
        gen.line(f"    {out} = MISSING")
        gen.line("else:")
        gen.level += 1
        gen.line(f"{items} = {items} if isinstance({items}, list) else [{items}]")
        gen.line(f"ctx.charge(len({items}), {self.path!r})")
        gen.open()
        initial = gen.value(self.initial)
        gen.line(f"{out} = {initial}")
        gen.close()
        gen.line(f"for {item} in {items}:")
        gen.level += 1
        gen.line(f"{scope}['value'] = {out}")
        gen.line(f"{scope}['this'] = {item}")
        gen.open()
        body = gen.value(self.body)
        gen.line(f"{out} = {body}")
        gen.close()
        gen.level -= 2
        gen.end_scoped()
        return out


@eager("$indexOfArray", "fixed", between=(2, 4))
def _index_of(op: Any, items: Any, search: Any, start: Any = MISSING, end: Any = MISSING) -> Any:
    if items is None:
        return None
    if not isinstance(items, list):
        raise qf("$indexOfArr expects first param to be Array", op.path)
    start = 0 if start is MISSING else start
    if (start is not None and (not is_number(start) or start < 0)) or (end is not MISSING and end is not None and not is_number(end)):
        raise qf("$indexOfArr expects start param to be a non negative number", op.path)
    begin = 0 if start is None or math.isnan(start) else int(start)
    stop = None if end is MISSING or end is None else (0 if math.isnan(end) else int(end))
    window = items[begin:stop] if start is not None else items[(stop or 0):]
    return next((i for i, item in enumerate(window) if equals(search, item, do_cast=False, strict=True)), -1)


from ...faults import Fault  # noqa: E402


@register(OPERATORS, "$avg")
class Avg(Operator):
    """An array of expressions (array values skipped) or one expression (an array value averaged)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.listed = isinstance(raw, list)
        self.args = self.array(parser, raw) if self.listed else [self.single(parser, raw)]

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        values = [arg.evaluate(ctx) for arg in self.args]
        if not self.listed:
            value = values[0]
            values = [] if value is None or value is MISSING else value if isinstance(value, list) else [value]
        numbers = [parse_float(v) for v in values if not isinstance(v, list) and is_numeric(v)]
        return jsnum(sum(numbers) / len(numbers)) if numbers else None


class _RawFirstArray(Operator):
    """``$includes``/``$join``: a raw array as the first argument is taken as ``$array``."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if isinstance(raw, list) and raw and isinstance(raw[0], list):
            raw = [{"$array": raw[0]}, *raw[1:]]
        self.first, self.second = self.array(parser, raw, exactly=2)


@register(OPERATORS, "$includes")
class Includes(_RawFirstArray):
    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        source, search = self.first.evaluate(ctx), self.second.evaluate(ctx)
        if isinstance(source, list):
            return any(equals(item, search, do_cast=False, strict=True) for item in source)
        if isinstance(source, str):
            return string_form(search) in source
        return False


@register(OPERATORS, "$join")
class Join(_RawFirstArray):
    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        items, separator = self.first.evaluate(ctx), self.second.evaluate(ctx)
        if not isinstance(items, list):
            raise Fault("kError", reason=f"{self.name}: the first argument must be an array", path=self.path)
        separator = "," if separator is MISSING else string_form(separator)
        return separator.join("" if v is None or v is MISSING else string_form(v) for v in items)


@eager("$setUnion", "array", at_least=2)
def _set_union(op: Any, values: list[Any]) -> Any:
    if not all(isinstance(v, list) for v in values):
        raise qf("$setUnion require array inputs", op.path)
    out: list[Any] = []
    for item in (i for v in values for i in v):
        if not truthy(item) or not any(equals(item, kept, do_cast=False, strict=True) for kept in out):
            out.append(item)
    return out


@register(OPERATORS, "$find")
class Find(_Iterating):
    """As ``$filter``, but the first element whose ``cond`` is truthy (stopping there), or missing."""

    body_key = "cond"

    def evaluate(self, ctx: ExpressionContext) -> Any:
        return self.select(ctx, first=True)


@register(OPERATORS, "$zip")
class Zip(Operator):
    """``{inputs, useLongestLength, defaults}``; ``useLongestLength`` is raw (not evaluated)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        inputs = raw.get("inputs", MISSING)
        if not isinstance(inputs, list):
            raise Fault("kError", reason=f"{self.name}: inputs.map is not a function", path=self.path)
        at = join(self.path, "inputs")
        self.inputs = [parser.expr(item, join(at, i), self.depth + 1) for i, item in enumerate(inputs)]
        self.longest = truthy(raw.get("useLongestLength", False))
        given = raw.get("defaults", MISSING)
        self.defaults = None if given is None or given is MISSING else parser.expr(given, join(self.path, "defaults"), self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        values = [node.evaluate(ctx) for node in self.inputs]
        defaults = self.defaults.evaluate(ctx) if self.defaults is not None else MISSING
        if any(v is None for v in values):
            return None
        if not all(isinstance(v, list) for v in values):
            raise qf("$zip does not allow null entries", self.path)
        if self.defaults is not None:
            if not isinstance(defaults, list):
                raise qf("$zip defaults must be array", self.path)
            if not self.longest:
                raise qf("$zip defaults must be used with useLongestLength:true", self.path)
        if not values:
            if self.longest:
                return []
            raise Fault("kError", reason=f"{self.name}: Invalid array length", path=self.path)
        length = max(len(v) for v in values) if self.longest else min(len(v) for v in values)
        ctx.charge(length * len(values), self.path)
        fill = defaults if isinstance(defaults, list) else []
        return [
            [v[pos] if pos < len(v) else (fill[i] if i < len(fill) else None) for i, v in enumerate(values)]
            for pos in range(length)
        ]
