"""``object`` (env/objects/<name>.json): custom object definitions and extensions of the
built-in ``account`` and ``org`` (§4.2).

A file is merged into the stored definition: properties and object types are sets keyed
by name (one missing from the file stays), every other field given replaces the stored
one. The merged definition is checked exactly as an ordinary write checks it, with the
import's resolver for ACL principals, and every ``sourceObject`` must name an object of
the import, of the org or of the platform. The objects group writes definitions in one
pass: references between objects are by name, so their order does not matter here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...objects.acl_notation import AclNames, format_acl, level_word
from ...objects.definitions import Definitions
from ...objects.store import map_store_errors
from ..resources import Resource
from .base import EnvContext, ImportContext, Kind, Undo

__all__ = ["ObjectKind"]

# Definition fields the store keeps that an export never shows (§4.2).
_NOT_EXPORTED = ("_id", "org", "object", "created", "creator", "owner", "updated", "updater", "pluralName", "acl", "resource")
_ACL_FIELDS = {"defaultAcl": "default", "createAcl": "create", "shareAcl": "share"}
_PROPERTY_ACLS = {"acl": "default", "defaultAcl": "default", "createAcl": "create", "pacl": "pacl"}
_LEVEL_OPTIONS = ("readAccess", "writeAccess", "grant", "referenceAccess")
_REFERENCING = ("Reference", "List", "ObjectId")


def _merge_named(stored: list[Any], given: list[Any], merge_item: Any = None) -> list[Any]:
    """Merge two arrays of ``{name, ...}``: given items replace (or merge into) stored ones of
    the same name, stored ones the file lacks stay, new ones are appended."""
    by_name = {item.get("name"): item for item in given if isinstance(item, Mapping)}
    out = []
    for item in stored:
        if not isinstance(item, Mapping):
            continue
        name = item.get("name")
        if name in by_name:
            out.append(merge_item(item, by_name.pop(name)) if merge_item else by_name.pop(name))
        else:
            out.append(item)
    out.extend(item for item in given if isinstance(item, Mapping) and item.get("name") in by_name)
    return out


def _merge_type(stored: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**stored, **given}
    merged["properties"] = _merge_named(list(stored.get("properties") or []), list(given.get("properties") or []))
    return merged


def merge_definition(stored: Mapping[str, Any] | None, given: Mapping[str, Any]) -> dict[str, Any]:
    incoming = {k: v for k, v in given.items() if k not in ("object", "resource", "//")}
    if stored is None:
        return incoming
    merged = {k: v for k, v in stored.items() if k not in _NOT_EXPORTED}
    merged.update(incoming)
    if "properties" in incoming:
        merged["properties"] = _merge_named(list(stored.get("properties") or []), list(incoming.get("properties") or []))
    if "objectTypes" in incoming:
        merged["objectTypes"] = _merge_named(list(stored.get("objectTypes") or []), list(incoming.get("objectTypes") or []), _merge_type)
    return merged


def _walk(properties: Any, path: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    for index, prop in enumerate(properties or []):
        if not isinstance(prop, Mapping):
            continue
        here = f"{path}.{prop.get('name', index)}"
        yield prop, here
        yield from _walk(prop.get("properties"), f"{here}.properties")
        yield from _walk(prop.get("documents"), f"{here}.documents")


def _export_properties(properties: Any, names: AclNames) -> list[Any]:
    out = []
    for prop in properties or []:
        if not isinstance(prop, Mapping):
            out.append(prop)
            continue
        item = dict(prop)
        for field, kind in _PROPERTY_ACLS.items():
            if isinstance(item.get(field), list):
                item[field] = format_acl(item[field], kind, names)
        localization = item.get("localization")
        if isinstance(localization, Mapping):
            localization = dict(localization)
            if isinstance(localization.get("acl"), list):
                localization["acl"] = format_acl(localization["acl"], "default", names)
            item["localization"] = localization
        for option in _LEVEL_OPTIONS:
            if isinstance(item.get(option), int) and not isinstance(item.get(option), bool):
                item[option] = level_word(item[option])
        for nested in ("properties", "documents"):
            if isinstance(item.get(nested), list):
                item[nested] = _export_properties(item[nested], names)
        out.append(item)
    return sorted(out, key=lambda p: str(p.get("name")) if isinstance(p, Mapping) else "")


def export_definition(doc: Mapping[str, Any], names: AclNames) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in _NOT_EXPORTED}
    for field, kind in _ACL_FIELDS.items():
        if isinstance(out.get(field), list):
            out[field] = format_acl(out[field], kind, names)
    if isinstance(out.get("shareChain"), list):
        out["shareChain"] = [level_word(n) if isinstance(n, int) else n for n in out["shareChain"]]
    out["properties"] = _export_properties(out.get("properties"), names)
    if isinstance(out.get("objectTypes"), list):
        out["objectTypes"] = [
            {**t, "properties": _export_properties(t.get("properties"), names)} if isinstance(t, Mapping) else t
            for t in out["objectTypes"]
        ]
        for object_type in out["objectTypes"]:
            if isinstance(object_type, dict):
                object_type.pop("_id", None)
    out.update(object="object", resource=f"object.{doc.get('name')}")
    return {k: out[k] for k in sorted(out)}


class ObjectKind(Kind):
    object = "object"
    group = "objects"

    def find(self, ctx: EnvContext, name: str) -> dict[str, Any] | None:
        with map_store_errors():
            found: dict[str, Any] | None = ctx.store.contexts.find_one({"org": ctx.org._id, "object": "object", "name": name.lower()})
        return found

    def check(self, ctx: ImportContext, resource: Resource) -> None:
        merged = merge_definition(self.find(ctx, resource.name), resource.doc)
        Definitions(ctx.store, ctx.org._id, resolver=ctx.resolver()).validate(merged)
        sources = [(merged.get("properties"), "properties")] + [
            (t.get("properties"), f"objectTypes.{t.get('name')}.properties") for t in merged.get("objectTypes") or [] if isinstance(t, Mapping)
        ]
        for properties, path in sources:
            for prop, here in _walk(properties, path):
                if prop.get("type") in _REFERENCING and prop.get("sourceObject"):
                    ctx.resolve_object(str(prop["sourceObject"]), f"{here}.sourceObject")

    def apply(self, ctx: ImportContext, resource: Resource) -> Undo:
        definitions = Definitions(ctx.store, ctx.org._id)
        existing = self.find(ctx, resource.name)
        merged = merge_definition(existing, resource.doc)
        names = ctx.acl_names()
        if existing is None:
            created = definitions.create(merged, ctx.principal)
            return lambda: Definitions(ctx.store, ctx.org._id).delete(created)
        if export_definition(existing, names) == export_definition({**existing, **definitions.validate(merged, existing=existing)}, names):
            return lambda: None  # the same definition: nothing to write
        definitions.replace(existing, merged, ctx.principal)

        def undo() -> None:
            with map_store_errors():
                ctx.store.contexts.replace_one({"_id": existing["_id"]}, existing)

        return undo

    def export(self, ctx: EnvContext) -> Iterator[dict[str, Any]]:
        with map_store_errors():
            docs = list(ctx.store.contexts.find({"org": ctx.org._id, "object": "object"}).sort("name", 1))
        names = ctx.acl_names()
        for doc in docs:
            yield export_definition(doc, names)
