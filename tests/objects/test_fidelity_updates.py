"""fidelity.md §3 (and decisions.md): the update operators updateOne/updateMany accept, and patch op faults."""

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
    return make_org(runtime, "fidupdates")


def updated(runtime: Runtime, org: Any, document: str, update: str, read: str = "doc") -> Any:
    return value(
        runtime,
        org,
        f"""
        const F = org.objects.c_fids
        const _id = F.insertOne({document}).execute()
        F.updateOne({{_id}}, {update}).execute()
        const doc = F.find({{_id}}).next()
        return {read}
        """,
    )


def update_fault(runtime: Runtime, org: Any, update: str, document: str = "{c_tags: ['a']}") -> Any:
    return fault(runtime, org, f"const _id = org.objects.c_fids.insertOne({document}).execute(); org.objects.c_fids.updateOne({{_id}}, {update}).execute()")


@pytest.mark.parametrize("update", ["{c_n: 1}", "{$inc: {c_n: 1}}", "{$addToSet: {c_tags: 'x'}, $rename: {c_n: 'c_m'}}", "{}", "{$set: {}}"])
def test_nothing_left_is_an_empty_operations_payload(runtime: Runtime, org: Any, update: str) -> None:
    f = update_fault(runtime, org, update)
    assert (f.errCode, f.code, f.status, f.message) == (
        "cortex.invalidArgument.emptyOperationsPayload", "kInvalidArgument", 400, "Empty operations payload. Nothing to do."
    )


def test_unknown_operators_are_ignored_beside_known_ones(runtime: Runtime, org: Any) -> None:
    assert updated(runtime, org, "{c_n: 1}", "{$inc: {c_n: 5}, $set: {c_name: 'x'}}", "[doc.c_n, doc.c_name]") == [1, "x"]


def test_update_many_follows_the_same_rule(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.updateMany({}, {c_n: 2}).execute()")
    assert f.errCode == "cortex.invalidArgument.emptyOperationsPayload"


def test_pull_removes_primitive_values(runtime: Runtime, org: Any) -> None:
    assert updated(runtime, org, "{c_tags: ['a', 'b', 'c']}", "{$pull: {c_tags: ['a', 'c']}}", "doc.c_tags") == ["b"]
    assert updated(runtime, org, "{c_tags: ['a', 'b']}", "{$pull: {c_tags: 'b'}}", "doc.c_tags") == ["a"]


def test_pull_removes_document_array_elements_by_id(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_docs: [{c_x: 1}, {c_x: 2}]}).execute()
        const [first] = F.find({_id}).next().c_docs
        F.updateOne({_id}, {$pull: {c_docs: first._id}}).execute()
        return F.find({_id}).next().c_docs.map(d => d.c_x)
        """,
    )
    assert out == [2]


def test_operators_run_in_key_order(runtime: Runtime, org: Any) -> None:
    assert updated(runtime, org, "{c_tags: ['a']}", "{$set: {c_tags: ['s']}, $push: {c_tags: 'p'}}", "doc.c_tags") == ["s", "p"]
    assert updated(runtime, org, "{c_tags: ['a']}", "{$push: {c_tags: 'p'}, $set: {c_tags: ['s']}}", "doc.c_tags") == ["s"]


def test_push_on_a_non_array_property(runtime: Runtime, org: Any) -> None:
    f = update_fault(runtime, org, "{$push: {c_name: 'x'}}")
    assert (f.errCode, f.code, f.status, f.reason) == (
        "cortex.unsupportedOperation.requestMethodDoesNotMatchOperationSemantics", "kUnsupportedOperation", 501, "Unsupported request method post"
    )


def test_unset_needs_an_object(runtime: Runtime, org: Any) -> None:
    f = update_fault(runtime, org, "{$unset: 'c_tags'}")
    assert (f.errCode, f.message) == ("cortex.invalidArgument.objectExpectedForPatchValue", "Patch operation value must be an object.")


def test_unset_ignores_values(runtime: Runtime, org: Any) -> None:
    assert updated(runtime, org, "{c_name: 'x'}", "{$unset: {c_name: 'anything'}}", "doc.c_name === undefined") is True


@pytest.mark.parametrize("operator", ["$remove", "$pull"])
def test_removal_values_must_be_primitives(runtime: Runtime, org: Any, operator: str) -> None:
    f = update_fault(runtime, org, f"{{{operator}: {{c_tags: [{{a: 1}}]}}}}")
    assert f.errCode == "cortex.invalidArgument.primitiveExpectedforPatchRemoveValue"


def test_patch_pull(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const F = org.objects.c_fids
        const _id = F.insertOne({c_tags: ['a', 'b']}).execute()
        F.patchOne({_id}, [{op: 'pull', path: 'c_tags', value: 'a'}]).execute()
        return F.find({_id}).next().c_tags
        """,
    )
    assert out == ["b"]


@pytest.mark.parametrize(
    ("ops", "err_code", "path"),
    [
        ("[5]", "cortex.invalidArgument.objectExpectedForPatchOperation", None),
        ("[{op: 'bogus', path: 'c_n', value: 1}]", "cortex.unsupportedOperation.patchOp", "bogus"),
        ("[{op: 'pull', path: 'c_tags'}]", "cortex.invalidArgument.pathAndValueExpectedForPullOperation", None),
        ("[{op: 'pull', value: 'a'}]", "cortex.invalidArgument.pathAndValueExpectedForPullOperation", None),
        ("[{op: 'set', path: 5, value: 1}]", "cortex.invalidArgument.stringExpectedforPatchPath", None),
        ("[{op: 'set', path: 'c_n'}]", "cortex.invalidArgument.valueExpectedForPatchValue", "c_n"),
        ("[]", "cortex.invalidArgument.emptyOperationsPayload", None),
    ],
)
def test_patch_op_faults(runtime: Runtime, org: Any, ops: str, err_code: str, path: str | None) -> None:
    f = fault(runtime, org, f"const _id = org.objects.c_fids.insertOne({{}}).execute(); org.objects.c_fids.patchOne({{_id}}, {ops}).execute()")
    assert (f.errCode, f.path) == (err_code, path)
    if err_code == "cortex.invalidArgument.pathAndValueExpectedForPullOperation":
        assert f.message == "Pull requires a path and value."


# ---- document-array addressing in removals --------------------------------------------------------

SEEDED_DOCS = """
const F = org.objects.c_fids
const _id = F.insertOne({c_tags: ['a', 'b'], c_doc: {c_x: 1}, c_docs: [{c_x: 1}, {c_x: 2}]}).execute()
const [first, second] = F.find({_id}).next().c_docs.map(d => d._id.toString())
const missing = '5f0c1a2b3c4d5e6f70819201'
"""


def removal_fault(runtime: Runtime, org: Any, update: str, passive: bool = False) -> Any:
    return fault(runtime, org, SEEDED_DOCS + f"F.updateOne({{_id}}, {update}){'.passive()' if passive else ''}.execute()")


@pytest.mark.parametrize(
    "update",
    ["{$unset: {'c_docs.0': 1}}", "{$unset: {'c_docs.-1': 1}}", "{$remove: {c_docs: 0}}", "{$pull: {c_docs: [1]}}", "{$unset: {'c_docs.0.c_x': 1}}"],
)
def test_document_array_elements_are_removed_by_id_only(runtime: Runtime, org: Any, update: str) -> None:
    f = removal_fault(runtime, org, update)
    assert (f.errCode, f.status, f.reason, f.path) == ("cortex.invalidArgument.unspecified", 400, "Elements can only be removed by _id for path c_docs", "c_docs")


@pytest.mark.parametrize("update", ["{$unset: {['c_docs.' + missing]: 1}}", "{$remove: {c_docs: missing}}", "{$unset: {['c_docs.' + missing + '.c_x']: 1}}"])
@pytest.mark.parametrize("passive", [False, True])
def test_a_missing_element_id_is_not_found_even_when_passive(runtime: Runtime, org: Any, update: str, passive: bool) -> None:
    f = removal_fault(runtime, org, update, passive)
    assert (f.errCode, f.code, f.status, f.path) == ("cortex.notFound.document", "kNotFound", 404, "c_docs.5f0c1a2b3c4d5e6f70819201")


def test_a_missing_element_id_on_set_is_not_found_at_fullpath_and_id(runtime: Runtime, org: Any) -> None:
    f = removal_fault(runtime, org, "{$set: {c_docs: [{_id: missing, c_x: 5}]}}")
    assert (f.errCode, f.message, f.path) == ("cortex.notFound.document", "Document not found.", "c_docs.5f0c1a2b3c4d5e6f70819201")


def test_an_unknown_property_inside_an_element(runtime: Runtime, org: Any) -> None:
    f = removal_fault(runtime, org, "{$unset: {['c_docs.' + first + '.c_nope']: 1}}")
    assert (f.errCode, f.status, f.reason) == ("cortex.notFound.unspecified", 404, "Element not found")
    out = value(runtime, org, SEEDED_DOCS + "F.updateOne({_id}, {$unset: {['c_docs.' + first + '.c_nope']: 1}, $set: {c_name: 'p'}}).passive().execute(); return F.find({_id}).next().c_name")
    assert out == "p"


def test_removals_inside_an_element_by_id(runtime: Runtime, org: Any) -> None:
    out = value(runtime, org, SEEDED_DOCS + "F.updateOne({_id}, {$unset: {['c_docs.' + first + '.c_x']: 1}}).execute(); return F.find({_id}).next().c_docs")
    assert [sorted(d) for d in out] == [["_id"], ["_id", "c_x"]]


def test_a_whole_document_with_properties_cannot_be_removed(runtime: Runtime, org: Any) -> None:
    f = removal_fault(runtime, org, "{$unset: {c_doc: 1}}")
    assert (f.errCode, f.status, f.reason, f.path) == ("cortex.accessDenied.unspecified", 403, "Documents with properties cannot be removed.", "c_doc")


def test_a_value_cannot_be_removed_from_a_non_array_property(runtime: Runtime, org: Any) -> None:
    f = removal_fault(runtime, org, "{$remove: {c_name: 'x'}}")
    assert (f.errCode, f.reason, f.path) == ("cortex.invalidArgument.unspecified", "Cannot remove value from non-array property.", "c_name")


# ---- document-array writes: sorting elements into updates and adds --------------------------------


@pytest.mark.parametrize("operator", ["$set", "$push"])
def test_adds_and_updates_in_one_write_need_merge(runtime: Runtime, org: Any, operator: str) -> None:
    f = removal_fault(runtime, org, f"{{{operator}: {{c_docs: [{{_id: first, c_x: 9}}, {{c_x: 10}}]}}}}")
    assert (f.errCode, f.reason, f.path) == ("cortex.invalidArgument.unspecified", "Pushed document has an _id and/or updated document is missing an _id.", "c_docs")


def test_with_merge_updates_apply_and_adds_are_pushed(runtime: Runtime, org: Any) -> None:
    out = value(runtime, org, SEEDED_DOCS + "F.updateOne({_id}, {$set: {c_docs: [{_id: first, c_x: 9}, {c_x: 10}]}}).merge().execute(); return F.find({_id}).next().c_docs.map(d => d.c_x)")
    assert out == [9, 2, 10]


@pytest.mark.parametrize("update", ["{$set: {c_docs: [{_id: 'abc', c_x: 1}]}}", "{$push: {c_docs: {_id: 12, c_x: 1}}}"])
def test_an_element_id_that_is_not_an_object_id(runtime: Runtime, org: Any, update: str) -> None:
    f = removal_fault(runtime, org, update)
    assert (f.errCode, f.status, f.reason, f.path) == ("cortex.invalidArgument.unspecified", 400, "Invalid document _id. Expected an ObjectId.", "c_docs")


def test_an_inserted_element_id_that_is_not_an_object_id(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_docs: [{_id: 'abc', c_x: 1}]}).execute()")
    assert (f.errCode, f.reason, f.path) == ("cortex.invalidArgument.unspecified", "Invalid document _id. Expected an ObjectId.", "c_docs")


def test_a_pushed_element_id_that_does_not_exist(runtime: Runtime, org: Any) -> None:
    f = removal_fault(runtime, org, "{$push: {c_docs: {_id: missing, c_x: 1}}}")
    assert (f.errCode, f.path) == ("cortex.notFound.document", "c_docs.5f0c1a2b3c4d5e6f70819201")
