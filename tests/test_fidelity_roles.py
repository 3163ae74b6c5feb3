"""Org roles, service accounts and access principals seen from scripts (fidelity.md §7)."""

from __future__ import annotations

import pytest
from bson import ObjectId

from cortex_runtime.runtime import Runtime


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("roles")

    def run(source: str, principal=admin):
        return runtime.run(source, org=org, principal=principal)

    return runtime, org, admin, run


def test_a_role_made_in_a_run_is_usable_by_code_later_in_that_run(world):
    runtime, org, _, run = world
    result = run(
        """
        const roles = org.push('roles', {name: 'New Role', code: 'new_role'})
        org.objects.objects.insertOne({label: 'Widget', name: 'c_widget', defaultAcl: ['owner.delete', 'role.c_new_role.read'],
          createAcl: ['account.public'], properties: [{label: 'N', name: 'c_n', type: 'String'}]}).execute()
        const id = org.objects.c_widgets.insertOne({c_n: 'hello'}).execute()
        const last = roles[roles.length - 1]
        return {count: roles.length, code: last.code, name: last.name, id: last._id, widget: id,
                acl: org.objects.objects.find({name: 'c_widget'}).next().defaultAcl}
        """
    )
    assert result.ok, result.fault
    value = result.value
    # The code is c_-prefixed and the new role comes last, with its generated _id.
    assert (value["count"], value["code"], value["name"]) == (1, "c_new_role", "New Role")
    assert [(e["type"], e.get("target"), e["allow"]) for e in value["acl"]][1] == (3, value["id"], 4)
    holder = runtime.orgs.provision(org, email="nurse@example.com", roles=[value["id"]])
    stranger = runtime.orgs.provision(org, email="stranger@example.com")
    read = run(f"return org.objects.c_widgets.find({{_id: '{value['widget']}'}}).next().c_n", principal=holder)
    assert read.ok and read.value == "hello"
    assert run("return org.objects.c_widgets.find().count()", principal=stranger).value == 0
    assert run("return [script.principal.roleCodes, script.principal.roles.length]", principal=holder).value == [["c_new_role"], 1]


def test_role_fields_are_checked(world):
    _, _, _, run = world
    assert run("org.push('roles', {name: 'A', code: 'c_a'})").ok
    duplicate = run("org.push('roles', {name: 'B', code: 'c_a'})").fault
    assert (duplicate.errCode, duplicate.path) == ("cortex.conflict.exists", "org.roles[].code")
    same_name = run("org.push('roles', {name: 'A', code: 'c_b'})").fault
    assert same_name.errCode == "cortex.conflict.exists"
    nameless = run("org.push('roles', {code: 'c_c'})").fault
    assert (nameless.errCode, nameless.faults[0].errCode, nameless.faults[0].path) == ("cortex.invalidArgument.validation", "cortex.invalidArgument.required", "org.roles[].name")
    builtin = run("org.push('roles', {name: 'Admin again', code: 'administrator'})").fault
    assert (builtin.errCode, builtin.reason) == ("cortex.accessDenied.unspecified", "Built-in Roles cannot be modified.")
    missing = run("org.push('roles', {name: 'C', code: 'c_c', include: ['000000000000000000000099']})").fault
    assert (missing.errCode, missing.reason) == ("cortex.notFound.role", "An included role does not exist.")
    builtin_include = run("org.push('roles', {name: 'C', code: 'c_c', include: [consts.roles.admin]})").fault
    assert builtin_include.faults[0].reason == "Built-in roles cannot be included in other roles."


def test_deleting_a_role_pulls_it_from_includes(world):
    runtime, org, _, run = world
    result = run(
        """
        const a = org.push('roles', {name: 'A', code: 'c_a'}).pop()
        const b = org.push('roles', {name: 'B', code: 'c_b', include: [a._id]}).pop()
        org.objects.org.updateOne({_id: org._id}, {$remove: {roles: [a._id]}}).execute()
        return org.read('roles').map(r => [r.code, r.include.length])
        """
    )
    assert result.ok, result.fault
    assert result.value == [["c_b", 0]]
    stored = runtime.store.orgs.find_one({"_id": org._id})["roles"]
    assert [(r["code"], r["include"]) for r in stored] == [("c_b", [])]


def test_role_principals_use_the_new_role(world):
    _, _, _, run = world
    result = run(
        """
        org.push('roles', {name: 'Reader', code: 'c_reader'})
        org.objects.objects.insertOne({label: 'Doc', name: 'c_doc', defaultAcl: ['role.c_reader.read'], createAcl: ['account.public'],
          properties: [{label: 'N', name: 'c_n', type: 'String'}]}).execute()
        org.objects.c_docs.insertOne({c_n: 'x'}).bypassCreateAcl().grant(8).execute()
        return script.as('c_reader', {}, () => org.objects.c_docs.find().paths('c_n').toArray().map(d => d.c_n))
        """
    )
    assert result.ok, result.fault
    assert result.value == ["x"]


def test_service_accounts_through_the_org_instance(world):
    _, _, _, run = world
    ok = run(
        """
        const role = org.push('roles', {name: 'Ops', code: 'c_ops'}).pop()
        const sas = org.push('serviceAccounts', {name: 'robot', label: 'Robot', roles: [role._id]})
        return sas.map(s => [s.name, s.label, s.locked, s.roles.length])
        """
    )
    assert ok.ok, ok.fault
    assert ok.value == [["c_robot", "Robot", False, 1]]
    bad = run("org.push('serviceAccounts', {name: 'c_other', label: 'Other', roles: ['000000000000000000000099']})").fault
    assert (bad.errCode, bad.reason) == ("cortex.notFound.unspecified", "One or more roles do not exist.")
    read = run(
        """
        org.objects.objects.insertOne({label: 'Box', name: 'c_box', defaultAcl: ['role.c_ops.read'], createAcl: ['account.public'],
          properties: [{label: 'N', name: 'c_n', type: 'String'}]}).execute()
        org.objects.c_boxes.insertOne({c_n: 'inside'}).grant(8).execute()
        return [org.objects.c_boxes.find().count(), script.as('c_robot', {}, () => org.objects.c_boxes.find().toArray().map(b => b.c_n))]
        """
    )
    assert read.ok, read.fault
    # The admin holds no c_ops role and is no owner here; the service account holds it.
    assert read.value == [0, ["inside"]]


def test_a_plain_account_editing_a_definition_gets_access_denied(world):
    runtime, org, _, run = world
    assert run("org.objects.objects.insertOne({label: 'W', name: 'c_w', defaultAcl: ['owner.delete'], createAcl: ['account.public']}).execute()").ok
    plain = runtime.orgs.provision(org, email="plain@example.com")
    update = run("return org.objects.objects.updateOne({name: 'c_w'}, {$set: {label: 'X'}}).execute()", principal=plain).fault
    assert update.code == "kAccessDenied", update.to_json()
    create = run("return org.objects.objects.insertOne({label: 'Y', name: 'c_y'}).execute()", principal=plain).fault
    assert (create.errCode, create.path) == ("cortex.accessDenied.instanceCreate", "object")


def test_role_principal_forms(world):
    _, _, _, run = world
    result = run(
        """
        const role = org.push('roles', {name: 'Reader', code: 'c_reader'}).pop()
        org.objects.objects.insertOne({label: 'Doc', name: 'c_doc', defaultAcl: ['role.c_reader.read'], createAcl: ['account.public'],
          properties: [{label: 'N', name: 'c_n', type: 'String'}]}).execute()
        org.objects.c_docs.insertOne({c_n: 'x'}).grant(8).execute()
        const count = () => org.objects.c_docs.find().count()
        return [script.as(String(role._id), {}, count), script.as('c_reader@roles-iam.role.medable.com', {}, count), count()]
        """
    )
    assert result.ok, result.fault
    assert result.value == [1, 1, 0]
    missing = run("return script.as('c_ghost@roles-iam.role.medable.com', {}, () => 1)").fault
    assert missing.errCode == "cortex.notFound.role"


def test_a_role_without_code_is_held_by_id(world):
    runtime, org, _, run = world
    result = run(
        """
        const role = org.push('roles', {name: 'Plain'}).pop()
        return [role.code === undefined, String(role._id)]
        """
    )
    assert result.ok, result.fault
    role_id = result.value[1]
    holder = runtime.orgs.provision(org, email="plain-role@example.com", roles=[ObjectId(role_id)])
    # roleCodes lists the id string where a role has no code (fidelity.md §7).
    assert run("return script.principal.roleCodes", principal=holder).value == [role_id]


def test_include_takes_role_codes(world):
    runtime, org, _, run = world
    result = run(
        """
        const a = org.push('roles', {name: 'A', code: 'c_a'}).pop()
        const b = org.push('roles', {name: 'B', code: 'c_b', include: ['c_a']}).pop()
        const c = org.push('roles', {name: 'C', code: 'c_c', include: ['b']}).pop()
        return [String(a._id), b.include.map(String), String(b._id), c.include.map(String)]
        """
    )
    assert result.ok, result.fault
    a_id, b_include, b_id, c_include = result.value
    assert (b_include, c_include) == ([a_id], [b_id])
    stored = {r["code"]: r["include"] for r in runtime.store.orgs.find_one({"_id": org._id})["roles"]}
    assert stored["c_b"] == [ObjectId(a_id)]
    # Held through includes: c_c expands to c_b and c_a; roleCodes are sorted codes.
    holder = runtime.orgs.provision(org, email="c@example.com", roles=[ObjectId(result.value[2])])
    assert run("return script.principal.roleCodes", principal=holder).value == ["c_a", "c_b"]
    ghost = run("org.push('roles', {name: 'D', code: 'c_d', include: ['c_ghost']})").fault
    assert (ghost.errCode, ghost.reason) == ("cortex.notFound.role", "An included role does not exist.")


def test_org_global_and_configuration(world):
    runtime, org, _, run = world
    from cortex_runtime.objects.principals import DEVELOPER, SUPPORT

    result = run("return [Object.keys(org), org.object, org.configuration === undefined, org.read('configuration'), org.read('configuration.stringAccessRoles')]")
    assert result.ok, result.fault
    # An Administrator reads every child but the System-only ones (queries, defaultCollection, ...).
    assert result.value == [["_id", "code", "object"], "org", True, {"stringAccessRoles": False, "reporting": {"enabled": False}}, False]
    support = runtime.orgs.provision(org, email="support@example.com", roles=[SUPPORT])
    developer = runtime.orgs.provision(org, email="developer@example.com", roles=[DEVELOPER])
    plain = runtime.orgs.provision(org, email="plain-config@example.com")
    for who in (support, developer):
        assert run("return org.read('configuration')", principal=who).value == {"stringAccessRoles": False, "reporting": {"enabled": False}}
    # A plain account has Public access to org: only Public children (reporting).
    assert run("return org.read('configuration')", principal=plain).value == {"reporting": {"enabled": False}}
    # System-only children are stored (queries.allowedRestrictedMatchOps) but never read.
    assert "queries" in runtime.store.contexts.find_one({"_id": org._id})["configuration"]
    assert run("return org.read('configuration').queries === undefined").value is True


def test_role_and_service_account_access(world):
    runtime, org, _, run = world
    from cortex_runtime.objects.principals import DEVELOPER

    assert run("org.push('roles', {name: 'A', code: 'c_a'}); org.push('serviceAccounts', {name: 'bot', label: 'Bot'})").ok
    plain = runtime.orgs.provision(org, email="plain-roles@example.com")
    # Every logged-in account reads roles; serviceAccounts have no such entry.
    assert run("return org.read('roles').map(r => r.code)", principal=plain).value == ["c_a"]
    denied = run("return org.read('serviceAccounts')", principal=plain).fault
    assert (denied.errCode, denied.path) == ("cortex.accessDenied.propertyRead", "org.serviceAccounts")
    write = run("org.push('roles', {name: 'B', code: 'c_b'})", principal=plain).fault
    assert (write.errCode, write.path) == ("cortex.accessDenied.propertyUpdate", "org.roles")
    # The server runs as development: the Developer role updates roles and service accounts.
    developer = runtime.orgs.provision(org, email="dev-roles@example.com", roles=[DEVELOPER])
    made = run("org.push('roles', {name: 'B', code: 'c_b'}); return org.push('serviceAccounts', {name: 'c_bot2', label: 'Bot 2'}).map(s => s.name)", principal=developer)
    assert made.ok, made.fault
    assert made.value == ["c_bot", "c_bot2"]


def test_role_scopes_are_validated_and_optimised(world):
    _, _, _, run = world
    result = run("return org.push('roles', {name: 'S', code: 'c_s', scope: ['object.read.c_a.*', 'object.read', 'view.execute.c_v']}).pop().scope")
    assert result.ok, result.fault
    assert result.value == ["object.read", "view.execute.c_v"]
    bad = run("org.push('roles', {name: 'T', code: 'c_t', scope: ['object.read', 'object.peek']})").fault
    assert (bad.errCode, bad.code, bad.status, bad.path) == ("cortex.invalidArgument.authScope", "kAuthScope", 400, "object.peek")
