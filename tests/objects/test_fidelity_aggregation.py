"""fidelity.md §9: the aggregation parser is strict for scripts; reserved and forbidden output keys."""

from __future__ import annotations

import itertools
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
    org = make_org(runtime, "fidagg")
    value(runtime, org, "return org.objects.c_fids.insertMany([{c_name: 'a', c_n: 1}, {c_name: 'b', c_n: 2}]).execute().insertedCount")
    return org


def pipeline_fault(runtime: Runtime, org: Any, pipeline: str) -> Any:
    return fault(runtime, org, f"return org.objects.c_fids.aggregate({pipeline}).toArray()")


def rows(runtime: Runtime, org: Any, pipeline: str) -> Any:
    return value(runtime, org, f"return org.objects.c_fids.aggregate({pipeline}).toArray()")


def query(f: Any, reason: str, path: str | None) -> None:
    assert (f.errCode, f.code, f.status, f.reason, f.path) == ("cortex.invalidArgument.query", "kInvalidArgument", 400, reason, path)


# ---- strict candidates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pipeline", "reason", "path"),
    [
        ("[{$project: {c_name: 1}}, {$project: {c_n: 1}}]", "strict: there are no properties that could match c_n", "c_n"),
        ("[{$project: {c_name: 1}}, {$addFields: {x: 'c_n'}}]", "strict: there are no properties that could match c_n", "x"),
        ("[{$project: {c_name: 1}}, {$group: {_id: 'c_n', k: {$sum: 1}}}]", "strict: there are no properties that could match c_n", "_id"),
        ("[{$group: {_id: 'c_name', total: {$sum: 'c_n'}}}, {$project: {c_name: 1}}]", "strict: there are no properties that could match c_name", "c_name"),
        ("[{$project: {c_name: 1}}, {$match: {c_gone: 'abc'}}]", "strict: there are no properties that could match abc", "c_gone"),
    ],
)
def test_paths_an_earlier_stage_dropped_are_refused(runtime: Runtime, org: Any, pipeline: str, reason: str, path: str) -> None:
    query(pipeline_fault(runtime, org, pipeline), reason, path)


def test_names_the_previous_stage_outputs_are_accepted(runtime: Runtime, org: Any) -> None:
    out = rows(runtime, org, "[{$group: {_id: 'c_name', total: {$sum: 'c_n'}}}, {$addFields: {twice: {$multiply: ['total', 2]}}}, {$sort: {_id: 1}}]")
    assert [(r["_id"], r["twice"]) for r in out] == [("a", 2), ("b", 4)]


def test_unknown_name_in_an_expression_is_refused(runtime: Runtime, org: Any) -> None:
    query(pipeline_fault(runtime, org, "[{$project: {x: {$ifNull: ['c_unknown', 1]}}}]"), "strict: there are no properties that could match c_unknown", "x")


# ---- reserved and forbidden output keys --------------------------------------------------------


@pytest.mark.parametrize(
    ("pipeline", "name"),
    [("[{$project: {save: 'c_name'}}]", "save"), ("[{$addFields: {isNew: 1}}]", "isNew"), ("[{$group: {_id: null, init: {$sum: 1}}}]", "init")],
)
def test_reserved_output_names(runtime: Runtime, org: Any, pipeline: str, name: str) -> None:
    query(pipeline_fault(runtime, org, pipeline), f'The property name "{name}" is reserved.', name)


@pytest.mark.parametrize("key", ["meta", "idx", "aclv", "sequence", "reap", "favorites", "facets"])
def test_add_fields_forbidden_keys(runtime: Runtime, org: Any, key: str) -> None:
    query(pipeline_fault(runtime, org, f"[{{$addFields: {{{key}: 1}}}}]"), f"{key} cannot be used as key", None)


def test_project_cannot_rename_onto_existing_properties(runtime: Runtime, org: Any) -> None:
    query(pipeline_fault(runtime, org, "[{$project: {c_name: 'c_n'}}]"), "Cannot rename built-in fields.", "c_name")
    query(pipeline_fault(runtime, org, "[{$project: {c_name: {$toUpper: 'c_name'}}}]"), "Cannot rename existing property fields.", "c_name")
    assert {r["c_name"] for r in rows(runtime, org, "[{$project: {c_name: 1}}]")} == {"a", "b"}


def test_add_fields_may_overwrite(runtime: Runtime, org: Any) -> None:
    out = rows(runtime, org, "[{$addFields: {c_name: {$toUpper: 'c_name'}}}, {$project: {c_name: 1}}]")
    assert {r["c_name"] for r in out} == {"A", "B"}


# ---- $group rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "reason", "path"),
    [
        ("{n: {$sum: 1}}", "$group expression must contain an _id field", None),
        ("{_id: null}", "Group component requires at least one expression when grouping by null", None),
        ("{_id: 5, n: {$sum: 1}}", "Invalid group _id. Object expected.", "_id"),
        ("{_id: null, 'a b': {$sum: 1}}", "Top-level grouping must fields must match /^[a-zA-Z0-9-_]{1,40}$/", "a b"),
        ("{_id: null, n: {$sum: 1, $max: 'c_n'}}", "Group accumulator expression requires a single supported accumulator property", "n"),
        ("{_id: null, n: 5}", "property inclusions and literal values are not allowed here. try wrapping your value in a $literal.", "n"),
    ],
)
def test_group_faults(runtime: Runtime, org: Any, group: str, reason: str, path: str | None) -> None:
    query(pipeline_fault(runtime, org, f"[{{$group: {group}}}]"), reason, path)


# ---- stage parsing -----------------------------------------------------------------------------


def test_stage_given_as_json_text(runtime: Runtime, org: Any) -> None:
    assert [r["c_n"] for r in rows(runtime, org, """[{$match: '{"c_n": 2}'}, {$project: {c_n: 1}}]""")] == [2]
    f = pipeline_fault(runtime, org, "[{$match: '{bad'}]")
    assert (f.errCode, f.status, f.path) == ("cortex.invalidArgument.stageJSONFormat", 400, "$match")


def test_stage_value_must_be_an_object(runtime: Runtime, org: Any) -> None:
    f = pipeline_fault(runtime, org, "[{$match: 5}]")
    assert (f.errCode, f.message, f.path) == ("cortex.invalidArgument.stageObjectExpected", "Object expected for expression.", "$match")


def test_unknown_stage(runtime: Runtime, org: Any) -> None:
    query(pipeline_fault(runtime, org, "[{$out: 'x'}]"), '"$out" is not a valid pipeline stage type.', None)


# ---- cursor.strict(false) ------------------------------------------------------------------------

DROPPED = "[{$project: {c_name: 1}}, {$project: {c_name: 1, c_n: 1}}]"
_LOOSE_ORGS = itertools.count()


def allow_strict_option(runtime: Runtime, org: Any, allowed: bool) -> None:
    runtime.store.orgs.update_one({"_id": org[0]._id}, {"$set": {"settings.configuration.queries.allowParserStrictOption": allowed}})


@pytest.fixture()
def loose_org(runtime: Runtime) -> Any:
    org = make_org(runtime, f"fidaggloose{next(_LOOSE_ORGS)}")
    value(runtime, org, "return org.objects.c_fids.insertMany([{c_name: 'a', c_n: 1}, {c_name: 'b', c_n: 2}]).execute().insertedCount")
    return org


def test_strict_false_is_ignored_without_the_org_setting(runtime: Runtime, loose_org: Any) -> None:
    source = f"return org.objects.c_fids.aggregate({DROPPED}).strict(false).toArray()"
    query(fault(runtime, loose_org, source), "strict: there are no properties that could match c_n", "c_n")
    allow_strict_option(runtime, loose_org, False)
    query(fault(runtime, loose_org, source), "strict: there are no properties that could match c_n", "c_n")


def test_strict_false_drops_the_candidate_checks_when_the_org_allows_it(runtime: Runtime, loose_org: Any) -> None:
    allow_strict_option(runtime, loose_org, True)
    out = value(runtime, loose_org, f"return org.objects.c_fids.aggregate({DROPPED}).strict(false).toArray()")
    assert sorted(r["c_name"] for r in out) == ["a", "b"] and all("c_n" not in r for r in out)
    out = value(runtime, loose_org, "return org.objects.c_fids.aggregate([{$project: {c_name: 1}}, {$match: {c_gone: 'abc'}}]).strict(false).toArray()")
    assert out == []
    # Strict stays the default: without strict(false) the same pipeline still fails.
    query(fault(runtime, loose_org, f"return org.objects.c_fids.aggregate({DROPPED}).toArray()"), "strict: there are no properties that could match c_n", "c_n")
    query(fault(runtime, loose_org, f"return org.objects.c_fids.aggregate({DROPPED}).strict(true).toArray()"), "strict: there are no properties that could match c_n", "c_n")


def test_strict_false_keeps_the_other_parser_faults(runtime: Runtime, loose_org: Any) -> None:
    allow_strict_option(runtime, loose_org, True)
    f = fault(runtime, loose_org, "return org.objects.c_fids.aggregate([{$project: {save: 'c_name'}}]).strict(false).toArray()")
    query(f, 'The property name "save" is reserved.', "save")


# ---- required dependencies -----------------------------------------------------------------------

DEPENDENT_OBJECT = """
org.objects.objects.insertOne({
  label: 'Dep', name: 'c_dep',
  defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [
    {label: 'Name', name: 'c_name', type: 'String'},
    {label: 'N', name: 'c_n', type: 'Number'},
    {label: 'Full', name: 'c_full', type: 'String', dependencies: ['c_name', 'c_doc.c_x']},
    {label: 'Doc', name: 'c_doc', type: 'Document', properties: [{label: 'X', name: 'c_x', type: 'Number'}]}
  ]
}).execute()
org.objects.c_deps.insertOne({c_name: 'a', c_n: 1, c_full: 'A', c_doc: {c_x: 1}}).execute()
"""


@pytest.fixture(scope="module")
def dep_org(runtime: Runtime) -> Any:
    return make_org(runtime, "fidaggdep", DEPENDENT_OBJECT)


@pytest.mark.parametrize(
    ("project", "path"),
    [
        ("{c_full: 1, c_name: 0}", "c_name"),
        ("{c_full: 1, c_name: {$toUpper: 'c_name'}}", "c_name"),
        ("{c_name: 'c_n', c_full: true}", "c_name"),
        ("{c_full: 1, c_doc: {$literal: 1}}", "c_doc.c_x"),
    ],
)
def test_excluding_or_renaming_a_required_dependency(runtime: Runtime, dep_org: Any, project: str, path: str) -> None:
    f = fault(runtime, dep_org, f"return org.objects.c_deps.aggregate([{{$project: {project}}}]).toArray()")
    query(f, "A required dependency has been excluded or renamed.", path)


def test_including_dependencies_is_fine(runtime: Runtime, dep_org: Any) -> None:
    rows_out = value(runtime, dep_org, "return org.objects.c_deps.aggregate([{$project: {c_full: 1, c_name: 1}}]).toArray()")
    assert [(r["c_full"], r["c_name"]) for r in rows_out] == [("A", "a")]
    # A dependency's own property renamed while the dependent one is not projected is the rename fault.
    query(fault(runtime, dep_org, "return org.objects.c_deps.aggregate([{$project: {c_name: 'c_n'}}]).toArray()"), "Cannot rename built-in fields.", "c_name")
