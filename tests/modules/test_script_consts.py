"""The ``script`` global, ``consts``, ``require('schemas')`` and ``require('session')``
(modules.md §6, §15, §16, §17; scripting-core.md §3, §14, §15; fidelity.md §7)."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from cortex_runtime import Sandbox
from cortex_runtime.modules.script import is_custom_event
from cortex_runtime.objects.principals import ADMINISTRATOR, DEVELOPER, SUPPORT
from cortex_runtime.objects.roles import OrgPrincipals
from cortex_runtime.runtime import Runtime


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


@pytest.fixture(scope="module")
def org(runtime: Runtime) -> Any:
    """An org with custom roles (c_lead includes c_staff) and a service account holding c_lead."""
    org, admin = runtime.orgs.create("script-consts")
    roles = OrgPrincipals(runtime.store, org._id)
    roles.create_role({"code": "c_staff", "name": "Staff"})
    roles.create_role({"code": "c_lead", "name": "Lead", "include": ["c_staff"]})
    roles.create_service_account({"name": "c_bot", "label": "Bot", "roles": ["c_lead"]})
    bot = OrgPrincipals(runtime.store, org._id).principal_for_service_account("c_bot")
    return org, admin, bot


def run(runtime: Runtime, org: Any, source: str, **kwargs: Any) -> Any:
    result = runtime.run(source, org=org[0], principal=kwargs.pop("principal", org[1]), **kwargs)
    assert result.ok, result.fault and result.fault.to_json()
    return result.value


def fault(runtime: Runtime, org: Any, source: str, **kwargs: Any) -> dict[str, Any]:
    result = runtime.run(source, org=org[0], principal=kwargs.pop("principal", org[1]), **kwargs)
    assert result.fault is not None, result.value
    return result.fault.to_json()


# ---- consts -------------------------------------------------------------------------------


def test_acceptance_21_22_access_levels_and_logs(runtime, org):
    value = run(runtime, org, "return [consts.accessLevels, consts.logs.levels.error, consts.logs.levels.trace, consts.logs.sources.script]")
    assert value == [{"public": 1, "connected": 2, "read": 4, "share": 5, "update": 6, "delete": 7, "script": 8}, 0, 4, 2]


def test_acceptance_23_administrator_role(runtime, org):
    value = run(runtime, org, "return [consts.roles.administrator, consts.roles.Administrator, consts.roles.admin]")
    assert value == [ADMINISTRATOR] * 3


def test_acceptance_24_consts_is_read_only(runtime, org):
    value = run(
        runtime,
        org,
        """
        const tries = [() => { consts.accessLevels.read = 1 }, () => { consts.roles = {} }, () => { consts.roles.c_staff = null },
                       () => { consts.extra = 1 }, () => { consts.audits.categories.user.label = 'x' }]
        return [tries.map(t => { try { t(); return 'changed' } catch (e) { return e instanceof TypeError } }), consts.accessLevels.read, Object.isFrozen(consts)]
        """,
    )
    assert value == [[True] * 5, 4, True]


def test_every_group_of_scripting_core_15(runtime, org):
    value = run(runtime, org, "return [Object.keys(consts), consts.emptyId, consts.stats.sources.roomUsage, consts.events.retention.skipped, consts.http.methodsLookup[6], consts.principals.public, consts.notifications.endpoints.sms, Object.keys(consts.audits.categories).length, require('consts') === consts]")
    assert value == [
        ["emptyId", "connectionStates", "accountStates", "objects", "audits", "logs", "stats", "media", "http", "accessTargets",
         "accessPrincipals", "accessLevels", "accessTypes", "events", "roles", "serviceAccounts", "principals", "notifications"],
        ObjectId("0" * 24), 8, 4, "PATCH", ObjectId("000000000000000000000003"), ObjectId("456e64706f696e7420536d73"), 11, True,
    ]


def test_consts_roles_hold_the_org_codes_and_names_then_the_builtins(runtime, org):
    roles = OrgPrincipals(runtime.store, org[0]._id)
    staff, lead = roles.role("c_staff")["_id"], roles.role("c_lead")["_id"]
    bot = roles.service_account("c_bot")["_id"]
    value = run(runtime, org, "return [Object.keys(consts.roles), consts.roles.c_staff, consts.roles.Lead, consts.serviceAccounts]")
    assert value == [
        ["administrator", "provider", "support", "developer", "c_staff", "c_lead",
         "Administrator", "Provider", "Support", "Developer", "Staff", "Lead", "admin"],
        staff, lead, {"c_bot": bot},
    ]


def test_consts_objects_by_plural_name(runtime, org):
    run(runtime, org, "org.objects.objects.insertOne({label: 'Widget', name: 'c_widget', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}], properties: [{label: 'N', name: 'c_n', type: 'Number'}]}).execute()")
    stored = runtime.store.contexts.find_one({"org": org[0]._id, "object": "object", "name": "c_widget"})
    value = run(runtime, org, "return [consts.objects.c_widgets, 'accounts' in consts.objects, consts.objects.accounts instanceof ObjectID]")
    assert value == [stored["_id"], True, True]


def test_consts_without_an_org_are_the_builtins():
    sandbox = Sandbox(cache_dir=None)
    result = sandbox.run("return [Object.keys(consts.roles), consts.serviceAccounts, consts.objects, Object.isFrozen(consts.roles)]")
    assert result.value == [
        ["administrator", "provider", "support", "developer", "Administrator", "Provider", "Support", "Developer", "admin"], {}, {}, True,
    ], result.fault


def test_a_run_reads_consts_without_asking_the_host_unless_it_reads_the_org_groups(runtime, org):
    result = runtime.run("return [consts.accessLevels.read, consts.logs.sources.api]", org=org[0], principal=org[1])
    assert result.value == [4, 1] and result.stats.host_calls == 0


# ---- script.principal ----------------------------------------------------------------------


def test_principal_roles_are_expanded_and_role_codes_sorted(runtime, org):
    value = run(runtime, org, "const p = script.principal; return [p.roles, p.roleCodes, p.isOrgAdmin(), p.isDeveloper(), p.isSupport(), p.hasRole('Developer')]")
    assert value == [[ADMINISTRATOR, SUPPORT, DEVELOPER], ["administrator", "developer", "support"], True, True, True, True]


def test_principal_has_role_by_custom_code_name_or_id_through_includes(runtime, org):
    staff = OrgPrincipals(runtime.store, org[0]._id).role("c_staff")["_id"]
    value = run(
        runtime,
        org,
        """
        const p = script.principal
        return [p.hasRole('c_lead'), p.hasRole('c_staff'), p.hasRole('Staff'), p.hasRole(consts.roles.c_staff), p.hasRole(String(consts.roles.c_staff)),
                p.hasRole('administrator'), p.isOrgAdmin(), p.isDeveloper(), p.isSupport(), p.hasRole('c_none'), p.hasRole(null), p.hasRole(42), p.roleCodes]
        """,
        principal=org[2],
    )
    assert value == [True, True, True, True, True, False, False, False, False, False, False, False, ["c_lead", "c_staff"]]
    assert run(runtime, org, "return script.principal.roles", principal=org[2])[1] == staff


def test_has_role_on_other_accounts_follows_the_org_includes(runtime, org):
    value = run(
        runtime,
        org,
        """
        const tim = new org.objects.accounts({_id: new ObjectID(), roles: [consts.roles.c_lead]})
        return [tim.hasRole('c_staff'), tim.hasRole('developer'), tim.isOrgAdmin()]
        """,
    )
    assert value == [True, False, False]


# ---- script.* ---------------------------------------------------------------------------------


def test_ops_time_callouts_notifications_and_depth(runtime, org):
    value = run(
        runtime,
        org,
        """
        const a = script.getOpsRemaining(), b = script.getOpsRemaining()
        const u1 = script.getOpsUsed(), u2 = script.getOpsUsed()
        return [a > b, u2 > u1, u1 > 0, script.getTimeLeft() > 0, script.getTimeLeft() <= 5000, typeof script.getElapsedTime(),
                script.getCalloutsRemaining(), Number.isInteger(script.getCalloutsRemaining()), script.getNotificationsRemaining(), script.depth]
        """,
    )
    assert value == [True, True, True, True, True, "number", 5, True, 100, 1]


def test_callouts_are_zero_in_inline_runs(runtime, org):
    assert run(runtime, org, "return script.getCalloutsRemaining()", inline=True) == 0


def test_callouts_remaining_counts_what_the_host_used(runtime, org, monkeypatch):
    """The http module (later) counts on RunInfo.callouts_used; script sees maxCallouts - used."""
    from cortex_runtime.modules import script as script_module

    original = script_module.ScriptModule.call

    def call(self, run_info, name, args):
        run_info.callouts_used = 2
        run_info.notifications_sent = 99
        return original(self, run_info, name, args)

    monkeypatch.setattr(script_module.ScriptModule, "call", call)
    assert run(runtime, org, "return [script.getCalloutsRemaining(), script.getNotificationsRemaining()]") == [3, 1]


def test_exit_ends_the_run_with_its_value(runtime, org):
    assert run(runtime, org, "try { script.exit({a: 1}) } finally { } return 2") == {"a": 1}
    assert run(runtime, org, "const x = script.exited; try { script.exit(3) } catch (e) { return 'caught' }") == 3


def test_script_as_runs_as_another_principal_and_pops_on_throw(runtime, org):
    value = run(
        runtime,
        org,
        """
        const tom = org.objects.accounts.provision({email: 'tom@example.com', name: {first: 'Tom', last: 'T'}})
        const who = () => org.objects.accounts.find().map(a => a.email)
        const inside = script.as('tom@example.com', who)
        let caught
        try { script.as(tom._id, {}, () => { throw Fault.create('kNotFound', {reason: 'inner'}) }) } catch (e) { caught = e.reason }
        return [inside, caught, who()]
        """,
    )
    assert value == [["tom@example.com"], "inner", ["admin@example.com"]]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("script.as('admin@example.com', {}, 5)", "script.as expects a function."),
        ("script.as('nobody@example.com', () => 1)", None),
    ],
    ids=["not-a-function", "unknown-principal"],
)
def test_script_as_bad_arguments_are_faults(runtime, org, source, reason):
    result = fault(runtime, org, source)
    assert result["object"] == "fault" and result["errCode"] != "script.error.unspecified"
    if reason:
        assert result["reason"] == reason


@pytest.mark.parametrize(
    ("event", "valid"),
    [("c_x.done.before", True), ("ns__task.completed.after", True), ("c_x.done", False), ("x.done.before", False),
     ("c_x.before", True), ("before", False), ("c_x..after", False), ("c_" + "x" * 130 + ".after", False), (5, False)],
)
def test_custom_event_names(event, valid):
    assert is_custom_event(event) is valid


def test_script_trigger_refuses_a_bad_event_name(runtime, org):
    result = fault(runtime, org, "script.trigger('c_x.done')")
    assert (result["errCode"], result["reason"]) == (
        "cortex.invalidArgument.unspecified",
        "Invalid custom event name. Event name must be namespaced and end with .before/.after",
    )


def test_script_fire_and_fire_async_exist_and_are_frozen(runtime, org):
    value = run(runtime, org, "return [typeof script.fire, typeof script.fire.async, Object.isFrozen(script.fire), script.fire('c_nobody.listens', 1) === undefined]")
    assert value == ["function", "function", True, True]


# ---- require('schemas') ---------------------------------------------------------------------


def test_schemas_read_an_object_and_a_path(runtime, org):
    run(runtime, org, "org.objects.objects.insertOne({label: 'Gadget', name: 'c_gadget', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}], properties: [{label: 'Size', name: 'c_size', type: 'Number', indexed: true}, {label: 'Box', name: 'c_box', type: 'Document', properties: [{label: 'W', name: 'c_w', type: 'String'}]}]}).execute()")
    value = run(
        runtime,
        org,
        """
        const schemas = require('schemas')
        const s = schemas.read('c_gadgets')
        return [schemas.version(), s.object, s.name, s.pluralName, s.custom, s.properties.map(p => p.name), schemas.read('c_gadget', 'properties.c_size.type'),
                schemas.read('c_gadget', 'properties/c_box/properties/c_w').label, schemas.read('c_gadget', 'properties.0.indexed'), schemas.read('c_gadget', 'properties.c_nope') === undefined,
                schemas.read('account', 'properties.email.unique'), schemas.read('Account').custom]
        """,
    )
    assert value == ["1.0.0", "schema", "c_gadget", "c_gadgets", True, ["c_size", "c_box"], "Number", "W", True, True, True, False]


@pytest.mark.parametrize(
    ("source", "err_code"),
    [("require('schemas').read('c_missing')", "cortex.invalidArgument.object"), ("require('schemas').read()", "cortex.invalidArgument.unspecified"),
     ("require('schemas').read('account', 5)", "cortex.invalidArgument.unspecified")],
)
def test_schemas_faults(runtime, org, source, err_code):
    assert fault(runtime, org, source)["errCode"] == err_code


# ---- require('session') ---------------------------------------------------------------------


def test_acceptance_47_session_values_last_across_requests_of_one_session(runtime, org):
    run(runtime, org, "require('session').set('k', 1)", session="s-47")
    assert run(runtime, org, "return require('session').get('k')", session="s-47") == 1
    assert run(runtime, org, "return require('session').get('k') === undefined", session="s-other") is True


def test_session_paths_null_reset_and_replace(runtime, org):
    value = run(
        runtime,
        org,
        """
        const s = require('session')
        const out = [s.get() === undefined]
        s.set('a.b.c', 2); s.set('n', null)
        out.push(s.get('a.b'), s.get('n'), s.get('a.x') === undefined)
        s.set(null); out.push(s.get())
        s.set(undefined, {whole: true}); out.push(s.get())
        s.set(); out.push(s.get())
        return out
        """,
        session="s-paths",
    )
    assert value == [True, {"c": 2}, None, True, {}, {"whole": True}, {}]


def test_session_without_a_session_is_silent(runtime, org):
    assert run(runtime, org, "const s = require('session'); s.set('k', 1); return [s.get('k') === undefined, s.get() === undefined]") == [True, True]


def test_session_storage_limit(runtime, org):
    result = fault(runtime, org, "require('session').set('big', 'x'.repeat(8000))", session="s-big")
    assert result["errCode"] == "cortex.tooLarge.unspecified"
    assert result["reason"].startswith("Breached maximum sandbox session storage limit of 4096 bytes by ")
    assert fault(runtime, org, "require('session').set(5, 1)", session="s-big")["errCode"] == "cortex.invalidArgument.unspecified"
