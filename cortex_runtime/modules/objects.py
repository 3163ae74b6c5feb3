"""The host side of ``org.objects``, CortexObject, cursors and operations (js_prelude/70_objects.js).

Host calls (each with its arguments as an array):

- ``objects.resolve [name]`` -> ``{name}`` (canonical singular name) or None.
- ``objects.cursor.open [options]`` -> ``{cursor, buffer, done}``: the first batch of at most
  ``batchSize`` (1..100) documents; ``cursor`` is None once nothing is left.
- ``objects.cursor.fetch [cursorId, count]`` -> ``{buffer, done}``; ``objects.cursor.close [cursorId]``.
- ``objects.cursor.list [options]`` -> ``{object: 'list', data, hasMore}`` (limit default 10).
- ``objects.cursor.count [options]`` -> Number; ``objects.cursor.pathRead [options, path, {throwNotFound}]``.
- ``objects.provision [payload, options]`` -> the new account (``org.objects.accounts.provision``).
- ``objects.execute [options]`` -> the result of ``options.operation`` (insertOne, insertMany,
  updateOne, updateMany, patchOne, patchMany, deleteOne, deleteMany, readOne, count, setOwner).

Cursors read the store lazily: a batch is taken from a generator over the store's cursor,
so opening a cursor on 100,000 matches reads one batch, not the whole result.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..objects.instances import ObjectLayer, dig
from ..objects.store import map_store_errors
from ..objects.updates import patch_to_update
from ..org_runtime import org_runtime
from ..sandbox import RunInfo
from .as_scope import ScopeGuard
from .expressions import cursor_pipeline

__all__ = ["ObjectsModule", "ObjectsRun", "run_command"]

MAX_OPEN_CURSORS = 10
MAX_BATCH = 100


@dataclass
class ObjectsRun:
    """Per-run state of the objects module: the caller's object layer and its open cursors.

    ``script.as`` pushes another principal's layer; while it runs in safe mode (the
    default) the privileged options ``skipAcl``, ``grant``, ``roles`` and
    ``bypassCreateAcl`` are ignored.
    """

    layer: ObjectLayer
    cursors: dict[str, _Cursor] = field(default_factory=dict)
    documents_sent: int = 0
    safe: bool = False
    stack: list[tuple[Any, ...]] = field(default_factory=list)
    bound_objects: dict[str, str] | None = None
    # script.as restrictions (fidelity.md §8): option names removed from every call, the
    # module rules of every level of the stack, and option floors from options.principal
    # (with ``scope``: its compiled scope tree, checked by ScopeGuard).
    acl_blacklist: frozenset[str] = frozenset()
    module_rules: tuple[Any, ...] = ()
    forced: dict[str, Any] = field(default_factory=dict)
    # The run of the current host call: a cursor's expressionPipeline reads its request and deadline.
    run: RunInfo | None = None

    def push(
        self, layer: ObjectLayer, safe: bool, acl_blacklist: frozenset[str] = frozenset(), module_rules: Any = None, forced: dict[str, Any] | None = None
    ) -> None:
        self.stack.append((self.layer, self.safe, self.acl_blacklist, self.module_rules, self.forced))
        self.layer, self.safe = layer, self.safe or safe
        self.acl_blacklist = self.acl_blacklist | acl_blacklist
        if module_rules is not None:
            self.module_rules = (*self.module_rules, module_rules)
        self.forced = {**self.forced, **(forced or {})}

    def pop(self) -> None:
        if self.stack:
            self.layer, self.safe, self.acl_blacklist, self.module_rules, self.forced = self.stack.pop()


def _batch_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MAX_BATCH
    return max(1, min(int(value), MAX_BATCH))


class ObjectsModule:
    """Dispatches ``objects.*`` host calls to the run's ObjectLayer."""

    prefix = "objects."

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        state = getattr(run.context, "objects", None)
        if not isinstance(state, ObjectsRun):
            raise Fault("kNotImplemented", reason="This run has no object layer.")
        handler = _COMMANDS.get(name[len(self.prefix) :])
        if handler is None:
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        state.run = run
        return handler(state, args)


def _options(args: list[Any], index: int = 0) -> dict[str, Any]:
    value = args[index] if len(args) > index else None
    if not isinstance(value, dict):
        raise Fault("cortex.invalidArgument.unspecified", reason="options must be an object.")
    if not isinstance(value.get("object"), str) and value.get("operation") != "bulk":
        raise Fault("cortex.invalidArgument.object", reason="No object name.", path="object")
    return value


_PRIVILEGED = ("skipAcl", "grant", "roles", "bypassCreateAcl")


def _checked(state: ObjectsRun, options: dict[str, Any]) -> dict[str, Any]:
    if state.safe:
        options = {k: v for k, v in options.items() if k not in _PRIVILEGED}
    if state.acl_blacklist:
        options = {k: v for k, v in options.items() if k not in state.acl_blacklist}
    if state.forced:
        options = dict(options)
        grant = options.get("grant")
        if "grant" in state.forced:
            options["grant"] = max(grant if isinstance(grant, int) and not isinstance(grant, bool) else 0, state.forced["grant"])
        for key in ("skipAcl", "bypassCreateAcl"):
            if state.forced.get(key):
                options[key] = True
    return options


def _guard(state: ObjectsRun, options: dict[str, Any]) -> ScopeGuard | None:
    """The scope checks of a ``script.as`` with ``options.principal.scope`` (fidelity.md §8)."""
    tree = state.forced.get("scope")
    if tree is None or options.get("operation") == "bulk":
        return None
    found = state.layer.definitions.get(str(options.get("object")))
    return ScopeGuard(tree, found.name if found is not None else str(options.get("object")))


def _matched(state: ObjectsRun, name: str, options: dict[str, Any], many: bool) -> list[dict[str, Any]]:
    """The instances a scoped write would touch (read with the operation's own access options)."""
    match = options.get("match")
    where = match if isinstance(match, dict) else {"_id": match}
    access = {k: options[k] for k in ("grant", "roles", "skipAcl") if k in options}
    return list(islice(state.layer.iterate(name, {**access, "where": where}), None if many else 1))


def _bound_objects(state: ObjectsRun) -> dict[str, str]:
    """Object name -> export of the library whose ``@object`` class binds it (the heaviest
    binding wins); read once per run, when the first object name is resolved."""
    if state.bound_objects is None:
        bindings: dict[str, tuple[float, str]] = {}
        with map_store_errors():
            libraries = state.layer.store.contexts.find(
                {"org": state.layer.org_id, "object": "script", "type": "library", "active": True, "runtime.type": "object"},
                {"configuration.export": 1, "runtime": 1},
            )
            for library in libraries:
                export = str((library.get("configuration") or {}).get("export"))
                for entry in library.get("runtime") or []:
                    weight = float(entry.get("weight") or 0)
                    name = str(entry.get("name"))
                    if entry.get("type") == "object" and (name not in bindings or weight > bindings[name][0]):
                        bindings[name] = (weight, export)
        state.bound_objects = {name: export for name, (_, export) in bindings.items()}
    return state.bound_objects


def _resolve(state: ObjectsRun, args: list[Any]) -> Any:
    name = args[0] if args else None
    found = state.layer.definitions.get(name) if isinstance(name, str) else None
    if found is None:
        return None
    out: dict[str, Any] = {"name": found.name}
    library = _bound_objects(state).get(found.name)
    if library is not None:
        out["library"] = library
    return out


class _Cursor:
    """A lazy result with one document of look-ahead, so a batch knows whether more follow."""

    def __init__(self, iterator: Iterator[dict[str, Any]]) -> None:
        self._iterator = iterator
        self._pending: list[dict[str, Any]] = []

    def take(self, count: int) -> tuple[list[dict[str, Any]], bool]:
        items = self._pending + list(islice(self._iterator, count + 1 - len(self._pending)))
        self._pending = items[count:]
        return items[:count], not self._pending


def _open(state: ObjectsRun, args: list[Any]) -> Any:
    options = _checked(state, _options(args))
    if len(state.cursors) >= MAX_OPEN_CURSORS:
        raise Fault("script.error.unspecified", reason="too many open cursors.")
    guard = _guard(state, options)
    if options.get("operation") == "bulk":
        cursor = _Cursor(_bulk(state, options))
    else:
        if guard is not None:
            guard.check_list(options)
        items = state.layer.iterate(options["object"], options)
        if guard is not None and not options.get("pipeline"):
            items = guard.filtered(items)
        cursor = _Cursor(cursor_pipeline(state, options, items, state.run))
    buffer, done = cursor.take(_batch_size(options.get("batchSize")))
    state.documents_sent += len(buffer)
    if done:
        return {"cursor": None, "buffer": buffer, "done": True}
    cursor_id = str(ObjectId())
    state.cursors[cursor_id] = cursor
    return {"cursor": cursor_id, "buffer": buffer, "done": False}


def _fetch(state: ObjectsRun, args: list[Any]) -> Any:
    cursor_id = str(args[0]) if args else ""
    cursor = state.cursors.get(cursor_id)
    if cursor is None:
        return {"buffer": [], "done": True}
    buffer, done = cursor.take(_batch_size(args[1] if len(args) > 1 else None))
    state.documents_sent += len(buffer)
    if done:
        state.cursors.pop(cursor_id, None)
    return {"buffer": buffer, "done": done}


def _close(state: ObjectsRun, args: list[Any]) -> None:
    if args:
        state.cursors.pop(str(args[0]), None)


def _list(state: ObjectsRun, args: list[Any]) -> Any:
    options = _checked(state, _options(args))
    guard = _guard(state, options)
    if guard is not None:
        guard.check_list(options)
        result = state.layer.list(options["object"], options)
        return {**result, "data": list(guard.filtered(result.get("data") or []))}
    return state.layer.list(options["object"], options)


def _count(state: ObjectsRun, args: list[Any]) -> int:
    options = _checked(state, _options(args))
    guard = _guard(state, options)
    if guard is not None:
        guard.check_list(options)
    return state.layer.count(options["object"], options)


def _path_read(state: ObjectsRun, args: list[Any]) -> Any:
    options = _checked(state, _options(args))
    path = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 and isinstance(args[2], dict) else {}
    guard = _guard(state, options)
    if guard is not None:
        guard.check_list(options)
    first = next(state.layer.iterate(options["object"], {**options, "limit": 1}), None)
    if first is None:
        if flags.get("throwNotFound", True) is False:
            return None
        raise Fault("cortex.notFound.instance", reason=f"{options['object']} not found.", path=options["object"])
    if guard is not None:
        first = guard.instance(first, path)
    return dig(first, path) if path else first


def _bulk(state: ObjectsRun, options: dict[str, Any]) -> Iterator[Any]:
    """Results of a BulkOperation's operations, in order (cursors-operations.md §13):
    ``{_id, object: 'operationResult', timestamp, path: '<name>[<op>][<item>]', data}``, or the
    raw data with ``wrap: false``, nothing with ``output: false``; a failure is a fault in the
    stream and, unless ``halt: false``, the last item."""
    ops = options.get("ops")
    if not isinstance(ops, list):
        raise Fault("cortex.invalidArgument.unspecified", reason="A bulk operation needs ops.", path="ops")
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise Fault("cortex.invalidArgument.unspecified", reason=f"Bulk op {index} is not an object.", path=f"ops.{index}")
        if op.get("as") is not None:
            raise Fault("kNotImplemented", reason="Bulk 'as' is not supported yet.", path=f"ops.{index}.as")
        label = op.get("name") or op.get("operation")
        body = {k: v for k, v in op.items() if k not in ("name", "halt", "wrap", "output", "as")}
        if not isinstance(body.get("object"), str):
            body["object"] = options.get("object")
        try:
            if body.get("operation") in ("cursor", "aggregate"):
                checked = _checked(state, body)
                guard = _guard(state, checked)
                if guard is not None:
                    guard.check_list(checked)
                items = state.layer.iterate(str(body["object"]), checked)
                results = list(guard.filtered(items) if guard is not None and not checked.get("pipeline") else items)
            else:
                data = _execute(state, [body])
                results = [1 if body.get("operation") == "deleteOne" and data is True else data]
        except Fault as fault:
            yield {**fault.to_json(), "path": f"{label}[{index}]", "index": index}
            if op.get("halt", True) is not False:
                return
            continue
        if op.get("output") is False:
            continue
        for item_index, data in enumerate(results):
            if op.get("wrap") is False:
                yield data
            else:
                yield {
                    "_id": ObjectId(),
                    "object": "operationResult",
                    "timestamp": int(time.time() * 1000),
                    "path": f"{label}[{index}][{item_index}]",
                    "data": data,
                }


def _execute(state: ObjectsRun, args: list[Any]) -> Any:
    options = _checked(state, _options(args))
    if options.get("operation") == "bulk":
        return list(_bulk(state, options))
    layer, name, operation = state.layer, options["object"], options.get("operation")
    guard = _guard(state, options)
    if guard is not None:
        _check_scoped(state, guard, name, operation, options)
        if operation == "readOne":
            found = layer.read_one(name, {**options, "where": options.get("where"), "path": None})
            path = options.get("path")
            found = guard.instance(found, path)
            return dig(found, path) if path else found
    if operation == "insertOne":
        return layer.insert_one(name, options.get("document"), options)
    if operation == "insertMany":
        return layer.insert_many(name, options.get("documents") or [], options)
    if operation == "updateOne":
        return layer.update_one(name, options.get("match"), options.get("update"), options)
    if operation == "updateMany":
        return layer.update_many(name, options.get("match"), options.get("update"), options)
    if operation == "patchOne":
        return layer.patch_one(name, options.get("match"), options.get("ops"), options)
    if operation == "patchMany":
        return layer.patch_many(name, options.get("match"), options.get("ops"), options)
    if operation == "deleteOne":
        return layer.delete_one(name, options.get("match"), options)
    if operation == "deleteMany":
        return layer.delete_many(name, options.get("match"), options)
    if operation == "readOne":
        found = layer.definitions.get(name)
        if found is not None and found.name == "org" and str(options.get("path") or "").strip("/.") == "runtime":
            return org_runtime(layer.store, layer.org_id)
        return layer.read_one(name, {**options, "where": options.get("where")})
    if operation == "count":
        return layer.count(name, options)
    if operation == "setOwner":
        if guard is not None:
            guard.check_update([options.get("_id")], {"$set": {"owner": options.get("to")}})
        return layer.set_owner(name, options.get("_id"), options.get("to"))
    if operation in _PATH_WRITES:
        return _path_write(layer, name, operation, options)
    raise Fault("cortex.invalidArgument.unspecified", reason=f"Unsupported operation {operation}.", path="operation")


_PATH_WRITES = ("pathUpdate", "pathPush", "pathPatch", "pathDelete")


def _check_scoped(state: ObjectsRun, guard: ScopeGuard, name: str, operation: Any, options: dict[str, Any]) -> None:
    """A scoped operation's checks before it runs (fidelity.md §8)."""
    if operation in ("readOne", "count"):
        guard.check_list(options)
    elif operation == "insertOne":
        guard.check_create([options.get("document")])
    elif operation == "insertMany":
        guard.check_create(options.get("documents") or [])
    elif operation in ("deleteOne", "deleteMany") or (operation == "pathDelete" and not str(options.get("path") or "").strip("/.")):
        guard.check_delete(_matched(state, name, options, operation == "deleteMany"))
    elif operation in ("updateOne", "updateMany", "patchOne", "patchMany", *_PATH_WRITES):
        many = operation in ("updateMany", "patchMany")
        if operation in _PATH_WRITES:
            update: Any = {"$set": {str(options.get("path") or "").replace("/", ".").strip("."): None}}
        else:
            update = options.get("update") if operation.startswith("update") else options.get("ops")
        guard.check_update([doc.get("_id") for doc in _matched(state, name, options, many)], update)
_HEX = re.compile(r"^[0-9a-fA-F]{24}$")


def _path_write(layer: Any, name: str, operation: str, options: dict[str, Any]) -> Any:
    """``pathUpdate``/``pathPush``/``pathPatch``/``pathDelete``: a write at one path of the match."""
    path = str(options.get("path") or "").replace("/", ".").strip(".")
    body = options.get("body")
    if operation == "pathDelete":
        if not path:
            return layer.delete_one(name, options.get("match"), options)
        parent, _, last = path.rpartition(".")
        update = {"$remove": {parent: [last]}} if parent and _HEX.match(last) else {"$unset": {path: 1}}
    elif operation == "pathPush":
        update = {"$push": {path: body}} if path else {"$push": body}
    elif operation == "pathPatch":
        ops = body if isinstance(body, list) else [body]
        update = patch_to_update([{**op, "path": f"{path}.{op['path']}" if path and op.get("path") else op.get("path") or path or None} for op in ops if isinstance(op, dict)])
    else:
        update = {"$set": {path: body}} if path else {"$set": body}
    result = layer.update_one(name, options.get("match"), update, {**options, "lean": False})
    if operation == "pathDelete" or not path:
        return True if operation == "pathDelete" else result
    try:
        return dig(result, path)
    except Fault:
        return None


def _provision(state: ObjectsRun, args: list[Any]) -> Any:
    payload = args[0] if args else None
    options = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
    guard = _guard(state, {"object": "account"})
    if guard is not None:
        guard.check_create([payload])
    return state.layer.provision(payload, options)


def run_command(state: ObjectsRun, command: str, args: list[Any]) -> Any:
    """Run one ``objects.<command>`` outside a script (the REST db driver)."""
    return _COMMANDS[command](state, args)


_COMMANDS = {
    "provision": _provision,
    "resolve": _resolve,
    "cursor.open": _open,
    "cursor.fetch": _fetch,
    "cursor.close": _close,
    "cursor.list": _list,
    "cursor.count": _count,
    "cursor.pathRead": _path_read,
    "execute": _execute,
}
