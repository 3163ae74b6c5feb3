"""Expression operators and stages that read through the caller: ``$dbNext``, ``$dbPath``, the
``$cursor`` stage (ACL applies), ``$cache``/``$cached``, ``$config``, ``$env``, ``$pathTo``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cortex_runtime.expressions import MISSING, Pipeline, parse
from cortex_runtime.expressions.operators.database import CACHED, DB_NEXT, DB_PATH, ExpressionHost
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

# Owners get full access; nobody else reads an instance unless it is shared.
OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""


class _Clock:
    def __init__(self, inner):
        self.inner, self.offset = inner, timedelta()

    def now(self):
        return self.inner.now() + self.offset


@pytest.fixture
def world():
    runtime = Runtime()
    runtime.clock = _Clock(runtime.clock)
    org, admin = runtime.orgs.create("exprdb")
    member = runtime.orgs.provision(org, email="member@example.com")
    assert runtime.run(OBJECT, org=org, principal=admin).ok

    def run(source: str, who=admin):
        result = runtime.run(source, org=org, principal=who)
        assert result.fault is None, result.fault
        return result.value

    run("org.objects.c_items.insertOne({c_n: 1, c_s: 'admin-1'}).execute(); org.objects.c_items.insertOne({c_n: 2, c_s: 'admin-2'}).execute()")
    run("org.objects.c_items.insertOne({c_n: 3, c_s: 'member-3'}).execute()", member)
    for cache in (CACHED, DB_NEXT, DB_PATH):
        cache.clear()
    yield runtime, org, admin, member, run
    runtime.close()


def host_for(runtime, org, principal):
    return ExpressionHost(runtime, org._id, org.code, runtime.layer(org, principal))


# ---- $dbNext ---------------------------------------------------------------------------------


def test_db_next_reads_as_the_caller(world):
    runtime, org, admin, member, run = world
    expr = parse({"$dbNext": {"object": "c_item", "sort": {"c_n": 1}}})
    assert expr.evaluate(host=host_for(runtime, org, admin))["c_s"] == "admin-1"
    # the member cannot read the admin's instances: only its own comes back
    assert expr.evaluate(host=host_for(runtime, org, member))["c_s"] == "member-3"
    none = parse({"$dbNext": {"object": "c_item", "where": {"c_n": 1}}})
    assert none.evaluate(host=host_for(runtime, org, member)) is MISSING


def test_db_next_from_a_script_and_computed_options(world):
    runtime, org, admin, member, run = world
    src = "return require('expressions').run({$dbNext: {$object: {object: 'c_item', where: {$object: {c_n: '$n'}}}}}, {n: %d})"
    assert run(src % 2)["c_s"] == "admin-2"
    assert run(src % 2, member) is None  # not readable: nothing comes back
    assert run(src % 3, member)["c_s"] == "member-3"
    assert run("return require('expressions').run({$dbNext: {object: 'c_item', where: {c_n: 1}, paths: ['c_n']}})") == {"_id": run("return org.objects.c_items.find({c_n: 1}).next()._id"), "object": "c_item", "c_n": 1}


def test_db_next_faults_are_cortex_faults(world):
    runtime, org, admin, member, run = world
    host = host_for(runtime, org, admin)
    with pytest.raises(Fault) as err:
        parse({"$dbNext": {"object": "c_nothing"}}).evaluate(host=host)
    assert err.value.errCode == "cortex.invalidArgument.object"
    with pytest.raises(Fault) as err:
        parse({"$dbNext": {"where": {}}}).evaluate(host=host)
    assert err.value.errCode == "cortex.invalidArgument.object"
    with pytest.raises(Fault) as err:
        parse({"$dbNext": {"object": "c_item", "where": {"$bogus": 1}}}).evaluate(host=host)
    assert err.value.errCode.startswith("cortex.")
    with pytest.raises(Fault) as err:
        parse({"$dbNext": {"object": "c_item"}}).evaluate()  # no caller
    assert err.value.code == "kNotImplemented"
    result = runtime.run("try { require('expressions').run({$dbNext: {object: 'c_nope'}}) } catch (e) { return e.errCode }", org=org, principal=admin)
    assert result.value == "cortex.invalidArgument.object"


def test_db_next_ttl_caches_per_principal(world):
    runtime, org, admin, member, run = world
    expr = parse({"$dbNext": [{"object": "c_item", "where": {"c_n": 1}}, 60]})
    assert expr.evaluate(host=host_for(runtime, org, admin))["c_s"] == "admin-1"
    run("org.objects.c_items.updateOne({c_n: 1}, {$set: {c_s: 'changed'}}).execute()")
    assert expr.evaluate(host=host_for(runtime, org, admin))["c_s"] == "admin-1"  # cached
    assert expr.evaluate(host=host_for(runtime, org, member)) is MISSING  # another principal, another key
    runtime.clock.offset = timedelta(seconds=61)
    assert expr.evaluate(host=host_for(runtime, org, admin))["c_s"] == "changed"


def test_safe_mode_drops_privileged_options(world):
    runtime, org, admin, member, run = world
    layer = runtime.layer(org, member)
    expr = parse({"$dbNext": {"object": "c_item", "where": {"c_n": 1}, "skipAcl": True, "grant": "read"}})
    assert expr.evaluate(host=ExpressionHost(runtime, org._id, org.code, layer))["c_n"] == 1
    assert expr.evaluate(host=ExpressionHost(runtime, org._id, org.code, layer, safe=True)) is MISSING


# ---- $cursor ---------------------------------------------------------------------------------


def test_cursor_stage_reads_through_the_acl(world):
    runtime, org, admin, member, run = world
    stages = [{"$cursor": {"object": "c_item", "sort": {"c_n": 1}}}, {"$project": "$c_s"}]
    assert list(Pipeline(stages).run(MISSING, host=host_for(runtime, org, admin))) == ["admin-1", "admin-2"]  # owner-only ACL
    assert list(Pipeline(stages).run(MISSING, host=host_for(runtime, org, member))) == ["member-3"]
    src = "return require('expressions').pipeline.run([{$cursor: {object: 'c_item', sort: {c_n: -1}}}, {$project: '$c_n'}])"
    assert run(src) == [2, 1]
    assert run(src, member) == [3]


def test_cursor_stage_options_from_the_last_input_and_limits(world):
    runtime, org, admin, member, run = world
    stages = [{"$cursor": {"$object": {"object": "c_item", "where": {"$object": {"c_n": {"$object": {"$gte": "$min"}}}}, "sort": {"$literal": {"c_n": 1}}, "limit": 1}}}]
    out = list(Pipeline(stages).run([{"min": 5}, {"min": 2}], host=host_for(runtime, org, admin)))
    assert [d["c_n"] for d in out] == [2]
    assert run("return require('expressions').pipeline.evaluate([{$cursor: {object: 'c_item'}}, {$count: 'n'}]).result") == {"n": 2}
    with pytest.raises(Fault) as err:
        list(Pipeline([{"$cursor": {"object": "c_item", "limit": 0}}]).run(MISSING, host=host_for(runtime, org, admin)))
    assert err.value.errCode.startswith("cortex.invalidArgument")
    with pytest.raises(Fault) as err:
        list(Pipeline([{"$cursor": "c_item"}]).run(MISSING, host=host_for(runtime, org, admin)))
    assert err.value.errCode == "cortex.invalidArgument.object"
    with pytest.raises(Fault) as err:
        list(Pipeline([{"$cursor": {"object": "c_item"}}]).run(MISSING))
    assert err.value.code == "kNotImplemented"


def test_cursor_stage_is_bounded_by_the_ops_budget(world):
    runtime, org, admin, member, run = world
    from cortex_runtime.expressions import ExpressionContext

    ctx = ExpressionContext(max_ops=1, host=host_for(runtime, org, admin))
    with pytest.raises(Fault) as err:
        list(Pipeline([{"$cursor": {"object": "c_item"}}]).run(MISSING, ctx=ctx))
    assert err.value.errCode == "cortex.invalidArgument.tooLarge"


# ---- $dbPath ---------------------------------------------------------------------------------


def test_db_path_reads_with_skip_acl_and_never_faults(world):
    runtime, org, admin, member, run = world
    admin_id = run("return org.objects.c_items.find({c_n: 1}).next()._id")
    host = host_for(runtime, org, member)
    assert parse({"$dbPath": f"c_item.{admin_id}.c_s"}).evaluate(host=host) == "admin-1"
    assert parse({"$dbPath": f"c_item.{admin_id}"}).evaluate(host=host)["c_n"] == 1
    assert parse({"$dbPath": "c_item"}).evaluate(host=host)["object"] == "c_item"
    assert parse({"$dbPath": "c_nothing.x"}).evaluate(host=host) is MISSING
    assert parse({"$dbPath": "c_item.000000000000000000000000.c_s"}).evaluate(host=host) is MISSING
    assert parse({"$dbPath": f"c_item.{admin_id}.c_missing"}).evaluate(host=host) is MISSING
    assert parse({"$dbPath": 5}).evaluate(host=host) is MISSING


# ---- $cache, $cached, $config, $env ------------------------------------------------------------


def test_cache_reads_the_cache_module(world):
    runtime, org, admin, member, run = world
    run("require('cache').set('c_k', {a: 1}); require('cache').set('c_gone', 1, 10)")
    host = host_for(runtime, org, admin)
    assert parse({"$cache": "c_k"}).evaluate(host=host) == {"a": 1}
    assert parse({"$cache": "c_none"}).evaluate(host=host) is MISSING
    runtime.clock.offset = timedelta(seconds=11)
    assert parse({"$cache": "c_gone"}).evaluate(host=host) is MISSING
    assert run("return require('expressions').run({$cache: 'c_k'})") == {"a": 1}


def test_cached_local_and_shared(world):
    runtime, org, admin, member, run = world
    host = host_for(runtime, org, admin)
    local = parse({"$cached": {"key": "c_x", "ttl": 10, "in": "$v"}})
    assert local.evaluate({"v": 1}, host=host) == 1
    assert local.evaluate({"v": 2}, host=host) == 1
    runtime.clock.offset = timedelta(seconds=11)
    assert local.evaluate({"v": 3}, host=host) == 3
    forever = parse({"$cached": {"key": "c_forever", "in": "$v"}})
    assert forever.evaluate({"v": "a"}, host=host) == "a"
    runtime.clock.offset = timedelta(days=400)
    assert forever.evaluate({"v": "b"}, host=host) == "a"  # no ttl: never expires
    shared = parse({"$cached": {"key": "c_s", "local": False, "ttl": 30, "in": "$v"}})
    assert shared.evaluate({"v": [1, 2]}, host=host) == [1, 2]
    assert shared.evaluate({"v": "other"}, host=host) == [1, 2]
    assert run("return require('cache').get('operator$cached:c_s')") == [1, 2]
    with pytest.raises(Fault) as err:
        parse({"$cached": 5})
    assert err.value.errCode == "cortex.invalidArgument.query"


def test_config_reads_the_config_module(world):
    runtime, org, admin, member, run = world
    run("require('config').set('c_conf', {a: {b: 7}})")
    host = host_for(runtime, org, admin)
    assert parse({"$config": "c_conf.a.b"}).evaluate(host=host) == 7
    assert parse({"$config": "c_conf"}).evaluate(host=host) == {"a": {"b": 7}}
    assert parse({"$config": "c_none"}).evaluate(host=host) is MISSING
    assert parse({"$config": None}).evaluate(host=host) is MISSING
    for bad in ("", "c_conf."):
        with pytest.raises(Fault) as err:
            parse({"$config": bad}).evaluate(host=host)
        assert err.value.errCode == "cortex.invalidArgument.unspecified" and err.value.reason == "Blank field names are not allowed."
    assert run("return require('expressions').run({$config: 'c_conf.a'})") == {"b": 7}


def test_env_is_missing_without_declarations(world):
    runtime, org, admin, member, run = world
    assert parse({"$env": "c_none"}).evaluate(host=host_for(runtime, org, admin)) is MISSING


# ---- conditions ------------------------------------------------------------------------------


def test_trigger_condition_reads_the_database_as_the_writer(world):
    runtime, org, admin, member, run = world
    layer = runtime.layer(org, admin)
    cond = {"$ne": [{"$dbNext": {"object": "c_item", "where": {"c_n": 1}}}, None]}  # admin's instance visible?
    layer.insert_one("script", {"label": "t", "name": "c_t", "type": "trigger", "if": cond, "script": "script.arguments.new.update('c_s', 'seen')",
                                "configuration": {"object": "c_item", "event": "create.before"}}, {})
    run("org.objects.c_items.insertOne({c_n: 10}).execute()")
    run("org.objects.c_items.insertOne({c_n: 11}).execute()", member)
    assert run("return org.objects.c_items.find({c_n: {$gte: 10}}).sort({c_n: 1}).skipAcl().grant(8).map(d => d.c_s || null)") == ["seen", None]


# ---- $pathTo ----------------------------------------------------------------------------------


def test_path_to_reads_and_writes():
    assert parse({"$pathTo": ["$$ROOT", "a.b.0"]}).evaluate({"a": {"b": [5]}}) == 5
    assert parse({"$pathTo": ["$$ROOT", {"$literal": ["a", "b"]}]}).evaluate({"a": {"b": 2}}) == 2
    assert parse({"$pathTo": ["$$ROOT", "a.x"]}).evaluate({"a": {"b": 2}}) is MISSING
    assert parse({"$pathTo": ["$$ROOT", "a.b"]}).evaluate({"a": None}) is None
    assert parse({"$pathTo": ["$$ROOT", 5]}).evaluate({"a": 1}) is MISSING
    assert parse({"$pathTo": ["$$ROOT", "a.b.c", 1]}).evaluate({"a": None}) == {"a": {"b": {"c": 1}}}
    assert parse({"$pathTo": [None, "a", 1]}).evaluate() is MISSING
    with pytest.raises(Fault) as err:
        parse({"$pathTo": [1]})
    assert err.value.reason == "$pathTo requires an array with 2 to 3 elements."
    with pytest.raises(Fault) as err:
        parse({"$pathTo": [1, "a", 2]}).evaluate()
    assert err.value.code == "kError"
