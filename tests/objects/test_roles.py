"""Custom roles and service accounts of an org (environments.md §1.7, §3.2, §4.4, §4.5):
includes, their expansion in ACL resolution, service-account principals, and the faults."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from cortex_runtime.faults import Fault
from cortex_runtime.objects.acl import resolve_access
from cortex_runtime.objects.acl_notation import format_acl, parse_acl
from cortex_runtime.objects.model import ObjectDef
from cortex_runtime.objects.orgs import load_principal
from cortex_runtime.objects.principals import ADMINISTRATOR, ANONYMOUS, DEVELOPER, PUBLIC, SUPPORT, Principal, role_graph
from cortex_runtime.objects.roles import MAX_SERVICE_ACCOUNTS, OrgPrincipals
from cortex_runtime.runtime import Runtime


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture()
def org(runtime: Runtime, request: pytest.FixtureRequest) -> Any:
    return runtime.orgs.create(f"roles-{request.node.name[:40].replace('[', '-').replace(']', '')}")


def principals_of(runtime: Runtime, org: Any) -> OrgPrincipals:
    return OrgPrincipals(runtime.store, org[0]._id)


def fault_of(call: Any) -> Fault:
    with pytest.raises(Fault) as caught:
        call()
    return caught.value


def test_roles_with_includes(runtime: Runtime, org: Any) -> None:
    roles = principals_of(runtime, org)
    assert [r["code"] for r in roles.roles()] == ["administrator", "provider", "support", "developer"]
    staff = roles.create_role({"code": "staff", "name": "Staff"})
    lead = roles.create_role({"code": "c_lead", "name": "Lead", "include": ["c_staff"], "scope": ["object.read.*"]})
    assert staff["code"] == "c_staff" and lead["include"] == [staff["_id"]] and lead["scope"] == ["object.read.*"]
    assert roles.role("c_lead")["_id"] == lead["_id"] and roles.role(str(lead["_id"]))["code"] == "c_lead"
    assert roles.role("Administrator")["_id"] == ADMINISTRATOR and roles.role("c_none") is None
    includes = roles.role_includes()
    assert includes[ADMINISTRATOR] == (DEVELOPER, SUPPORT) and includes[lead["_id"]] == (staff["_id"],)
    stored = runtime.store.orgs.find_one({"_id": org[0]._id})
    assert [r["code"] for r in stored["roles"]] == ["c_staff", "c_lead"] and stored["principalsVersion"] == 2
    updated = roles.update_role("c_staff", {"name": "All staff"})
    assert updated["name"] == "All staff" and roles.version() == 3


@pytest.mark.parametrize(
    ("doc", "err_code", "reason"),
    [
        ({"code": "c_a", "include": ["administrator"]}, "cortex.invalidArgument.unspecified", "Built-in roles cannot be included in other roles."),
        ({"code": "c_a", "include": [str(DEVELOPER)]}, "cortex.invalidArgument.unspecified", "Built-in roles cannot be included in other roles."),
        ({"code": "c_a", "include": ["c_a"]}, "cortex.invalidArgument.unspecified", "A role cannot include itself."),
        ({"code": "c_a", "include": ["c_missing"]}, "cortex.notFound.role", "An included role does not exist."),
        ({"code": "c_taken"}, "cortex.conflict.exists", "A role with code c_taken exists."),
    ],
)
def test_role_faults(runtime: Runtime, org: Any, doc: dict[str, Any], err_code: str, reason: str) -> None:
    roles = principals_of(runtime, org)
    roles.create_role({"code": "c_taken"})
    fault = fault_of(lambda: roles.create_role(doc))
    assert (fault.errCode, fault.reason) == (err_code, reason)


def test_role_names_and_builtins(runtime: Runtime, org: Any) -> None:
    roles = principals_of(runtime, org)
    bad = fault_of(lambda: roles.create_role({"code": "a__b__c"}))
    assert bad.errCode == "cortex.invalidArgument.validation" and bad.faults[0].reason == "a__b__c cannot contain more than 1 namespace separator"
    assert fault_of(lambda: roles.create_role({"code": "c_bad name"})).faults[0].errCode == "cortex.invalidArgument.customName"
    assert fault_of(lambda: roles.update_role("administrator", {"name": "Boss"})).reason == "Built-in role names cannot be updated."
    assert fault_of(lambda: roles.update_role("developer", {"include": []})).reason == "Built-in role includes cannot be updated."
    assert fault_of(lambda: roles.delete_role("support")).reason == "Built-in roles cannot be deleted."
    assert fault_of(lambda: roles.update_role("c_nothing", {})).errCode == "cortex.notFound.role"
    assert roles.create_role({"code": "ns__x"})["code"] == "ns__x"


def test_delete_role_drops_it_everywhere(runtime: Runtime, org: Any) -> None:
    roles = principals_of(runtime, org)
    base = roles.create_role({"code": "c_base"})
    roles.create_role({"code": "c_top", "include": ["c_base"]})
    roles.create_service_account({"name": "c_bot", "roles": ["c_base", "support"]})
    roles.delete_role("c_base")
    assert roles.role("c_base") is None and roles.role("c_top")["include"] == []
    assert roles.service_account("c_bot")["roles"] == [SUPPORT] and base["_id"] not in roles.role_includes()


def test_transitive_includes_in_acl_resolution(runtime: Runtime, org: Any) -> None:
    org_, admin = org
    roles = principals_of(runtime, org)
    viewer = roles.create_role({"code": "c_viewer"})
    editor = roles.create_role({"code": "c_editor", "include": ["c_viewer"]})
    chief = roles.create_role({"code": "c_chief", "include": ["c_editor"]})
    member = runtime.orgs.provision(org_, email="chief@example.com", roles=[chief["_id"]])
    assert member.all_roles() >= {chief["_id"], editor["_id"], viewer["_id"]}
    obj = ObjectDef(name="c_doc", label="Doc", plural_name="c_docs", default_acl=[{"type": 3, "target": viewer["_id"], "allow": 4}])
    assert resolve_access(member, obj, {"org": org_._id}) == 4
    # Without the org's graph only the built-in includes apply.
    assert resolve_access(Principal(_id=member._id, org=org_._id, roles=member.roles), obj, {"org": org_._id}) == 0
    # An instance role (allow = role id) expands through the graph too.
    other = runtime.orgs.provision(org_, email="other@example.com")
    instance = {"org": org_._id, "acl": [{"type": 1, "target": other._id, "allow": chief["_id"]}]}
    assert resolve_access(other, obj, instance) == 4


def test_a_graph_that_includes_administrator_makes_an_administrator() -> None:
    custom = ObjectId()
    graph = role_graph({ADMINISTRATOR: (DEVELOPER, SUPPORT), custom: (ADMINISTRATOR,)})
    holder = Principal(_id=ObjectId(), org=ObjectId(), roles=(custom,), includes=graph)
    assert holder.is_org_admin and DEVELOPER in holder.all_roles()
    assert not Principal(_id=ObjectId(), org=ObjectId(), roles=(custom,)).is_org_admin


def test_definition_naming_a_role_created_just_before(runtime: Runtime, org: Any) -> None:
    org_, admin = org
    roles = principals_of(runtime, org)
    staff = roles.create_role({"code": "c_staff"})
    source = """
    org.objects.objects.insertOne({label: 'Chart', name: 'c_chart', defaultAcl: ['owner.delete', 'role.c_staff.update'],
      createAcl: 'role.c_staff', shareAcl: ['role.c_staff.c_staff'], properties: [{name: 'c_v', label: 'V', type: 'Number'}]}).execute()
    return org.objects.c_charts.insertOne({c_v: 1}).execute()
    """
    nurse = runtime.orgs.provision(org_, email="nurse@example.com", roles=[staff["_id"]])
    created = runtime.run(source, org=org_, principal=admin)
    assert created.fault is not None and created.fault.errCode == "cortex.accessDenied.instanceCreate"  # admin is not staff
    stored = runtime.store.contexts.find_one({"org": org_._id, "object": "object", "name": "c_chart"})
    assert [(e["type"], e.get("target"), e["allow"]) for e in stored["defaultAcl"]] == [(4, None, 7), (3, staff["_id"], 6)]
    assert [(e["type"], e["target"], e["allow"]) for e in stored["shareAcl"]] == [(3, staff["_id"], staff["_id"])]
    made = runtime.run("return org.objects.c_charts.insertOne({c_v: 2}).lean(false).execute()", org=org_, principal=nurse)
    assert made.ok and made.value["access"] == 7, made.fault
    admin_view = runtime.layer(org_, admin).list("c_charts", {})
    assert admin_view["data"] == []
    assert [row["c_v"] for row in runtime.layer(org_, load_principal(runtime.store, org_._id, "nurse@example.com")).list("c_charts", {})["data"]] == [2]
    names = roles.names()
    assert format_acl(stored["defaultAcl"], "default", names) == ["owner.delete", "role.c_staff.update"]


def test_service_account_principals(runtime: Runtime, org: Any) -> None:
    org_, admin = org
    roles = principals_of(runtime, org)
    roles.create_role({"code": "c_ops"})
    sa = roles.create_service_account({"name": "sys", "label": "System", "roles": ["administrator", "c_ops"]})
    assert sa["name"] == "c_sys" and sa["locked"] is False and sa["roles"][0] == ADMINISTRATOR
    principal = load_principal(runtime.store, org_._id, "serviceAccount.c_sys")
    assert principal._id == sa["_id"] and principal.email == f"c_sys@{org_.code}-iam.serviceaccount.medable.com"
    assert principal.is_org_admin and principal.has_role(roles.role("c_ops")["_id"])
    for key in ("c_sys", str(sa["_id"]), sa["_id"], principal.email):
        assert load_principal(runtime.store, org_._id, key)._id == sa["_id"]
    # script.as accepts the prefixed key; a role is refused.
    result = runtime.run("return script.as('serviceAccount.c_sys', {}, () => org.objects.accounts.find().count())", org=org_, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    refused = runtime.run("return script.as('role.c_ops', {}, () => 1)", org=org_, principal=admin)
    assert refused.fault is not None and refused.fault.reason == "Script principal cannot be a role."
    # ACL entries may name it (§2.4).
    entries = parse_acl(["account.c_sys.read", "serviceAccount.c_sys"], "default", roles.resolver(), path="defaultAcl")
    assert [(e["type"], e["target"]) for e in entries] == [(1, sa["_id"]), (1, sa["_id"])]
    assert format_acl(entries, "default", roles.names()) == ["account.c_sys.min", "account.c_sys.read"]


def test_prefixed_principal_keys(runtime: Runtime, org: Any) -> None:
    org_, admin = org
    store = runtime.store
    assert load_principal(store, org_._id, f"account.{admin.email}")._id == admin._id
    assert load_principal(store, org_._id, f"account.{admin._id}")._id == admin._id
    assert load_principal(store, org_._id, "account.public")._id == PUBLIC
    assert load_principal(store, org_._id, "account.anonymous").is_anonymous
    assert load_principal(store, org_._id, {"_id": admin._id})._id == admin._id
    assert load_principal(store, org_._id, admin.email)._id == admin._id
    role = fault_of(lambda: load_principal(store, org_._id, "role.administrator"))
    assert (role.errCode, role.reason) == ("cortex.invalidArgument.unspecified", "Script principal cannot be a role.")
    for key in ("serviceAccount.c_nobody", "account.nobody@example.com", f"account.{ObjectId()}", "c_nobody"):
        assert fault_of(lambda: load_principal(store, org_._id, key)).errCode == "cortex.notFound.principal"
    assert fault_of(lambda: load_principal(store, org_._id, str(ObjectId()))).errCode == "cortex.notFound.instance"


def test_service_account_faults(runtime: Runtime, org: Any) -> None:
    roles = principals_of(runtime, org)
    roles.create_service_account({"name": "c_one"})
    assert fault_of(lambda: roles.create_service_account({"name": "c_one"})).errCode == "cortex.conflict.exists"
    missing = fault_of(lambda: roles.create_service_account({"name": "c_two", "roles": ["c_ghost"]}))
    assert missing.errCode == "cortex.notFound.role"
    assert fault_of(lambda: roles.create_service_account({"name": "c_two", "label": ""})).faults[0].path == "serviceAccount.label"
    assert fault_of(lambda: roles.update_service_account("c_ghost", {"label": "x"})).errCode == "cortex.notFound.serviceAccount"
    changed = roles.update_service_account("c_one", {"label": "One", "locked": True, "roles": ["developer"]})
    assert (changed["label"], changed["locked"], changed["roles"]) == ("One", True, [DEVELOPER])
    for index in range(MAX_SERVICE_ACCOUNTS - 1):
        roles.create_service_account({"name": f"c_sa{index}"})
    too_many = fault_of(lambda: roles.create_service_account({"name": "c_last"}))
    assert too_many.errCode == "cortex.invalidArgument.maxAllowed"


def test_resolver_faults_by_mode(runtime: Runtime, org: Any) -> None:
    roles = principals_of(runtime, org)
    ordinary = fault_of(lambda: parse_acl(["role.c_ghost.read"], "default", roles.resolver(), path="defaultAcl"))
    assert ordinary.errCode == "cortex.invalidArgument.validation" and ordinary.faults[0].reason == "c_ghost is not a valid org role."
    imported = fault_of(lambda: parse_acl(["role.c_ghost.read"], "default", roles.resolver(importing=True), path="object.c_x.defaultAcl", importing=True))
    assert (imported.errCode, imported.reason) == ("cortex.notFound.unspecified", 'A role dependency "c_ghost" is missing for object.c_x.defaultAcl.0.target')
    unknown_id = fault_of(lambda: parse_acl([{"type": 3, "target": str(ObjectId())}], "create", roles.resolver(), path="createAcl"))
    assert unknown_id.faults[0].path == "createAcl.0.target"
    stranger = fault_of(lambda: parse_acl([{"type": 1, "target": ObjectId()}], "create", roles.resolver(), path="createAcl"))
    assert stranger.faults[0].reason.endswith("is not a valid account.")
    assert parse_acl([{"type": 1, "target": ANONYMOUS}], "create", roles.resolver(), path="createAcl")[0]["target"] == ANONYMOUS


def test_route_acls_resolve_custom_roles(runtime: Runtime, org: Any) -> None:
    org_, admin = org
    roles = principals_of(runtime, org)
    staff = roles.create_role({"code": "c_staff"})
    layer = runtime.layer(org_, admin)
    layer.insert_one("script", {"label": "R", "name": "c_r", "type": "route", "script": "return 1", "configuration": {"method": "get", "path": "r", "acl": ["role.c_staff.read", "account.public"]}}, {})
    saved = runtime.store.contexts.find_one({"org": org_._id, "object": "script", "name": "c_r"})
    assert [(e["type"], e["target"], e["allow"]) for e in saved["configuration"]["acl"]] == [(3, staff["_id"], 1), (1, PUBLIC, 1)]
    bad = fault_of(lambda: layer.insert_one("script", {"label": "S", "name": "c_s", "type": "route", "script": "return 1", "configuration": {"method": "get", "path": "s", "acl": "role.c_ghost"}}, {}))
    assert bad.faults[0].path == "script.configuration.acl.0.target"
    library = """
    const { route } = require('decorators')
    class Staff {
      @route({method: 'GET', name: 'c_staff_only', path: 'staff', acl: ['role.c_staff']})
      static only() { return 'staff' }
    }
    module.exports = Staff
    """
    layer.insert_one("script", {"label": "L", "name": "c_lib", "type": "library", "script": library, "configuration": {"export": "c_lib"}}, {})
    stored = runtime.store.contexts.find_one({"org": org_._id, "object": "script", "name": "c_lib"})
    route = next(e for e in stored["runtime"] if e["type"] == "route")
    assert [(e["type"], e["target"]) for e in route["configuration"]["acl"]] == [(3, staff["_id"])]
