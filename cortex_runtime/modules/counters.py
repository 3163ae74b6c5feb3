"""``require('counters')``: general purpose atomically incrementing counters (spec modules.md §7).

One document per (org, key) in the ``counters`` collection: ``{org, name, val, created,
updated}`` (the collection's unique index is on ``org, name``). ``next`` is a single
``find_one_and_update`` with ``$inc`` and ``upsert``, so it is atomic across threads, workers
and processes; on a real MongoDB two first-time upserts of one key can race on the unique
index, and the loser simply retries (then as an increment). No TTL. Keys are coerced to String
as the source does (a non-string key is ``''``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..faults import Fault
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from .cache import StoreModule, arg, coerce_key, paging, prefix_filter, to_ms

__all__ = ["CountersModule"]


class CountersModule(StoreModule):
    """``counters.next/get/has/del/list/count/clear`` (the source's full method set)."""

    require_name = "counters"
    prefix = "counters."
    methods = ("next", "get", "has", "del", "list", "count", "clear")

    collection = "counters"

    def _next(self, org: ObjectId, args: list[Any]) -> Any:
        key = coerce_key(arg(args, 0))
        for _ in range(3):
            now = self._now()
            try:
                doc = self._col.find_one_and_update(
                    {"org": org, "name": key},
                    {"$inc": {"val": 1}, "$set": {"updated": now}, "$setOnInsert": {"created": now}},
                    projection={"val": 1},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # a concurrent first `next` inserted it: increment that one
            return doc["val"]
        raise Fault("cortex.conflict.sequencing", path=key)

    def _get(self, org: ObjectId, args: list[Any]) -> Any:
        doc = self._col.find_one({"org": org, "name": coerce_key(arg(args, 0))}, {"val": 1})
        return None if doc is None else doc.get("val")

    def _has(self, org: ObjectId, args: list[Any]) -> bool:
        return self._col.find_one({"org": org, "name": coerce_key(arg(args, 0))}, {"_id": 1}) is not None

    def _del(self, org: ObjectId, args: list[Any]) -> bool:
        return bool(self._col.delete_one({"org": org, "name": coerce_key(arg(args, 0))}).deleted_count)

    def _list(self, org: ObjectId, args: list[Any]) -> dict[str, Any]:
        skip, limit = paging(arg(args, 1), arg(args, 2))
        query = {"org": org, **prefix_filter(arg(args, 0, ""), "name")}
        cursor = self._col.find(query, {"name": 1, "val": 1, "created": 1, "updated": 1}).sort("name", 1).skip(skip).limit(limit)
        data = [{"created": d.get("created"), "updated": d.get("updated"), "key": d["name"], "val": d.get("val")} for d in cursor]
        return {"object": "list", "data": data, "total": self._col.count_documents(query)}

    def _count(self, org: ObjectId, args: list[Any]) -> int:
        return int(self._col.count_documents({"org": org, **prefix_filter(arg(args, 0, ""), "name")}))

    def _clear(self, org: ObjectId, args: list[Any]) -> int:
        return int(self._col.delete_many({"org": org, **prefix_filter(arg(args, 0, ""), "name")}).deleted_count)
