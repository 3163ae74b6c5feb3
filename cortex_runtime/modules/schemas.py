"""``require('schemas')``: ``read(objectName, path?)`` and ``version`` (modules.md §15).

``read`` gives an object's definition as the platform shapes a schema: a plain object with
the definition's options and its properties (each with its options and, for Document
properties, its own ``properties``), as the org sees it (standard objects with the org's
extensions). With ``path`` (dots or slashes) only the node at that path comes back; inside
a list a segment names an element by its ``name`` (``properties.c_name.type``), or by its
index. A path that leads nowhere gives ``undefined`` (inferred). An unknown object is
``cortex.invalidArgument.object``, as for any object lookup.

``version`` is ``'1.0.0'``; as a module member it is a function here (``schemas.version()``),
since Python modules expose methods only.
"""

from __future__ import annotations

import re
from typing import Any

from ..faults import Fault
from ..objects.definitions import Definitions
from ..objects.model import ObjectDef, PropertyDef
from ..sandbox import RunInfo
from ..sandbox.codec import UNDEFINED

__all__ = ["VERSION", "SchemasModule", "schema_of"]

VERSION = "1.0.0"
_SEPARATORS = re.compile(r"[./]")


def _property(prop: PropertyDef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "array": prop.array,
        "indexed": prop.indexed,
        "unique": prop.unique,
        "readable": prop.readable,
        "writable": prop.writable,
        "creatable": prop.creatable,
        "removable": prop.removable,
        "optional": prop.optional,
        "readAccess": prop.read_access,
        "writeAccess": prop.write_access,
        "acl": list(prop.acl),
        "validators": [dict(v) for v in prop.validators],
    }
    for key in ("description", "default", "maxItems", "minItems", "uniqueValues", "localized", "history", "auditable"):
        if key in prop.options:
            out[key] = prop.options[key]
    if prop.source_object:
        out["sourceObject"] = prop.source_object
        out["expandable"] = prop.expandable
    if prop.type in ("Document", "Set") or prop.properties:
        out["properties"] = [_property(child) for child in prop.properties]
    return out


def schema_of(definition: ObjectDef) -> dict[str, Any]:
    """The schema document of one object definition."""
    doc = definition.document or {}
    out: dict[str, Any] = {
        "_id": definition.id,
        "object": "schema",
        "name": definition.name,
        "label": definition.label,
        "pluralName": definition.plural_name,
        "custom": not definition.standard,
        "extensible": definition.extensible,
        "defaultAcl": list(definition.default_acl),
        "createAcl": list(definition.create_acl),
        "shareAcl": list(definition.share_acl),
        "shareChain": list(definition.share_chain),
        "properties": [_property(prop) for prop in definition.properties],
        "objectTypes": [
            {"_id": t.id, "name": t.name, "label": t.label, "properties": [_property(p) for p in t.properties]}
            for t in definition.object_types
        ],
    }
    if out["_id"] is None:
        del out["_id"]
    for key in ("description", "uniqueKey", "hasOwner", "isVersioned", "isDeletable", "isUnmanaged"):
        if key in doc:
            out[key] = doc[key]
    return out


def _dig(node: Any, path: str) -> Any:
    for part in (p for p in _SEPARATORS.split(path) if p):
        if isinstance(node, dict):
            if part not in node:
                return UNDEFINED
            node = node[part]
        elif isinstance(node, list):
            named = next((item for item in node if isinstance(item, dict) and item.get("name") == part), None)
            if named is not None:
                node = named
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return UNDEFINED
        else:
            return UNDEFINED
    return node


class SchemasModule:
    require_name = "schemas"
    prefix = "schemas."
    methods = ("read", "version")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name == "schemas.version":
            return VERSION
        if name == "schemas.read":
            object_name = args[0] if args else None
            if not isinstance(object_name, str) or not object_name:
                raise Fault("cortex.invalidArgument.unspecified", reason="schemas.read expects an object name.", path="objectName")
            path = args[1] if len(args) > 1 else None
            if path is not None and not isinstance(path, str):
                raise Fault("cortex.invalidArgument.unspecified", reason="schemas.read expects a string path.", path="path")
            layer = run.context.objects.layer
            schema = schema_of(Definitions(layer.store, layer.org_id).require(object_name))
            return _dig(schema, path) if path else schema
        raise Fault("script.invalidArgument.unknownCommand", path=name)
