"""Inserting one document into the embedded store: the same results and errors as mongomock's own
insert, with the duplicate checks answered from the hash indexes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import mongomock
import pytest
from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from cortex_runtime.objects.embedded import EmbeddedClient

DUPLICATE = "E11000 Duplicate Key Error"


def _collection() -> Any:
    collection = EmbeddedClient().db.c
    collection.create_index([("a", 1), ("b", 1)], unique=True)
    return collection


def _contents(collection: Any) -> list[dict[str, Any]]:
    return list(collection.find())


def test_a_duplicate_id_raises_and_changes_nothing() -> None:
    collection = _collection()
    collection.insert_one({"_id": 1, "a": 1, "b": 2})
    before = _contents(collection)
    with pytest.raises(DuplicateKeyError) as raised:
        collection.insert_one({"_id": 1, "a": 5})
    assert str(raised.value) == DUPLICATE and raised.value.code == 11000
    assert _contents(collection) == before
    assert collection.find_one({"a": 5}) is None


def test_a_duplicate_dict_id_raises() -> None:
    collection = _collection()
    assert collection.insert_one({"_id": {"k": 1}, "a": 1}).inserted_id == {"k": 1}
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": {"k": 1}, "a": 2})
    assert collection.count_documents({}) == 1


def test_a_duplicate_on_a_unique_compound_index_is_rolled_back() -> None:
    collection = _collection()
    collection.insert_one({"_id": 1, "a": 1, "b": 2})
    before = _contents(collection)
    with pytest.raises(DuplicateKeyError) as raised:
        collection.insert_one({"_id": 2, "a": 1, "b": 2})
    assert str(raised.value) == DUPLICATE and raised.value.code == 11000
    assert _contents(collection) == before
    assert collection.find_one({"_id": 2}) is None
    assert list(collection.find({"a": 1, "b": 2})) == before  # the index forgot the rolled-back document
    collection.insert_one({"_id": 2, "a": 1, "b": 3})
    assert collection.count_documents({"a": 1}) == 2


def test_unique_values_compare_as_mongomock_compares_them() -> None:
    collection = _collection()
    collection.insert_one({"a": True, "b": 1})
    for value in (1, 1.0):  # equal to True for mongomock's matcher
        with pytest.raises(DuplicateKeyError):
            collection.insert_one({"a": value, "b": 1})
    collection.insert_one({"a": "1", "b": 1})
    collection.insert_one({"b": 1})  # a missing field is null, once
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"a": None, "b": 1})
    assert collection.count_documents({}) == 3


def test_a_sparse_unique_index_allows_many_documents_without_the_field() -> None:
    collection = EmbeddedClient().db.c
    collection.create_index([("s", 1)], unique=True, sparse=True)
    for n in range(3):
        collection.insert_one({"n": n})
    collection.insert_one({"s": 1})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"s": 1, "n": 9})
    assert collection.count_documents({}) == 4


def test_a_unique_index_that_is_not_sparse_allows_one_document_without_the_fields() -> None:
    collection = _collection()
    collection.insert_one({"n": 1})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"n": 2})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"a": None, "b": None})
    assert _contents(collection) == [{"_id": collection.find_one()["_id"], "n": 1}]


def test_a_partial_unique_index_checks_only_matching_documents() -> None:
    collection = EmbeddedClient().db.c
    collection.create_index([("p", 1)], unique=True, partialFilterExpression={"q": {"$gt": 0}})
    collection.insert_one({"_id": 1, "p": 1, "q": 0})
    collection.insert_one({"_id": 2, "p": 1, "q": 0})
    collection.insert_one({"_id": 3, "p": 1, "q": 1})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": 4, "p": 1, "q": 2})
    assert sorted(d["_id"] for d in collection.find()) == [1, 2, 3]


@pytest.mark.parametrize(
    ("document", "error", "message"),
    [
        ({1: 2}, ValueError, "Document keys must be strings"),
        ({"$x": 2}, InvalidDocument, 'Top-level field names cannot start with the "$" sign (found: $x)'),
        ({"n": {"x\0y": 2}}, InvalidDocument, "Field names cannot contain the null character (found: x\0y)"),
        ({"n": {"x\0y": 2}, "$x": 1}, InvalidDocument, "Field names cannot contain the null character (found: x\0y)"),
    ],
)
def test_invalid_documents_raise_as_before(document: dict[Any, Any], error: type[Exception], message: str) -> None:
    collection = _collection()
    with pytest.raises(error) as raised:
        collection.insert_one(document)
    assert str(raised.value) == message
    assert "_id" not in document
    assert collection.count_documents({}) == 0


def test_an_unencodable_value_raises_invalid_document() -> None:
    collection = _collection()
    document = {"v": object()}
    with pytest.raises(InvalidDocument, match="cannot encode object"):
        collection.insert_one(document)
    assert "_id" not in document
    assert collection.count_documents({}) == 0


def test_dotted_keys_are_stored_as_given() -> None:
    collection = _collection()
    collection.insert_one({"_id": 1, "x.y": 2, "a": 1})
    collection.insert_one({"_id": 2, "n": {"x.y": 3}, "a": 2})
    assert collection.find_one({"_id": 1}) == {"_id": 1, "x.y": 2, "a": 1}
    assert collection.find_one({"_id": 2}) == {"_id": 2, "n": {"x.y": 3}, "a": 2}


def test_the_callers_document_gets_the_id_and_is_not_stored_itself() -> None:
    collection = _collection()
    document: dict[str, Any] = {"a": 1, "sub": {"k": [1, {"j": 2}]}}
    inserted = collection.insert_one(document).inserted_id
    assert isinstance(inserted, ObjectId) and document["_id"] == inserted
    stored = collection._store._documents[inserted]
    assert stored == document and stored is not document
    assert stored["sub"] is not document["sub"] and stored["sub"]["k"] is not document["sub"]["k"]
    document["sub"]["k"].append(3)
    assert collection.find_one({"_id": inserted})["sub"] == {"k": [1, {"j": 2}]}


def test_an_aware_datetime_is_stored_as_naive_utc_milliseconds() -> None:
    collection = _collection()
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    document = {"a": 1, "when": moment, "list": [moment]}
    collection.insert_one(document)
    assert document["when"] is moment
    expected = datetime(2024, 5, 6, 5, 8, 9, 123000)
    assert collection.find_one({"a": 1}) == {"_id": document["_id"], "a": 1, "when": expected, "list": [expected]}


def test_an_expired_document_does_not_block_its_id() -> None:
    collection = EmbeddedClient().db.c
    collection.create_index([("t", 1)], expireAfterSeconds=0)
    collection.insert_one({"_id": 50, "t": datetime(2000, 1, 1)})
    collection._store._next_expiry = 0.0  # as if a second had passed since the last expiry
    assert collection.insert_one({"_id": 50, "a": 2}).inserted_id == 50
    assert _contents(collection) == [{"_id": 50, "a": 2}]


def test_insert_many_reports_the_duplicate() -> None:
    collection = _collection()
    with pytest.raises(BulkWriteError) as raised:
        collection.insert_many([{"_id": 1, "a": 1}, {"_id": 1, "a": 2}, {"_id": 3, "a": 3}])
    details = raised.value.details
    assert details["nInserted"] == 1
    assert [(e["index"], e["code"], e["errmsg"]) for e in details["writeErrors"]] == [(1, 11000, DUPLICATE)]
    assert _contents(collection) == [{"_id": 1, "a": 1}]


def _random_document(rng: random.Random, n: int) -> dict[str, Any]:
    values = [0, 1, 1.0, True, "1", None, [1, 2], {"x": 1}, float("nan")]
    doc: dict[str, Any] = {"_id": rng.randint(0, 60) if rng.random() < 0.5 else f"id{n}"}
    for field in ("a", "b", "s", "p"):
        if rng.random() < 0.8:
            doc[field] = rng.choice(values)
    if rng.random() < 0.5:
        doc["q"] = rng.randint(0, 2)
    if rng.random() < 0.2:
        doc["n"] = {"a": rng.choice(values)}
    return doc


def test_inserts_match_mongomock() -> None:
    rng = random.Random(11)
    plain = mongomock.MongoClient().db.c
    indexed = EmbeddedClient().db.c
    for collection in (plain, indexed):
        collection.create_index([("a", 1), ("b", 1)], unique=True)
        collection.create_index([("s", 1)], unique=True, sparse=True)
        collection.create_index([("p", 1)], unique=True, partialFilterExpression={"q": {"$gt": 0}})
        collection.create_index([("n.a", 1)], unique=True, sparse=True)
    for n in range(600):
        doc = _random_document(rng, n)
        outcomes = []
        for collection in (plain, indexed):
            given = dict(doc)
            try:
                outcomes.append(("ok", collection.insert_one(given).inserted_id, given))
            except Exception as exc:  # noqa: BLE001 - the outcome itself is compared
                outcomes.append((type(exc), str(exc), given))
        assert outcomes[0] == outcomes[1] or repr(outcomes[0]) == repr(outcomes[1]), doc  # nan != nan
    assert repr(list(plain.find())) == repr(list(indexed.find()))
