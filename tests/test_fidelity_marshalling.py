"""Marshalling a script's returned value and host-call arguments (fidelity.md §12)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from bson import ObjectId

from cortex_runtime.runtime import Runtime

MESSAGE = "Script marshalling error. A data object could not be converted for transport. It is possible a value may contain enumerable getters."


@pytest.mark.parametrize(
    "source",
    [
        "return {get a() { return 1 }}",
        "const o = {}; Object.defineProperty(o, 'a', {get() { return 1 }, enumerable: true}); return [o]",
        "const p = {}; Object.defineProperty(p, 'g', {get() { return 2 }, enumerable: true}); return {nested: Object.create(p)}",
        "return {deep: {deeper: {get x() { return 3 }}}}",
    ],
    ids=["literal-getter", "defined-getter-in-array", "inherited-getter", "nested-getter"],
)
def test_an_enumerable_getter_is_refused(sandbox, source):
    result = sandbox.run(source)
    assert not result.ok
    fault = result.fault
    assert (fault.errCode, fault.code, fault.status, fault.message) == ("script.error.marshalling", "kError", 500, MESSAGE)


def test_a_getter_in_host_call_arguments_is_refused():
    runtime = Runtime()
    org, admin = runtime.orgs.create("marshal")
    result = runtime.run(
        """
        try { org.objects.accounts.find({get email() { return 'x' }}).toArray() } catch (e) { return [e.errCode, e.code, e.message] }
        return 'sent'
        """,
        org=org,
        principal=admin,
    )
    assert result.ok, result.fault
    assert result.value == ["script.error.marshalling", "kError", MESSAGE]


def test_non_enumerable_getters_and_class_accessors_are_fine(sandbox):
    result = sandbox.run(
        """
        class A { constructor() { this.v = 1 } get twice() { return this.v * 2 } }
        const o = {a: 1}; Object.defineProperty(o, 'hidden', {get() { return 2 }, enumerable: false})
        return [new A(), o]
        """
    )
    assert result.ok, result.fault
    assert result.value == [{"v": 1}, {"a": 1}]


def test_values_keep_their_types_and_to_json_is_honoured(sandbox):
    result = sandbox.run(
        """
        return {when: new Date(0), id: new ObjectID('5f0000000000000000000001'), custom: {toJSON() { return 'mine' }},
                dropped: undefined, fn: function () {}, list: [1, undefined], error: new Error('boom')}
        """
    )
    assert result.ok, result.fault
    value = result.value
    assert value["when"] == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert value["id"] == ObjectId("5f0000000000000000000001")
    assert value["custom"] == "mine"
    assert "fn" not in value
    # A returned Error is not a failure: it is its fault JSON.
    assert (value["error"]["object"], value["error"]["errCode"], value["error"]["message"]) == ("fault", "script.error.unspecified", "boom")


def test_a_cycle_is_a_marshalling_fault(sandbox):
    result = sandbox.run("const a = {}; a.self = a; return a")
    assert result.fault.errCode == "script.error.marshalling"
