"""How a stored instance is shown to a caller (spec §2, §6.4, §9).

Properties the caller may not read are left out quietly; optional properties only
appear when included or named in ``paths``; references come out as
``{_id, object, path}`` unless expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId

from ..faults import Fault
from .acl import resolve_access
from .definitions import plural
from .model import ObjectDef, PropertyDef
from .principals import Principal

__all__ = ["Selection", "check_paths", "shape", "reference"]

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

    def below(self, name: str) -> bool:
        """Whether ``paths`` select something inside property ``name``."""
        return self.paths is not None and any(p.startswith(name + ".") for p in self.paths)

    def expands(self, name: str) -> bool:
        if name in self.expand:
            return True
        return self.paths is not None and any(p.startswith(name + ".") and p != name for p in self.paths)


# Names every instance read may select besides its properties.
_READ_NAMES = frozenset(("_id", "object", "type", "access", "accessRoles", "acl", "favorite", "shared", "ETag", "org", *BUILTINS))
_LEAF_TYPES = frozenset(("String", "Number", "Boolean", "Date", "ObjectId", "UUID", "Binary", "Any", "Expression", "Coordinate", "Geometry"))


def _check_path(props: list[PropertyDef], parts: list[str], prefix: str) -> None:
    name = parts[0]
    prop = next((p for p in props if p.name == name), None)
    if prop is None:
        raise Fault("cortex.notFound.property", path=f"{prefix}{name}")
    rest = parts[1:]
    if not rest:
        return
    if prop.type in _LEAF_TYPES:
        if prop.array and prop.type != "Any":
            if re.fullmatch(r"-?\d+", rest[0]):
                return  # an index into the array; its bounds are checked as the value is read
            raise Fault("cortex.notFound.primitivePropertySelection", path=f"{prefix}{name}.{rest[0]}")
        raise Fault("cortex.notFound.property", path=f"{prefix}{name}.{rest[0]}")
    if prop.type == "Document" and prop.properties:
        if prop.array and (_HEX_ID.match(rest[0]) or re.fullmatch(r"-?\d+", rest[0])):
            rest = rest[1:]  # an element _id or index
            if not rest:
                return
        _check_path(prop.properties, rest, f"{prefix}{name}.")


_HEX_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def check_paths(obj: ObjectDef, type_name: Any, selection: Selection) -> None:
    """fidelity.md §4: with ``paths`` (and no ``passive``), an unknown name faults with
    ``cortex.notFound.property`` (path = the name, or ``<docpath>.<name>`` inside documents), a
    sub-path into a primitive with the same errCode and into a primitive array with
    ``cortex.notFound.primitivePropertySelection``. ``include`` names count only with ``paths``."""
    if selection.paths is None:
        return
    props = obj.properties + _type_properties(obj, type_name)
    for path in [*selection.paths, *sorted(selection.include)]:
        parts = [part for part in path.split(".") if part]
        if not parts or parts[0] in _READ_NAMES:
            continue
        _check_path(props, parts, "")


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
    passive: bool = True,
) -> dict[str, Any]:
    """The caller's view of a stored instance with resolved ``access``. List properties are
    virtual: they appear only when included or named in ``paths``, read through ``lists``.

    fidelity.md §4, reads with ``paths``: an unreadable property with sub-paths selected is
    ``cortex.accessDenied.propertyRead`` (path ``<object>.<fullpath>``) unless ``passive``; an index
    past the end of a primitive array is ``cortex.notFound.property`` and a document-array ``_id`` or
    index that does not exist ``cortex.notFound.document`` (path ``<fullpath>.<key>``), passive or not.
    Selecting primitive-array indexes leaves the array whole (the index only has to exist);
    selecting document-array elements by ``_id`` or index keeps only those elements, in array
    order, and one array's selection may not mix the two kinds of lookup."""
    strict = not passive and selection.paths is not None
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
            if strict and selection.below(prop.name):
                raise Fault("cortex.accessDenied.propertyRead", path=f"{obj.name}.{prop.name}")
            continue
        out[prop.name] = _value_out(
            principal, prop, doc[prop.name], access, selection.sub(prop.name), selection, load, grant, depth, doc, obj,
            fullpath=prop.name, strict=strict,
        )
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
    *,
    fullpath: str,
    strict: bool,
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
            chosen = _selected_elements([item for item in value if isinstance(item, Mapping)], inner, fullpath)
            shown = [
                (_document_out(principal, prop, item, access, item_selection, load, grant, depth, doc, obj, fullpath=fullpath, strict=strict), item_selection)
                for item, item_selection in chosen
            ]
            # fidelity.md §4: an element whose selected keys are all missing is dropped.
            return [element for element, item_selection in shown if item_selection.paths is None or set(element) - {"_id"}]
        if isinstance(value, Mapping):
            return _document_out(principal, prop, value, access, inner, load, grant, depth, doc, obj, fullpath=fullpath, strict=strict)
    if prop.array and isinstance(value, list) and inner.paths is not None:
        for key in sorted({p.split(".")[0] for p in inner.paths}):
            if _INDEX.match(key) and not -len(value) <= int(key) < len(value):
                raise Fault("cortex.notFound.property", path=f"{fullpath}.{key}")
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
    *,
    fullpath: str,
    strict: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "_id" in value:
        out["_id"] = value["_id"]
    for child in prop.properties:
        if child.name not in value or not child.readable or not selection.wants(child.name, child.optional):
            continue
        child_path = f"{fullpath}.{child.name}"
        if _property_access(principal, child, access, doc, obj) < child.read_access:
            if strict and selection.below(child.name):
                raise Fault("cortex.accessDenied.propertyRead", path=f"{obj.name}.{child_path}")
            continue
        out[child.name] = _value_out(
            principal, child, value[child.name], access, selection.sub(child.name), selection, load, grant, depth, doc, obj,
            fullpath=child_path, strict=strict,
        )
    return out


_INDEX = re.compile(r"^-?\d+$")


def _selected_elements(items: list[Mapping[str, Any]], selection: Selection, fullpath: str) -> list[tuple[Mapping[str, Any], Selection]]:
    """The document-array elements a selection reads, each with the selection inside it.

    Paths whose first segment is an element ``_id`` or an (optionally negative) index pick those
    elements (``cortex.notFound.document`` at ``<fullpath>.<key>`` when there is none); other
    paths apply to every picked element, or to all elements when nothing is picked."""
    if selection.paths is None:
        return [(item, selection) for item in items]
    keys = {p.split(".")[0] for p in selection.paths}
    ids = {k for k in keys if _HEX_ID.match(k)}
    indexes = {k for k in keys if _INDEX.match(k)}
    if not ids and not indexes:
        return [(item, selection) for item in items]
    if ids and indexes:
        raise Fault("cortex.invalidArgument.unspecified", reason="Cannot mix _id and index lookups on the same document.", path=fullpath)
    picked: dict[int, list[str]] = {}
    for key in sorted(ids | indexes):
        if key in ids:
            position = next((i for i, item in enumerate(items) if str(item.get("_id")) == key), None)
        else:
            number = int(key)
            position = number + len(items) if number < 0 else number
            if not 0 <= position < len(items):
                position = None
        if position is None:
            raise Fault("cortex.notFound.document", path=f"{fullpath}.{key}")
        picked.setdefault(position, []).append(key)
    shared = [p for p in selection.paths if p.split(".")[0] not in ids | indexes]
    out: list[tuple[Mapping[str, Any], Selection]] = []
    for position in sorted(picked):
        inner = Selection()
        whole = any(p in picked[position] for p in selection.paths)
        below = [p[len(k) + 1 :] for k in picked[position] for p in selection.paths if p.startswith(k + ".")]
        inner.paths = None if whole else (below + shared) or None
        inner.include, inner.expand = selection.include, selection.expand
        out.append((items[position], inner))
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
