"""What trigger scripts receive (scripting-core.md sections 2.1 and 2.5, decorators-expressions.md
section 3.2): script.arguments (old, new, modified, dryRun, memo), script.context, and the argument
of decorated trigger handlers."""

from __future__ import annotations

import gc
import json

import pytest

from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Thing', name: 'c_thing', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number'}, {label: 'S', name: 'c_s', type: 'String'}, {label: 'X', name: 'c_x', type: 'String'},
               {label: 'Log', name: 'c_log', type: 'String'}, {label: 'Tags', name: 'c_tags', type: 'String', array: true}]}).execute()
org.objects.objects.insertOne({label: 'Note', name: 'c_note', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'Text', name: 'c_text', type: 'String'}]}).execute()
"""


@pytest.fixture
def world():
    gc.collect()  # earlier tests' engines belong to this thread: free them here, not on a scripts thread
    runtime = Runtime()
    org, admin = runtime.orgs.create("targs")
    assert runtime.run(OBJECT, org=org, principal=admin).ok
    layer = runtime.layer(org, admin)

    def deploy(name: str, event: str, script: str, **configuration: object) -> None:
        layer.insert_one("script", {"label": name, "name": name, "type": "trigger", "script": script, "configuration": {"object": "c_thing", "event": event, **configuration}}, {})

    def library(name: str, source: str) -> None:
        layer.insert_one("script", {"label": name, "name": name, "type": "library", "script": source, "configuration": {"export": name}}, {})

    def run(source: str):
        return runtime.run(source, org=org, principal=admin)

    yield runtime, deploy, library, run
    runtime.sandbox.release()  # engines are freed on the thread that made them


def created(run, values: str = "{c_n: 1}") -> dict:
    out = run(f"const id = org.objects.c_things.insertOne({values}).execute(); return org.objects.c_things.find({{_id: id}}).next()")
    assert out.ok, out.fault and out.fault.to_json()
    return out.value


def test_create_before_context_update_sets_the_pending_document(world):
    runtime, deploy, library, run = world
    deploy("c_ctx", "create.before", "script.context.update('c_x', 'set by context'); script.context.push('c_tags', 'a')")
    doc = created(run)
    assert (doc["c_x"], doc["c_tags"]) == ("set by context", ["a"])


def test_decorated_create_before_context_update_sets_the_pending_document(world):
    runtime, deploy, library, run = world
    library(
        "c_ctx_lib",
        """const { trigger } = require('decorators')
        class T {
          @trigger('create.before', { object: 'c_thing', name: 'c_ctx_deco' })
          static stamp({ context }) { context.update('c_x', 'from handler ' + context.c_n) }
        }
        module.exports = T""",
    )
    assert created(run, "{c_n: 4}")["c_x"] == "from handler 4"


def test_update_before_sees_modified_old_and_new(world):
    runtime, deploy, library, run = world
    deploy(
        "c_upd",
        "update.before",
        """const a = script.arguments
        script.arguments.new.update('c_log', JSON.stringify({modified: a.modified, old: [a.old.c_n, a.old.c_s], newKeys: Object.keys(a.new).sort(), dryRun: a.dryRun, context: script.context.c_s}))""",
    )
    doc = created(run, "{c_n: 1, c_s: 'one'}")
    out = run(f"org.objects.c_things.updateOne({{_id: '{doc['_id']}'}}, {{$set: {{c_s: 'two', c_n: 1}}}}).execute(); return org.objects.c_things.find({{_id: '{doc['_id']}'}}).next().c_log")
    seen = json.loads(out.value)
    # c_n was set to the value it had: it is not modified, and new holds only what is.
    assert seen == {"modified": ["c_s"], "old": [1, "one"], "newKeys": ["_id", "c_s", "object"], "dryRun": False, "context": "two"}


def test_create_and_delete_arguments(world):
    runtime, deploy, library, run = world
    deploy("c_cb", "create.before", "script.arguments.new.update('c_log', [script.arguments.old === undefined, script.arguments.modified.join(','), script.arguments.dryRun].join('|'))")
    doc = created(run, "{c_n: 2, c_s: 's'}")
    assert doc["c_log"] == "true|c_n,c_s|false"
    deploy(
        "c_da",
        "delete.after",
        "org.objects.c_notes.insertOne({c_text: [script.arguments.new === undefined, script.arguments.old.c_n, script.arguments.modified.length, 'dryRun' in script.arguments, String(script.context._id) === String(script.arguments.old._id)].join('|')}).execute()",
        inline=True,
    )
    out = run(f"org.objects.c_things.deleteOne({{_id: '{doc['_id']}'}}).execute(); return org.objects.c_notes.find().next().c_text")
    assert out.value == "true|2|0|false|true", out.fault and out.fault.to_json()


def test_dry_run_is_passed_to_before_triggers(world):
    runtime, deploy, library, run = world
    deploy("c_dry", "create.before", "if (script.arguments.dryRun) throw Fault.create('kInvalidArgument', {reason: 'dry run seen'})")
    out = run("return org.objects.c_things.insertOne({c_n: 1}).dryRun(true).execute()")
    assert out.fault is not None and out.fault.reason == "dry run seen"


def test_memo_is_shared_from_before_to_after_triggers(world):
    runtime, deploy, library, run = world
    deploy("c_mb", "create.before", "script.arguments.memo.fromBefore = 'hello'")
    deploy("c_ma", "create.after", "org.objects.c_notes.insertOne({c_text: script.arguments.memo.fromBefore}).execute()", inline=True)
    deploy("c_mq", "create.after", "org.objects.c_notes.insertOne({c_text: 'queued ' + script.arguments.memo.fromBefore}).execute()")
    created(run)
    out = run("return org.objects.c_notes.find().map(n => n.c_text).sort()")
    assert out.value == ["hello", "queued hello"]


def test_paths_limit_old_and_new(world):
    runtime, deploy, library, run = world
    deploy("c_paths", "create.before", "script.arguments.new.update('c_log', Object.keys(script.arguments.new).sort().join(','))", paths=["c_n"])
    assert created(run, "{c_n: 1, c_s: 'hidden'}")["c_log"] == "_id,c_n,object"


def test_decorated_trigger_argument(world):
    runtime, deploy, library, run = world
    library(
        "c_args_lib",
        """const { trigger } = require('decorators')
        class T {
          @trigger('create.before', { object: 'c_thing', name: 'c_first', weight: 2 })
          static first({ memo, body }) { memo('a.b', 1); body('c_s', 'via body') }

          @trigger('create.before', { object: 'c_thing', name: 'c_second', weight: 1 })
          static second({ context, old, previous, new: pending, current, modified, dryRun, params, inline, event, body, memo, runtime }) {
            pending.update('c_log', JSON.stringify({
              context: context.object, old: old === undefined && previous === undefined, same: pending === current && params.new === pending,
              modified, dryRun, inline, event, body: body('c_s'), whole: typeof body(), memo: memo('a.b'), memoAll: memo(), proto: memo('constructor'),
              runtime: [runtime.name, runtime.type, runtime.configuration.event, runtime.configuration.object],
            }))
          }
        }
        module.exports = T""",
    )
    doc = created(run, "{c_n: 3}")
    assert doc["c_s"] == "via body"
    seen = json.loads(doc["c_log"])
    assert seen == {
        "context": "c_thing",
        "old": True,
        "same": True,
        "modified": ["c_n", "c_s"],
        "dryRun": False,
        "inline": True,
        "event": "create.before",
        "body": "via body",
        "whole": "object",
        "memo": 1,
        "memoAll": {"a": {"b": 1}},
        "proto": None,
        "runtime": ["c_second", "trigger", "create.before", "c_thing"],
    }


@pytest.mark.parametrize(
    ("script", "err_code"),
    [
        ("script.context.update('c_nope', 1)", "cortex.notFound.property"),
        ("script.context.update('', 1)", "cortex.invalidArgument.unspecified"),
        ("script.context.update('c_n', 'not a number')", None),
    ],
)
def test_bad_context_writes_are_cortex_faults(world, script, err_code):
    runtime, deploy, library, run = world
    deploy("c_bad", "create.before", script)
    out = run("return org.objects.c_things.insertOne({c_n: 1}).execute()")
    assert out.fault is not None
    assert "Traceback" not in (out.fault.reason or "")
    if err_code:
        assert out.fault.errCode == err_code
