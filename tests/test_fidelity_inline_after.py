"""Inline ``after`` triggers (fidelity.md §13): they run before the write returns, their
changes are in its ``lean(false)`` result, and their faults fail the (already saved) write."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: ['owner.delete'], createAcl: ['account.public'],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("inline")
    assert runtime.run(OBJECT, org=org, principal=admin).ok
    layer = runtime.layer(org, admin)

    def deploy(name: str, event: str, script: str, weight: float = 0, **configuration: object) -> None:
        layer.insert_one(
            "script",
            {"label": name, "name": name, "type": "trigger", "script": script, "weight": weight, "configuration": {"object": "c_item", "event": event, **configuration}},
            {},
        )

    def run(source: str):
        return runtime.run(source, org=org, principal=admin)

    return runtime, deploy, run


STAMP = "org.objects.c_items.updateOne({_id: script.context._id}, {$set: {c_s: 'stamped ' + script.inline}}).execute()"


def test_an_inline_after_change_is_in_the_lean_false_result(world):
    _, deploy, run = world
    deploy("c_stamp", "create.after", STAMP, inline=True)
    result = run("return org.objects.c_items.insertOne({c_n: 1}).lean(false).execute()")
    assert result.ok, result.fault
    assert result.value["c_s"] == "stamped true"
    updated = run("return org.objects.c_items.updateOne({c_n: 1}, {$set: {c_n: 2}}).lean(false).execute()")
    assert updated.ok, updated.fault
    assert (updated.value["c_n"], updated.value["c_s"]) == (2, "stamped true")


def test_a_non_inline_after_trigger_runs_later(world):
    runtime, deploy, run = world
    deploy("c_stamp", "create.after", STAMP)
    result = run("return org.objects.c_items.insertOne({c_n: 1}).lean(false).execute()")
    assert result.ok and "c_s" not in result.value
    runtime.process_events()
    assert run("return org.objects.c_items.find().next().c_s").value == "stamped false"


def test_an_inline_after_fault_fails_the_saved_write_and_stops_later_triggers(world):
    _, deploy, run = world
    deploy("c_first", "create.after", "throw Fault.create('app.someError', 'after failed')", weight=2, inline=True)
    deploy("c_second", "create.after", STAMP, weight=1, inline=True)
    caught = run("try { org.objects.c_items.insertOne({c_n: 7}).execute() } catch (e) { return [e.errCode, e.reason] }")
    assert caught.value == ["app.someError", "after failed"]
    # The data is already written; the lighter trigger never ran.
    saved = run("return org.objects.c_items.find({c_n: 7}).toArray()").value
    assert len(saved) == 1 and "c_s" not in saved[0]


def test_a_non_inline_after_fault_never_reaches_the_writer(world):
    runtime, deploy, run = world
    deploy("c_fails", "create.after", "throw Fault.create('app.someError', 'later')")
    assert run("return org.objects.c_items.insertOne({c_n: 3}).execute() !== null").value is True
    runtime.process_events()
    assert run("return org.objects.c_items.count()").value == 1
