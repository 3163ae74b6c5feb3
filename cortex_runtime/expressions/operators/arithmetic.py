"""Arithmetic with JS number semantics: coercion, NaN/Infinity instead of faults (spec §0.4)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ..core import qf
from ..values import INVALID_DATE, NAN, epoch_ms, from_ms, is_number, is_numeric, jsnum, parse_float, to_number
from . import INLINE, eager

_M = 2**53


def _safe(fn: Any) -> Any:
    """A Math function that answers NaN / ±Infinity like JS instead of raising."""

    def call(x: float) -> Any:
        try:
            return jsnum(fn(x))
        except (ValueError, OverflowError):
            return NAN
        except ZeroDivisionError:
            return -math.inf

    return call


def _log(x: float) -> float:
    return -math.inf if x == 0 else math.log(x)


def _log10(x: float) -> float:
    return -math.inf if x == 0 else math.log10(x)


def _atanh(x: float) -> float:
    return math.copysign(math.inf, x) if abs(x) == 1 else math.atanh(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


MATH_1 = {
    "$abs": abs, "$acos": math.acos, "$acosh": math.acosh, "$asin": math.asin, "$asinh": math.asinh, "$atan": math.atan,
    "$atanh": _atanh, "$ceil": math.ceil, "$cos": math.cos, "$exp": _exp, "$floor": math.floor, "$ln": _log, "$log10": _log10,
    "$sin": math.sin, "$sqrt": math.sqrt, "$tan": math.tan,
}


def _math_1(name: str, fn: Any) -> None:
    safe = _safe(fn)

    def compute(op: Any, value: Any) -> Any:
        x = to_number(value)
        if math.isnan(x):
            return NAN
        if math.isinf(x) and fn in (math.ceil, math.floor):
            return x
        return safe(x)

    eager(name, "single")(compute)


for _name, _fn in MATH_1.items():
    _math_1(_name, _fn)


@eager("$degreesToRadians", "single")
def _d2r(op: Any, value: Any) -> Any:
    return jsnum(to_number(value) * math.pi / 180)


@eager("$radiansToDegrees", "single")
def _r2d(op: Any, value: Any) -> Any:
    return jsnum(to_number(value) * 180 / math.pi)


@eager("$add", "array")
def _add(op: Any, values: list[Any]) -> Any:
    total, dated = 0.0, False
    for value in values:
        if isinstance(value, datetime):
            total, dated = total + epoch_ms(value), True
        elif value is INVALID_DATE:
            total, dated = NAN, True
        else:
            total += parse_float(value)
    return from_ms(total) if dated else jsnum(total)


def _plain_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value) or isinstance(value, str) and is_numeric(value)


@eager("$subtract", "fixed", exactly=2)
def _subtract(op: Any, a: Any, b: Any) -> Any:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return epoch_ms(a) - epoch_ms(b)
    if isinstance(a, datetime) and _plain_number(b):
        return from_ms(epoch_ms(a) - to_number(b))
    if _plain_number(a) and _plain_number(b):
        return jsnum(to_number(a) - to_number(b))
    raise qf("$subtract expects Date/Date, Number/Number or Date/Number", op.path)


@eager("$multiply", "array", between=(0, 100))
def _multiply(op: Any, values: list[Any]) -> Any:
    if not values:
        return NAN
    if len(values) == 1:
        return values[0]
    product = to_number(values[0])
    for value in values[1:]:
        product = _mul(product, to_number(value))
    return jsnum(product)


def _mul(a: float, b: float) -> float:
    try:
        return a * b
    except OverflowError:
        return math.inf


def js_divide(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return NAN
        return math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


@eager("$divide", "fixed", exactly=2)
def _divide(op: Any, a: Any, b: Any) -> Any:
    return jsnum(js_divide(float(to_number(a)), float(to_number(b))))


@eager("$mod", "fixed", exactly=2)
def _mod(op: Any, a: Any, b: Any) -> Any:
    x, y = float(to_number(a)), float(to_number(b))
    if y == 0 or math.isnan(x) or math.isnan(y) or math.isinf(x):
        return NAN
    return jsnum(x if math.isinf(y) else math.fmod(x, y))


@eager("$pow", "fixed", exactly=2)
def _pow(op: Any, a: Any, b: Any) -> Any:
    x, y = float(to_number(a)), float(to_number(b))
    if y == 0:
        return 1
    if math.isnan(x) or math.isnan(y) or (abs(x) == 1 and math.isinf(y)):
        return NAN
    if x == 0 and y < 0:  # JS: 0 ** -1 is Infinity (-0 with an odd exponent: -Infinity)
        return -math.inf if math.copysign(1, x) < 0 and float(y).is_integer() and y % 2 == 1 else math.inf
    try:
        result = math.pow(x, y)
    except ValueError:
        return NAN
    except (OverflowError, ZeroDivisionError):
        return math.inf if x >= 0 or float(y).is_integer() and y % 2 == 0 else -math.inf
    return jsnum(result)


@eager("$round", "single")
def _round(op: Any, value: Any) -> Any:
    x = to_number(value)
    if math.isnan(x) or math.isinf(x):
        return x
    return jsnum(math.floor(x + 0.5))


@eager("$trunc", "fixed", between=(1, 2))
def _trunc(op: Any, value: Any, places: Any = 0) -> Any:
    x, p = float(to_number(value)), float(to_number(places))
    if math.isnan(x) or math.isnan(p) or math.isinf(x):
        return x if not math.isnan(p) else NAN
    scale = 10**p
    return jsnum(math.trunc(x * scale) / scale)


@eager("$log", "fixed", exactly=2)
def _log_base(op: Any, value: Any, base: Any) -> Any:
    x, b = float(to_number(value)), float(to_number(base))
    return jsnum(js_divide(_safe(_log)(x) if x >= 0 else NAN, _safe(_log)(b) if b >= 0 else NAN))


@eager("$atan2", "fixed", exactly=2)
def _atan2(op: Any, y: Any, x: Any) -> Any:
    a, b = to_number(y), to_number(x)
    return NAN if math.isnan(a) or math.isnan(b) else jsnum(math.atan2(a, b))


def js_plus(a: Any, b: Any) -> Any:
    """JS binary ``+``: text (strings, arrays, objects, Dates) concatenates, the rest adds as numbers."""
    from ..values import MISSING, string_form

    def primitive(v: Any) -> Any:
        return string_form(v) if isinstance(v, (list, dict, datetime)) or v is INVALID_DATE else v

    a, b = primitive(a), primitive(b)
    if isinstance(a, str) or isinstance(b, str):
        return string_form(a) + string_form(b)
    x = NAN if a is MISSING else to_number(a)
    y = NAN if b is MISSING else to_number(b)
    return x + y


def _std_dev(sample: bool) -> Any:
    def compute(op: Any, values: list[Any]) -> Any:
        n = len(values)
        if n == 0:
            return NAN
        total: Any = 0
        for value in values:
            total = js_plus(total, value)
            if isinstance(total, str) and len(total) > 1_000_000:  # JS would concatenate on; the mean is NaN anyway
                total = NAN
        mean = to_number(total) / n
        squares = 0.0
        for value in values:
            x = to_number(value) if not isinstance(value, (list, dict)) else to_number(value)
            try:
                squares += (x - mean) ** 2
            except OverflowError:
                squares = math.inf
        divisor = n - 1 if sample else n
        if divisor == 0 or math.isnan(squares):
            return NAN
        return jsnum(math.sqrt(squares / divisor)) if squares / divisor >= 0 else NAN

    return compute


eager("$stdDevPop", "array")(_std_dev(False))
eager("$stdDevSamp", "array")(_std_dev(True))


@eager("$clamp", "fixed", exactly=3)
def _clamp(op: Any, value: Any, low: Any, high: Any) -> Any:
    from ..types import js_gt

    if is_number(value) and js_gt(value, low):
        return high if js_gt(value, high) else value
    return low


def _int_guard(gen: Any, value: str, bounded: bool) -> str | None:
    """Source true when ``value`` is an int (within 2**53 if ``bounded``); ``""`` if known so."""
    if value in gen.known:
        known = gen.known[value]
        return "" if type(known) is int and (not bounded or -_M <= known <= _M) else None
    return f"type({value}) is int and -{_M} <= {value} <= {_M}" if bounded else f"type({value}) is int"


def _fast_ints(build: Any, bounded: bool) -> Any:
    def hook(gen: Any, op: Any, args: list[str], call: str) -> str | None:
        if not 2 <= len(args) <= 32:  # longer sums are left to the general function
            return None
        guards = [_int_guard(gen, a, bounded) for a in args]
        if None in guards:
            return None
        fast = build(gen, args)
        test = " and ".join(g for g in guards if g)
        return f"({fast} if {test} else {call})" if test else fast

    return hook


def _add_source(gen: Any, args: list[str]) -> str:
    # ``parse_float`` of an int within 2**53 is ``float(int)``; summed in doubles, then ``jsnum``.
    total = gen.temp()
    floats = " + ".join(repr(float(gen.known[a])) if a in gen.known else f"float({a})" for a in args)
    return f"(int({total}) if ({total} := {floats}).is_integer() and -{_M} <= {total} <= {_M} else {total})"


def _multiply_source(gen: Any, args: list[str]) -> str:
    # ``to_number`` of an int is the int; the product is exact, then ``jsnum``.
    product = gen.temp()
    return f"({product} if -{_M} <= ({product} := {' * '.join(args)}) <= {_M} else {gen.call(jsnum, product)})"


INLINE["$add"] = _fast_ints(_add_source, True)
INLINE["$multiply"] = _fast_ints(_multiply_source, False)
