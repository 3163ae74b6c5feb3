"""Update documents: ``$set``, ``$push``, ``$unset``, ``$pull``, ``$remove`` and patch ops (fidelity.md §3).

``normalise_update`` reads an update document as the platform does: only the five operators count,
any other key (``$inc``, ``$addToSet``, plain property names) is ignored, and an update with nothing
left is ``cortex.invalidArgument.emptyOperationsPayload``. Operators apply in the update document's
key order to a copy of the stored document. A path segment that is a
24-hex id addresses the document-array element with that ``_id``, so
``c_doc.<elemId>.c_prop`` reaches into one element. Returns the new document and the
top-level properties that changed; access and validation are the caller's business.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from ..faults import Fault
from .model import PropertyDef

__all__ = ["apply_update", "normalise_update", "patch_to_update"]

OPERATORS = ("$set", "$push", "$unset", "$pull", "$remove")
_HEX_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_INDEX = re.compile(r"^-?\d+$")
# A removal of the whole value at a path ($unset), as opposed to the removal of one value.
_WHOLE: Any = object()


def _bad(reason: str, path: str | None = None) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason, path=path)


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)


def _element(items: list[Any], elem_id: str) -> dict[str, Any] | None:
    for item in items:
        if isinstance(item, dict) and _same(item.get("_id"), elem_id):
            return item
    return None


def _fullpath(parts: list[str]) -> str:
    return ".".join(part for part in parts if not _HEX_ID.match(part))


def _walk(doc: dict[str, Any], parts: list[str], full: str) -> tuple[Any, str]:
    """The container holding the last segment of ``parts``, and that segment."""
    current: Any = doc
    for index, part in enumerate(parts[:-1]):
        if isinstance(current, list):
            if not _HEX_ID.match(part):
                raise _bad("Array elements are addressed by _id.", full)
            found = _element(current, part)
            if found is None:
                # fidelity.md §2: a missing document-array element is notFound.document at <fullpath>.<id>.
                raise Fault("cortex.notFound.document", path=f"{_fullpath(parts[:index])}.{part}")
            current = found
        elif isinstance(current, dict):
            if part not in current or current[part] is None:
                current[part] = {}
            current = current[part]
        else:
            raise Fault("cortex.notFound.pathEndedPrematurely", path=full)
    return current, parts[-1]


def _element_ids(items: list[Any], path: str) -> list[Any]:
    """The ``_id`` each written element names (None for an add). fidelity.md §3: an ``_id`` that
    is not an ObjectId is ``Invalid document _id. Expected an ObjectId.``"""
    ids = []
    for item in items:
        raw = item.get("_id") if isinstance(item, Mapping) else None
        if raw is not None and not isinstance(raw, ObjectId) and not (isinstance(raw, str) and _HEX_ID.match(raw)):
            raise _bad("Invalid document _id. Expected an ObjectId.", _fullpath(path.split(".")))
        ids.append(raw)
    return ids


def _check_adds_and_updates(ids: list[Any], path: str, merge: bool) -> None:
    """Adds and updates in one write need merge (fidelity.md §3)."""
    if not merge and any(i is None for i in ids) and any(i is not None for i in ids):
        raise _bad("Pushed document has an _id and/or updated document is missing an _id.", _fullpath(path.split(".")))


def _merge_document_array(existing: list[Any], items: list[Any], path: str, merge: bool) -> list[Any]:
    ids = _element_ids(items, path)
    if all(i is None for i in ids):
        return list(items)
    _check_adds_and_updates(ids, path, merge)
    out = list(existing)
    for item in items:
        if isinstance(item, Mapping) and item.get("_id") is not None:
            target = _element(out, str(item["_id"]))
            if target is None:
                raise Fault("cortex.notFound.document", path=f"{_fullpath(path.split('.'))}.{item['_id']}")
            target.update({k: v for k, v in item.items() if k != "_id"})
        else:
            out.append(dict(item) if isinstance(item, Mapping) else item)
    return out


def _set(doc: dict[str, Any], path: str, value: Any, merge: bool) -> None:
    container, key = _walk(doc, path.split("."), path)
    if isinstance(container, list):
        raise _bad("Cannot set an array element by position.", path)
    current = container.get(key)
    if isinstance(current, list) and isinstance(value, list) and current and isinstance(current[0], dict):
        container[key] = _merge_document_array(current, value, path, merge)
    else:
        container[key] = value


def _push(doc: dict[str, Any], path: str, value: Any, merge: bool = False) -> None:
    container, key = _walk(doc, path.split("."), path)
    if isinstance(container, list):
        raise _bad("Cannot push into an array element by position.", path)
    items = value if isinstance(value, list) else [value]
    current = container.get(key)
    if current is None:
        current = []
    if not isinstance(current, list):
        raise _bad(f"{path} is not an array.", path)
    if any(isinstance(item, Mapping) for item in items):
        # fidelity.md §3: a pushed element naming an _id updates that element, which must exist.
        ids = _element_ids(items, path)
        _check_adds_and_updates(ids, path, merge)
        for elem_id in ids:
            if elem_id is not None and _element(current, str(elem_id)) is None:
                raise Fault("cortex.notFound.document", path=f"{_fullpath(path.split('.'))}.{elem_id}")
    for item in items:
        # {_id, c_arr: [...]} pushes into that element's arrays.
        if isinstance(item, Mapping) and item.get("_id") is not None and _element(current, str(item["_id"])) is not None:
            target = _element(current, str(item["_id"]))
            assert target is not None
            for inner_key, inner_value in item.items():
                if inner_key == "_id":
                    continue
                inner = target.get(inner_key) or []
                target[inner_key] = list(inner) + (inner_value if isinstance(inner_value, list) else [inner_value])
        else:
            current = list(current) + [dict(item) if isinstance(item, Mapping) else item]
    container[key] = current


def _unset(doc: dict[str, Any], path: str) -> None:
    container, key = _walk(doc, path.split("."), path)
    if isinstance(container, list):
        raise _bad("Cannot unset an array element by position.", path)
    container.pop(key, None)


def _remove(doc: dict[str, Any], path: str, values: Any) -> None:
    container, key = _walk(doc, path.split("."), path)
    current = container.get(key) if isinstance(container, dict) else None
    if not isinstance(current, list):
        raise _bad(f"{path} is not an array.", path)
    values = values if isinstance(values, list) else [values]
    keep = []
    for item in current:
        if isinstance(item, dict) and "_id" in item:
            if any(_same(item["_id"], v) for v in values):
                continue
        elif any(item == v or (isinstance(v, (str, ObjectId)) and _same(item, v)) for v in values):
            continue
        keep.append(item)
    container[key] = keep


def _suppressed(fault: Fault, passive: bool) -> bool:
    """Raise ``fault`` unless ``passive`` lets the removal be skipped (fidelity.md §4)."""
    if not passive:
        raise fault
    return False


def _removal_allowed(props: list[PropertyDef], holder: Any, parts: list[str], value: Any, passive: bool, prefix: str = "") -> bool:
    """Check one removal against the schema and the document as it stands (fidelity.md §3).

    ``parts`` is the dotted path and ``value`` the value removed there (``_WHOLE`` for ``$unset``).
    Document-array elements are addressed by ``_id`` only: a numeric index (or any other key) is
    ``Elements can only be removed by _id for path <fullpath>``, and a missing ``_id`` is
    ``cortex.notFound.document`` at ``<fullpath>.<id>`` even when passive. An unknown property
    inside an element is ``cortex.notFound.unspecified`` (``Element not found``), which ``passive``
    skips. A whole non-array Document cannot be removed, and a value cannot be removed from a
    non-array property. Unknown top-level names are left to the write checks. Returns False when
    ``passive`` skips the removal."""
    name, rest = parts[0], parts[1:]
    prop = next((p for p in props if p.name == name), None)
    full = f"{prefix}{name}"
    if prop is None:
        return True
    current = holder.get(name) if isinstance(holder, Mapping) else None
    if prop.type in ("Document", "Set") and prop.array:
        if not rest and value is _WHOLE:
            return True
        key = rest[0] if rest else value
        if isinstance(key, Mapping) and key.get("_id") is not None:
            key = key["_id"]
        if not isinstance(key, ObjectId) and not (isinstance(key, str) and _HEX_ID.match(key)):
            raise _bad(f"Elements can only be removed by _id for path {full}", full)
        element = _element(current if isinstance(current, list) else [], str(key))
        if element is None:
            raise Fault("cortex.notFound.document", path=f"{full}.{key}")
        inner = rest[1:]
        if not inner or prop.type == "Set":
            return True
        child = next((c for c in prop.properties if c.name == inner[0]), None)
        if child is None:
            return _suppressed(Fault("cortex.notFound.unspecified", reason="Element not found", path=f"{full}.{inner[0]}"), passive)
        return _removal_allowed(prop.properties, element, inner, value, passive, f"{full}.")
    if prop.type == "Document" and prop.properties:
        if not rest:
            if value is _WHOLE:
                raise Fault("cortex.accessDenied.unspecified", reason="Documents with properties cannot be removed.", path=full)
            return True
        return _removal_allowed(prop.properties, current, rest, value, passive, f"{full}.")
    if rest and value is _WHOLE:
        value, rest = rest[0], rest[1:]
    if value is _WHOLE or rest:
        return True
    if not prop.array:
        raise _bad("Cannot remove value from non-array property.", full)
    # A value missing from a primitive array is left alone here: the legacy objects module's
    # path delete answers "nothing modified" for it (fidelity.md §6).
    return True


def _removal_values(operator: str, path: str, values: Any) -> None:
    items = values if isinstance(values, list) else [values]
    for item in items:
        if isinstance(item, (Mapping, list)):
            raise Fault("cortex.invalidArgument.primitiveExpectedforPatchRemoveValue", path=path)


def normalise_update(update: Any) -> dict[str, Any]:
    """The operators of ``update`` the platform acts on, in key order (fidelity.md §3, §15.1).

    Keys other than ``$set``, ``$push``, ``$unset``, ``$pull`` and ``$remove`` are dropped without a
    fault; an operator whose value is not an object is ``objectExpectedForPatchValue``; removal
    values must be primitives, ids or dates. Nothing left to do is ``emptyOperationsPayload``."""
    kept: dict[str, Any] = {}
    if isinstance(update, Mapping):
        for operator, body in update.items():
            if operator not in OPERATORS:
                continue
            if not isinstance(body, Mapping):
                raise Fault("cortex.invalidArgument.objectExpectedForPatchValue", path=operator)
            if operator in ("$pull", "$remove"):
                for path, values in body.items():
                    _removal_values(operator, str(path), values)
            if body:
                kept[operator] = dict(body)
    if not kept:
        raise Fault("cortex.invalidArgument.emptyOperationsPayload")
    return kept


def apply_update(
    stored: Mapping[str, Any],
    update: Any,
    *,
    merge: bool = False,
    props: list[PropertyDef] | None = None,
    passive: bool = False,
) -> tuple[dict[str, Any], set[str], set[str]]:
    """Apply ``update`` to a copy of ``stored``: (new document, changed top-level names, unset top-level names).

    Internal callers may pass a plain body, read as ``$set``; scripts' updates go through
    :func:`normalise_update` first. With ``props`` (the instance's properties) each removal is
    checked against the document as the earlier operators left it, ``passive`` skipping what
    fidelity.md §4 lets it skip."""
    if not isinstance(update, Mapping) or not update:
        raise Fault("cortex.invalidArgument.emptyOperationsPayload")
    if not any(str(key).startswith("$") for key in update):
        update = {"$set": dict(update)}
    doc = copy.deepcopy(dict(stored))
    changed: set[str] = set()
    removed: set[str] = set()
    for operator, body in update.items():
        if operator not in OPERATORS:
            continue
        if not isinstance(body, Mapping):
            raise Fault("cortex.invalidArgument.objectExpectedForPatchValue", path=operator)
        for path, value in body.items():
            top = path.split(".")[0]
            if operator == "$set":
                _set(doc, path, value, merge)
            elif operator == "$push":
                _push(doc, path, value, merge)
            elif operator == "$unset":
                if props is not None and not _removal_allowed(props, doc, path.split("."), _WHOLE, passive):
                    continue
                _unset(doc, path)
                if "." not in path:
                    removed.add(top)
            else:
                if props is not None:
                    items = value if isinstance(value, list) else [value]
                    value = [item for item in items if _removal_allowed(props, doc, path.split("."), item, passive)]
                    if not value:
                        continue
                _remove(doc, path, value)
            changed.add(top)
    return doc, changed, removed


_PATCH_OPS = ("set", "unset", "push", "pull", "remove")


def patch_to_update(ops: Any) -> dict[str, Any]:
    """Patch ops (``[{op: 'set'|'unset'|'push'|'pull'|'remove', path?, value}]``) as an update document.

    Faults as fidelity.md §3: a non-object entry is ``objectExpectedForPatchOperation``, an unknown
    ``op`` ``unsupportedOperation.patchOp`` (path = the op), a non-string path
    ``stringExpectedforPatchPath``, a missing value ``valueExpectedForPatchValue`` and a ``pull``
    without both ``path`` and ``value`` ``pathAndValueExpectedForPullOperation``."""
    if isinstance(ops, Mapping):
        ops = [ops]
    if not isinstance(ops, list) or not ops:
        raise Fault("cortex.invalidArgument.emptyOperationsPayload")
    update: dict[str, dict[str, Any]] = {}
    for index, op in enumerate(ops):
        if not isinstance(op, Mapping):
            raise Fault("cortex.invalidArgument.objectExpectedForPatchOperation", index=index)
        kind, path, value = op.get("op"), op.get("path"), op.get("value")
        if kind not in _PATCH_OPS:
            raise Fault("cortex.unsupportedOperation.patchOp", path=None if kind is None else str(kind), index=index)
        if path is not None and not isinstance(path, str):
            raise Fault("cortex.invalidArgument.stringExpectedforPatchPath", index=index)
        if kind == "pull" and (path is None or "value" not in op):
            raise Fault("cortex.invalidArgument.pathAndValueExpectedForPullOperation", index=index)
        if "value" not in op and not (kind == "unset" and path is not None):
            raise Fault("cortex.invalidArgument.valueExpectedForPatchValue", path=path, index=index)
        target = update.setdefault("$" + kind, {})
        if path is None:
            if not isinstance(value, Mapping):
                raise Fault("cortex.invalidArgument.objectExpectedForPatchValue", path=kind, index=index)
            target.update(value)
        elif kind == "unset":
            target[path] = 1
        elif kind in ("pull", "remove"):
            _removal_values("$" + kind, path, value)
            target[path] = value
        else:
            target[path] = value
    return update
