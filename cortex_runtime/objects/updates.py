"""Update documents: ``$set``, ``$push``, ``$unset``, ``$remove`` (scripting-core §5.5) and patch ops.

Applied in that order to a copy of the stored document. A path segment that is a
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

__all__ = ["apply_update", "patch_to_update"]

OPERATORS = ("$set", "$push", "$unset", "$remove")
_HEX_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def _bad(reason: str, path: str | None = None) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason, path=path)


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)


def _element(items: list[Any], elem_id: str) -> dict[str, Any] | None:
    for item in items:
        if isinstance(item, dict) and _same(item.get("_id"), elem_id):
            return item
    return None


def _walk(doc: dict[str, Any], parts: list[str], full: str) -> tuple[Any, str]:
    """The container holding the last segment of ``parts``, and that segment."""
    current: Any = doc
    for part in parts[:-1]:
        if isinstance(current, list):
            if not _HEX_ID.match(part):
                raise _bad("Array elements are addressed by _id.", full)
            found = _element(current, part)
            if found is None:
                raise Fault("cortex.notFound.instance", reason=f"No element {part} in {full}.", path=full)
            current = found
        elif isinstance(current, dict):
            if part not in current or current[part] is None:
                current[part] = {}
            current = current[part]
        else:
            raise Fault("cortex.notFound.pathEndedPrematurely", path=full)
    return current, parts[-1]


def _merge_document_array(existing: list[Any], items: list[Any], path: str, merge: bool) -> list[Any]:
    with_id = [i for i in items if isinstance(i, Mapping) and i.get("_id") is not None]
    if not with_id:
        return list(items)
    if len(with_id) != len(items) and not merge:
        raise _bad("An array update cannot mix elements with and without _id unless merging.", path)
    out = list(existing)
    for item in items:
        if isinstance(item, Mapping) and item.get("_id") is not None:
            target = _element(out, str(item["_id"]))
            if target is None:
                raise Fault("cortex.notFound.instance", reason=f"No element {item['_id']} in {path}.", path=path)
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


def _push(doc: dict[str, Any], path: str, value: Any) -> None:
    container, key = _walk(doc, path.split("."), path)
    if isinstance(container, list):
        raise _bad("Cannot push into an array element by position.", path)
    items = value if isinstance(value, list) else [value]
    current = container.get(key)
    if current is None:
        current = []
    if not isinstance(current, list):
        raise _bad(f"{path} is not an array.", path)
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


def apply_update(stored: Mapping[str, Any], update: Any, *, merge: bool = False) -> tuple[dict[str, Any], set[str], set[str]]:
    """Apply ``update`` to a copy of ``stored``: (new document, changed top-level names, unset top-level names)."""
    if not isinstance(update, Mapping) or not update:
        raise _bad("An update document with $set, $push, $unset or $remove is required.")
    if not any(str(key).startswith("$") for key in update):
        update = {"$set": dict(update)}  # a plain body sets its properties, as a REST PUT does
    unknown = [key for key in update if key not in OPERATORS]
    if unknown:
        raise _bad(f"Unsupported update operator {unknown[0]}.", unknown[0])
    doc = copy.deepcopy(dict(stored))
    changed: set[str] = set()
    removed: set[str] = set()
    for operator in OPERATORS:
        body = update.get(operator)
        if body is None:
            continue
        if not isinstance(body, Mapping):
            raise _bad(f"{operator} expects an object.", operator)
        for path, value in body.items():
            top = path.split(".")[0]
            if operator == "$set":
                _set(doc, path, value, merge)
            elif operator == "$push":
                _push(doc, path, value)
            elif operator == "$unset":
                _unset(doc, path)
                if "." not in path:
                    removed.add(top)
            else:
                _remove(doc, path, value)
            changed.add(top)
    return doc, changed, removed


def patch_to_update(ops: Any) -> dict[str, Any]:
    """Patch ops (``[{op: 'set'|'unset'|'push'|'remove', path?, value}]``) as an update document."""
    if not isinstance(ops, list) or not ops:
        raise Fault("cortex.invalidArgument.emptyOperationsPayload")
    update: dict[str, dict[str, Any]] = {}
    for index, op in enumerate(ops):
        if not isinstance(op, Mapping) or op.get("op") not in ("set", "unset", "push", "remove"):
            raise _bad(f"Invalid patch operation at {index}.", str(index))
        kind, path, value = op["op"], op.get("path"), op.get("value")
        target = update.setdefault("$" + kind, {})
        if kind in ("set", "unset") and path is None:
            if not isinstance(value, Mapping):
                raise _bad(f"Patch {kind} at {index} expects an object value.", str(index))
            target.update(value)
        elif path is None:
            raise _bad(f"Patch {kind} at {index} needs a path.", str(index))
        elif kind == "set":
            target[path] = value
        elif kind == "unset":
            target[path] = 1
        else:
            target[path] = value
    return update
