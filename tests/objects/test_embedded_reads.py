"""Reading from the embedded store: a cursor hands out each document once without copying the rest
of its results again, reads are copies the caller may change, and a count reads no more than it
counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import mongomock
import pytest
from bson import ObjectId

from cortex_runtime.objects.embedded import EmbeddedClient
from cortex_runtime.objects.principals import Principal, expand_roles


def _filled(n: int) -> Any:
    collection = EmbeddedClient().db.c
    collection.insert_many([{"_id": i, "n": i, "tags": [i, {"k": i}], "at": datetime(2026, 1, 1, 0, 0, i % 60)} for i in range(n)])
    return collection


@pytest.mark.parametrize(
    ("skip", "limit", "expected"),
    [(0, 0, list(range(10))), (3, 0, list(range(3, 10))), (3, 4, [3, 4, 5, 6]), (8, 5, [8, 9]), (12, 2, []), (2, -3, [2, 3, 4])],
)
def test_a_cursor_gives_what_mongomock_gives_for_skip_and_limit(skip: int, limit: int, expected: list[int]) -> None:
    ours = [doc["n"] for doc in _filled(10).find().sort("n", 1).skip(skip).limit(limit)]
    plain = mongomock.MongoClient().db.c
    plain.insert_many([{"_id": i, "n": i} for i in range(10)])
    assert ours == [doc["n"] for doc in plain.find().sort("n", 1).skip(skip).limit(limit)] == expected


def test_a_cursor_read_in_parts_continues_where_it_stopped() -> None:
    cursor = _filled(10).find().sort("n", 1)
    first = [next(cursor)["n"] for _ in range(4)]
    assert first + [doc["n"] for doc in cursor] == list(range(10))
    with pytest.raises(StopIteration):
        next(cursor)


def test_a_cursor_does_not_slice_its_results_for_every_document(monkeypatch: pytest.MonkeyPatch) -> None:
    # mongomock's own __next__ copies the remaining results on every call: n documents cost n squared.
    sliced = []
    compute = mongomock.collection.Cursor._compute_results

    def counting(self: Any, with_limit_and_skip: bool = False) -> Any:
        sliced.append(with_limit_and_skip)
        return compute(self, with_limit_and_skip)

    monkeypatch.setattr(mongomock.collection.Cursor, "_compute_results", counting)
    assert sum(1 for _ in _filled(2000).find().skip(5)) == 1995
    assert True not in sliced


def test_what_a_read_returns_is_a_copy_the_caller_may_change() -> None:
    collection = _filled(3)
    doc = collection.find_one({"_id": 1})
    doc["tags"][1]["k"] = "changed"
    doc["tags"].append("more")
    doc["n"] = -1
    assert collection.find_one({"_id": 1}) == {"_id": 1, "n": 1, "tags": [1, {"k": 1}], "at": datetime(2026, 1, 1, 0, 0, 1)}


def test_a_principals_expanded_roles_are_kept_and_equal_a_fresh_expansion() -> None:
    role, other = ObjectId(), ObjectId()
    graph = ((role, (other,)),)
    principal = Principal(_id=ObjectId(), org=ObjectId(), roles=(role,), includes=graph)
    assert principal.all_roles() is principal.all_roles()
    assert principal.all_roles() == expand_roles((role,), graph) == {role, other}
    extra = ObjectId()
    assert principal.all_roles((extra,)) == {role, other, extra}
