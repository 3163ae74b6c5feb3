"""Named expressions and pipelines (expressions.md §6.13, §7.3, §7.4): imported ``expression``
objects, ``$expression``, the ``$c_name`` shorthands, ``runtime.*`` and ``if: "c_name"``."""

from __future__ import annotations

import pytest

from cortex_runtime.environment.importer import import_environment
from cortex_runtime.expressions import MISSING, Pipeline, parse
from cortex_runtime.expressions.operators.database import ExpressionHost
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""

NAMED = [
    {"object": "expression", "name": "c_double", "label": "Double", "type": "expression", "expression": {"$multiply": ["$n", 2]}},
    {"object": "expression", "name": "c_is_big", "label": "Big", "type": "expression", "expression": {"$gt": ["$c_n", 10]}},
    {"object": "expression", "name": "c_off", "label": "Off", "type": "expression", "active": False, "expression": 1},
    {"object": "expression", "name": "c_vars", "label": "Vars", "type": "expression", "expression": "$$VAR.x"},
    {"object": "expression", "name": "c_loop", "label": "Loop", "type": "expression", "expression": {"$expression": "c_loop"}},
    {"object": "expression", "name": "c_evens", "label": "Evens", "type": "pipeline", "pipeline": [{"$match": {"$eq": [{"$mod": ["$n", 2]}, 0]}}]},
]


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("named")
    assert runtime.run(OBJECT, org=org, principal=admin).ok
    report = import_environment(runtime, org, admin, [{"object": "manifest"}, *NAMED])
    assert report.fault is None, report.fault

    def run(source: str):
        result = runtime.run(source, org=org, principal=admin)
        assert result.fault is None, result.fault
        return result.value

    host = ExpressionHost(runtime, org._id, org.code, runtime.layer(org, admin))
    yield runtime, org, admin, run, host
    runtime.close()


def test_expression_operator_by_name_and_shorthand(world):
    runtime, org, admin, run, host = world
    assert parse({"$expression": "c_double"}).evaluate({"n": 4}, host=host) == 8
    assert parse({"$expression": {"as": {"n": 5}, "in": "c_double"}}).evaluate(host=host) == 10
    assert parse({"$c_double": {"$object": {"n": "$m"}}}).evaluate({"m": 6}, host=host) == 12
    assert parse({"$c_double": "$$ROOT"}).evaluate({"n": 1}, host=host) == 2
    assert parse({"$add": [1, {"$c_double": {"$object": {"n": 2}}}]}).evaluate(host=host) == 5


def test_inline_expression_forms(world):
    runtime, org, admin, run, host = world
    assert parse({"$expression": {"in": {"$add": ["$a", 1]}}}).evaluate({"a": 1}) == 2
    assert parse({"$expression": {"as": {"a": 10}, "in": {"$add": ["$a", 1]}}}).evaluate({"a": 1}) == 11
    # inline bodies see the caller's variables
    assert parse({"$let": {"vars": {"x": 3}, "in": {"$expression": {"as": {"a": 1}, "in": {"$add": ["$a", "$$x"]}}}}}).evaluate() == 4
    with pytest.raises(Fault) as err:
        parse({"$expression": 5})
    assert err.value.reason == "Operator $expression expects an object."


def test_named_expressions_get_a_fresh_scope_and_bounded_recursion(world):
    runtime, org, admin, run, host = world
    assert parse({"$let": {"vars": {"x": 1}, "in": {"$expression": "c_vars"}}}).evaluate(host=host) is MISSING
    with pytest.raises(Fault) as err:
        parse({"$expression": "c_loop"}).evaluate(host=host)
    assert err.value.reason == "Maximum expression depth (20) exceeded"


def test_missing_and_inactive_names_fault(world):
    runtime, org, admin, run, host = world
    for name in ("c_nothing", "c_off"):
        with pytest.raises(Fault) as err:
            parse({"$expression": name}).evaluate(host=host)
        assert err.value.errCode == "cortex.notFound.unspecified" and err.value.reason == "Missing expression."
    with pytest.raises(Fault) as err:
        parse({"$c_double": 1}).evaluate()  # no caller: nothing is named
    assert err.value.reason == "Missing expression."


def test_named_pipelines(world):
    runtime, org, admin, run, host = world
    items = [{"n": i} for i in range(5)]
    assert list(Pipeline([{"$pipeline": "c_evens"}]).run(items, host=host)) == [{"n": 0}, {"n": 2}, {"n": 4}]
    assert list(Pipeline([{"$c_evens": {"n": "$v"}}]).run([{"v": 1}, {"v": 2}], host=host)) == [{"n": 2}]
    inline = [{"$pipeline": {"as": {"n": {"$add": ["$n", 1]}}, "in": [{"$match": {"$gt": ["$n", 3]}}]}}]
    assert list(Pipeline(inline).run(items)) == [{"n": 4}, {"n": 5}]
    with pytest.raises(Fault) as err:
        list(Pipeline([{"$pipeline": "c_nope"}]).run(items, host=host))
    assert err.value.reason == "Missing pipeline."
    with pytest.raises(Fault) as err:
        Pipeline([{"$pipeline": 5}])
    assert err.value.reason == "Operator $pipeline expects an object."


def test_module_runtime_methods(world):
    runtime, org, admin, run, host = world
    assert run("return require('expressions').runtime.run('c_double', {n: 21})") == 42
    assert run("return require('expressions').runtime.evaluate('c_double', {n: 1}).result") == 2
    assert run("return require('expressions').runtime.run({$add: [1, 2]})") == 3
    assert run("return require('expressions').runtime.pipeline.run('c_evens', [{n: 1}, {n: 2}])") == [{"n": 2}]
    assert run("return require('expressions').run({$c_double: {$object: {n: 3}}})") == 6
    assert run("try { require('expressions').runtime.evaluate('c_none') } catch (e) { return [e.errCode, e.reason] }") == ["cortex.notFound.unspecified", "Missing expression."]


def test_trigger_if_uses_a_named_expression(world):
    runtime, org, admin, run, host = world
    layer = runtime.layer(org, admin)
    layer.insert_one("script", {"label": "t", "name": "c_t", "type": "trigger", "if": "c_is_big", "script": "script.arguments.new.update('c_s', 'big')",
                                "configuration": {"object": "c_item", "event": "create.before"}}, {})
    run("org.objects.c_items.insertOne({c_n: 11}).execute(); org.objects.c_items.insertOne({c_n: 5}).execute()")
    assert run("return org.objects.c_items.find().sort({c_n: 1}).map(d => d.c_s || null)") == [None, "big"]


def test_a_missing_named_condition_skips_and_logs(world):
    runtime, org, admin, run, host = world
    layer = runtime.layer(org, admin)
    layer.insert_one("script", {"label": "t", "name": "c_t2", "type": "trigger", "if": "c_absent", "script": "script.arguments.new.update('c_s', 'ran')",
                                "configuration": {"object": "c_item", "event": "create.before"}}, {})
    run("org.objects.c_items.insertOne({c_n: 1}).execute()")
    assert run("return org.objects.c_items.find().next().c_s || null") is None
    logs = list(runtime.store.logs.find({"org": org._id, "dat.operation": "sandbox.condition.if"}))
    assert logs and logs[-1]["err"]["reason"] == "Missing expression."


def test_override_rules_library_entries_and_environments(world):
    runtime, org, admin, run, host = world
    contexts = runtime.store.contexts
    lib = lambda name, value, weight=0, **kw: {"type": "expression", "name": name, "value": value, "weight": weight, "active": True, "environment": "*", **kw}  # noqa: E731
    contexts.insert_one({"org": org._id, "object": "script", "type": "library", "active": True, "name": "c_lib",
                         "runtime": [lib("c_double", "library"), lib("c_lib_only", "lib"), lib("c_prod", "prod", environment="production"),
                                     {"type": "pipeline", "name": "c_lib_pipe", "value": [{"$limit": 1}], "weight": 0}]})
    contexts.insert_one({"org": org._id, "object": "expression", "name": "c_heavy", "label": "H", "expression": "stored", "weight": 5})
    contexts.insert_one({"org": org._id, "object": "script", "type": "library", "active": True, "name": "c_lib2", "runtime": [lib("c_heavy", "library", 1)]})
    contexts.insert_one({"org": org._id, "object": "expression", "name": "c_untyped_pipe", "label": "P", "pipeline": [{"$skip": 1}]})
    fresh = ExpressionHost(runtime, org._id, org.code, runtime.layer(org, admin))
    assert parse({"$expression": "c_double"}).evaluate(host=fresh) == "library"  # equal weight: the library entry wins
    assert parse({"$expression": "c_heavy"}).evaluate(host=fresh) == "stored"  # strictly heavier stored object wins
    assert parse({"$expression": "c_lib_only"}).evaluate(host=fresh) == "lib"
    with pytest.raises(Fault):
        parse({"$expression": "c_prod"}).evaluate(host=fresh)  # another environment
    assert list(Pipeline([{"$c_lib_pipe": "$$ROOT"}]).run([1, 2], host=fresh)) == [1]
    assert list(Pipeline([{"$pipeline": "c_untyped_pipe"}]).run([1, 2], host=fresh)) == [2]
