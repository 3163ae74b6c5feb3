"""Object triggers: before (inline, may change or cancel the write) and after (exactly once)."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String', indexed: true},
               {label: 'Locked', name: 'c_locked', type: 'String', writeAccess: 8}, {label: 'Order', name: 'c_order', type: 'String', array: true}]}).execute()
org.objects.objects.insertOne({label: 'Seen', name: 'c_seen', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("triggers")
    assert runtime.run(OBJECT, org=org, principal=admin).ok
    layer = runtime.layer(org, admin)

    def deploy(name: str, event: str, script: str, **extra: object) -> None:
        configuration = {"object": "c_item", "event": event, **{k: v for k, v in extra.items() if k != "weight"}}
        layer.insert_one("script", {"label": name, "name": name, "type": "trigger", "script": script, "configuration": configuration, "weight": extra.get("weight", 0)}, {})

    def run(source: str):
        return runtime.run(source, org=org, principal=admin)

    return runtime, deploy, run


def test_before_trigger_that_throws_cancels_the_write(world):
    runtime, deploy, run = world
    deploy("c_guard", "create.before", "if (script.arguments.new.c_n > 10) throw Fault.create('kAccessDenied', {reason: 'too big'})")
    result = run("return org.objects.c_items.insertOne({c_n: 11}).execute()")
    assert (result.fault.code, result.fault.reason) == ("kAccessDenied", "too big")
    assert run("return org.objects.c_items.count()").value == 0
    assert run("return org.objects.c_items.insertOne({c_n: 5}).execute() !== null").value is True
    cancelled_false = None
    deploy("c_no", "create.before", "return script.arguments.new.c_n !== 7")
    cancelled_false = run("return org.objects.c_items.insertOne({c_n: 7}).execute()").fault
    assert (cancelled_false.errCode, cancelled_false.code, cancelled_false.status) == ("cortex.error.triggerCancelled", "kError", 500)
    assert run("return org.objects.c_items.count()").value == 1


def test_before_trigger_changes_persist_with_grant(world):
    runtime, deploy, run = world
    deploy("c_stamp", "create.before", "script.arguments.new.update('c_locked', 'by trigger', {grant: 8}); script.arguments.new.update('c_s', 'n=' + script.arguments.new.c_n)")
    out = run("const id = org.objects.c_items.insertOne({c_n: 3}).execute(); return org.objects.c_items.find({_id: id}).next()")
    assert (out.value["c_locked"], out.value["c_s"]) == ("by trigger", "n=3")
    denied = None
    deploy("c_sneaky", "update.before", "script.arguments.new.update('c_locked', 'no grant')")
    denied = run("return org.objects.c_items.updateOne({c_n: 3}, {$set: {c_s: 'x'}}).execute()").fault
    assert denied.errCode == "cortex.accessDenied.propertyUpdate"


def test_before_trigger_sees_old_new_modified(world):
    runtime, deploy, run = world
    deploy("c_watch", "update.before", "script.arguments.new.update('c_s', [script.arguments.old.c_n, script.arguments.new.c_n, script.arguments.modified.join(','), script.arguments.dryRun].join('|'))")
    out = run("const id = org.objects.c_items.insertOne({c_n: 1}).execute(); org.objects.c_items.updateOne({_id: id}, {$set: {c_n: 2}}).execute(); return org.objects.c_items.find({_id: id}).next().c_s")
    assert out.value == "1|2|c_n|false"


def test_after_trigger_runs_once_and_sees_the_committed_document(world):
    runtime, deploy, run = world
    deploy(
        "c_copy",
        "create.after",
        "const id = script.arguments.new._id; const stored = org.objects.c_items.find({_id: id}).next(); org.objects.c_seens.insertOne({c_n: stored.c_n, c_s: String(script.context._id)}).execute()",
    )
    out = run("org.objects.c_items.insertOne({c_n: 1}).execute(); org.objects.c_items.insertOne({c_n: 2}).execute(); return 1")
    assert out.ok, out.fault
    seen = run("return org.objects.c_seens.find().sort({c_n: 1}).map(s => s.c_n)")
    assert seen.value == [1, 2]
    assert runtime.process_events() == 0  # nothing left: each ran exactly once


def test_after_trigger_cannot_undo_the_write(world):
    runtime, deploy, run = world
    deploy("c_fails", "create.after", "throw new Error('after trigger failed')")
    out = run("return org.objects.c_items.insertOne({c_n: 9}).execute() !== null")
    assert out.value is True
    assert run("return org.objects.c_items.count({c_n: 9})").value == 1
    events = list(runtime.store.queue.find({"status": "failed"}))
    assert len(events) == 1 and events[0]["fault"]["message"] == "after trigger failed"


def test_weight_order_memo_and_override_by_name(world):
    runtime, deploy, run = world
    deploy("c_low", "create.before", "script.arguments.memo.order = (script.arguments.memo.order || []).concat('low'); script.arguments.new.update('c_order', script.arguments.memo.order)", weight=1)
    deploy("c_high", "create.before", "script.arguments.memo.order = (script.arguments.memo.order || []).concat('high')", weight=5)
    out = run("const id = org.objects.c_items.insertOne({c_n: 1}).execute(); return org.objects.c_items.find({_id: id}).next().c_order")
    assert out.value == ["high", "low"]


_TAGS = """
const { trigger } = require('decorators')
class Tags {
  @trigger('create.before', { object: 'c_item', name: 'c_tag', weight: WEIGHT })
  static tag({ new: pending }) { pending.update('c_s', 'VALUE') }
}
module.exports = Tags
"""


def test_same_name_needs_a_strictly_higher_weight_to_replace(world):
    # Script names are unique (a second c_tag is cortex.conflict.exists); a decorated entry
    # of the same type and name replaces the saved script only when it weighs strictly more.
    runtime, deploy, run = world
    deploy("c_tag", "create.before", "script.arguments.new.update('c_s', 'first')", weight=1)

    def library(weight: int, value: str) -> str:
        return _TAGS.replace("WEIGHT", str(weight)).replace("VALUE", value)

    created = run(f"return org.objects.scripts.insertOne({{label: 'Tags', name: 'c_tags', type: 'library', configuration: {{export: 'c_tags'}}, script: {library(1, 'equal')!r}}}).execute()")
    assert created.ok, created.fault and created.fault.to_json()
    out = run("const id = org.objects.c_items.insertOne({c_n: 1}).execute(); return org.objects.c_items.find({_id: id}).next().c_s")
    assert out.value == "first"
    updated = run(f"return org.objects.scripts.updateOne({{name: 'c_tags'}}, {{$set: {{script: {library(2, 'heavier')!r}}}}}).execute()")
    assert updated.ok, updated.fault and updated.fault.to_json()
    out = run("const id = org.objects.c_items.insertOne({c_n: 2}).execute(); return org.objects.c_items.find({_id: id}).next().c_s")
    assert out.value == "heavier"


def test_script_names_are_unique_and_custom(world):
    runtime, deploy, run = world
    deploy("c_tag", "create.before", "return true")
    with pytest.raises(Exception) as raised:
        deploy("c_tag", "create.before", "return true")
    assert getattr(raised.value, "errCode", None) == "cortex.conflict.exists"
    bad = run("return org.objects.scripts.insertOne({label: 'x', name: 'a__b__c', type: 'library', configuration: {export: 'c_abc'}, script: 'module.exports = 1'}).execute()")
    assert bad.fault.errCode == "cortex.invalidArgument.validation"
    assert bad.fault.faults[0].reason == "a__b__c cannot contain more than 1 namespace separator"


@pytest.mark.parametrize("limit", [6, 3])
def test_trigger_chain_stops_at_the_depth_limit(world, limit):
    runtime, deploy, run = world
    runtime.max_depth = limit
    deploy("c_chain", "create.before", "org.objects.c_seens.insertOne({c_n: script.depth}).execute(); org.objects.c_items.insertOne({c_n: script.depth}).execute()")
    result = run("return org.objects.c_items.insertOne({c_n: 0}).execute()")
    assert result.fault is not None
    assert result.fault.errCode == "script.invalidArgument.executionDepthExceeded"
    depths = run("return org.objects.c_seens.find().map(s => s.c_n)").value
    assert sorted(depths) == list(range(2, limit + 1))  # the too-deep script never started
    assert run("return org.objects.c_items.count()").value == 0


def test_custom_system_events_and_fire():
    runtime = Runtime()
    org, admin = runtime.orgs.create("custom-events")
    assert runtime.run(OBJECT, org=org, principal=admin).ok
    layer = runtime.layer(org, admin)
    layer.insert_one(
        "script",
        {"label": "On done", "name": "c_on_done", "type": "trigger", "script": "org.objects.c_seens.insertOne({c_n: script.arguments.params.n}).execute()",
         "configuration": {"object": "system", "event": "c_task.done.after"}},
        {},
    )
    layer.insert_one(
        "script",
        {"label": "Listeners", "name": "c_listeners", "type": "library", "configuration": {"export": "c_listeners"},
         "script": "const { on } = require('decorators')\nclass L {\n  @on('c_ping', {weight: 1})\n  static ping(a, b, runtime) { org.objects.c_seens.insertOne({c_n: a + b, c_s: runtime.event}).execute() }\n}\nmodule.exports = L"},
        {},
    )
    out = runtime.run("script.trigger('c_task.done.after', {n: 7}); script.fire('c_ping', 2, 3); return org.objects.c_seens.find().map(s => [s.c_n, s.c_s || null]).sort()", org=org, principal=admin)
    assert out.value == [[5, "c_ping"], [7, None]], out.fault and out.fault.to_json()
    bad = layer.insert_one
    try:
        bad("script", {"label": "Bad", "name": "c_bad", "type": "trigger", "script": "1", "configuration": {"object": "system", "event": "notcustom.after"}}, {})
        raise AssertionError("a non-custom system event was accepted")
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "errCode", "") == "cortex.invalidArgument.validation"
