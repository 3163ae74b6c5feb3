"""Tests for cortex_runtime.objects.query: where/sort/limit/skip/pipeline compilation.

Fault tables assert errCode, status and that the reason names the property or operator;
execution tests run the compiled documents against a mongomock collection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import mongomock
import pytest
from bson import ObjectId

from cortex_runtime.faults import Fault
from cortex_runtime.objects.model import ObjectDef, ObjectType, PropertyDef
from cortex_runtime.objects.query import (
    ACCOUNT_NATIVE_INDEXED,
    CompiledPipeline,
    QueryContext,
    check_exclusive,
    check_limit,
    check_skip,
    compile_pipeline,
    compile_sort,
    compile_where,
)

HEX = "0123456789abcdef01234567"
HEX2 = "76543210fedcba9876543210"
OWNER = ObjectId("5f0000000000000000000001")
QUERY = "cortex.invalidArgument.query"
EXACT = "cortex.unsupportedOperation.exactMatching"
CAST = "cortex.invalidArgument.castError"

REST = QueryContext(kind="rest")
SCRIPT = QueryContext(kind="script")


def prop(name: str, type_name: str, **options: Any) -> PropertyDef:
    return PropertyDef(name=name, label=name, type=type_name, **options)


def reading() -> ObjectDef:
    """The c_reading definition most tests use."""
    return ObjectDef(
        name="c_reading",
        label="Reading",
        plural_name="c_readings",
        properties=[
            prop("c_bpm", "Number", indexed=True),
            prop("c_note", "String"),
            prop("c_name", "String", indexed=True),
            prop("c_secret", "String", indexed=True, read_access=6),
            prop("c_active", "Boolean", indexed=True),
            prop("c_when", "Date", indexed=True),
            prop("c_oid", "ObjectId", indexed=True),
            prop("c_opt", "Number"),
            prop("c_tags", "String", array=True, indexed=True),
            prop("c_scores", "Number", array=True, indexed=True),
            prop(
                "c_items",
                "Document",
                array=True,
                properties=[
                    prop("c_label", "String", indexed=True),
                    prop("c_qty", "Number", indexed=True, read_access=5),
                    prop("c_memo", "String"),
                ],
            ),
            prop("c_doc", "Document", properties=[prop("c_code", "String", indexed=True)]),
            prop("c_ref", "Reference", indexed=True, source_object="account"),
            prop("c_refs", "Reference", array=True, indexed=True, source_object="account"),
            prop("c_loc", "Geometry", indexed=True),
            prop("c_list", "List", source_object="c_other"),
            prop("c_hidden", "String", indexed=True, readable=False),
            prop("c_any", "Any"),
        ],
    )


def account() -> ObjectDef:
    return ObjectDef(
        name="account",
        label="Account",
        plural_name="accounts",
        standard=True,
        properties=[
            prop("email", "String"),
            prop("name", "Document", properties=[prop("first", "String"), prop("last", "String")]),
            prop("c_group", "String"),
        ],
    )


def typed_object(same: bool) -> ObjectDef:
    """c_assessment with two object types that both define c_x (same or different type)."""
    return ObjectDef(
        name="c_assessment",
        label="Assessment",
        plural_name="c_assessments",
        properties=[prop("c_base", "Number", indexed=True)],
        object_types=[
            ObjectType("c_a", "A", [prop("c_x", "Number", indexed=True)]),
            ObjectType("c_b", "B", [prop("c_x", "Number" if same else "String", indexed=True)]),
        ],
    )


def expect_fault(fn: Callable[[], Any], err_code: str, status: int, *needles: str, path: str | None = None) -> Fault:
    with pytest.raises(Fault) as caught:
        fn()
    fault = caught.value
    assert fault.errCode == err_code
    assert fault.status == status
    text = f"{fault.reason or ''}"
    for needle in needles:
        assert needle in text, (needle, text)
    if path is not None:
        assert fault.path == path
    return fault


# ----------------------------------------------------------------------------------------------
# where: faults


WHERE_FAULTS: list[tuple[str, Any, str, int, tuple[str, ...], str | None]] = [
    ("non-indexed", {"c_note": "x"}, QUERY, 400, ("Matches can only occur on indexed properties.", "c_note"), "c_note"),
    ("updated-not-native", {"updated": {"$gt": "2020-01-01"}}, QUERY, 400, ("Matches can only occur on indexed properties.", "updated"), "updated"),
    ("updater-not-native", {"updater": HEX}, QUERY, 400, ("indexed properties", "updater"), "updater"),
    ("unknown", {"c_missing": 1}, QUERY, 400, ("c_missing",), "c_missing"),
    ("hidden-rest", {"c_hidden": "x"}, QUERY, 400, ("c_hidden",), "c_hidden"),
    ("list", {"c_list": "x"}, QUERY, 400, ("Matches can only occur on indexed properties.", "c_list"), "c_list"),
    ("any", {"c_any": 1}, QUERY, 400, ("indexed properties", "c_any"), "c_any"),
    ("through-reference", {"c_ref.name": "x"}, QUERY, 400, ("c_ref.name",), "c_ref.name"),
    ("not", {"c_bpm": {"$not": {"$gt": 1}}}, QUERY, 400, ("Invalid operator $not",), "c_bpm"),
    ("nor", {"$nor": [{"c_bpm": 1}]}, QUERY, 400, ("Invalid operator $nor",), None),
    ("ne-restricted", {"c_bpm": {"$ne": 1}}, QUERY, 400, ("Invalid operator $ne",), "c_bpm"),
    ("nin-restricted", {"c_bpm": {"$nin": [1]}}, QUERY, 400, ("Invalid operator $nin",), "c_bpm"),
    ("type-restricted", {"c_bpm": {"$type": "double"}}, QUERY, 400, ("Invalid operator $type",), "c_bpm"),
    ("where-op", {"$where": "this.c_bpm > 1"}, QUERY, 400, ("Invalid operator $where",), None),
    ("expr-op", {"$expr": {"$gt": ["$c_bpm", 1]}}, QUERY, 400, ("Invalid operator $expr",), None),
    ("field-or", {"c_bpm": {"$or": [{"$gt": 1}]}}, QUERY, 400, ("Invalid operator $or",), "c_bpm"),
    ("options-key", {"c_name": {"$regex": "/a/", "$options": "i"}}, QUERY, 400, ("Invalid operator $options",), "c_name"),
    ("mixed-keys", {"c_bpm": {"$gt": 1, "x": 2}}, QUERY, 400, ("Invalid operator x",), "c_bpm"),
    ("in-not-array", {"c_bpm": {"$in": 5}}, QUERY, 400, ("$in",), "c_bpm"),
    ("in-too-long", {"c_bpm": {"$in": list(range(10001))}}, QUERY, 400, ("$in", "10000"), "c_bpm"),
    ("all-too-long", {"c_tags": {"$all": ["a"] * 10001}}, QUERY, 400, ("$all", "10000"), "c_tags"),
    ("and-empty", {"$and": []}, QUERY, 400, ("$and", "between 1 and 100"), None),
    ("or-101", {"$or": [{"c_bpm": i} for i in range(101)]}, QUERY, 400, ("$or", "101"), None),
    ("or-not-array", {"$or": {"c_bpm": 1}}, QUERY, 400, ("$or",), None),
    ("or-non-indexed-inside", {"$or": [{"c_bpm": 1}, {"c_note": "x"}]}, QUERY, 400, ("indexed properties", "c_note"), "c_note"),
    ("regex-no-slashes", {"c_name": {"$regex": "^s"}}, QUERY, 400, ("$regex",), "c_name"),
    ("regex-empty", {"c_name": {"$regex": "//"}}, QUERY, 400, ("$regex", "255"), "c_name"),
    ("regex-too-long", {"c_name": {"$regex": "/" + "a" * 256 + "/"}}, QUERY, 400, ("$regex", "255"), "c_name"),
    ("regex-bad-flag", {"c_name": {"$regex": "/a/q"}}, QUERY, 400, ("$regex",), "c_name"),
    ("regex-bad-pattern", {"c_name": {"$regex": "/(a/"}}, QUERY, 400, ("$regex",), "c_name"),
    ("regex-non-string", {"c_bpm": {"$regex": "/1/"}}, QUERY, 400, ("$regex", "c_bpm"), "c_bpm"),
    ("regex-not-text", {"c_name": {"$regex": 5}}, QUERY, 400, ("$regex",), "c_name"),
    ("within-non-geometry", {"c_bpm": {"$within": {"$center": [0, 0], "$radius": 1}}}, QUERY, 400, ("$within", "c_bpm"), "c_bpm"),
    ("within-shape", {"c_loc": {"$within": {"$center": [0, 0]}}}, QUERY, 400, ("$within",), "c_loc"),
    ("within-radius", {"c_loc": {"$within": {"$center": [0, 0], "$radius": -1}}}, QUERY, 400, ("$radius",), "c_loc"),
    ("within-range", {"c_loc": {"$within": {"$center": [200, 0], "$radius": 1}}}, QUERY, 400, ("$center",), "c_loc"),
    ("size-negative", {"c_tags": {"$size": -1}}, QUERY, 400, ("$size",), "c_tags"),
    ("size-non-array", {"c_bpm": {"$size": 1}}, QUERY, 400, ("$size", "c_bpm"), "c_bpm"),
    ("elemmatch-non-array", {"c_bpm": {"$elemMatch": {"$gt": 1}}}, QUERY, 400, ("$elemMatch", "c_bpm"), "c_bpm"),
    ("elemmatch-not-object", {"c_scores": {"$elemMatch": 5}}, QUERY, 400, ("$elemMatch",), "c_scores"),
    ("elemmatch-fields-on-primitives", {"c_scores": {"$elemMatch": {"c_x": 1}}}, QUERY, 400, ("$elemMatch",), "c_scores"),
    ("elemmatch-child-not-indexed", {"c_items": {"$elemMatch": {"c_memo": "x"}}}, QUERY, 400, ("indexed properties", "c_items.c_memo"), "c_items.c_memo"),
    ("elemmatch-child-unknown", {"c_items": {"$elemMatch": {"c_nope": "x"}}}, QUERY, 400, ("c_items.c_nope",), "c_items.c_nope"),
    ("doc-array-size", {"c_items": {"$size": 1}}, QUERY, 400, ("indexed properties", "c_items"), "c_items"),
    ("all-mixed", {"c_items": {"$all": [{"$elemMatch": {"c_label": "a"}}, "b"]}}, QUERY, 400, ("$all",), "c_items"),
    ("all-non-array", {"c_bpm": {"$all": [1]}}, QUERY, 400, ("$all", "c_bpm"), "c_bpm"),
    ("exists-non-bool", {"c_bpm": {"$exists": 1}}, QUERY, 400, ("$exists",), "c_bpm"),
    ("gt-boolean", {"c_active": {"$gt": True}}, QUERY, 400, ("$gt", "c_active"), "c_active"),
    ("gt-object", {"c_bpm": {"$gt": {"a": 1}}}, QUERY, 400, ("$gt",), "c_bpm"),
    ("too-deep", {"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [
        {"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"c_bpm": 1}]}]}]}]}]}]}]}]}]}]}
    ]}]}]}]}]}]}]}]}]}]}, QUERY, 400, ("20",), None),
    ("exact-array", {"c_tags": ["a", "b"]}, EXACT, 501, ("c_tags",), "c_tags"),
    ("exact-object", {"c_doc": {"c_code": "x"}}, EXACT, 501, ("c_doc",), "c_doc"),
    ("exact-empty-object", {"c_bpm": {}}, EXACT, 501, ("c_bpm",), "c_bpm"),
    ("exact-eq-array", {"c_tags": {"$eq": ["a"]}}, EXACT, 501, ("c_tags",), "c_tags"),
    ("exact-in-array", {"c_tags": {"$in": [["a"]]}}, EXACT, 501, ("c_tags",), "c_tags"),
    ("exact-geometry", {"c_loc": [1, 2]}, EXACT, 501, ("c_loc",), "c_loc"),
    ("exact-all-arrays", {"c_tags": {"$all": [["a"]]}}, EXACT, 501, ("c_tags",), "c_tags"),
    # fidelity.md §1: the reason is the expression types' 'Could not cast "<v>" to <Type>.' (it
    # named the property before); the property stays in path.
    ("cast-number", {"c_bpm": "abc"}, CAST, 400, ('Could not cast "abc" to Number.',), "c_bpm"),
    ("cast-id", {"_id": "not-an-id"}, CAST, 400, ('Could not cast "not-an-id" to ObjectId.',), "_id"),
    ("cast-reference", {"owner": "zz"}, CAST, 400, ('Could not cast "zz" to ObjectId.',), "owner"),
    ("cast-date", {"c_when": "yesterday"}, CAST, 400, ('Could not cast "yesterday" to Date.',), "c_when"),
    ("cast-boolean", {"c_active": "yes"}, CAST, 400, ('Could not cast "yes" to Boolean.',), "c_active"),
    ("cast-in-element", {"c_oid": {"$in": [HEX, "nope"]}}, CAST, 400, ('Could not cast "nope" to ObjectId.',), "c_oid"),
]


@pytest.mark.parametrize(
    ("where", "err_code", "status", "needles", "path"),
    [pytest.param(*row[1:], id=row[0]) for row in WHERE_FAULTS],
)
def test_where_faults(where: Any, err_code: str, status: int, needles: tuple[str, ...], path: str | None) -> None:
    expect_fault(lambda: compile_where(reading(), where, REST), err_code, status, *needles, path=path)


@pytest.mark.parametrize("where", [[{"c_bpm": 1}], "c_bpm", 5, True], ids=["list", "string", "number", "bool"])
def test_where_must_be_an_object(where: Any) -> None:
    fault = expect_fault(lambda: compile_where(reading(), where, REST), QUERY, 400, "object")
    assert fault.code == "kInvalidArgument"


def test_fault_wire_shape_for_non_indexed_match() -> None:
    fault = expect_fault(lambda: compile_where(reading(), {"c_note": "x"}, REST), QUERY, 400)
    wire = fault.to_json()
    assert wire["code"] == "kInvalidArgument"
    assert wire["path"] == "c_note"
    assert wire["reason"].startswith("Matches can only occur on indexed properties.")


def test_hidden_property_is_matchable_in_scripts() -> None:
    assert compile_where(reading(), {"c_hidden": "x"}, SCRIPT).filter == {"c_hidden": "x"}


def test_object_types_with_conflicting_property_types_are_refused() -> None:
    expect_fault(
        lambda: compile_where(typed_object(same=False), {"c_x": 1}, REST),
        "cortex.unsupportedOperation.typedQueryExpression",
        501,
        "c_x",
        path="c_x",
    )


def test_object_types_with_matching_property_types_are_allowed() -> None:
    assert compile_where(typed_object(same=True), {"c_x": "5", "type": "c_a"}, REST).filter == {"c_x": 5, "type": "c_a"}


# ----------------------------------------------------------------------------------------------
# where: compiled filters


WHERE_OK: list[tuple[str, Any, dict[str, Any]]] = [
    ("equality", {"c_bpm": 72}, {"c_bpm": 72}),
    ("number-cast", {"c_bpm": "72"}, {"c_bpm": 72}),
    ("float-cast", {"c_bpm": "72.5"}, {"c_bpm": 72.5}),
    ("string-cast", {"c_name": 5}, {"c_name": "5"}),
    ("boolean-cast", {"c_active": "true"}, {"c_active": True}),
    ("null", {"c_name": None}, {"c_name": None}),
    ("eq", {"c_bpm": {"$eq": 60}}, {"c_bpm": {"$eq": 60}}),
    ("range", {"c_bpm": {"$gt": 60, "$lte": 90}}, {"c_bpm": {"$gt": 60, "$lte": 90}}),
    ("owner", {"owner": HEX}, {"owner._id": ObjectId(HEX)}),
    ("owner-id", {"owner._id": HEX}, {"owner._id": ObjectId(HEX)}),
    ("creator-id", {"creator._id": {"$in": [HEX, HEX2]}}, {"creator._id": {"$in": [ObjectId(HEX), ObjectId(HEX2)]}}),
    ("owner-twice", {"owner": HEX, "owner._id": HEX2}, {"$and": [{"owner._id": ObjectId(HEX)}, {"owner._id": ObjectId(HEX2)}]}),
    ("id-paging", {"_id": {"$gt": HEX}}, {"_id": {"$gt": ObjectId(HEX)}}),
    ("object-type", {"object": "c_reading", "type": None}, {"object": "c_reading", "type": None}),
    ("created-iso", {"created": {"$lt": "2020-01-01T00:00:00.000Z"}}, {"created": {"$lt": datetime(2020, 1, 1)}}),
    ("date-offset", {"c_when": "2020-01-01T10:00:00+02:00"}, {"c_when": datetime(2020, 1, 1, 8)}),
    ("date-only", {"c_when": "2020-03-04"}, {"c_when": datetime(2020, 3, 4)}),
    ("date-epoch-ms", {"c_when": 0}, {"c_when": datetime(1970, 1, 1)}),
    ("objectid", {"c_oid": HEX}, {"c_oid": ObjectId(HEX)}),
    ("reference", {"c_ref": {"$in": [HEX]}}, {"c_ref._id": {"$in": [ObjectId(HEX)]}}),
    ("reference-id-path", {"c_ref._id": HEX}, {"c_ref._id": ObjectId(HEX)}),
    ("reference-array-elem", {"c_refs": {"$elemMatch": {"$eq": HEX}}}, {"c_refs": {"$elemMatch": {"_id": {"$eq": ObjectId(HEX)}}}}),
    ("regex", {"c_name": {"$regex": "/^s/i"}}, {"c_name": {"$regex": "^s", "$options": "i"}}),
    ("regex-flags", {"c_name": {"$regex": "/a.b/gms"}}, {"c_name": {"$regex": "a.b", "$options": "ms"}}),
    ("regex-slash-inside", {"c_name": {"$regex": "/a/b/"}}, {"c_name": {"$regex": "a/b", "$options": ""}}),
    (
        "within",
        {"c_loc": {"$within": {"$center": [-122.14, 37.44], "$radius": 10}}},
        {"c_loc": {"$geoWithin": {"$centerSphere": [[-122.14, 37.44], 10 / 6378.1]}}},
    ),
    ("all", {"c_tags": {"$all": ["a", "b"]}}, {"c_tags": {"$all": ["a", "b"]}}),
    (
        "all-elemmatch",
        {"c_items": {"$all": [{"$elemMatch": {"c_label": "a"}}, {"$elemMatch": {"c_qty": {"$gt": "1"}}}]}},
        {"c_items": {"$all": [{"$elemMatch": {"c_label": "a"}}, {"$elemMatch": {"c_qty": {"$gt": 1}}}]}},
    ),
    ("size", {"c_tags": {"$size": 2}}, {"c_tags": {"$size": 2}}),
    ("exists", {"c_bpm": {"$exists": False}}, {"c_bpm": {"$exists": False}}),
    ("array-contains", {"c_tags": "a"}, {"c_tags": "a"}),
    ("elemmatch-primitive", {"c_scores": {"$elemMatch": {"$gt": 5, "$lt": "10"}}}, {"c_scores": {"$elemMatch": {"$gt": 5, "$lt": 10}}}),
    (
        "elemmatch-documents",
        {"c_items": {"$elemMatch": {"c_label": "x", "$or": [{"c_qty": 1}, {"c_qty": {"$gte": 5}}]}}},
        {"c_items": {"$elemMatch": {"c_label": "x", "$or": [{"c_qty": 1}, {"c_qty": {"$gte": 5}}]}}},
    ),
    ("document-child", {"c_doc.c_code": "x"}, {"c_doc.c_code": "x"}),
    ("doc-array-child", {"c_items.c_label": "x"}, {"c_items.c_label": "x"}),
    (
        "and-or",
        {"$and": [{"c_bpm": {"$gte": 60}}, {"$or": [{"c_name": "a"}, {"c_tags": "b"}]}]},
        {"$and": [{"c_bpm": {"$gte": 60}}, {"$or": [{"c_name": "a"}, {"c_tags": "b"}]}]},
    ),
    ("in-max", {"c_bpm": {"$in": list(range(10000))}}, {"c_bpm": {"$in": list(range(10000))}}),
    ("or-100", {"$or": [{"c_bpm": i} for i in range(100)]}, {"$or": [{"c_bpm": i} for i in range(100)]}),
    ("empty", {}, {}),
]


@pytest.mark.parametrize(("where", "expected"), [pytest.param(*row[1:], id=row[0]) for row in WHERE_OK])
def test_where_compiles(where: Any, expected: dict[str, Any]) -> None:
    assert compile_where(reading(), where, REST).filter == expected


def test_where_none_is_empty() -> None:
    compiled = compile_where(reading(), None, REST)
    assert (compiled.filter, compiled.required_access, compiled.paths) == ({}, 1, set())


@pytest.mark.parametrize(
    ("allowed", "where", "expected"),
    [
        (frozenset({"$ne"}), {"c_bpm": {"$ne": 5}}, {"c_bpm": {"$ne": 5}}),
        (frozenset({"$nin"}), {"owner": {"$nin": [HEX]}}, {"owner._id": {"$nin": [ObjectId(HEX)]}}),
        (frozenset({"$type"}), {"c_bpm": {"$type": "double"}}, {"c_bpm": {"$type": "double"}}),
        (frozenset({"*"}), {"c_bpm": {"$ne": 5, "$nin": [1, 2]}}, {"c_bpm": {"$ne": 5, "$nin": [1, 2]}}),
        (frozenset({"ne"}), {"c_bpm": {"$ne": 5}}, {"c_bpm": {"$ne": 5}}),
    ],
)
def test_restricted_operators_when_allowed(allowed: frozenset[str], where: Any, expected: dict[str, Any]) -> None:
    ctx = QueryContext(kind="rest", allowed_restricted_ops=allowed)
    assert compile_where(reading(), where, ctx).filter == expected


def test_allowing_one_restricted_operator_does_not_allow_others() -> None:
    ctx = QueryContext(kind="script", allowed_restricted_ops=frozenset({"$ne"}))
    expect_fault(lambda: compile_where(reading(), {"c_bpm": {"$nin": [1]}}, ctx), QUERY, 400, "Invalid operator $nin", path="c_bpm")


@pytest.mark.parametrize("op", ["$not", "$nor"])
def test_not_and_nor_are_refused_even_with_star(op: str) -> None:
    ctx = QueryContext(kind="script", allowed_restricted_ops=frozenset({"*"}))
    where = {"c_bpm": {op: {"$gt": 1}}} if op == "$not" else {op: [{"c_bpm": 1}]}
    expect_fault(lambda: compile_where(reading(), where, ctx), QUERY, 400, f"Invalid operator {op}")


@pytest.mark.parametrize(
    ("where", "required", "paths"),
    [
        ({"c_bpm": 1}, 4, {"c_bpm"}),
        ({"c_secret": "x"}, 6, {"c_secret"}),
        ({"owner": HEX, "created": {"$gt": "2020-01-01"}}, 1, {"owner", "created"}),
        ({"$or": [{"c_bpm": 1}, {"c_secret": "x"}]}, 6, {"c_bpm", "c_secret"}),
        ({"c_items": {"$elemMatch": {"c_qty": 1}}}, 5, {"c_items", "c_items.c_qty"}),
        ({}, 1, set()),
    ],
)
def test_required_access_and_paths(where: Any, required: int, paths: set[str]) -> None:
    compiled = compile_where(reading(), where, REST)
    assert compiled.required_access == required
    assert compiled.paths == paths


def test_account_native_paths() -> None:
    ctx = QueryContext(kind="rest", native_indexed=ACCOUNT_NATIVE_INDEXED)
    where = {
        "name.last": {"$regex": "/^s/i"},
        "email": "a@b.c",
        "roles": HEX,
        "dob": {"$lt": "2000-01-01"},
    }
    assert compile_where(account(), where, ctx).filter == {
        "name.last": {"$regex": "^s", "$options": "i"},
        "email": "a@b.c",
        "roles": ObjectId(HEX),
        "dob": {"$lt": datetime(2000, 1, 1)},
    }
    expect_fault(lambda: compile_where(account(), {"c_group": "a"}, ctx), QUERY, 400, "c_group", path="c_group")


def test_account_native_paths_need_the_context() -> None:
    expect_fault(lambda: compile_where(account(), {"email": "a@b.c"}, REST), QUERY, 400, "indexed properties", "email", path="email")


# ----------------------------------------------------------------------------------------------
# sort


@pytest.mark.parametrize(
    ("sort", "ctx", "expected"),
    [
        (None, REST, [("_id", -1)]),
        ("", REST, [("_id", -1)]),
        ({}, SCRIPT, [("_id", -1)]),
        (None, QueryContext(default_sort_order=1), [("_id", 1)]),
        (None, QueryContext(default_sort_order=0), []),
        ("c_bpm", REST, [("c_bpm", 1)]),
        ({"c_bpm": -1, "created": 1}, REST, [("c_bpm", -1), ("created", 1)]),
        ({"owner": 1}, REST, [("owner._id", 1)]),
        ({"_id": 1.0}, REST, [("_id", 1)]),
        ({"c_doc.c_code": -1}, REST, [("c_doc.c_code", -1)]),
    ],
)
def test_sort_compiles(sort: Any, ctx: QueryContext, expected: list[tuple[str, int]]) -> None:
    assert compile_sort(reading(), sort, ctx) == expected


SORT_FAULTS: list[tuple[str, Any, tuple[str, ...], str | None]] = [
    ("non-indexed", {"c_note": 1}, ("Sorting can only occur on indexed properties.", "c_note"), "c_note"),
    ("non-indexed-string", "c_note", ("Sorting can only occur on indexed properties.", "c_note"), "c_note"),
    ("updated", {"updated": -1}, ("Sorting can only occur on indexed properties.", "updated"), "updated"),
    ("array", {"c_tags": 1}, ("Sorting can only occur on indexed properties.", "c_tags"), "c_tags"),
    ("geometry", {"c_loc": 1}, ("c_loc",), "c_loc"),
    ("unknown", {"c_nope": 1}, ("c_nope",), "c_nope"),
    ("hidden", {"c_hidden": 1}, ("c_hidden",), "c_hidden"),
    ("direction-2", {"c_bpm": 2}, ("c_bpm", "1 or -1"), "c_bpm"),
    ("direction-bool", {"c_bpm": True}, ("c_bpm",), "c_bpm"),
    ("direction-string", {"c_bpm": "desc"}, ("c_bpm",), "c_bpm"),
    ("not-object", 5, ("sort",), None),
    ("operator-key", {"$natural": 1}, ("$natural",), None),
]


@pytest.mark.parametrize(("sort", "needles", "path"), [pytest.param(*row[1:], id=row[0]) for row in SORT_FAULTS])
def test_sort_faults(sort: Any, needles: tuple[str, ...], path: str | None) -> None:
    expect_fault(lambda: compile_sort(reading(), sort, REST), QUERY, 400, *needles, path=path)


# ----------------------------------------------------------------------------------------------
# limit, skip, exclusivity


@pytest.mark.parametrize(
    ("limit", "ctx", "expected"),
    [
        (None, REST, 100),
        (1, REST, 1),
        (1000, REST, 1000),
        ("10", REST, 10),
        (5.0, REST, 5),
        (None, SCRIPT, None),
        (10000, SCRIPT, 10000),
        (1_000_000_000, SCRIPT, 1_000_000_000),
        # fidelity.md §5: a script cursor's limit has no upper bound (was refused above 10**9).
        (1_000_000_001, SCRIPT, 1_000_000_001),
    ],
)
def test_limit_accepted(limit: Any, ctx: QueryContext, expected: int | None) -> None:
    assert check_limit(limit, ctx) == expected


@pytest.mark.parametrize(
    ("limit", "ctx"),
    [
        (0, REST),
        (1001, REST),
        (-1, REST),
        (1.5, REST),
        ("abc", REST),
        (True, REST),
        ([], REST),
        (0, SCRIPT),
        (2.5, SCRIPT),
    ],
)
def test_limit_refused(limit: Any, ctx: QueryContext) -> None:
    expect_fault(lambda: check_limit(limit, ctx), QUERY, 400, "limit")


def test_rest_limit_message_names_range() -> None:
    expect_fault(lambda: check_limit(1001, REST), QUERY, 400, "between 1 and 1000")


# fidelity.md §5: a non-integer find skip (1.5, "x", true, {}) becomes 0 silently; these were refused.
@pytest.mark.parametrize(
    ("skip", "expected"),
    [(None, 0), (0, 0), (500000, 500000), ("20", 20), (3.0, 3), (1.5, 0), ("x", 0), (True, 0), ({}, 0)],
)
def test_skip_accepted(skip: Any, expected: int) -> None:
    assert check_skip(skip) == expected


@pytest.mark.parametrize("skip", [-1, 500001, "-3"])
def test_skip_refused(skip: Any) -> None:
    expect_fault(lambda: check_skip(skip), QUERY, 400, "skip")


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        ({"pipeline": [], "where": {"c_bpm": 1}}, ("pipeline", "where")),
        ({"pipeline": [], "sort": "c_bpm"}, ("pipeline", "sort")),
        ({"pipeline": [], "map": "c_tags"}, ("pipeline", "map")),
        ({"pipeline": [], "group": {"_id": None}}, ("pipeline", "group")),
        ({"pipeline": [], "startingAfter": HEX}, ("pipeline", "startingAfter")),
        ({"startingAfter": HEX, "where": {}}, ("startingAfter", "where")),
        ({"endingBefore": HEX, "sort": "c_bpm"}, ("endingBefore", "sort")),
        ({"startingAfter": HEX, "endingBefore": HEX}, ("startingAfter", "endingBefore")),
    ],
)
def test_exclusive_options_refused(options: dict[str, Any], needles: tuple[str, ...]) -> None:
    expect_fault(lambda: check_exclusive(options), QUERY, 400, *needles)


@pytest.mark.parametrize(
    "options",
    [
        {"pipeline": [{"$limit": 1}], "limit": 5, "skip": 2},
        {"pipeline": [], "where": None, "sort": None},
        {"where": {"c_bpm": 1}, "sort": "c_bpm", "limit": 1},
        {"startingAfter": HEX, "limit": 3},
    ],
)
def test_exclusive_options_allowed(options: dict[str, Any]) -> None:
    check_exclusive(options)


# ----------------------------------------------------------------------------------------------
# pipelines: faults


def deep_expression(depth: int) -> Any:
    expr: Any = "c_bpm"
    for _ in range(depth):
        expr = {"$abs": expr}
    return expr


PIPELINE_FAULTS: list[tuple[str, Any, str, int, tuple[str, ...]]] = [
    ("not-a-list", {"$match": {}}, QUERY, 400, ("array",)),
    ("21-stages", [{"$skip": 0}] * 21, QUERY, 400, ("20", "21")),
    ("unknown-stage", [{"$lookup": {"from": "x"}}], QUERY, 400, ('"$lookup" is not a valid pipeline stage',)),
    ("out-stage", [{"$out": "x"}], QUERY, 400, ('"$out" is not a valid pipeline stage',)),
    ("bare-stage", [{"match": {}}], QUERY, 400, ('"match" is not a valid pipeline stage',)),
    ("empty-stage", [{}], QUERY, 400, ("empty",)),
    ("non-object-stage", ["$match"], QUERY, 400, ("stage 0",)),
    ("two-keys", [{"$match": {}, "$limit": 1}], QUERY, 400, ("exactly one key", "$match", "$limit")),
    ("first-match-non-indexed", [{"$match": {"c_note": "x"}}], QUERY, 400, ("Matches can only occur on indexed properties.", "c_note")),
    ("match-after-sort-strict", [{"$sort": {"c_bpm": 1}}, {"$match": {"c_note": "x"}}], QUERY, 400, ("indexed properties", "c_note")),
    ("first-sort-non-indexed", [{"$sort": {"c_note": 1}}], QUERY, 400, ("Sorting can only occur on indexed properties.", "c_note")),
    ("sort-empty", [{"$sort": {}}], QUERY, 400, ("$sort",)),
    # fidelity.md §9: a string stage is parsed as JSON; text that is not JSON is stageJSONFormat.
    ("sort-string", [{"$sort": "c_bpm"}], "cortex.invalidArgument.stageJSONFormat", 400, ()),
    ("sort-direction", [{"$project": {"c_bpm": 1}}, {"$sort": {"c_bpm": 0}}], QUERY, 400, ("c_bpm", "1 or -1")),
    ("restricted-late", [{"$project": {"c_note": 1}}, {"$match": {"c_note": {"$ne": "x"}}}], QUERY, 400, ("Invalid operator $ne",)),
    ("not-late", [{"$limit": 5}, {"$match": {"x": {"$not": {"$gt": 1}}}}], QUERY, 400, ("Invalid operator $not",)),
    ("late-unknown-child", [{"$limit": 5}, {"$match": {"c_items": {"$elemMatch": {"c_nope": 1}}}}], QUERY, 400, ("c_items.c_nope",)),
    # fidelity.md §5: a bad $skip stage gives the find option's reason text, which names "skip", not "$skip".
    ("skip-negative", [{"$skip": -1}], QUERY, 400, ("skip query option", "between 0 and 500000")),
    ("skip-too-big", [{"$skip": 500001}], QUERY, 400, ("skip query option", "500000")),
    ("limit-zero", [{"$limit": 0}], QUERY, 400, ("$limit",)),
    ("limit-too-big", [{"$limit": 500001}], QUERY, 400, ("$limit", "500000")),
    # fidelity.md §5: an integer string is read as the integer, so the refused string is a non-integer one.
    ("limit-string", [{"$limit": "five"}], QUERY, 400, ("$limit",)),
    ("limit-bool", [{"$limit": True}], QUERY, 400, ("$limit",)),
    ("project-empty", [{"$project": {}}], QUERY, 400, ("$project",)),
    ("project-only-id", [{"$project": {"_id": 1}}], QUERY, 400, ("output field",)),
    ("project-id-zero", [{"$project": {"_id": 0, "c_bpm": 1}}], QUERY, 400, ("_id",)),
    ("project-exclusion", [{"$project": {"c_bpm": 0}}], QUERY, 400, ("c_bpm",)),
    ("project-number", [{"$project": {"x": 5}}], QUERY, 400, ("x",)),
    # fidelity.md §9: the platform's texts for an expression output named like an existing property.
    ("project-overwrite", [{"$project": {"c_bpm": {"$add": ["c_bpm", 1]}}}], QUERY, 400, ("Cannot rename existing property fields.",)),
    ("project-overwrite-builtin", [{"$project": {"created": {"$literal": 1}}}], QUERY, 400, ("Cannot rename existing property fields.",)),
    ("project-bad-name", [{"$project": {"$x": 1}}], QUERY, 400, ("$x",)),
    ("project-hidden", [{"$project": {"c_hidden": 1}}], QUERY, 400, ("c_hidden",)),
    ("project-nested-object", [{"$project": {"x": {"a": 1}}}], QUERY, 400, ("$object",)),
    ("group-no-id", [{"$group": {"n": {"$sum": 1}}}], QUERY, 400, ("_id",)),
    # fidelity.md §9: the platform's $group texts (the bad field name is the fault's path, not in the reason).
    ("group-null-no-acc", [{"$group": {"_id": None}}], QUERY, 400, ("Group component requires at least one expression when grouping by null",)),
    ("group-bad-name", [{"$group": {"_id": None, "a b": {"$sum": 1}}}], QUERY, 400, ("Top-level grouping must fields must match",)),
    ("group-long-name", [{"$group": {"_id": None, "a" * 41: {"$sum": 1}}}], QUERY, 400, ("/^[a-zA-Z0-9-_]{1,40}$/",)),
    ("group-two-acc", [{"$group": {"_id": None, "n": {"$sum": 1, "$avg": "c_bpm"}}}], QUERY, 400, ("single supported accumulator",)),
    ("group-unknown-acc", [{"$group": {"_id": None, "n": {"$median": "c_bpm"}}}], QUERY, 400, ("Invalid operator $median",)),
    ("group-acc-not-object", [{"$group": {"_id": None, "n": 1}}], QUERY, 400, ("n",)),
    # fidelity.md §9: a string stage that is not JSON is stageJSONFormat.
    ("group-not-object", [{"$group": "c_bpm"}], "cortex.invalidArgument.stageJSONFormat", 400, ()),
    ("unwind-object", [{"$unwind": {"path": "$c_tags"}}], QUERY, 400, ("$unwind",)),
    ("unwind-bad-path", [{"$unwind": "c tags"}], QUERY, 400, ("$unwind",)),
    # fidelity.md §9: $addFields may overwrite a property (the row that refused it is gone); it
    # refuses the keys meta, idx, aclv, sequence, reap, favorites and facets instead.
    ("addfields-forbidden", [{"$addFields": {"meta": 1}}], QUERY, 400, ("meta cannot be used as key",)),
    ("addfields-empty", [{"$addFields": {}}], QUERY, 400, ("$addFields",)),
    ("expr-unknown-op", [{"$project": {"x": {"$foo": 1}}}], QUERY, 400, ("Invalid operator $foo",)),
    ("expr-function", [{"$project": {"x": {"$function": {}}}}], QUERY, 400, ("Invalid operator $function",)),
    ("expr-gt-three", [{"$project": {"x": {"$gt": ["c_bpm", 1, 2]}}}], QUERY, 400, ("$gt", "2")),
    ("expr-gt-query-form", [{"$project": {"x": {"$gt": {"c_bpm": 1}}}}], QUERY, 400, ("$gt",)),
    ("expr-divide-one", [{"$project": {"x": {"$divide": [10]}}}], QUERY, 400, ("$divide",)),
    ("expr-substr-two", [{"$project": {"x": {"$substr": ["c_name", 1]}}}], QUERY, 400, ("$substr",)),
    ("expr-cond-two", [{"$project": {"x": {"$cond": ["c_active", 1]}}}], QUERY, 400, ("$cond",)),
    ("expr-cond-object-keys", [{"$project": {"x": {"$cond": {"if": 1, "then": 2}}}}], QUERY, 400, ("$cond",)),
    ("expr-string-literal", [{"$project": {"x": {"$string": 5}}}], QUERY, 400, ("$string expects a string value",)),
    ("expr-number-literal", [{"$project": {"x": {"$number": "5"}}}], QUERY, 400, ("$number",)),
    ("expr-integer-literal", [{"$project": {"x": {"$integer": 1.5}}}], QUERY, 400, ("$integer",)),
    ("expr-boolean-literal", [{"$project": {"x": {"$boolean": 1}}}], QUERY, 400, ("$boolean",)),
    ("expr-date-literal", [{"$project": {"x": {"$date": "soon"}}}], QUERY, 400, ("$date",)),
    ("expr-objectid-literal", [{"$project": {"x": {"$objectId": "nope"}}}], QUERY, 400, ("$objectId",)),
    ("expr-array-literal", [{"$project": {"x": {"$array": "a"}}}], QUERY, 400, ("$array",)),
    ("expr-object-literal", [{"$project": {"x": {"$object": [1]}}}], QUERY, 400, ("$object",)),
    ("expr-depth-21", [{"$project": {"x": deep_expression(21)}}], QUERY, 400, ("20",)),
    ("expr-101-keys", [{"$project": {"x": {"$object": {f"k{i}": i for i in range(101)}}}}], QUERY, 400, ("100",)),
    ("expr-two-ops", [{"$project": {"x": {"$add": [1], "$multiply": [2]}}}], QUERY, 400, ("exactly one operator",)),
    ("expr-accumulator-outside-group", [{"$project": {"x": {"$sum": "c_bpm"}}}], QUERY, 400, ("$sum", "$group")),
    ("expr-count-outside-group", [{"$addFields": {"x": {"$count": "_id"}}}], QUERY, 400, ("$count", "$group")),
    ("expr-add-two-dates", [{"$project": {"x": {"$add": [{"$date": "2020-01-01"}, {"$date": "2020-01-02"}]}}}], QUERY, 400, ("$add",)),
    ("expr-subtract-types", [{"$project": {"x": {"$subtract": [{"$string": "a"}, 1]}}}], QUERY, 400, ("$subtract",)),
    ("expr-subtract-number-date", [{"$project": {"x": {"$subtract": [1, {"$date": "2020-01-01"}]}}}], QUERY, 400, ("$subtract",)),
    ("expr-bad-path", [{"$project": {"x": "$$ROOT"}}], QUERY, 400, ("$$ROOT",)),
    ("expr-unary-two", [{"$project": {"x": {"$toUpper": ["c_name", "c_note"]}}}], QUERY, 400, ("$toUpper",)),
    ("date-bad-specifier", [{"$project": {"x": {"$dateToString": ["%Q", "created"]}}}], QUERY, 400, ("$dateToString",)),
    ("date-array-one", [{"$project": {"x": {"$dateToString": ["%Y"]}}}], QUERY, 400, ("$dateToString",)),
    ("date-moment-token", [{"$project": {"x": {"$dateToString": {"date": "created", "format": "YY"}}}}], QUERY, 400, ("YY",)),
    ("date-object-no-date", [{"$project": {"x": {"$dateToString": {"format": "YYYY"}}}}], QUERY, 400, ("$dateToString",)),
    ("date-object-extra", [{"$project": {"x": {"$dateToString": {"date": "created", "bogus": 1}}}}], QUERY, 400, ("$dateToString",)),
]


@pytest.mark.parametrize(
    ("stages", "err_code", "status", "needles"),
    [pytest.param(*row[1:], id=row[0]) for row in PIPELINE_FAULTS],
)
def test_pipeline_faults(stages: Any, err_code: str, status: int, needles: tuple[str, ...]) -> None:
    expect_fault(lambda: compile_pipeline(reading(), stages, REST), err_code, status, *needles)


def test_pipeline_fault_carries_path_and_stage_index() -> None:
    fault = expect_fault(
        lambda: compile_pipeline(reading(), [{"$match": {"c_bpm": 1}}, {"$sort": {"c_note": 1}}], REST),
        QUERY,
        400,
        "c_note",
        path="c_note",
    )
    assert fault.path == "c_note"
    fault = expect_fault(lambda: compile_pipeline(reading(), [{"$limit": 1}, {"$bogus": 1}], REST), QUERY, 400, "$bogus")
    assert fault.index == 1


def test_pipeline_exact_matching_in_match() -> None:
    expect_fault(lambda: compile_pipeline(reading(), [{"$match": {"c_tags": ["a"]}}], REST), EXACT, 501, "c_tags", path="c_tags")


def test_twenty_stages_are_allowed() -> None:
    assert len(compile_pipeline(reading(), [{"$skip": 0}] * 20, REST).stages) == 20


# fidelity.md §9: after {$group: {_id: 'c_note'}} only _id is a candidate, so a $match on c_note
# is refused in strict mode; that stage was dropped from this list.
@pytest.mark.parametrize("first", [{"$project": {"c_note": 1}}, {"$unwind": "c_tags"},
                                   {"$skip": 0}, {"$limit": 10}, {"$addFields": {"c_x2": "c_bpm"}}])
def test_match_after_non_indexable_stage_may_use_any_field(first: dict[str, Any]) -> None:
    compiled = compile_pipeline(reading(), [first, {"$match": {"c_note": "x"}}, {"$sort": {"c_note": 1}}], REST)
    assert compiled.stages[-2:] == [{"$match": {"c_note": "x"}}, {"$sort": {"c_note": 1}}]


# ----------------------------------------------------------------------------------------------
# pipelines: compiled stages


PIPELINE_OK: list[tuple[str, Any, list[dict[str, Any]]]] = [
    ("empty", [], []),
    (
        "match-sort",
        [{"$match": {"owner": HEX, "c_bpm": {"$gte": 72}}}, {"$sort": {"c_bpm": -1, "owner": 1}}],
        [{"$match": {"owner._id": ObjectId(HEX), "c_bpm": {"$gte": 72}}}, {"$sort": {"c_bpm": -1, "owner._id": 1}}],
    ),
    ("skip-limit", [{"$skip": 5}, {"$limit": 500000}], [{"$skip": 5}, {"$limit": 500000}]),
    ("unwind", [{"$unwind": "c_tags"}], [{"$unwind": "$c_tags"}]),
    ("unwind-dollar", [{"$unwind": "$c_tags"}], [{"$unwind": "$c_tags"}]),
    (
        "project-rename",
        [{"$project": {"_id": True, "c_bpm": True, "first": "c_name", "lit": {"$string": "on"}}}],
        [{"$project": {"_id": 1, "c_bpm": 1, "first": "$c_name", "lit": {"$literal": "on"}}}],
    ),
    ("divide-order", [{"$project": {"x": {"$divide": [10, 2]}}}], [{"$project": {"x": {"$divide": [10, 2]}}}]),
    ("mod-order", [{"$project": {"x": {"$mod": ["c_bpm", 3]}}}], [{"$project": {"x": {"$mod": ["$c_bpm", 3]}}}]),
    (
        "comparison-two-element",
        [{"$project": {"x": {"$gt": ["c_bpm", 80]}, "y": {"$cmp": ["c_bpm", {"$number": 80}]}}}],
        [{"$project": {"x": {"$gt": ["$c_bpm", 80]}, "y": {"$cmp": ["$c_bpm", {"$literal": 80}]}}}],
    ),
    (
        "cond-object-form",
        [{"$project": {"x": {"$cond": {"if": "c_active", "then": {"$string": "on"}, "else": {"$string": "off"}}}}}],
        [{"$project": {"x": {"$cond": ["$c_active", {"$literal": "on"}, {"$literal": "off"}]}}}],
    ),
    (
        "unary-forms",
        [{"$project": {"a": {"$not": ["c_active"]}, "b": {"$isArray": "c_tags"}, "c": {"$size": [["c_bpm", 1]]}}}],
        [{"$project": {"a": {"$not": "$c_active"}, "b": {"$isArray": "$c_tags"}, "c": {"$size": [["$c_bpm", 1]]}}}],
    ),
    (
        "slice-and-literals",
        [{"$project": {"x": {"$slice": [[1, 5, 7, 9], 1, 2]}, "y": {"$integer": 4.0}, "z": {"$objectId": HEX},
                       "w": {"$array": ["a"]}, "v": {"$object": {"k": "v"}}, "u": {"$boolean": False}}}],
        [{"$project": {"x": {"$slice": [[1, 5, 7, 9], 1, 2]}, "y": {"$literal": 4}, "z": {"$literal": ObjectId(HEX)},
                       "w": {"$literal": ["a"]}, "v": {"$literal": {"k": "v"}}, "u": {"$literal": False}}}],
    ),
    (
        "date-literal",
        [{"$project": {"x": {"$subtract": [{"$date": "2020-01-02T00:00:00.000Z"}, {"$date": "2020-01-01T00:00:00.000Z"}]}}}],
        [{"$project": {"x": {"$subtract": [{"$literal": datetime(2020, 1, 2)}, {"$literal": datetime(2020, 1, 1)}]}}}],
    ),
    (
        "any-element-true",
        [{"$project": {"a": {"$anyElementTrue": ["c_tags"]}, "b": {"$allElementsTrue": ["c_active", "c_bpm"]}}}],
        [{"$project": {"a": {"$anyElementTrue": ["$c_tags"]}, "b": {"$allElementsTrue": [["$c_active", "$c_bpm"]]}}}],
    ),
    (
        "date-to-string-array",
        [{"$project": {"d": {"$dateToString": ["%Y-%m-%d %%", "created"]}}}],
        [{"$project": {"d": {"$dateToString": {"format": "%Y-%m-%d %%", "date": "$created"}}}}],
    ),
    (
        "date-to-string-object",
        [{"$project": {"d": {"$dateToString": {"date": "$created", "format": "MM/DD/YYYY [at] HH:mm:ss.SSS", "timezone": "UTC"}}}}],
        [{"$project": {"d": {"$dateToString": {"date": "$created", "format": "%m/%d/%Y at %H:%M:%S.%L"}}}}],
    ),
    (
        "date-to-string-zone",
        [{"$project": {"d": {"$dateToString": {"date": "created", "format": "%H", "timezone": "America/New_York", "onNull": {"$string": "-"}}}}}],
        [{"$project": {"d": {"$dateToString": {"date": "$created", "format": "%H", "timezone": "America/New_York", "onNull": {"$literal": "-"}}}}}],
    ),
    (
        "group-null",
        [{"$group": {"_id": None, "n": {"$count": "_id"}, "avg": {"$avg": "c_bpm"}}}],
        [{"$group": {"_id": None, "n": {"$sum": 1}, "avg": {"$avg": "$c_bpm"}}}, {"$project": {"_id": 0}}],
    ),
    (
        "group-count-path",
        [{"$group": {"_id": "c_name", "n": {"$count": "c_opt"}}}],
        [{"$group": {"_id": "$c_name", "n": {"$sum": {"$cond": [
            {"$isArray": "$c_opt"},
            {"$size": {"$cond": [{"$isArray": "$c_opt"}, "$c_opt", {"$literal": []}]}},
            {"$cond": [{"$ifNull": ["$c_opt", False]}, 1, 0]},
        ]}}}}],
    ),
    (
        "group-compound-id",
        [{"$group": {"_id": {"y": {"$year": "created"}, "n": "c_name"}, "all": {"$pushAll": "c_opt"}, "s": {"$addToSet": "c_tags"}}}],
        [{"$group": {"_id": {"y": {"$year": "$created"}, "n": "$c_name"}, "all": {"$push": {"$ifNull": ["$c_opt", None]}},
                     "s": {"$addToSet": "$c_tags"}}}],
    ),
    (
        "group-then-any-field",
        [{"$group": {"_id": "c_name", "n": {"$sum": 1}}}, {"$match": {"n": {"$gte": 2}, "_id": "x"}}, {"$sort": {"n": -1}}],
        [{"$group": {"_id": "$c_name", "n": {"$sum": 1}}}, {"$match": {"n": {"$gte": 2}, "_id": "x"}}, {"$sort": {"n": -1}}],
    ),
    (
        "late-typed-match-casts",
        [{"$limit": 10}, {"$match": {"owner": HEX, "c_note": {"$regex": "/x/"}, "c_new": 5}}],
        [{"$limit": 10}, {"$match": {"owner._id": ObjectId(HEX), "c_note": {"$regex": "x", "$options": ""}, "c_new": 5}}],
    ),
    (
        "add-fields",
        [{"$addFields": {"c_double": {"$multiply": ["c_bpm", 2]}, "c_one": 1}}],
        [{"$addFields": {"c_double": {"$multiply": ["$c_bpm", 2]}, "c_one": 1}}],
    ),
]


@pytest.mark.parametrize(("stages", "expected"), [pytest.param(*row[1:], id=row[0]) for row in PIPELINE_OK])
def test_pipeline_compiles(stages: Any, expected: list[dict[str, Any]]) -> None:
    assert compile_pipeline(reading(), stages, REST).stages == expected


def test_pipeline_required_access_counts_only_indexable_matches() -> None:
    early = compile_pipeline(reading(), [{"$match": {"c_secret": "x"}}, {"$limit": 5}], REST)
    assert early.required_access == 6
    late = compile_pipeline(reading(), [{"$limit": 5}, {"$match": {"c_secret": "x"}}], REST)
    assert late.required_access == 1
    sort_only = compile_pipeline(reading(), [{"$sort": {"c_secret": 1}}], REST)
    assert sort_only.required_access == 1
    assert isinstance(late, CompiledPipeline)


def test_pipeline_paths_name_every_property_used() -> None:
    compiled = compile_pipeline(
        reading(),
        [
            {"$match": {"c_bpm": {"$gt": 1}}},
            {"$project": {"c_tags": 1, "label": {"$concat": ["c_name", {"$string": "!"}]}}},
            {"$unwind": "c_tags"},
            {"$group": {"_id": "c_tags", "n": {"$sum": 1}}},
            {"$match": {"n": 2}},
        ],
        REST,
    )
    assert compiled.paths == {"c_bpm", "c_tags", "c_name"}


def test_expression_depth_twenty_is_allowed() -> None:
    stages = compile_pipeline(reading(), [{"$project": {"x": deep_expression(19)}}], REST).stages
    assert "$abs" in stages[0]["$project"]["x"]


# ----------------------------------------------------------------------------------------------
# execution against mongomock


READINGS: list[tuple[int, str, list[str], list[dict[str, Any]], Any]] = [
    (60, "sam", ["a"], [{"c_label": "x", "c_qty": 1}], 0),
    (72, "Sue", ["a", "b"], [{"c_label": "x", "c_qty": 3}, {"c_label": "y", "c_qty": 9}], 3),
    (85, "bob", [], [], None),
    (90, "ann", ["b"], [{"c_label": "y", "c_qty": 2}], "missing"),
    (101, "Steve", ["a"], [{"c_label": "z", "c_qty": 4}], 7),
]


@pytest.fixture()
def coll() -> Iterator[Any]:
    collection = mongomock.MongoClient().db.c
    for index, (bpm, name, tags, items, opt) in enumerate(READINGS):
        doc: dict[str, Any] = {
            "_id": ObjectId(f"{index + 1:024x}"),
            "object": "c_reading",
            "owner": {"_id": OWNER},
            "creator": {"_id": OWNER},
            "created": datetime(2017, 6, 21 + index, 21, 5, 28),
            "c_bpm": bpm,
            "c_name": name,
            "c_tags": tags,
            "c_items": items,
            "c_note": "x" if bpm < 80 else "y",
        }
        if opt != "missing":
            doc["c_opt"] = opt
        collection.insert_one(doc)
    yield collection


def find(coll: Any, where: Any, sort: Any = None, skip: Any = None, limit: Any = None) -> list[dict[str, Any]]:
    obj, ctx = reading(), REST
    cursor = coll.find(compile_where(obj, where, ctx).filter).sort(compile_sort(obj, sort, ctx))
    return list(cursor.skip(check_skip(skip)).limit(check_limit(limit, ctx) or 0))


def bpms(rows: list[dict[str, Any]]) -> list[int]:
    return [row["c_bpm"] for row in rows]


def aggregate(coll: Any, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(coll.aggregate(compile_pipeline(reading(), stages, REST).stages))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"$or": [{"c_bpm": {"$lt": 60}}, {"c_bpm": {"$gt": 100}}]}, [101]),
        ({"c_name": {"$regex": "/^s/i"}}, [101, 72, 60]),
        ({"c_name": {"$regex": "/^s/"}}, [60]),
        ({"c_bpm": {"$in": [60, 90, 7]}}, [90, 60]),
        ({"c_bpm": {"$in": ["60", 90.0]}}, [90, 60]),
        ({"c_items": {"$elemMatch": {"c_label": "x", "c_qty": {"$gte": 2}}}}, [72]),
        ({"c_items": {"$all": [{"$elemMatch": {"c_label": "x"}}, {"$elemMatch": {"c_label": "y"}}]}}, [72]),
        ({"c_items.c_label": "y"}, [90, 72]),
        ({"c_tags": {"$all": ["a", "b"]}}, [72]),
        ({"c_tags": "b"}, [90, 72]),
        ({"c_tags": {"$size": 0}}, [85]),
        ({"owner": str(OWNER), "c_bpm": {"$gte": 90}}, [101, 90]),
        ({"creator._id": HEX}, []),
        ({"created": {"$gte": "2017-06-24T00:00:00.000Z"}}, [101, 90]),
        ({"_id": {"$gt": f"{3:024x}"}}, [101, 90]),
        ({"$and": [{"c_bpm": {"$gte": 60}}, {"c_bpm": {"$lte": 72}}]}, [72, 60]),
        ({}, [101, 90, 85, 72, 60]),
    ],
)
def test_where_runs(coll: Any, where: Any, expected: list[int]) -> None:
    assert bpms(find(coll, where)) == expected


def test_restricted_operator_runs_when_allowed(coll: Any) -> None:
    ctx = QueryContext(kind="script", allowed_restricted_ops=frozenset({"*"}))
    compiled = compile_where(reading(), {"c_bpm": {"$ne": 60, "$nin": [101]}}, ctx)
    assert sorted(bpms(list(coll.find(compiled.filter)))) == [72, 85, 90]


def test_sort_skip_limit_run(coll: Any) -> None:
    assert bpms(find(coll, {"c_bpm": {"$gt": 70}}, sort={"c_bpm": -1}, limit=2)) == [101, 90]
    assert bpms(find(coll, {"c_bpm": {"$gt": 70}}, sort={"c_bpm": -1}, skip=2, limit=2)) == [85, 72]
    assert bpms(find(coll, {}, sort="c_bpm", limit="3")) == [60, 72, 85]


def test_default_sort_is_newest_first(coll: Any) -> None:
    assert bpms(find(coll, None)) == [101, 90, 85, 72, 60]


def test_pipeline_group_count_and_average(coll: Any) -> None:
    rows = aggregate(
        coll,
        [{"$match": {"c_bpm": {"$gte": 72}}}, {"$group": {"_id": None, "n": {"$count": "_id"}, "avg": {"$avg": "c_bpm"}}}],
    )
    assert rows == [{"n": 4, "avg": 87}]


def test_pipeline_unwind_group_sort(coll: Any) -> None:
    rows = aggregate(
        coll,
        [
            {"$project": {"c_tags": 1}},
            {"$unwind": "c_tags"},
            {"$group": {"_id": "c_tags", "n": {"$count": "_id"}}},
            {"$sort": {"n": -1}},
        ],
    )
    assert rows == [{"_id": "a", "n": 3}, {"_id": "b", "n": 2}]


def test_pipeline_sum_accumulator(coll: Any) -> None:
    rows = aggregate(coll, [{"$group": {"_id": "c_note", "total": {"$sum": "c_bpm"}}}, {"$sort": {"_id": 1}}])
    assert rows == [{"_id": "x", "total": 132}, {"_id": "y", "total": 276}]


def test_pipeline_count_skips_falsy_and_sums_arrays(coll: Any) -> None:
    rows = aggregate(coll, [{"$group": {"_id": None, "opt": {"$count": "c_opt"}, "tags": {"$count": "c_tags"}}}])
    assert rows == [{"opt": 2, "tags": 5}]


def test_pipeline_project_arithmetic(coll: Any) -> None:
    rows = aggregate(
        coll,
        [
            {"$match": {"c_bpm": {"$in": [60, 90]}}},
            {"$sort": {"c_bpm": 1}},
            {"$project": {"_id": 1, "plus": {"$add": ["c_bpm", 10]}, "half": {"$divide": ["c_bpm", 2]},
                          "ten": {"$divide": [10, 2]}, "rest": {"$mod": [10, 3]}}},
        ],
    )
    assert [(row["plus"], row["half"], row["ten"], row["rest"]) for row in rows] == [(70, 30, 5, 1), (100, 45, 5, 1)]
    assert all("_id" in row for row in rows)


def test_pipeline_expressions_run(coll: Any) -> None:
    rows = aggregate(
        coll,
        [
            {"$match": {"_id": f"{2:024x}"}},
            {
                "$project": {
                    "label": {"$concat": ["c_name", {"$string": ":"}, "c_note"]},
                    "level": {"$cond": [{"$gt": ["c_bpm", 80]}, {"$string": "high"}, {"$string": "low"}]},
                    # fidelity.md §9: strict parsing refuses names no candidate has (was c_missing).
                    "fallback": {"$ifNull": ["c_when", {"$integer": 42}]},
                    "day": {"$dateToString": ["%Y-%m-%d", "created"]},
                    "day2": {"$dateToString": {"date": "$created", "format": "YYYY-MM-DD", "timezone": "UTC"}},
                    "weekday": {"$dayOfWeek": "created"},
                    "hours": {"$divide": [{"$subtract": [{"$date": "2020-01-02T00:00:00.000Z"}, {"$date": "2020-01-01T00:00:00.000Z"}]}, 3600000]},
                    "upper": {"$toUpper": "c_name"},
                    "count": {"$size": "c_tags"},
                }
            },
        ],
    )
    assert rows == [
        {
            "_id": ObjectId(f"{2:024x}"),
            "label": "Sue:x",
            "level": "low",
            "fallback": 42,
            "day": "2017-06-22",
            "day2": "2017-06-22",
            "weekday": 5,
            "hours": 24,
            "upper": "SUE",
            "count": 2,
        }
    ]


def test_sunday_is_day_one(coll: Any) -> None:
    rows = aggregate(coll, [{"$match": {"c_bpm": 101}}, {"$project": {"w": {"$dayOfWeek": "created"}, "d": {"$dateToString": ["%Y-%m-%d", "created"]}}}])
    assert (rows[0]["d"], rows[0]["w"]) == ("2017-06-25", 1)


def test_late_match_on_non_indexed_field_runs(coll: Any) -> None:
    rows = aggregate(coll, [{"$project": {"c_note": 1, "c_bpm": 1}}, {"$match": {"c_note": "x"}}, {"$sort": {"c_bpm": 1}}])
    assert [row["c_bpm"] for row in rows] == [60, 72]
