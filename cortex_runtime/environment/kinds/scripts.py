"""``script`` (env/scripts/<name>.json + js/<type>.<name>.js): every script type (§4.3).

Checked before anything is written: the fields' rules, the principal (a service account
or an account, never a role), the configuration's references (a trigger's object, a
route's ACL and ``apiKey`` app), the source (compiled, cached by source hash, so a
second import compiles nothing), the runtime entries of a decorated library, and the
libraries the source requires. Written through the object layer, so the deployer
registers routes, triggers and jobs exactly as for a script saved any other way.

Stored as written: ``principal`` keeps its prefixed key, route ``apiKey`` the app name,
ACL shorthand is resolved by the object layer and formatted back on export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ...faults import Fault
from ...objects.acl_notation import custom_name, format_acl
from ...objects.store import map_store_errors
from ...org_runtime import decorated_entries
from ..resources import Resource
from .base import EnvContext, ImportContext, Kind, Undo

__all__ = ["ScriptKind"]

SCRIPT_TYPES = ("library", "route", "trigger", "job")
ENVIRONMENTS = ("production", "development", "*")
LANGUAGES = ("javascript/es6",)
# Configuration keys an export carries per type (§4.3).
CONFIGURATION_KEYS = {
    "library": ("export",),
    "route": ("method", "path", "acl", "apiKey", "priority", "urlEncoded", "plainText", "authValidation", "system"),
    "trigger": ("object", "event", "inline", "paths"),
    "job": ("cron",),
}
_EXPORTED = ("active", "configuration", "description", "environment", "if", "label", "language", "name", "object", "optimized", "principal", "script", "type", "weight")
_REQUIRE = re.compile(r"""(?:require\s*\(\s*|\bfrom\s+|\bimport\s+)(["'])((?:c_|[A-Za-z0-9-]+__)[^"']*)\1""")


def _invalid(reason: str, path: str, err_code: str = "cortex.invalidArgument.unspecified") -> Fault:
    return Fault(err_code, reason=reason, path=path)


class ScriptKind(Kind):
    object = "script"
    group = "scripts"

    def find(self, ctx: EnvContext, name: str) -> dict[str, Any] | None:
        with map_store_errors():
            found: dict[str, Any] | None = ctx.store.contexts.find_one({"org": ctx.org._id, "object": "script", "name": name})
        return found

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        doc = resource.doc
        custom_name(doc.get("name"), "name", auto_prefix=False)
        kind = doc.get("type")
        existing = self.find(ctx, resource.name)
        if existing is not None:
            kind = existing.get("type") if kind is None else kind
            if kind != existing.get("type"):
                raise _invalid(f"{resource.name} exists as a {existing.get('type')} script; a script's type is set when it is created.", "type")
        if kind not in SCRIPT_TYPES:
            raise _invalid(f"type must be one of {', '.join(SCRIPT_TYPES)}.", "type", "cortex.invalidArgument.enumValue")
        label = doc.get("label")
        if not isinstance(label, str) or not 1 <= len(label) <= 100:
            raise _invalid("A label of 1 to 100 characters is required.", "label", "cortex.invalidArgument.required")
        description = doc.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 512):
            raise _invalid("description is at most 512 characters.", "description")
        if doc.get("environment", "*") not in ENVIRONMENTS:
            raise _invalid("environment is production, development or *.", "environment", "cortex.invalidArgument.enumValue")
        if doc.get("language", "javascript/es6") not in LANGUAGES:
            raise _invalid("language must be javascript/es6.", "language", "cortex.invalidArgument.enumValue")
        if doc.get("optimized") is True:
            raise _invalid("Please contact support to enable optimized scripts.", "optimized")
        ctx.resolve_principal(doc.get("principal"), "principal", allow_role=False)
        configuration = doc.get("configuration") or {}
        if not isinstance(configuration, Mapping):
            raise _invalid("configuration must be an object.", "configuration")
        if kind == "route":
            ctx.parse_acl(configuration.get("acl"), "create", "configuration.acl", max_entries=50)
            if configuration.get("apiKey"):
                ctx.resolve_app(str(configuration["apiKey"]), "configuration.apiKey")
        if kind == "trigger" and configuration.get("object"):
            ctx.resolve_object(str(configuration["object"]), "configuration.object")
        source = doc.get("script")
        if not isinstance(source, str) or not source.strip():
            raise _invalid("A valid script.", "script", "cortex.invalidArgument.required")
        compiler = ctx.runtime.sandbox.compiler
        try:
            compiler.compile(source, kind="library" if kind == "library" else "script", max_size=ctx.runtime.deployer.max_script_size)
        except Fault as fault:
            fault.path = "script"
            raise
        if kind == "library" and "@" in source:
            for entry in decorated_entries(doc, compiler.decorators(source), resolver=ctx.resolver()):
                target = (entry.get("configuration") or {}).get("object")
                if entry.get("type") in ("trigger", "object") and target:
                    ctx.resolve_object(str(target), "script")
                if entry.get("principal"):
                    self._runtime_principal(ctx, entry["principal"])
        for _, export in _REQUIRE.findall(source):
            self._require(ctx, export)

    @staticmethod
    def _runtime_principal(ctx: ImportContext, key: Any) -> None:
        # Decorators may leave the prefix out: a custom name means a service account (§2.2).
        text = str(key)
        if "." not in text and "@" not in text:
            ctx.resolve_principal(f"serviceAccount.{text}" if text.startswith("c_") or "__" in text else f"account.{text}", "script", allow_role=False)
        elif text.split(".", 1)[0] in ("serviceAccount", "account", "role"):
            ctx.resolve_principal(text, "script", allow_role=False)

    def _require(self, ctx: ImportContext, export: str) -> None:
        export = export.lower()
        for resource in ctx.cache.of_kind("script"):
            if resource.doc.get("type") == "library" and str((resource.doc.get("configuration") or {}).get("export", "")).lower() == export:
                ctx.needed.add(resource.key)
                return
        with map_store_errors():
            found = ctx.store.contexts.find_one({"org": ctx.org._id, "object": "script", "type": "library", "configuration.export": export}, {"_id": 1})
        if found is None:
            search = '{"type":"library","configuration.export":"%s"}' % export
            raise Fault("cortex.notFound.unspecified", reason=f'An instance dependency "script.{search}" is missing for {ctx.full_path("script")}', path="script")

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        layer = ctx.layer()
        existing = self.find(ctx, resource.name)
        body = {k: v for k, v in resource.doc.items() if k in _EXPORTED and k != "object"}
        if existing is None:
            body.setdefault("active", True)
            created = layer.insert_one("script", body, {})

            def undo_create() -> None:
                ctx.layer().delete_one("script", {"_id": created}, {})

            return undo_create
        body.pop("type", None)
        layer.update_one("script", {"_id": existing["_id"]}, {"$set": body}, {})
        previous = {k: existing[k] for k in _EXPORTED if k in existing and k not in ("object", "type")}

        def undo_update() -> None:
            ctx.layer().update_one("script", {"_id": existing["_id"]}, {"$set": previous}, {})

        return undo_update

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        with map_store_errors():
            docs = list(ctx.store.contexts.find({"org": ctx.org._id, "object": "script"}).sort("name", 1))
        names = ctx.acl_names()
        for doc in docs:
            kind = str(doc.get("type"))
            out: dict[str, Any] = {k: doc.get(k) for k in _EXPORTED if k in doc}
            out.update(object="script", resource=f"script.{doc['name']}")
            configuration = dict(doc.get("configuration") or {})
            reduced = {k: configuration[k] for k in CONFIGURATION_KEYS.get(kind, ()) if k in configuration}
            if kind == "route" and isinstance(reduced.get("acl"), list):
                reduced["acl"] = format_acl(reduced["acl"], "create", names)
            out["configuration"] = reduced
            yield {k: out[k] for k in sorted(out)}
