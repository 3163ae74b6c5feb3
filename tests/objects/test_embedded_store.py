"""The embedded store: hash indexes never change a result, TTL indexes expire, and the file
keeps everything across a restart (and is never overwritten when it cannot be read)."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mongomock
import pytest
from bson import ObjectId

from cortex_runtime.objects.embedded import EmbeddedClient, Persistence, StoreFileError
from cortex_runtime.objects.store import Store

ORGS = [ObjectId() for _ in range(3)]
OBJECTS = ["c_a", "c_b", "account", None]


def _random_doc(rng: random.Random) -> dict:
    doc: dict = {"org": rng.choice(ORGS), "n": rng.randint(0, 5)}
    kind = rng.random()
    if kind < 0.1:
        doc["object"] = [rng.choice(OBJECTS[:3]), "c_x"]  # an array: matched by any element
    elif kind < 0.15:
        doc["object"] = {"nested": 1}
    elif kind < 0.2:
        pass  # missing: matched by None
    else:
        doc["object"] = rng.choice(OBJECTS)
    if rng.random() < 0.5:
        doc["email"] = rng.choice(["a@x.io", "b@x.io", None])
    return doc


def _random_filter(rng: random.Random, ids: list) -> dict:
    spec: dict = {}
    if rng.random() < 0.8:
        spec["org"] = rng.choice(ORGS + [ObjectId()])
    if rng.random() < 0.7:
        choice = rng.random()
        if choice < 0.5:
            spec["object"] = rng.choice(OBJECTS + ["c_x"])
        elif choice < 0.7:
            spec["object"] = {"$in": rng.sample(OBJECTS, 2)}
        elif choice < 0.85:
            spec["object"] = {"$eq": rng.choice(OBJECTS)}
        else:
            spec["object"] = {"$ne": rng.choice(OBJECTS)}
    if rng.random() < 0.3:
        spec["email"] = rng.choice(["a@x.io", None])
    if rng.random() < 0.2:
        spec["_id"] = rng.choice(ids + [ObjectId()])
    if rng.random() < 0.2:
        spec = {"$and": [spec, {"n": {"$gte": rng.randint(0, 5)}}]}
    if rng.random() < 0.1:
        spec = {"$or": [spec, {"n": 3}]}
    return spec


def test_hash_indexes_never_change_a_result() -> None:
    rng = random.Random(7)
    plain = mongomock.MongoClient().db.c
    indexed = EmbeddedClient().db.c
    for collection in (plain, indexed):
        collection.create_index([("org", 1), ("object", 1), ("_id", -1)])
        collection.create_index([("org", 1), ("object", 1), ("email", 1)])
    docs = [_random_doc(rng) for _ in range(400)]
    for doc in docs:
        plain.insert_one(dict(doc, _id=doc.setdefault("_id", ObjectId())))
        indexed.insert_one(dict(doc))
    ids = [d["_id"] for d in docs]
    for round_ in range(300):
        if round_ % 10 == 0:  # writes in between: updates that move documents between buckets, deletes
            target = rng.choice(ids)
            change = {"$set": {"object": rng.choice(OBJECTS[:3])}} if rng.random() < 0.7 else {"$unset": {"object": ""}}
            plain.update_one({"_id": target}, change)
            indexed.update_one({"_id": target}, change)
            gone = rng.choice(ids)
            plain.delete_one({"_id": gone})
            indexed.delete_one({"_id": gone})
        spec = _random_filter(rng, ids)
        assert [d["_id"] for d in indexed.find(spec)] == [d["_id"] for d in plain.find(spec)], spec
        assert indexed.count_documents(spec) == plain.count_documents(spec)


def test_a_unique_index_is_checked_through_its_hash() -> None:
    collection = EmbeddedClient().db.c
    collection.create_index([("org", 1), ("name", 1)], unique=True)
    collection.insert_one({"org": 1, "name": "a"})
    collection.insert_one({"org": 1, "name": "b"})
    with pytest.raises(Exception, match="Duplicate"):
        collection.insert_one({"org": 1, "name": "a"})
    with pytest.raises(Exception, match="Duplicate"):
        collection.update_one({"name": "b"}, {"$set": {"name": "a"}})
    assert sorted(d["name"] for d in collection.find({"org": 1})) == ["a", "b"]


def test_natural_order_survives_moves_between_buckets() -> None:
    collection = EmbeddedClient().db.c
    collection.create_index([("k", 1)])
    first, second, third = (collection.insert_one({"k": k}).inserted_id for k in ("x", "y", "x"))
    collection.update_one({"_id": second}, {"$set": {"k": "x"}})
    assert [d["_id"] for d in collection.find({"k": "x"})] == [first, second, third]


def test_a_key_lookup_does_not_read_other_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 20,000 unrelated documents, a lookup by key examines only the documents of its key."""
    from cortex_runtime.objects import embedded

    collection = EmbeddedClient().db.c
    collection.create_index([("org", 1), ("object", 1)])
    target = collection.insert_one({"org": 1, "object": "account"}).inserted_id
    collection.insert_one({"org": 1, "object": "account"})
    collection.insert_many([{"org": 2, "object": "log", "i": i} for i in range(20_000)])
    examined: list[object] = []
    real = embedded.filter_applies

    def counting(spec: object, doc: object) -> bool:
        examined.append(doc)
        return real(spec, doc)

    monkeypatch.setattr(embedded, "filter_applies", counting)
    assert collection.find_one({"org": 1, "object": "account", "_id": target})["_id"] == target
    assert len(examined) == 1
    examined.clear()
    assert len(list(collection.find({"org": 1, "object": "account"}))) == 2
    assert len(examined) == 2
    examined.clear()
    assert collection.count_documents({"org": {"$in": [1, 3]}, "object": "account"}) == 2
    assert len(examined) == 2


def test_ttl_indexes_expire_documents() -> None:
    collection = EmbeddedClient().db.c
    collection.create_index([("expires", 1)], expireAfterSeconds=0)
    past = datetime.now(timezone.utc) - timedelta(seconds=5)
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    collection.insert_many([{"n": 1, "expires": past}, {"n": 2, "expires": future}, {"n": 3}])
    deadline = time.monotonic() + 30  # expiry runs at most once a second, on the next access
    while sorted(d["n"] for d in collection.find({})) != [2, 3] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(d["n"] for d in collection.find({})) == [2, 3]


# ---- the file -----------------------------------------------------------------------------


def _fill(store: Store) -> ObjectId:
    org = ObjectId()
    store.orgs.insert_one({"_id": org, "code": "acme", "created": datetime(2026, 1, 2, 3, 4, 5, 6000)})
    store.contexts.insert_many([{"org": org, "object": "c_w", "n": i, "tags": ["a", i], "blob": b"\x00\x01"} for i in range(50)])
    return org


def test_the_file_keeps_documents_and_indexes(tmp_path: Path) -> None:
    store = Store.open(None, data_dir=tmp_path)
    org = _fill(store)
    store.contexts.update_one({"org": org, "n": 3}, {"$set": {"n": 300}})
    store.close()

    again = Store.open(None, data_dir=tmp_path)
    try:
        assert again.orgs.find_one({"code": "acme"})["created"] == datetime(2026, 1, 2, 3, 4, 5, 6000)
        rows = list(again.contexts.find({"org": org, "object": "c_w"}))
        assert [r["n"] for r in rows] == [0, 1, 2, 300] + list(range(4, 50))
        assert rows[0]["tags"] == ["a", 0] and rows[0]["blob"] == b"\x00\x01"
        with pytest.raises(Exception, match="Duplicate"):  # the unique index came back too
            again.orgs.insert_one({"code": "acme"})
    finally:
        again.close()


def test_the_file_is_written_after_writes_without_a_close(tmp_path: Path) -> None:
    persistence = Persistence(tmp_path, interval=0.05)
    client = EmbeddedClient(persistence.load())
    persistence.attach(client)
    client.db.c.insert_one({"x": 1})
    deadline = time.monotonic() + 30
    while not persistence.path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert persistence.path.exists()
    persistence.close()


def test_a_second_process_may_not_open_the_same_directory(tmp_path: Path) -> None:
    store = Store.open(None, data_dir=tmp_path)
    try:
        with pytest.raises(StoreFileError, match="in use"):
            Store.open(None, data_dir=tmp_path)
    finally:
        store.close()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_file_is_an_error_and_is_left_alone(tmp_path: Path, damage: str) -> None:
    store = Store.open(None, data_dir=tmp_path)
    _fill(store)
    store.close()
    path = tmp_path / Persistence.FILE
    data = path.read_bytes()
    damaged = {"garbage": b"not a store" + data[11:], "truncated": data[: len(data) // 2], "empty": b""}[damage]
    path.write_bytes(damaged)
    with pytest.raises(StoreFileError, match="cannot be read"):
        Store.open(None, data_dir=tmp_path)
    assert path.read_bytes() == damaged
    # The directory is not left locked by the failed start.
    path.unlink()
    Store.open(None, data_dir=tmp_path).close()
