"""The ACL notation (environments.md §1): shorthand and object forms, the faults of ordinary
writes and imports, export serialisation, and shorthand through scripts and REST."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bson import ObjectId

from cortex_runtime.faults import Fault
from cortex_runtime.objects.acl_notation import (
    BuiltinResolver,
    custom_name,
    format_acl,
    level_word,
    missing_principal,
    parse_acl,
    parse_level,
)
from cortex_runtime.objects.principals import ADMINISTRATOR, ANONYMOUS, DEVELOPER, PUBLIC
from cortex_runtime.runtime import Runtime

SITE_USER, REVIEWER, C_X, C_DATA = ObjectId(), ObjectId(), ObjectId(), ObjectId()
SA, ALICE, DOTTY = ObjectId(), ObjectId(), ObjectId()
ROLES = {"administrator": ADMINISTRATOR, "developer": DEVELOPER, "c_site_user": SITE_USER, "c_reviewer": REVIEWER, "c_x": C_X, "c_data_manager": C_DATA}
ACCOUNTS = {"public": PUBLIC, "anonymous": ANONYMOUS, "alice@example.com": ALICE, "a.b@x.org": DOTTY}


class Resolver:
    """A PrincipalResolver over fixed tables."""

    def __init__(self, importing: bool = False) -> None:
        self.importing = importing

    def role(self, code: str, path: str) -> ObjectId:
        found = ROLES.get(code) or next((i for i in ROLES.values() if str(i) == code), None)
        if found is None:
            raise missing_principal("role", code, path, importing=self.importing)
        return found

    def service_account(self, name: str, path: str) -> ObjectId:
        if name in ("c_sys", str(SA)):
            return SA
        raise missing_principal("serviceAccount", name, path, importing=self.importing)

    def account(self, key: str, path: str) -> ObjectId:
        found = ACCOUNTS.get(key) or next((i for i in ACCOUNTS.values() if str(i) == key), None)
        if found is None and key == "c_sys":
            return SA
        if found is None:
            raise missing_principal("account", key, path, importing=self.importing)
        return found


class Names:
    def role_code(self, id: ObjectId) -> str | None:
        return next((code for code, i in ROLES.items() if i == id), None)

    def principal_key(self, id: ObjectId) -> str | None:
        if id == SA:
            return "c_sys"
        return next((key for key, i in ACCOUNTS.items() if i == id), None)


def parsed(value: Any, kind: str = "default", **kwargs: Any) -> list[dict[str, Any]]:
    importing = kwargs.pop("importing", False)
    entries = parse_acl(value, kind, Resolver(importing), path="acl", importing=importing, **kwargs)
    for entry in entries:
        assert isinstance(entry.pop("_id"), ObjectId)
    return entries


def one(value: Any, kind: str = "default") -> dict[str, Any]:
    entries = parsed([value], kind)
    assert len(entries) == 1
    return entries[0]


def child_of(fault: Fault) -> Fault:
    assert fault.errCode == "cortex.invalidArgument.validation" and len(fault.faults) == 1
    return fault.faults[0]


# ---- §1.8 worked examples and §6.3 shapes ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("owner.delete", "default", {"type": 4, "allow": 7}),
        ("role.administrator.delete", "default", {"type": 3, "target": ADMINISTRATOR, "allow": 7}),
        ("account.public", "create", {"type": 1, "target": PUBLIC, "allow": 1}),
        ("account.anonymous.read", "default", {"type": 1, "target": ANONYMOUS, "allow": 4}),
        ("role.administrator.c_site_user", "share", {"type": 3, "target": ADMINISTRATOR, "allow": SITE_USER}),
        ("access.share.update", "share", {"type": 5, "target": 5, "allow": 6}),
        ("owner.c_reviewer", "share", {"type": 4, "allow": REVIEWER}),
        ("role.c_x.read,c_a,c_b", "pacl", {"type": 3, "target": C_X, "allow": 4, "paths": ["c_a", "c_b"]}),
        ("expression.c_is_staff.read", "default", {"type": 6, "expression": "c_is_staff", "allow": 4}),
        # §6.3 shapes and checklist §7 item 5
        ("role.c_data_manager.min", "default", {"type": 3, "target": C_DATA, "allow": 1}),
        ("role.c_x", "default", {"type": 3, "target": C_X, "allow": 1}),
        ("account.public.connected", "default", {"type": 1, "target": PUBLIC, "allow": 2}),
        ("account.anonymous", "default", {"type": 1, "target": ANONYMOUS, "allow": 1}),
        ("role.administrator.c_reviewer", "default", {"type": 3, "target": ADMINISTRATOR, "allow": REVIEWER}),
        ("role.administrator", "create", {"type": 3, "target": ADMINISTRATOR, "allow": 1}),
        ("role.administrator.read", "create", {"type": 3, "target": ADMINISTRATOR, "allow": 1}),
        # quirks: a capitalised type word takes the level/role path, which happens to work here
        ("Role.administrator.read", "default", {"type": 3, "target": ADMINISTRATOR, "allow": 4}),
        ("owner.DELETE", "default", {"type": 4, "allow": 7}),
        ("owner.7", "default", {"type": 4, "allow": 7}),
        ("self.update", "default", {"type": 2, "allow": 6}),
        ("role.c_x.read.ignored", "default", {"type": 3, "target": C_X, "allow": 4}),
        ("role.c_x.read,c_a", "default", {"type": 3, "target": C_X, "allow": 4}),  # paths only for pacl
        ("expression.c_is_staff", "default", {"type": 6, "expression": "c_is_staff", "allow": None}),
        # our decisions (§2.4): service-account targets are account entries
        ("serviceAccount.c_sys.read", "default", {"type": 1, "target": SA, "allow": 4}),
        ("account.c_sys", "create", {"type": 1, "target": SA, "allow": 1}),
    ],
)
def test_shorthand(text: str, kind: str, expected: dict[str, Any]) -> None:
    assert one(text, kind) == expected


@pytest.mark.parametrize(
    ("entry", "kind", "expected"),
    [
        ({"type": "owner", "allow": "delete"}, "default", {"type": 4, "allow": 7}),
        ({"type": 4, "allow": 7}, "default", {"type": 4, "allow": 7}),
        ({"type": "role", "target": "administrator", "allow": "read"}, "default", {"type": 3, "target": ADMINISTRATOR, "allow": 4}),
        ({"type": 3, "target": "c_x", "allow": 4}, "default", {"type": 3, "target": C_X, "allow": 4}),
        ({"type": 3, "target": str(ADMINISTRATOR)}, "create", {"type": 3, "target": ADMINISTRATOR, "allow": 1}),
        ({"type": 1, "target": PUBLIC}, "create", {"type": 1, "target": PUBLIC, "allow": 1}),
        ({"type": "account", "target": "a.b@x.org", "allow": "read"}, "default", {"type": 1, "target": DOTTY, "allow": 4}),
        ({"type": 1, "target": "anonymous", "allow": "min"}, "default", {"type": 1, "target": ANONYMOUS, "allow": 1}),
        ({"type": "access", "target": "share", "allow": "update"}, "share", {"type": 5, "target": 5, "allow": 6}),
        ({"type": 5, "target": 7, "allow": 6}, "share", {"type": 5, "target": 7, "allow": 6}),
        ({"type": "owner", "allow": "c_reviewer"}, "share", {"type": 4, "allow": REVIEWER}),
        ({"type": 4, "allow": str(REVIEWER)}, "share", {"type": 4, "allow": REVIEWER}),
        ({"type": "serviceAccount", "target": "c_sys", "allow": 4}, "default", {"type": 1, "target": SA, "allow": 4}),
        ({"type": "expression", "expression": "c_is_staff"}, "default", {"type": 6, "expression": "c_is_staff", "allow": None}),
        ({"type": "role", "target": "c_x", "allow": "read", "paths": ["c_b", "c_a"]}, "pacl", {"type": 3, "target": C_X, "allow": 4, "paths": ["c_b", "c_a"]}),
    ],
)
def test_object_form(entry: dict[str, Any], kind: str, expected: dict[str, Any]) -> None:
    assert one(entry, kind) == expected


def test_stored_entries_parse_back_unchanged() -> None:
    stored = parse_acl(["owner.delete", "role.c_x.c_reviewer"], "default", Resolver(), path="defaultAcl")
    assert parse_acl(stored, "default", Resolver(), path="defaultAcl") == stored


def test_lone_values() -> None:
    assert parsed("owner.delete") == [{"type": 4, "allow": 7}]
    assert parsed({"type": "owner", "allow": "delete"}) == [{"type": 4, "allow": 7}]
    assert parsed("owner.delete", importing=True) == [{"type": 4, "allow": 7}]
    assert parsed({"type": "owner", "allow": "delete"}, importing=True) == []  # §1.1: only strings are wrapped on import
    assert parsed(None) == [] and parsed(None, importing=True) == []
    assert parsed(7, importing=True) == []
    with pytest.raises(Fault) as caught:
        parsed(7)
    assert child_of(caught.value).path == "acl"


def test_unknown_role_on_an_ordinary_write_is_a_validation_fault() -> None:
    with pytest.raises(Fault) as caught:
        parse_acl(["owner.delete", "role.c_nope.read"], "default", Resolver(), path="defaultAcl")
    child = child_of(caught.value)
    assert (child.errCode, child.path, child.reason) == ("cortex.invalidArgument.unspecified", "defaultAcl.1.target", "c_nope is not a valid org role.")


def test_unknown_role_on_import_is_a_missing_dependency() -> None:
    with pytest.raises(Fault) as caught:
        parse_acl(["role.c_nope.read"], "default", Resolver(importing=True), path="object.c_widget.defaultAcl", importing=True)
    fault = caught.value
    assert (fault.errCode, fault.code, fault.status) == ("cortex.notFound.unspecified", "kNotFound", 404)
    assert fault.reason == 'A role dependency "c_nope" is missing for object.c_widget.defaultAcl.0.target'
    assert fault.path == "object.c_widget.defaultAcl.0.target"


@pytest.mark.parametrize(
    ("importing", "kind", "text", "reason"),
    [
        (True, "serviceAccount", "serviceAccount.c_gone", 'A service account dependency "c_gone" is missing for acl.0.target'),
        (True, "account", {"type": "account", "target": "bob@example.com"}, 'An account dependency "bob@example.com" is missing for acl.0.target'),
        (False, "account", {"type": 1, "target": "bob@example.com"}, "bob@example.com is not a valid account."),
        (False, "account", "account.bob@example.com", "bob@example is not a valid account."),  # shorthand splits at the dot
    ],
)
def test_other_missing_principals(importing: bool, kind: str, text: Any, reason: str) -> None:
    with pytest.raises(Fault) as caught:
        parsed([text], importing=importing)
    fault = caught.value if importing else child_of(caught.value)
    assert fault.reason == reason


@pytest.mark.parametrize(
    ("value", "kind", "err_code", "path"),
    [
        ("owner.script", "default", "cortex.invalidArgument.allowLevel", "acl.0.allow"),
        ("owner.none", "default", "cortex.invalidArgument.allowLevel", "acl.0.allow"),
        ({"type": 4, "allow": 8}, "share", "cortex.invalidArgument.allowLevel", "acl.0.allow"),
        ("access.share.update", "default", "cortex.invalidArgument.unspecified", "acl.0.type"),
        ("owner", "create", "cortex.invalidArgument.unspecified", "acl.0.type"),
        ("expression.c_x.read", "share", "cortex.invalidArgument.unspecified", "acl.0.type"),
        ("serviceaccount.c_sys", "default", "cortex.invalidArgument.unspecified", "acl.0.type"),
        ("nope.read", "default", "cortex.invalidArgument.unspecified", "acl.0.type"),
        ("Role.administrator", "default", "cortex.invalidArgument.required", "acl.0.target"),  # the role lands in allow
        ("role", "create", "cortex.invalidArgument.required", "acl.0.target"),
        ("access.read.update", "share", "cortex.invalidArgument.unspecified", "acl.0.target"),
        ("owner.read.delete", "default", "cortex.invalidArgument.unspecified", "acl.0.target"),
        ({"type": 4, "allow": True}, "default", "cortex.invalidArgument.allowLevel", "acl.0.allow"),
        (3, "default", "cortex.invalidArgument.unspecified", "acl.0"),
    ],
)
def test_entry_faults(value: Any, kind: str, err_code: str, path: str) -> None:
    with pytest.raises(Fault) as caught:
        parsed([value], kind)
    child = child_of(caught.value)
    assert (child.errCode, child.path) == (err_code, path)


def test_entry_limits() -> None:
    assert len(parsed(["owner.read"] * 20)) == 20
    with pytest.raises(Fault) as caught:
        parsed(["owner.read"] * 21)
    assert child_of(caught.value).errCode == "cortex.invalidArgument.maxItems"
    assert len(parsed(["role.administrator"] * 50, "create", max_entries=50)) == 50


# ---- levels and names ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "level"), [("read", 4), ("Min", 1), ("public", 1), ("max", 9), ("system", 9), ("none", 0), (6, 6), (4.0, 4), ("", 5), (None, 5)])
def test_parse_level(value: Any, level: int) -> None:
    assert parse_level(value, "c_x.readAccess", default=5) == level


@pytest.mark.parametrize("value", ["often", True, 4.5, {}])
def test_parse_level_faults(value: Any) -> None:
    with pytest.raises(Fault) as caught:
        parse_level(value, "c_x.readAccess")
    assert child_of(caught.value).path == "c_x.readAccess"


def test_level_words_export_min_and_max() -> None:
    assert [level_word(n) for n in range(10)] == ["none", "min", "connected", "reserved", "read", "share", "update", "delete", "script", "max"]


@pytest.mark.parametrize(("value", "kwargs", "name"), [("foo", {}, "c_foo"), (" c_Foo ", {}, "c_Foo"), ("ab__x-y", {}, "ab__x-y"), ("Mixed", {"auto_prefix": False, "max_length": 256}, None)])
def test_custom_name(value: str, kwargs: dict[str, Any], name: str | None) -> None:
    if name is None:
        with pytest.raises(Fault) as caught:
            custom_name(value, "name", **kwargs)
        assert caught.value.errCode == "cortex.invalidArgument.customName" and caught.value.message == "Invalid custom/namespaced value."
    else:
        assert custom_name(value, "name", **kwargs) == name


@pytest.mark.parametrize(
    ("value", "err_code", "reason"),
    [
        ("a__b__c", "cortex.invalidArgument.unspecified", "a__b__c cannot contain more than 1 namespace separator"),
        ("__x", "cortex.invalidArgument.unspecified", "__x is missing a value before the namespace separator (__)"),
        ("x__", "cortex.invalidArgument.unspecified", "x__ is missing a value after the namespace separator (__)"),
        ("c_has space", "cortex.invalidArgument.customName", None),
        ("c_" + "x" * 39, "cortex.invalidArgument.customName", None),
        (7, "cortex.invalidArgument.customName", None),
    ],
)
def test_custom_name_faults(value: Any, err_code: str, reason: str | None) -> None:
    with pytest.raises(Fault) as caught:
        custom_name(value, "role.code")
    assert (caught.value.errCode, caught.value.reason, caught.value.path) == (err_code, reason, "role.code")


def test_builtin_resolver() -> None:
    assert parse_acl(["role.Administrator", "account.public", {"type": 1, "target": str(ALICE)}], "create", BuiltinResolver(), path="acl")[0]["target"] == ADMINISTRATOR
    with pytest.raises(Fault):
        parse_acl(["role.c_custom"], "create", BuiltinResolver(), path="acl")


# ---- export ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "exported"),
    [
        ("default", ["role.c_x.public", "owner.delete", "account.anonymous.read", "account.public", "role.administrator.delete"],
         ["account.anonymous.read", "account.public.min", "owner.delete", "role.administrator.delete", "role.c_x.min"]),
        ("create", ["role.administrator.read", "account.public", "account.anonymous.update"], ["account.anonymous", "account.public", "role.administrator"]),
        ("share", ["role.administrator.c_site_user", "owner.c_reviewer", "access.share.update", "account.c_sys.max".replace(".max", ".read")],
         ["access.share.update", "account.c_sys.read", "owner.c_reviewer", "role.administrator.c_site_user"]),
        ("pacl", ["role.c_x.read,c_b,c_a"], ["role.c_x.read,c_a,c_b"]),
        ("default", ["expression.c_is_staff", "expression.c_a.update"], ["expression.c_a.update", "expression.c_is_staff"]),
        ("default", [{"type": "account", "target": "a.b@x.org", "allow": "read"}, "role.c_data_manager.min"],
         [{"type": "account", "target": "a.b@x.org", "allow": "read"}, "role.c_data_manager.min"]),
        ("pacl", [{"type": "role", "target": "c_x", "allow": 4, "paths": ["c_a,b"]}], [{"type": "role", "target": "c_x", "allow": "read", "paths": ["c_a,b"]}]),
    ],
)
def test_format_round_trip(kind: str, given: list[Any], exported: list[Any]) -> None:
    entries = parse_acl(given, kind, Resolver(), path="acl")
    assert format_acl(entries, kind, Names()) == exported
    again = parse_acl(exported, kind, Resolver(), path="acl")
    assert format_acl(again, kind, Names()) == exported


def test_format_never_writes_ids_it_can_name() -> None:
    assert format_acl([{"type": 3, "target": str(C_X), "allow": 6}], "default", Names()) == ["role.c_x.update"]


# ---- through the object layer ------------------------------------------------------------

WIDGET = """
return org.objects.objects.insertOne({label: 'Widget', name: 'c_widget', defaultAcl: 'owner.delete', createAcl: 'account.public',
  properties: [{name: 'c_a', label: 'A', type: 'String', acl: ['role.administrator.read'], readAccess: 'read', writeAccess: 'delete'}]
}).lean(false).execute()
"""


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.sandbox.prepare()
    return rt


def test_shorthand_in_a_script_definition(runtime: Runtime) -> None:
    org, admin = runtime.orgs.create("notation")
    result = runtime.run(WIDGET, org=org, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    stored = runtime.store.contexts.find_one({"org": org._id, "object": "object", "name": "c_widget"})
    assert [{k: v for k, v in e.items() if k != "_id"} for e in stored["defaultAcl"]] == [{"type": 4, "allow": 7}]
    assert [{k: v for k, v in e.items() if k != "_id"} for e in stored["createAcl"]] == [{"type": 1, "target": PUBLIC, "allow": 1}]
    prop = stored["properties"][0]
    assert (prop["readAccess"], prop["writeAccess"]) == (4, 7)
    assert [{k: v for k, v in e.items() if k != "_id"} for e in prop["acl"]] == [{"type": 3, "target": ADMINISTRATOR, "allow": 4}]
    # The definition works: any account may create, the owner deletes.
    member = runtime.orgs.provision(org, email="member@example.com")
    created = runtime.run("return org.objects.c_widgets.insertOne({c_a: 'x'}).lean(false).execute()", org=org, principal=member)
    assert created.ok and created.value["access"] == 7, created.fault
    # Updating an unrelated field keeps the parsed ACLs valid.
    again = runtime.run("return org.objects.objects.updateOne({name: 'c_widget'}, {$set: {label: 'Widgets'}}).execute()", org=org, principal=admin)
    assert again.ok, again.fault and again.fault.to_json()


def test_unknown_role_in_a_script_definition(runtime: Runtime) -> None:
    org, admin = runtime.orgs.create("notation-bad")
    result = runtime.run(WIDGET.replace("role.administrator.read", "role.c_nope.read"), org=org, principal=admin)
    fault = result.fault
    assert fault is not None and fault.errCode == "cortex.invalidArgument.validation"
    assert [(f.errCode, f.path) for f in fault.faults] == [("cortex.invalidArgument.unspecified", "c_a.acl.0.target")]


def test_level_words_and_nested_acls(runtime: Runtime) -> None:
    org, admin = runtime.orgs.create("notation-nested")
    source = """
    return org.objects.objects.insertOne({label: 'Box', name: 'c_box', defaultAcl: ['owner.delete'], createAcl: ['role.administrator'],
      shareChain: ['share', 'read', 'connected'], shareAcl: ['access.share.update'],
      properties: [
        {name: 'c_doc', label: 'Doc', type: 'Document', properties: [{name: 'c_in', label: 'In', type: 'String', acl: 'account.public.read', readAccess: 'min'}]},
        {name: 'c_ref', label: 'Ref', type: 'Reference', sourceObject: 'account', referenceAccess: 'none', grant: 'read',
         defaultAcl: ['owner.read'], pacl: ['role.administrator.read,name,email']},
        {name: 'c_list', label: 'List', type: 'List', sourceObject: 'c_box', grant: 'min', createAcl: ['account.public'], defaultAcl: ['owner.read']}
      ]}).execute()
    """
    result = runtime.run(source, org=org, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    stored = runtime.store.contexts.find_one({"org": org._id, "object": "object", "name": "c_box"})
    assert stored["shareChain"] == [5, 4, 2]
    assert [(e["type"], e["target"], e["allow"]) for e in stored["shareAcl"]] == [(5, 5, 6)]
    doc, ref, listed = stored["properties"]
    inner = doc["properties"][0]
    assert inner["readAccess"] == 1 and [(e["type"], e["target"], e["allow"]) for e in inner["acl"]] == [(1, PUBLIC, 4)]
    assert (ref["referenceAccess"], ref["grant"]) == (0, 4)
    assert [(e["type"], e["target"], e["allow"], e["paths"]) for e in ref["pacl"]] == [(3, ADMINISTRATOR, 4, ["name", "email"])]
    assert [(e["type"], e["allow"]) for e in ref["defaultAcl"]] == [(4, 4)]
    assert listed["grant"] == 1 and [(e["type"], e["target"], e["allow"]) for e in listed["createAcl"]] == [(1, PUBLIC, 1)]
    bad = runtime.run("return org.objects.objects.insertOne({label: 'B', name: 'c_bad', shareChain: ['share', 'often']}).execute()", org=org, principal=admin)
    assert bad.fault is not None and [f.path for f in bad.fault.faults] == ["shareChain"]


def test_shorthand_over_rest() -> None:
    from starlette.testclient import TestClient

    from cortex_runtime.server.app import create_app
    from cortex_runtime.server.auth import App, Authenticator

    from ..server.test_runner import KEY, SECRET, signed

    runtime = Runtime()
    org, admin = runtime.orgs.create("notation-rest")
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    body = {
        "label": "Widget", "name": "c_widget", "defaultAcl": "owner.delete", "createAcl": "account.public",
        "properties": [{"name": "c_a", "label": "A", "type": "String", "acl": ["role.administrator.read"], "readAccess": "read"}],
    }
    response = client.request("POST", "/notation-rest/v2/objects", headers=signed("/objects", "POST"), content=json.dumps(body))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["name"] == "c_widget"
    assert [(e["type"], e["allow"]) for e in data["defaultAcl"]] == [(4, 7)]
    assert [(e["type"], e["target"], e["allow"]) for e in data["createAcl"]] == [(1, str(PUBLIC), 1)]
    assert data["properties"][0]["readAccess"] == 4
    assert [(e["type"], e["target"], e["allow"]) for e in data["properties"][0]["acl"]] == [(3, str(ADMINISTRATOR), 4)]
    bad = client.request("POST", "/notation-rest/v2/objects", headers=signed("/objects", "POST"), content=json.dumps({**body, "name": "c_other", "defaultAcl": "role.c_nope.read"}))
    assert bad.status_code == 400 and bad.json()["faults"][0]["path"] == "defaultAcl.0.target"
