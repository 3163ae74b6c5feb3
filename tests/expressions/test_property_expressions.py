"""Expression validators and expression default values of object properties (expressions.md §8.3)."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Thing', name: 'c_thing', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [
    {label: 'Min', name: 'c_min', type: 'Number'},
    {label: 'Max', name: 'c_max', type: 'Number', validators: [{name: 'expression', definition: {$gte: ['$$ROOT.value', '$$ROOT.subject.c_min']}}]},
    {label: 'Code', name: 'c_code', type: 'String', validators: [{name: 'expression', definition: {$cond: [{$eq: ['$$ROOT.value', 'boom']}, {$throw: 'cortex.accessDenied.unspecified'}, true]}}]},
    {label: 'Label', name: 'c_label', type: 'String', defaultValue: [{type: 'expression', value: {$concat: ['thing ', {$toString: '$c_min'}]}}]},
    {label: 'Maybe', name: 'c_maybe', type: 'String', defaultValue: {type: 'expression', value: '$nothing'}}
  ]}).execute()
"""


@pytest.fixture(scope="module")
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("exprprops")
    created = runtime.run(OBJECT, org=org, principal=admin)
    assert created.fault is None, created.fault

    def run(source: str):
        return runtime.run(source, org=org, principal=admin)

    yield runtime, org, admin, run
    runtime.close()


def test_expression_validator_passes_and_fails(world):
    runtime, org, admin, run = world
    ok = run("return org.objects.c_things.insertOne({c_min: 1, c_max: 5}).lean(false).execute().c_max")
    assert ok.fault is None, ok.fault
    assert ok.value == 5
    bad = run("return org.objects.c_things.insertOne({c_min: 10, c_max: 5}).execute()")
    assert bad.fault is not None and bad.fault.status == 400
    children = bad.fault.to_json().get("faults") or [bad.fault.to_json()]
    failed = [c for c in children if str(c.get("path", "")).endswith("c_max")]
    assert failed and failed[0]["errCode"] == "cortex.invalidArgument.unspecified"


def test_expression_validator_with_missing_value_is_not_run(world):
    runtime, org, admin, run = world
    assert run("return org.objects.c_things.insertOne({c_min: 3}).execute()").fault is None


def test_a_fault_thrown_by_a_validator_propagates(world):
    runtime, org, admin, run = world
    thrown = run("return org.objects.c_things.insertOne({c_code: 'boom'}).execute()")
    assert thrown.fault is not None and thrown.fault.errCode == "cortex.accessDenied.unspecified"
    assert run("return org.objects.c_things.insertOne({c_code: 'fine'}).execute()").fault is None


def test_expression_default_values(world):
    runtime, org, admin, run = world
    made = run("const _id = org.objects.c_things.insertOne({c_min: 7}).execute(); return org.objects.c_things.find({_id}).next()")
    assert made.fault is None, made.fault
    assert made.value["c_label"] == "thing 7"
    assert "c_maybe" not in made.value  # an undefined result writes nothing
    given = run("const _id = org.objects.c_things.insertOne({c_min: 7, c_label: 'mine'}).execute(); return org.objects.c_things.find({_id}).next().c_label")
    assert given.value == "mine"


def test_an_invalid_expression_fails_the_definition(world):
    runtime, org, admin, run = world
    bad = run("""org.objects.objects.insertOne({label: 'Bad', name: 'c_bad_thing', properties: [
      {label: 'X', name: 'c_x', type: 'Number', validators: [{name: 'expression', definition: {$nosuchop: 1}}]}]}).execute()""")
    assert bad.fault is not None
    text = str(bad.fault.to_json())
    assert "Unsupported operator $nosuchop" in text
