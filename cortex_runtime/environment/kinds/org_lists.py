"""Resources kept in arrays of the org document, found by name (§4.6, §4.8, §4.9, §4.14):
apps, policies, notifications, SMS numbers and storage locations.

Each element is the export document as imported (with an ``_id``), so an export gives it
back; references are checked at import. Apps also get their credentials here: a new app
gets a generated key (and, for a signing app, a secret), a re-imported one keeps its
own, and neither ever appears in an export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bson import ObjectId

from ...faults import Fault
from ...objects.store import map_store_errors
from ..resources import Resource
from .base import EnvContext, ImportContext, Kind, Undo, export_form

__all__ = ["AppKind", "NotificationKind", "OrgListKind", "PolicyKind", "SmsNumberKind", "StorageLocationKind"]


class OrgListKind(Kind):
    """A kind stored as ``orgs.<field>[]``, keyed by ``name``."""

    field = ""
    group = "environment"
    # Fields of a stored element that an export never shows.
    private: tuple[str, ...] = ()

    def items(self, ctx: EnvContext) -> list[dict[str, Any]]:
        return list(ctx.org_doc(self.field).get(self.field) or [])

    def find(self, ctx: EnvContext, name: str) -> dict[str, Any] | None:
        return next((item for item in self.items(ctx) if item.get("name") == name), None)

    def stored(self, ctx: ImportContext, resource: Resource, existing: dict[str, Any] | None) -> dict[str, Any]:
        """The element to store for ``resource``; ``existing`` is the stored one of that name."""
        doc = {k: v for k, v in resource.doc.items() if k not in ("object", "resource", "//")}
        return {**(existing or {}), **doc, "_id": ctx.planned_id(resource.key, lambda: (existing or {}).get("_id"))}

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        undo = ctx.org_fields_undo(self.field)
        before = self.items(ctx)
        existing = next((item for item in before if item.get("name") == resource.name), None)
        element = self.stored(ctx, resource, existing)
        after = [element if item is existing else item for item in before] if existing else [*before, element]
        with map_store_errors():
            ctx.store.orgs.update_one({"_id": ctx.org._id}, {"$set": {self.field: after}, "$inc": {"principalsVersion": 1}})
        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        for item in sorted(self.items(ctx), key=lambda i: str(i.get("name"))):
            if not item.get("name"):
                continue
            yield {**export_form(item, self.private), "object": self.object, "resource": f"{self.object}.{item['name']}"}


class AppKind(OrgListKind):
    """Apps (§4.6). ``principalId`` is a prefixed principal key, checked at import."""

    object = "app"
    field = "apps"
    private = ("key", "secret", "rsaPrivate", "rsaPublic")

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        principal = resource.doc.get("principalId")
        if principal is not None:
            ctx.resolve_principal(principal, "principalId", allow_role=False)

    def stored(self, ctx: ImportContext, resource: Resource, existing: dict[str, Any] | None) -> dict[str, Any]:
        from ...server.auth import generate_key, generate_secret

        element = super().stored(ctx, resource, existing)
        signing = element.get("sessions") is False
        element["key"] = existing["key"] if existing and existing.get("key") else generate_key()
        # A session app authenticates by session, a signing app by its secret.
        element["secret"] = (existing or {}).get("secret") or (generate_secret() if signing else None)
        if element.get("principalId") is not None and not isinstance(element["principalId"], ObjectId):
            element["principalKey"] = element["principalId"]
            element["principalId"] = ctx.resolve_principal(element["principalId"], "principalId", allow_role=False)
        return element

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        names = ctx.acl_names()
        for doc in super().export(ctx):
            key = doc.pop("principalKey", None)
            if doc.get("principalId") is not None:
                doc["principalId"] = key or names.prefixed_key(ObjectId(str(doc["principalId"])))
            yield {k: doc[k] for k in sorted(doc)}


class PolicyKind(OrgListKind):
    """Policies (§4.8): stored and exported; not enforced yet (README lists them)."""

    object = "policy"
    field = "policies"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        doc = resource.doc
        for field in ("appWhitelist", "appBlacklist"):
            for index, name in enumerate(doc.get(field) or []):
                ctx.resolve_app(str(name), f"{field}.{index}")
        for field in ("aclWhitelist", "aclBlacklist"):
            ctx.parse_acl(doc.get(field), "create", field, max_entries=50)
        source = doc.get("script")
        if isinstance(source, str) and source.strip():
            ctx.runtime.sandbox.compiler.compile(source, kind="script")


class NotificationKind(OrgListKind):
    """Notification types (§4.9): endpoints name templates as ``<type>.<name>``."""

    object = "notification"
    field = "notifications"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        for index, endpoint in enumerate(resource.doc.get("endpoints") or []):
            if not isinstance(endpoint, Mapping):
                raise Fault("cortex.invalidArgument.unspecified", reason="An endpoint must be an object.", path=f"endpoints.{index}")
            template = endpoint.get("template")
            if template:
                kind = endpoint.get("type") or endpoint.get("name")
                ctx.resolve_template(str(kind), str(template), f"endpoints.{index}.template")


class SmsNumberKind(OrgListKind):
    object = "smsNumber"
    field = "smsNumbers"
    private = ("authToken",)


class StorageLocationKind(OrgListKind):
    object = "storageLocation"
    field = "storageLocations"
    private = ("secretAccessKey",)
