"""Orgs and accounts: creating an org with its administrator, and loading principals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from ..faults import Fault
from .acl_notation import is_custom_name
from .definitions import org_configuration
from .principals import ADMINISTRATOR, Principal, RoleGraph
from .roles import OrgPrincipals
from .store import Store, map_store_errors

__all__ = ["Org", "Orgs", "account_document", "insert_account", "load_principal", "role_principal"]


def account_document(org_id: ObjectId, *, email: str, name: dict[str, Any] | None = None, roles: list[ObjectId] | None = None, **fields: Any) -> dict[str, Any]:
    """A new account instance as stored; the account owns and created itself."""
    account_id = ObjectId()
    return {
        **fields,
        "_id": account_id,
        "org": org_id,
        "object": "account",
        "email": email.strip().lower(),
        "name": dict(name or {}),
        "roles": list(roles or []),
        "state": fields.get("state", "verified"),
        "created": datetime.now(timezone.utc),
        "creator": {"_id": account_id},
        "owner": {"_id": account_id},
        "updated": None,
        "acl": [],
    }


def insert_account(store: Store, doc: dict[str, Any]) -> None:
    """Store a new account; a second account with the same email in the org is refused."""
    with map_store_errors():
        if store.contexts.find_one({"org": doc["org"], "object": "account", "email": doc["email"]}, {"_id": 1}) is not None:
            raise Fault("cortex.conflict.duplicateEmail", path="email")
        store.contexts.insert_one(doc)


@dataclass(frozen=True)
class Org:
    _id: ObjectId
    code: str
    name: str
    settings: dict[str, Any]

    @property
    def restricted_ops(self) -> frozenset[str]:
        return frozenset(self.settings.get("allowedRestrictedMatchOps") or ())


class Orgs:
    """Orgs of one store. Each org's data carries its ``org`` id and is never seen by another."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, code: str, *, name: str | None = None, admin_email: str = "admin@example.com") -> tuple[Org, Principal]:
        """A new org with one administrator account; returns the org and that administrator."""
        now = datetime.now(timezone.utc)
        org_doc = {"_id": ObjectId(), "code": code, "name": name or code, "settings": {}, "created": now}
        with map_store_errors():
            if self.store.orgs.find_one({"code": code}) is not None:
                raise Fault("cortex.conflict.exists", reason=f"An org with code {code} exists.", path="code")
            self.store.orgs.insert_one(org_doc)
            org_ref = {"_id": org_doc["_id"], "org": org_doc["_id"], "object": "org", "code": code, "name": org_doc["name"], "created": now, "acl": []}
            org_ref["configuration"] = org_configuration(org_doc["settings"])
            self.store.contexts.insert_one(org_ref)
        org = Org(_id=org_doc["_id"], code=code, name=org_doc["name"], settings={})
        admin = self.provision(org, email=admin_email, name={"first": "Admin", "last": code}, roles=[ADMINISTRATOR])
        return org, admin

    def get(self, code: str) -> Org | None:
        """The org with ``code`` (read once per change of the orgs collection, see ``StoreMemo``)."""
        return self.store.memo("org", "orgs").get(code, lambda: self._read(code))

    def _read(self, code: str) -> Org | None:
        with map_store_errors():
            doc = self.store.orgs.find_one({"code": code})
        if doc is None:
            return None
        return Org(_id=doc["_id"], code=doc["code"], name=doc.get("name", doc["code"]), settings=dict(doc.get("settings") or {}))

    def get_by_id(self, org_id: ObjectId) -> Org | None:
        with map_store_errors():
            doc = self.store.orgs.find_one({"_id": org_id}, {"code": 1})
        return self.get(doc["code"]) if doc else None

    def provision(self, org: Org, *, email: str, name: dict[str, str] | None = None, roles: list[ObjectId] | None = None) -> Principal:
        """Create an account (no access check: the caller decides who may)."""
        doc = account_document(org._id, email=email, name=name, roles=roles)
        insert_account(self.store, doc)
        return self.principal(org, doc["_id"])

    def principal(self, org: Org, account: ObjectId | str) -> Principal:
        """The principal of an account, by id or email."""
        return load_principal(self.store, org._id, account)


def load_principal(store: Store, org_id: ObjectId, account: Any) -> Principal:
    """The principal a key names, with the org's role include graph.

    Keys: an account id, email or ``{_id}``; the prefixed forms of scripts and exports
    (``serviceAccount.<name>``, ``account.<email|id>``, ``account.public``, ``account.anonymous``;
    ``role.<code>`` is refused); a service account's id, email or bare custom name.
    Principals are immutable, and every request loads one: they are kept while the org
    document and the accounts are unchanged (``StoreMemo``).
    """
    if isinstance(account, dict):
        account = account.get("_id")
    if isinstance(account, (str, ObjectId)):
        return store.memo("principal", "orgs", "contexts").get((org_id, account), lambda: _load_principal(store, org_id, account))
    return _load_principal(store, org_id, account)


def _load_principal(store: Store, org_id: ObjectId, account: Any) -> Principal:
    principals = OrgPrincipals(store, org_id)
    if isinstance(account, str):
        prefix, dot, rest = account.strip().partition(".")
        if dot and rest and prefix in ("role", "serviceAccount", "account"):
            try:
                return _prefixed(store, org_id, principals, prefix, rest)
            except Fault as fault:
                # An email that merely starts with "account." is still an email.
                if fault.errCode != "cortex.notFound.principal" or prefix != "account" or "@" not in rest:
                    raise
                with map_store_errors():
                    doc = store.contexts.find_one({"org": org_id, "object": "account", "email": account.strip().lower()})
                if doc is None:
                    raise
                return _account_principal(doc, org_id, principals.graph())
        if is_custom_name(account) and "@" not in account:
            return _prefixed(store, org_id, principals, "serviceAccount", account)
        if account.strip().lower() in ("public", "anonymous"):
            return _prefixed(store, org_id, principals, "account", account.strip().lower())
    query: dict[str, Any] = {"org": org_id, "object": "account"}
    if isinstance(account, str) and "@" in account:
        query["email"] = account.strip().lower()
    else:
        try:
            query["_id"] = ObjectId(str(account))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.invalidObjectId", path="principal") from exc
    with map_store_errors():
        doc = store.contexts.find_one(query)
    if doc is None:
        if principals.service_account(account) is not None:
            return principals.principal_for_service_account(account)
        raise Fault("cortex.notFound.instance", reason="account not found.", path="account")
    return _account_principal(doc, org_id, principals.graph())


def _account_principal(doc: Mapping[str, Any], org_id: ObjectId, graph: RoleGraph) -> Principal:
    return Principal(
        _id=doc["_id"],
        org=org_id,
        email=doc.get("email"),
        roles=tuple(doc.get("roles") or ()),
        name=dict(doc.get("name") or {}),
        includes=graph,
    )


def _prefixed(store: Store, org_id: ObjectId, principals: OrgPrincipals, prefix: str, key: str) -> Principal:
    """A prefixed principal key (environments.md §2.1); a miss is ``cortex.notFound.principal``."""
    if prefix == "role":
        raise Fault("cortex.invalidArgument.unspecified", reason="Script principal cannot be a role.", path="principal")
    missing = Fault("cortex.notFound.principal", reason=f"Principal {prefix}.{key} not found.", path="principal")
    if prefix == "serviceAccount":
        if principals.service_account(key) is None:
            raise missing
        return principals.principal_for_service_account(key)
    if key.lower() in ("public", "anonymous"):
        base = Principal.public(org_id) if key.lower() == "public" else Principal.anonymous(org_id)
        return replace(base, includes=principals.graph())
    query: dict[str, Any] = {"org": org_id, "object": "account"}
    if "@" in key:
        query["email"] = key.strip().lower()
    elif ObjectId.is_valid(key):
        query["_id"] = ObjectId(key)
    else:
        raise missing
    with map_store_errors():
        doc = store.contexts.find_one(query)
    if doc is None:
        if principals.service_account(key) is not None:
            return principals.principal_for_service_account(key)
        raise missing
    return _account_principal(doc, org_id, principals.graph())


_ROLE_DOMAIN = "-iam.role.medable.com"


def role_principal(store: Store, org_id: ObjectId, key: Any) -> Principal | None:
    """The role principal ``script.as`` may run as (fidelity.md §8): a role code or id, or
    ``<code>@<org>-iam.role.medable.com``. It holds that role, expanded through the org's
    includes, and acts under that address. None when ``key`` names no role of the org, so
    the caller goes on to service accounts and accounts (roles are tried first)."""
    if isinstance(key, ObjectId):
        key = str(key)
    if not isinstance(key, str) or not key.strip():
        return None
    text = key.strip()
    principals = OrgPrincipals(store, org_id)
    if text.endswith(_ROLE_DOMAIN) and "@" in text:
        code = text.split("@", 1)[0]
        role = principals.role(code)
        if role is None:
            raise Fault("cortex.notFound.role", reason=f"Role {code} does not exist.", path="principal")
    else:
        if "@" in text or text.lower() in ("public", "anonymous"):
            return None
        role = principals.role(text)
        if role is None:
            return None
    org_code = str(principals._load().get("code") or "")
    code = str(role.get("code") or role["_id"])
    return Principal(
        _id=ObjectId(role["_id"]),
        org=org_id,
        email=f"{code}@{org_code}{_ROLE_DOMAIN}",
        roles=(ObjectId(role["_id"]),),
        name={"first": str(role.get("name") or code)},
        includes=principals.graph(),
    )

