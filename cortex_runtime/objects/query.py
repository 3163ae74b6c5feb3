"""Query arguments compiled to MongoDB documents (spec objects-acl-query.md §6.6, §7, §8, §11, §12).

This module checks a caller's ``where``/``sort``/``skip``/``limit``/``pipeline`` against an
:class:`~cortex_runtime.objects.model.ObjectDef` and translates them into MongoDB filter and
pipeline documents that pymongo (or mongomock) executes. It never evaluates a query itself.

Stored instances keep property values at the top level under their property names; a
Reference is stored as a sub-document ``{"_id": ObjectId, ...}``, so matching a Reference by
id targets ``<prop>._id``. Dates are produced as naive UTC ``datetime`` values (what pymongo
decodes by default; an aware value compares equal in MongoDB).

Public API:

- :class:`QueryContext` — who is asking (``script``/``rest``), the org's allowed restricted match
  operators, extra natively indexed paths (:data:`ACCOUNT_NATIVE_INDEXED` for ``account``) and the
  org's default ``_id`` sort order.
- :func:`compile_where` → :class:`CompiledMatch` (filter, required access level, property paths).
- :func:`compile_sort` → ``[(key, 1 | -1), ...]``.
- :func:`check_limit`, :func:`check_skip`, :func:`check_exclusive`.
- :func:`compile_pipeline` → :class:`CompiledPipeline` (MongoDB stages, required access, paths).

Every refusal is a :class:`~cortex_runtime.faults.Fault`, almost always
``cortex.invalidArgument.query`` (kInvalidArgument, 400) with a ``reason`` naming the operator
or property and ``path`` set to the property; whole-object/array equality is
``cortex.unsupportedOperation.exactMatching`` (501), an uncastable value
``cortex.invalidArgument.castError`` (400), and a property that object types define
differently ``cortex.unsupportedOperation.typedQueryExpression`` (501).

Decisions where the spec is silent (see also the function docstrings):

- An unknown property (and, for ``rest`` callers, a ``readable: false`` one) in a where, ``$match``
  or ``$sort`` is ``cortex.invalidArgument.query`` ("Unknown property ..."), because §8 says any
  name that is not indexed or native gives that fault; ``cortex.notFound.property`` stays with
  path addressing and selections (§9, §10). After a non-indexable pipeline stage, unknown names
  are taken as computed fields and passed through.
- ``required_access`` never drops below Public (1); only where/``$match`` raise it (§6.6 names
  only matches), not ``$sort``.
- Limits and skips follow fidelity.md §5: checked when the cursor opens; cursors have no upper
  limit bound, lists (``toList``, REST) allow 1..1000.
- Expression and match nesting both count toward the depth limit of 20.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from types import MappingProxyType
from typing import Any, Literal

from bson import ObjectId

from cortex_runtime.faults import Fault
from cortex_runtime.objects.casting import js_string
from cortex_runtime.objects.model import NATIVE_INDEXED, ObjectDef, PropertyDef

__all__ = [
    "ACCOUNT_NATIVE_INDEXED",
    "MAX_PIPELINE_STAGES",
    "MAX_SKIP",
    "REST_DEFAULT_LIMIT",
    "REST_MAX_LIMIT",
    "SCRIPT_MAX_LIMIT",
    "CompiledMatch",
    "CompiledPipeline",
    "QueryContext",
    "check_exclusive",
    "check_count_limit",
    "check_limit",
    "check_skip",
    "r_int",
    "trailing_limit",
    "compile_pipeline",
    "compile_sort",
    "compile_where",
]

# Limits (§7, §11).
REST_DEFAULT_LIMIT = 100
REST_MAX_LIMIT = 1000
SCRIPT_MAX_LIMIT = 1_000_000_000  # our parser bound for script cursors (the platform sets none)
MAX_SKIP = 500_000
MAX_STAGE_LIMIT = 500_000
MAX_PIPELINE_STAGES = 20
MAX_DEPTH = 20
MAX_KEYS = 100
MAX_ARRAY = 10_000
MAX_CLAUSES = 100
MAX_REGEX = 255
EARTH_RADIUS_KM = 6378.1

# Natively indexed paths that only the ``account`` object has (§8).
ACCOUNT_NATIVE_INDEXED: tuple[str, ...] = ("email", "username", "name.first", "name.last", "dob", "mobile", "roles")

# Built-in instance properties every object has (§2): path -> type. Built-ins count as Public (1).
_BUILTIN_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "_id": "ObjectId",
        "object": "String",
        "type": "String",
        "created": "Date",
        "updated": "Date",
        "creator": "Reference",
        "owner": "Reference",
        "updater": "Reference",
    }
)

# Types of the account's native paths, used when the ObjectDef does not define them: (type, array).
_ACCOUNT_TYPES: Mapping[str, tuple[str, bool]] = MappingProxyType(
    {
        "email": ("String", False),
        "username": ("String", False),
        "name.first": ("String", False),
        "name.last": ("String", False),
        "dob": ("Date", False),
        "mobile": ("String", False),
        "roles": ("ObjectId", True),
    }
)

_CONTAINER_TYPES = frozenset({"Document", "Set"})
_UNMATCHABLE_TYPES = frozenset({"List", "Binary", "File", "Expression"})
_UNSORTABLE_TYPES = frozenset({"Document", "Set", "Geometry", "List", "Binary", "File", "Expression", "Any", "Coordinate"})
_RANGE_TYPES = frozenset({"Number", "Date", "String", "ObjectId", "Reference"})

_FIELD_OPS = frozenset({"$eq", "$gt", "$gte", "$lt", "$lte", "$in", "$regex", "$within", "$all", "$elemMatch", "$size", "$exists"})
_RESTRICTED_OPS = frozenset({"$ne", "$nin", "$type"})
_LOGICAL_OPS = frozenset({"$and", "$or"})

_NON_INDEXABLE_STAGES = frozenset({"$project", "$group", "$unwind", "$skip", "$limit", "$addFields"})
_STAGES = frozenset({"$match", "$sort"}) | _NON_INDEXABLE_STAGES

# Expression operators (§12): name -> (min args, max args or None). Unary operators are separate.
_ARITY: Mapping[str, tuple[int, int | None]] = MappingProxyType(
    {
        "$and": (1, None),
        "$or": (1, None),
        "$cmp": (2, 2),
        "$eq": (2, 2),
        "$ne": (2, 2),
        "$gt": (2, 2),
        "$gte": (2, 2),
        "$lt": (2, 2),
        "$lte": (2, 2),
        "$add": (1, None),
        "$subtract": (2, 2),
        "$multiply": (1, None),
        "$divide": (2, 2),
        "$mod": (2, 2),
        "$pow": (2, 2),
        "$log": (2, 2),
        "$concat": (1, None),
        "$substr": (3, 3),
        "$strcasecmp": (2, 2),
        "$slice": (2, 3),
        "$concatArrays": (1, None),
        "$arrayElemAt": (2, 2),
        "$setEquals": (2, None),
        "$setIntersection": (1, None),
        "$setUnion": (1, None),
        "$setDifference": (2, 2),
        "$setIsSubset": (2, 2),
        "$cond": (3, 3),
        "$ifNull": (2, 2),
    }
)
_UNARY = frozenset(
    {
        "$not",
        "$abs",
        "$ceil",
        "$floor",
        "$trunc",
        "$sqrt",
        "$exp",
        "$ln",
        "$toLower",
        "$toUpper",
        "$size",
        "$isArray",
        "$year",
        "$month",
        "$dayOfMonth",
        "$dayOfYear",
        "$dayOfWeek",
        "$week",
        "$hour",
        "$minute",
        "$second",
        "$millisecond",
    }
)
_LITERALS = frozenset({"$literal", "$string", "$number", "$integer", "$boolean", "$date", "$objectId", "$array", "$object"})
_ACCUMULATORS = frozenset(
    {"$count", "$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$pushAll", "$addToSet", "$stdDevPop", "$stdDevSamp"}
)

_DATE_SPECIFIERS = frozenset("dGHjLmMSuUVwY%")
# moment.js format tokens -> MongoDB $dateToString specifiers.
_MOMENT_TOKENS: Mapping[str, str] = MappingProxyType(
    {
        "YYYY": "%Y",
        "GGGG": "%G",
        "MM": "%m",
        "DD": "%d",
        "DDDD": "%j",
        "HH": "%H",
        "mm": "%M",
        "ss": "%S",
        "SSS": "%L",
        "WW": "%V",
        "E": "%u",
        "ZZ": "%z",
    }
)
_MOMENT_LETTERS = frozenset("MQDdeEwWYGgAaHhkmsSZzXxNo")
_UTC_NAMES = frozenset({"UTC", "Z", "GMT", "Etc/UTC", "+00:00", "+0000", "+00"})

_HEX24 = re.compile(r"[0-9a-fA-F]{24}")
_INT_TEXT = re.compile(r"[+-]?\d+")
_FIELD_PATH = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")
_GROUP_NAME = re.compile(r"[a-zA-Z0-9\-_]{1,40}")
_REGEX_VALUE = re.compile(r"/(.*)/([A-Za-z]*)", re.S)


# --------------------------------------------------------------------------------------------
# Public shapes


@dataclass(frozen=True)
class QueryContext:
    """Who compiles the query, and the org settings that change what is allowed.

    ``allowed_restricted_ops`` is the org setting ``allowedRestrictedMatchOps`` (``"$ne"``,
    ``"$nin"``, ``"$type"`` or ``"*"``). ``native_indexed`` lists extra natively indexed paths
    (pass :data:`ACCOUNT_NATIVE_INDEXED` for ``account``). ``default_sort_order`` is the org's
    ``defaultIdentifierSortOrder``: -1 newest first (default), 1 oldest first, 0 no implied sort.
    """

    kind: Literal["script", "rest"] = "rest"
    allowed_restricted_ops: frozenset[str] = frozenset()
    native_indexed: tuple[str, ...] = ()
    default_sort_order: int = -1

    def allows(self, op: str) -> bool:
        """True if the restricted match operator ``op`` is enabled for this org."""
        allowed = self.allowed_restricted_ops
        return "*" in allowed or op in allowed or op.lstrip("$") in allowed


@dataclass(frozen=True)
class CompiledMatch:
    """A compiled where: the MongoDB ``filter``, the instance access level it requires
    (max readAccess of the named properties, at least Public = 1), and the property paths named."""

    filter: dict[str, Any]
    required_access: int = 1
    paths: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class CompiledPipeline:
    """A compiled pipeline: MongoDB ``stages`` (the caller prepends its org/object/ACL ``$match``),
    the access level required by matches in the indexable phase, and every object property path
    the pipeline names (for the caller's readability checks)."""

    stages: list[dict[str, Any]]
    required_access: int = 1
    paths: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------------------------
# Faults


def _fault(reason: str, path: str | None = None, index: int | None = None) -> Fault:
    return Fault("cortex.invalidArgument.query", reason=reason, path=path, index=index)


def _exact(path: str | None) -> Fault:
    return Fault(
        "cortex.unsupportedOperation.exactMatching",
        reason=f"Whole-object or whole-array equality is not supported{f' on {path}' if path else ''}.",
        path=path,
    )


def _cast_fault(path: str, type_name: str, value: Any) -> Fault:
    """fidelity.md §1: query values use the expression types' text, ``String(value)`` included."""
    shown = "ObjectId" if type_name == "Reference" else type_name
    return Fault("cortex.invalidArgument.castError", reason=f'Could not cast "{js_string(value)}" to {shown}.', path=path)


# --------------------------------------------------------------------------------------------
# Value casting


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_primitive(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple, set, frozenset))


def _to_datetime(value: Any) -> datetime | None:
    """A naive UTC datetime (millisecond precision) from a datetime, date, ISO string or epoch ms."""
    result: datetime
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif _is_number(value) and math.isfinite(value):
        try:
            result = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    if result.tzinfo is not None:
        result = result.astimezone(timezone.utc).replace(tzinfo=None)
    return result.replace(microsecond=result.microsecond // 1000 * 1000)


def _to_object_id(value: Any) -> ObjectId | None:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and _HEX24.fullmatch(value):
        return ObjectId(value)
    return None


def _to_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _to_string(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _to_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    return None


def _cast(type_name: str | None, path: str, value: Any) -> Any:
    """Cast one primitive match value to the property type; None passes (matches null/missing)."""
    if value is None or type_name is None:
        return value
    result: Any
    if type_name == "Date":
        result = _to_datetime(value)
    elif type_name in ("ObjectId", "Reference"):
        result = _to_object_id(value)
    elif type_name == "Number":
        result = _to_number(value)
    elif type_name == "String":
        result = _to_string(value)
    elif type_name == "Boolean":
        result = _to_boolean(value)
    else:
        return value
    if result is None:
        raise _cast_fault(path, type_name, value)
    return result


def _as_int(value: Any, name: str) -> int:
    """An integer from an int, an integral float or a decimal string (REST query text)."""
    if isinstance(value, bool):
        raise _fault(f"{name} must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise _fault(f"{name} must be an integer.")


# --------------------------------------------------------------------------------------------
# Property resolution


@dataclass(frozen=True)
class _Field:
    """A resolved match/sort target. ``key`` is the storage key; ``type`` None means untyped."""

    path: str
    key: str
    type: str | None
    array: bool = False
    indexed: bool = True
    read_access: int = 1
    known: bool = True


def _find_property(obj: ObjectDef, path: str) -> PropertyDef | None:
    """A property by dotted path on the object or any of its object types."""
    prop = obj.resolve_path(path)
    if prop is not None:
        return prop
    found: list[tuple[str, PropertyDef]] = []
    for object_type in obj.object_types:
        candidate = obj.resolve_path(path, object_type.name)
        if candidate is not None and all(candidate is not other for _, other in found):
            found.append((object_type.name, candidate))
    if not found:
        return None
    first = found[0][1]
    if any((other.type, other.array) != (first.type, first.array) for _, other in found[1:]):
        names = ", ".join(name for name, _ in found)
        raise Fault(
            "cortex.unsupportedOperation.typedQueryExpression",
            reason=f"Property {path} is defined differently by object types {names}.",
            path=path,
        )
    if len(found) > 1:
        indexed = all(prop.indexed for _, prop in found)
        read_access = max(prop.read_access for _, prop in found)
        return replace(first, indexed=indexed, read_access=read_access)
    return first


def _readable(obj: ObjectDef, path: str) -> bool:
    """False when the property or one of its parents is ``readable: false``."""
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        prop = _find_property(obj, ".".join(parts[:end]))
        if prop is not None and not prop.readable:
            return False
    return True


def _lookup(obj: ObjectDef, ctx: QueryContext, path: str) -> _Field | None:
    """Resolve a dotted path to a :class:`_Field`, or None when the object has no such property.

    For REST callers a path into a ``readable: false`` property raises (unknown property)."""
    native = path in NATIVE_INDEXED or path in ctx.native_indexed
    builtin = _BUILTIN_TYPES.get(path)
    if builtin is not None:
        key = f"{path}._id" if builtin == "Reference" else path
        return _Field(path, key, builtin, False, native, 1)
    if ctx.kind == "rest" and not _readable(obj, path):
        # readable: false properties are visible to scripts only; to REST callers they do not exist.
        raise _fault(f"Unknown property {path} on {obj.name}.", path)
    if path.endswith("._id"):
        base = _lookup(obj, ctx, path[:-4])
        if base is not None and base.type == "Reference":
            return _Field(path, base.key, "ObjectId", base.array, base.indexed or native, base.read_access)
        if base is not None and base.type in _CONTAINER_TYPES and base.array:
            return _Field(path, path, "ObjectId", False, native, base.read_access)
    prop = _find_property(obj, path)
    if prop is not None:
        key = f"{path}._id" if prop.type == "Reference" else path
        return _Field(path, key, prop.type, prop.array, prop.indexed or native, prop.read_access)
    if path in ctx.native_indexed:
        type_name, array = _ACCOUNT_TYPES.get(path, (None, False))
        key = f"{path}._id" if type_name == "Reference" else path
        return _Field(path, key, type_name, array, True, 1)
    return None


def _untyped(path: str) -> _Field:
    return _Field(path, path, None, False, True, 1, known=False)


def _check_field_name(name: Any, what: str, index: int | None = None) -> str:
    if not isinstance(name, str) or not _FIELD_PATH.fullmatch(name):
        raise _fault(f"Invalid field name {name!r} in {what}.", index=index)
    return name


# --------------------------------------------------------------------------------------------
# Matches


class _MatchCompiler:
    """Compiles one where / ``$match`` document.

    ``strict``: the indexed-only rule applies (where, or a ``$match`` in the indexable phase).
    ``typed``: names resolve to object properties (false after a ``$group``).
    """

    def __init__(self, obj: ObjectDef, ctx: QueryContext, *, strict: bool, typed: bool) -> None:
        self.obj = obj
        self.ctx = ctx
        self.strict = strict
        self.typed = typed
        self.required = 1
        self.paths: set[str] = set()

    # ---- documents

    def document(self, where: Any, base: _Field | None = None, depth: int = 1) -> dict[str, Any]:
        if not isinstance(where, dict):
            raise _fault("A match must be an object.", base.path if base else None)
        if depth > MAX_DEPTH:
            raise _fault(f"Match is nested deeper than {MAX_DEPTH} levels.", base.path if base else None)
        if len(where) > MAX_KEYS:
            raise _fault(f"A match may have at most {MAX_KEYS} keys.", base.path if base else None)
        parts: list[tuple[str, Any]] = []
        for key, value in where.items():
            if not isinstance(key, str) or not key:
                raise _fault(f"Invalid match key {key!r}.", base.path if base else None)
            if key.startswith("$"):
                if key not in _LOGICAL_OPS:
                    raise _fault(f"Invalid operator {key}", base.path if base else None)
                parts.append((key, self.logical(key, value, base, depth)))
                continue
            variants = self.type_variants(key, base)
            if variants:
                clauses = [{"type": type_name, **dict(self.condition(field, value, depth))} for type_name, field in variants]
                parts.append(("$or", clauses))
                continue
            target = self.resolve(key, base)
            parts.extend(self.condition(target, value, depth))
        keys = [key for key, _ in parts]
        if len(set(keys)) == len(keys):
            return dict(parts)
        return {"$and": [{key: value} for key, value in parts]}

    def logical(self, op: str, clauses: Any, base: _Field | None, depth: int) -> list[dict[str, Any]]:
        path = base.path if base else None
        if not isinstance(clauses, list) or not all(isinstance(clause, dict) for clause in clauses):
            raise _fault(f"{op} expects an array of objects.", path)
        if not 1 <= len(clauses) <= MAX_CLAUSES:
            raise _fault(f"{op} expects between 1 and {MAX_CLAUSES} entries (got {len(clauses)}).", path)
        return [self.document(clause, base, depth + 1) for clause in clauses]

    def type_variants(self, key: str, base: _Field | None) -> list[tuple[str, _Field]] | None:
        """fidelity.md §14: a name that object types define differently (and the base does not) is
        matched per type, each with its own cast, in an ``$or`` with the type condition; a value
        one of the types cannot cast fails the whole query."""
        if base is not None or not self.typed or self.obj.resolve_path(key) is not None:
            return None
        found: list[tuple[str, PropertyDef]] = []
        for object_type in self.obj.object_types:
            prop = self.obj.resolve_path(key, object_type.name)
            if prop is not None:
                found.append((object_type.name, prop))
        if len({(prop.type, prop.array) for _, prop in found}) < 2:
            return None
        if self.ctx.kind == "rest" and not _readable(self.obj, key):
            return None
        return [
            (name, _Field(key, f"{key}._id" if prop.type == "Reference" else key, prop.type, prop.array, prop.indexed, prop.read_access))
            for name, prop in found
        ]

    def resolve(self, key: str, base: _Field | None) -> _Field:
        """Resolve a match key (relative to ``base`` inside a document ``$elemMatch``)."""
        full = f"{base.path}.{key}" if base is not None else key
        if not self.typed or (base is not None and not base.known):
            return _untyped(key)
        found = _lookup(self.obj, self.ctx, full)
        if found is None:
            if self.strict or (self.typed and base is not None):
                raise _fault(f"Unknown property {full} on {self.obj.name}.", full)
            return _untyped(key)
        if base is not None:
            found = replace(found, key=found.key[len(base.path) + 1 :])
        return found

    def note(self, target: _Field) -> None:
        if target.known:
            self.paths.add(target.path)
            self.required = max(self.required, target.read_access)

    def require_indexed(self, target: _Field) -> None:
        if not self.strict or not target.known:
            return
        if target.type in _UNMATCHABLE_TYPES:
            raise _fault(
                f"Matches can only occur on indexed properties. {target.path} is a {target.type} property and cannot be matched.",
                target.path,
            )
        if not target.indexed:
            raise _fault(f"Matches can only occur on indexed properties. {target.path} is not indexed.", target.path)

    # ---- conditions on one property

    def condition(self, target: _Field, value: Any, depth: int) -> list[tuple[str, Any]]:
        self.note(target)
        if isinstance(value, dict):
            dollar = [key for key in value if isinstance(key, str) and key.startswith("$")]
            if not value or not dollar:
                raise _exact(target.path)
            if len(dollar) != len(value):
                other = next(key for key in value if key not in dollar)
                raise _fault(f"Invalid operator {other}", target.path)
            return self.operators(target, value, depth)
        if isinstance(value, (list, tuple, set, frozenset)):
            raise _exact(target.path)
        if target.known and target.type in _CONTAINER_TYPES and value is not None:
            raise _exact(target.path)
        self.require_indexed(target)
        return [(target.key, self.cast(target, value))]

    def operators(self, target: _Field, ops: dict[str, Any], depth: int) -> list[tuple[str, Any]]:
        container = target.known and target.type in _CONTAINER_TYPES
        out: dict[str, dict[str, Any]] = {}
        for op, arg in ops.items():
            if op in _RESTRICTED_OPS:
                if not self.ctx.allows(op):
                    raise _fault(f"Invalid operator {op}", target.path)
            elif op not in _FIELD_OPS:
                raise _fault(f"Invalid operator {op}", target.path)
            element_match = op == "$elemMatch" or (
                op == "$all" and isinstance(arg, list) and any(_is_elem_match(item) for item in arg)
            )
            if not (container and element_match):
                self.require_indexed(target)
            key, fragment = self.operator(target, op, arg, depth)
            out.setdefault(key, {}).update(fragment)
        return list(out.items())

    def operator(self, target: _Field, op: str, arg: Any, depth: int) -> tuple[str, dict[str, Any]]:
        path = target.path
        typed = target.known and target.type is not None
        if op in ("$eq", "$ne"):
            if not _is_primitive(arg):
                raise _exact(path)
            return target.key, {op: self.cast(target, arg)}
        if op in ("$gt", "$gte", "$lt", "$lte"):
            if not _is_primitive(arg) or arg is None:
                raise _fault(f"{op} expects a primitive value.", path)
            if typed and target.type not in _RANGE_TYPES:
                raise _fault(f"{op} cannot be used on {target.type} property {path}.", path)
            return target.key, {op: self.cast(target, arg)}
        if op in ("$in", "$nin", "$all"):
            return self.array_operator(target, op, arg, depth)
        if op == "$regex":
            if typed and target.type != "String":
                raise _fault(f"$regex can only be used on String properties ({path} is {target.type}).", path)
            return target.key, _regex(arg, path)
        if op == "$within":
            if typed and target.type != "Geometry":
                raise _fault(f"$within can only be used on Geometry properties ({path} is {target.type}).", path)
            return target.key, _within(arg, path)
        if op == "$size":
            self.require_array(target, op)
            if not isinstance(arg, int) or isinstance(arg, bool) or arg < 0:
                raise _fault("$size expects an integer >= 0.", path)
            return target.key, {"$size": arg}
        if op == "$exists":
            if not isinstance(arg, bool):
                raise _fault("$exists expects a boolean.", path)
            return target.key, {"$exists": arg}
        if op == "$type":
            if not (isinstance(arg, str) and arg) and not (isinstance(arg, int) and not isinstance(arg, bool)):
                raise _fault("$type expects a BSON type name or number.", path)
            return target.key, {"$type": arg}
        # $elemMatch
        self.require_array(target, op)
        return self.elem_match(target, arg, depth)

    def require_array(self, target: _Field, op: str) -> None:
        if target.known and target.type is not None and not target.array:
            raise _fault(f"{op} can only be used on array properties ({target.path} is not an array).", target.path)

    def array_operator(self, target: _Field, op: str, arg: Any, depth: int) -> tuple[str, dict[str, Any]]:
        path = target.path
        if not isinstance(arg, list):
            raise _fault(f"{op} expects an array.", path)
        if len(arg) > MAX_ARRAY:
            raise _fault(f"{op} accepts at most {MAX_ARRAY} values (got {len(arg)}).", path)
        if op == "$all":
            self.require_array(target, op)
            matches = [item for item in arg if _is_elem_match(item)]
            if matches:
                if len(matches) != len(arg):
                    raise _fault("$all may not mix values and $elemMatch objects.", path)
                compiled = []
                for item in matches:
                    key, fragment = self.elem_match(target, item["$elemMatch"], depth)
                    compiled.append(fragment)
                return key, {"$all": compiled}
        values = []
        for item in arg:
            if not _is_primitive(item):
                raise _exact(path)
            values.append(self.cast(target, item))
        return target.key, {op: values}

    def elem_match(self, target: _Field, arg: Any, depth: int) -> tuple[str, dict[str, Any]]:
        path = target.path
        if not isinstance(arg, dict) or not arg:
            raise _fault("$elemMatch expects a non-empty object.", path)
        if depth + 1 > MAX_DEPTH:
            raise _fault(f"Match is nested deeper than {MAX_DEPTH} levels.", path)
        documents = target.known and target.type in _CONTAINER_TYPES
        operator_doc = all(isinstance(key, str) and key.startswith("$") and key not in _LOGICAL_OPS for key in arg)
        if documents or not operator_doc:
            if target.known and target.type is not None and not documents:
                raise _fault(f"$elemMatch on {path} expects operators, not fields.", path)
            base = target if target.known else _untyped(target.key)
            return target.key, {"$elemMatch": self.document(arg, base, depth + 1)}
        element = replace(target, array=False)
        if target.type == "Reference":
            # References are stored as {_id: ...}: match the element's _id.
            key = target.key[: -len("._id")]
            fragment = dict(self.operators(replace(element, key="_id"), arg, depth + 1))
            return key, {"$elemMatch": fragment}
        fragments = self.operators(replace(element, key=""), arg, depth + 1)
        return target.key, {"$elemMatch": fragments[0][1] if fragments else {}}

    def cast(self, target: _Field, value: Any) -> Any:
        if not target.known or target.type is None:
            return value
        return _cast(target.type, target.path, value)


def _is_elem_match(item: Any) -> bool:
    return isinstance(item, dict) and len(item) == 1 and "$elemMatch" in item


def _regex(arg: Any, path: str) -> dict[str, Any]:
    """``"/pattern/flags"`` -> ``{"$regex": pattern, "$options": flags}`` (JS flags g/u/y dropped)."""
    if not isinstance(arg, str):
        raise _fault('$regex expects a string of the form "/pattern/flags".', path)
    found = _REGEX_VALUE.fullmatch(arg)
    if found is None:
        raise _fault('$regex expects a string of the form "/pattern/flags".', path)
    pattern, flags = found.group(1), found.group(2)
    if not 1 <= len(pattern) <= MAX_REGEX:
        raise _fault(f"$regex pattern must be between 1 and {MAX_REGEX} characters.", path)
    if any(flag not in "gimsuy" for flag in flags) or len(set(flags)) != len(flags):
        raise _fault(f"Invalid $regex flags {flags!r}.", path)
    try:
        re.compile(pattern)
    except re.error as error:
        raise _fault(f"Invalid $regex pattern: {error}.", path) from None
    return {"$regex": pattern, "$options": "".join(flag for flag in flags if flag in "ims")}


def _within(arg: Any, path: str) -> dict[str, Any]:
    """``{$center: [lng, lat], $radius: km}`` -> ``$geoWithin`` with a spherical circle."""
    if not isinstance(arg, dict) or set(arg) != {"$center", "$radius"}:
        raise _fault("$within expects {$center: [lng, lat], $radius: km}.", path)
    center, radius = arg["$center"], arg["$radius"]
    if not (isinstance(center, list) and len(center) == 2 and all(_is_number(item) for item in center)):
        raise _fault("$within $center expects [lng, lat].", path)
    lng, lat = center
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise _fault("$within $center is out of range.", path)
    if not _is_number(radius) or not math.isfinite(radius) or radius < 0:
        raise _fault("$within $radius expects a number of kilometres >= 0.", path)
    return {"$geoWithin": {"$centerSphere": [[lng, lat], radius / EARTH_RADIUS_KM]}}


def compile_where(obj: ObjectDef, where: Any, ctx: QueryContext) -> CompiledMatch:
    """Compile a where document (§8) into a MongoDB filter on stored instances.

    Only indexed properties and natively indexed built-ins may be named; operators are
    limited to the §8 whitelist (``$ne``/``$nin``/``$type`` only when the org allows them).
    ``None`` means no where (``{}``). References match by ``<prop>._id``.
    """
    if where is None:
        return CompiledMatch({}, 1, set())
    compiler = _MatchCompiler(obj, ctx, strict=True, typed=True)
    compiled = compiler.document(where)
    return CompiledMatch(compiled, compiler.required, compiler.paths)


# --------------------------------------------------------------------------------------------
# Sort, skip, limit, exclusivity


def _sort_pairs(obj: ObjectDef, sort: Any, ctx: QueryContext, *, strict: bool, typed: bool) -> list[tuple[str, int]]:
    if isinstance(sort, str):
        sort = {sort: 1}
    if not isinstance(sort, dict):
        raise _fault("sort expects a property name or an object of {property: 1 | -1}.")
    if len(sort) > MAX_KEYS:
        raise _fault(f"sort may have at most {MAX_KEYS} keys.")
    pairs: list[tuple[str, int]] = []
    for name, direction in sort.items():
        if not isinstance(name, str) or not name or name.startswith("$"):
            raise _fault(f"Invalid sort key {name!r}.")
        if isinstance(direction, bool) or not _is_number(direction) or direction not in (1, -1):
            raise _fault(f"Sort direction for {name} must be 1 or -1.", name)
        target = _lookup(obj, ctx, name) if typed else None
        if target is None:
            if strict:
                raise _fault(f"Sorting can only occur on indexed properties. Unknown property {name} on {obj.name}.", name)
            pairs.append((name, int(direction)))
            continue
        if strict:
            if not target.indexed:
                raise _fault(f"Sorting can only occur on indexed properties. {name} is not indexed.", name)
            if target.array:
                raise _fault(f"Sorting can only occur on indexed properties. Array property {name} cannot be sorted.", name)
            if target.type in _UNSORTABLE_TYPES:
                raise _fault(f"Sorting can only occur on indexed properties. {target.type} property {name} cannot be sorted.", name)
        pairs.append((target.key, int(direction)))
    return pairs


def compile_sort(obj: ObjectDef, sort: Any, ctx: QueryContext) -> list[tuple[str, int]]:
    """Compile ``sort``: a property name (ascending) or ``{prop: 1 | -1, ...}`` on indexed,
    non-array properties. None/empty gives the org default, ``[("_id", -1)]`` (newest first)."""
    if sort is None or sort == "" or sort == {}:
        order = ctx.default_sort_order
        return [("_id", order)] if order in (1, -1) else []
    return _sort_pairs(obj, sort, ctx, strict=True, typed=True)


def r_int(value: Any, default: Any = None) -> Any:
    """An integer or an integer string, else ``default`` (the platform's ``rInt``)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return default


_LIMIT_POSITIVE = "limit query option must be positive integer"
LIST_MAX_LIMIT = 1000
SCRIPT_LIST_DEFAULT_LIMIT = 10


def check_limit(limit: Any, ctx: QueryContext, *, as_list: bool = False) -> int | None:
    """Validate ``limit`` when a cursor opens (fidelity.md §5).

    As a cursor: unset or ``false`` means no limit; a non-integer or a value below 1 fails; there is
    no upper bound. As a list (``toList``, REST ``GET``): unset or ``false`` gives the default (10 in
    scripts, 100 over REST) and more than 1000 fails. REST lists are always read as lists."""
    if as_list or ctx.kind == "rest":
        if limit is None or limit is False:
            return REST_DEFAULT_LIMIT if ctx.kind == "rest" else SCRIPT_LIST_DEFAULT_LIMIT
        value = r_int(limit)
        if value is None or value < 1:
            raise _fault(_LIMIT_POSITIVE)
        if value > LIST_MAX_LIMIT:
            raise _fault(f"limit query option must be an integer between 1 and {LIST_MAX_LIMIT}, inclusive")
        return value
    if limit is None or limit is False:
        return None
    value = r_int(limit)
    if value is None or value < 1:
        raise _fault(_LIMIT_POSITIVE)
    return value


def check_skip(skip: Any) -> int:
    """Validate ``skip`` (fidelity.md §5): a non-integer is 0; below 0 or above 500000 fails."""
    value = r_int(skip, 0)
    if not 0 <= value <= MAX_SKIP:
        raise _fault(f"skip query option must be an integer between 0 and {MAX_SKIP}, inclusive")
    return value


def check_count_limit(limit: Any) -> int | None:
    """``count()``'s limit: compared as given (no integer parsing), 1..500000."""
    if limit is None or limit is False:
        return None
    if isinstance(limit, bool) or not _is_number(limit) or not 1 <= limit <= MAX_STAGE_LIMIT:
        raise _fault(f"limit option must be an integer between 1 and {MAX_STAGE_LIMIT}, inclusive")
    return int(limit)


def trailing_limit(stages: Any) -> int | None:
    """The smallest ``$limit`` after the last ``$unwind``/``$match``/``$group`` stage: the
    pipeline's final limit, which list reads check with the list rules."""
    if not isinstance(stages, list):
        return None
    found: int | None = None
    for stage in stages:
        if not isinstance(stage, Mapping) or len(stage) != 1:
            continue
        name, value = next(iter(stage.items()))
        if name in ("$unwind", "$match", "$group"):
            found = None
        elif name == "$limit":
            value = r_int(value, 0)
            found = value if found is None else min(found, value)
    return found


def check_exclusive(options: Mapping[str, Any]) -> None:
    """Refuse argument combinations §7 forbids: ``pipeline`` with where/sort/map/group/
    startingAfter/endingBefore, and ``startingAfter``/``endingBefore`` with where/sort/map/group
    or with each other. Options set to None count as absent."""
    present = {key for key, value in options.items() if value is not None}
    legacy = ("where", "sort", "map", "group")
    if "pipeline" in present:
        for other in (*legacy, "startingAfter", "endingBefore"):
            if other in present:
                raise _fault(f"pipeline cannot be combined with {other}.")
    for paging in ("startingAfter", "endingBefore"):
        if paging in present:
            for other in (*legacy, "endingBefore" if paging == "startingAfter" else "startingAfter"):
                if other in present:
                    raise _fault(f"{paging} cannot be combined with {other}.")


# --------------------------------------------------------------------------------------------
# Expressions


def _literal(op: str, arg: Any) -> Any:
    """A typed literal wrapper (``$string`` etc.) -> ``{"$literal": value}``."""
    value: Any
    if op == "$literal":
        value = arg
    elif op == "$string":
        if not isinstance(arg, str):
            raise _fault("$string expects a string value")
        value = arg
    elif op == "$number":
        if not _is_number(arg):
            raise _fault("$number expects a number value")
        value = arg
    elif op == "$integer":
        if not _is_number(arg) or not float(arg).is_integer():
            raise _fault("$integer expects an integer value")
        value = int(arg)
    elif op == "$boolean":
        if not isinstance(arg, bool):
            raise _fault("$boolean expects a boolean value")
        value = arg
    elif op == "$date":
        value = _to_datetime(arg)
        if value is None:
            raise _fault("$date expects a date value")
    elif op == "$objectId":
        value = _to_object_id(arg)
        if value is None:
            raise _fault("$objectId expects an ObjectId value")
    elif op == "$array":
        if not isinstance(arg, list):
            raise _fault("$array expects an array value")
        value = arg
    else:  # $object
        if not isinstance(arg, dict):
            raise _fault("$object expects an object value")
        if len(arg) > MAX_KEYS:
            raise _fault(f"An expression may have at most {MAX_KEYS} keys.")
        value = arg
    return {"$literal": value}


def _literal_kind(compiled: Any) -> str | None:
    """'date' / 'number' for compiled literals, else None (unknown until run time)."""
    if isinstance(compiled, dict) and set(compiled) == {"$literal"}:
        compiled = compiled["$literal"]
    elif isinstance(compiled, (dict, str, list)):
        return None
    if isinstance(compiled, datetime):
        return "date"
    if _is_number(compiled):
        return "number"
    return "other"


def _percent_format(text: str) -> str:
    """Validate a ``%`` format for ``$dateToString``."""
    index = 0
    while index < len(text):
        if text[index] == "%":
            if index + 1 >= len(text) or text[index + 1] not in _DATE_SPECIFIERS:
                raise _fault(f"Invalid $dateToString format specifier in {text!r}.")
            index += 2
        else:
            index += 1
    return text


def _moment_format(text: str) -> str:
    """Translate a moment.js style format (``'MM/DD/YYYY'``) into ``%`` specifiers."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "[":
            end = text.find("]", index)
            if end < 0:
                raise _fault(f"Unclosed [ in $dateToString format {text!r}.")
            out.append(text[index + 1 : end].replace("%", "%%"))
            index = end + 1
        elif char in _MOMENT_LETTERS:
            end = index
            while end < len(text) and text[end] == char:
                end += 1
            token = text[index:end]
            mapped = _MOMENT_TOKENS.get(token)
            if mapped is None:
                raise _fault(f"Unsupported $dateToString format token {token}.")
            out.append(mapped)
            index = end
        else:
            out.append("%%" if char == "%" else char)
            index += 1
    return "".join(out)


class _ExprCompiler:
    """Compiles §12 expressions to MongoDB aggregation expressions."""

    def __init__(
        self, obj: ObjectDef, ctx: QueryContext, typed: bool, paths: set[str], known: Callable[[str], bool] | None = None
    ) -> None:
        self.obj = obj
        self.ctx = ctx
        self.typed = typed
        self.paths = paths
        self.known = known
        self.component: str | None = None  # the stage key being compiled, for strict faults

    def path(self, text: str) -> str:
        """A bare (or ``$``-prefixed) property path -> ``"$path"``."""
        name = text[1:] if text.startswith("$") else text
        if not _FIELD_PATH.fullmatch(name):
            raise _fault(f"Invalid property path {text!r} in expression.")
        if self.known is not None and not self.known(name):
            raise _fault(f"strict: there are no properties that could match {name}", self.component or name)
        if self.typed:
            found = _lookup(self.obj, self.ctx, name)
            if found is not None:
                self.paths.add(name)
        return "$" + name

    def expr(self, value: Any, depth: int = 1) -> Any:
        if depth > MAX_DEPTH:
            raise _fault(f"Expression is nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            return self.path(value)
        if value is None or isinstance(value, (bool, int, float, datetime, ObjectId)):
            return value
        if isinstance(value, list):
            return [self.expr(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            raise _fault(f"Invalid expression value {value!r}.")
        if len(value) > MAX_KEYS:
            raise _fault(f"An expression may have at most {MAX_KEYS} keys.")
        if len(value) != 1:
            raise _fault("An expression must have exactly one operator.")
        ((op, arg),) = value.items()
        if not isinstance(op, str) or not op.startswith("$"):
            raise _fault(f"Invalid expression {op!r}: wrap object literals in $object.")
        return self.operator(op, arg, depth)

    def args(self, op: str, arg: Any, depth: int) -> list[Any]:
        low, high = _ARITY[op]
        items = arg if isinstance(arg, list) else [arg]
        if len(items) < low or (high is not None and len(items) > high):
            expected = str(low) if low == high else (f"{low} or more" if high is None else f"{low} to {high}")
            raise _fault(f"{op} expects an array of {expected} arguments.")
        return [self.expr(item, depth + 1) for item in items]

    def operator(self, op: str, arg: Any, depth: int) -> Any:
        if op in _LITERALS:
            return _literal(op, arg)
        if op in _UNARY:
            if isinstance(arg, list):
                if len(arg) != 1:
                    raise _fault(f"{op} expects a single argument.")
                arg = arg[0]
            inner = self.expr(arg, depth + 1)
            return {op: [inner] if isinstance(inner, list) else inner}
        if op == "$cond" and isinstance(arg, dict):
            if set(arg) != {"if", "then", "else"}:
                raise _fault("$cond expects [if, then, else] or {if, then, else}.")
            arg = [arg["if"], arg["then"], arg["else"]]
        if op in _ARITY:
            items = self.args(op, arg, depth)
            kinds = [_literal_kind(item) for item in items]
            if op == "$add" and kinds.count("date") > 1:
                raise _fault("$add accepts at most one date.")
            if op == "$subtract" and None not in kinds and tuple(kinds) not in (
                ("date", "date"),
                ("number", "number"),
                ("date", "number"),
            ):
                raise _fault("$subtract expects Date-Date, Number-Number or Date-Number.")
            return {op: items}
        if op in ("$anyElementTrue", "$allElementsTrue"):
            items = arg if isinstance(arg, list) else [arg]
            if not items:
                raise _fault(f"{op} expects an array.")
            if len(items) == 1:
                return {op: [self.expr(items[0], depth + 1)]}
            return {op: [[self.expr(item, depth + 1) for item in items]]}
        if op == "$dateToString":
            return self.date_to_string(arg, depth)
        if op in _ACCUMULATORS:
            raise _fault(f"{op} can only be used as a $group accumulator.")
        raise _fault(f"Invalid operator {op}")

    def date_to_string(self, arg: Any, depth: int) -> dict[str, Any]:
        """Both forms: ``[format, date]`` with ``%`` specifiers, and ``{date, format, timezone, onNull}``
        whose format is moment-style (``'MM/DD/YYYY'``, ``[literal]``) unless it contains ``%``.
        A UTC timezone is dropped (MongoDB's default); others pass through."""
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[0], str):
                raise _fault("$dateToString expects [format, date].")
            return {"$dateToString": {"format": _percent_format(arg[0]), "date": self.expr(arg[1], depth + 1)}}
        if not isinstance(arg, dict) or "date" not in arg or not set(arg) <= {"date", "format", "timezone", "onNull"}:
            raise _fault("$dateToString expects [format, date] or {date, format, timezone, onNull}.")
        spec: dict[str, Any] = {"date": self.expr(arg["date"], depth + 1)}
        if "format" in arg:
            text = arg["format"]
            if not isinstance(text, str):
                raise _fault("$dateToString format must be a string.")
            spec["format"] = _percent_format(text) if "%" in text else _moment_format(text)
        zone = arg.get("timezone")
        if zone is not None:
            if not isinstance(zone, str) or not zone:
                raise _fault("$dateToString timezone must be a string.")
            if zone not in _UTC_NAMES:  # UTC is MongoDB's default
                spec["timezone"] = zone
        if "onNull" in arg:
            spec["onNull"] = self.expr(arg["onNull"], depth + 1)
        return {"$dateToString": spec}

    def accumulator(self, op: str, arg: Any) -> dict[str, Any]:
        if op not in _ACCUMULATORS:
            raise _fault(f"Invalid operator {op}")
        if op == "$count":
            if arg in ("_id", "$_id"):
                return {"$sum": 1}
            value = self.expr(arg, 2)
            is_array = {"$isArray": [value] if isinstance(value, list) else value}
            return {
                "$sum": {
                    "$cond": [
                        is_array,
                        # the inner guard keeps $size safe where both branches are evaluated
                        {"$size": {"$cond": [is_array, value, {"$literal": []}]}},
                        {"$cond": [{"$ifNull": [value, False]}, 1, 0]},
                    ]
                }
            }
        if op == "$pushAll":
            return {"$push": {"$ifNull": [self.expr(arg, 2), None]}}
        return {op: self.expr(arg, 2)}


# --------------------------------------------------------------------------------------------
# Pipelines


class _PipelineCompiler:
    """Compiles a pipeline stage by stage, tracking the indexable phase and typed scope."""

    def __init__(self, obj: ObjectDef, ctx: QueryContext, parser_strict: bool = True) -> None:
        self.obj = obj
        self.ctx = ctx
        # fidelity.md §9: the parser's strict mode (candidate-model checks); off only by strict(false).
        self.parser_strict = parser_strict
        self.strict = True  # no non-indexable stage seen yet
        self.typed = True  # field names still mean object properties (no $group yet)
        self.required = 1
        self.paths: set[str] = set()
        self.stages: list[dict[str, Any]] = []
        # fidelity.md §9: what the previous stage outputs. None means the object's properties
        # (plus ``added``, the fields of $addFields stages over them).
        self.outputs: set[str] | None = None
        self.added: set[str] = set()

    def known(self, path: str) -> bool:
        """Whether a candidate model of the current stage has ``path`` (always, when not strict)."""
        if not self.parser_strict:
            return True
        top = path.split(".")[0]
        if self.outputs is not None:
            return top in self.outputs
        if top in self.added or top in ("_id", "type", "object") or _lookup(self.obj, self.ctx, path) is not None:
            return True
        return _lookup(self.obj, self.ctx, top) is not None

    def exprs(self) -> _ExprCompiler:
        return _ExprCompiler(self.obj, self.ctx, self.typed, self.paths, self.known)

    def check_match_names(self, value: Any) -> None:
        """A $match field no candidate has; the platform's reason ends with the compared value."""
        if (self.outputs is None and not self.added) or not self.parser_strict:
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if key in ("$and", "$or", "$nor") and isinstance(item, list):
                for part in item:
                    self.check_match_names(part)
                continue
            if not isinstance(key, str) or key.startswith("$") or self.known(key):
                continue
            compared = next(iter(item.values()), None) if isinstance(item, dict) and item else item
            raise _fault(f"strict: there are no properties that could match {_js_text(compared)}", key)

    def is_property(self, name: str) -> bool:
        return self.typed and _lookup(self.obj, self.ctx, name) is not None

    def stage(self, name: str, value: Any, index: int) -> None:
        if name == "$match":
            self.check_match_names(value)
            compiler = _MatchCompiler(self.obj, self.ctx, strict=self.strict, typed=self.typed)
            compiled = compiler.document(value)
            if self.strict:
                self.required = max(self.required, compiler.required)
            self.paths |= compiler.paths
            self.stages.append({"$match": compiled})
            return
        if name == "$sort":
            if not isinstance(value, dict) or not value:
                raise _fault("$sort expects a non-empty object of {field: 1 | -1}.", index=index)
            pairs = _sort_pairs(self.obj, value, self.ctx, strict=self.strict, typed=self.typed)
            if self.typed:
                self.paths |= {key for key in value if _lookup(self.obj, self.ctx, key) is not None}
            self.stages.append({"$sort": dict(pairs)})
            return
        self.strict = False
        if name == "$skip":
            # fidelity.md §5: a non-integer $skip reads as -1, a non-integer $limit as 0.
            skip = r_int(value, -1)
            if not 0 <= skip <= MAX_SKIP:
                raise _fault(f"skip query option must be an integer between 0 and {MAX_SKIP}, inclusive", index=index)
            self.stages.append({"$skip": skip})
        elif name == "$limit":
            limit = r_int(value, 0)
            if not 1 <= limit <= MAX_STAGE_LIMIT:
                raise _fault(f"$limit must be an integer between 1 and {MAX_STAGE_LIMIT}, inclusive", index=index)
            self.stages.append({"$limit": limit})
        elif name == "$unwind":
            if not isinstance(value, str):
                raise _fault("$unwind expects a property name.", index=index)
            path = _check_field_name(value[1:] if value.startswith("$") else value, "$unwind", index)
            if self.is_property(path):
                self.paths.add(path)
            self.stages.append({"$unwind": "$" + path})
        elif name == "$project":
            self.stages.append({"$project": self.project(value, index)})
        elif name == "$addFields":
            self.stages.append({"$addFields": self.add_fields(value, index)})
        else:
            group, omit_id = self.group(value, index)
            self.typed = False
            self.stages.append({"$group": group})
            if omit_id:
                self.stages.append({"$project": {"_id": 0}})

    def project(self, value: Any, index: int) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise _fault("$project expects a non-empty object.", index=index)
        if len(value) > MAX_KEYS:
            raise _fault(f"$project may have at most {MAX_KEYS} keys.", index=index)
        self.check_dependencies(value, index)
        out: dict[str, Any] = {}
        exprs = self.exprs()
        for key, item in value.items():
            name = _check_field_name(key, "$project", index)
            _check_output_name(name, index)
            exprs.component = name
            if name == "_id":
                if item is True or (_is_number(item) and item == 1):
                    out["_id"] = 1
                    continue
                raise _fault("_id can only be included in $project (1 or true).", "_id", index)
            if item is True or (_is_number(item) and not isinstance(item, bool) and item == 1):
                if not self.known(name):
                    raise _fault(f"strict: there are no properties that could match {name}", name, index)
                if self.is_property(name):
                    self.paths.add(name)
                out[name] = 1
            elif item is False or _is_number(item):
                raise _fault(f"$project only includes fields (1 or true) or computes them; {name} is {item!r}.", name, index)
            else:
                if self.existing(name):
                    # fidelity.md §9: a path may not rename onto, nor an expression overwrite, a property.
                    reason = "Cannot rename built-in fields." if isinstance(item, str) else "Cannot rename existing property fields."
                    raise _fault(reason, name, index)
                out[name] = exprs.expr(item)
        if set(out) <= {"_id"}:
            raise _fault("$project needs at least one output field.", index=index)
        self.outputs = set(out) | {"_id"}
        self.added = set()
        return out

    def check_dependencies(self, value: dict[str, Any], index: int) -> None:
        """fidelity.md §9: a property the projection includes brings its ``dependencies``; one of
        them given in the same ``$project`` as anything but an inclusion (excluded, renamed or
        computed) is ``A required dependency has been excluded or renamed.``, path = the dependency."""
        if not self.typed or self.outputs is not None:
            return
        for key, item in value.items():
            if not (item is True or (_is_number(item) and not isinstance(item, bool) and item == 1)):
                continue
            prop = _find_property(self.obj, str(key))
            for dependency in (prop.options.get("dependencies") or []) if prop is not None else []:
                dependency = str(dependency).lstrip(".")
                for other, given in value.items():
                    if other == key or not (dependency == other or dependency.startswith(f"{other}.")):
                        continue
                    if not (given is True or (_is_number(given) and not isinstance(given, bool) and given == 1)):
                        raise _fault("A required dependency has been excluded or renamed.", dependency, index)

    def existing(self, name: str) -> bool:
        if self.outputs is not None:
            return name in self.outputs
        return self.is_property(name) or name in self.added

    def add_fields(self, value: Any, index: int) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise _fault("$addFields expects a non-empty object.", index=index)
        if len(value) > MAX_KEYS:
            raise _fault(f"$addFields may have at most {MAX_KEYS} keys.", index=index)
        out: dict[str, Any] = {}
        exprs = self.exprs()
        for key, item in value.items():
            name = _check_field_name(key, "$addFields", index)
            _check_output_name(name, index)
            if name in _ADD_FIELDS_FORBIDDEN:
                raise _fault(f"{name} cannot be used as key", index=index)
            if name == "_id":
                raise _fault("$addFields cannot overwrite _id.", name, index)
            exprs.component = name
            out[name] = exprs.expr(item)  # fidelity.md §9: $addFields may overwrite properties
        if self.outputs is not None:
            self.outputs |= set(out)
        else:
            self.added |= set(out)
        return out

    def group(self, value: Any, index: int) -> tuple[dict[str, Any], bool]:
        if not isinstance(value, dict):
            raise Fault("cortex.invalidArgument.stageObjectExpected", path="$group", index=index)
        if "_id" not in value:
            raise _fault("$group expression must contain an _id field", index=index)
        group_id = value["_id"]
        if group_id is not None and not isinstance(group_id, (str, dict)):
            raise _fault("Invalid group _id. Object expected.", "_id", index)
        if len(value) > MAX_KEYS:
            raise _fault(f"$group may have at most {MAX_KEYS} keys.", index=index)
        exprs = self.exprs()
        exprs.component = "_id"
        out: dict[str, Any] = {"_id": self.group_id(group_id, exprs, index)}
        count = 0
        for key, item in value.items():
            if key == "_id":
                continue
            if not isinstance(key, str) or not _GROUP_NAME.fullmatch(key):
                raise _fault("Top-level grouping must fields must match /^[a-zA-Z0-9-_]{1,40}$/", str(key), index)
            _check_output_name(key, index)
            if not isinstance(item, dict):
                raise _fault("property inclusions and literal values are not allowed here. try wrapping your value in a $literal.", key, index)
            if len(item) != 1:
                raise _fault("Group accumulator expression requires a single supported accumulator property", key, index)
            ((op, arg),) = item.items()
            exprs.component = key
            out[key] = exprs.accumulator(op, arg)
            count += 1
        if group_id is None and count == 0:
            raise _fault("Group component requires at least one expression when grouping by null", index=index)
        self.outputs = set(out)
        self.added = set()
        return out, group_id is None

    def group_id(self, group_id: Any, exprs: _ExprCompiler, index: int) -> Any:
        if isinstance(group_id, dict) and group_id and not any(str(key).startswith("$") for key in group_id):
            if len(group_id) > MAX_KEYS:
                raise _fault(f"$group _id may have at most {MAX_KEYS} keys.", index=index)
            out: dict[str, Any] = {}
            for key, item in group_id.items():
                if not isinstance(key, str) or not _GROUP_NAME.fullmatch(key):
                    raise _fault(f"Invalid $group _id key {key!r}.", index=index)
                out[key] = exprs.expr(item)
            return out
        return exprs.expr(group_id)


# fidelity.md §9: Mongoose's reserved names, and keys $addFields may not write.
_RESERVED_NAMES = frozenset((
    "prototype", "emit", "listeners", "on", "removeListener", "collection", "errors", "get", "init",
    "isModified", "isNew", "populated", "remove", "save", "toObject", "validate",
))
_ADD_FIELDS_FORBIDDEN = frozenset(("meta", "idx", "aclv", "sequence", "reap", "favorites", "facets"))
_OBJECT_STAGES = frozenset(("$match", "$sort", "$project", "$group", "$addFields"))


def _check_output_name(name: str, index: int) -> None:
    if name in _RESERVED_NAMES:
        raise _fault(f'The property name "{name}" is reserved.', name, index)


def _js_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return "[object Object]" if isinstance(value, dict) else ",".join(_js_text(v) for v in value)
    return str(value)


def _stage_value(name: str, value: Any, index: int) -> Any:
    """A stage given as JSON text is parsed; object stages must then be objects."""
    if name not in _OBJECT_STAGES:
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Fault("cortex.invalidArgument.stageJSONFormat", path=name, index=index) from None
    if not isinstance(value, dict):
        raise Fault("cortex.invalidArgument.stageObjectExpected", path=name, index=index)
    return value


def compile_pipeline(obj: ObjectDef, stages: Any, ctx: QueryContext, *, parser_strict: bool = True) -> CompiledPipeline:
    """Compile an aggregation pipeline (§11, §12) to MongoDB stages.

    At most 20 stages, each an object with exactly one whitelisted key. ``$match``/``$sort``
    before the first non-indexable stage obey the indexed-only rule; later they may use any
    field. ``$group`` with ``_id: null`` is followed by ``{"$project": {"_id": 0}}`` so rows
    carry no ``_id``. Faults raised for a stage carry its position in ``index``.
    ``parser_strict`` False (``cursor.strict(false)`` where the org allows it) drops the
    ``strict: there are no properties that could match …`` checks (fidelity.md §9).
    """
    if not isinstance(stages, list):
        raise _fault("pipeline must be an array of stages.")
    if len(stages) > MAX_PIPELINE_STAGES:
        raise _fault(f"A pipeline may have at most {MAX_PIPELINE_STAGES} stages ({len(stages)} given).")
    compiler = _PipelineCompiler(obj, ctx, parser_strict)
    for index, stage in enumerate(stages):
        if not isinstance(stage, dict) or not stage:
            raise _fault(f"Pipeline stage {index} is empty or not an object.", index=index)
        if len(stage) != 1:
            keys = ", ".join(str(key) for key in stage)
            raise _fault(f"A pipeline stage must have exactly one key (stage {index} has {keys}).", index=index)
        ((name, value),) = stage.items()
        if name not in _STAGES:
            raise _fault(f'"{name}" is not a valid pipeline stage type.', index=index)
        compiler.stage(name, _stage_value(name, value, index), index)
    return CompiledPipeline(compiler.stages, compiler.required, compiler.paths)
