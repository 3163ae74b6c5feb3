"""Script cursors' ``.expressionPipeline(stages | 'c_name')`` (engine spec §7.2): the documents
the caller may read, piped through the expression pipeline."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}]}).execute()
"""


@pytest.fixture(scope="module")
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("exprcur")
    member = runtime.orgs.provision(org, email="member@example.com")
    assert runtime.run(OBJECT, org=org, principal=admin).ok

    def run(source: str, who=admin):
        return runtime.run(source, org=org, principal=who)

    for n in (1, 2, 3):
        assert run(f"org.objects.c_items.insertOne({{c_n: {n}}}).execute()").ok
    assert run("org.objects.c_items.insertOne({c_n: 10}).execute()", member).ok
    yield runtime, org, admin, member, run
    runtime.close()


def test_expression_pipeline_over_a_query_cursor(world):
    runtime, org, admin, member, run = world
    src = "return org.objects.c_items.find().sort({c_n: 1}).expressionPipeline([{$match: {$gte: ['$c_n', 2]}}, {$project: {n: '$c_n', object: '$object'}}]).toArray()"
    result = run(src)
    assert result.fault is None, result.fault
    assert result.value == [{"n": 2, "object": "c_item"}, {"n": 3, "object": "c_item"}]


def test_expression_pipeline_reads_with_the_callers_access(world):
    runtime, org, admin, member, run = world
    src = "return org.objects.c_items.find().expressionPipeline([{$group: {_id: null, total: {$sum: '$c_n'}, count: {$count: 1}}}]).toArray()"
    assert run(src).value == [{"total": 6, "count": 3}]  # a null _id groups everything, without an _id key
    assert run(src, member).value == [{"total": 10, "count": 1}]


def test_expression_pipeline_with_transform_and_var(world):
    runtime, org, admin, member, run = world
    src = """return org.objects.c_items.find().sort({c_n: 1}).expressionPipeline([
      {$transform: {vars: {sum: 0}, each: {set: {sum: {$add: ['$$sum', '$c_n']}}, in: '$$sum'}}}]).toArray()"""
    assert run(src).value == [1, 3, 6]


def test_expression_pipeline_by_name(world):
    runtime, org, admin, member, run = world
    runtime.store.contexts.insert_one({"org": org._id, "object": "expression", "name": "c_doubled", "type": "pipeline", "label": "D", "pipeline": [{"$project": {"$multiply": ["$c_n", 2]}}]})
    result = run("return org.objects.c_items.find().sort({c_n: -1}).expressionPipeline('c_doubled').toArray()")
    assert result.fault is None, result.fault
    assert result.value == [6, 4, 2]


def test_expression_pipeline_faults(world):
    runtime, org, admin, member, run = world
    bad = run("return org.objects.c_items.find().expressionPipeline([{$sort: {c_n: 1}}]).toArray()")
    assert bad.fault is not None and bad.fault.reason == "Unknown stage type $sort"
    missing = run("return org.objects.c_items.find().expressionPipeline('c_nothing').toArray()")
    assert missing.fault is not None and missing.fault.errCode == "cortex.notFound.unspecified" and missing.fault.reason == "Missing pipeline."
    wrong = run("return org.objects.c_items.find().expressionPipeline(5).toArray()")
    assert wrong.fault is not None and wrong.fault.errCode == "cortex.invalidArgument.unspecified"
    caught = run("try { org.objects.c_items.find().expressionPipeline([{$project: {$throw: 'cortex.accessDenied.unspecified'}}]).toArray() } catch (e) { return e.errCode }")
    assert caught.value == "cortex.accessDenied.unspecified"


def test_without_expression_pipeline_documents_are_unchanged(world):
    runtime, org, admin, member, run = world
    assert run("return org.objects.c_items.find().sort({c_n: 1}).paths('c_n').toArray().map(d => d.c_n)").value == [1, 2, 3]


def test_expression_pipeline_over_an_aggregation_cursor(world):
    runtime, org, admin, member, run = world
    src = "return org.objects.c_items.aggregate().match({c_n: {$gte: 2}}).sort({c_n: 1}).expressionPipeline([{$project: {$multiply: ['$c_n', 100]}}]).toArray()"
    result = run(src)
    assert result.fault is None, result.fault
    assert result.value == [200, 300]


def test_expression_pipeline_sees_the_request_and_keeps_the_time_limit(world):
    runtime, org, admin, member, run = world
    from cortex_runtime.config import Limits

    src = "return org.objects.c_items.find().limit(1).expressionPipeline([{$project: '$$REQUEST.method'}]).toArray()"
    result = runtime.run(src, org=org, principal=admin, request={"method": "PUT", "headers": {}})
    assert result.fault is None, result.fault
    assert result.value == ["PUT"]
    slow = runtime.run("return org.objects.c_items.find().expressionPipeline([{$project: {$sleep: 10000}}]).toArray()", org=org, principal=admin, limits=Limits(timeout_ms=300))
    assert slow.fault is not None and slow.fault.errCode == "script.timeout.execution"
