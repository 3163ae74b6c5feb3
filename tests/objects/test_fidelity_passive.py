"""fidelity.md §4: ``passive`` on writes and reads, and unknown or missing paths."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.runtime import Runtime

from .fidelity_support import fault, make_org, value


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture(scope="module")
def org(runtime: Runtime) -> Any:
    return make_org(runtime, "fidpassive")


# ---- writes ------------------------------------------------------------------------------------


def test_passive_insert_skips_unknown_and_unwritable_keys(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_name: 'kept', c_nope: 1, c_fixed: 'x'}).passive().execute()
        return F.find({_id}).next()
        """,
    )
    assert out["c_name"] == "kept" and "c_nope" not in out and "c_fixed" not in out


def test_without_passive_the_same_insert_fails(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_name: 'x', c_nope: 1}).execute()")
    assert (f.errCode, f.path) == ("cortex.notFound.property", "c_nope")


def test_passive_update_skips_creatable_only_and_not_deletable(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_once: 'a', c_keep: 'k'}).execute()
        F.updateOne({_id}, {$set: {c_once: 'b', c_name: 'new', c_nope: 2}, $unset: {c_keep: 1}}).passive().execute()
        return F.find({_id}).next()
        """,
    )
    assert (out["c_once"], out["c_keep"], out["c_name"]) == ("a", "k", "new")


def test_passive_does_not_suppress_cast_failures(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_n: 'abc', c_nope: 1}).passive().execute()")
    assert f.errCode == "cortex.invalidArgument.validation" and f.faults[0].name == "c_n"


def test_passive_does_not_suppress_method_semantics(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "const _id = org.objects.c_fids.insertOne({}).execute(); org.objects.c_fids.updateOne({_id}, {$push: {c_name: 'x'}}).passive().execute()")
    assert f.errCode == "cortex.unsupportedOperation.requestMethodDoesNotMatchOperationSemantics"


# ---- reads -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(runtime: Runtime, org: Any) -> str:
    return str(value(runtime, org, "return org.objects.c_fids.insertOne({c_name: 'read-me', c_tags: ['a'], c_doc: {c_x: 1}}).execute()"))


@pytest.mark.parametrize(
    ("paths", "err_code", "path"),
    [
        ("'c_nope'", "cortex.notFound.property", "c_nope"),
        ("'c_doc.c_bad'", "cortex.notFound.property", "c_doc.c_bad"),
        ("'c_docs.c_bad'", "cortex.notFound.property", "c_docs.c_bad"),
        ("'c_name.x'", "cortex.notFound.property", "c_name.x"),
        ("'c_tags.x'", "cortex.notFound.primitivePropertySelection", "c_tags.x"),
    ],
)
def test_unknown_paths_fail_without_passive(runtime: Runtime, org: Any, seeded: str, paths: str, err_code: str, path: str) -> None:
    f = fault(runtime, org, f"return org.objects.c_fids.find({{c_name: 'read-me'}}).paths({paths}).next()")
    assert (f.errCode, f.path) == (err_code, path)


def test_passive_reads_ignore_unknown_paths(runtime: Runtime, org: Any, seeded: str) -> None:
    out = value(runtime, org, "return org.objects.c_fids.find({c_name: 'read-me'}).paths('c_name', 'c_nope', 'c_name.x').passive().next()")
    assert out["c_name"] == "read-me" and "c_nope" not in out


def test_no_paths_reads_readable_properties_and_leaves_missing_ones_out(runtime: Runtime, org: Any, seeded: str) -> None:
    out = value(runtime, org, "return org.objects.c_fids.find({c_name: 'read-me'}).next()")
    assert out["c_name"] == "read-me" and "c_n" not in out


def test_unknown_include_is_ignored_without_paths(runtime: Runtime, org: Any, seeded: str) -> None:
    out = value(runtime, org, "return org.objects.c_fids.find({c_name: 'read-me'}).include('c_nope').next()")
    assert out["c_name"] == "read-me"


def test_unknown_include_fails_with_paths(runtime: Runtime, org: Any, seeded: str) -> None:
    f = fault(runtime, org, "return org.objects.c_fids.find({c_name: 'read-me'}).paths('c_name').include('c_nope').next()")
    assert (f.errCode, f.path) == ("cortex.notFound.property", "c_nope")


def test_a_named_missing_value_is_left_out(runtime: Runtime, org: Any, seeded: str) -> None:
    out = value(runtime, org, "return org.objects.c_fids.find({c_name: 'read-me'}).paths('c_n', 'c_name').next()")
    assert out["c_name"] == "read-me" and "c_n" not in out


def test_path_selection_never_fails_without_documents(runtime: Runtime, org: Any) -> None:
    assert value(runtime, org, "return org.objects.c_fids.find({c_name: 'nobody'}).paths('c_nope').toArray()") == []


# ---- writes below the top level ------------------------------------------------------------------


def test_passive_skips_unknown_keys_inside_documents_and_document_arrays(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_doc: {c_x: 1, c_bad: 2}, c_docs: [{c_x: 3, c_nope: 4}]}).passive().execute()
        const doc = F.find({_id}).next()
        return {doc: doc.c_doc, docs: doc.c_docs.map(d => Object.keys(d).sort())}
        """,
    )
    assert out["doc"] == {"c_x": 1} and out["docs"] == [["_id", "c_x"]]


def test_without_passive_a_nested_unknown_key_fails(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_docs: [{c_x: 3, c_nope: 4}]}).execute()")
    assert (f.errCode, f.path) == ("cortex.notFound.property", "c_docs.c_nope")


def test_passive_drops_non_object_document_array_elements(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_docs: [{c_x: 1}, 'junk', 5, {c_x: 2}]}).passive().execute()
        return F.find({_id}).next().c_docs.map(d => d.c_x)
        """,
    )
    assert out == [1, 2]
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_docs: [{c_x: 1}, 'junk']}).execute()")
    assert (f.errCode, f.reason, f.path) == ("cortex.invalidArgument.unspecified", "Expected object document.", "c_docs")


def test_passive_skips_an_illegal_primitive_document_and_keeps_the_stored_one(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const created = F.insertOne({c_doc: 'x', c_name: 'kept'}).passive().execute()
        const _id = F.insertOne({c_doc: {c_x: 7}}).execute()
        F.updateOne({_id}, {$set: {c_doc: 'x', c_name: 'changed'}}).passive().execute()
        const first = F.find({_id: created}).next(), second = F.find({_id}).next()
        return {first: [first.c_doc === undefined, first.c_name], second: [second.c_doc, second.c_name]}
        """,
    )
    assert out == {"first": [True, "kept"], "second": [{"c_x": 7}, "changed"]}


def test_passive_still_raises_nested_cast_and_validator_failures(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_doc: {c_x: 'one', c_bad: 1}}).passive().execute()")
    assert f.errCode == "cortex.invalidArgument.validation" and f.faults[0].name == "c_doc.c_x"
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_docs: [{c_s: 'toolong', c_bad: 1}]}).passive().execute()")
    assert f.errCode == "cortex.invalidArgument.validation" and f.faults[0].path == "c_fid.c_docs[].c_s"


# ---- reads: array indexes, element lookups and unreadable sub-paths -------------------------------


@pytest.fixture(scope="module")
def arrays(runtime: Runtime, org: Any) -> dict[str, Any]:
    return value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_name: 'arrays', c_tags: ['a', 'b', 'c'], c_docs: [{c_x: 1, c_s: 'p'}, {c_x: 2, c_s: 'q'}, {c_x: 3}]}).execute()
        return {_id, ids: F.find({_id}).next().c_docs.map(d => d._id.toString())}
        """,
    )


def arrays_read(runtime: Runtime, org: Any, paths: str, passive: bool = False) -> Any:
    return value(runtime, org, f"return org.objects.c_fids.find({{c_name: 'arrays'}}).paths({paths}){'.passive()' if passive else ''}.next()")


def arrays_fault(runtime: Runtime, org: Any, paths: str, passive: bool = False) -> Any:
    return fault(runtime, org, f"return org.objects.c_fids.find({{c_name: 'arrays'}}).paths({paths}){'.passive()' if passive else ''}.next()")


@pytest.mark.parametrize("passive", [False, True])
@pytest.mark.parametrize("index", ["3", "-4", "10"])
def test_an_index_past_the_end_of_a_primitive_array_is_not_found(runtime: Runtime, org: Any, arrays: Any, index: str, passive: bool) -> None:
    f = arrays_fault(runtime, org, f"'c_tags.{index}'", passive)
    assert (f.errCode, f.status, f.path) == ("cortex.notFound.property", 404, f"c_tags.{index}")


def test_an_index_inside_a_primitive_array_reads_the_array(runtime: Runtime, org: Any, arrays: Any) -> None:
    # The index only has to exist; the selected array comes back whole (so a path read can dig into it).
    assert arrays_read(runtime, org, "'c_tags.2', 'c_tags.-3'")["c_tags"] == ["a", "b", "c"]


def test_document_array_elements_by_id_and_index(runtime: Runtime, org: Any, arrays: Any) -> None:
    first, _, third = arrays["ids"]
    assert [d["c_x"] for d in arrays_read(runtime, org, f"'c_docs.{third}', 'c_docs.{first}.c_x'")["c_docs"]] == [1, 3]
    assert arrays_read(runtime, org, f"'c_docs.{first}.c_x'")["c_docs"] == [{"_id": first, "c_x": 1}]
    assert [d["c_x"] for d in arrays_read(runtime, org, "'c_docs.-1', 'c_docs.1'")["c_docs"]] == [2, 3]
    assert arrays_read(runtime, org, "'c_docs.0.c_s'")["c_docs"] == [{"_id": first, "c_s": "p"}]


@pytest.mark.parametrize("passive", [False, True])
@pytest.mark.parametrize("key", ["5f0c1a2b3c4d5e6f70819201", "3", "-4"])
def test_a_missing_document_array_key_is_not_found_even_when_passive(runtime: Runtime, org: Any, arrays: Any, key: str, passive: bool) -> None:
    f = arrays_fault(runtime, org, f"'c_docs.{key}.c_x'", passive)
    assert (f.errCode, f.code, f.status, f.message, f.path) == ("cortex.notFound.document", "kNotFound", 404, "Document not found.", f"c_docs.{key}")


def test_id_and_index_lookups_cannot_be_mixed(runtime: Runtime, org: Any, arrays: Any) -> None:
    f = arrays_fault(runtime, org, f"'c_docs.{arrays['ids'][0]}.c_x', 'c_docs.0.c_s'")
    assert (f.errCode, f.status, f.reason, f.path) == ("cortex.invalidArgument.unspecified", 400, "Cannot mix _id and index lookups on the same document.", "c_docs")


SECRET_OBJECT = """
org.objects.objects.insertOne({
  label: 'Sec', name: 'c_sec',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [
    {label: 'Name', name: 'c_name', type: 'String'},
    {label: 'Secret', name: 'c_secret', type: 'Document', readAccess: 8, properties: [{label: 'X', name: 'c_x', type: 'Number'}]},
    {label: 'Hidden', name: 'c_hidden', type: 'String', readAccess: 8},
    {label: 'Doc', name: 'c_doc', type: 'Document', properties: [{label: 'In', name: 'c_in', type: 'String', array: true, readAccess: 8}]}
  ]
}).execute()
org.objects.c_secs.insertOne({c_name: 'a', c_secret: {c_x: 1}, c_hidden: 'h', c_doc: {c_in: ['p', 'q']}}).execute()
"""


@pytest.fixture(scope="module")
def secret_org(runtime: Runtime) -> Any:
    return make_org(runtime, "fidpassivesec", SECRET_OBJECT)


@pytest.mark.parametrize(("paths", "path"), [("'c_secret.c_x'", "c_sec.c_secret"), ("'c_doc.c_in.0'", "c_sec.c_doc.c_in"), ("'c_name', 'c_hidden.x'", "c_sec.c_hidden")])
def test_an_unreadable_property_with_sub_paths_is_a_property_read_fault(runtime: Runtime, secret_org: Any, paths: str, path: str) -> None:
    f = fault(runtime, secret_org, f"return org.objects.c_secs.find().paths({paths}).next()")
    assert (f.errCode, f.code, f.status, f.path) == ("cortex.accessDenied.propertyRead", "kAccessDenied", 403, path)


def test_an_unreadable_leaf_is_left_out_and_passive_suppresses_the_sub_path_fault(runtime: Runtime, secret_org: Any) -> None:
    read = "return org.objects.c_secs.find().paths({}).next()"
    out = value(runtime, secret_org, read.format("'c_name', 'c_secret', 'c_hidden'"))
    assert out["c_name"] == "a" and "c_secret" not in out and "c_hidden" not in out
    out = value(runtime, secret_org, "return org.objects.c_secs.find().paths('c_name', 'c_secret.c_x', 'c_doc.c_in.0').passive().next()")
    assert out["c_name"] == "a" and "c_secret" not in out and out.get("c_doc", {}) == {}


def test_a_single_path_read_of_an_unreadable_property_is_a_property_read_fault_even_when_passive(runtime: Runtime, secret_org: Any) -> None:
    f = fault(runtime, secret_org, "return org.objects.c_secs.readOne().path('c_hidden').passive().execute()")
    assert (f.errCode, f.path) == ("cortex.accessDenied.propertyRead", "c_sec.c_hidden")


def test_document_array_elements_whose_selected_keys_are_all_missing_are_dropped(runtime: Runtime, org: Any, arrays: Any) -> None:
    assert [d["c_s"] for d in arrays_read(runtime, org, "'c_docs.c_s'")["c_docs"]] == ["p", "q"]
    assert len(arrays_read(runtime, org, "'c_docs'")["c_docs"]) == 3
    assert arrays_read(runtime, org, "'c_docs.2.c_s'")["c_docs"] == []
