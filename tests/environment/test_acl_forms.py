"""Every ACL shorthand form of environments.md §1.8 / §6.3 gives the spec's entry, written the
three ways a definition arrives: a script's insertOne, REST, and an environment import."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bson import ObjectId
from starlette.testclient import TestClient

from cortex_runtime.environment.importer import import_environment
from cortex_runtime.objects.principals import ADMINISTRATOR, ANONYMOUS, PUBLIC
from cortex_runtime.objects.roles import OrgPrincipals
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator
from tests.server.test_runner import KEY, SECRET, signed

# (shorthand, where it is written, expected entry); role codes name the org's custom roles.
FORMS = [
    ("owner.delete", "defaultAcl", {"type": 4, "allow": 7}),
    ("role.administrator.delete", "defaultAcl", {"type": 3, "target": ADMINISTRATOR, "allow": 7}),
    ("account.public", "createAcl", {"type": 1, "target": PUBLIC, "allow": 1}),
    ("account.anonymous.read", "acl", {"type": 1, "target": ANONYMOUS, "allow": 4}),
    ("role.administrator.c_site_user", "shareAcl", {"type": 3, "target": ADMINISTRATOR, "allow": "c_site_user"}),
    ("access.share.update", "shareAcl", {"type": 5, "target": 5, "allow": 6}),
    ("owner.c_reviewer", "shareAcl", {"type": 4, "allow": "c_reviewer"}),
    ("role.c_x.read,c_a,c_b", "pacl", {"type": 3, "target": "c_x", "allow": 4, "paths": ["c_a", "c_b"]}),
    ("expression.c_is_staff.read", "defaultAcl", {"type": 6, "expression": "c_is_staff", "allow": 4}),
    ("role.c_x.min", "defaultAcl", {"type": 3, "target": "c_x", "allow": 1}),
    ("role.c_x", "defaultAcl", {"type": 3, "target": "c_x", "allow": 1}),
    ("account.public.connected", "defaultAcl", {"type": 1, "target": PUBLIC, "allow": 2}),
    ("account.anonymous", "acl", {"type": 1, "target": ANONYMOUS, "allow": 1}),
    ("role.administrator", "createAcl", {"type": 3, "target": ADMINISTRATOR, "allow": 1}),
    ("role.administrator.read", "createAcl", {"type": 3, "target": ADMINISTRATOR, "allow": 1}),
]
WAYS = ("script", "rest", "import")


class Org:
    def __init__(self) -> None:
        self.runtime = Runtime()
        self.org, self.admin = self.runtime.orgs.create("aclforms")
        principals = OrgPrincipals(self.runtime.store, self.org._id)
        self.roles = {code: principals.create_role({"code": code, "name": code})["_id"] for code in ("c_site_user", "c_reviewer", "c_x")}
        auth = Authenticator(self.runtime.store)
        auth.add_app(self.org, App(name="tests", key=KEY, secret=SECRET, principal_id=self.admin._id))
        self.client = TestClient(create_app(self.runtime, auth), raise_server_exceptions=False)

    def expected(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {k: self.roles.get(v, v) if isinstance(v, str) and k in ("target", "allow") else v for k, v in entry.items()}

    def write(self, way: str, definition: dict[str, Any]) -> Any:
        if way == "script":
            result = self.runtime.run(f"return org.objects.objects.insertOne({json.dumps(definition)}).execute()", org=self.org, principal=self.admin)
            return result.fault
        if way == "rest":
            response = self.client.post("/aclforms/v2/objects", json=definition, headers=signed("/objects", "POST"))
            return None if response.status_code == 200 else response.json()
        report = import_environment(self.runtime, self.org, self.admin, [{"object": "manifest"}, {"object": "object", **definition}])
        return report.fault

    def stored(self, name: str) -> dict[str, Any]:
        doc = self.runtime.store.contexts.find_one({"org": self.org._id, "object": "object", "name": name})
        assert doc is not None, name
        return doc


@pytest.fixture(scope="module")
def org() -> Org:
    return Org()


def _definition(name: str, text: str, where: str) -> dict[str, Any]:
    definition: dict[str, Any] = {"name": name, "label": name, "defaultAcl": ["owner.delete"], "createAcl": ["account.public"]}
    if where in ("defaultAcl", "createAcl", "shareAcl"):
        definition[where] = [text]
        definition["properties"] = []
    elif where == "acl":
        definition["properties"] = [{"name": "c_a", "label": "A", "type": "String", "acl": [text]}]
    else:  # a Reference's pacl
        definition["properties"] = [{"name": "c_ref", "label": "Ref", "type": "Reference", "sourceObject": "account", "pacl": [text]}]
    return definition


def _entry(stored: dict[str, Any], where: str) -> dict[str, Any]:
    if where in ("defaultAcl", "createAcl", "shareAcl"):
        entries = stored[where]
    else:
        entries = stored["properties"][0][where]
    assert len(entries) == 1, entries
    return {k: v for k, v in entries[0].items() if k != "_id"}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("text", "where", "expected"), FORMS, ids=[f"{t} in {w}" for t, w, _ in FORMS])
def test_shorthand_resolves_to_the_spec_entry(org: Org, way: str, text: str, where: str, expected: dict[str, Any]) -> None:
    name = f"c_form{FORMS.index((text, where, expected))}_{way}"
    fault = org.write(way, _definition(name, text, where))
    assert fault is None, fault if isinstance(fault, dict) else fault.to_json()
    assert _entry(org.stored(name), where) == org.expected(expected)


@pytest.mark.parametrize("way", WAYS)
def test_an_unknown_role_gets_the_platform_fault(org: Org, way: str) -> None:
    fault = org.write(way, _definition(f"c_unknown_{way}", "role.c_nobody.read", "defaultAcl"))
    if way == "import":  # environments.md §1.6: the import resolver's fault
        assert fault.errCode == "cortex.notFound.unspecified"
        assert fault.reason.startswith('A role dependency "c_nobody" is missing for object.c_unknown_import.defaultAcl.0')
        return
    body = fault if isinstance(fault, dict) else fault.to_json()
    assert body["errCode"] == "cortex.invalidArgument.validation", body
    assert body["faults"][0]["reason"] == "c_nobody is not a valid org role.", body
    assert org.runtime.store.contexts.find_one({"org": org.org._id, "name": f"c_unknown_{way}"}) is None


def test_the_roles_used_are_the_orgs_own(org: Org) -> None:
    assert all(isinstance(role, ObjectId) for role in org.roles.values())
