"""What every resource kind implements, and what the importer and exporter hand it.

A kind checks a resource without writing anything (``check``), writes it (``apply``,
returning how to undo the write), and lists the org's resources of its kind in export
form (``export``). The importer runs every ``check`` before any ``apply``, so one report
lists every fault, and undoes what it applied when a write fails after all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from ...faults import Fault
from ...objects.principals import ADMINISTRATOR, ANONYMOUS, DEVELOPER, PROVIDER, PUBLIC, SUPPORT, Principal
from ...objects.acl_notation import missing_principal, parse_acl
from ...objects.definitions import Definitions
from ...objects.roles import OrgNames, OrgPrincipals
from ...objects.store import map_store_errors
from ..resources import ImportCache, Resource, is_custom_name

if TYPE_CHECKING:
    from ...objects.instances import ObjectLayer
    from ...objects.orgs import Org
    from ...runtime import Runtime

__all__ = ["BUILTIN_ROLES", "NATIVE_OBJECTS", "EnvContext", "ImportContext", "Kind", "Undo", "deep_merge", "export_form", "missing"]

Undo = Callable[[], None]

BUILTIN_ROLES = {"administrator": ADMINISTRATOR, "provider": PROVIDER, "support": SUPPORT, "developer": DEVELOPER}

# Objects the platform has natively, which exports reference but never define (§6.4).
NATIVE_OBJECTS = frozenset(
    {"account", "org", "object", "script", "log", "connection", "notification", "room", "signature", "export",
     "view", "template", "i18n", "expression", "post", "comment", "event", "patientfile", "conversation", "stat", "system", "*"}
)

# Fields the store adds that are never part of an export.
_INTERNAL = ("_id", "org", "created", "creator", "owner", "updated", "updater", "acl", "access", "accessRoles", "resource")


def export_form(doc: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A stored document without the store's own fields, top-level keys sorted (§5.4)."""
    return {k: doc[k] for k in sorted(doc) if k not in _INTERNAL and k not in drop}


def deep_merge(stored: Any, given: Any) -> Any:
    """``given`` merged into ``stored``: objects key by key, anything else replaced."""
    if isinstance(stored, Mapping) and isinstance(given, Mapping):
        out = dict(stored)
        for key, value in given.items():
            out[key] = deep_merge(stored.get(key), value)
        return out
    return given


def missing(kind: str, key: str, path: str) -> Fault:
    """The import's fault for a dependency that is neither in the import nor in the org (§2.2)."""
    article = "An" if kind[0] in "aeiou" else "A"
    label = {"serviceAccount": "service account"}.get(kind, kind)
    return Fault("cortex.notFound.unspecified", reason=f'{article} {label} dependency "{key}" is missing for {path}', path=path)


@dataclass
class EnvContext:
    """The org an import or export works on, and the administrator it works as."""

    runtime: Runtime
    org: Org
    principal: Principal

    @property
    def store(self) -> Any:
        return self.runtime.store

    def layer(self) -> ObjectLayer:
        return self.runtime.layer(self.org, self.principal)

    def org_doc(self, *fields: str) -> dict[str, Any]:
        with map_store_errors():
            found: dict[str, Any] = self.store.orgs.find_one({"_id": self.org._id}, {f: 1 for f in fields} if fields else None) or {}
        return found

    @property
    def principals(self) -> OrgPrincipals:
        return OrgPrincipals(self.store, self.org._id)

    def org_fields_undo(self, *fields: str) -> Undo:
        """How to put these fields of the org document back as they are now (absent ones removed)."""
        before = self.org_doc(*fields)
        kept = {f: before[f] for f in fields if f in before}
        gone = {f: "" for f in fields if f not in before}

        def undo() -> None:
            change: dict[str, Any] = {"$inc": {"principalsVersion": 1}}
            if kept:
                change["$set"] = kept
            if gone:
                change["$unset"] = gone
            with map_store_errors():
                self.store.orgs.update_one({"_id": self.org._id}, change)
                # roles and serviceAccounts are mirrored on the org instance (objects/roles.py).
                mirror = {k: v for k, v in change.items() if k != "$inc"}
                if mirror:
                    self.store.contexts.update_one({"_id": self.org._id, "org": self.org._id, "object": "org"}, mirror)

        return undo

    def acl_names(self) -> OrgNames:
        """Keys for the ids in stored ACLs, for an export."""
        return self.principals.names()


@dataclass
class ImportContext(EnvContext):
    """An import in progress: its cache, the ids planned for new resources, and the
    resolvers that look in the import before the org (§2.2)."""

    cache: ImportCache = field(default_factory=ImportCache)
    # Resource key -> the id it has, or will have once written.
    planned: dict[str, ObjectId] = field(default_factory=dict)
    # Keys of cached resources that something accepted depends on.
    needed: set[str] = field(default_factory=set)

    def cached(self, key: str) -> Resource | None:
        found = self.cache.get(key)
        if found is not None:
            self.needed.add(key)
        return found

    # The resource being checked, for the paths in faults.
    current: str = ""
    # What a kind computes once per import (e.g. the configs' total size).
    memo: dict[str, Any] = field(default_factory=dict)

    def planned_id(self, key: str, existing: Callable[[], ObjectId | None]) -> ObjectId:
        if key not in self.planned:
            self.planned[key] = existing() or ObjectId()
        return self.planned[key]

    def full_path(self, path: str) -> str:
        return f"{self.current}.{path}" if self.current else path

    # ---- resolvers: the import first, then the org (§2.2) --------------------------

    def resolver(self) -> ImportResolver:
        return ImportResolver(self)

    def parse_acl(self, value: Any, kind: str, path: str, *, max_entries: int = 20) -> list[dict[str, Any]]:
        return parse_acl(value, kind, self.resolver(), path=path, importing=True, max_entries=max_entries)

    def resolve_principal(self, key: Any, path: str, *, allow_role: bool) -> ObjectId | None:
        """A prefixed principal key (``serviceAccount.<name>``, ``account.<key>``, ``role.<code>``)."""
        if key is None:
            return None
        prefix, _, rest = str(key).partition(".")
        resolver = self.resolver()
        if prefix == "serviceAccount" and rest:
            return resolver.service_account(rest, path)
        if prefix == "account" and rest:
            return resolver.account(rest, path)
        if prefix == "role" and rest:
            if not allow_role:
                raise Fault("cortex.invalidArgument.unspecified", reason="Script principal cannot be a role.", path=path)
            return resolver.role(rest, path)
        raise Fault("cortex.unsupportedOperation.unspecified", reason=f"The principal type {key} is not supported for imports.", path=path)

    def resolve_app(self, name: str, path: str) -> None:
        """Apps are referenced by name (route ``apiKey``, policy app lists); it must exist."""
        if self.cached(f"app.{name}") is not None:
            return
        if any(app.get("name") == name for app in self.org_doc("apps").get("apps") or []):
            return
        raise missing("app", name, self.full_path(path))

    def resolve_object(self, name: str, path: str) -> None:
        lowered = str(name).lower()
        if lowered in NATIVE_OBJECTS or self.cached(f"object.{lowered}") is not None or self.cached(f"object.{name}") is not None:
            return
        if Definitions(self.store, self.org._id).get(lowered) is not None:
            return
        raise missing("object", str(name), self.full_path(path))

    def resolve_template(self, template_type: str, name: str, path: str) -> None:
        if self.cached(f"template.{template_type}.{name}") is not None or not is_custom_name(name):
            return  # a non-custom name is a built-in template, which the platform always has
        with map_store_errors():
            found = self.store.contexts.find_one({"org": self.org._id, "object": "template", "type": template_type, "name": name}, {"_id": 1})
        if found is None:
            raise missing("template", name, self.full_path(path))


class ImportResolver:
    """The ``PrincipalResolver`` of an import: resources of the import (with the ids they
    will have), then the org's, then the fixed principals; a miss is the import's fault."""

    importing = True

    def __init__(self, ctx: ImportContext) -> None:
        self._ctx = ctx
        self._org = ctx.principals

    def role(self, code: str, path: str) -> ObjectId:
        if code in BUILTIN_ROLES:
            return BUILTIN_ROLES[code]
        found = self._org.role(code)
        key = f"role.{code}"
        if self._ctx.cached(key) is not None:
            return self._ctx.planned_id(key, lambda: found["_id"] if found else None)
        if found is not None:
            return ObjectId(str(found["_id"]))
        raise missing_principal("role", code, self._ctx.full_path(path), importing=True)

    def service_account(self, name: str, path: str) -> ObjectId:
        found = self._org.service_account(name)
        key = f"serviceAccount.{name}"
        if self._ctx.cached(key) is not None:
            return self._ctx.planned_id(key, lambda: found["_id"] if found else None)
        if found is not None:
            return ObjectId(str(found["_id"]))
        raise missing_principal("serviceAccount", name, self._ctx.full_path(path), importing=True)

    def account(self, key: str, path: str) -> ObjectId:
        if key == "public":
            return PUBLIC
        if key == "anonymous":
            return ANONYMOUS
        if self._ctx.cache.get(f"serviceAccount.{key}") is not None or self._org.service_account(key) is not None:
            return self.service_account(key, path)  # our decision (§2.4 #1)
        query: dict[str, Any] = {"org": self._ctx.org._id, "object": "account"}
        if ObjectId.is_valid(key):
            query["_id"] = ObjectId(key)
        else:
            query["email"] = key.strip().lower()
        with map_store_errors():
            found = self._ctx.store.contexts.find_one(query, {"_id": 1})
        if found is None:
            raise missing_principal("account", key, self._ctx.full_path(path), importing=True)
        return ObjectId(str(found["_id"]))


class Kind:
    """One resource kind of an export. Subclasses set ``object`` and ``group`` (§4.0)."""

    object: str = ""
    group: str = ""

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        """Raise a Fault (``path`` relative to the resource) when the resource cannot be imported."""

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        raise NotImplementedError

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        """The org's resources of this kind in export form, each with its ``resource`` key."""
        return iter(())

