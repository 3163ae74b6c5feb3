"""``require('cache')``: the org's key/value store with TTLs (spec modules.md §3, source facts).

Entries live in the ``cache`` collection, one document per (org, key)::

    {org, key, val, sz, created, updated, seq, expires?}

``expires`` carries the collection's TTL index, so the database purges lapsed entries on its
own schedule; until it does, ``list`` and ``count`` still see them while ``get``, ``has`` and
``find`` do not (the source's semantics, acceptance facts 9 and 15). "Now" is the runtime's
clock, so tests move time instead of sleeping. ``seq`` counts the writes of an entry: ``cas``
and ``counter`` write only when it is unchanged since they read, which keeps them atomic
across threads and workers on the embedded store and on a real MongoDB alike.

Where the spec is silent, we do what the platform most likely does and say so:

* keys are coerced to String as the source does (a non-string key is ``''``) and are limited
  to ``MAX_KEY_BYTES`` (older MongoDB servers refuse longer index keys);
* a value must be storable in MongoDB: no ``$``-prefixed object keys
  (``cortex.invalidArgument.dollarPrefixedDbKey``), no ``.`` in object keys, nesting at most
  ``MAX_DEPTH``; ``undefined`` is dropped from objects and is ``null`` elsewhere (as
  ``JSON.stringify`` does); numbers beyond 2^53 are stored as doubles, as JavaScript holds them;
* an entry may not exceed MongoDB's document limit (16 MiB): ``cortex.tooLarge.unspecified``;
* ``cas`` compares BSON encodings: exact type and field order, the database equality the
  source relies on (mongomock's equality ignores field order, so we do not ask the store).

The helpers here (keys, prefixes, paging, storable values) are shared with ``counters`` and
``config``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import bson
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..faults import Fault
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import UNDEFINED, Undefined

__all__ = [
    "MAX_DEPTH",
    "MAX_ENTRY_BYTES",
    "MAX_KEY_BYTES",
    "CacheModule",
    "arg",
    "coerce_key",
    "org_id",
    "paging",
    "prefix_filter",
    "same_value",
    "storable",
]

MAX_KEY_BYTES = 1024
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # MongoDB's document limit
MAX_DEPTH = 100  # BSON's nesting limit
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_RETRIES = 1000  # optimistic writes that lost a race try again (each loss means another write won)
_MAX_SAFE = 2**53 - 1


# ---- shared helpers --------------------------------------------------------------------------


def arg(args: list[Any], index: int, default: Any = None) -> Any:
    """Argument ``index``; ``default`` when it was not given or is ``undefined``."""
    if index < len(args) and not isinstance(args[index], Undefined):
        return args[index]
    return default


def org_id(run: RunInfo) -> ObjectId:
    context = run.context
    if context is None:
        raise Fault("kNotImplemented", reason="This run has no org.")
    return context.org._id  # type: ignore[no-any-return]


def coerce_key(value: Any, what: str = "key") -> str:
    """A key as the source coerces it: a String, else ``''``; at most ``MAX_KEY_BYTES`` bytes."""
    key = value if isinstance(value, str) else ""
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"A {what} may be at most {MAX_KEY_BYTES} bytes long.", path=what)
    return key


def prefix_filter(prefix: Any, field: str = "key") -> dict[str, Any]:
    """Keys starting with ``prefix``, matched literally (the source regex-escapes it)."""
    text = coerce_key(prefix, "prefix")
    return {field: {"$regex": "^" + re.escape(text)}} if text else {}


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


def paging(skip: Any, limit: Any) -> tuple[int, int]:
    """``skip`` (>= 0, default 0) and ``limit`` (clamped to 1..1000, default 100), as the source
    reads them: numbers are truncated, anything else is the default."""
    s = _integer(skip)
    n = _integer(limit)
    return max(0, s or 0), min(MAX_LIMIT, max(1, DEFAULT_LIMIT if n is None else n))


def storable(value: Any, path: str = "value", depth: int = 0) -> Any:
    """``value`` as MongoDB can store it, or a ``cortex.invalidArgument.*`` fault (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"Values may be nested at most {MAX_DEPTH} deep.", path=path)
    if value is None or isinstance(value, (str, bool, datetime, ObjectId)):
        return value
    if isinstance(value, int):
        return value if -_MAX_SAFE <= value <= _MAX_SAFE else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Undefined):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, Undefined):
                continue
            name = str(key)
            if name.startswith("$"):
                raise Fault("cortex.invalidArgument.dollarPrefixedDbKey", path=f"{path}.{name}")
            if "." in name:
                raise Fault("cortex.invalidArgument.unspecified", reason="Object keys may not contain '.'.", path=f"{path}.{name}")
            out[name] = storable(item, f"{path}.{name}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [storable(item, f"{path}.{i}", depth + 1) for i, item in enumerate(value)]
    raise Fault("cortex.invalidArgument.unspecified", reason=f"A {type(value).__name__} cannot be stored.", path=path)


def bson_size(document: dict[str, Any]) -> int:
    try:
        return len(bson.encode(document))
    except (bson.errors.InvalidDocument, OverflowError, ValueError) as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"The value cannot be stored ({exc}).") from exc


def same_value(a: Any, b: Any) -> bool:
    """Database equality: same BSON (exact type, field order matters; a date is its instant)."""
    try:
        return bson.encode({"v": a}) == bson.encode({"v": b})
    except (bson.errors.InvalidDocument, OverflowError, ValueError):
        return False


def utc(moment: datetime | None) -> datetime | None:
    """A stored date (naive UTC from the driver) as an aware datetime."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def to_ms(moment: datetime) -> datetime:
    """Truncated to milliseconds, as the database keeps dates."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# ---- the module ------------------------------------------------------------------------------


def _ttl(value: Any) -> int | None:
    """Seconds to live, as the source reads ``ttl``: an integer (negative is 0), else none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        return None
    return max(0, value)


class StoreModule:
    """A module whose state is one store collection of the org's documents (cache, counters):
    ``call`` dispatches ``<prefix><method>`` to ``_<method>(org id, args)``."""

    prefix = ""
    methods: tuple[str, ...] = ()
    collection = ""
    needs_runtime = True

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    @property
    def _col(self) -> Any:
        return getattr(self._runtime.store, self.collection)

    def _now(self) -> datetime:
        return to_ms(self._runtime.clock.now())

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix) :]
        handler = getattr(self, "_" + method, None) if method in self.methods else None
        if handler is None:
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        with map_store_errors():
            return handler(org_id(run), args)


class CacheModule(StoreModule):
    """``cache.get/has/set/del/cas/counter/find/list/count/clear`` over the ``cache`` collection."""

    require_name = "cache"
    prefix = "cache."
    methods = ("get", "has", "set", "del", "cas", "counter", "find", "list", "count", "clear")

    collection = "cache"

    # -- reads

    @staticmethod
    def _live(doc: dict[str, Any] | None, now: datetime) -> bool:
        if doc is None:
            return False
        expires = utc(doc.get("expires"))
        return expires is None or expires > now

    def _live_filter(self, now: datetime) -> dict[str, Any]:
        return {"$or": [{"expires": {"$exists": False}}, {"expires": {"$gt": now}}]}

    def _get(self, org: ObjectId, args: list[Any]) -> Any:
        doc = self._col.find_one({"org": org, "key": coerce_key(arg(args, 0))}, {"val": 1, "expires": 1})
        return doc.get("val") if self._live(doc, self._now()) else UNDEFINED

    def _has(self, org: ObjectId, args: list[Any]) -> bool:
        doc = self._col.find_one({"org": org, "key": coerce_key(arg(args, 0))}, {"expires": 1})
        return self._live(doc, self._now())

    def _find(self, org: ObjectId, args: list[Any]) -> list[dict[str, Any]]:
        skip, limit = paging(arg(args, 1), arg(args, 2))
        query = {"org": org, **prefix_filter(arg(args, 0, "")), **self._live_filter(self._now())}
        out = []
        for doc in self._col.find(query, {"key": 1, "val": 1, "expires": 1}).sort("key", 1).skip(skip).limit(limit):
            entry = {"key": doc["key"], "val": doc.get("val")}
            if doc.get("expires") is not None:
                entry["exp"] = doc["expires"]
            out.append(entry)
        return out

    def _list(self, org: ObjectId, args: list[Any]) -> dict[str, Any]:
        skip, limit = paging(arg(args, 1), arg(args, 2))
        query = {"org": org, **prefix_filter(arg(args, 0, ""))}
        data = []
        for doc in self._col.find(query, {"key": 1, "sz": 1, "created": 1, "expires": 1}).sort("key", 1).skip(skip).limit(limit):
            entry = {"created": doc.get("created"), "key": doc["key"], "sz": doc.get("sz", 0)}
            if doc.get("expires") is not None:
                entry["exp"] = doc["expires"]
            data.append(entry)
        return {"object": "list", "data": data, "total": self._col.count_documents(query)}

    def _count(self, org: ObjectId, args: list[Any]) -> int:
        return int(self._col.count_documents({"org": org, **prefix_filter(arg(args, 0, ""))}))

    # -- writes

    def _entry(self, org: ObjectId, key: str, value: Any, ttl: Any, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``$set`` and ``$unset`` parts of a write of ``value``."""
        seconds = _ttl(ttl)
        fields: dict[str, Any] = {"val": value, "updated": now}
        if seconds is not None:
            fields["expires"] = now + timedelta(seconds=seconds)
        size = bson_size({"org": org, "key": key, **fields})
        if size > MAX_ENTRY_BYTES:
            raise Fault("cortex.tooLarge.unspecified", reason=f"A cache entry may be at most {MAX_ENTRY_BYTES} bytes ({size}).", path=key)
        fields["sz"] = size
        return fields, ({} if seconds is not None else {"expires": ""})

    def _set(self, org: ObjectId, args: list[Any]) -> Any:
        key = coerce_key(arg(args, 0))
        value = storable(arg(args, 1))
        now = self._now()
        fields, unset = self._entry(org, key, value, arg(args, 2), now)
        update: dict[str, Any] = {"$set": fields, "$inc": {"seq": 1}, "$setOnInsert": {"created": now}}
        if unset:
            update["$unset"] = unset
        for _ in range(3):  # two upserts of a new key race on the unique index; the loser updates
            try:
                self._col.update_one({"org": org, "key": key}, update, upsert=True)
                return value
            except DuplicateKeyError:
                continue
        raise Fault("cortex.conflict.sequencing", path=key)

    def _del(self, org: ObjectId, args: list[Any]) -> bool:
        return bool(self._col.delete_one({"org": org, "key": coerce_key(arg(args, 0))}).deleted_count)

    def _clear(self, org: ObjectId, args: list[Any]) -> int:
        return int(self._col.delete_many({"org": org, **prefix_filter(arg(args, 0, ""))}).deleted_count)

    def _cas(self, org: ObjectId, args: list[Any]) -> bool:
        """Writes ``val`` only where an entry holds exactly ``chk``; never inserts, ignores expiry."""
        key = coerce_key(arg(args, 0))
        try:
            check = storable(arg(args, 1))
        except Fault:
            return False  # a value that cannot be stored is never the stored one
        value = storable(arg(args, 2))
        for _ in range(MAX_RETRIES):
            doc = self._col.find_one({"org": org, "key": key}, {"val": 1, "seq": 1})
            if doc is None or not same_value(doc.get("val"), check):
                return False
            now = self._now()
            fields, unset = self._entry(org, key, value, arg(args, 3), now)
            update: dict[str, Any] = {"$set": fields, "$inc": {"seq": 1}}
            if unset:
                update["$unset"] = unset
            if self._col.update_one({"_id": doc["_id"], "seq": doc.get("seq")}, update).matched_count:
                return True
        raise Fault("cortex.conflict.sequencing", path=key)

    def _counter(self, org: ObjectId, args: list[Any]) -> dict[str, Any]:
        """A window counter: +1 while the window is open, else a new window of ``ttl`` s (min 1)
        holding 1. Returns ``{ttl, age, val}``, ``ttl`` and ``age`` in milliseconds."""
        key = coerce_key(arg(args, 0))
        seconds = _integer(arg(args, 1, 1))
        seconds = max(1, 1 if seconds is None else seconds)
        for _ in range(MAX_RETRIES):
            now = self._now()
            live = {"expires": {"$gt": now}, "val": {"$type": "number"}}
            doc = self._col.find_one_and_update(
                {"org": org, "key": key, **live},
                {"$inc": {"val": 1, "seq": 1}, "$set": {"updated": now}},
                projection={"val": 1, "created": 1, "expires": 1},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                fresh = {"val": 1, "created": now, "updated": now, "expires": now + timedelta(seconds=seconds)}
                fresh["sz"] = bson_size({"org": org, "key": key, **fresh})
                try:
                    doc = self._col.find_one_and_update(
                        {"org": org, "key": key, "$nor": [live]},
                        {"$set": fresh, "$inc": {"seq": 1}},
                        projection={"val": 1, "created": 1, "expires": 1},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                except DuplicateKeyError:
                    continue  # another run opened the window first: count in it
                if doc is None:
                    continue
            created = utc(doc.get("created")) or now
            expires = utc(doc.get("expires")) or now
            return {
                "ttl": int((expires - created) / timedelta(milliseconds=1)),
                "age": int((now - created) / timedelta(milliseconds=1)),
                "val": doc.get("val"),
            }
        raise Fault("cortex.conflict.sequencing", path=key)
