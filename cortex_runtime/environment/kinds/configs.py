"""``config`` (env/configs/<name>.json): a key, any JSON value and ``isPublic`` (§4.7).

Stored in the ``configs`` collection as ``{org, key, value, isPublic}``, where the config
module reads them. Only lenient-custom keys are imported (others are skipped, as on the
platform). ``merge: true`` deep-merges into the stored value (the platform computes that
merge and then stores the unmerged value; we store the merge). The org's configs together
may hold at most ``MAX_CONFIG_BYTES`` of BSON (``cortex.tooLarge.config``; the size check is
the config module's, ``modules/config.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...faults import Fault
from ...modules.config import MAX_CONFIG_BYTES
from ...modules.config import config_size as _size
from ...objects.store import map_store_errors
from ..resources import Resource, is_custom_name
from .base import EnvContext, ImportContext, Kind, Undo, deep_merge

__all__ = ["ConfigKind", "MAX_CONFIG_BYTES"]




class ConfigKind(Kind):
    object = "config"
    group = "config"

    def _stored(self, ctx: EnvContext, key: str) -> dict[str, Any] | None:
        with map_store_errors():
            found: dict[str, Any] | None = ctx.store.configs.find_one({"org": ctx.org._id, "key": key})
        return found

    def _value(self, ctx: EnvContext, resource: Resource) -> Any:
        value = resource.doc.get("value")
        if resource.doc.get("merge") is True:
            stored = self._stored(ctx, resource.name)
            value = deep_merge(stored.get("value") if stored else None, value)
        return value

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        if not is_custom_name(resource.name):
            return
        # The cap is on all the org's configs after the import; it is computed once per
        # import and, when it is broken, reported once (on the first config checked).
        if "config.total" in ctx.memo:
            return
        ctx.memo["config.total"] = total = self._total_after(ctx)
        if total > MAX_CONFIG_BYTES:
            raise Fault("cortex.tooLarge.config", reason=f"Configs are limited to {MAX_CONFIG_BYTES} bytes in all.", path="value")

    @staticmethod
    def _total_after(ctx: ImportContext) -> int:
        kept = 0
        with map_store_errors():
            for doc in ctx.store.configs.find({"org": ctx.org._id}, {"value": 1, "key": 1}):
                if ctx.cache.get(f"config.{doc['key']}") is None:
                    kept += _size(doc.get("value"))
        return kept + sum(_size(r.doc.get("value")) for r in ctx.cache.of_kind("config") if r.accepted or r.key in ctx.needed)

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        if not is_custom_name(resource.name):
            return lambda: None
        before = self._stored(ctx, resource.name)
        doc = {"org": ctx.org._id, "key": resource.name, "value": self._value(ctx, resource), "isPublic": bool(resource.doc.get("isPublic", False))}
        with map_store_errors():
            ctx.store.configs.replace_one({"org": ctx.org._id, "key": resource.name}, doc, upsert=True)

        def undo() -> None:
            with map_store_errors():
                if before is None:
                    ctx.store.configs.delete_one({"org": ctx.org._id, "key": resource.name})
                else:
                    ctx.store.configs.replace_one({"_id": before["_id"]}, before)

        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        with map_store_errors():
            docs = list(ctx.store.configs.find({"org": ctx.org._id}).sort("key", 1))
        for doc in docs:
            if is_custom_name(doc.get("key")):
                yield {"isPublic": bool(doc.get("isPublic")), "name": doc["key"], "object": "config", "resource": f"config.{doc['key']}", "value": doc.get("value")}
