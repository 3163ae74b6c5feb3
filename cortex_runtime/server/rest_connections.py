"""Connection endpoints (rest-api-auth.md §6.3), served by ``require('connections')``'s own code.

| Method/path | Module call | Response |
|---|---|---|
| ``GET /connections`` | ``list`` | list envelope (``hasMore`` when another page exists) |
| ``GET /connections/{id or token}[/{path}]`` | ``read`` | the connection, or the value at ``path`` |
| ``POST /connections/{token}`` | ``apply`` | the connection, ``state: 1`` |
| ``DELETE /connections/{id or token}`` | ``delete`` | ``true`` (reject or remove) |
| ``POST /{objects}/{id}/connections`` | ``create`` | list of the connections made |

A 24-hex segment is an id, anything else a token (§6.3). The caller's ACL is the module's:
by token only the target reads or applies, by id the target or the creator. Request options
never include ``skipAcl``. Choices where the spec is silent:
- list arguments: ``paths``, ``where``, ``sort``, ``skip``, ``limit`` (1-1000, default 100) and
  ``show`` (``creator`` / ``target``), as the module takes them; ``expand[]=context`` on a read.
- the create body is ``{targets: [...]}`` or the targets array itself; ``skipNotification`` and
  ``forceAuto`` in the body are passed on (the object's connection options still apply).
- token callers need ``object.read.connection`` to list and read, ``object.update.connection``
  to apply, ``object.delete.connection`` to reject or remove and ``object.create.connection``
  to create.
- invitations reach the notifications outbox only (no Notification instance is persisted for
  them), so reading by token has no invitation notification to clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..faults import Fault
from ..modules.connections import ConnectionsModule
from .rest_runs import request_run
from .tokens import in_scope

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import Call

__all__ = ["connections_endpoint", "create_connections"]

_LIST_OPTIONS = ("paths", "include", "expand", "where", "sort", "skip", "limit")


def _scope(call: Call, operation: str) -> None:
    if not in_scope(call.principal.scope, f"object.{operation}.connection"):
        raise Fault("cortex.accessDenied.scope", path=f"object.{operation}.connection")


def connections_endpoint(runtime: Runtime, call: Call, parts: list[str], options: dict[str, Any]) -> Any:
    """``/connections[/{tokenOrId}[/{path}]]``; ``options`` are the decoded query arguments."""
    module = ConnectionsModule(runtime)
    run = request_run(runtime, call)
    method = call.method
    if len(parts) == 1:
        if method != "GET":
            raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {method} /connections.", path=call.path)
        _scope(call, "read")
        return _list(module, run, call, options)
    token_or_id = "/".join(parts[1:])
    if method == "GET":
        _scope(call, "read")
        return module.read(run, token_or_id, {k: options[k] for k in ("paths", "include", "expand") if k in options})
    if len(parts) > 2:
        raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {method} {call.path}.", path=call.path)
    if method == "POST":
        _scope(call, "update")
        return module.apply(run, parts[1], {})
    if method == "DELETE":
        _scope(call, "delete")
        return module.delete(run, parts[1], {})
    raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {method} {call.path}.", path=call.path)


def _list(module: ConnectionsModule, run: Any, call: Call, options: dict[str, Any]) -> dict[str, Any]:
    wanted = {k: options[k] for k in _LIST_OPTIONS if k in options}
    show = call.query.get("show")
    if show is not None:
        if show not in ("creator", "target"):
            raise Fault("cortex.invalidArgument.unspecified", reason="show is 'creator' or 'target'.", path="show")
        wanted["show"] = show
    page = module.list(run, wanted)
    limit = wanted.get("limit", 100)
    has_more = False
    if len(page) == limit:
        # One more row after this page means there is another.
        has_more = bool(module.list(run, {**wanted, "skip": int(wanted.get("skip") or 0) + len(page), "limit": 1, "paths": ["_id"]}))
    return {"object": "list", "data": page, "hasMore": has_more}


def create_connections(runtime: Runtime, call: Call, objects: str, instance_id: str) -> list[dict[str, Any]]:
    """``POST /{objects}/{id}/connections``: invite (or connect) the body's targets."""
    _scope(call, "create")
    body = call.body
    targets = body.get("targets") if isinstance(body, dict) else body
    options = {k: body[k] for k in ("skipNotification", "forceAuto") if isinstance(body, dict) and k in body}
    module = ConnectionsModule(runtime)
    return module.create(request_run(runtime, call), objects, instance_id, targets, options)
