"""Clearing notifications over REST (rest-api-auth.md §6.4).

``DELETE /notifications/{id}`` answers the number of notifications cleared (``1``), not the
``true`` of other instance deletes (§6.4, acceptance fact 48). ``DELETE
/notifications/{objects}/{contextId}[?type=typeId]`` clears the caller's notifications about one
context (of one type when ``type`` is given) and answers how many went, ``0`` included: clearing
nothing is not a fault (inferred). Listing and reading stay the generic instance endpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bson import ObjectId

from ..faults import Fault
from ..objects.store import map_store_errors

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import Call

__all__ = ["clear_notifications"]


def _oid(value: Any, path: str) -> ObjectId:
    try:
        return ObjectId(str(value))
    except Exception as exc:
        raise Fault("cortex.invalidArgument.invalidObjectId", path=path) from exc


def clear_notifications(runtime: Runtime, call: Call, parts: list[str]) -> int:
    """``DELETE /notifications/{id}`` or ``/notifications/{objects}/{contextId}``: the count cleared."""
    layer = runtime.layer(call.org, call.principal)
    if len(parts) == 2:
        layer.delete_one("notification", {"_id": _oid(parts[1], parts[1])}, {})
        return 1
    if len(parts) != 3:
        raise Fault("cortex.notFound.unspecified", reason=f"No endpoint DELETE {call.path}.", path=call.path)
    context = layer.definitions.require(parts[1])
    query: dict[str, Any] = {
        "org": call.org._id,
        "object": "notification",
        # A notification belongs to its recipient, the only one who may clear it.
        "account._id": call.principal._id,
        "context._id": _oid(parts[2], parts[2]),
        "context.object": {"$in": [context.name, context.plural_name]},
    }
    if call.query.get("type") is not None:
        query["type"] = _oid(call.query["type"], "type")
    with map_store_errors():
        return int(layer.store.contexts.delete_many(query).deleted_count)
