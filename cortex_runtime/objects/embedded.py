"""The embedded store: mongomock with hash indexes, and the file that keeps it across restarts.

mongomock answers every query by scanning its whole collection, and checks a unique index by
scanning it again on every insert, so every request would pay for all the data ever stored.
``EmbeddedClient`` is a mongomock client whose collections keep, for every prefix of every
declared index, a hash from the prefix's values to the documents holding them. A query with
equality (``v``, ``{$eq: v}``, ``{$in: [...]}``) on all fields of such a prefix, or on ``_id``,
reads only those documents; mongomock's own matcher still decides every match, so an index
only narrows the candidates and can never change a result. Documents whose value for an index
field is an array, a sub-document or an unusual type are kept aside and always read, because
equality on them means more than hash equality. TTL indexes expire documents from a heap, at
most once a second, instead of mongomock's scan on every access.

``Persistence`` writes the whole store to one file atomically (temp file, fsync, rename) at most
every ``interval`` seconds after writes and on close, and reads it back at start. A file that
cannot be read is an error at start and is never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import bson
import mongomock
from bson import ObjectId
from bson.codec_options import CodecOptions
from bson.errors import InvalidDocument
from mongomock import aggregate as mongomock_aggregate
from mongomock import collection as mongomock_collection
from mongomock import database as mongomock_database
from mongomock import helpers
from mongomock.filtering import filter_applies
from mongomock.store import CollectionStore, DatabaseStore, ServerStore
from packaging import version

__all__ = ["EmbeddedClient", "Persistence", "StoreFileError", "collection_version"]

log = logging.getLogger(__name__)

_KEYABLE = (str, int, float, ObjectId, type(None))
_LOOSE = object()  # a document value that hash equality cannot stand for
_MAX_KEYS = 256  # more $in combinations than this and the prefix is not worth hashing
_EXPIRY_EVERY_S = 1.0


_KEYABLE_EXACT = frozenset({str, int, bool, ObjectId, type(None)})


def _keyable(value: Any) -> bool:
    if type(value) in _KEYABLE_EXACT:  # the common case, without the isinstance chain
        return True
    return isinstance(value, _KEYABLE) and not (isinstance(value, float) and math.isnan(value))


def _doc_value(doc: Any, path: str) -> Any:
    """The value at a dotted path as an index key: None when missing, ``_LOOSE`` when it is not a plain scalar."""
    if "." not in path and isinstance(doc, dict):
        current = doc.get(path)
        return current if _keyable(current) else _LOOSE
    current = doc
    for part in path.split("."):
        if isinstance(current, dict):
            if part not in current:
                return None
            current = current[part]
        elif isinstance(current, list):
            return _LOOSE
        else:
            return None
    return current if _keyable(current) else _LOOSE


def _equalities(spec: Any, out: dict[str, list[Any]] | None = None) -> dict[str, list[Any]]:
    """Fields a filter pins to a finite set of values: field -> the values it may equal."""
    out = {} if out is None else out
    if not isinstance(spec, dict):
        return out
    for field, condition in spec.items():
        if field == "$and" and isinstance(condition, list):
            for part in condition:
                _equalities(part, out)
            continue
        if field.startswith("$") or field in out:
            continue
        if isinstance(condition, dict):
            if "$eq" in condition and _keyable(condition["$eq"]):
                out[field] = [condition["$eq"]]
            elif isinstance(condition.get("$in"), (list, tuple)) and all(_keyable(v) for v in condition["$in"]):
                out[field] = list(condition["$in"])
        elif _keyable(condition):
            out[field] = [condition]
    return out


def _ttl_moment(doc: Any, path: str) -> datetime | None:
    """The moment a TTL index reads at ``path``: a date, or the earliest of an array of dates."""
    current = doc
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return _naive_utc(current)


def _naive_utc(value: Any) -> datetime | None:
    if isinstance(value, list):
        moments = [m for m in (_naive_utc(v) for v in value) if m is not None]
        return min(moments, default=None)
    if not isinstance(value, datetime):
        return None
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


class _IndexedCollectionStore(CollectionStore):
    """A mongomock collection's documents plus hash indexes, a TTL heap and encoded copies."""

    def __init__(self, name: str, server: _ServerStore) -> None:
        super().__init__(name)
        self._server = server
        self._lock = threading.RLock()
        self._reset_indexes()

    def _reset_indexes(self) -> None:
        # A plain dict keeps insertion order too, in less memory than mongomock's OrderedDict.
        self._documents = {}
        self._keyed: list[tuple[str, ...]] = []
        self._fields: list[str] = []
        self._fresh: Any = None  # the key __setitem__ just indexed (see reindex)
        self._buckets: dict[tuple[str, ...], dict[tuple[Any, ...], dict[Any, None]]] = {}
        self._loose: dict[tuple[str, ...], dict[Any, None]] = {}
        self._disordered: set[tuple[tuple[str, ...], tuple[Any, ...]]] = set()
        self._keys_of: dict[Any, dict[tuple[str, ...], Any]] = {}
        self._seq: dict[Any, int] = {}
        self._counter = itertools.count()
        self._ttl: dict[str, list[tuple[datetime, int, Any]]] = {}
        self._next_expiry = 0.0
        self._encoded: dict[Any, bytes] = {}
        # Never goes back, not even when the collection is dropped (collection_version).
        self.version = getattr(self, "version", 0) + 1

    # ---- mongomock's store interface ------------------------------------------------------

    def drop(self) -> None:
        with self._lock:
            super().drop()
            self._reset_indexes()
            self._server.changed()

    def create_index(self, index_name: str, index_dict: dict[str, Any]) -> None:
        with self._lock:
            super().create_index(index_name, index_dict)
            fields = [field for field, _ in index_dict["key"]]
            for length in range(1, len(fields) + 1):
                prefix = tuple(fields[:length])
                # A filter with _id equality is answered by _id alone; such prefixes add nothing.
                if "_id" not in prefix and prefix not in self._keyed:
                    self._keyed.append(prefix)
                    self._fields = sorted({field for keyed in self._keyed for field in keyed})
                    self._buckets[prefix] = {}
                    self._loose[prefix] = {}
                    for key, doc in self._documents.items():
                        keys = self._keys_of.setdefault(key, {})
                        self._add(prefix, key, tuple(_doc_value(doc, field) for field in prefix), keys, self._seq.get(key, -1))
            if index_dict.get("expireAfterSeconds") is not None:
                heap = self._ttl[index_name] = []
                for key, doc in self._documents.items():
                    self._push_expiry(index_name, heap, key, doc)
            self._server.changed()

    def drop_index(self, index_name: str) -> None:
        with self._lock:
            super().drop_index(index_name)
            self._ttl.pop(index_name, None)
            self._server.changed()

    def __setitem__(self, key: Any, val: Any) -> None:
        with self._lock:
            self.put(key, val)
            self._fresh = key

    def put(self, key: Any, doc: dict[str, Any]) -> None:
        """Store and index ``doc``, without the reindex that mongomock's own writes follow with."""
        with self._lock:
            rwlock = self._rwlock  # mongomock's writer lock, without its context manager's cost
            rwlock._writer_acquire()
            try:
                self._documents[key] = doc
            finally:
                rwlock._writer_release()
            self._index(key, doc)

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            super().__delitem__(key)
            self._fresh = None
            self._unindex(key)
            self._seq.pop(key, None)
            self._encoded.pop(key, None)
            self.version += 1
            self._server.changed()

    def reindex(self, doc: dict[str, Any]) -> None:
        """Index ``doc`` again after mongomock changed it in place."""
        key = doc.get("_id")
        key = helpers.hashdict(key) if isinstance(key, dict) else key
        with self._lock:
            if key == self._fresh:  # an insert: indexed a moment ago, unchanged since (writes hold the server lock)
                self._fresh = None
                return
            if key in self._documents:
                self._index(key, self._documents[key])

    def _remove_expired_documents(self) -> None:
        now = time.monotonic()
        if not self._ttl or now < self._next_expiry:
            return
        self._next_expiry = now + _EXPIRY_EVERY_S
        utc_now = mongomock.utcnow()
        expired = []
        with self._lock:
            for name, heap in self._ttl.items():
                index = self.indexes.get(name) or {}
                try:
                    seconds = int(index.get("expireAfterSeconds"))
                except (TypeError, ValueError):
                    continue
                field = index["key"][0][0]
                while heap and (utc_now - heap[0][0]).total_seconds() >= seconds:
                    moment, _, key = heapq.heappop(heap)
                    doc = self._documents.get(key)
                    # Only if the document still carries that moment: a later write pushed its own.
                    if doc is not None and _ttl_moment(doc, field) == moment:
                        expired.append(key)
            for key in expired:
                if key in self._documents:
                    del self[key]

    # ---- the hash indexes -----------------------------------------------------------------

    def _index(self, key: Any, doc: dict[str, Any]) -> None:
        if key in self._keys_of:
            self._unindex(key)
        seq = self._seq.get(key)
        if seq is None:
            seq = self._seq[key] = next(self._counter)
        values = {field: _doc_value(doc, field) for field in self._fields}
        keys: dict[tuple[str, ...], Any] = {}
        for prefix in self._keyed:
            self._add(prefix, key, tuple([values[field] for field in prefix]), keys, seq)
        if keys:
            self._keys_of[key] = keys
        for name, heap in self._ttl.items():
            self._push_expiry(name, heap, key, doc)
        self._encoded.pop(key, None)
        self.version += 1
        self._server.changed()

    def _add(self, prefix: tuple[str, ...], key: Any, values: tuple[Any, ...], keys: dict[tuple[str, ...], Any], seq: int) -> None:
        """Put ``key`` in ``prefix``'s bucket for ``values``, recording it in ``keys`` (its ``_keys_of`` entry)."""
        if _LOOSE in values:
            self._loose[prefix][key] = None
            keys[prefix] = _LOOSE
            return
        bucket = self._buckets[prefix].get(values)
        if bucket is None:
            bucket = self._buckets[prefix][values] = {}
        elif bucket and self._seq.get(next(reversed(bucket)), -1) > seq:
            self._disordered.add((prefix, values))
        bucket[key] = None
        keys[prefix] = values

    def _unindex(self, key: Any) -> None:
        keys = self._keys_of.pop(key, None)
        if not keys:
            return
        for prefix, values in keys.items():
            if values is _LOOSE:
                self._loose[prefix].pop(key, None)
                continue
            buckets = self._buckets[prefix]
            bucket = buckets.get(values)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del buckets[values]
                    self._disordered.discard((prefix, values))

    def _push_expiry(self, name: str, heap: list[tuple[datetime, int, Any]], key: Any, doc: dict[str, Any]) -> None:
        field = self.indexes[name]["key"][0][0]
        moment = _ttl_moment(doc, field)
        if moment is not None:
            heapq.heappush(heap, (moment, self._seq.get(key, 0), key))

    def unique_clear(self, index: dict[str, Any], doc: dict[str, Any], key: Any) -> bool:
        """True when the hash index shows that no document but ``key`` can hold ``doc``'s values
        for the unique ``index``, so mongomock's check would pass; False when it cannot tell."""
        if index.get("partialFilterExpression") is not None:
            return False
        fields = tuple([field for field, _ in index["key"]])
        buckets = self._buckets.get(fields)
        # Plain top-level fields only: then the check's filter is equality on exactly these values.
        if buckets is None or self._loose[fields] or len(set(fields)) != len(fields):
            return False
        if any("." in field or field.startswith("$") for field in fields):
            return False
        values = tuple([_doc_value(doc, field) for field in fields])
        if _LOOSE in values:
            return False
        if index.get("sparse") and all(value is None for value in values):
            return True
        bucket = buckets.get(values)
        return bucket is None or (len(bucket) == 1 and key in bucket)

    def candidates(self, spec: Any) -> list[dict[str, Any]] | None:
        """The documents ``spec`` can match, in natural order; None when no index narrows it."""
        equal = _equalities(spec)
        if not equal:
            return None
        with self._lock:
            if "_id" in equal:
                ids = [helpers.hashdict(v) if isinstance(v, dict) else v for v in equal["_id"]]
                found = {k: None for k in ids if k in self._documents}
                return self._in_order(found, len(ids) > 1)
            best = None
            for prefix in self._keyed:
                if all(field in equal for field in prefix) and (best is None or len(prefix) > len(best)):
                    if math.prod(len(equal[field]) for field in prefix) <= _MAX_KEYS:
                        best = prefix
            if best is None:
                return None
            keys = list(itertools.product(*(equal[field] for field in best)))
            sources = [self._buckets[best].get(values) for values in keys]
            sources = [s for s in sources if s]
            loose = self._loose[best]
            if len(sources) == 1 and not loose and (best, keys[0]) not in self._disordered:
                return [self._documents[k] for k in sources[0]]
            merged: dict[Any, None] = dict(loose)
            for source in sources:
                merged.update(source)
            return self._in_order(merged, True)

    def _in_order(self, keys: dict[Any, None], sort: bool) -> list[dict[str, Any]]:
        ordered = sorted(keys, key=lambda k: self._seq.get(k, 0)) if sort else list(keys)
        return [self._documents[k] for k in ordered]

    # ---- the file ---------------------------------------------------------------------------

    def encoded(self) -> list[bytes]:
        """Every document as BSON, in natural order (each encoded once until it changes)."""
        with self._lock:
            out = []
            for key, doc in self._documents.items():
                data = self._encoded.get(key)
                if data is None:
                    data = self._encoded[key] = bson.encode(doc)
                out.append(data)
            return out


def collection_version(collection: Any) -> int | None:
    """A counter that every write to ``collection`` (of an ``EmbeddedClient``) bumps; None for
    another kind of collection. TTL expiry counts as a write when it happens, which is at the
    next read of the collection."""
    store = getattr(collection, "_store", None)
    return store.version if isinstance(store, _IndexedCollectionStore) else None


class _DatabaseStore(DatabaseStore):
    def __init__(self, server: _ServerStore) -> None:
        super().__init__()
        self._server = server

    def __getitem__(self, col_name: str) -> CollectionStore:
        try:
            return self._collections[col_name]
        except KeyError:
            col = self._collections[col_name] = _IndexedCollectionStore(col_name, self._server)
            return col


class _ServerStore(ServerStore):
    """All databases of the embedded store, with one lock that orders writes against snapshots."""

    def __init__(self) -> None:
        super().__init__()
        self.write_lock = threading.RLock()
        self.changes = 0

    def __getitem__(self, db_name: str) -> DatabaseStore:
        try:
            return self._databases[db_name]
        except KeyError:
            db = self._databases[db_name] = _DatabaseStore(self)
            return db

    def changed(self) -> None:
        self.changes += 1

    def collections(self) -> Iterator[tuple[str, str, _IndexedCollectionStore]]:
        for db_name, db in list(self._databases.items()):
            for col_name, col in list(db._collections.items()):
                if isinstance(col, _IndexedCollectionStore) and col.is_created:
                    yield db_name, col_name, col


_PLAIN = frozenset({str, int, float, bool, type(None), ObjectId, bytes})
_patch_datetime_awareness = helpers.patch_datetime_awareness_in_document


def _patch_plain_fast(value: Any) -> Any:
    """mongomock's ``patch_datetime_awareness_in_document`` (dates to naive UTC milliseconds, a
    copy of every dict and list), with the common types decided by one set lookup: every write
    goes through it, and its ``isinstance`` chain was a third of the cost of inserting a log record."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: _patch_plain_fast(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_patch_plain_fast(v) for v in value]
    if kind is datetime:
        ms = value.microsecond // 1000 * 1000
        if value.tzinfo is not None:
            return (value - value.utcoffset()).replace(tzinfo=None, microsecond=ms)
        return value.replace(microsecond=ms)
    return _patch_datetime_awareness(value)


helpers.patch_datetime_awareness_in_document = _patch_plain_fast


class _MemoizedVersions:
    """``packaging.version`` as mongomock uses it, with ``parse`` memoized: it compares the pymongo
    version with a constant parsed afresh on every write (nine parses per upsert)."""

    parse = staticmethod(functools.lru_cache(maxsize=64)(version.parse))


for _module in (mongomock_collection, mongomock_aggregate, mongomock_database):
    _module.version = _MemoizedVersions  # type: ignore[attr-defined]


# What a read copies out of the store: immutable values are shared as they are (mongomock copies
# each ObjectId and datetime through copy.copy, most of a large read's cost).
_IMMUTABLE = _PLAIN | {datetime}
_copy_field_generic = mongomock_collection._copy_field


def _copy_field(obj: Any, container: Any) -> Any:
    kind = type(obj)
    if kind in _IMMUTABLE:
        return obj
    if kind is dict:
        new = container()
        for key, value in obj.items():
            new[key] = _copy_field(value, container)
        return new
    if kind is list:
        return [_copy_field(item, container) for item in obj]
    return _copy_field_generic(obj, container)


mongomock_collection._copy_field = _copy_field


def _cursor_next(self: Any) -> Any:
    """mongomock's Cursor.__next__ without its copy of the remaining results on every call (which
    made reading n documents cost n squared)."""
    if self._limit and self._emitted >= abs(self._limit):
        raise StopIteration
    results = self._compute_results()
    index = self._skip + self._emitted
    if index >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[index]


mongomock_collection.Cursor.__next__ = _cursor_next  # type: ignore[method-assign]
mongomock_collection.Cursor.next = _cursor_next  # type: ignore[attr-defined]


# mongomock checks keys itself, and encodes only to validate, with pymongo 3.6 and later.
_FAST_INSERT = mongomock_collection.BSON is not None and helpers.PYMONGO_VERSION >= version.parse("3.6")


def _check_null_characters(data: Mapping[str, Any]) -> None:
    """mongomock's check that no field name at any depth holds a null character."""
    for field, value in data.items():
        if "\0" in field:
            raise InvalidDocument(f"Field names cannot contain the null character (found: {field})")
        if type(value) is dict or (type(value) not in _IMMUTABLE and isinstance(value, Mapping)):
            _check_null_characters(value)


class _IndexedCollection(mongomock.Collection):
    """A mongomock collection that reads its candidates from the store's hash indexes."""

    def _iter_documents(self, filter: Any) -> Iterator[dict[str, Any]]:
        store = self._store
        docs = store.candidates(filter) if isinstance(store, _IndexedCollectionStore) else None
        if docs is None:
            return super()._iter_documents(filter)
        store._remove_expired_documents()
        if not docs:
            filter_applies(filter, {})  # an invalid filter fails even when nothing can match
        return (doc for doc in docs if filter_applies(filter, doc))

    def _ensure_uniques(self, new_data: Any) -> None:
        # Called after every insert and every in-place update: the moment to index the document again.
        store = self._store
        if isinstance(store, _IndexedCollectionStore):
            store.reindex(new_data)
        super()._ensure_uniques(new_data)

    def _insert(self, data: Any, session: Any = None, ordered: bool = True) -> Any:
        store = self._store
        if not isinstance(store, _IndexedCollectionStore):
            return super()._insert(data, session, ordered)
        with store._server.write_lock:
            if session or not _FAST_INSERT or type(data) is not dict:
                return super()._insert(data, session, ordered)  # lists come back here one document at a time
            return self._insert_document(store, data)

    def _insert_document(self, store: _IndexedCollectionStore, data: dict[str, Any]) -> Any:
        """mongomock's ``_insert`` of one document, step for step, with its lookups answered by the
        store's dict and hash indexes instead of scans: every request inserts a nonce and a log record."""
        for field in data:
            if not isinstance(field, str):
                raise ValueError("Document keys must be strings")  # noqa: TRY004 - mongomock raises this one
        _check_null_characters(data)
        for field in data:
            if field.startswith("$"):
                raise InvalidDocument(f'Top-level field names cannot start with the "$" sign (found: {field})')
        bson.encode(data)  # raises InvalidDocument for what cannot be stored
        if "_id" not in data:
            data["_id"] = ObjectId()  # pymongo sets it in the caller's document too
        object_id = data["_id"]
        key = helpers.hashdict(object_id) if isinstance(object_id, dict) else object_id
        store._remove_expired_documents()
        if key in store._documents:
            raise mongomock.DuplicateKeyError("E11000 Duplicate Key Error", 11000)
        doc = helpers.patch_datetime_awareness_in_document(data)
        store.put(key, doc)
        try:
            self._check_uniques(store, doc, key)
        except mongomock.DuplicateKeyError:
            del store[key]
            raise
        return doc["_id"]

    def _check_uniques(self, store: _IndexedCollectionStore, doc: dict[str, Any], key: Any) -> None:
        for index in store.indexes.values():
            if not index.get("unique"):
                continue
            if not store.unique_clear(index, doc, key):
                mongomock.Collection._ensure_uniques(self, doc)  # the document is indexed already
                return
            store._remove_expired_documents()  # as mongomock's check does, through its query

    def _update(self, *args: Any, **kwargs: Any) -> Any:
        with self._server_lock():
            return super()._update(*args, **kwargs)

    def _delete(self, *args: Any, **kwargs: Any) -> Any:
        with self._server_lock():
            return super()._delete(*args, **kwargs)

    def _find_and_modify(self, *args: Any, **kwargs: Any) -> Any:
        # mongomock finds, then updates by _id: atomic only if no other write comes between.
        with self._server_lock():
            return super()._find_and_modify(*args, **kwargs)

    def _server_lock(self) -> Any:
        store = self._store
        return store._server.write_lock if isinstance(store, _IndexedCollectionStore) else contextlib.nullcontext()

    def with_options(self, *args: Any, **kwargs: Any) -> Any:
        out = super().with_options(*args, **kwargs)
        if type(out) is mongomock.Collection:
            out.__class__ = _IndexedCollection
        return out


class _Database(mongomock.Database):
    def get_collection(self, *args: Any, **kwargs: Any) -> Any:
        collection = super().get_collection(*args, **kwargs)
        if type(collection) is mongomock.Collection:
            collection.__class__ = _IndexedCollection
        return collection


class EmbeddedClient(mongomock.MongoClient):
    """A mongomock client over hash-indexed collections (see the module docstring)."""

    def __init__(self, server: _ServerStore | None = None) -> None:
        super().__init__(_store=server or _ServerStore())

    @property
    def server_store(self) -> _ServerStore:
        return self._store  # type: ignore[no-any-return]

    def get_database(self, *args: Any, **kwargs: Any) -> Any:
        database = super().get_database(*args, **kwargs)
        if type(database) is mongomock.Database:
            database.__class__ = _Database
        return database


# ---- the file ----------------------------------------------------------------------------------

FORMAT = "cortex-runtime/embedded-store"
FILE_VERSION = 1
_CODEC = CodecOptions(tz_aware=False)


class StoreFileError(Exception):
    """The embedded store's file cannot be used (corrupt, unreadable, or locked by another process)."""


class Persistence:
    """Keeps an embedded store in ``directory/store.bson``; one process at a time (a lock file)."""

    FILE = "store.bson"

    def __init__(self, directory: Path, interval: float = 2.0) -> None:
        self.directory = directory
        self.path = directory / self.FILE
        self.interval = interval
        self._server: _ServerStore | None = None
        self._written = -1
        self._lock_file: BinaryIO | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def load(self) -> _ServerStore:
        """Lock the directory and read the file (an empty store when there is none yet)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.directory / "lock", "wb")  # noqa: SIM115 - held until close()
        except OSError as exc:
            raise StoreFileError(f"The data directory {self.directory} cannot be used: {exc.strerror}.") from exc
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            self._lock_file = None
            raise StoreFileError(f"The data directory {self.directory} is in use by another process.") from exc
        server = _ServerStore()
        if not self.path.exists():
            return server
        try:
            with open(self.path, "rb") as handle:
                self._read(handle, server)
        except Exception as exc:  # noqa: BLE001 - any failure to read means the file is not ours to use
            self._unlock()
            reason = str(exc) if isinstance(exc, StoreFileError) else f"{type(exc).__name__}: {exc}"
            raise StoreFileError(
                f"The data file {self.path} cannot be read ({reason}). It was left as it is; "
                "move it away to start with an empty store."
            ) from exc
        return server

    @staticmethod
    def _read(handle: BinaryIO, server: _ServerStore) -> None:
        documents = bson.decode_file_iter(handle, _CODEC)
        header = next(documents, None)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise StoreFileError("not an embedded store file")
        if header.get("version") != FILE_VERSION:
            raise StoreFileError(f"file version {header.get('version')} is not {FILE_VERSION}")
        sections = 0
        for section in documents:
            if section.get("end"):
                if section.get("collections") != sections:
                    raise StoreFileError("the file is incomplete")
                return
            collection = server[str(section["db"])][str(section["collection"])]
            for name, index in (section.get("indexes") or {}).items():
                collection.create_index(name, {**index, "key": [tuple(pair) for pair in index["key"]]})
            for _ in range(int(section["count"])):
                doc = next(documents)
                collection[doc["_id"]] = doc
            sections += 1
        raise StoreFileError("the file ends before its last section")

    def attach(self, client: EmbeddedClient) -> None:
        """Start writing ``client``'s store: at most every ``interval`` seconds after a write."""
        self._server = client.server_store
        self._written = self._server.changes
        self._thread = threading.Thread(target=self._loop, name="store-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except OSError:
                log.exception("could not write %s", self.path)

    def flush(self) -> bool:
        """Write the file now if anything changed since the last write; True if it wrote."""
        server = self._server
        if server is None:
            return False
        with self._write_lock:
            changes = server.changes
            if changes == self._written:
                return False
            with server.write_lock:
                changes = server.changes
                sections = [
                    (db, name, {k: dict(v) for k, v in col.indexes.items()}, col.encoded()) for db, name, col in server.collections()
                ]
            self._write(sections)
            self._written = changes
            return True

    def _write(self, sections: Iterable[tuple[str, str, dict[str, Any], list[bytes]]]) -> None:
        temp = self.path.with_name(self.FILE + ".tmp")
        count = 0
        with open(temp, "wb") as handle:
            handle.write(bson.encode({"format": FORMAT, "version": FILE_VERSION}))
            for db, name, indexes, docs in sections:
                handle.write(bson.encode({"db": db, "collection": name, "indexes": indexes, "count": len(docs)}))
                handle.write(b"".join(docs))
                count += 1
            handle.write(bson.encode({"end": True, "collections": count}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def close(self) -> None:
        """Stop the writer, write what is left, and release the directory."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            self.flush()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
