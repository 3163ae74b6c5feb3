"""Reading and writing instances as one caller: the operations behind cursors and CortexObject.

``ObjectLayer`` is built per run (or request) for one org and one principal. Every
method takes the option names the script API uses (``skipAcl``, ``grant``, ``roles``,
``access``, ``paths``, ``include``, ``expand``, ``lean``, ``dryRun``, ``bypassCreateAcl``)
and enforces §6: instances below the required level are left out of lists quietly,
direct reads of them fault, and property access is checked on every read and write.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from bson import ObjectId

from ..faults import Fault
from .acl import can_create, level_of, resolve_access
from .definitions import Definitions, check_definition_editor
from .documents import Selection, check_paths, shape
from .model import ACCESS, ObjectDef, PropertyDef
from .orgs import account_document, insert_account
from .principals import Principal
from .properties import validate_document
from .query import (
    ACCOUNT_NATIVE_INDEXED,
    QueryContext,
    check_count_limit,
    check_exclusive,
    check_limit,
    check_skip,
    compile_pipeline,
    compile_sort,
    compile_where,
    trailing_limit,
)
from .store import Store, map_store_errors
from .updates import apply_update, normalise_update, patch_to_update

__all__ = ["HookChain", "ObjectLayer", "ReadOptions", "WriteHooks"]


class WriteHooks(Protocol):
    """What the layers above learn of writes, per ``event`` ('create', 'update', 'delete').

    ``before`` runs after validation and before anything is stored, dry runs included: it
    may refuse by raising a Fault, or return a changed document (validated again). ``after``
    runs once the store has the write. ``doc`` is the new document (None for a delete),
    ``existing`` the stored one (None for a create).
    """

    def before(
        self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: dict[str, Any] | None, existing: Mapping[str, Any] | None, options: Mapping[str, Any]
    ) -> dict[str, Any] | None: ...

    def after(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None) -> None: ...


class HookChain:
    """Several WriteHooks, called in order."""

    def __init__(self, hooks: list[WriteHooks]) -> None:
        self.hooks = list(hooks)

    def before(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: dict[str, Any] | None, existing: Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any] | None:
        for hook in self.hooks:
            doc = hook.before(layer, obj, event, doc, existing, options)
        return doc

    def after(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None) -> None:
        for hook in self.hooks:
            hook.after(layer, obj, event, doc, existing)

SYSTEM_KEYS = ("_id", "org", "object", "type", "created", "creator", "owner", "updated", "updater", "acl")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# decisions.md "Query time limits": default 10,000 ms, clamped to 10..30,000.
DEFAULT_MAX_TIME_MS, MIN_TIME_MS, MAX_TIME_MS = 10_000, 10, 30_000


def _max_time_ms(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_MAX_TIME_MS
    return max(MIN_TIME_MS, min(int(value), MAX_TIME_MS))


def _roles(value: Any) -> tuple[ObjectId, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        try:
            out.append(ObjectId(str(item)))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"Invalid role id {item!r}.", path="roles") from exc
    return tuple(out)


@dataclass
class ReadOptions:
    """The access options of one read or write, parsed once."""

    skip_acl: bool = False
    grant: int | None = None
    roles: tuple[ObjectId, ...] = ()
    access: int = 1

    max_time_ms: int = DEFAULT_MAX_TIME_MS
    passive: bool = False

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> ReadOptions:
        access = level_of(options.get("access"), default=1) or 1
        return cls(
            skip_acl=bool(options.get("skipAcl")),
            grant=level_of(options.get("grant")),
            roles=_roles(options.get("roles")),
            access=max(1, min(access, ACCESS["script"])),
            max_time_ms=_max_time_ms(options.get("maxTimeMS", options.get("maxTimeMs"))),
            passive=bool(options.get("passive")),
        )


class ObjectLayer:
    """The object layer as seen by one principal of one org."""

    def __init__(
        self,
        store: Store,
        org_id: ObjectId,
        principal: Principal,
        *,
        restricted_ops: frozenset[str] = frozenset(),
        hooks: WriteHooks | None = None,
    ) -> None:
        self.store = store
        self.org_id = org_id
        self.principal = principal
        self.definitions = Definitions(store, org_id)
        self.hooks = hooks
        self._restricted_ops = restricted_ops
        # Set by the runtime: the run this layer serves (triggers run one level deeper).
        self.run_depth = 1

    def as_principal(self, principal: Principal) -> ObjectLayer:
        """The same org's layer for another principal (``script.as``)."""
        layer = ObjectLayer(self.store, self.org_id, principal, restricted_ops=self._restricted_ops, hooks=self.hooks)
        layer.run_depth = self.run_depth
        return layer

    # ---- helpers ------------------------------------------------------------------

    def _ctx(self, obj: ObjectDef, kind: str = "script") -> QueryContext:
        native = ACCOUNT_NATIVE_INDEXED if obj.name == "account" else ()
        return QueryContext(kind=kind, allowed_restricted_ops=self._restricted_ops, native_indexed=native)  # type: ignore[arg-type]

    def _base_filter(self, obj: ObjectDef) -> dict[str, Any]:
        return {"org": self.org_id, "object": obj.name}

    def _access(self, obj: ObjectDef, doc: Mapping[str, Any], opts: ReadOptions) -> int:
        return resolve_access(self.principal, obj, doc, grant=opts.grant, roles=opts.roles)

    def _load(self, object_name: str, _id: ObjectId) -> tuple[ObjectDef, Mapping[str, Any]] | None:
        obj = self.definitions.get(object_name)
        if obj is None:
            return None
        with map_store_errors():
            doc = self.store.instances(obj.name).find_one({**self._base_filter(obj), "_id": _id})
        return (obj, doc) if doc else None

    def _shape(self, obj: ObjectDef, doc: Mapping[str, Any], access: int, selection: Selection, opts: ReadOptions) -> dict[str, Any]:
        # The property's read access is checked before its sub-paths (fidelity.md §4).
        out = shape(self.principal, obj, doc, access, selection, load=self._load, grant=opts.grant, lists=self._read_list, passive=opts.passive)
        if not opts.passive:
            check_paths(obj, doc.get("type"), selection)
        return out

    def _through_lists(self, object_name: str, prefix: str) -> tuple[str, Any]:
        """Walk a cursor ``pathPrefix`` (``<id>.<list>[.<id>.<list>...]``) to the listed object and
        the match selecting the list's members."""
        parts = [p for p in prefix.replace("/", ".").split(".") if p]
        if len(parts) < 2 or len(parts) % 2:
            raise Fault("cortex.invalidArgument.unspecified", reason="pathPrefix must be <id>.<list property>[.<id>.<list property>...].", path="pathPrefix")
        obj = self.definitions.require(object_name)
        where: Any = None
        for index in range(0, len(parts), 2):
            holder_id, prop_name = parts[index], parts[index + 1]
            try:
                oid = ObjectId(holder_id)
            except Exception as exc:
                raise Fault("cortex.invalidArgument.invalidObjectId", path="pathPrefix") from exc
            holder_where = {"$and": [where, {"_id": oid}]} if where else {"_id": oid}
            holder = next(self.iterate(obj.name, {"where": holder_where, "limit": 1, "paths": ["_id"]}), None)
            if holder is None:
                raise Fault("cortex.notFound.instance", reason=f"{obj.name} {holder_id} not found.", path="pathPrefix")
            with map_store_errors():
                stored = self.store.instances(obj.name).find_one({**self._base_filter(obj), "_id": oid}) or {}
            prop = obj.property(prop_name, stored.get("type"))
            if prop is None or prop.type != "List":
                raise Fault("cortex.notFound.property", reason=f"{prop_name} is not a list of {obj.name}.", path="pathPrefix")
            where = self._list_where(prop, stored)
            obj = self.definitions.require(str(prop.source_object or prop.options.get("sourceObject") or ""))
        return obj.name, where

    def _list_where(self, prop: PropertyDef, holder: Mapping[str, Any]) -> Any:
        if prop.options.get("linkedProperty"):
            return {str(prop.options["linkedProperty"]): holder.get("_id")}
        if isinstance(prop.options.get("where"), str):
            text = re.sub(r"\{\{\s*input\.([\w.]+)\s*\}\}", lambda m: str(dig_raw(holder, m.group(1))), prop.options["where"])
            try:
                return json.loads(text)
            except ValueError as exc:
                raise Fault("cortex.invalidArgument.query", reason=f"Invalid where on list {prop.name}.", path=prop.name) from exc
        return {}

    def _read_list(self, prop: PropertyDef, holder: Mapping[str, Any], selection: Selection) -> dict[str, Any]:
        """A List property (§3.3): instances of ``sourceObject`` matching its ``where`` (with
        ``{{input.<prop>}}`` taken from the holder) or pointing back through ``linkedProperty``."""
        source = str(prop.source_object or prop.options.get("sourceObject") or "")
        where: Any = self._list_where(prop, holder)
        options: dict[str, Any] = {"where": where, "skipAcl": bool(prop.options.get("skipAcl")), "grant": prop.options.get("grant")}
        if prop.options.get("roles"):
            options["roles"] = prop.options["roles"]
        if selection.paths is not None:
            options["paths"] = selection.paths
        return self.list(source, options)

    def _query(self, obj: ObjectDef, options: Mapping[str, Any], opts: ReadOptions, kind: str = "script") -> tuple[dict[str, Any], list[tuple[str, int]], int]:
        ctx = self._ctx(obj, kind)
        check_exclusive(dict(options))
        compiled = compile_where(obj, options.get("where") or {}, ctx)
        sort = compile_sort(obj, options.get("sort"), ctx)
        required = max(opts.access, compiled.required_access)
        return {**self._base_filter(obj), **compiled.filter}, sort, required

    # ---- reads --------------------------------------------------------------------

    def iterate(self, object_name: str, options: Mapping[str, Any], kind: str = "script") -> Iterator[dict[str, Any]]:
        """The caller's view of each match, lazily: the store is read as the iterator is."""
        if options.get("pathPrefix"):
            target, where = self._through_lists(object_name, str(options["pathPrefix"]))
            user_where = options.get("where")
            combined = {"$and": [where, user_where]} if user_where else where
            yield from self.iterate(target, {**options, "pathPrefix": None, "where": combined}, kind)
            return
        obj = self.definitions.require(object_name)
        opts = ReadOptions.parse(options)
        selection = Selection(options.get("paths"), options.get("include"), options.get("expand"))
        skip = check_skip(options.get("skip"))
        limit = check_limit(options.get("limit"), self._ctx(obj, "script"))
        if options.get("operation") == "aggregate" or options.get("pipeline") is not None:
            check_exclusive(dict(options))
            yield from self._aggregate(obj, options, opts, skip, limit)
            return
        mongo_filter, sort, required = self._query(obj, options, opts, kind)
        with map_store_errors():
            cursor = self.store.instances(obj.name).find(mongo_filter).sort(sort).max_time_ms(opts.max_time_ms)
            skipped = 0
            returned = 0
            for doc in cursor:
                access = self._access(obj, doc, opts)
                if not opts.skip_acl and access < required:
                    continue
                if skipped < (skip or 0):
                    skipped += 1
                    continue
                if limit is not None and returned >= limit:
                    return
                returned += 1
                yield self._shape(obj, doc, access, selection, opts)

    def _aggregate(self, obj: ObjectDef, options: Mapping[str, Any], opts: ReadOptions, skip: int | None, limit: int | None) -> Iterator[dict[str, Any]]:
        ctx = self._ctx(obj)
        compiled = compile_pipeline(obj, list(options.get("pipeline") or []), ctx, parser_strict=self._parser_strict(options))
        required = max(opts.access, compiled.required_access)
        # ACL first: only instances the caller may see enter the pipeline.
        with map_store_errors():
            visible = [
                doc["_id"]
                for doc in self.store.instances(obj.name).find(self._base_filter(obj))
                if opts.skip_acl or self._access(obj, doc, opts) >= required
            ]
            stages: list[dict[str, Any]] = [{"$match": {**self._base_filter(obj), "_id": {"$in": visible}}}]
            stages += compiled.stages
            if skip:
                stages.append({"$skip": skip})
            if limit is not None:
                stages.append({"$limit": limit})
            for row in self.store.instances(obj.name).aggregate(stages, maxTimeMS=opts.max_time_ms):
                row.pop("org", None)
                yield row

    def _parser_strict(self, options: Mapping[str, Any]) -> bool:
        """fidelity.md §9: the parser is strict unless the cursor asks ``strict(false)`` and the org
        setting ``configuration.queries.allowParserStrictOption`` is true; otherwise the option is
        ignored."""
        if options.get("strict") is not False:
            return True
        with map_store_errors():
            org = self.store.orgs.find_one({"_id": self.org_id}, {"settings": 1}) or {}
        queries = ((org.get("settings") or {}).get("configuration") or {}).get("queries") or {}
        return queries.get("allowParserStrictOption") is not True

    def count(self, object_name: str, options: Mapping[str, Any]) -> int:
        """fidelity.md §5: skip as for find, limit 1..500000 compared as given, no pipelines.

        The matches the caller may read are counted, not read out: no sort (it does not change how
        many there are) and no shaping, and the count stops once the limit is reached."""
        if options.get("pipeline") is not None or options.get("operation") == "aggregate":
            raise Fault("cortex.invalidArgument.query", reason="cannot execute a count on a pipeline.")
        skip = check_skip(options.get("skip")) or 0
        limit = check_count_limit(options.get("limit"))
        if options.get("pathPrefix"):
            return sum(1 for _ in self.iterate(object_name, {**options, "limit": limit, "paths": ["_id"]}))
        obj = self.definitions.require(object_name)
        opts = ReadOptions.parse(options)
        mongo_filter, _sort, required = self._query(obj, options, opts)
        wanted = None if limit is None else skip + limit
        readable = 0
        with map_store_errors():
            for doc in self.store.instances(obj.name).find(mongo_filter).max_time_ms(opts.max_time_ms):
                if opts.skip_acl or self._access(obj, doc, opts) >= required:
                    readable += 1
                    if readable == wanted:
                        break
        return max(0, readable - skip)

    def list(self, object_name: str, options: Mapping[str, Any], kind: str = "script") -> dict[str, Any]:
        """A page: ``{object: 'list', data, hasMore}`` (limit + 1 rows are read).

        fidelity.md §5: a pipeline's trailing ``$limit`` is the list's limit, checked by the list rules."""
        ctx = self._ctx(self.definitions.require(object_name), kind)
        raw = options.get("limit")
        trailing = trailing_limit(options.get("pipeline"))
        if trailing is not None and (raw is None or raw is False):
            raw = trailing
        limit = check_limit(raw, ctx, as_list=True)
        assert limit is not None
        rows = list(self.iterate(object_name, {**options, "limit": limit + 1}, kind))
        return {"object": "list", "data": rows[:limit], "hasMore": len(rows) > limit}

    def read_one(self, object_name: str, options: Mapping[str, Any]) -> Any:
        obj = self.definitions.require(object_name)
        opts = ReadOptions.parse(options)
        selection = Selection(options.get("paths"), options.get("include"), options.get("expand"))
        mongo_filter, sort, required = self._query(obj, options, opts)
        with map_store_errors():
            matched = False
            for doc in self.store.instances(obj.name).find(mongo_filter).sort(sort).max_time_ms(opts.max_time_ms):
                matched = True
                access = self._access(obj, doc, opts)
                if opts.skip_acl or access >= required:
                    path = options.get("path")
                    if path:
                        self._check_path_read(obj, doc, str(path), access)
                    out = self._shape(obj, doc, access, selection, opts)
                    return dig(out, path) if path else out
        if options.get("throwNotFound", True) is False:
            return None
        if matched:
            raise Fault("cortex.accessDenied.instanceRead", path=obj.name)
        raise Fault("cortex.notFound.instance", reason=f"{obj.name} not found.", path=obj.name)

    def _check_path_read(self, obj: ObjectDef, doc: Mapping[str, Any], path: str, access: int) -> None:
        """An explicit path read of an unreadable property is a 403, not a quiet omission (§6.4)."""
        name = path.replace("/", ".").strip(".").split(".")[0]
        if name in SYSTEM_KEYS or name == "access":
            return
        prop = obj.property(name, doc.get("type"))
        if prop is None or not prop.readable:
            raise Fault("cortex.notFound.property", reason=f"{name} is not a property of {obj.name}.", path=f"{obj.name}.{name}")
        if prop.acl:  # a property acl can only raise access to that property
            access = max(access, resolve_access(self.principal, obj, doc, acl=prop.acl))
        if access < prop.read_access:
            raise Fault("cortex.accessDenied.propertyRead", path=f"{obj.name}.{name}")

    # ---- writes -------------------------------------------------------------------

    def _check_writes(self, obj: ObjectDef, names: set[str], access: int, *, creating: bool, opts: ReadOptions, doc: Mapping[str, Any], passive: bool = False) -> set[str]:
        """Check each written top-level name; return the names ``passive`` skips (fidelity.md §2, §4).

        An unknown key faults with path = the key as written and ``notWritable`` with the property
        path; ``propertyUpdate`` and ``creatableOnly`` carry the object-qualified path."""
        skipped: set[str] = set()
        for name in sorted(names):
            try:
                prop = obj.property(name, doc.get("type"))
                if prop is None:
                    if name in SYSTEM_KEYS:
                        raise Fault("cortex.accessDenied.notWritable", path=name)
                    raise Fault("cortex.notFound.property", path=name)
                if prop.acl:  # a property acl can only raise access to that property
                    access = max(access, resolve_access(self.principal, obj, doc, acl=prop.acl, roles=opts.roles))
                self._check_write(obj, prop, access, creating=creating)
            except Fault:
                if not passive:
                    raise
                skipped.add(name)
        return skipped

    def _check_references(self, obj: ObjectDef, doc: Mapping[str, Any], names: set[str], opts: ReadOptions) -> None:
        """Setting a reference needs ``referenceAccess`` (default Share) on its target (§6.4)."""
        for name in sorted(names):
            prop = obj.property(name, doc.get("type"))
            if prop is None or prop.type != "Reference" or doc.get(name) is None:
                continue
            target_obj = self.definitions.get(str(prop.source_object or prop.options.get("sourceObject") or ""))
            if target_obj is None:
                continue
            required = level_of(prop.options.get("referenceAccess"), default=ACCESS["share"]) or ACCESS["share"]
            values = doc[name] if isinstance(doc[name], list) else [doc[name]]
            for value in values:
                target_id = value.get("_id") if isinstance(value, Mapping) else value
                with map_store_errors():
                    target = self.store.instances(target_obj.name).find_one({**self._base_filter(target_obj), "_id": target_id})
                if target is None:
                    raise Fault("cortex.notFound.instance", reason=f"{target_obj.name} {target_id} not found.", path=f"{obj.name}.{name}")
                if resolve_access(self.principal, target_obj, target, grant=opts.grant, roles=opts.roles) < required:
                    raise Fault("cortex.accessDenied.referencedContext", path=f"{obj.name}.{name}")

    def _check_write(self, obj: ObjectDef, prop: PropertyDef, access: int, *, creating: bool) -> None:
        path = f"{obj.name}.{prop.name}"
        if not prop.writable and access < ACCESS["script"]:
            raise Fault("cortex.accessDenied.notWritable", path=prop.name)
        if prop.creatable and not creating:
            raise Fault("cortex.invalidArgument.creatableOnly", path=path)
        if access < prop.write_access:
            raise Fault("cortex.accessDenied.propertyUpdate", path=path)

    def _check_unique(self, obj: ObjectDef, doc: Mapping[str, Any], names: set[str], exclude: Any = None) -> None:
        """fidelity.md §14: the unique index covers one property definition. A base property is
        unique across every instance of the object and all its types; a type's own property only
        among instances of that type. Array values are multikeys (any shared element collides,
        an empty array is not indexed); a value repeated within one instance's array is a
        validation fault with a ``duplicateKey`` child."""
        for name in sorted(names):
            prop = obj.property(name, doc.get("type"))
            value = doc.get(name)
            if prop is None or not prop.unique or value is None:
                continue
            query: dict[str, Any] = {**self._base_filter(obj), name: value}
            if isinstance(value, list):
                if not value:
                    continue
                if any(item == other for index, item in enumerate(value) for other in value[:index]):
                    child = Fault("cortex.conflict.duplicateKey", path=name)
                    raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[child])
                query[name] = {"$in": list(value)}
            if obj.property(name) is None:  # defined by the instance's object type only
                query["type"] = doc.get("type")
            if exclude is not None:
                query["_id"] = {"$ne": exclude}
            with map_store_errors():
                if self.store.instances(obj.name).find_one(query, {"_id": 1}) is not None:
                    raise Fault("cortex.conflict.duplicateKey", reason=f"Duplicate value for unique property {name}.", path=f"{obj.name}.{name}")

    def _validate(self, obj: ObjectDef, doc: dict[str, Any], *, creating: bool, existing: Mapping[str, Any] | None, passive: bool = False) -> dict[str, Any]:
        type_name = doc.get("type")
        if obj.object_types:
            names = [t.name for t in obj.object_types]
            if type_name is None and creating:
                child = Fault("cortex.invalidArgument.required", path=f"{obj.name}.type")
                raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[child])
            if type_name is not None and type_name not in names:
                raise Fault("cortex.invalidArgument.instanceTypeMismatch", path=f"{obj.name}.type")
        type_props = next((t.properties for t in obj.object_types if t.name == type_name), [])
        props = obj.properties + type_props
        user = {k: v for k, v in doc.items() if k not in SYSTEM_KEYS}
        existing_user = {k: v for k, v in existing.items() if k not in SYSTEM_KEYS} if existing is not None else None
        typed = {p.name: str(type_name) for p in type_props}
        cast = validate_document(props, user, creating=creating, object_name=obj.name, existing=existing_user, typed=typed, passive=passive)
        return {**{k: v for k, v in doc.items() if k in SYSTEM_KEYS}, **cast}

    def insert_one(self, object_name: str, document: Any, options: Mapping[str, Any]) -> Any:
        obj = self.definitions.require(object_name)
        if obj.name == "object":
            return self._insert_definition(document, options)
        if not isinstance(document, Mapping):
            raise Fault("cortex.invalidArgument.unspecified", reason="insertOne expects a document.")
        opts = ReadOptions.parse(options)
        if not options.get("bypassCreateAcl") and not can_create(self.principal, obj, roles=opts.roles):
            raise Fault("cortex.accessDenied.instanceCreate", path=obj.name)
        now = _now()
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "org": self.org_id,
            "object": obj.name,
            "type": document.get("type"),
            "created": now,
            "creator": {"_id": self.principal._id},
            "owner": {"_id": self.principal._id},
            "updated": None,
            "acl": [],
        }
        access = self._access(obj, doc, opts)
        passive = bool(options.get("passive"))
        skipped = self._check_writes(obj, {k for k in document if k not in ("type",)}, max(access, opts.grant or 0), creating=True, opts=opts, doc=doc, passive=passive)
        doc.update({k: v for k, v in document.items() if k not in SYSTEM_KEYS and k not in skipped})
        doc = self._validate(obj, doc, creating=True, existing=None, passive=passive)
        if self.hooks is not None:
            changed_doc = self.hooks.before(self, obj, "create", doc, None, options)
            if changed_doc is not None and changed_doc is not doc:
                doc = self._validate(obj, changed_doc, creating=True, existing=None)
        self._check_unique(obj, doc, {k for k in doc if k not in SYSTEM_KEYS})
        self._check_references(obj, doc, set(document), opts)
        if not options.get("dryRun"):
            with map_store_errors():
                self.store.instances(obj.name).insert_one(doc)
            if self.hooks is not None:
                self.hooks.after(self, obj, "create", doc, None)
        return self._write_result(obj, doc, options, opts, changed=set(document))

    def _write_result(self, obj: ObjectDef, doc: Mapping[str, Any], options: Mapping[str, Any], opts: ReadOptions, changed: set[str]) -> Any:
        lean = options.get("lean", True)
        if lean is None:
            lean = True
        if lean is True and options.get("paths") is None and options.get("include") is None:
            return doc["_id"]
        access = self._access(obj, doc, opts)
        selection = Selection(options.get("paths"), options.get("include"), options.get("expand"))
        out = self._shape(obj, doc, access, selection, opts)
        if lean == "modified":
            return {k: v for k, v in out.items() if k in changed}
        return out

    def insert_many(self, object_name: str, documents: Any, options: Mapping[str, Any]) -> dict[str, Any]:
        self.definitions.require(object_name)  # an unknown object fails the call, not each document
        items = documents if isinstance(documents, list) else [documents]
        inserted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                _id = self.insert_one(object_name, item, {**options, "lean": True, "paths": None, "include": None})
                inserted.append({"_id": _id, "index": index})
            except Fault as fault:
                fault.index = index
                errors.append(fault.to_json())
        return {"insertedCount": len(inserted), "insertedIds": inserted, "writeErrors": errors}

    def _matches(self, obj: ObjectDef, match: Any, options: Mapping[str, Any], opts: ReadOptions, limit: int | None) -> Iterator[tuple[dict[str, Any], int]]:
        mongo_filter, sort, required = self._query(obj, {"where": match or {}}, opts)
        with map_store_errors():
            found = 0
            for doc in self.store.instances(obj.name).find(mongo_filter).sort(sort):
                access = self._access(obj, doc, opts)
                if not opts.skip_acl and access < required:
                    continue
                yield doc, access
                found += 1
                if limit is not None and found >= limit:
                    return

    def _update_doc(self, obj: ObjectDef, doc: dict[str, Any], access: int, update: Any, options: Mapping[str, Any], opts: ReadOptions) -> tuple[dict[str, Any], set[str], bool]:
        self._check_push_targets(obj, doc, update)
        passive = bool(options.get("passive"))
        type_props = next((t.properties for t in obj.object_types if t.name == doc.get("type")), [])
        merge = bool(options.get("merge") or options.get("mergeDocuments"))
        new_doc, changed, removed = apply_update(doc, update, merge=merge, props=obj.properties + list(type_props), passive=passive)
        skipped = self._check_writes(obj, changed, max(access, opts.grant or 0), creating=False, opts=opts, doc=doc, passive=passive)
        for name in removed:
            prop = obj.property(name, doc.get("type"))
            if prop is not None and not prop.removable and access < ACCESS["script"]:
                if not passive:
                    raise Fault("cortex.accessDenied.notDeletable", path=name)
                skipped.add(name)
        for name in skipped:  # passive: the offending part is left as stored
            if name in doc:
                new_doc[name] = copy.deepcopy(doc[name])
            else:
                new_doc.pop(name, None)
        changed -= skipped
        removed -= skipped
        validated = self._validate(obj, new_doc, creating=False, existing=doc, passive=passive)
        if self.hooks is not None:
            changed_doc = self.hooks.before(self, obj, "update", validated, doc, options)
            if changed_doc is not None and changed_doc is not validated:
                validated = self._validate(obj, changed_doc, creating=False, existing=doc)
            # Hooks may set further properties (a trigger, a deployed script's runtime).
            changed |= {k for k in validated if k not in SYSTEM_KEYS and validated.get(k) != doc.get(k)}
        self._check_unique(obj, validated, changed, exclude=doc["_id"])
        self._check_references(obj, validated, changed, opts)
        modified = any(validated.get(name) != doc.get(name) for name in changed | removed)
        if modified and not options.get("dryRun"):
            sets = {name: validated[name] for name in changed if name in validated}
            sets.update({"updated": _now(), "updater": {"_id": self.principal._id}})
            unsets = {name: "" for name in (changed | removed) if name not in validated}
            body: dict[str, Any] = {"$set": sets}
            if unsets:
                body["$unset"] = unsets
            with map_store_errors():
                self.store.instances(obj.name).update_one({"_id": doc["_id"], "org": self.org_id}, body)
            validated.update({"updated": sets["updated"], "updater": sets["updater"]})
            if self.hooks is not None:
                self.hooks.after(self, obj, "update", validated, doc)
        return validated, changed, modified

    def _check_push_targets(self, obj: ObjectDef, doc: Mapping[str, Any], update: Mapping[str, Any]) -> None:
        """``$push`` is a POST: on a non-array property it does not match the operation (§3)."""
        for path in update.get("$push") or {}:
            prop = obj.property(str(path).split(".")[0], doc.get("type"))
            if prop is not None and "." not in str(path) and not prop.array:
                raise Fault(
                    "cortex.unsupportedOperation.requestMethodDoesNotMatchOperationSemantics",
                    reason="Unsupported request method post",
                    path=str(path),
                )

    def update_one(self, object_name: str, match: Any, update: Any, options: Mapping[str, Any]) -> Any:
        """updateOne: only the five update operators count (fidelity.md §3)."""
        obj = self.definitions.require(object_name)
        if obj.name == "object":
            return self._update_definition(match, update, options, ReadOptions.parse(options))
        return self._update_one(obj, match, normalise_update(update), options)

    def _update_one(self, obj: ObjectDef, match: Any, update: Mapping[str, Any], options: Mapping[str, Any]) -> Any:
        opts = ReadOptions.parse(options)
        for doc, access in self._matches(obj, match, options, opts, 1):
            if access < 1 and not opts.skip_acl:
                break
            new_doc, changed, _ = self._update_doc(obj, doc, access, update, options, opts)
            return self._write_result(obj, new_doc, options, opts, changed)
        raise Fault("cortex.notFound.instance", reason=f"{obj.name} not found.", path=obj.name)

    def update_many(self, object_name: str, match: Any, update: Any, options: Mapping[str, Any]) -> dict[str, Any]:
        return self._update_many(self.definitions.require(object_name), match, normalise_update(update), options)

    def _update_many(self, obj: ObjectDef, match: Any, update: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
        opts = ReadOptions.parse(options)
        limit = options.get("limit")
        matched = 0
        updated: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for doc, access in list(self._matches(obj, match, options, opts, limit)):
            matched += 1
            try:
                _, _, modified = self._update_doc(obj, doc, access, update, options, opts)
                if modified:
                    updated.append({"_id": doc["_id"]})
            except Fault as fault:
                error = fault.to_json()
                error["_id"] = doc["_id"]
                errors.append(error)
        return {"matchedCount": matched, "modifiedCount": len(updated), "updatedIds": updated, "writeErrors": errors, "hasMore": False}

    def patch_one(self, object_name: str, match: Any, ops: Any, options: Mapping[str, Any]) -> Any:
        obj = self.definitions.require(object_name)
        if obj.name == "object":
            return self.update_one(object_name, match, patch_to_update(ops), options)
        return self._update_one(obj, match, patch_to_update(ops), options)

    def patch_many(self, object_name: str, match: Any, ops: Any, options: Mapping[str, Any]) -> dict[str, Any]:
        return self._update_many(self.definitions.require(object_name), match, patch_to_update(ops), options)

    def delete_one(self, object_name: str, match: Any, options: Mapping[str, Any]) -> bool:
        obj = self.definitions.require(object_name)
        opts = ReadOptions.parse(options)
        for doc, access in self._matches(obj, match, options, opts, 1):
            self._delete(obj, doc, access, options, opts)
            return True
        raise Fault("cortex.notFound.instance", reason=f"{obj.name} not found.", path=obj.name)

    def delete_many(self, object_name: str, match: Any, options: Mapping[str, Any]) -> int:
        obj = self.definitions.require(object_name)
        opts = ReadOptions.parse(options)
        count = 0
        for doc, access in list(self._matches(obj, match, options, opts, options.get("limit"))):
            self._delete(obj, doc, access, options, opts)
            count += 1
        return count

    def _delete(self, obj: ObjectDef, doc: Mapping[str, Any], access: int, options: Mapping[str, Any], opts: ReadOptions) -> None:
        if access < ACCESS["delete"]:
            raise Fault("cortex.accessDenied.instanceDelete", path=obj.name)
        if self.hooks is not None:
            self.hooks.before(self, obj, "delete", None, doc, options)
        if options.get("dryRun"):
            return
        if obj.name == "object":
            self.definitions.delete(doc)
            return
        with map_store_errors():
            self.store.instances(obj.name).delete_one({"_id": doc["_id"], "org": self.org_id})
        if self.hooks is not None:
            self.hooks.after(self, obj, "delete", None, doc)

    def set_owner(self, object_name: str, _id: Any, to: Any) -> bool:
        """Ownership transfer, with no access check (the platform writes an audit record)."""
        obj = self.definitions.require(object_name)
        try:
            instance_id = ObjectId(str(_id))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.invalidObjectId", path="_id") from exc
        owner = self._account_id(to)
        with map_store_errors():
            doc = self.store.instances(obj.name).find_one({**self._base_filter(obj), "_id": instance_id})
            if doc is None:
                raise Fault("cortex.notFound.instance", reason=f"{obj.name} not found.", path=obj.name)
            if str((doc.get("owner") or {}).get("_id")) == str(owner):
                return False
            self.store.instances(obj.name).update_one({"_id": instance_id, "org": self.org_id}, {"$set": {"owner": {"_id": owner}}})
        return True

    def _account_id(self, value: Any) -> ObjectId:
        if isinstance(value, str) and "@" in value:
            with map_store_errors():
                account = self.store.contexts.find_one({"org": self.org_id, "object": "account", "email": value.lower()}, {"_id": 1})
            if account is None:
                raise Fault("cortex.notFound.instance", reason=f"account {value} not found.", path="account")
            return account["_id"]
        try:
            account_id = ObjectId(str(value))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.invalidObjectId", path="to") from exc
        with map_store_errors():
            if self.store.contexts.find_one({"org": self.org_id, "object": "account", "_id": account_id}, {"_id": 1}) is None:
                raise Fault("cortex.notFound.instance", reason=f"account {value} not found.", path="account")
        return account_id

    # ---- sharing ---------------------------------------------------------------------

    def share(
        self,
        object_name: str,
        instance_id: Any,
        targets: Any,
        options: Mapping[str, Any],
        *,
        activate: Any = True,
        extra: Any = None,
    ) -> list[dict[str, Any]]:
        """Share an instance with accounts (§6.4-§6.5): the caller needs Share access and may
        grant only what shareAcl, or else shareChain, allows. Each connection keeps the instance
        acl entries it grants (``grants``); an active one (``activate``, a bool or a callable of
        the target) adds them to the instance at once, a pending one (state 0) when applied.
        ``extra`` (a callable of the target and its account id) adds fields to the connection."""
        obj = self.definitions.require(object_name)
        opts = ReadOptions.parse(options)
        try:
            oid = ObjectId(str(instance_id))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.invalidObjectId", path="_id") from exc
        with map_store_errors():
            doc = self.store.instances(obj.name).find_one({**self._base_filter(obj), "_id": oid})
        if doc is None:
            raise Fault("cortex.notFound.instance", reason=f"{obj.name} not found.", path=obj.name)
        access = self._access(obj, doc, opts)
        if not opts.skip_acl and access < ACCESS["share"]:
            raise Fault("cortex.accessDenied.shareAccess", path=obj.name)
        if not isinstance(targets, list) or not targets:
            raise Fault("cortex.invalidArgument.unspecified", reason="targets must be a non-empty array.", path="targets")
        connections = []
        for target in targets:
            if not isinstance(target, Mapping):
                raise Fault("cortex.invalidArgument.connectionTarget", path="targets")
            level = level_of(target.get("access"))
            roles = _roles(target.get("roles"))
            if level is None and not roles:
                raise Fault("cortex.invalidArgument.connectionTarget", reason="A target needs an access level or roles.", path="targets")
            if not opts.skip_acl:
                self._check_share(obj, doc, access, level, roles, opts)
            account = self._account_id(target.get("_id") or target.get("email"))
            entries = ([{"_id": ObjectId(), "type": 1, "target": account, "allow": level}] if level else []) + [
                {"_id": ObjectId(), "type": 1, "target": account, "allow": role} for role in roles
            ]
            active = bool(activate(target) if callable(activate) else activate)
            connection = {
                "_id": ObjectId(),
                "org": self.org_id,
                "object": "connection",
                "context": {"_id": oid, "object": obj.name},
                "target": {"account": {"_id": account}},
                "access": level,
                "roles": list(roles),
                "state": 1 if active else 0,
                "created": _now(),
                "creator": {"_id": self.principal._id},
                "owner": {"_id": self.principal._id},
                "acl": [],
                "grants": entries,
                **(extra(target, account) if callable(extra) else {}),
            }
            with map_store_errors():
                self.store.contexts.insert_one(connection)
                if active:
                    self.store.instances(obj.name).update_one({"_id": oid, "org": self.org_id}, {"$push": {"acl": {"$each": entries}}})
            connections.append({k: v for k, v in connection.items() if k != "org"})
        return connections

    def _check_share(self, obj: ObjectDef, doc: Mapping[str, Any], access: int, level: int | None, roles: tuple[ObjectId, ...], opts: ReadOptions) -> None:
        if obj.share_acl:
            held = self.principal.all_roles(opts.roles)
            for wanted in ([level] if level else []) + list(roles):
                if not any(self._share_entry_allows(entry, obj, doc, access, held, wanted) for entry in obj.share_acl):
                    raise Fault("cortex.accessDenied.shareAccess", reason=f"Sharing {wanted} is not allowed.", path=obj.name)
            return
        if roles:
            raise Fault("cortex.accessDenied.shareAccess", reason="Roles can only be shared through shareAcl.", path=obj.name)
        if level not in obj.share_chain or level >= access:
            raise Fault("cortex.accessDenied.shareAccess", reason=f"Access level {level} cannot be shared.", path=obj.name)

    def _share_entry_allows(self, entry: Mapping[str, Any], obj: ObjectDef, doc: Mapping[str, Any], access: int, held: frozenset[ObjectId], wanted: Any) -> bool:
        allow = entry.get("allow")
        if isinstance(wanted, ObjectId):
            if str(allow) != str(wanted):
                return False
        elif not isinstance(allow, int) or isinstance(allow, bool) or wanted > allow:
            return False
        kind, target = entry.get("type"), entry.get("target")
        if kind == 5:
            return isinstance(target, int) and access >= target
        if kind == 4:
            return str((doc.get("owner") or {}).get("_id")) == str(self.principal._id)
        if kind == 3:
            return any(str(target) == str(role) for role in held)
        if kind == 1:
            return str(target) == str(self.principal._id)
        return False

    # ---- accounts --------------------------------------------------------------------

    def provision(self, payload: Any, options: Mapping[str, Any]) -> dict[str, Any]:
        """``accounts.provision``: create an account offline (scripts are trusted to do so)."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("email"), str):
            child = Fault("cortex.invalidArgument.required", path="account.email")
            raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[child])
        obj = self.definitions.require("account")
        fields = {k: v for k, v in payload.items() if k not in SYSTEM_KEYS and k != "password"}
        checked = validate_document(obj.properties, fields, creating=True, object_name="account")
        email = str(checked.pop("email"))
        doc = account_document(self.org_id, email=email, name=checked.pop("name", None), roles=checked.pop("roles", None), **checked)
        insert_account(self.store, doc)
        return self._shape(obj, doc, ACCESS["delete"], Selection(options.get("paths"), options.get("include")), ReadOptions())

    # ---- definitions ----------------------------------------------------------------

    def _insert_definition(self, document: Any, options: Mapping[str, Any]) -> Any:
        obj = self.definitions.require("object")
        opts = ReadOptions.parse(options)
        if not options.get("bypassCreateAcl") and not can_create(self.principal, obj, roles=opts.roles):
            raise Fault("cortex.accessDenied.instanceCreate", path="object")
        if options.get("dryRun"):
            doc = {"_id": ObjectId(), **self.definitions.validate(document)}
        else:
            doc = self.definitions.create(document, self.principal)
        return self._write_result(obj, doc, options, opts, set(document) if isinstance(document, Mapping) else set())

    def _update_definition(self, match: Any, update: Any, options: Mapping[str, Any], opts: ReadOptions) -> Any:
        obj = self.definitions.require("object")
        if not opts.skip_acl:
            check_definition_editor(self.principal, opts.roles)
        for doc, access in self._matches(obj, match, options, opts, 1):
            if access < ACCESS["update"]:
                raise Fault("cortex.accessDenied.instanceUpdate", path="object")
            merged, changed, _ = apply_update(doc, update, merge=True)
            if options.get("dryRun"):
                result = {**doc, **self.definitions.validate(merged, existing=doc)}
            else:
                result = self.definitions.replace(doc, merged, self.principal)
            return self._write_result(obj, result, options, opts, changed)
        raise Fault("cortex.notFound.instance", reason="object not found.", path="object")


def dig_raw(doc: Mapping[str, Any], path: str) -> Any:
    """A value of a stored document at a dotted path; references give their id."""
    current: Any = doc
    for part in path.split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    if isinstance(current, Mapping) and "_id" in current:
        return current["_id"]
    return current


def dig(value: Any, path: str) -> Any:
    """The value at a dotted or slashed path inside a shaped document."""
    current = value
    for part in [p for p in str(path).replace("/", ".").split(".") if p]:
        if isinstance(current, Mapping):
            if part not in current:
                raise Fault("cortex.notFound.property", path=path)
            current = current[part]
        elif isinstance(current, list):
            found = next((i for i in current if isinstance(i, Mapping) and str(i.get("_id")) == part), None)
            if found is None and part.isdigit() and int(part) < len(current):
                found = current[int(part)]
            if found is None:
                raise Fault("cortex.notFound.property", path=path)
            current = found
        else:
            raise Fault("cortex.notFound.pathEndedPrematurely", path=path)
    return current
