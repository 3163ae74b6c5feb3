"""Resources stored as instances of standard objects in ``contexts`` (§4.10–§4.12, §4.14):
templates, views, i18ns and expressions. Scripts and REST read them as ``org.objects.views``
and the like; the modules that act on them (notifications, i18n, expressions) read them there.

The instance is the export document with the store's fields added, so an export gives it
back. A view's ``acl`` (who may run it) is kept as ``viewAcl``, because ``acl`` on an
instance is that instance's own ACL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from ...faults import Fault
from ...objects.store import map_store_errors
from ..resources import Resource, is_custom_name
from .base import EnvContext, ImportContext, Kind, Undo, export_form

__all__ = ["DocumentKind", "ExpressionKind", "I18nKind", "TemplateKind", "ViewKind"]

_RENAMED = {"acl": "viewAcl"}  # export field -> stored field (views)


class DocumentKind(Kind):
    """A kind stored as ``contexts`` instances of the standard object of the same name."""

    renamed: Mapping[str, str] = {}

    def query(self, ctx: EnvContext, resource_name: str) -> dict[str, Any]:
        return {"org": ctx.org._id, "object": self.object, "name": resource_name}

    def find(self, ctx: EnvContext, resource_name: str) -> dict[str, Any] | None:
        with map_store_errors():
            found: dict[str, Any] | None = ctx.store.contexts.find_one(self.query(ctx, resource_name))
        return found

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        before = self.find(ctx, resource.name)
        now = datetime.now(timezone.utc)
        fields = {self.renamed.get(k, k): v for k, v in resource.doc.items() if k not in ("object", "resource", "//", "_id", "org")}
        if before is None:
            doc = {
                "_id": ctx.planned_id(resource.key, lambda: None),
                "org": ctx.org._id,
                "object": self.object,
                **fields,
                "created": now,
                "creator": {"_id": ctx.principal._id},
                "owner": {"_id": ctx.principal._id},
                "updated": None,
                "acl": [],
            }
            with map_store_errors():
                ctx.store.contexts.insert_one(doc)
        else:
            with map_store_errors():
                ctx.store.contexts.update_one({"_id": before["_id"]}, {"$set": {**fields, "updated": now, "updater": {"_id": ctx.principal._id}}})

        def undo() -> None:
            with map_store_errors():
                if before is None:
                    ctx.store.contexts.delete_one({"_id": doc["_id"]})
                else:
                    ctx.store.contexts.replace_one({"_id": before["_id"]}, before)

        return undo

    def key_of(self, doc: Mapping[str, Any]) -> str:
        return f"{self.object}.{doc.get('name')}"

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        with map_store_errors():
            docs = list(ctx.store.contexts.find({"org": ctx.org._id, "object": self.object}))
        for doc in sorted(docs, key=self.key_of):
            out = export_form(doc)  # drops the instance's own acl
            for given, stored in self.renamed.items():
                if stored in out:
                    out[given] = out.pop(stored)
            out.update(object=self.object, resource=self.key_of(doc))
            yield {k: out[k] for k in sorted(out)}


_PARTIAL = re.compile(r"\{\{>\s*([\w.-]+)")
_EXTEND = re.compile(r"\{\{#extend\s+[\"']([\w.-]+)[\"']")


class TemplateKind(DocumentKind):
    """Templates (§4.10), keyed ``template.<type>.<name>``. A custom name installs the
    template; any other name is one of the platform's built-in templates, which exist
    on the platform already and are stored here the same way."""

    object = "template"
    group = "template"

    def query(self, ctx: EnvContext, resource_name: str) -> dict[str, Any]:
        template_type, _, name = resource_name.partition(".")
        return {"org": ctx.org._id, "object": "template", "type": template_type, "name": name}

    def key_of(self, doc: Mapping[str, Any]) -> str:
        return f"template.{doc.get('type')}.{doc.get('name')}"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        doc = resource.doc
        if doc.get("type") not in ("email", "sms", "push", "html"):
            raise Fault("cortex.invalidArgument.enumValue", reason="A template type is email, sms, push or html.", path="type")
        existing = self.find(ctx, resource.name)
        if existing is not None and bool(existing.get("partial")) != bool(doc.get("partial")):
            raise Fault(
                "cortex.invalidArgument.unspecified",
                reason="Incompatible template change detected. Both templates must be either partial or not.",
                path="partial",
            )
        for li, localization in enumerate(doc.get("localizations") or []):
            for ci, content in enumerate((localization or {}).get("content") or []):
                data = (content or {}).get("data")
                if not isinstance(data, str):
                    continue
                for name in _PARTIAL.findall(data) + _EXTEND.findall(data):
                    ctx.resolve_template(str(doc["type"]), name, f"localizations.{li}.content.{ci}.data")


class ViewKind(DocumentKind):
    """Views (§4.11): a role principal is allowed; ``acl`` is create-type, ``objectAcl`` default-type."""

    object = "view"
    group = "views"
    renamed = _RENAMED

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        doc = resource.doc
        if doc.get("principal") is not None:
            ctx.resolve_principal(doc["principal"], "principal", allow_role=True)
        if doc.get("sourceObject"):
            ctx.resolve_object(str(doc["sourceObject"]), "sourceObject")
        ctx.parse_acl(doc.get("acl"), "create", "acl", max_entries=50)
        ctx.parse_acl(doc.get("objectAcl"), "default", "objectAcl", max_entries=50)


_I18N_KEY = re.compile(r"^[a-zA-Z0-9_-]+$")


def _check_i18n_data(value: Any, path: str) -> None:
    if isinstance(value, list):
        raise Fault("cortex.invalidArgument.unspecified", reason="Expecting an object that contains keys without $ or . characters.", path=path)
    if isinstance(value, Mapping):
        for key, child in value.items():
            if not _I18N_KEY.match(str(key)):
                raise Fault("cortex.invalidArgument.unspecified", reason="Expecting an object that contains keys without $ or . characters.", path=f"{path}.{key}")
            _check_i18n_data(child, f"{path}.{key}")


class I18nKind(DocumentKind):
    """i18n bundles (§4.12); imported with the instances group, as on the platform."""

    object = "i18n"
    group = "instances"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        doc = resource.doc
        name = doc.get("name")
        if not isinstance(name, str) or not re.match(r"^[a-zA-Z0-9_-]{1,256}$", name):
            raise Fault("cortex.invalidArgument.customName", reason="Invalid custom/namespaced value.", path="name")
        if doc.get("namespace") is not None and not re.match(r"^[a-zA-Z0-9_.-]+$", str(doc["namespace"])):
            raise Fault("cortex.invalidArgument.unspecified", reason="An i18n namespace is a dot path.", path="namespace")
        if doc.get("data") is not None:
            _check_i18n_data(doc["data"], "data")
        tags = doc.get("tags") or []
        if not isinstance(tags, list) or len(tags) > 100 or any(not isinstance(t, str) or not 1 <= len(t) <= 100 for t in tags):
            raise Fault("cortex.invalidArgument.unspecified", reason="tags hold at most 100 strings of 1 to 100 characters.", path="tags")


class ExpressionKind(DocumentKind):
    """Named expressions (§4.14); evaluated by the expression language."""

    object = "expression"
    group = "expressions"

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        if not is_custom_name(resource.doc.get("name")):
            raise Fault("cortex.invalidArgument.customName", reason="Invalid custom/namespaced value.", path="name")
        if not resource.doc.get("label"):
            raise Fault("cortex.invalidArgument.required", reason="label is required.", path="label")

