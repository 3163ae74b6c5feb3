"""``script.as(principal, options, fn)``: principals, acl blacklists, module rules and
``options.principal`` (fidelity.md §8)."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("scriptas")
    other = runtime.orgs.provision(org, email="other@example.com")
    assert runtime.run(
        """org.objects.objects.insertOne({label: 'Thing', name: 'c_thing', defaultAcl: ['owner.delete'], createAcl: ['account.public'],
          properties: [{label: 'Name', name: 'c_name', type: 'String', indexed: true}]}).execute()
        org.objects.c_things.insertOne({c_name: 'a'}).execute()""",
        org=org,
        principal=admin,
    ).ok

    def run(source: str):
        return runtime.run(source.replace("OTHER", str(other._id)), org=org, principal=admin)

    return run


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("", 0),  # options left out: safe, the privileged options are dropped
        ("{}, ", 0),
        ("{safe: false}, ", 1),
        ("{acl: {safe: false}}, ", 1),
        # A blacklisted option is removed silently, whatever its name.
        ("{safe: false, acl: {blacklist: ['skipAcl', 'grant']}}, ", 0),
        # Either one alone still lets the instance through (grant is a floor, skipAcl skips the ACL).
        ("{safe: false, acl: {blacklist: ['grant']}}, ", 1),
        ("{safe: false, acl: {blacklist: ['paths', 'locale']}}, ", 1),
    ],
)
def test_acl_safe_and_blacklist(world, options, expected):
    result = world(f"return script.as('OTHER', {options}() => org.objects.c_things.find().skipAcl().grant(4).count())")
    assert result.ok, result.fault
    assert result.value == expected


def test_blacklists_add_up_down_nested_calls(world):
    result = world(
        """
        return script.as('OTHER', {safe: false, acl: {blacklist: ['skipAcl']}, modules: {safe: false}}, () =>
          script.as('OTHER', {safe: false, acl: {blacklist: ['grant']}}, () => org.objects.c_things.find().skipAcl().grant(4).count()))
        """
    )
    assert result.ok, result.fault
    assert result.value == 0


def test_principal_options_apply_even_when_safe(world):
    result = world("return script.as('OTHER', {principal: {skipAcl: true, grant: 4}}, () => org.objects.c_things.find().paths('c_name').toArray())")
    assert result.ok, result.fault
    assert [doc["c_name"] for doc in result.value] == ["a"]
    unknown = world("return script.as('OTHER', {principal: {roles: ['c_ghost']}}, () => 1)").fault
    assert unknown.errCode == "cortex.notFound.role"


@pytest.mark.parametrize(
    ("options", "call", "module"),
    [
        ("{}", "require('cache').get('x')", "cache"),  # safe: cache is refused
        ("{}", "script.as('OTHER', {}, () => 1)", "script"),  # safe: a nested script.as too
        ("{modules: {safe: false, blacklist: ['objects']}}", "org.objects.c_things.find().count()", "objects"),
        ("{modules: {whitelist: ['cache']}}", "org.objects.c_things.find().count()", "objects"),
        ("{modules: {safe: false, blacklist: ['c*che', '*.set']}}", "require('cache').set('k', 1)", "cache"),
        ("{acl: {safe: false}}", "org.objects.c_things.setOwner(org.objects.c_things.find().skipAcl().grant(4).next()._id, 'OTHER')", "objects"),
    ],
)
def test_refused_commands(world, options, call, module):
    fault = world(f"return script.as('OTHER', {options}, () => {call})").fault
    assert fault is not None
    assert (fault.errCode, fault.code, fault.status, fault.message, fault.path) == ("script.accessDenied.command", "kAccessDenied", 403, "Cannot call api command.", module)


@pytest.mark.parametrize(
    ("options", "call", "expected"),
    [
        ("{modules: {whitelist: ['objects']}}", "org.objects.c_things.find().count()", 0),
        ("{modules: {whitelist: ['script.as', 'objects']}}", "script.as('OTHER', {}, () => 7)", 7),
        ("{modules: {safe: false}}", "require('cache').set('k', 2)", 2),
        # consts read the org's roles through the host: never refused.
        ("{modules: {whitelist: ['objects']}}", "consts.roles.admin !== undefined", True),
    ],
)
def test_allowed_commands(world, options, call, expected):
    result = world(f"return script.as('OTHER', {options}, () => {call})")
    assert result.ok, result.fault
    assert result.value == expected


def test_rules_end_with_fn(world):
    result = world("const inside = script.as('OTHER', {}, () => 1); return [inside, require('cache').set('k', 3)]")
    assert result.ok, result.fault
    assert result.value == [1, 3]


def test_a_fault_in_fn_pops_the_principal(world):
    result = world(
        """
        let caught
        try { script.as('OTHER', {}, () => { throw Fault.create('app.inner', 'x') }) } catch (e) { caught = e.errCode }
        return [caught, org.objects.c_things.find().count()]
        """
    )
    assert result.ok, result.fault
    assert result.value == ["app.inner", 1]


# fidelity.md §8 "Scopes inside fn": options.principal.scope is now applied; the earlier
# kNotImplemented expectation is replaced by the platform's scope checks below.
def _scoped(scope: str, body: str, grant: int = 4) -> str:
    return f"return script.as('OTHER', {{principal: {{scope: {scope}, grant: {grant}}}}}, () => {body})"


def test_a_bad_scope_entry_is_an_auth_scope_fault(world):
    fault = world(_scoped("['object.read.c_thing', 'object.bogus']", "1")).fault
    assert (fault.errCode, fault.code, fault.status, fault.path) == ("cortex.invalidArgument.authScope", "kAuthScope", 400, "object.bogus")


def test_a_list_needs_object_read_scope(world):
    assert world(_scoped("['object.read.c_thing']", "org.objects.c_things.find().toArray().map(d => d.c_name)")).value == ["a"]
    fault = world(_scoped("['object.read.c_other']", "org.objects.c_things.find().toArray()")).fault
    assert (fault.errCode, fault.path) == ("cortex.accessDenied.scope", "object.read.c_thing")
    count = world(_scoped("['object.create.c_thing']", "org.objects.c_things.find().count()")).fault
    assert (count.errCode, count.path) == ("cortex.accessDenied.scope", "object.read.c_thing")


def test_properties_out_of_scope_are_left_out_or_refused(world):
    # The fixture's object has only c_name; a second property shows the omission.
    assert world("org.objects.objects.updateOne({name: 'c_thing'}, {$push: {properties: [{label: 'S', name: 'c_s', type: 'String', indexed: true}]}}).execute(); "
                 "return org.objects.c_things.updateOne({c_name: 'a'}, {$set: {c_s: 'secret'}}).execute() !== undefined").ok
    whole = world(_scoped("['object.read.c_thing.*.c_name']", "org.objects.c_things.find().toArray().map(d => [d.c_name, d.c_s === undefined])"))
    assert whole.ok, whole.fault
    assert whole.value == [["a", True]]
    single = world(_scoped("['object.read.c_thing.*.c_name']", "org.objects.c_things.find().pathRead('c_s')")).fault
    assert (single.errCode, single.path) == ("cortex.accessDenied.propertyRead", "c_thing.c_s")
    assert world(_scoped("['object.read.c_thing.*.c_name']", "org.objects.c_things.find().pathRead('c_name')")).value == "a"
    where = world(_scoped("['object.read.c_thing.*.c_name']", "org.objects.c_things.find({c_s: 'secret'}).toArray()")).fault
    assert (where.errCode, where.reason, where.path) == ("cortex.accessDenied.scope", "Scoped access denied for c_thing.c_s", "where")
    sort = world(_scoped("['object.read.c_thing.*.c_name']", "org.objects.c_things.find().sort({c_s: 1}).toArray()")).fault
    assert (sort.errCode, sort.path) == ("cortex.accessDenied.scope", "sort")


def test_an_instance_out_of_scope(world):
    scope = "['object.read.c_thing.000000000000000000000099']"
    # In a list the instance is left out (inferred); read on its own it is instanceRead.
    assert world(_scoped(scope, "org.objects.c_things.find().skipAcl().toArray().length")).value == 0
    fault = world(_scoped(scope, "org.objects.c_things.find().pathRead('_id')")).fault
    assert (fault.errCode, fault.path) == ("cortex.accessDenied.instanceRead", "c_thing")


def test_scoped_creates_updates_and_deletes(world):
    create = world(_scoped("['object.read.c_thing']", "org.objects.c_things.insertOne({c_name: 'z'}).execute()")).fault
    assert (create.errCode, create.path) == ("cortex.accessDenied.scope", "object.create.c_thing")
    assert world(_scoped("['object.create.c_thing']", "typeof org.objects.c_things.insertOne({c_name: 'z'}).execute()")).value == "object"
    update = world(_scoped("['object.read.c_thing']", "org.objects.c_things.updateOne({c_name: 'a'}, {$set: {c_name: 'q'}}).execute()", 7)).fault
    assert (update.errCode, update.path) == ("cortex.accessDenied.propertyUpdate", "c_thing.c_name")
    updated = world(_scoped("['object.update.c_thing.*.c_name']", "org.objects.c_things.updateOne({c_name: 'a'}, {$set: {c_name: 'q'}}).lean(true).execute()", 7))
    assert updated.ok, updated.fault
    delete = world(_scoped("['object.read.c_thing']", "org.objects.c_things.deleteOne({c_name: 'q'}).execute()", 7)).fault
    assert delete.errCode == "cortex.accessDenied.scope" and delete.path.startswith("object.delete.c_thing.")
    assert world(_scoped("['object.delete.c_thing']", "org.objects.c_things.deleteOne({c_name: 'q'}).execute()", 7)).value is True


def test_scope_ends_with_fn(world):
    result = world("script.as('OTHER', {principal: {scope: ['object.read.c_other']}}, () => 1); return org.objects.c_things.find().count()")
    assert result.ok, result.fault
    assert result.value == 1


def test_script_principal_is_what_the_sandbox_got_at_start(world):
    # script.principal is sent once (fidelity.md §7 "What the sandbox got at start does not
    # change"); host calls inside fn act as the new principal: the instance made there is theirs.
    result = world(
        """
        const inside = script.as('OTHER', {principal: {grant: 6}}, () => {
          const id = org.objects.c_things.insertOne({c_name: 'b'}).execute()
          return [String(script.principal._id), String(org.objects.c_things.find({_id: id}).next().owner._id)]
        })
        return inside.concat([String(script.principal._id), 'OTHER'])
        """
    )
    assert result.ok, result.fault
    caller, owner, after, other = result.value
    assert caller == after and owner == other != caller


def test_a_bulk_cursor_is_scoped_too(world):
    result = world(_scoped("['object.read.c_other']", "org.objects.bulk().add(org.objects.c_things.find(), {wrap: false}).toArray()"))
    assert result.ok, result.fault
    assert [(item["errCode"], item["index"]) for item in result.value] == [("cortex.accessDenied.scope", 0)]
    allowed = world(_scoped("['object.read.c_thing.*.c_name']", "org.objects.bulk().add(org.objects.c_things.find(), {wrap: false}).toArray().map(d => d.c_name)"))
    assert allowed.value == ["a"]
