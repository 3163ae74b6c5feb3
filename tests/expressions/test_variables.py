"""The system variables ``$$REQUEST``, ``$$BODY``, ``$$ENV``, ``$$CURSOR`` and ``$$CLOSE``."""

from __future__ import annotations

import pytest

from cortex_runtime.expressions import MISSING, Pipeline, parse
from cortex_runtime.expressions.operators.database import ExpressionHost
from cortex_runtime.expressions.variables import request_value
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

REQUEST = {
    "_id": "req1",
    "method": "POST",
    "headers": {"X-Forwarded-For": "1.2.3.4", "x-real-ip": "1.2.3.4", "medable-csrf-token": "t", "accept": "application/json", "cookie": "md.sid=1; medable=2; theme=dark"},
    "ip": "127.0.0.1",
    "path": "/routes/c_x",
    "query": {"a": "1"},
    "params": {},
    "locale": "en_US",
    "body": {"items": [1, 2, 3], "name": "box"},
}


@pytest.fixture(scope="module")
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("exprvars")
    member = runtime.orgs.provision(org, email="member@example.com")
    yield runtime, org, admin, member
    runtime.close()


def test_request_is_sanitised():
    value = request_value(REQUEST)
    assert value["method"] == "POST" and value["path"] == "/routes/c_x" and value["query"] == {"a": "1"}
    assert value["headers"] == {"accept": "application/json", "cookie": "theme=dark"}
    assert "body" not in value
    assert value["client"] == {"_id": None, "key": None, "name": None}


def test_request_without_a_request_has_empty_fields():
    assert parse("$$REQUEST.method").evaluate() is None
    assert parse("$$REQUEST.headers").evaluate() == {}
    assert parse("$$REQUEST").evaluate({"x": 1}, {"$$REQUEST": {"method": "GET"}}) == {"method": "GET"}


def test_body_reads_and_memo_queries():
    variables = {"$$BODY": REQUEST["body"]}
    assert parse("$$BODY.name").evaluate(variables=variables) == "box"
    assert parse("$$BODY.items.1").evaluate(variables=variables) == 2
    assert parse("$$BODY.isArray.items").evaluate(variables=variables) is True
    assert parse("$$BODY.getLength.items").evaluate(variables=variables) == 3
    assert parse("$$BODY.typeOf.name").evaluate(variables=variables) == "string"
    assert parse("$$BODY.typeOf.nothing").evaluate(variables=variables) == "undefined"
    assert parse("$$BODY.getSize").evaluate(variables=variables) > 10
    assert parse("$$BODY").evaluate() is MISSING
    assert parse("$$BODY.name").evaluate() is MISSING


def test_request_and_body_of_a_running_script(world):
    runtime, org, admin, member = world
    src = "const e = require('expressions'); return [e.run('$$REQUEST.method'), e.run('$$REQUEST.headers'), e.run('$$BODY.name'), e.run('$$BODY.getLength.items')]"
    result = runtime.run(src, org=org, principal=admin, request=REQUEST)
    assert result.fault is None, result.fault
    assert result.value == ["POST", {"accept": "application/json", "cookie": "theme=dark"}, "box", 3]
    plain = runtime.run("return [require('expressions').run('$$REQUEST.method'), require('expressions').run('$$BODY')]", org=org, principal=admin)
    assert plain.fault is None and plain.value == [None, None]


def test_env_is_the_org_document_as_the_caller_reads_it(world):
    runtime, org, admin, member = world
    host = ExpressionHost(runtime, org._id, org.code, runtime.layer(org, admin))
    assert parse("$$ENV.code").evaluate(host=host) == "exprvars"
    assert parse("$$ENV._id").evaluate(host=host) == org._id
    assert parse("$$ENV.code").evaluate() is MISSING  # no caller, no org


def test_env_from_a_script(world):
    runtime, org, admin, member = world
    src = "const e = require('expressions'); return [e.run('$$ENV.code'), e.run('$$ENV.access'), e.run('$$ENV.object')]"
    as_member = runtime.run(src, org=org, principal=member)
    assert as_member.fault is None, as_member.fault
    assert as_member.value == [None, 1, "org"]  # a member may not read the org's code
    as_admin = runtime.run(src, org=org, principal=admin)
    assert as_admin.value == ["exprvars", 6, "org"]


def test_cursor_position_and_has_next():
    out = list(Pipeline([{"$project": {"p": "$$CURSOR.position", "more": "$$CURSOR.hasNext", "v": "$$ROOT"}}]).run([10, 20, 30]))
    assert out == [{"p": 1, "more": True, "v": 10}, {"p": 2, "more": True, "v": 20}, {"p": 3, "more": False, "v": 30}]
    assert parse("$$CURSOR").evaluate() is MISSING  # outside pipelines
    assert list(Pipeline([{"$project": "$$CURSOR.object"}]).run([1])) == ["cursor"]


def test_close_ends_the_stream_after_the_current_element():
    stages = [{"$project": {"$cond": [{"$gte": ["$$ROOT", 2]}, {"$ifNull": ["$$CLOSE", "$$ROOT"]}, "$$ROOT"]}}]
    assert list(Pipeline(stages).run([1, 2, 3, 4])) == [1, 2]
    assert parse("$$CLOSE").evaluate() is MISSING  # outside a stage it does nothing


def test_system_variables_faults():
    with pytest.raises(Fault) as err:
        parse("$$NOW.x")
    assert err.value.reason == "$$NOW cannot access properties."
    with pytest.raises(Fault) as err:
        parse({"$let": {"vars": {"REQUEST": 1}, "in": 1}})
    assert "cannot be a system variable (REQUEST)" in err.value.reason


# ---- $$SCRIPT ---------------------------------------------------------------------------------


def test_script_is_undefined_outside_scripts_and_a_callers_value_wins():
    assert parse("$$SCRIPT").evaluate() is MISSING
    assert parse("$$SCRIPT.type").evaluate(variables={"$$SCRIPT": {"type": "trigger"}}) == "trigger"


def test_script_of_a_running_script_is_its_environment_script():
    runtime = Runtime()
    try:
        org, admin = runtime.orgs.create("exprscript")
        src = """
            const e = require('expressions');
            return {
                s: e.run('$$SCRIPT'),
                own: {type: script.type, depth: script.depth, label: script.label, env: script.env, principal: script.principal._id, args: script.arguments, org: script.org.code},
                piped: e.pipeline.run([{$project: {t: '$$SCRIPT.type', n: {$add: ['$$ROOT', '$$SCRIPT.arguments.n']}, h: '$$SCRIPT.env.host'}}], [1, 2]),
                evaluated: e.evaluate({$concat: ['$$SCRIPT.org.code', '/', '$$SCRIPT.type', '/', '$$SCRIPT.principal.email']}).result,
            };
        """
        result = runtime.run(src, org=org, principal=admin, script_type="job", arguments={"n": 7, "tag": "x"}, depth=2)
        assert result.fault is None, result.fault
        value, own = result.value, result.value["own"]
        script = value["s"]
        assert set(script) == {"depth", "type", "label", "principal", "org", "arguments", "config", "env"}  # an unsaved script: no _id
        assert script["type"] == own["type"] == "job" and script["depth"] == own["depth"] == 2 and script["label"] == own["label"]
        assert script["arguments"] == own["args"] == {"n": 7, "tag": "x"}
        assert script["principal"]["_id"] == own["principal"] == admin._id and script["principal"]["email"] == admin.email
        assert script["org"] == {"_id": org._id, "code": "exprscript", "object": "org"} and own["org"] == "exprscript"
        assert script["config"] == {"query": {"defaultMaxTimeMS": 10000, "minTimeMS": 10, "maxTimeMS": 30000}}
        assert script["env"] == own["env"] and set(own["env"]) >= {"host", "name", "url", "version"}
        host = own["env"]["host"]
        assert value["piped"] == [{"t": "job", "n": 8, "h": host}, {"t": "job", "n": 9, "h": host}]
        assert value["evaluated"] == f"exprscript/job/{admin.email}"
        stored = runtime.run("return require('expressions').run('$$SCRIPT._id')", org=org, principal=admin, script_id=org._id)
        assert stored.fault is None and stored.value == org._id  # a stored script's id (any id will do here)
    finally:
        runtime.close()


def test_script_env_has_the_orgs_env_entries_under_the_built_in_keys(monkeypatch: pytest.MonkeyPatch):
    from cortex_runtime import org_runtime
    from cortex_runtime.config import limits_for
    from cortex_runtime.modules.expressions import script_value
    from cortex_runtime.sandbox import RunInfo
    from cortex_runtime.sandbox.sandbox import OrgRef

    envs = [{"type": "env", "name": "c_color", "value": "blue"}, {"type": "env", "name": "host", "value": "shadowed"}, {"type": "env", "name": "c_color", "value": "red"}]
    monkeypatch.setattr(org_runtime, "org_runtime", lambda store, org_id: {"envs": envs})
    run = RunInfo(script_type="route", limits=limits_for("route"), org=OrgRef("o1", "acme"), deadline=0.0, libraries=None)
    run.config = lambda: {"env": {"host": "localhost", "name": "development"}, "arguments": {"a": 1}, "depth": 1, "label": "L", "scriptId": None, "principal": None}
    value = script_value(run, store=object())
    assert value["env"] == {"c_color": "blue", "host": "localhost", "name": "development"}  # the first entry of a name, built-ins win
    assert value["arguments"] == {"a": 1} and value["label"] == "L" and value["org"] == {"_id": "o1", "code": "acme", "object": "org"}
    assert "_id" not in value and script_value(run)["env"] == {"host": "localhost", "name": "development"}
