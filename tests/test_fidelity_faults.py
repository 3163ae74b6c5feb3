"""Faults created and thrown in scripts, and what the script's caller receives (fidelity.md §10)."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime


def test_fault_create_forms_inside_the_sandbox(sandbox):
    result = sandbox.run(
        """
        const a = Fault.create('app.someError', 'x')
        const b = Fault.create('cortex.accessDenied.foo', {reason: 'r', path: 'p'})
        const c = Fault.from(new TypeError('t'))
        return [a.code, a.statusCode, a.message, a.name, a.reason === undefined, b.code, b.statusCode, b.reason, b.path,
                c.errCode, c.code, String(new Error('x')), new TypeError('y').toJSON().name,
                Fault.create('x.y.z', {faults: [new Error('inner')]}).toJSON().faults[0].errCode]
        """
    )
    assert result.ok, result.fault
    assert result.value == [
        "kError", 500, "x", "error", True,
        "kAccessDenied", 403, "r", "p",
        "script.error.unspecified", "kError", "error: x", "TypeError",
        "script.error.unspecified",
    ]


def test_a_thrown_custom_fault_keeps_its_reason_for_the_caller(sandbox):
    result = sandbox.run("throw Fault.create('app.someError', 'my reasons')")
    fault = result.fault
    # Unregistered errCode kept; the sandbox message also arrives as reason; code from the
    # sandbox category (app.someError: second segment unknown, kError), status 500.
    assert (fault.errCode, fault.code, fault.status, fault.message, fault.reason) == ("app.someError", "kError", 500, "my reasons", "my reasons")


def test_a_thrown_error_arrives_as_a_registered_script_error(sandbox):
    fault = sandbox.run("throw new Error('x')").fault
    assert (fault.errCode, fault.code, fault.status, fault.reason) == ("script.error.unspecified", "kScriptError", 500, "x")


def test_given_reason_status_path_and_children_are_kept(sandbox):
    fault = sandbox.run(
        "throw Fault.create('app.custom.thing', {reason: 'because', message: 'msg', statusCode: 418, path: 'c_x', faults: [Fault.create('kNotFound')]})"
    ).fault
    assert (fault.errCode, fault.status, fault.reason, fault.message, fault.path) == ("app.custom.thing", 418, "because", "msg", "c_x")
    assert [child.errCode for child in fault.faults] == ["script.notFound.unspecified"]


def test_a_registered_errcode_takes_the_registry_code(sandbox):
    # The code comes from the server registry; the status stays the sandbox's (kError's 500).
    fault = sandbox.run("throw Fault.create('cortex.notFound.instance', {code: 'kError'})").fault
    assert (fault.errCode, fault.code, fault.status) == ("cortex.notFound.instance", "kNotFound", 500)


def test_returning_an_error_is_not_a_failure(sandbox):
    result = sandbox.run("return Fault.create('app.someError', 'returned')")
    assert result.ok
    assert (result.value["object"], result.value["errCode"], result.value["message"]) == ("fault", "app.someError", "returned")


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("faults")
    assert runtime.run(
        """org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: ['owner.delete'], createAcl: ['account.public'],
          properties: [{label: 'N', name: 'c_n', type: 'Number'}]}).execute()""",
        org=org,
        principal=admin,
    ).ok
    layer = runtime.layer(org, admin)

    def deploy(name: str, event: str, script: str, **configuration: object) -> None:
        layer.insert_one("script", {"label": name, "name": name, "type": "trigger", "script": script, "configuration": {"object": "c_item", "event": event, **configuration}}, {})

    def run(source: str):
        return runtime.run(source, org=org, principal=admin)

    return deploy, run


def test_a_before_trigger_fault_reaches_the_writer_with_its_reason(world):
    deploy, run = world
    deploy("c_guard", "create.before", "throw Fault.create('app.someError', 'my reasons')")
    caught = run("try { org.objects.c_items.insertOne({c_n: 1}).execute() } catch (e) { return [e.errCode, e.reason, e.code, e.statusCode] }")
    assert caught.value == ["app.someError", "my reasons", "kError", 500]
    assert run("return org.objects.c_items.count()").value == 0


def test_in_insert_many_a_trigger_fault_is_that_documents_write_error(world):
    deploy, run = world
    deploy("c_guard", "create.before", "if (script.arguments.new.c_n === 2) throw Fault.create('app.someError', 'two')")
    result = run("return org.objects.c_items.insertMany([{c_n: 1}, {c_n: 2}, {c_n: 3}]).execute()")
    assert result.ok, result.fault
    assert result.value["insertedCount"] == 2
    assert [(e["errCode"], e["reason"], e["index"]) for e in result.value["writeErrors"]] == [("app.someError", "two", 1)]
