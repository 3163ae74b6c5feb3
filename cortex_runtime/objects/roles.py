"""An org's custom roles and service accounts (environments.md §1.7, §3.2, §4.4, §4.5).

Both live on the org's document in ``orgs`` (next to ``apps``)::

    roles:           [{_id, code, name, include: [ObjectId], scope: [str]}]
    serviceAccounts: [{_id, name, label, locked, roles: [ObjectId]}]

The built-in roles (``administrator``, ``provider``, ``support``, ``developer``) are not stored:
their ids and includes are fixed. Every change bumps the org's ``principalsVersion`` so that
caches of principals and route tables can notice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from ..accounts.scopes import compile_scope, scope_strings
from ..faults import Fault
from .acl_notation import custom_name, invalid, missing_principal
from .principals import ANONYMOUS, BUILTIN_ROLES, PUBLIC, ROLE_INCLUDES, SYSTEM, Principal, role_graph
from .store import Store, map_store_errors

__all__ = ["MAX_SERVICE_ACCOUNTS", "OrgNames", "OrgPrincipals", "OrgResolver", "OrgRolesHook", "service_account_email"]

MAX_SERVICE_ACCOUNTS = 100
_HEX = re.compile(r"^[0-9a-fA-F]{24}$")
_BUILTIN_NAMES = {"administrator": "Administrator", "provider": "Provider", "support": "Support", "developer": "Developer"}
_SA_DOMAIN = "-iam.serviceaccount.medable.com"


def service_account_email(name: str, org_code: str) -> str:
    """The address a service account acts under (src: access-principal.js)."""
    return f"{name}@{org_code}{_SA_DOMAIN}"


def _as_id(value: Any) -> ObjectId | None:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and _HEX.match(value):
        return ObjectId(value)
    return None


def _wrapped(fault: Fault) -> Fault:
    return Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[fault])


def _text(value: Any, path: str, max_length: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= max_length:
        raise invalid("cortex.invalidArgument.unspecified", path, f"Expected a string of 1 to {max_length} characters.")
    return value.strip()


def _scope(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise invalid("cortex.invalidArgument.unspecified", path, "scope must be an array of scope strings.")
    # Validated as auth scopes and optimised (fidelity.md §7): a bad entry is
    # cortex.invalidArgument.authScope with the entry as path; chains under a leaf drop out.
    return scope_strings(compile_scope(value))


class OrgPrincipals:
    """The custom roles and service accounts of one org. Reads the org document once per
    instance (writes re-read), so build one per request or operation."""

    def __init__(self, store: Store, org_id: ObjectId) -> None:
        self._store = store
        self._org = org_id
        self._doc: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._doc is None:
            with map_store_errors():
                found = self._store.orgs.find_one({"_id": self._org}, {"code": 1, "roles": 1, "serviceAccounts": 1, "principalsVersion": 1})
            self._doc = dict(found or {})
        return self._doc

    def _save(self, changes: Mapping[str, Any]) -> None:
        with map_store_errors():
            self._store.orgs.update_one({"_id": self._org}, {"$set": dict(changes), "$inc": {"principalsVersion": 1}})
            # The org instance scripts read and write (org.roles, org.serviceAccounts) mirrors them;
            # an empty list is left unset there, as on an org that never had any.
            sets = {k: v for k, v in changes.items() if v}
            unsets = {k: "" for k, v in changes.items() if not v}
            mirror: dict[str, Any] = {}
            if sets:
                mirror["$set"] = sets
            if unsets:
                mirror["$unset"] = unsets
            if mirror:
                self._store.contexts.update_one({"_id": self._org, "org": self._org, "object": "org"}, mirror)
        self._doc = None

    def version(self) -> int:
        """The org's ``principalsVersion``: bumped on every role or service-account change."""
        return int(self._load().get("principalsVersion") or 0)

    # ---- roles ------------------------------------------------------------------

    def _custom_roles(self) -> list[dict[str, Any]]:
        return [dict(role) for role in self._load().get("roles") or []]

    def roles(self) -> list[dict[str, Any]]:
        """Built-in roles first, then the org's own."""
        builtin = [
            {"_id": role_id, "code": code, "name": _BUILTIN_NAMES[code], "include": list(ROLE_INCLUDES.get(role_id, ())), "scope": [], "builtin": True}
            for code, role_id in BUILTIN_ROLES.items()
        ]
        return builtin + self._custom_roles()

    def role(self, code_or_id: Any) -> dict[str, Any] | None:
        """A role by code (built-in codes in any case) or id; None when the org has none such."""
        role_id = _as_id(code_or_id)
        for role in self.roles():
            if role_id is not None and role["_id"] == role_id:
                return role
            if role_id is None and isinstance(code_or_id, str):
                # Roles written through the org instance may have no code.
                if role.get("code") == code_or_id or (role.get("builtin") and role["code"] == code_or_id.lower()):
                    return role
        return None

    def _custom_role(self, code: Any) -> dict[str, Any]:
        found = self.role(code)
        if found is None:
            raise Fault("cortex.notFound.role", reason=f"Role {code} does not exist.", path="role.code")
        return found

    def _include(self, value: Any, own: tuple[ObjectId, str]) -> list[ObjectId]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid("cortex.invalidArgument.unspecified", "role.include", "include must be an array of role codes.")
        out: list[ObjectId] = []
        for item in value:
            if (isinstance(item, str) and item.lower() in BUILTIN_ROLES) or _as_id(item) in BUILTIN_ROLES.values():
                raise Fault("cortex.invalidArgument.unspecified", reason="Built-in roles cannot be included in other roles.", path="role.include")
            if _as_id(item) == own[0] or item == own[1]:
                raise Fault("cortex.invalidArgument.unspecified", reason="A role cannot include itself.", path="role.include")
            found = self.role(item)
            if found is None:
                raise Fault("cortex.notFound.role", reason="An included role does not exist.", path="role.include")
            if found["_id"] not in out:
                out.append(found["_id"])
        return out

    def _code(self, value: Any, current: ObjectId | None = None) -> str:
        try:
            code = custom_name(value, "role.code")
        except Fault as fault:
            raise _wrapped(fault) from None
        clash = self.role(code)
        if clash is not None and clash["_id"] != current:
            raise Fault("cortex.conflict.exists", reason=f"A role with code {code} exists.", path="role.code")
        return code

    def create_role(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A new custom role ``{code, name?, include?, scope?}``; ``include`` holds codes or ids."""
        if not isinstance(doc, Mapping):
            raise Fault("cortex.invalidArgument.unspecified", reason="A role must be an object.", path="role")
        # An import gives the id it planned for the role; otherwise a new one.
        role_id = _as_id(doc.get("_id")) or ObjectId()
        code = self._code(doc.get("code"))
        role = {
            "_id": role_id,
            "code": code,
            "name": _text(doc.get("name", code), "role.name", 100),
            "include": self._include(doc.get("include"), (role_id, code)),
            "scope": _scope(doc.get("scope"), "role.scope"),
        }
        self._save({"roles": self._custom_roles() + [role]})
        return role

    def update_role(self, code: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a custom role's ``code``, ``name``, ``include`` or ``scope``; built-ins are fixed."""
        role = self._custom_role(code)
        if role.get("builtin"):
            for key, word in (("name", "names"), ("code", "codes"), ("scope", "scopes"), ("include", "includes")):
                if key in changes:
                    raise Fault("cortex.invalidArgument.unspecified", reason=f"Built-in role {word} cannot be updated.", path=f"role.{key}")
            return role
        updated = {k: v for k, v in role.items()}
        if "code" in changes:
            updated["code"] = self._code(changes["code"], role["_id"])
        if "name" in changes:
            updated["name"] = _text(changes["name"], "role.name", 100)
        if "scope" in changes:
            updated["scope"] = _scope(changes["scope"], "role.scope")
        if "include" in changes:
            updated["include"] = self._include(changes["include"], (role["_id"], updated["code"]))
        self._save({"roles": [updated if r["_id"] == role["_id"] else r for r in self._custom_roles()]})
        return updated

    def delete_role(self, code: Any) -> None:
        """Remove a custom role, and drop it from other roles' includes and service accounts."""
        role = self._custom_role(code)
        if role.get("builtin"):
            raise Fault("cortex.invalidArgument.unspecified", reason="Built-in roles cannot be deleted.", path="role.code")
        gone = role["_id"]
        roles = [{**r, "include": [i for i in r.get("include") or [] if i != gone]} for r in self._custom_roles() if r["_id"] != gone]
        accounts = [{**sa, "roles": [i for i in sa.get("roles") or [] if i != gone]} for sa in self._service_accounts()]
        self._save({"roles": roles, "serviceAccounts": accounts})

    def role_includes(self) -> dict[ObjectId, tuple[ObjectId, ...]]:
        """Built-in includes plus the custom roles' (for ``Principal.includes``)."""
        out = dict(ROLE_INCLUDES)
        for role in self._custom_roles():
            if role.get("include"):
                out[role["_id"]] = tuple(role["include"])
        return out

    # ---- service accounts -----------------------------------------------------------

    def _service_accounts(self) -> list[dict[str, Any]]:
        return [dict(sa) for sa in self._load().get("serviceAccounts") or []]

    def service_accounts(self) -> list[dict[str, Any]]:
        return self._service_accounts()

    def service_account(self, name_or_id: Any) -> dict[str, Any] | None:
        """A service account by name or id (or its ``…-iam.serviceaccount.medable.com`` email)."""
        sa_id = _as_id(name_or_id)
        name = name_or_id.split("@")[0] if isinstance(name_or_id, str) and name_or_id.endswith(_SA_DOMAIN) else name_or_id
        for sa in self._service_accounts():
            if (sa_id is not None and sa["_id"] == sa_id) or (sa_id is None and sa.get("name") == name):
                return sa
        return None

    def _role_ids(self, value: Any, path: str) -> list[ObjectId]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid("cortex.invalidArgument.unspecified", path, "roles must be an array of role codes.")
        out: list[ObjectId] = []
        for item in value:
            found = self.role(item)
            if found is None:
                raise Fault("cortex.notFound.role", reason=f"Role {item} does not exist.", path=path)
            if found["_id"] not in out:
                out.append(found["_id"])
        return out

    def _sa_name(self, value: Any, current: ObjectId | None = None) -> str:
        try:
            name = custom_name(value, "serviceAccount.name")
        except Fault as fault:
            raise _wrapped(fault) from None
        clash = self.service_account(name)
        if clash is not None and clash["_id"] != current:
            raise Fault("cortex.conflict.exists", reason=f"A service account named {name} exists.", path="serviceAccount.name")
        return name

    def create_service_account(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A new service account ``{name, label?, locked?, roles?}``; ``roles`` holds codes or ids."""
        if not isinstance(doc, Mapping):
            raise Fault("cortex.invalidArgument.unspecified", reason="A service account must be an object.", path="serviceAccount")
        existing = self._service_accounts()
        if len(existing) >= MAX_SERVICE_ACCOUNTS:
            raise Fault("cortex.invalidArgument.maxAllowed", reason=f"An org can have at most {MAX_SERVICE_ACCOUNTS} service accounts.", path="serviceAccounts")
        name = self._sa_name(doc.get("name"))
        locked = doc.get("locked", False)
        if not isinstance(locked, bool):
            raise invalid("cortex.invalidArgument.castError", "serviceAccount.locked", "locked must be a boolean.")
        sa = {
            "_id": _as_id(doc.get("_id")) or ObjectId(),
            "name": name,
            "label": _text(doc.get("label", name), "serviceAccount.label", 255),
            "locked": locked,
            "roles": self._role_ids(doc.get("roles"), "serviceAccount.roles"),
        }
        self._save({"serviceAccounts": existing + [sa]})
        return sa

    def update_service_account(self, name: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a service account's ``name``, ``label``, ``locked`` or ``roles``."""
        sa = self.service_account(name)
        if sa is None:
            raise Fault("cortex.notFound.serviceAccount", reason=f"Service account {name} does not exist.", path="serviceAccount.name")
        updated = dict(sa)
        if "name" in changes:
            updated["name"] = self._sa_name(changes["name"], sa["_id"])
        if "label" in changes:
            updated["label"] = _text(changes["label"], "serviceAccount.label", 255)
        if "locked" in changes:
            if not isinstance(changes["locked"], bool):
                raise invalid("cortex.invalidArgument.castError", "serviceAccount.locked", "locked must be a boolean.")
            updated["locked"] = changes["locked"]
        if "roles" in changes:
            updated["roles"] = self._role_ids(changes["roles"], "serviceAccount.roles")
        self._save({"serviceAccounts": [updated if s["_id"] == sa["_id"] else s for s in self._service_accounts()]})
        return updated

    def delete_service_account(self, name: Any) -> None:
        sa = self.service_account(name)
        if sa is None:
            raise Fault("cortex.notFound.serviceAccount", reason=f"Service account {name} does not exist.", path="serviceAccount.name")
        self._save({"serviceAccounts": [s for s in self._service_accounts() if s["_id"] != sa["_id"]]})

    # ---- principals -------------------------------------------------------------------

    def graph(self) -> tuple[tuple[ObjectId, tuple[ObjectId, ...]], ...]:
        """The include graph as ``Principal.includes`` holds it."""
        return role_graph(self.role_includes())

    def principal_for_service_account(self, name_or_id: Any) -> Principal:
        """The principal a service account acts as: its id, roles and ``…-iam`` email."""
        sa = self.service_account(name_or_id)
        if sa is None:
            raise Fault("cortex.notFound.serviceAccount", reason=f"Service account {name_or_id} does not exist.", path="principal")
        return Principal(
            _id=sa["_id"],
            org=self._org,
            email=service_account_email(sa["name"], str(self._load().get("code") or "")),
            roles=tuple(sa.get("roles") or ()),
            name={"first": str(sa.get("label") or sa["name"])},
            includes=self.graph(),
        )

    def resolver(self, importing: bool = False) -> OrgResolver:
        """Resolves ACL principal keys against this org (§1.6): ``importing`` picks the faults."""
        return OrgResolver(self, importing=importing)

    def names(self) -> OrgNames:
        """Keys for ids, for exporting ACLs (``format_acl``)."""
        return OrgNames(self)

    # ---- accounts (store lookups the resolver and names need) ---------------------------

    def _account(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        with map_store_errors():
            found = self._store.contexts.find_one({"org": self._org, "object": "account", **query}, {"_id": 1, "email": 1})
        return dict(found) if found else None


class OrgResolver:
    """:class:`PrincipalResolver` over one org's roles, service accounts and accounts."""

    def __init__(self, principals: OrgPrincipals, *, importing: bool = False) -> None:
        self.principals = principals
        self.importing = importing

    def role(self, code: str, path: str) -> ObjectId:
        found = self.principals.role(code)
        if found is None:
            raise missing_principal("role", code, path, importing=self.importing)
        return ObjectId(found["_id"])

    def service_account(self, name: str, path: str) -> ObjectId:
        found = self.principals.service_account(name)
        if found is None:
            raise missing_principal("serviceAccount", name, path, importing=self.importing)
        return ObjectId(found["_id"])

    def account(self, key: str, path: str) -> ObjectId:
        text = str(key).strip()
        if text.lower() in ("public", "anonymous"):
            return PUBLIC if text.lower() == "public" else ANONYMOUS
        account_id = _as_id(text)
        if account_id is not None:
            if account_id in (ANONYMOUS, PUBLIC, SYSTEM) or self.principals._account({"_id": account_id}):
                return account_id
        elif "@" in text and not text.endswith(_SA_DOMAIN):
            found = self.principals._account({"email": text.lower()})
            if found:
                return ObjectId(found["_id"])
        # §2.4: an account entry may name a service account (by id, name or email).
        sa = self.principals.service_account(text)
        if sa is not None:
            return ObjectId(sa["_id"])
        raise missing_principal("account", text, path, importing=self.importing)


class OrgNames:
    """``AclNames`` for one org."""

    def __init__(self, principals: OrgPrincipals) -> None:
        self._principals = principals
        self._emails: dict[ObjectId, str | None] = {}

    def role_code(self, id: ObjectId) -> str | None:
        found = self._principals.role(id)
        return str(found["code"]) if found and found.get("code") else None

    def principal_key(self, id: ObjectId) -> str | None:
        if id == PUBLIC:
            return "public"
        if id == ANONYMOUS:
            return "anonymous"
        sa = self._principals.service_account(id)
        if sa is not None:
            return str(sa["name"])
        if id not in self._emails:
            found = self._principals._account({"_id": id})
            self._emails[id] = found.get("email") if found else None
        return self._emails[id]

    def prefixed_key(self, id: ObjectId) -> str | None:
        """A principal as scripts, apps and views name it: ``serviceAccount.<name>``,
        ``account.<email|public|anonymous>`` or ``role.<code>``."""
        role = self.role_code(id)
        if role is not None:
            return f"role.{role}"
        if self._principals.service_account(id) is not None:
            return f"serviceAccount.{self.principal_key(id)}"
        key = self.principal_key(id)
        return f"account.{key}" if key is not None else None


# ---- writes through the org instance -------------------------------------------------

_BUILTIN_MODIFIED = "Built-in Roles cannot be modified."


def _element_fault(err_code: str, path: str, reason: str) -> Fault:
    return _wrapped(Fault(err_code, reason=reason, path=path))


def _prefixed_code(code: str) -> str:
    """A role code as the custom-name formatter writes it (``c_`` added unless namespaced)."""
    text = code.strip()
    return text if text.startswith("c_") or "__" in text else f"c_{text}"


def _checked_roles(principals: OrgPrincipals, value: Any) -> list[dict[str, Any]]:
    """The org's ``roles`` array after a write through the org instance (fidelity.md §7):
    codes ``c_``-prefixed and unique, names required (1 to 100 characters) and unique, scopes
    sorted, includes existing custom roles. Built-in roles cannot be pushed or pulled, and a
    role removed by this write is pulled from every other role's ``include``."""
    items = value if isinstance(value, list) else []
    before = {role["_id"] for role in principals._custom_roles()}
    out: list[dict[str, Any]] = []
    codes: set[str] = set()
    names: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            raise _element_fault("cortex.invalidArgument.unspecified", "org.roles", "A role must be an object.")
        role_id = _as_id(item.get("_id")) or ObjectId()
        code_value = item.get("code")
        if role_id in BUILTIN_ROLES.values() or (isinstance(code_value, str) and code_value.strip().lower() in BUILTIN_ROLES):
            raise Fault("cortex.accessDenied.unspecified", reason=_BUILTIN_MODIFIED, path="org.roles")
        role: dict[str, Any] = {"_id": role_id}
        if code_value not in (None, ""):
            try:
                code = custom_name(code_value, "org.roles[].code")
            except Fault as fault:
                raise _wrapped(fault) from None
            if code in codes:
                raise Fault("cortex.conflict.exists", reason=f"A role with code {code} exists.", path="org.roles[].code")
            codes.add(code)
            role["code"] = code
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _element_fault("cortex.invalidArgument.required", "org.roles[].name", "Required property.")
        name = _text(name, "org.roles[].name", 100)
        if name in names:
            raise Fault("cortex.conflict.exists", reason=f"A role named {name} exists.", path="org.roles[].name")
        names.add(name)
        role["name"] = name
        role["scope"] = _scope(item.get("scope"), "org.roles[].scope")
        role["include"] = list(item.get("include") or [])
        out.append(role)
    kept = {role["_id"] for role in out}
    removed = before - kept
    for role in out:
        include: list[ObjectId] = []
        for entry in role["include"]:
            entry_id = _as_id(entry) if not isinstance(entry, str) or _HEX.match(entry) else next((r["_id"] for r in out if r.get("code") in (entry, _prefixed_code(entry))), None)
            if entry_id in removed:
                continue
            if entry_id in BUILTIN_ROLES.values():
                raise _element_fault("cortex.invalidArgument.unspecified", "org.roles[].include", "Built-in roles cannot be included in other roles.")
            if entry_id == role["_id"]:
                raise _element_fault("cortex.invalidArgument.unspecified", "org.roles[].include", "A role cannot be included in itself.")
            if entry_id is None or entry_id not in kept:
                raise Fault("cortex.notFound.role", reason="An included role does not exist.", path="org.roles[].include")
            if entry_id not in include:
                include.append(entry_id)
        role["include"] = include
    return out


def _checked_service_accounts(principals: OrgPrincipals, value: Any, role_ids: set[ObjectId]) -> list[dict[str, Any]]:
    """The org's ``serviceAccounts`` after a write through the org instance (fidelity.md §7)."""
    items = value if isinstance(value, list) else []
    if len(items) > MAX_SERVICE_ACCOUNTS:
        raise _element_fault("cortex.invalidArgument.maxItems", "org.serviceAccounts", f"At most {MAX_SERVICE_ACCOUNTS} service accounts.")
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            raise _element_fault("cortex.invalidArgument.unspecified", "org.serviceAccounts", "A service account must be an object.")
        try:
            name = custom_name(item.get("name"), "org.serviceAccounts[].name")
        except Fault as fault:
            raise _wrapped(fault) from None
        if name in names:
            raise Fault("cortex.conflict.exists", reason=f"A service account named {name} exists.", path="org.serviceAccounts[].name")
        names.add(name)
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            raise _element_fault("cortex.invalidArgument.required", "org.serviceAccounts[].label", "Required property.")
        roles: list[ObjectId] = []
        for entry in item.get("roles") or []:
            entry_id = _as_id(entry)
            if entry_id is None or entry_id not in role_ids:
                raise Fault("cortex.notFound.unspecified", reason="One or more roles do not exist.", path="org.serviceAccounts[].roles")
            if entry_id not in roles:
                roles.append(entry_id)
        out.append({"_id": _as_id(item.get("_id")) or ObjectId(), "name": name, "label": _text(label, "org.serviceAccounts[].label", 255), "locked": item.get("locked") is True, "roles": roles})
    return out


class OrgRolesHook:
    """Write hooks for the ``org`` object: a write to ``roles`` or ``serviceAccounts`` through
    the org instance (``org.push('roles', {...})``, ``updateOne({_id: org._id}, {$push: ...})``)
    is checked here before it is saved, then copied to the org record that principals and ACL
    notation read. Later operations of the same run therefore see a new role by id or code."""

    def before(self, layer: Any, obj: Any, event: str, doc: dict[str, Any] | None, existing: Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any] | None:
        if getattr(obj, "name", None) != "org" or doc is None or event != "update":
            return doc
        principals = OrgPrincipals(layer.store, layer.org_id)
        out = doc
        if "roles" in doc and doc.get("roles") != (existing or {}).get("roles"):
            out = {**out, "roles": _checked_roles(principals, doc.get("roles"))}
        roles = out.get("roles") if "roles" in out else principals._custom_roles()
        role_ids = set(BUILTIN_ROLES.values()) | {r["_id"] for r in roles or []}
        if "serviceAccounts" in doc and doc.get("serviceAccounts") != (existing or {}).get("serviceAccounts"):
            out = {**out, "serviceAccounts": _checked_service_accounts(principals, doc.get("serviceAccounts"), role_ids)}
        elif "roles" in out and principals._service_accounts():
            # A deleted role drops out of the service accounts that held it.
            accounts = [{**sa, "roles": [r for r in sa.get("roles") or [] if r in role_ids]} for sa in principals._service_accounts()]
            out = {**out, "serviceAccounts": accounts}
        return out

    def after(self, layer: Any, obj: Any, event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None) -> None:
        if getattr(obj, "name", None) != "org" or doc is None or event != "update":
            return
        changes = {key: doc[key] for key in ("roles", "serviceAccounts") if key in doc and doc.get(key) != (existing or {}).get(key)}
        if changes.get("roles"):
            # ``include`` is written as ids or codes (a String array on the definition): stored as ids.
            changes["roles"] = [{**role, "include": [_as_id(i) or i for i in role.get("include") or []]} for role in changes["roles"]]
        if changes:
            OrgPrincipals(layer.store, layer.org_id)._save(changes)
