"""Custom object data (data/<plural>/<key>.json): instances keyed by their object's
``uniqueKey`` property (§3.3, §4.14), created or updated through the object layer.

The import acts with skipAcl and the Script grant, as the platform's import does; the
instances are owned by the importing principal (``owner`` in a file is not applied yet).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...objects.definitions import Definitions
from ...objects.store import map_store_errors
from ..resources import Resource
from .base import EnvContext, ImportContext, Kind, Undo

__all__ = ["InstanceKind", "unique_key_of"]

_OPTIONS = {"skipAcl": True, "grant": 8, "bypassCreateAcl": True}
_DROPPED = ("object", "resource", "//", "_id", "owner", "creator", "created", "updated", "updater", "org", "acl")


def unique_key_of(ctx: EnvContext, object_name: str, cached: dict[str, Any] | None = None) -> str | None:
    """The ``uniqueKey`` property of an object, from its document in the import or the org."""
    doc = cached
    if doc is None:
        found = Definitions(ctx.store, ctx.org._id).get(object_name)
        doc = found.document if found is not None else None
    key = (doc or {}).get("uniqueKey")
    return key if isinstance(key, str) and key else None


class InstanceKind(Kind):
    object = "*data"
    group = "instances"

    def _existing(self, ctx: EnvContext, resource: Resource) -> dict[str, Any] | None:
        key = unique_key_of(ctx, resource.kind)
        if key is None:
            return None
        with map_store_errors():
            found: dict[str, Any] | None = ctx.store.contexts.find_one({"org": ctx.org._id, "object": resource.kind, key: resource.doc.get(key)})
        return found

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        ctx.resolve_object(resource.kind, "object")

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        layer = ctx.layer()
        body = {k: v for k, v in resource.doc.items() if k not in _DROPPED}
        existing = self._existing(ctx, resource)
        if existing is None:
            created = layer.insert_one(resource.kind, body, _OPTIONS)
            return lambda: ctx.layer().delete_one(resource.kind, {"_id": created}, _OPTIONS)
        layer.update_one(resource.kind, {"_id": existing["_id"]}, {"$set": body}, _OPTIONS)

        def undo() -> None:
            with map_store_errors():
                ctx.store.contexts.replace_one({"_id": existing["_id"]}, existing)

        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        return iter(())  # custom data is exported only when a manifest names its object (not yet)
