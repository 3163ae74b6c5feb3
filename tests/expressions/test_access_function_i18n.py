"""``$acl``, ``$as``, ``$function``, ``$i18n`` and ``$sleep``: normal results, null/missing input
and their faults."""

from __future__ import annotations

import time

import pytest
from bson import ObjectId

from cortex_runtime.expressions import MISSING, parse
from cortex_runtime.expressions.operators import function as function_ops
from cortex_runtime.expressions.operators.database import ExpressionHost
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}]}).execute()
"""


@pytest.fixture(scope="module")
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("expracc")
    member = runtime.orgs.provision(org, email="member@example.com")
    assert runtime.run(OBJECT, org=org, principal=admin).ok

    def run(source: str, who=admin):
        result = runtime.run(source, org=org, principal=who)
        assert result.fault is None, result.fault
        return result.value

    run("org.objects.c_items.insertOne({c_n: 1}).execute()")
    run("org.objects.c_items.insertOne({c_n: 2}).execute()", member)
    yield runtime, org, admin, member, run
    runtime.close()


def host_for(runtime, org, principal, **extra):
    host = ExpressionHost(runtime, org._id, org.code, runtime.layer(org, principal))
    for key, value in extra.items():
        setattr(host, key, value)
    return host


def fault_of(call) -> Fault:
    with pytest.raises(Fault) as err:
        call()
    return err.value


# ---- $acl ----------------------------------------------------------------------------------


def test_acl_is_the_best_level_the_entries_grant(world):
    runtime, org, admin, member, run = world
    expr = parse({"$acl": ["role.administrator.read", "account.public.connected"]})
    assert expr.evaluate(host=host_for(runtime, org, admin)) == 4  # read (4) beats connected (2)
    assert expr.evaluate(host=host_for(runtime, org, member)) == 2  # only the public entry applies
    own = parse({"$acl": {"$concat": ["account.", "$id", ".update"]}})
    assert own.evaluate({"id": str(member._id)}, host=host_for(runtime, org, member)) == 6
    assert own.evaluate({"id": str(member._id)}, host=host_for(runtime, org, admin)) == 0


def test_acl_entry_objects_and_ids(world):
    runtime, org, admin, member, run = world
    entry = {"$literal": [{"type": 1, "target": member._id, "allow": "delete"}]}
    assert parse({"$acl": entry}).evaluate(host=host_for(runtime, org, member)) == 7


def test_acl_null_missing_and_unknown_principals_give_nothing(world):
    runtime, org, admin, member, run = world
    host = host_for(runtime, org, admin)
    assert parse({"$acl": None}).evaluate(host=host) == 0
    assert parse({"$acl": "$missing"}).evaluate(host=host) == 0
    assert parse({"$acl": "role.administrator.read"}).evaluate() == 0  # no principal
    assert parse({"$acl": ["role.c_nosuchrole.read", "not an entry", 12]}).evaluate(host=host) == 0


def test_acl_entries_must_be_expressions():
    err = fault_of(lambda: parse({"$acl": {"type": 1, "allow": 4}}))
    assert err.errCode == "cortex.invalidArgument.query"


# ---- $as ------------------------------------------------------------------------------------


def test_as_reads_as_another_principal(world):
    runtime, org, admin, member, run = world
    read = {"$dbNext": {"object": "c_item", "sort": {"c_n": 1}, "paths": ["c_n"]}}
    host = host_for(runtime, org, admin)
    assert parse(read).evaluate(host=host)["c_n"] == 1
    as_member = parse({"$as": {"input": "member@example.com", "in": read}})
    assert as_member.evaluate(host=host)["c_n"] == 2  # the member reads only its own
    by_id = parse({"$as": {"input": "$who", "in": {"$acl": "account.public.read"}}})
    assert by_id.evaluate({"who": str(member._id)}, host=host) == 4
    # after $as the caller is the admin again
    assert parse(read).evaluate(host=host)["c_n"] == 1


def test_as_grant_and_roles(world):
    runtime, org, admin, member, run = world
    host = host_for(runtime, org, admin)
    read = {"$dbNext": {"object": "c_item", "where": {"c_n": 1}, "paths": ["c_n"]}}
    assert parse({"$as": {"input": {"principal": "member@example.com"}, "in": read}}).evaluate(host=host) is MISSING
    granted = parse({"$as": {"input": {"principal": "member@example.com", "grant": "read"}, "in": read}})
    assert granted.evaluate(host=host)["c_n"] == 1
    roles = parse({"$as": {"input": {"principal": "member@example.com", "roles": ["developer"]}, "in": {"$acl": "role.developer.share"}}})
    assert roles.evaluate(host=host) == 5


def test_as_null_input_keeps_the_current_principal(world):
    runtime, org, admin, member, run = world
    host = host_for(runtime, org, member)
    assert parse({"$as": {"input": None, "in": {"$acl": ["role.administrator.read"]}}}).evaluate(host=host) == 0
    assert parse({"$as": {"in": {"$acl": [{"$concat": ["account.", str(member._id), ".read"]}]}}}).evaluate(host=host) == 4


def test_as_faults(world):
    runtime, org, admin, member, run = world
    assert fault_of(lambda: parse({"$as": "x"})).reason == "Operator $as expects an object."
    err = fault_of(lambda: parse({"$as": {"input": "nobody@example.com", "in": 1}}).evaluate(host=host_for(runtime, org, admin)))
    assert err.errCode.startswith("cortex.notFound")
    err = fault_of(lambda: parse({"$as": {"input": "member@example.com", "in": 1}}).evaluate())
    assert err.code == "kNotImplemented"


def test_as_from_a_script(world):
    runtime, org, admin, member, run = world
    src = "return require('expressions').run({$as: {input: 'member@example.com', in: {$dbNext: {object: 'c_item', sort: {c_n: 1}, paths: ['c_n']}}}}).c_n"
    assert run(src) == 2


# ---- $function ---------------------------------------------------------------------------------


def test_function_runs_javascript_in_the_sandbox(world):
    runtime, org, admin, member, run = world
    expr = parse({"$function": {"body": "return script.arguments[0] * 2", "args": ["$n"]}})
    assert expr.evaluate({"n": 21}, host=host_for(runtime, org, admin)) == 42
    assert run("return require('expressions').run({$function: {body: 'return script.principal.email', args: []}})", member) == "member@example.com"


def test_function_null_args_and_missing_body(world):
    runtime, org, admin, member, run = world
    host = host_for(runtime, org, admin)
    assert parse({"$function": {"body": "return script.arguments.length", "args": None}}).evaluate(host=host) == 0
    assert parse({"$function": {}}).evaluate(host=host) is MISSING  # the body is the text "undefined"
    assert parse({"$function": {"body": "return {a: undefined, b: [1, null]}"}}).evaluate(host=host) == {"a": MISSING, "b": [1, None]}


def test_function_faults(world):
    runtime, org, admin, member, run = world
    assert fault_of(lambda: parse({"$function": {"body": "1", "args": 3}})).reason == "$function requires an array."
    assert fault_of(lambda: parse({"$function": "return 1"})).reason == "Operator $function expects an object."
    assert fault_of(lambda: parse({"$function": {"body": "return 1"}}).evaluate()).code == "kNotImplemented"
    thrown = fault_of(lambda: parse({"$function": {"body": "throw Fault.create('cortex.accessDenied.unspecified', {reason: 'no'})"}}).evaluate(host=host_for(runtime, org, admin)))
    assert thrown.errCode == "cortex.accessDenied.unspecified"
    slow = fault_of(lambda: parse({"$function": {"body": "while (true) {}"}}).evaluate(host=host_for(runtime, org, admin)))
    assert slow.errCode.startswith("script.")


# ---- $i18n -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundles(world):
    runtime, org, admin, member, run = world
    runtime.store.contexts.insert_many([
        {"_id": ObjectId(), "org": org._id, "object": "i18n", "name": "app_en", "namespace": "app", "locale": "en_US", "data": {"hello": "Hello", "deep": {"bye": "Bye"}}},
        {"_id": ObjectId(), "org": org._id, "object": "i18n", "name": "app_fr", "namespace": "app", "locale": "fr", "data": {"hello": "Bonjour"}},
        {"_id": ObjectId(), "org": org._id, "object": "i18n", "name": "other_en", "namespace": "other", "locale": "en_US", "data": {"hello": "Hi"}},
    ])
    return host_for(runtime, org, admin)


def test_i18n_translates_with_namespace_and_locale(bundles):
    host = bundles
    assert parse({"$i18n": {"key": "hello", "namespace": "app"}}).evaluate(host=host) == "Hello"
    assert parse({"$i18n": {"key": "hello", "namespace": "other"}}).evaluate(host=host) == "Hi"
    assert parse({"$i18n": {"key": "deep.bye", "namespace": "app", "locale": "en_US"}}).evaluate(host=host) == "Bye"
    assert parse({"$i18n": {"key": "hello", "namespace": "app", "locale": "fr_CA"}}).evaluate(host=host) == "Bonjour"  # language fallback
    assert parse({"$i18n": "app:hello"}).evaluate(host=host) == "Hello"
    assert parse({"$i18n": "$k"}).evaluate({"k": "app:deep.bye"}, host=host) == "Bye"


def test_i18n_missing_keys_give_null(bundles):
    host = bundles
    assert parse({"$i18n": {"key": "nope", "namespace": "app"}}).evaluate(host=host) is None
    assert parse({"$i18n": "$missing"}).evaluate(host=host) is None
    assert parse({"$i18n": None}).evaluate(host=host) is None
    assert parse({"$i18n": {"$concat": ["app:", "hello"]}}).evaluate(host=host) is None  # read as the object form: no key


def test_i18n_faults():
    assert fault_of(lambda: parse({"$i18n": {}})).errCode == "cortex.invalidArgument.query"
    assert fault_of(lambda: parse({"$i18n": "app:hello"}).evaluate()).code == "kNotImplemented"


# ---- $sleep ------------------------------------------------------------------------------------


def test_sleep_waits_and_gives_undefined():
    started = time.monotonic()
    assert parse({"$sleep": "60ms"}).evaluate() is MISSING
    assert time.monotonic() - started >= 0.05
    assert parse({"$sleep": "soon"}).node.ms == 0
    assert parse({"$sleep": None}).node.ms == 0
    assert parse({"$sleep": 99_999}).node.ms == 10_000
    assert parse({"$sleep": -5}).node.ms == 0


def test_sleep_never_passes_the_run_deadline():
    host = ExpressionHost(None, ObjectId(), "x", None)
    host.deadline = time.monotonic() + 0.05
    started = time.monotonic()
    err = fault_of(lambda: parse({"$sleep": 10_000}).evaluate(host=host))
    assert err.errCode == "script.timeout.execution"
    assert time.monotonic() - started < 5


def test_sleep_in_a_script_is_bounded_by_its_time_limit(world):
    runtime, org, admin, member, run = world
    from cortex_runtime.config import Limits

    started = time.monotonic()
    result = runtime.run("return require('expressions').run({$sleep: 10000})", org=org, principal=admin, limits=Limits(timeout_ms=300))
    assert result.fault is not None and result.fault.errCode == "script.timeout.execution"
    assert time.monotonic() - started < 8


def test_sleep_is_refused_outside_development(monkeypatch):
    monkeypatch.setitem(function_ops.SLEEP_ENVIRONMENT, "domain", "market")
    assert fault_of(lambda: parse({"$cond": [False, {"$sleep": 1}, 0]})).reason == "$sleep is not available in this environment."
