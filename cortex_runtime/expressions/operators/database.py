"""Operators that read outside the expression: the database (``$dbNext``, ``$dbPath``), the org
cache (``$cache``, ``$cached``), the org config (``$config``), the org runtime (``$env``) and
named expressions (``$expression``); plus ``$pathTo`` (operator spec j-z).

They need the caller, carried on the context as ``ctx.host`` (an ``ExpressionHost``): the org,
the principal and its ``ObjectLayer``, so database reads go through the caller's ACL exactly
as the script cursor does. Without a host (a bare ``parse(x).evaluate()``) they fault
``kNotImplemented``, except ``$expression``, whose names then are simply missing.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import bson
from bson import ObjectId

from ...faults import Fault
from ..core import MAX_DEPTH, OPERATORS, Expression, ExpressionContext, Node, Operator, Parser, _is_operator_key, check_literal_depth, join, qf, register, wrap
from ..values import MISSING, plain, string_form

__all__ = ["ExpressionHost", "MemoryCache", "PRIVILEGED_OPTIONS", "named_value", "rough_size"]

PRIVILEGED_OPTIONS = ("skipAcl", "grant", "roles", "bypassCreateAcl")
MAX_ITEM_BYTES = 8192  # §0.7: memory-cache items over this rough size are not stored
_CUSTOM_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def is_custom_name(value: Any) -> bool:
    """§7.3: starts with ``c_`` or contains ``__``; letters, digits, ``-``, ``_`` only."""
    return isinstance(value, str) and bool(value) and set(value) <= _CUSTOM_CHARS and (value.startswith("c_") or "__" in value)


# ---- the caller -----------------------------------------------------------------------------


class ExpressionHost:
    """What an evaluation knows of its caller. ``layer`` may be a callable, read at each use
    (a script's layer changes under ``script.as``); ``safe`` drops privileged read options."""

    def __init__(self, runtime: Any, org_id: ObjectId, org_code: str | Callable[[], str], layer: Any, *, safe: bool | Callable[[], bool] = False, environment: str = "development") -> None:
        self.runtime = runtime
        self.org_id = org_id
        self._org_code = org_code
        self._layer = layer
        self._safe = safe
        self.environment = environment
        self._named: dict[str, dict[str, Any]] | None = None

    @property
    def org_code(self) -> str:
        if callable(self._org_code):
            self._org_code = self._org_code()
        return str(self._org_code)

    @property
    def layer(self) -> Any:
        layer = self._layer() if callable(self._layer) else self._layer
        if layer is None:
            raise Fault("kNotImplemented", reason="This evaluation has no object layer.")
        return layer

    @property
    def safe(self) -> bool:
        return bool(self._safe() if callable(self._safe) else self._safe)

    @property
    def store(self) -> Any:
        return self.runtime.store if self.runtime is not None else self.layer.store

    def now_ms(self) -> float:
        clock = getattr(self.runtime, "clock", None)
        return clock.now().timestamp() * 1000 if clock is not None else time.time() * 1000

    def read_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in options.items() if k not in PRIVILEGED_OPTIONS} if self.safe else options

    # -- named expressions and pipelines (§7.4)

    def named(self, kind: str) -> dict[str, Any]:
        """name -> entry for ``kind`` (``expression`` or ``pipeline``): library runtime entries
        first, then stored ``expression`` objects, each replacing only with a strictly
        greater weight; inactive entries and other environments are skipped."""
        if self._named is None:
            self._named = {"expression": {}, "pipeline": {}}
            entries: list[tuple[str, dict[str, Any]]] = []
            from ...objects.store import map_store_errors

            with map_store_errors():
                # library ``@expression``/``@pipeline`` entries (runtime entries with a ``value``), script by script
                libraries = list(self.store.contexts.find({"org": self.org_id, "object": "script", "type": "library", "active": True}, {"runtime": 1}).sort("_id", 1))
                docs = list(self.store.contexts.find({"org": self.org_id, "object": "expression"}).sort("_id", 1))
            for library in libraries:
                for entry in library.get("runtime") or []:
                    if isinstance(entry, dict) and entry.get("type") in ("expression", "pipeline"):
                        entries.append((str(entry["type"]), entry))
            for doc in docs:
                which = doc.get("type") or ("pipeline" if doc.get("pipeline") is not None and doc.get("expression") is None else "expression")
                value = doc.get("pipeline") if which == "pipeline" else doc.get("expression")
                entries.append((str(which), {**doc, "value": value}))
            for which, entry in entries:
                if which not in self._named or entry.get("active") is False:
                    continue
                if entry.get("environment") not in (None, "*", self.environment):
                    continue
                name = str(entry.get("name"))
                table = self._named[which]
                if name not in table or _weight(entry) > _weight(table[name]):
                    table[name] = entry
        return self._named[kind]


def _weight(entry: dict[str, Any]) -> float:
    try:
        return float(entry.get("weight") or 0)
    except (TypeError, ValueError):
        return 0.0


_COMPILED: OrderedDict[bytes, Any] = OrderedDict()
_COMPILED_MAX = 512
_COMPILED_LOCK = threading.Lock()


def compiled(kind: str, value: Any) -> Any:
    """An ``Expression`` or ``Pipeline`` of ``value``, cached by content hash (§7.4)."""
    from ..stages import Pipeline

    try:
        key = hashlib.sha1(kind.encode() + bson.encode({"v": value})).digest()
    except Exception:  # not BSON-encodable: compile without caching
        key = None
    if key is not None:
        with _COMPILED_LOCK:
            if key in _COMPILED:
                _COMPILED.move_to_end(key)
                return _COMPILED[key]
    out = Pipeline(value) if kind == "pipeline" else Expression(value)
    if key is not None:
        with _COMPILED_LOCK:
            _COMPILED[key] = out
            while len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
    return out


def named_value(host: ExpressionHost | None, kind: str, name: str) -> Any:
    """The compiled named ``kind`` or ``cortex.notFound.unspecified`` (§7.4)."""
    entry = host.named(kind).get(name) if host is not None else None
    if entry is None or entry.get("value") is None:
        raise Fault("cortex.notFound.unspecified", reason=f"Missing {kind}.", resource=f"expression#{kind}.name({name})")
    return compiled(kind, entry["value"])


def need_host(op: Node, ctx: ExpressionContext) -> ExpressionHost:
    if ctx.host is None:
        raise Fault("kNotImplemented", reason=f"{getattr(op, 'name', 'operator')} needs an org and a principal; none is given here.", path=op.path)
    return ctx.host  # type: ignore[no-any-return]


# ---- memory caches (§0.7) ---------------------------------------------------------------------


def rough_size(value: Any) -> int:
    """§0.7: 2 bytes per string/key character, numbers 8, booleans 4, Dates 12, buffers their length."""
    total, stack, seen = 0, [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            total += 4
        elif isinstance(item, (int, float)):
            total += 8
        elif isinstance(item, str):
            total += 2 * len(item)
        elif isinstance(item, datetime):
            total += 12
        elif isinstance(item, (bytes, bytearray)):
            total += len(item)
        elif isinstance(item, ObjectId):
            total += 12
        elif isinstance(item, (dict, list)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                total += sum(2 * len(str(k)) for k in item)
                stack.extend(item.values())
            else:
                stack.extend(item)
    return total


class MemoryCache:
    """A per-process cache of ``{result, stamp}``, bounded by entries; thread-safe."""

    def __init__(self, max_entries: int = 4096, max_item_bytes: int | None = MAX_ITEM_BYTES) -> None:
        self.max_entries, self.max_item_bytes = max_entries, max_item_bytes
        self._data: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, ttl: int | None, now: float, bump: bool) -> Any:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return MISSING
            result, stamp = found
            if ttl is not None and stamp + ttl * 1000 < now:
                return MISSING
            if bump:
                self._data[key] = (result, now)
            self._data.move_to_end(key)
            return copy.deepcopy(result)

    def set(self, key: str, result: Any, now: float) -> None:
        if self.max_item_bytes is not None and rough_size(result) > self.max_item_bytes:
            return
        with self._lock:
            self._data[key] = (copy.deepcopy(result), now)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


CACHED = MemoryCache(max_item_bytes=None)  # cortex.expressions.operator$cached (§2: no effective item limit)
DB_NEXT = MemoryCache()  # cortex.expressions.operator$dbNext
DB_PATH = MemoryCache()  # cortex.expressions.operator$dbPath


def _int_ttl(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None




def _guard(op: Node, call: Callable[[], Any]) -> Any:
    """Faults pass; any other error of the layer or store becomes a ``kError`` fault."""
    try:
        return call()
    except Fault:
        raise
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a host error must not escape as a traceback
        raise Fault("kError", reason=str(exc) or type(exc).__name__, path=op.path) from exc


# ---- $dbNext, $dbPath ---------------------------------------------------------------------------


@register(OPERATORS, "$dbNext")
class DbNext(Operator):
    """``options`` or ``[options, ttl]``: the first document of a cursor read as the caller."""

    def setup(self, parser: Parser, raw: Any) -> None:
        items = raw if isinstance(raw, list) else [raw]
        first = items[0] if items else MISSING
        if isinstance(first, dict) and not _is_operator_key(first):
            check_literal_depth(first, join(self.path, 0))
            self.options: Any = first
        else:
            self.options = parser.expr(first, join(self.path, 0), self.depth + 1)
        self.ttl = parser.expr(items[1], join(self.path, 1), self.depth + 1) if len(items) > 1 else None

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        options = copy.deepcopy(self.options) if isinstance(self.options, dict) else self.options.evaluate(ctx)
        ttl = _int_ttl(self.ttl.evaluate(ctx)) if self.ttl is not None else None
        host = need_host(self, ctx)
        if not isinstance(options, dict) or not isinstance(options.get("object"), str):
            raise Fault("cortex.invalidArgument.object", reason="No object name.", path=join(self.path, "object"))
        options = host.read_options(plain(options))
        key = None
        if ttl is not None:
            layer = host.layer
            principal = getattr(layer, "principal", None)
            state = repr((getattr(principal, "_id", None), sorted(str(r) for r in getattr(principal, "roles", ()) or ()), host.safe))
            try:
                digest = hashlib.sha1(bson.encode({"o": options}) + state.encode()).hexdigest()
                key = f"{host.org_code}.{digest}"
            except Exception:  # noqa: BLE001 - not hashable: no caching
                key = None
            if key is not None:
                hit = DB_NEXT.get(key, ttl, host.now_ms(), bump=True)
                if hit is not MISSING:
                    return hit

        def read() -> Any:
            cursor = host.layer.iterate(options["object"], {**options, "limit": 1})
            try:
                return next(cursor, MISSING)
            finally:
                close = getattr(cursor, "close", None)
                if close is not None:
                    close()

        result = _guard(self, read)
        if key is not None and result is not MISSING:
            DB_NEXT.set(key, result, host.now_ms())
        return result


@register(OPERATORS, "$dbPath")
class DbPath(Operator):
    """``path`` or ``[path, ttl]``: ``object[.idOrKey[.property.path]]`` read with skipAcl, grant 8; never faults."""

    def setup(self, parser: Parser, raw: Any) -> None:
        items = raw if isinstance(raw, list) else [raw]
        self.target = parser.expr(items[0] if items else MISSING, join(self.path, 0), self.depth + 1)
        self.ttl = parser.expr(items[1], join(self.path, 1), self.depth + 1) if len(items) > 1 else None

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        path = self.target.evaluate(ctx)
        ttl = _int_ttl(self.ttl.evaluate(ctx)) if self.ttl is not None else None
        host = need_host(self, ctx)
        if not isinstance(path, str) or not path:
            return MISSING
        key = f"{host.org_code}.{path}"
        if ttl is not None:
            hit = DB_PATH.get(key, ttl, host.now_ms(), bump=True)
            if hit is not MISSING:
                return hit
        try:
            result = self._read(host, path)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - read errors are missing (spec: never faults)
            result = MISSING
        if ttl is not None and result is not MISSING:
            DB_PATH.set(key, result, host.now_ms())
        return result

    @staticmethod
    def _read(host: ExpressionHost, path: str) -> Any:
        from ...objects.instances import dig

        parts = [p for p in path.split(".") if p]
        layer = host.layer
        obj = layer.definitions.get(parts[0])
        if obj is None:
            return MISSING
        privileged = {"skipAcl": True, "grant": 8}
        if len(parts) == 1:
            return next(layer.iterate(obj.name, {**privileged, "limit": 1}), MISSING)
        ident, rest = parts[1], ".".join(parts[2:])
        unique = getattr(obj, "unique_key", None)
        if ObjectId.is_valid(ident) and len(ident) == 24:
            where: dict[str, Any] = {"_id": ObjectId(ident)}
        elif unique:
            where = {str(unique): ident}
        else:
            return MISSING
        doc = next(layer.iterate(obj.name, {**privileged, "where": where, "limit": 1}), None)
        if doc is None:
            return MISSING
        if not rest:
            return doc
        value = dig(doc, rest)
        if isinstance(value, dict) and value.get("object") == "list" and isinstance(value.get("data"), list):
            return value["data"][0] if value["data"] else MISSING
        return MISSING if value is None and not _has_path(doc, rest) else value


def _has_path(doc: Any, path: str) -> bool:
    for part in path.split("."):
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return False
    return True


# ---- $cache, $cached, $config, $env -----------------------------------------------------------------


def _cache_module(host: ExpressionHost) -> Any:
    from ...modules.cache import CacheModule

    if host.runtime is None:
        raise Fault("kNotImplemented", reason="The org cache is not available here.")
    return CacheModule(host.runtime)


def _undefined_to_missing(value: Any) -> Any:
    from ...sandbox.codec import Undefined

    return MISSING if isinstance(value, Undefined) else value


@register(OPERATORS, "$cache")
class Cache(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.key = self.single(parser, raw)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        key = string_form(self.key.evaluate(ctx))
        host = need_host(self, ctx)
        module = _cache_module(host)
        return _guard(self, lambda: _undefined_to_missing(module._get(host.org_id, [key])))


@register(OPERATORS, "$cached")
class Cached(Operator):
    """``{key, in, ttl, local = true, bump = false}``: memoises ``in`` (no ttl default)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)

        def part(name: str, literal: Callable[[Any], bool]) -> Any:
            value = raw.get(name, MISSING)
            if literal(value):
                return ("literal", value)
            return ("expr", parser.expr(value, join(self.path, name), self.depth + 1))

        self.key = part("key", lambda v: isinstance(v, str))
        self.ttl = part("ttl", lambda v: _int_ttl(v) is not None)
        self.local = part("local", lambda v: isinstance(v, bool) or v is MISSING)
        self.bump = part("bump", lambda v: isinstance(v, bool) or v is MISSING)
        self.body = parser.expr(raw.get("in", MISSING), join(self.path, "in"), self.depth + 1)

    @staticmethod
    def _value(part: Any, ctx: ExpressionContext) -> Any:
        kind, value = part
        return value if kind == "literal" else value.evaluate(ctx)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        from ..values import truthy

        self.enter(ctx)
        key = string_form(self._value(self.key, ctx))
        raw_ttl = self._value(self.ttl, ctx)
        local = self._value(self.local, ctx)
        bump = truthy(self._value(self.bump, ctx))
        local = True if local is MISSING else truthy(local)
        host = need_host(self, ctx)
        if local:
            ttl = _int_ttl(raw_ttl)
            full = f"{host.org_code}.{key}"
            hit = CACHED.get(full, ttl, host.now_ms(), bump=bump)
            if hit is not MISSING:
                return hit
            result = self.body.evaluate(ctx)
            if result is not MISSING:
                CACHED.set(full, result, host.now_ms())
            return result
        ttl = _int_ttl(raw_ttl)
        if ttl is None and isinstance(raw_ttl, str) and raw_ttl.strip().lstrip("-").isdigit():
            ttl = int(raw_ttl)  # "30" is integer-like
        module = _cache_module(host)
        name = f"operator$cached:{key}"
        stored = _guard(self, lambda: _undefined_to_missing(module._get(host.org_id, [name])))
        if stored is not MISSING:
            if bump and ttl is not None:
                self._write(module, host, name, stored, ttl)
            return stored
        result = self.body.evaluate(ctx)
        self._write(module, host, name, result, ttl)
        return result

    @staticmethod
    def _write(module: Any, host: ExpressionHost, name: str, value: Any, ttl: int | None) -> None:
        try:
            args = [name, plain(value)] + ([ttl] if ttl is not None else [])
            module._set(host.org_id, args)
        except Exception:  # noqa: BLE001 - spec: write errors are ignored
            pass


@register(OPERATORS, "$config")
class Config(Operator):
    def setup(self, parser: Parser, raw: Any) -> None:
        self.key = self.single(parser, raw)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        from ...modules.config import ConfigModule

        self.enter(ctx)
        key = self.key.evaluate(ctx)
        if not isinstance(key, str):
            return MISSING
        if key == "" or "" in key.split("."):
            raise Fault("cortex.invalidArgument.unspecified", reason="Blank field names are not allowed.", path=self.path)
        host = need_host(self, ctx)
        if host.runtime is None:
            raise Fault("kNotImplemented", reason="The org config is not available here.", path=self.path)
        module = ConfigModule(host.runtime)
        return _guard(self, lambda: _undefined_to_missing(module.get(host.org_id, key, {})))


@register(OPERATORS, "$env")
class Env(Operator):
    """The ``value`` of the org runtime's first ``envs`` entry named exactly so (``@env``)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.key = self.single(parser, raw)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        from ...org_runtime import org_runtime

        self.enter(ctx)
        name = self.key.evaluate(ctx)
        host = need_host(self, ctx)
        envs = _guard(self, lambda: org_runtime(host.store, host.org_id).get("envs") or [])
        for entry in envs:
            if entry.get("name") == name:
                return copy.deepcopy(entry.get("value", MISSING))
        return MISSING


# ---- $expression ----------------------------------------------------------------------------------


def enter_named(ctx: ExpressionContext, path: str) -> tuple[Any, list[dict[str, Any]], Any]:
    """A fresh scope for a named expression: the caller's variables are hidden, the context
    depth continues from the caller's (so recursion stops at MAX_DEPTH); ``$$NOW`` is its own."""
    if len(ctx.scopes) >= MAX_DEPTH:
        raise qf(f"Maximum expression depth ({MAX_DEPTH}) exceeded", path)
    saved = (ctx.root, ctx.scopes, ctx._now)
    ctx.scopes = [{} for _ in range(len(saved[1]) + 1)]
    ctx._now = None
    return saved


def leave_named(ctx: ExpressionContext, saved: tuple[Any, list[dict[str, Any]], Any]) -> None:
    ctx.root, ctx.scopes, ctx._now = saved


@register(OPERATORS, "$expression")
class ExpressionOp(Operator):
    """``"c_name"`` or ``{as, in}`` with ``in`` a name or an inline expression (§7.3)."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if is_custom_name(raw):
            raw = {"in": raw}
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        self._setup(parser, raw.get("as", MISSING), raw.get("in", MISSING))

    def _setup(self, parser: Parser, as_: Any, in_: Any) -> None:
        keep = as_ is MISSING or as_ == "$$ROOT"
        self.as_ = None if keep else parser.expr(wrap(as_), join(self.path, "as"), self.depth + 1)
        self.named = in_ if is_custom_name(in_) else None
        self.body = None if self.named else parser.expr(wrap(in_), join(self.path, "in"), self.depth + 1)

    @classmethod
    def shorthand(cls, parser: Parser, name: str, raw: Any, path: str, depth: int) -> ExpressionOp:
        """``{"$c_name": as}`` = ``{"$expression": {"as": as, "in": "c_name"}}``."""
        op = cls.__new__(cls)
        op.path, op.depth = path, depth
        op._setup(parser, raw, name)
        return op

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        root = self.as_.evaluate(ctx) if self.as_ is not None else ctx.root
        if self.named is None:
            assert self.body is not None
            if self.as_ is None:
                return self.body.evaluate(ctx)
            saved_root = ctx.root
            ctx.push(self.path)
            ctx.root = root
            try:
                return self.body.evaluate(ctx)
            finally:
                ctx.pop()
                ctx.root = saved_root
        expression = named_value(ctx.host, "expression", self.named)
        saved = enter_named(ctx, self.path)
        ctx.root = root
        try:
            return expression.runner()(ctx)
        finally:
            leave_named(ctx, saved)


# ---- $pathTo (operator spec j-z) ---------------------------------------------------------------------

_LEAF_TYPES = (str, int, float, bool, datetime, ObjectId, bytes)


def _segments(path: Any) -> list[str] | None:
    if isinstance(path, str):
        return [s for s in path.split(".") if s] if path else []
    if isinstance(path, list):
        return [string_form(s) for s in path]
    return None


@register(OPERATORS, "$pathTo")
class PathTo(Operator):
    """``[document, path]`` reads own properties; ``[document, path, value]`` writes in place."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.args = self.array(parser, raw, between=(2, 3))

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        values = [arg.evaluate(ctx) for arg in self.args]
        doc, parts = values[0], _segments(values[1])
        if doc is None or doc is MISSING or parts is None:
            return MISSING
        if len(values) == 2:
            return self._read(doc, parts)
        return self._write(doc, parts, values[2])

    @staticmethod
    def _read(doc: Any, parts: list[str]) -> Any:
        import re

        value = doc
        for part in parts:
            if value is None:
                return None
            if isinstance(value, dict):
                value = value.get(part, MISSING)
            elif isinstance(value, list):
                value = value[int(part)] if part.isdigit() and int(part) < len(value) and (part == "0" or not part.startswith("0")) else MISSING
            elif isinstance(value, str) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, str) and part == "length":
                value = len(value)
            else:
                return MISSING
            if value is MISSING:
                return MISSING
        if value is None or isinstance(value, (dict, list, re.Pattern) + _LEAF_TYPES):
            return value
        return MISSING

    def _write(self, doc: Any, parts: list[str], value: Any) -> Any:
        if not parts:
            return MISSING
        if not isinstance(doc, (dict, list)):
            raise Fault("kError", reason=f"Cannot create property '{parts[0]}' on {type(doc).__name__} '{string_form(doc)}'", path=self.path)
        target = doc
        for part in parts[:-1]:
            nxt = _get(target, part)
            if nxt is None or nxt is MISSING:
                nxt = {}
                if not _put(target, part, nxt):
                    return MISSING
            elif not isinstance(nxt, (dict, list)):
                return MISSING
            target = nxt
        if not _put(target, parts[-1], value):
            return MISSING
        return doc


def _get(target: Any, part: str) -> Any:
    if isinstance(target, dict):
        return target.get(part, MISSING)
    if isinstance(target, list) and part.isdigit() and int(part) < len(target):
        return target[int(part)]
    return MISSING


def _put(target: Any, part: str, value: Any) -> bool:
    if isinstance(target, dict):
        if value is MISSING:
            target.pop(part, None)
        else:
            target[part] = value
        return True
    if isinstance(target, list) and part.isdigit() and int(part) < 10_000:
        index = int(part)
        while len(target) <= index:
            target.append(MISSING)
        target[index] = value
        return True
    return False

