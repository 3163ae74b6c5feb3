"""``require('config')``: the org's configuration key/value store (spec modules.md §23, source facts).

Every top-level key is one document of the ``configs`` collection, ``{org, key, value,
isPublic}``: the shape environment imports write (``environment/kinds/configs.py``), which
also takes its size check from here (``MAX_CONFIG_BYTES``, ``config_size``). Documents we
write also carry ``seq``, a write count for optimistic sequencing: a write reads, changes the
value in Python and stores it only if ``seq`` is unchanged, else it reads again (the source's
retry on ``cortex.conflict.sequencing``). A document without ``seq`` (an import) counts as 0.

* ``get(path, {extended, publicOnly})`` follows a dotted path (numeric segments index arrays);
  a missing path is ``undefined``; ``extended`` gives ``{value, isPublic}``.
* ``set(path, val = null, {isPublic})`` writes the path, creating objects on the way (a path
  through a scalar replaces it with an object, as a JavaScript path setter does); ``null``
  unsets the path, and at the top level removes the key and its metadata; with no config
  stored for the org at all it returns ``false``, otherwise it returns ``val``. ``isPublic``
  sets the top-level key's flag (new keys are private).
* ``keys({extended, publicOnly, values})`` lists the top-level keys in the order they were first
  written (``extended``: ``[{key, isPublic, value?}]``, ``value`` with ``values``).
* The callable form ``config(key[, val])`` is JS (``js_prelude/66_config.js``).

The org's whole config is capped at ``MAX_CONFIG_BYTES`` = 512,000 bytes of BSON (the
platform's ``modules.config.maxSize``; fact 58) counted as the one document the platform keeps
(``config_size``); breaching it is ``cortex.tooLarge.config``. The cap is configurable per
runtime (``ConfigModule.max_bytes``). Writes to different keys check the cap against what they
read, so two racing writes of different keys may together pass it by one write's worth (the
platform, with one document per org, cannot); a single write never does.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import bson
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..faults import Fault
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import UNDEFINED
from .cache import MAX_KEY_BYTES, MAX_RETRIES, arg, org_id, storable

__all__ = ["MAX_CONFIG_BYTES", "ConfigModule", "config_size"]

MAX_CONFIG_BYTES = 512_000
_DOCUMENT_OVERHEAD = 5  # a BSON document's length prefix and terminator


def config_size(value: Any, key: str = "") -> int:
    """Bytes one config key adds to the org's config document: its BSON element ``key: value``.
    The org's total is ``5 +`` the sum over its keys."""
    try:
        return len(bson.encode({key: value})) - _DOCUMENT_OVERHEAD
    except (bson.errors.InvalidDocument, OverflowError, ValueError):
        return len(json.dumps(value, separators=(",", ":"), default=str).encode()) + len(key.encode()) + 2


def _options(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(value: Any) -> list[str]:
    """The segments of a dotted key, or a fault for a blank or ``$``-prefixed one."""
    if not isinstance(value, str) or not value:
        raise Fault("cortex.invalidArgument.unspecified", reason="A config key must be a non-empty string.", path="key")
    parts = value.split(".")
    if any(part == "" for part in parts):
        raise Fault("cortex.invalidArgument.blankFieldName", reason="Blank field names are not allowed.", path=value)
    for part in parts:
        if part.startswith("$"):
            raise Fault("cortex.invalidArgument.dollarPrefixedDbKey", path=value)
    if len(parts[0].encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"A config key may be at most {MAX_KEY_BYTES} bytes long.", path="key")
    return parts


_MISSING = object()


def _walk(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _put(root: Any, parts: list[str], value: Any) -> Any:
    """``root`` with ``value`` at ``parts`` (objects created or replacing scalars on the way)."""
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(root, list) and head.isdigit():
        index = int(head)
        out = list(root)
        out.extend([None] * (index + 1 - len(out)))
        out[index] = _put(out[index], rest, value)
        return out
    out_dict = dict(root) if isinstance(root, dict) else {}
    out_dict[head] = _put(out_dict.get(head), rest, value)
    return out_dict


def _remove(root: Any, parts: list[str]) -> tuple[Any, bool]:
    """``root`` without the value at ``parts``, and whether there was one."""
    head, rest = parts[0], parts[1:]
    if isinstance(root, dict) and head in root:
        out = dict(root)
        if not rest:
            del out[head]
            return out, True
        out[head], removed = _remove(out[head], rest)
        return out, removed
    if isinstance(root, list) and head.isdigit() and int(head) < len(root):
        items = list(root)
        if not rest:
            items[int(head)] = None  # as $unset does to an array element
            return items, True
        items[int(head)], removed = _remove(items[int(head)], rest)
        return items, removed
    return root, False


class ConfigModule:
    require_name = "config"
    prefix = "config."
    needs_runtime = True
    methods = ("get", "set", "keys")

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self.max_bytes = MAX_CONFIG_BYTES

    @property
    def _col(self) -> Any:
        return self._runtime.store.configs

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        with map_store_errors():
            if name == "config.get":
                return self.get(org_id(run), arg(args, 0), _options(arg(args, 1)))
            if name == "config.set":
                return self.set(org_id(run), arg(args, 0), arg(args, 1), _options(arg(args, 2)))
            if name == "config.keys":
                return self.keys(org_id(run), _options(arg(args, 0)))
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    def get(self, org: ObjectId, key: Any, options: dict[str, Any]) -> Any:
        if key is None:
            return UNDEFINED  # config() with no key
        parts = _path(key)
        doc = self._col.find_one({"org": org, "key": parts[0]}, {"value": 1, "isPublic": 1})
        if doc is None or (options.get("publicOnly") and not doc.get("isPublic")):
            return UNDEFINED
        value = _walk(doc.get("value"), parts[1:])
        if value is _MISSING:
            return UNDEFINED
        if options.get("extended"):
            return {"value": value, "isPublic": bool(doc.get("isPublic"))}
        return value

    def keys(self, org: ObjectId, options: dict[str, Any]) -> list[Any]:
        query: dict[str, Any] = {"org": org}
        if options.get("publicOnly"):
            query["isPublic"] = True
        docs = self._col.find(query, {"key": 1, "isPublic": 1, "value": 1} if options.get("values") else {"key": 1, "isPublic": 1}).sort("_id", 1)
        if not options.get("extended"):
            return [doc["key"] for doc in docs]
        out = []
        for doc in docs:
            entry = {"key": doc["key"], "isPublic": bool(doc.get("isPublic"))}
            if options.get("values"):
                entry["value"] = doc.get("value")
            out.append(entry)
        return out

    def set(self, org: ObjectId, key: Any, value: Any, options: dict[str, Any]) -> Any:
        parts = _path(key)
        top, rest = parts[0], parts[1:]
        value = storable(value, key)
        public = options.get("isPublic")
        for _ in range(MAX_RETRIES):
            docs = {doc["key"]: doc for doc in self._col.find({"org": org}, {"key": 1, "value": 1, "isPublic": 1, "seq": 1})}
            current = docs.get(top)
            if value is None:
                if not docs:
                    return False
                if current is None:
                    return None
                if not rest:
                    if self._col.delete_one({"_id": current["_id"], "seq": current.get("seq")}).deleted_count:
                        return None
                    continue
                stored, removed = _remove(current.get("value"), rest)
                if not removed:
                    return None
            else:
                stored = _put(copy.deepcopy(current.get("value")) if current else None, rest, value)
            size = _DOCUMENT_OVERHEAD + config_size(stored, top) + sum(config_size(d.get("value"), k) for k, d in docs.items() if k != top)
            if value is not None and size > self.max_bytes:
                raise Fault(
                    "cortex.tooLarge.config",
                    reason=f"Breached maximum config storage limit of {self.max_bytes} bytes by {size - self.max_bytes}",
                    path=key,
                )
            is_public = bool(public) if isinstance(public, bool) else bool(current and current.get("isPublic"))
            if current is None:
                try:
                    self._col.insert_one({"org": org, "key": top, "value": stored, "isPublic": is_public, "seq": 1})
                except DuplicateKeyError:
                    continue
                return value
            update = {"$set": {"value": stored, "isPublic": is_public}, "$inc": {"seq": 1}}
            if self._col.update_one({"_id": current["_id"], "seq": current.get("seq")}, update).matched_count:
                return value
        raise Fault("cortex.conflict.sequencing", path=key)
