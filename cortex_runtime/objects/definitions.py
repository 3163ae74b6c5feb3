"""Object definitions of one org: the standard objects and the org's own, stored as data.

A custom definition is an instance of the standard object ``object`` (stored in
``contexts`` with ``object: "object"``); an extension of an extensible standard object
(``account``, ``org``) is stored the same way under the standard name and adds ``c_``
properties and ACL overrides. Names resolve from the singular, the plural and any case.
"""

from __future__ import annotations

import dataclasses
import functools

from collections.abc import Mapping

import inflection
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from ..faults import Fault
from .acl_notation import LEVELS, PrincipalResolver, custom_name, is_custom_name, parse_acl
from .model import ObjectDef, ObjectType, PropertyDef
from .principals import ADMINISTRATOR, ANONYMOUS, DEVELOPER, PUBLIC, SUPPORT, Principal
from .properties import check_shared_slots, check_slots, check_type_properties, parse_property
from .roles import OrgPrincipals
from .store import Store, map_store_errors

__all__ = ["Definitions", "check_definition_editor", "org_configuration", "standard_definitions"]

SHARE_CHAIN_LEVELS = {1, 2, 4, 5, 6}
_RESERVED_KEYS = ("_id", "org", "object")


def _prop(name: str, type_: str, **options: Any) -> PropertyDef:
    return PropertyDef(name=name, label=name, type=type_, options={"name": name, "type": type_, **options}, **options)


def check_definition_editor(principal: Principal, roles: tuple[ObjectId, ...] = ()) -> None:
    """Only the Administrator and Developer roles change object definitions: anyone else who
    edits one gets ``cortex.accessDenied.instanceUpdate`` (path ``object``), whether or not
    the definition is visible to them, rather than a not-found or a script error."""
    held = principal.all_roles(tuple(roles))
    if ADMINISTRATOR not in held and DEVELOPER not in held:
        raise Fault("cortex.accessDenied.instanceUpdate", path="object")


# The server runs as ``development`` (the sandbox reports ``script.env.name`` so): the
# Developer role's entry on ``roles`` and ``serviceAccounts`` is Update there (fidelity.md §7).
SERVER_ENVIRONMENT = "development"


def _developer_level() -> int:
    return 6 if SERVER_ENVIRONMENT == "development" else 4


def _org_principal_properties() -> list[PropertyDef]:
    """The org's ``roles`` and ``serviceAccounts`` document arrays (fidelity.md §7). Writes go
    through the object layer; ``roles.OrgRolesHook`` checks them and keeps the org record
    (where principals are read from) in step.

    Access: ``roles`` is readable by every logged-in account; the Developer role may update
    both in development (read otherwise); Administrators write through their natural Update
    on ``org``. ``include`` takes ids or role codes (the hook turns codes into ids)."""
    developer = {"type": 3, "target": DEVELOPER, "allow": _developer_level()}
    roles = parse_property(
        {
            "name": "roles",
            "label": "Roles",
            "type": "Document",
            "array": True,
            "acl": [{"type": 1, "target": PUBLIC, "allow": 4}, developer],
            "properties": [
                {"name": "code", "label": "Code", "type": "String"},
                {"name": "name", "label": "Name", "type": "String"},
                {"name": "include", "label": "Include", "type": "String", "array": True, "maxItems": 20},
                {"name": "scope", "label": "Scope", "type": "String", "array": True},
            ],
        },
        custom_required=False,
    )
    accounts = parse_property(
        {
            "name": "serviceAccounts",
            "label": "Service Accounts",
            "type": "Document",
            "array": True,
            "maxItems": 100,
            "acl": [developer],
            "properties": [
                {"name": "name", "label": "Name", "type": "String"},
                {"name": "label", "label": "Label", "type": "String"},
                {"name": "roles", "label": "Roles", "type": "ObjectId", "array": True, "maxItems": 20},
                {"name": "locked", "label": "Locked", "type": "Boolean"},
            ],
        },
        custom_required=False,
    )
    # A child's access is the instance access raised by its own ACL: the entries are repeated.
    roles = dataclasses.replace(roles, properties=[dataclasses.replace(c, acl=list(roles.acl)) for c in roles.properties])
    accounts = dataclasses.replace(accounts, properties=[dataclasses.replace(c, acl=list(accounts.acl)) for c in accounts.properties])
    return [roles, accounts, _org_configuration()]


# configuration children only the system reads (fidelity.md §7).
_SYSTEM_ONLY = ("systemPolicies", "defaultCollection", "objectMode", "queries")


def _org_configuration() -> PropertyDef:
    """The org's ``configuration`` (fidelity.md §7): readAccess Public, with Read for the
    Support and Developer roles; children default to Read, ``reporting`` is Public and the
    System children are never readable by scripts (level 9 is above any grant). Each Read
    child carries the Support/Developer entry too, since a child's access is resolved from
    the instance access plus its own ACL."""
    roles_read = [{"type": 3, "target": SUPPORT, "allow": 4}, {"type": 3, "target": DEVELOPER, "allow": 4}]
    parsed = parse_property(
        {
            "name": "configuration",
            "label": "Configuration",
            "type": "Document",
            "readAccess": 1,
            "writeAccess": 8,
            "acl": roles_read,
            "properties": [
                {"name": "stringAccessRoles", "label": "String Access Roles", "type": "Boolean", "acl": roles_read, "writeAccess": 8},
                {"name": "reporting", "label": "Reporting", "type": "Any", "readAccess": 1, "writeAccess": 8},
                *({"name": name, "label": name, "type": "Any", "writeAccess": 8} for name in _SYSTEM_ONLY),
            ],
        },
        custom_required=False,
    )
    children = [dataclasses.replace(child, read_access=9) if child.name in _SYSTEM_ONLY else child for child in parsed.properties]
    return dataclasses.replace(parsed, properties=children)


def org_configuration(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``configuration`` a new org's instance carries, from its settings (defaults:
    ``stringAccessRoles`` false, reporting off, no restricted match operators)."""
    config = dict(settings.get("configuration") or {})
    return {
        "stringAccessRoles": bool(config.get("stringAccessRoles", False)),
        "reporting": {"enabled": bool((config.get("reporting") or {}).get("enabled", False))},
        "defaultCollection": "contexts",
        "queries": {"allowedRestrictedMatchOps": list(settings.get("allowedRestrictedMatchOps") or ())},
    }


def standard_definitions() -> dict[str, ObjectDef]:
    """The built-in objects: account, org, object (definitions), script and log."""
    account = ObjectDef(
        name="account",
        label="Account",
        plural_name="accounts",
        standard=True,
        extensible=True,
        properties=[
            _prop("email", "String", indexed=True, unique=True),
            _prop("username", "String", indexed=True),
            _prop(
                "name",
                "Document",
                properties=[_prop("first", "String", indexed=True), _prop("last", "String", indexed=True)],
            ),
            _prop("roles", "ObjectId", array=True, indexed=True, write_access=8),
            _prop("mobile", "String", indexed=True),
            _prop("dob", "Date", indexed=True),
            _prop("gender", "String"),
            _prop("locale", "String"),
            _prop("tz", "String"),
            _prop("state", "String", write_access=8),
            _prop("locked", "Boolean", write_access=8),
        ],
        default_acl=[{"type": 2, "allow": 6}],
        create_acl=[],
        share_chain=[2],
    )
    org = ObjectDef(
        name="org",
        label="Org",
        plural_name="orgs",
        standard=True,
        extensible=True,
        properties=[_prop("code", "String", indexed=True, write_access=8), _prop("name", "String"), *_org_principal_properties()],
        default_acl=[
            {"type": 1, "target": ANONYMOUS, "allow": 1},
            {"type": 3, "allow": 6},
            {"type": 3, "target": ADMINISTRATOR, "allow": 6},
        ],
        share_chain=[5, 2, 0],
    )
    definition = ObjectDef(
        name="object",
        label="Object",
        plural_name="objects",
        standard=True,
        extensible=False,
        properties=[
            _prop("name", "String", indexed=True, unique=True, creatable=True),
            _prop("label", "String"),
            _prop("pluralName", "String", indexed=True),
            _prop("description", "String"),
            _prop("defaultAcl", "Any"),
            _prop("createAcl", "Any"),
            _prop("shareAcl", "Any"),
            _prop("shareChain", "Any"),
            _prop("properties", "Any"),
            _prop("objectTypes", "Any"),
        ],
        default_acl=[
            {"type": 3, "target": ADMINISTRATOR, "allow": 7},
            {"type": 3, "target": DEVELOPER, "allow": 7},
        ],
        create_acl=[{"type": 3, "target": ADMINISTRATOR}, {"type": 3, "target": DEVELOPER}],
    )
    script = ObjectDef(
        name="script",
        label="Script",
        plural_name="scripts",
        standard=True,
        extensible=False,
        properties=[
            _prop("label", "String"),
            _prop("name", "String", indexed=True),
            _prop("description", "String"),
            _prop("type", "String", indexed=True, creatable=True),
            _prop("script", "String"),
            _prop("configuration", "Any"),
            _prop("active", "Boolean", indexed=True),
            _prop("principal", "Any"),
            _prop("weight", "Number"),
            _prop("environment", "String"),
            _prop("language", "String"),
            _prop("optimized", "Boolean"),
            _prop("if", "Any"),
            _prop("runtime", "Any", writable=False),
        ],
        default_acl=[
            {"type": 3, "target": ADMINISTRATOR, "allow": 7},
            {"type": 3, "target": DEVELOPER, "allow": 7},
        ],
        create_acl=[{"type": 3, "target": ADMINISTRATOR}, {"type": 3, "target": DEVELOPER}],
    )
    log = ObjectDef(
        name="log",
        label="Log",
        plural_name="logs",
        standard=True,
        extensible=False,
        properties=[
            _prop("src", "Number", indexed=True, writable=False),
            _prop("lvl", "Number", indexed=True, writable=False),
            _prop("sid", "ObjectId", indexed=True, writable=False),
            _prop("stp", "String", indexed=True, writable=False),
            _prop("pid", "ObjectId", indexed=True, writable=False),
            _prop("oid", "ObjectId", indexed=True, writable=False),
            _prop("beg", "Date", indexed=True, writable=False),
            _prop("end", "Date", writable=False),
            _prop("exp", "Date", writable=False),
            _prop("sts", "Number", writable=False),
            _prop("ops", "Number", writable=False),
            _prop("ctt", "Number", writable=False),
            _prop("cms", "Number", writable=False),
            _prop("in", "Number", writable=False),
            _prop("out", "Number", writable=False),
            _prop("err", "Any", writable=False),
            _prop("trc", "Any", writable=False),
            _prop("dat", "Any", writable=False),
        ],
        default_acl=[{"type": 3, "target": ADMINISTRATOR, "allow": 4}, {"type": 3, "target": DEVELOPER, "allow": 4}],
        create_acl=[],
    )
    # Persistent notifications (rest-api-auth.md §6.4): written by require('notifications') with
    # options.context, owned by the recipient, who reads and clears (deletes) them.
    notification = ObjectDef(
        name="notification",
        label="Notification",
        plural_name="notifications",
        standard=True,
        extensible=False,
        properties=[
            _prop("context", "Any", writable=False),
            _prop("type", "Any", writable=False),
            _prop("name", "String", indexed=True, writable=False),
            _prop("meta", "Any", writable=False),
            _prop("account", "Any", writable=False),
        ],
        default_acl=[{"type": 4, "allow": 7}],
        create_acl=[],
    )
    # Connections (rest-api-auth.md §6.3, modules.md §4): written only by require('connections'),
    # which decides who sees them (the target and the creator); no ACL reaches them otherwise.
    connection = ObjectDef(
        name="connection",
        label="Connection",
        plural_name="connections",
        standard=True,
        extensible=False,
        properties=[
            _prop("access", "Number", indexed=True, writable=False),
            _prop("roles", "ObjectId", array=True, writable=False),
            _prop("context", "Any", writable=False),
            _prop("contextSource", "Any", writable=False),
            _prop("target", "Any", writable=False),
            _prop("state", "Number", indexed=True, writable=False),
            _prop("token", "String", indexed=True, writable=False),
            _prop("expiresAt", "Date", indexed=True, writable=False),
            _prop("usesRemaining", "Number", writable=False),
        ],
        default_acl=[],
        create_acl=[],
    )
    resources = [
        _developer_object(name, label, fields)
        for name, label, fields in (
            ("template", "Template", ("type", "name", "label", "description", "partial", "localizations")),
            ("view", "View", ("name", "label", "description", "active", "script", "sourceObject", "principal", "limit", "skip", "paths", "viewAcl", "objectAcl", "query")),
            ("i18n", "i18n", ("name", "namespace", "locale", "extends", "aliases", "data", "assets", "tags", "weight", "extensible", "overridable", "version", "dirty")),
            ("expression", "Expression", ("name", "label", "description", "active", "environment", "weight", "expression", "pipeline")),
        )
    ]
    return {d.name: d for d in (account, org, definition, script, log, notification, connection, *resources)}


def _developer_object(name: str, label: str, fields: tuple[str, ...]) -> ObjectDef:
    """A standard object of environment resources (templates, views, i18ns, expressions):
    administrators and developers manage them; an import writes them (environment/kinds)."""
    kinds = {"name": "String", "label": "String", "description": "String", "type": "String", "active": "Boolean", "weight": "Number", "partial": "Boolean"}
    return ObjectDef(
        name=name,
        label=label,
        plural_name=plural(name),
        standard=True,
        extensible=False,
        properties=[_prop(f, kinds.get(f, "Any"), **({"indexed": True} if f in ("name", "type") else {})) for f in fields],
        default_acl=[{"type": 3, "target": ADMINISTRATOR, "allow": 7}, {"type": 3, "target": DEVELOPER, "allow": 7}],
        create_acl=[{"type": 3, "target": ADMINISTRATOR}, {"type": 3, "target": DEVELOPER}],
    )


def plural(name: str) -> str:
    """English plural of an object name (the route segment): c_box -> c_boxes, c_child -> c_children."""
    return str(inflection.pluralize(name))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _fault(reason: str, path: str | None = None, err_code: str = "cortex.invalidArgument.unspecified") -> Fault:
    child = Fault(err_code, reason=reason, path=path)
    return Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[child])


def _share_chain(value: Any) -> list[int]:
    """shareChain levels as words or numbers (environments.md §1.7); an unknown word is 0 and fails."""
    chain = value or []
    if not isinstance(chain, list):
        raise _fault("shareChain values must be among 1, 2, 4, 5, 6.", "shareChain")
    levels = [LEVELS.get(c.strip().lower(), 0) if isinstance(c, str) else c for c in chain]
    if any(isinstance(c, bool) or c not in SHARE_CHAIN_LEVELS for c in levels):
        raise _fault("shareChain values must be among 1, 2, 4, 5, 6.", "shareChain")
    return sorted(set(levels), reverse=True)


def _parse_properties(raw: Any, resolver: PrincipalResolver | None = None) -> list[PropertyDef]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fault("properties must be an array.", "properties")
    props = [parse_property(item, resolver=resolver) for item in raw]
    check_slots(props)
    return props


@functools.cache
def _shared_standard() -> dict[str, ObjectDef]:
    # Built once per process: a run builds a Definitions, and definitions are never mutated.
    return standard_definitions()


class Definitions:
    """The definitions one org sees. Cheap to build; caches what it has read."""

    def __init__(self, store: Store, org_id: ObjectId, *, resolver: PrincipalResolver | None = None) -> None:
        self._store = store
        self._org = org_id
        # Principal keys in ACLs resolve through this (an importer passes its own); by default
        # the org's roles, service accounts and accounts, faulting as ordinary writes do.
        self._resolver = resolver
        self._standard = _shared_standard()
        self._cache: dict[str, ObjectDef | None] = {}

    # ---- lookup -----------------------------------------------------------------

    def get(self, name: str) -> ObjectDef | None:
        """The definition named ``name`` (singular, plural, any case), or None."""
        if not isinstance(name, str) or not name:
            return None
        key = name.lower()
        if key in self._cache:
            return self._cache[key]
        found = self._load(key)
        self._cache[key] = found
        return found

    def require(self, name: str) -> ObjectDef:
        found = self.get(name)
        if found is None:
            raise Fault("cortex.invalidArgument.object", reason=f"Invalid or unknown object {name}.", path=str(name))
        return found

    def _load(self, key: str) -> ObjectDef | None:
        standard = next((d for d in self._standard.values() if key in (d.name, d.plural_name)), None)
        with map_store_errors():
            doc = self._store.contexts.find_one(
                {"org": self._org, "object": "object", "$or": [{"name": standard.name if standard else key}, {"pluralName": key}]}
            )
        if standard is not None:
            return self._extend(standard, doc) if doc else standard
        if doc is None:
            return None
        return self._from_document(doc)

    def _extend(self, standard: ObjectDef, doc: Mapping[str, Any]) -> ObjectDef:
        extra = _parse_properties(doc.get("properties"))
        return ObjectDef(
            name=standard.name,
            label=standard.label,
            plural_name=standard.plural_name,
            properties=list(standard.properties) + extra,
            default_acl=list(doc.get("defaultAcl") or standard.default_acl),
            create_acl=list(doc.get("createAcl") or standard.create_acl),
            share_acl=list(doc.get("shareAcl") or standard.share_acl),
            share_chain=list(doc.get("shareChain") or standard.share_chain),
            standard=True,
            extensible=True,
            id=doc.get("_id"),
            document=dict(doc),
        )

    @staticmethod
    def _from_document(doc: Mapping[str, Any]) -> ObjectDef:
        types = [
            ObjectType(name=t.get("name"), label=t.get("label", t.get("name")), properties=_parse_properties(t.get("properties")), id=t.get("_id"))
            for t in doc.get("objectTypes") or []
        ]
        return ObjectDef(
            name=doc["name"],
            label=doc.get("label", doc["name"]),
            plural_name=doc.get("pluralName") or plural(doc["name"]),
            properties=_parse_properties(doc.get("properties")),
            default_acl=list(doc.get("defaultAcl") or []),
            create_acl=list(doc.get("createAcl") or []),
            share_acl=list(doc.get("shareAcl") or []),
            share_chain=list(doc.get("shareChain") or []),
            object_types=types,
            id=doc.get("_id"),
            document=dict(doc),
        )

    # ---- changes ----------------------------------------------------------------

    def validate(self, raw: Mapping[str, Any], *, existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check a definition document (create or the merged result of an update) and
        return it normalised for storage. Raises validation faults naming the field.
        ACLs may use the shorthand notation; role codes resolve against the org's roles."""
        resolver = self._resolver or OrgPrincipals(self._store, self._org).resolver()
        importing = bool(getattr(resolver, "importing", False))
        if not isinstance(raw, Mapping):
            raise Fault("cortex.invalidArgument.unspecified", reason="An object definition must be an object.")
        doc: dict[str, Any] = {k: v for k, v in raw.items() if k not in _RESERVED_KEYS}
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            raise _fault("name is required.", "name", "cortex.invalidArgument.required")
        label = doc.get("label")
        if not isinstance(label, str) or not label:
            raise _fault("label is required.", "label", "cortex.invalidArgument.required")
        standard = self._standard.get(name.strip().lower())
        if standard is not None:
            if not standard.extensible:
                raise Fault("cortex.accessDenied.unspecified", reason=f'The "{standard.name}" Object is not extensible', path="name")
            name = standard.name
        else:
            # Trimmed, lower-cased, ``c_`` added unless custom, then the strict validator (§3.2).
            try:
                name = custom_name(name.strip().lower(), "name")
            except Fault as fault:
                raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[fault]) from None
            singular = str(inflection.singularize(name))
            name = singular if is_custom_name(singular) else name
            if name in {d.plural_name for d in self._standard.values()}:
                raise _fault(f"Invalid object name {raw.get('name')}.", "name", "cortex.invalidArgument.customName")
        doc["name"] = name
        doc["pluralName"] = (standard.plural_name if standard else doc.get("pluralName") or plural(name)).lower()
        props = _parse_properties(doc.get("properties"), resolver)
        if standard is not None:
            bad = next((p.name for p in props if not p.name.startswith("c_") and "__" not in p.name), None)
            if bad:
                raise _fault(f"Only custom properties can be added to {name}.", bad, "cortex.invalidArgument.customName")
        for prop in props:
            if any(prop.name == own.name for own in (standard.properties if standard else [])):
                raise _fault(f"{prop.name} already exists.", prop.name)
        doc["properties"] = [p.options for p in props]
        for key, kind in (("defaultAcl", "default"), ("createAcl", "create"), ("shareAcl", "share")):
            doc[key] = parse_acl(doc.get(key), kind, resolver, path=key, importing=importing)
        doc["shareChain"] = _share_chain(doc.get("shareChain"))
        types = doc.get("objectTypes") or []
        if not isinstance(types, list):
            raise _fault("objectTypes must be an array.", "objectTypes")
        normalised_types = []
        all_type_props = []
        for index, object_type in enumerate(types):
            if not isinstance(object_type, Mapping) or not object_type.get("name") or not object_type.get("label"):
                raise _fault("An object type needs a name and a label.", f"objectTypes.{index}", "cortex.invalidArgument.required")
            type_props = _parse_properties(object_type.get("properties"), resolver)
            check_type_properties(props, type_props)
            check_slots(props + type_props)
            all_type_props.append(type_props)
            normalised_types.append({**object_type, "_id": object_type.get("_id") or ObjectId(), "properties": [p.options for p in type_props]})
        check_shared_slots(props, all_type_props)
        doc["objectTypes"] = normalised_types
        return doc

    def create(self, raw: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
        doc = self.validate(raw)
        with map_store_errors():
            clash = self._store.contexts.find_one(
                {"org": self._org, "object": "object", "$or": [{"name": doc["name"]}, {"pluralName": doc["pluralName"]}]}
            )
        if clash is not None:
            raise Fault("cortex.conflict.exists", reason=f"An object named {doc['name']} already exists.", path="name")
        now = _now()
        stored = {
            "_id": ObjectId(),
            "org": self._org,
            "object": "object",
            **doc,
            "created": now,
            "creator": {"_id": principal._id},
            "owner": {"_id": principal._id},
            "updated": None,
        }
        with map_store_errors():
            self._store.contexts.insert_one(stored)
        self._cache.clear()
        return stored

    def replace(self, existing: Mapping[str, Any], merged: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
        if str(merged.get("name", "")).lower() != str(existing.get("name")):
            raise _fault("An object's name cannot change.", "name", "cortex.invalidArgument.creatableOnly")
        doc = self.validate(merged, existing=existing)
        old_props = {p.get("name"): p for p in existing.get("properties") or []}
        for prop in doc["properties"]:
            before = old_props.get(prop.get("name"))
            if before is not None:
                for immutable in ("array", "unique", "type"):
                    if bool(before.get(immutable)) != bool(prop.get(immutable)) or (immutable == "type" and before.get("type") != prop.get("type")):
                        raise _fault(f"{prop.get('name')}.{immutable} cannot change once created.", f"{prop.get('name')}.{immutable}", "cortex.invalidArgument.creatableOnly")
        update = {**doc, "updated": _now(), "updater": {"_id": principal._id}}
        with map_store_errors():
            self._store.contexts.update_one({"_id": existing["_id"], "org": self._org}, {"$set": update})
        self._cache.clear()
        return {**existing, **update}

    def delete(self, existing: Mapping[str, Any]) -> None:
        with map_store_errors():
            self._store.contexts.delete_one({"_id": existing["_id"], "org": self._org})
            if existing.get("name") not in self._standard:
                self._store.contexts.delete_many({"org": self._org, "object": existing.get("name")})
        self._cache.clear()

    def public_ids(self) -> tuple[ObjectId, ObjectId]:
        return ANONYMOUS, PUBLIC
