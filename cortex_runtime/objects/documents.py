"""How a stored instance is shown to a caller (spec §2, §6.4, §9).

Properties the caller may not read are left out quietly; optional properties only
appear when included or named in ``paths``; references come out as
``{_id, object, path}`` unless expanded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId

from ..faults import Fault
from .acl import resolve_access
from .definitions import plural
from .model import ObjectDef, PropertyDef
from .principals import Principal

__all__ = ["Selection", "shape", "reference"]

BUILTINS = ("created", "creator", "owner", "updated", "updater")


class Selection:
    """The ``paths`` / ``include`` / ``expand`` of a read, as sets of dotted paths."""

    def __init__(self, paths: Any = None, include: Any = None, expand: Any = None) -> None:
        self.paths = self._list(paths, "paths")
        self.include = set(self._list(include, "include") or [])
        self.expand = set(self._list(expand, "expand") or [])

    @staticmethod
    def _list(value: Any, name: str) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Fault("cortex.invalidArgument.unspecified", reason=f"{name} must be an array of property paths.", path=name)
        return [v.strip("/").replace("/", ".") for v in value]

    def wants(self, name: str, optional: bool) -> bool:
        if self.paths is not None:
            return any(p == name or p.startswith(name + ".") for p in self.paths)
        return not optional or name in self.include

    def sub(self, name: str) -> Selection:
        """The selection below property ``name`` (for documents and expanded references)."""
        inner = Selection()
        if self.paths is not None:
            below = [p[len(name) + 1 :] for p in self.paths if p.startswith(name + ".")]
            inner.paths = below or None
        inner.include = {p[len(name) + 1 :] for p in self.include if p.startswith(name + ".")}
        inner.expand = {p[len(name) + 1 :] for p in self.expand if p.startswith(name + ".")}
        return inner

    def expands(self, name: str) -> bool:
        if name in self.expand:
            return True
        return self.paths is not None and any(p.startswith(name + ".") and p != name for p in self.paths)


def reference(value: Any, object_name: str, plural_name: str) -> Any:
    if isinstance(value, Mapping) and value.get("_id") is not None:
        ref_id = value["_id"]
        return {"_id": ref_id, "object": object_name, "path": f"/{plural_name}/{ref_id}"}
    return value


Loader = Callable[[str, ObjectId], tuple[ObjectDef, Mapping[str, Any]] | None]
# Reads a List property of an instance: (property, holder document, selection) -> list envelope.
ListReader = Callable[[PropertyDef, Mapping[str, Any], "Selection"], dict[str, Any]]


def shape(
    principal: Principal,
    obj: ObjectDef,
    doc: Mapping[str, Any],
    access: int,
    selection: Selection,
    *,
    load: Loader | None = None,
    grant: int | None = None,
    depth: int = 0,
    lists: ListReader | None = None,
) -> dict[str, Any]:
    """The caller's view of a stored instance with resolved ``access``. List properties are
    virtual: they appear only when included or named in ``paths``, read through ``lists``."""
    out: dict[str, Any] = {"_id": doc.get("_id"), "object": obj.name}
    if obj.object_types:
        out["type"] = doc.get("type")
    for name in BUILTINS:
        if name in doc and selection.wants(name, False):
            value = doc.get(name)
            if name in ("creator", "owner", "updater"):
                value = _reference_out(principal, "account", "accounts", value, selection, name, load, grant, depth)
            out[name] = value
    if selection.wants("access", False):
        out["access"] = access
    for prop in obj.properties + _type_properties(obj, doc.get("type")):
        if prop.type == "List":
            if lists is not None and prop.readable and selection.wants(prop.name, True) and access >= prop.read_access:
                out[prop.name] = lists(prop, doc, selection.sub(prop.name))
            continue
        if prop.name not in doc or not prop.readable or not selection.wants(prop.name, prop.optional):
            continue
        if _property_access(principal, prop, access, doc, obj) < prop.read_access:
            continue
        out[prop.name] = _value_out(principal, prop, doc[prop.name], access, selection.sub(prop.name), selection, load, grant, depth, doc, obj)
    return out


def _type_properties(obj: ObjectDef, type_name: Any) -> list[PropertyDef]:
    for object_type in obj.object_types:
        if object_type.name == type_name:
            return list(object_type.properties)
    return []


def _property_access(principal: Principal, prop: PropertyDef, access: int, doc: Mapping[str, Any], obj: ObjectDef) -> int:
    if not prop.acl:
        return access
    return max(access, resolve_access(principal, obj, doc, acl=prop.acl))


def _value_out(
    principal: Principal,
    prop: PropertyDef,
    value: Any,
    access: int,
    inner: Selection,
    selection: Selection,
    load: Loader | None,
    grant: int | None,
    depth: int,
    doc: Mapping[str, Any],
    obj: ObjectDef,
) -> Any:
    if value is None:
        return None
    if prop.type == "Reference":
        source = prop.source_object or str(prop.options.get("sourceObject") or "")
        if prop.array and isinstance(value, list):
            return [_reference_out(principal, source, plural(source), v, selection, prop.name, load, grant, depth) for v in value]
        return _reference_out(principal, source, plural(source), value, selection, prop.name, load, grant, depth)
    if prop.type in ("Document", "Set") and prop.properties:
        if prop.array and isinstance(value, list):
            return [_document_out(principal, prop, item, access, inner, load, grant, depth, doc, obj) for item in value if isinstance(item, Mapping)]
        if isinstance(value, Mapping):
            return _document_out(principal, prop, value, access, inner, load, grant, depth, doc, obj)
    if prop.type == "Geometry" and isinstance(value, Mapping):
        return {"type": value.get("type"), "coordinates": value.get("coordinates")}
    return value


def _document_out(
    principal: Principal,
    prop: PropertyDef,
    value: Mapping[str, Any],
    access: int,
    selection: Selection,
    load: Loader | None,
    grant: int | None,
    depth: int,
    doc: Mapping[str, Any],
    obj: ObjectDef,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "_id" in value:
        out["_id"] = value["_id"]
    for child in prop.properties:
        if child.name not in value or not child.readable or not selection.wants(child.name, child.optional):
            continue
        if _property_access(principal, child, access, doc, obj) < child.read_access:
            continue
        out[child.name] = _value_out(principal, child, value[child.name], access, selection.sub(child.name), selection, load, grant, depth, doc, obj)
    return out


def _reference_out(
    principal: Principal,
    object_name: str,
    plural_name: str,
    value: Any,
    selection: Selection,
    name: str,
    load: Loader | None,
    grant: int | None,
    depth: int,
) -> Any:
    stub = reference(value, object_name, plural_name)
    if load is None or not selection.expands(name) or not isinstance(stub, Mapping) or depth >= 3:
        return stub
    found = load(object_name, stub["_id"])
    if found is None:
        return stub
    target_obj, target_doc = found
    access = resolve_access(principal, target_obj, target_doc, grant=grant)
    if access < 1:
        return stub
    expanded = shape(principal, target_obj, target_doc, access, selection.sub(name), load=load, grant=grant, depth=depth + 1)
    return expanded
