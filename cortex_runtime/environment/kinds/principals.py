"""``role`` and ``serviceAccount`` (env/roles/<code>.json, env/serviceAccounts/<name>.json),
kept by ``OrgPrincipals`` on the org document (§4.4, §4.5).

Both refer to roles by code. A role may include a role that comes later in the import, so
a role's write first creates the shells of the roles it includes that do not exist yet;
each is completed when its own document is applied. New roles and service accounts get the
ids the import planned for them, so the ACLs checked earlier name the ids they will have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...faults import Fault
from ...objects.acl_notation import custom_name
from ..resources import Resource
from .base import BUILTIN_ROLES, EnvContext, ImportContext, Kind, Undo

__all__ = ["RoleKind", "ServiceAccountKind"]


class RoleKind(Kind):
    object = "role"
    group = "environment"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        code = custom_name(resource.doc.get("code"), "code", auto_prefix=False)
        if code in BUILTIN_ROLES:
            return  # built-in roles are never imported; their documents change nothing
        resolver = ctx.resolver()
        for index, included in enumerate(resource.doc.get("include") or []):
            if str(included).lower() in BUILTIN_ROLES:
                raise Fault("cortex.invalidArgument.unspecified", reason="Built-in roles cannot be included in other roles.", path=f"include.{index}")
            if included == code:
                raise Fault("cortex.invalidArgument.unspecified", reason="A role cannot include itself.", path=f"include.{index}")
            if ctx.cache.get(f"role.{included}") is None and ctx.principals.role(included) is None:
                raise Fault("cortex.notFound.role", reason="An included role does not exist.", path=f"include.{index}")
            resolver.role(str(included), f"include.{index}")

    def _shell(self, ctx: ImportContext, code: str) -> None:
        principals = ctx.principals
        if principals.role(code) is None:
            role_id = ctx.planned_id(f"role.{code}", lambda: None)
            principals.create_role({"_id": role_id, "code": code, "name": code})

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        doc = resource.doc
        code = str(doc.get("code"))
        if code in BUILTIN_ROLES:
            return lambda: None
        undo = ctx.org_fields_undo("roles", "serviceAccounts")
        self._shell(ctx, code)
        for included in doc.get("include") or []:
            self._shell(ctx, str(included))
        changes = {k: doc[k] for k in ("name", "scope", "include") if k in doc}
        ctx.principals.update_role(code, changes)
        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        principals = ctx.principals
        for role in sorted(principals.roles(), key=lambda r: str(r.get("code"))):
            if role.get("builtin"):
                continue
            include = sorted(str((principals.role(i) or {}).get("code")) for i in role.get("include") or [])
            yield {
                "code": role["code"], "include": include, "name": role.get("name"), "object": "role",
                "resource": f"role.{role['code']}", "scope": list(role.get("scope") or []),
            }


class ServiceAccountKind(Kind):
    object = "serviceAccount"
    group = "environment"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        custom_name(resource.doc.get("name"), "name", auto_prefix=False)
        label = resource.doc.get("label")
        if label is not None and (not isinstance(label, str) or not 1 <= len(label) <= 255):
            raise Fault("cortex.invalidArgument.unspecified", reason="label is 1 to 255 characters.", path="label")
        resolver = ctx.resolver()
        for index, role in enumerate(resource.doc.get("roles") or []):
            resolver.role(str(role), f"roles.{index}")

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        doc = resource.doc
        name = str(doc.get("name"))
        undo = ctx.org_fields_undo("roles", "serviceAccounts")
        principals = ctx.principals
        fields = {k: doc[k] for k in ("label", "locked", "roles") if k in doc}
        if principals.service_account(name) is None:
            principals.create_service_account({"_id": ctx.planned_id(resource.key, lambda: None), "name": name, **fields})
        else:
            principals.update_service_account(name, fields)
        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        principals = ctx.principals
        for sa in sorted(principals.service_accounts(), key=lambda s: str(s.get("name"))):
            roles = sorted(str((principals.role(r) or {}).get("code")) for r in sa.get("roles") or [])
            yield {
                "label": sa.get("label"), "locked": bool(sa.get("locked")), "name": sa["name"], "object": "serviceAccount",
                "resource": f"serviceAccount.{sa['name']}", "roles": roles,
            }
