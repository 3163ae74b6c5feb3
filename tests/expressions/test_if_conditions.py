"""``if`` conditions: triggers run only when their condition is truthy; jobs skip a false run."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cortex_runtime.runtime import Runtime
from cortex_runtime.scheduler import Job

OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("conditions")
    assert runtime.run(OBJECT, org=org, principal=admin).ok
    layer = runtime.layer(org, admin)

    def deploy(name: str, event: str, script: str, condition: object, **configuration: object) -> dict:
        doc = {"label": name, "name": name, "type": "trigger", "script": script, "if": condition, "configuration": {"object": "c_item", "event": event, **configuration}}
        return layer.insert_one("script", doc, {})

    def run(source: str):
        result = runtime.run(source, org=org, principal=admin)
        assert result.fault is None, result.fault
        return result.value

    return runtime, org, deploy, run


def _condition_logs(runtime: Runtime, org) -> list[dict]:
    return list(runtime.store.logs.find({"org": org._id, "dat.operation": "sandbox.condition.if"}))


def test_before_trigger_runs_only_when_the_condition_holds(world):
    runtime, org, deploy, run = world
    deploy("c_big", "create.before", "script.arguments.new.update('c_s', 'big')", {"$gt": ["$c_n", 10]})
    run("org.objects.c_items.insertOne({c_n: 11}).execute(); org.objects.c_items.insertOne({c_n: 5}).execute()")
    assert run("return org.objects.c_items.find().sort({c_n: 1}).map(d => d.c_s || null)") == [None, "big"]
    logs = _condition_logs(runtime, org)
    assert len(logs) == 1 and logs[0]["lvl"] == 2 and logs[0]["dat"]["reason"] == "condition is false"


def test_after_trigger_condition_sees_the_stored_document(world):
    runtime, org, deploy, run = world
    deploy("c_after", "update.after", "org.objects.c_items.updateOne({_id: script.arguments.new._id}, {$set: {c_s: 'seen'}}).execute()", {"$eq": ["$c_n", 2]}, inline=True)
    run("const a = org.objects.c_items.insertOne({c_n: 1}).execute(); org.objects.c_items.updateOne({_id: a}, {$set: {c_n: 2}}).execute()")
    run("const b = org.objects.c_items.insertOne({c_n: 7}).execute(); org.objects.c_items.updateOne({_id: b}, {$set: {c_n: 3}}).execute()")
    assert run("return org.objects.c_items.find().sort({c_n: 1}).map(d => [d.c_n, d.c_s || null])") == [[2, "seen"], [3, None]]


def test_a_fault_in_the_condition_is_logged_and_the_trigger_does_not_run(world):
    runtime, org, deploy, run = world
    deploy("c_bad", "create.before", "throw Fault.create('kAccessDenied', {reason: 'ran'})", {"$size": "$c_n"})
    run("org.objects.c_items.insertOne({c_n: 1}).execute()")  # the write goes through
    assert run("return org.objects.c_items.count()") == 1
    logs = _condition_logs(runtime, org)
    assert len(logs) == 1 and logs[0]["lvl"] == 0 and logs[0]["err"]["reason"] == "$size expects an Array"


def test_runtime_root_document_and_script_variable(world):
    runtime, org, deploy, run = world
    cond = {"$and": [{"$in": ["c_n", "$modified"]}, {"$eq": ["$previous.c_n", 1]}, {"$eq": ["$$SCRIPT.type", "trigger"]}]}
    deploy("c_rt", "update.before", "script.arguments.new.update('c_s', 'changed-from-1')", cond, rootDocument="runtime")
    run("const a = org.objects.c_items.insertOne({c_n: 1}).execute(); org.objects.c_items.updateOne({_id: a}, {$set: {c_n: 2}}).execute()")
    run("const b = org.objects.c_items.insertOne({c_n: 5}).execute(); org.objects.c_items.updateOne({_id: b}, {$set: {c_n: 6}}).execute()")
    assert run("return org.objects.c_items.find().sort({c_n: 1}).map(d => d.c_s || null)") == ["changed-from-1", None]


def test_trigger_without_if_always_runs(world):
    runtime, org, deploy, run = world
    deploy("c_any", "create.before", "script.arguments.new.update('c_s', 'x')", None)
    run("org.objects.c_items.insertOne({c_n: 1}).execute()")
    assert run("return org.objects.c_items.find().next().c_s") == "x"
    assert _condition_logs(runtime, org) == []


@pytest.mark.parametrize(("condition", "runs"), [({"$eq": [1, 1]}, True), ({"$eq": [1, 2]}, False), ({"$nope": 1}, False)])
def test_job_with_a_false_if_skips_the_run(world, condition, runs):
    runtime, org, _, run = world
    source = "org.objects.c_items.insertOne({c_n: 99}).execute()"
    doc = {"org": org._id, "object": "script", "type": "job", "script": source, "if": condition, "label": "J", "principal": _admin_id(runtime, org)}
    script_id = runtime.store.contexts.insert_one(doc).inserted_id
    job = Job(id=None, org=org._id, name="j", cron="* * * * *", tz="UTC", next_run=datetime.now(timezone.utc), active=True, payload={"script": script_id})
    result = runtime.run_job(job)
    assert result.status == "completed"
    assert run("return org.objects.c_items.count()") == (1 if runs else 0)
    assert len(_condition_logs(runtime, org)) == (0 if runs else 1)


def _admin_id(runtime: Runtime, org) -> object:
    account = runtime.store.contexts.find_one({"org": org._id, "object": "account"})
    return account["_id"]
