"""``env`` (env/env.json): the org's settings, imported last (§4.1).

Sub-resources that travel as their own documents (apps, roles, policies, service accounts,
notifications, SMS numbers, storage locations) are dropped from it. The rest is merged
into the org document's ``env`` field and exported back; ``name`` also renames the org.
Settings we do not act on are kept as they are (README lists them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...objects.store import map_store_errors
from ..resources import Resource
from .base import EnvContext, ImportContext, Kind, Undo, deep_merge

__all__ = ["EnvKind"]

_SUB_RESOURCES = ("apps", "roles", "policies", "serviceAccounts")
_NESTED_SUB_RESOURCES = (("notifications",), ("sms", "numbers"), ("storage", "locations"))




def _settings(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("object", "resource", "//", "_id", "code", "acl", "deployment", *_SUB_RESOURCES)}
    configuration = out.get("configuration")
    if isinstance(configuration, Mapping):
        configuration = dict(configuration)
        for path in _NESTED_SUB_RESOURCES:
            parent: dict[str, Any] = configuration
            for part in path[:-1]:
                child = parent.get(part)
                if not isinstance(child, Mapping):
                    break
                parent[part] = parent = dict(child)
            else:
                parent.pop(path[-1], None)
        out["configuration"] = configuration
    return out


class EnvKind(Kind):
    object = "env"
    group = "env"

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        undo = ctx.org_fields_undo("env", "name")
        before = ctx.org_doc("env")
        merged = deep_merge(before.get("env") or {}, _settings(resource.doc))
        update: dict[str, Any] = {"env": merged}
        if isinstance(merged.get("name"), str) and merged["name"]:
            update["name"] = merged["name"]
        with map_store_errors():
            ctx.store.orgs.update_one({"_id": ctx.org._id}, {"$set": update})
        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        doc = ctx.org_doc("env", "name")
        settings = dict(doc.get("env") or {})
        settings.setdefault("name", doc.get("name") or ctx.org.name)
        settings.update(object="env", resource="env")
        yield {k: settings[k] for k in sorted(settings)}
