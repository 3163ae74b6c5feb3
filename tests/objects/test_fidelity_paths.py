"""fidelity.md §2: the paths that write faults carry, and insertMany's writeErrors."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.runtime import Runtime

from .fidelity_support import FID_OBJECT, fault, make_org, value

TYPED = """
org.objects.objects.insertOne({
  label: 'Typed', name: 'c_typed',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'Base', name: 'c_base', type: 'String', validators: [{name: 'string', definition: {max: 2}}]}],
  objectTypes: [{label: 'T', name: 'c_t', properties: [{label: 'Only', name: 'c_only', type: 'String', validators: [{name: 'string', definition: {max: 2}}]}]}]
}).execute()
"""


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture(scope="module")
def org(runtime: Runtime) -> Any:
    return make_org(runtime, "fidpaths", FID_OBJECT + TYPED)


def test_unknown_top_level_key_has_the_key_as_path(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_nope: 1}).execute()")
    assert (f.errCode, f.code, f.status, f.message, f.path) == ("cortex.notFound.property", "kNotFound", 404, "Property not found.", "c_nope")


def test_unknown_key_on_update_has_the_key_as_path(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "const _id = org.objects.c_fids.insertOne({}).execute(); org.objects.c_fids.updateOne({_id}, {$set: {c_nope: 1}}).execute()")
    assert (f.errCode, f.path) == ("cortex.notFound.property", "c_nope")


@pytest.mark.parametrize(("literal", "path"), [("{c_doc: {c_bad: 1}}", "c_doc.c_bad"), ("{c_docs: [{c_bad: 1}]}", "c_docs.c_bad")])
def test_unknown_key_inside_documents(runtime: Runtime, org: Any, literal: str, path: str) -> None:
    f = fault(runtime, org, f"org.objects.c_fids.insertOne({literal}).execute()")
    assert (f.errCode, f.path) == ("cortex.notFound.property", path)


def test_not_writable_uses_the_property_path(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_fixed: 'x'}).execute()")
    # An administrator's script is below Script access, so writable: false applies.
    assert (f.errCode, f.path) == ("cortex.accessDenied.notWritable", "c_fixed")


def test_creatable_only_is_object_qualified(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "const _id = org.objects.c_fids.insertOne({c_once: 'a'}).execute(); org.objects.c_fids.updateOne({_id}, {$set: {c_once: 'b'}}).execute()")
    assert (f.errCode, f.path) == ("cortex.invalidArgument.creatableOnly", "c_fid.c_once")


def test_not_deletable_uses_the_property_path(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "const _id = org.objects.c_fids.insertOne({c_keep: 'a'}).execute(); org.objects.c_fids.updateOne({_id}, {$unset: {c_keep: 1}}).execute()")
    assert (f.errCode, f.path) == ("cortex.accessDenied.notDeletable", "c_keep")


def test_validator_children_use_the_fqpp(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.insertOne({c_docs: [{c_s: 'toolong'}]}).execute()")
    assert f.errCode == "cortex.invalidArgument.validation"
    assert [c.path for c in f.faults] == ["c_fid.c_docs[].c_s"]


def test_type_only_properties_carry_the_type_in_the_fqpp(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_typed.insertOne({type: 'c_t', c_base: 'long', c_only: 'long'}).execute()")
    assert sorted(c.path for c in f.faults) == ["c_typed#c_t.c_only", "c_typed.c_base"]


def test_update_one_without_a_match_names_the_object(runtime: Runtime, org: Any) -> None:
    f = fault(runtime, org, "org.objects.c_fids.updateOne({c_name: 'nobody-here'}, {$set: {c_n: 1}}).execute()")
    assert (f.errCode, f.path) == ("cortex.notFound.instance", "c_fid")


def test_insert_many_write_errors(runtime: Runtime, org: Any) -> None:
    out = value(runtime, org, "return org.objects.c_fids.insertMany([{c_n: 1}, {c_nope: 1}, {c_n: 'abc'}]).execute()")
    assert out["insertedCount"] == 1 and [i["index"] for i in out["insertedIds"]] == [0]
    first, second = out["writeErrors"]
    assert (first["errCode"], first["path"], first["index"]) == ("cortex.notFound.property", "c_nope", 1)
    assert (second["errCode"], second["index"]) == ("cortex.invalidArgument.validation", 2)
    assert "index" not in second["faults"][0] and second["faults"][0]["name"] == "c_n"


def test_update_many_write_errors_carry_the_id_and_no_index(runtime: Runtime, org: Any) -> None:
    out = value(
        runtime,
        org,
        """
        const ids = org.objects.c_fids.insertMany([{c_name: 'um-1'}, {c_name: 'um-2'}]).execute().insertedIds.map(i => i._id)
        return [ids, org.objects.c_fids.updateMany({c_name: {$in: ['um-1', 'um-2']}}, {$set: {c_n: 'abc'}}).execute()]
        """,
    )
    ids, result = out
    assert sorted(str(e["_id"]) for e in result["writeErrors"]) == sorted(str(i) for i in ids)
    assert all("index" not in e and e["errCode"] == "cortex.invalidArgument.validation" for e in result["writeErrors"])
