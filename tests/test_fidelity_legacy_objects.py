"""The legacy ``objects`` module, ``require('objects')`` (fidelity.md §6), run by real scripts
in the platform's ES6 language-support example style."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime

OBJECT = """
org.objects.objects.insertOne({label: 'Thing', name: 'c_thing', defaultAcl: ['owner.delete'], createAcl: ['account.public'],
  properties: [{label: 'Name', name: 'c_name', type: 'String', indexed: true}, {label: 'Tags', name: 'c_tags', type: 'String', array: true}]}).execute()
"""


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("legacy")
    assert runtime.run(OBJECT, org=org, principal=admin).ok

    def run(source: str, principal=admin):
        return runtime.run(source, org=org, principal=principal)

    return runtime, org, admin, run


def test_es6_import_reads_lists_creates_updates_pushes_and_deletes(world):
    _, _, admin, run = world
    result = run(
        """
        import objects from 'objects'
        const me = objects.read('accounts', script.principal._id, {paths: 'email'})
        const created = objects.create('c_things', {c_name: 'first', c_tags: ['a', 'b']})
        const updated = objects.update('c_thing', created._id, {c_name: 'second'})
        const pathUpdated = objects.update('c_thing', created._id + '.c_name', 'third')
        const pushed = objects.push('c_thing', created._id + '.c_tags', 'c')
        const pulled = objects.delete('c_thing', created._id + '.c_tags.a')
        const pulledAgain = objects.delete('c_thing', created._id + '.c_tags.a')
        const listed = objects.list('c_things', {where: {c_name: 'third'}})
        const count = objects.count('c_thing', {})
        const removed = objects.delete('c_thing', created._id)
        return {me, created, updated: updated.c_name, pathUpdated, pushed, pulled, pulledAgain,
                listed: listed.data.map(d => d.c_tags), hasMore: listed.hasMore, object: listed.object, count, removed,
                after: objects.count('c_thing', {})}
        """
    )
    assert result.ok, result.fault
    value = result.value
    assert value["me"] == {"_id": admin._id, "object": "account", "email": "admin@example.com"}
    # create returns the full document read back, not the id (lean defaults to false here).
    assert value["created"]["c_name"] == "first" and value["created"]["c_tags"] == ["a", "b"]
    assert value["created"]["object"] == "c_thing"
    assert value["updated"] == "second"
    assert value["pathUpdated"] == "third"
    assert value["pushed"] == ["a", "b", "c"]
    # A path delete answers whether something was modified.
    assert (value["pulled"], value["pulledAgain"]) == (True, False)
    assert value["listed"] == [["b", "c"]] and value["hasMore"] is False and value["object"] == "list"
    assert value["count"] == 1
    assert (value["removed"], value["after"]) == (True, 0)


def test_require_form_and_path_reads(world):
    _, _, _, run = world
    result = run(
        """
        const objects = require('objects')
        const id = objects.create('c_thing', {c_name: 'x'})._id
        return [objects.read('c_thing', id + '.c_name'), objects.read('c_thing', String(id), {path: 'c_name'}),
                objects.read('c_thing', JSON.stringify({c_name: 'x'})).c_name, require('objects') === org.objects,
                typeof objects.create, Object.isFrozen(objects)]
        """
    )
    assert result.ok, result.fault
    assert result.value == ["x", "x", "x", False, "function", True]


@pytest.mark.parametrize(
    ("source", "err_code", "reason"),
    [
        ("objects.read('c_thing', 'not-an-id')", "cortex.invalidArgument.unspecified", "Missing where clause."),
        ("objects.read('c_thing', 42)", "cortex.invalidArgument.unspecified", "Missing where clause."),
        ("objects.read('c_thing', id + '.c_name', {path: 'c_tags'})", "cortex.invalidArgument.db", "Conflicting path searches between path and where clauses."),
        ("objects.read('c_thing', '000000000000000000000001')", "cortex.notFound.instance", None),
        ("objects.delete('c_thing')", "cortex.invalidArgument.matchExpected", "Expected a match document or identifier."),
        ("objects.update('c_thing')", "cortex.invalidArgument.valueExpectedForPatchValue", None),
        ("objects.list('c_nope', {})", "cortex.invalidArgument.object", None),
        ("objects.list('', {})", "cortex.invalidArgument.object", None),
    ],
)
def test_legacy_faults(world, source, err_code, reason):
    _, _, _, run = world
    result = run(f"const objects = require('objects'); const id = objects.create('c_thing', {{c_name: 'x'}})._id; return {source}")
    assert not result.ok
    assert result.fault.errCode == err_code
    if reason is not None:
        assert result.fault.reason == reason


def test_not_found_read_can_answer_null(world):
    _, _, _, run = world
    result = run("return require('objects').read('c_thing', '000000000000000000000001', {throwNotFound: false})")
    assert result.ok and result.value is None


def test_name_is_trimmed_lower_cased_and_underscores_stripped(world):
    _, _, _, run = world
    result = run("const o = require('objects'); o.create(' C_Thing ', {c_name: 'y'}); return o.count('__c_thing', {})")
    assert result.ok, result.fault
    assert result.value == 1


def test_acl_is_the_callers(world):
    runtime, org, _, run = world
    other = runtime.orgs.provision(org, email="other@example.com")
    assert run("require('objects').create('c_thing', {c_name: 'mine'})").ok
    seen = run("return require('objects').list('c_thing', {}).data.length", principal=other)
    assert seen.ok and seen.value == 0
    granted = run("return require('objects').list('c_thing', {skipAcl: true, grant: 4}).data.length", principal=other)
    assert granted.ok and granted.value == 1


def test_unimplemented_member_is_a_clear_fault(world):
    _, _, _, run = world
    result = run("return require('objects').getAccessContext('c_thing')")
    assert (result.fault.code, result.fault.status, result.fault.path) == ("kNotImplemented", 501, "objects.getAccessContext")


def test_patch_create_many_transfer_and_delete_many(world):
    _, _, _, run = world
    result = run(
        """
        const o = require('objects')
        const c = o.create('c_thing', {c_name: 'a', c_tags: ['x']})
        return [o.patch('c_thing', c._id, [{op: 'set', value: {c_name: 'p'}}]).c_name,
                o.patchMany('c_thing', {}, [{op: 'set', value: {c_name: 'q'}}]).modifiedCount,
                o.createMany('c_thing', [{c_name: 'm'}]).insertedCount,
                o.transfer('c_thing', c._id, script.principal._id),
                o.deleteMany('c_thing', {})]
        """
    )
    assert result.ok, result.fault
    # transfer answers false when the account already owns the instance.
    assert result.value == ["p", 1, 1, False, 2]
