"""REST access to instances (rest-api-auth.md §2.4, objects-acl-query.md §7-§10).

``GET /{objects}`` lists (list envelope, limit 1..1000, default 100), ``GET /{objects}/{id}``
reads one, ``GET /{objects}/{id}/{path}`` reads a property path, ``POST /{objects}`` creates,
``PUT`` updates (arrays replace), ``PATCH`` applies patch operations, ``DELETE`` deletes.
Query arguments arrive as text and are decoded here; the object layer enforces access.
A token caller also needs the scope ``object.<read|create|update|delete>.<object>``.

Standard objects with endpoints of their own (§6.2-§6.4) are handed on first: ``/accounts/me``
and the account actions (rest_accounts.py), ``/connections`` and ``POST /{objects}/{id}/connections``
(rest_connections.py), notification clearing (rest_notifications.py), which answers a count.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from ..faults import Fault
from ..modules.objects import ObjectsRun, run_command
from .rest_accounts import ME, account_action, me_id
from .rest_connections import connections_endpoint, create_connections
from .rest_notifications import clear_notifications
from .tokens import in_scope

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import Call

__all__ = ["db_driver", "org_root", "rest"]

JSON_ARGUMENTS = ("where", "sort", "pipeline", "group", "map")
LIST_ARGUMENTS = ("paths", "include", "expand")


def _query_options(query: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in JSON_ARGUMENTS:
        value = query.get(key)
        if value is None:
            continue
        if isinstance(value, str) and value[:1] in "{[":
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise Fault("cortex.invalidArgument.query", reason=f"Invalid {key} JSON format.", path=key) from exc
        options[key] = value
    for key in ("limit", "skip"):
        value = query.get(key)
        if value is None:
            continue
        try:
            options[key] = int(value)
        except (TypeError, ValueError) as exc:
            raise Fault("cortex.invalidArgument.query", reason=f"{key} must be an integer.", path=key) from exc
    for key in LIST_ARGUMENTS:
        value = query.get(key)
        if value is not None:
            options[key] = value if isinstance(value, list) else [value]
    return options


def _id(value: str) -> ObjectId:
    try:
        return ObjectId(value)
    except Exception as exc:
        raise Fault("cortex.invalidArgument.invalidObjectId", path=value) from exc


def _scope(call: Call, operation: str, object_name: str) -> None:
    if not in_scope(call.principal.scope, f"object.{operation}.{object_name}"):
        raise Fault("cortex.accessDenied.scope", path=f"object.{operation}.{object_name}")


def org_root(runtime: Runtime, call: Call) -> Any:
    """``GET /{org}/v2``: the public view of the org."""
    return {"_id": call.org._id, "object": "org", "code": call.org.code, "name": call.org.name}


def rest(runtime: Runtime, call: Call) -> Any:
    """Serve one REST request on instances; the path is ``/{objects}[/{id}[/{path}]]``."""
    parts = [p for p in call.path.split("/") if p]
    if len(parts) == 3 and parts[1] == "db" and call.method == "POST":
        return db_driver(runtime, call, parts[0], parts[2])
    layer = runtime.layer(call.org, call.principal)
    obj = layer.definitions.require(parts[0])
    method = call.method
    options = _query_options(call.query)
    if obj.name == "account":
        served, result = account_action(runtime, call, parts)
        if served:
            return result
        if len(parts) > 1 and parts[1] == ME:
            parts = [parts[0], me_id(call), *parts[2:]]
    if obj.name == "connection":
        return connections_endpoint(runtime, call, parts, options)
    if obj.name == "notification" and method == "DELETE" and len(parts) > 1:
        # rest-api-auth.md §6.4: clearing answers the number cleared, where other deletes answer true.
        _scope(call, "delete", obj.name)
        return clear_notifications(runtime, call, parts)
    if len(parts) == 3 and parts[2] == "connections" and method == "POST":
        return create_connections(runtime, call, parts[0], parts[1])
    if len(parts) == 1:
        if method == "GET":
            _scope(call, "read", obj.name)
            limit = options.pop("limit", 100)
            return layer.list(obj.name, {**options, "limit": limit}, kind="rest")
        if method == "POST":
            _scope(call, "create", obj.name)
            return layer.insert_one(obj.name, call.body if call.body is not None else {}, {**options, "lean": False})
        raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {method} /{parts[0]}.", path=call.path)
    instance = {"_id": _id(parts[1])}
    path = ".".join(parts[2:])
    if method == "GET":
        _scope(call, "read", obj.name)
        return layer.read_one(obj.name, {**options, "where": instance, "path": path or None})
    if method == "PUT":
        _scope(call, "update", obj.name)
        body = call.body if path == "" else {path: call.body}
        if not isinstance(body, dict):
            raise Fault("cortex.invalidArgument.unspecified", reason="PUT expects an object of properties.")
        updated = layer.update_one(obj.name, instance, {"$set": body}, {**options, "lean": False})
        return updated if not path else layer.read_one(obj.name, {"where": instance, "path": path})
    if method == "POST":
        _scope(call, "update", obj.name)
        body = call.body if path == "" else {path: call.body}
        if not isinstance(body, dict):
            raise Fault("cortex.invalidArgument.unspecified", reason="POST to an instance expects an object of arrays to append.")
        return layer.update_one(obj.name, instance, {"$push": body}, {**options, "lean": False})
    if method == "PATCH":
        _scope(call, "update", obj.name)
        ops = call.body if isinstance(call.body, list) else [call.body]
        return layer.patch_one(obj.name, instance, ops, {**options, "lean": False})
    if method == "DELETE":
        if path:
            _scope(call, "update", obj.name)
            parent, _, last = path.rpartition(".")
            update = {"$remove": {parent: [last]}} if parent else {"$unset": {path: 1}}
            layer.update_one(obj.name, instance, update, {})
            return True
        _scope(call, "delete", obj.name)
        return layer.delete_one(obj.name, instance, {})
    raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {method} {call.path}.", path=call.path)


def db_driver(runtime: Runtime, call: Call, object_name: str, operation: str) -> Any:
    """``POST /{object}/db/{operation}`` (rest-api-auth.md §8): the driver's options as the
    script API's, ``null`` meaning "default" and ``limit: false`` meaning no limit."""
    body = call.body if isinstance(call.body, dict) else {}
    options = {k: v for k, v in body.items() if v is not None}
    if options.get("limit") is False:
        options.pop("limit")
    if "maxTimeMs" in options and "maxTimeMS" not in options:
        options["maxTimeMS"] = options.pop("maxTimeMs")
    layer = runtime.layer(call.org, call.principal)
    if operation == "bulk":
        options["operation"] = "bulk"
        if object_name != "org":
            options.setdefault("object", object_name)
    else:
        options["object"] = layer.definitions.require(object_name).name
        options["operation"] = "count" if operation == "count" else operation
    scope_operation = {"cursor": "read", "count": "read", "readOne": "read", "insertOne": "create", "insertMany": "create", "deleteOne": "delete", "deleteMany": "delete"}.get(operation, "update")
    if operation != "bulk":
        _scope(call, scope_operation, options["object"])
    state = ObjectsRun(layer)
    if operation == "cursor":
        rows = list(layer.iterate(options["object"], options)) if call.accept_ndjson else None
        if rows is not None:
            return rows
        return layer.list(options["object"], {**options, "limit": options.get("limit", 100)})
    if operation == "count":
        return layer.count(options["object"], options)
    if operation not in ("readOne", "insertOne", "insertMany", "updateOne", "updateMany", "patchOne", "patchMany", "deleteOne", "deleteMany", "bulk"):
        raise Fault("kNotImplemented", reason=f"The driver operation {operation} is not supported.", path=operation)
    return run_command(state, "execute", [options])
