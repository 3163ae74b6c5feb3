"""Property definitions and values (spec objects-acl-query.md §1.1, §3).

- :func:`parse_property` checks one raw property definition and returns a :class:`PropertyDef`.
- :func:`check_slots` applies the object-level limits (property count, index slots, names).
- :func:`cast_value` turns an input value into the stored (BSON) form for a property.
- :func:`validate_document` casts and validates an instance document before a write.

Fault paths. Definition faults (parse/slots) are raised as one ``cortex.invalidArgument.validation``
fault with a single child whose ``path`` is ``<path_prefix><property name>[.<option>]``, e.g.
``c_bpm.maxItems``; a Document's children get ``<prefix><document>.`` as their prefix, so a
nested problem reads ``c_doc.c_child.indexed``. Validator faults collected by
:func:`validate_document` have the fqpp as ``path`` (fidelity.md §2): ``c_reading.c_bpm``,
``c_reading.c_doc.c_child``, ``c_reading.c_items[].c_name`` inside document arrays and
``c_reading#c_type.c_x`` for a property only the object type has. Casting follows fidelity.md §1
(see :mod:`.casting`): a non-array cast failure is Mongoose's CastError child
(``cortex.error.unspecified``, status 400, ``name`` = the Mongoose path, no ``path``); a primitive
array element that fails is ``castError`` on the array's Mongoose path.
An unknown property is not a validation problem but a ``cortex.notFound.property`` fault raised at
once, with the property path without the object name (platform behaviour, spec §15 fact 62).
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from ..faults import Fault
from . import casting
from .acl_notation import PrincipalResolver, parse_acl, parse_level
from .expression_validators import expression_default, run_expression_validators
from .model import PROPERTY_TYPES, PropertyDef
from .validators import (
    CONTEXT_VALIDATORS,
    VALIDATOR_NAMES,
    VALIDATOR_TYPES,
    WHOLE_VALUE_VALIDATORS,
    check_definition,
    is_number,
    run_validator,
    to_object_id,
)

__all__ = [
    "BUILTIN_KEYS",
    "MAX_GEOMETRY_INDEXES",
    "MAX_INDEXES",
    "MAX_PROPERTIES",
    "MAX_UNIQUE_INDEXES",
    "cast_value",
    "check_shared_slots",
    "check_slots",
    "check_type_properties",
    "parse_property",
    "validate_document",
]

MAX_PROPERTIES = 100
MAX_INDEXES = 20
MAX_UNIQUE_INDEXES = 5
MAX_GEOMETRY_INDEXES = 3
MAX_ARRAY_ITEMS = 1000
MAX_BINARY_SIZE = 1024 * 1024
DEFAULT_BINARY_SIZE = 1000

# Built-in instance properties (§2): passed through validate_document untouched.
BUILTIN_KEYS = frozenset(
    {
        "_id", "object", "type", "created", "creator", "owner", "updated", "updater", "access",
        "accessRoles", "acl", "favorite", "shared", "ETag", "connections", "posts", "org",
    }
)

# errCodes of definition problems.
_REQUIRED = "cortex.invalidArgument.required"
_CAST = "cortex.invalidArgument.castError"
_RANGE = "cortex.invalidArgument.numberExpected"
_ENUM = "cortex.invalidArgument.enumValue"
_INVALID = "cortex.invalidArgument.unspecified"
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
_CUSTOM = re.compile(r"^(c_.+|[a-zA-Z0-9-]+__.+)$")
_BOOL_OPTIONS = (
    "array", "indexed", "unique", "readable", "writable", "creatable", "removable", "optional",
    "uniqueValues", "maxShift", "canPush", "canPull", "writeOnCreate", "auditable", "expandable",
    "dateOnly", "trim", "lowercase", "uppercase",
)
_ARRAY_ONLY: Mapping[str, Any] = {
    "uniqueValues": False, "minItems": 0, "maxItems": 100, "maxShift": False,
    "canPush": True, "canPull": True, "writeOnCreate": True,
}
_EXCLUDED: Mapping[str, tuple[str, ...]] = {
    "Any": ("array", "uniqueValues", "indexed", "unique"),
    "Binary": ("array", "uniqueValues", "indexed", "unique"),
    "Document": ("uniqueValues", "indexed", "unique", "auditable"),
    "Set": ("uniqueValues", "indexed", "unique", "auditable"),
    "File": ("indexed", "unique"),
    "List": (
        "array", "indexed", "unique", "writable", "minItems", "maxItems", "canPull", "canPush",
        "maxShift", "writeOnCreate",
    ),
    "Expression": ("indexed", "unique"),
}
_GEO_TYPES = ("Point", "MultiPoint")
_BINARY_ENCODINGS = ("base64", "hex", "array", "utf8", "raw")
_NEEDS_SOURCE = ("Reference", "List")


# --- faults --------------------------------------------------------------------------


def _definition_fault(err_code: str, path: str, reason: str) -> Fault:
    child = Fault(err_code, path=path, reason=reason)
    return Fault("cortex.invalidArgument.validation", reason=reason, faults=[child])


def _cast_error(path: str, reason: str) -> Fault:
    return Fault(_CAST, path=path, reason=reason)


_HEX_SEGMENT = re.compile(r"^[0-9a-fA-F]{24}$")
# A property whose value the setters asked to remove (a String setter given ``[]``).
_UNSET: Any = object()
# A value ``passive`` left out: the offending part is skipped, the stored value kept (fidelity.md §4).
_SKIPPED: Any = object()


def _mongoose_path(path: str) -> str:
    """The Mongoose path of a value path: element-relative inside document-array elements."""
    parts = path.split(".")
    for index in range(len(parts) - 1, -1, -1):
        if _HEX_SEGMENT.match(parts[index]):
            return ".".join(parts[index + 1 :])
    return path


def _fullpath(path: str) -> str:
    """The property fullpath of a value path: element ids left out (``c_docs.c_x``)."""
    return ".".join(part for part in path.split(".") if not _HEX_SEGMENT.match(part))


def _mongoose_cast_fault(kind: str, value: Any, path: str) -> Fault:
    """A non-array cast failure as the validation child the platform reports (fidelity.md §1):
    ``cortex.error.unspecified``, status 400, ``name`` = the Mongoose path, the Mongoose text as
    ``message`` (and ``reason``), and no ``path``."""
    name = _mongoose_path(path)
    text = casting.cast_message(kind, value, name)
    fault = Fault("cortex.error.unspecified", text, reason=text, status=400, name=name)
    fault.value_path = path  # type: ignore[attr-defined]
    return fault


def _array_cast_fault(path: str) -> Fault:
    """An array element that fails its cast: thrown as it is pushed, reported as ``castError``
    on the array's Mongoose path."""
    fault = Fault(_CAST, path=_mongoose_path(path), reason="Type conversion failure to expected property type.")
    fault.value_path = path  # type: ignore[attr-defined]
    return fault


def _check_primitive_element(item: Any, path: str) -> None:
    """Plain objects are refused as primitive array elements; all-integer keys read as an
    indexed array update, which the platform does not support."""
    if not isinstance(item, Mapping):
        return
    if item and all(re.fullmatch(r"\d+", str(key)) for key in item):
        raise Fault("cortex.notImplemented.indexedArrayUpdates", path=_fullpath(path))
    raise Fault("cortex.invalidArgument.primitiveExpected", path=_fullpath(path))


# --- parse_property ------------------------------------------------------------------


def _option_is_set(option: str, value: Any, default: Any) -> bool:
    """Whether an option asks for something: true flags, or numbers other than the default."""
    if isinstance(default, bool):
        return value is True and default is not True
    return value is not None and value != default


def _int_option(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, path: str) -> int:
    value = raw.get(key, default)
    if value is None:
        return default
    if not is_number(value) or value != int(value):
        raise _definition_fault(_CAST, f"{path}.{key}", f"{key} must be an integer.")
    if not low <= value <= high:
        raise _definition_fault(_RANGE, f"{path}.{key}", f"{key} must be between {low} and {high}.")
    return int(value)


def _level_option(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, path: str) -> int:
    """A level option: a word (``read``) or an integer (environments.md §1.3); ``""`` is the default."""
    value = parse_level(raw.get(key), f"{path}.{key}", default=default)
    assert value is not None
    if not low <= value <= high:
        raise _definition_fault(_RANGE, f"{path}.{key}", f"{key} must be between {low} and {high}.")
    return value


def _importing(resolver: PrincipalResolver) -> bool:
    # An import's resolver says so (its lone ACL objects become [], environments.md §1.1).
    return bool(getattr(resolver, "importing", False))


def _acl_options(raw: Mapping[str, Any], options: dict[str, Any], path: str, resolver: PrincipalResolver | None) -> None:
    """Normalise the ACL-like options into ``options``: level words become numbers and, with a
    resolver, ACLs become stored entries and role codes ids."""
    for key, default in (("grant", 0), ("referenceAccess", 5)):
        if key in raw:
            options[key] = _level_option(raw, key, default, 0, 8, path)
    localization = raw.get("localization")
    if isinstance(localization, Mapping):
        local = dict(localization)
        for key, default in (("readAccess", 4), ("writeAccess", 6)):
            if key in local:
                local[key] = _level_option(local, key, default, 1, 8, f"{path}.localization")
        if resolver is not None and "acl" in local:
            local["acl"] = parse_acl(local["acl"], "default", resolver, path=f"{path}.localization.acl", importing=_importing(resolver))
        options["localization"] = local
    if resolver is None:
        return
    for key, kind in (("defaultAcl", "default"), ("createAcl", "create"), ("pacl", "pacl")):
        if key in raw:
            options[key] = parse_acl(raw[key], kind, resolver, path=f"{path}.{key}", importing=_importing(resolver))
    roles = raw.get("roles")
    if isinstance(roles, list):
        options["roles"] = [resolver.role(str(role), f"{path}.roles") for role in roles]


def _parse_validators(raw: Any, prop_type: str, path: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _definition_fault(_CAST, f"{path}.validators", "validators must be an array.")
    result: list[dict[str, Any]] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise _definition_fault(_CAST, f"{path}.validators", "A validator must be an object.")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise _definition_fault(_REQUIRED, f"{path}.validators.name", "Validator name required.")
        vpath = f"{path}.validators.{name}"
        if name not in VALIDATOR_NAMES:
            raise _definition_fault(_ENUM, vpath, f"Unknown validator {name}.")
        types = VALIDATOR_TYPES[name]
        if types is not None and prop_type not in types:
            raise _definition_fault(_INVALID, vpath, f"The {name} validator does not apply to {prop_type}.")
        definition = entry.get("definition", {})
        if definition is None:
            definition = {}
        if not isinstance(definition, Mapping):
            raise _definition_fault(_CAST, f"{vpath}.definition", "definition must be an object.")
        problem = check_definition(name, definition)
        if problem:
            raise _definition_fault(_INVALID, f"{vpath}.definition", problem)
        normalised: dict[str, Any] = {"name": name, "definition": dict(definition)}
        if "description" in entry:
            normalised["description"] = entry["description"]
        result.append(normalised)
    return result


def _parse_children(
    raw: Mapping[str, Any], key: str, prop_type: str, path: str, custom_required: bool, resolver: PrincipalResolver | None
) -> list[PropertyDef]:
    items = raw.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _definition_fault(_CAST, f"{path}.{key}", f"{key} must be an array.")
    children: list[PropertyDef] = []
    seen: set[str] = set()
    for item in items:
        if prop_type == "Set" and isinstance(item, Mapping) and "type" not in item:
            item = {**item, "type": "Document"}
        if not isinstance(item, Mapping):
            raise _definition_fault(_CAST, f"{path}.{key}", "Definitions must be objects.")
        child_type = item.get("type")
        if prop_type == "Set" and child_type != "Document":
            raise _definition_fault(_INVALID, f"{path}.{key}", "Set documents must be Document definitions.")
        if prop_type == "Document" and child_type in ("Document", "Set"):
            raise _definition_fault(
                _INVALID,
                f"{path}.{item.get('name', key)}",
                "A Document property cannot contain another Document.",
            )
        child = parse_property(item, path_prefix=f"{path}.", custom_required=custom_required, resolver=resolver)
        if child.name in seen:
            raise _definition_fault(_INVALID, f"{path}.{child.name}.name", f"Duplicate property name {child.name}.")
        seen.add(child.name)
        children.append(child)
    return children


def parse_property(
    raw: Mapping[str, Any], *, path_prefix: str = "", custom_required: bool = True, resolver: PrincipalResolver | None = None
) -> PropertyDef:
    """Check and normalise one property definition (§3.1, §3.3).

    ``custom_required`` demands a custom name (``c_...`` or ``ns__...``); standard objects pass False.
    Options this layer does not interpret are kept untouched in ``PropertyDef.options``.
    Level options (``readAccess``, ``grant``, ...) accept words. With a ``resolver`` (writes),
    ``acl``, ``localization.acl``, ``defaultAcl``, ``createAcl`` and ``pacl`` take the ACL
    notation (environments.md §1) and are stored parsed; without one (stored definitions being
    loaded) ACL entries are kept as they are.
    Raises ``cortex.invalidArgument.validation`` with one child fault on the first problem.
    """
    if not isinstance(raw, Mapping):
        raise _definition_fault(_CAST, f"{path_prefix}properties", "A property must be an object.")

    name = raw.get("name")
    if name is None or name == "":
        raise _definition_fault(_REQUIRED, f"{path_prefix}name", "Property name is required.")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _definition_fault(_INVALID, f"{path_prefix}{name}", f"Invalid property name {name!r}.")
    if custom_required and not _CUSTOM.match(name):
        raise _definition_fault(
            "cortex.invalidArgument.customName",
            f"{path_prefix}{name}",
            "Custom property names must start with c_ or a namespace followed by __.",
        )
    path = f"{path_prefix}{name}"

    label = raw.get("label")
    if label is None or label == "":
        raise _definition_fault(_REQUIRED, f"{path}.label", "Property label is required.")
    if not isinstance(label, str):
        raise _definition_fault(_CAST, f"{path}.label", "label must be a string.")

    prop_type = raw.get("type")
    if prop_type is None or prop_type == "":
        raise _definition_fault(_REQUIRED, f"{path}.type", "Property type is required.")
    if prop_type not in PROPERTY_TYPES:
        raise _definition_fault(_ENUM, f"{path}.type", f"Unknown property type {prop_type!r}.")

    for key in _BOOL_OPTIONS:
        if key in raw and raw[key] is not None and not isinstance(raw[key], bool):
            raise _definition_fault(_CAST, f"{path}.{key}", f"{key} must be a boolean.")
    for key in ("description", "sourceObject"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _definition_fault(_CAST, f"{path}.{key}", f"{key} must be a string.")

    defaults: dict[str, Any] = {**_ARRAY_ONLY, "array": False, "indexed": False, "unique": False, "auditable": False}
    defaults["writable"] = prop_type != "List"
    for key in _EXCLUDED.get(prop_type, ()):
        if _option_is_set(key, raw.get(key), defaults.get(key, False)):
            raise _definition_fault(_INVALID, f"{path}.{key}", f"{prop_type} properties do not support {key}.")

    array = prop_type == "Set" or bool(raw.get("array", False))
    if not array:
        for key, default in _ARRAY_ONLY.items():
            if _option_is_set(key, raw.get(key), default):
                raise _definition_fault(_INVALID, f"{path}.{key}", f"{key} is only available for arrays.")
    min_items = _int_option(raw, "minItems", 0, 0, MAX_ARRAY_ITEMS, path)
    max_items = _int_option(raw, "maxItems", 100, 0, MAX_ARRAY_ITEMS, path)
    if max_items < min_items:
        raise _definition_fault(_RANGE, f"{path}.maxItems", "maxItems must not be less than minItems.")
    read_access = _level_option(raw, "readAccess", 4, 1, 8, path)
    write_access = _level_option(raw, "writeAccess", 6, 1, 8, path)

    indexed = bool(raw.get("indexed", False))
    unique = bool(raw.get("unique", False))
    if unique and not indexed:
        raise _definition_fault(_INVALID, f"{path}.unique", "Unique properties must be indexed.")

    if prop_type in _NEEDS_SOURCE and not raw.get("sourceObject"):
        raise _definition_fault(_REQUIRED, f"{path}.sourceObject", "sourceObject is required.")
    if prop_type == "Geometry" and raw.get("geoType", "Point") not in _GEO_TYPES:
        raise _definition_fault(_ENUM, f"{path}.geoType", "geoType must be Point or MultiPoint.")
    if prop_type == "Binary":
        if raw.get("outputEncoding", "base64") not in _BINARY_ENCODINGS:
            raise _definition_fault(_ENUM, f"{path}.outputEncoding", "Unsupported outputEncoding.")
        _int_option(raw, "maxSize", DEFAULT_BINARY_SIZE, 0, MAX_BINARY_SIZE, path)
    if prop_type == "Any":
        _int_option(raw, "maxSize", 0, 0, 2**53, path)

    options = dict(raw)
    if resolver is not None:
        acl = parse_acl(raw.get("acl"), "default", resolver, path=f"{path}.acl", importing=_importing(resolver))
        if "acl" in raw:
            options["acl"] = acl
    else:
        acl = raw.get("acl") or []
        if not isinstance(acl, list) or not all(isinstance(entry, Mapping) for entry in acl):
            raise _definition_fault(_CAST, f"{path}.acl", "acl must be an array of entries.")
    for key, level in (("readAccess", read_access), ("writeAccess", write_access)):
        if key in raw:
            options[key] = level
    _acl_options(raw, options, path, resolver)

    validators = _parse_validators(raw.get("validators"), prop_type, path)
    children: list[PropertyDef] = []
    if prop_type in ("Document", "Set"):
        key = "properties" if prop_type == "Document" else "documents"
        children = _parse_children(raw, key, prop_type, path, custom_required, resolver)
        if isinstance(raw.get(key), list):
            options[key] = [child.options for child in children]

    return PropertyDef(
        name=name,
        label=label,
        type=prop_type,
        array=array,
        indexed=indexed,
        unique=unique,
        read_access=read_access,
        write_access=write_access,
        readable=raw.get("readable", True) is not False,
        writable=bool(raw.get("writable", defaults["writable"])),
        creatable=bool(raw.get("creatable", False)),
        removable=bool(raw.get("removable", False)),
        optional=bool(raw.get("optional", False)),
        validators=validators,
        properties=children,
        acl=[dict(entry) for entry in acl],
        source_object=raw.get("sourceObject"),
        expandable=bool(raw.get("expandable", False)),
        options=options,
    )


# --- check_slots ---------------------------------------------------------------------


def _indexed(props: list[PropertyDef], prefix: str) -> list[tuple[str, PropertyDef]]:
    found: list[tuple[str, PropertyDef]] = []
    for prop in props:
        if prop.indexed:
            found.append((f"{prefix}{prop.name}", prop))
        found.extend(_indexed(prop.properties, f"{prefix}{prop.name}."))
    return found


def check_slots(props: list[PropertyDef], *, path_prefix: str = "") -> None:
    """Apply the object-level limits: 100 properties, unique names, 20 index, 5 unique, 3 geometry slots.

    A unique property takes a unique slot (not an index slot); an indexed Geometry takes a geometry
    slot. Indexed Document children take slots too. The fault names the property that did not fit.
    """
    seen: set[str] = set()
    for position, prop in enumerate(props):
        if position >= MAX_PROPERTIES:
            raise _definition_fault(
                "cortex.invalidArgument.maxItems",
                f"{path_prefix}{prop.name}",
                f"An object can have at most {MAX_PROPERTIES} properties.",
            )
        if prop.name in seen:
            raise _definition_fault(_INVALID, f"{path_prefix}{prop.name}.name", f"Duplicate property name {prop.name}.")
        seen.add(prop.name)

    _check_pool(_indexed(props, path_prefix))


_SLOT_LIMITS = {"index": MAX_INDEXES, "unique": MAX_UNIQUE_INDEXES, "geometry": MAX_GEOMETRY_INDEXES}
# fidelity.md §14: the platform's texts (the geospatial one has no full stop).
_SLOT_REASONS = {
    "index": "No more indexes are available.",
    "unique": "No more unique indexes are available.",
    "geometry": "No more geospatial indexes are available",
}


def _check_pool(indexed: list[tuple[str, PropertyDef]]) -> None:
    """Each indexed property definition takes its own slot from the object's one pool; running
    out is ``cortex.error.unspecified`` inside a validation fault."""
    used = {"index": 0, "unique": 0, "geometry": 0}
    for path, prop in indexed:
        kind = "unique" if prop.unique else "geometry" if prop.type == "Geometry" else "index"
        used[kind] += 1
        if used[kind] > _SLOT_LIMITS[kind]:
            option = "unique" if kind == "unique" else "indexed"
            child = Fault("cortex.error.unspecified", path=f"{path}.{option}", reason=_SLOT_REASONS[kind], status=400)
            raise Fault("cortex.invalidArgument.validation", reason=_SLOT_REASONS[kind], faults=[child])


def check_type_properties(base: list[PropertyDef], type_props: list[PropertyDef]) -> None:
    """An object type's property may not reuse the name of a base (shared) property (fidelity.md §14)."""
    names = {prop.name for prop in base}
    for prop in type_props:
        if prop.name in names:
            raise Fault(
                "cortex.conflict.exists",
                reason="A base property of the same name already exists; An object type property cannot overwrite a shared base property.",
                path=prop.name,
            )


def check_shared_slots(base: list[PropertyDef], types: list[list[PropertyDef]]) -> None:
    """The slot pool is shared by the base properties and every object type's properties (§14)."""
    indexed = _indexed(base, "")
    for type_props in types:
        indexed += _indexed(type_props, "")
    _check_pool(indexed)


# --- casting -------------------------------------------------------------------------


def _report(errors: list[Fault] | None, fault: Fault) -> None:
    if errors is None:
        raise fault
    errors.append(fault)


_DATE_ONLY = re.compile(r"^\s*(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})")


def _cast_date(prop: PropertyDef, value: Any, path: str) -> Any:
    if prop.options.get("dateOnly"):
        # The dateOnly setter reads YYYY-MM-DD (not strictly) and keeps that day.
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).strftime("%Y-%m-%d") if value.tzinfo else value.strftime("%Y-%m-%d")
        found = _DATE_ONLY.match(value) if isinstance(value, str) else None
        try:
            if found is None:
                raise ValueError(value)
            return datetime(int(found.group(1)), int(found.group(2)), int(found.group(3))).strftime("%Y-%m-%d")
        except ValueError:
            raise Fault(_INVALID, path=path, reason="String expected in YYYY-MM-DD format") from None
    return casting.to_date(value)


def _cast_object_id(value: Any, path: str) -> ObjectId:
    return casting.to_object_id(value)


def _cast_string(prop: PropertyDef, value: Any, path: str) -> Any:
    cased = prop.options.get("trim") or prop.options.get("lowercase") or prop.options.get("uppercase")
    if cased and not prop.array and isinstance(value, (list, tuple)):
        # These setters map over the value as an array, then keep element 0: [] unsets.
        if not value:
            return _UNSET
        value = value[0]
    value = casting.to_string(value)
    if value is None:
        return None
    if prop.options.get("trim"):
        value = value.strip()
    if prop.options.get("lowercase"):
        value = value.lower()
    if prop.options.get("uppercase"):
        value = value.upper()
    return value


def _cast_binary(prop: PropertyDef, value: Any, path: str) -> bytes:
    data: bytes
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, list) and all(is_number(b) and b in range(256) for b in value):
        data = bytes(int(b) for b in value)
    elif isinstance(value, str):
        encoding = prop.options.get("outputEncoding", "base64")
        try:
            if encoding == "hex":
                data = bytes.fromhex(value)
            elif encoding in ("utf8", "raw", "array"):
                data = value.encode("utf-8")
            else:
                data = base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            raise _cast_error(path, f"Invalid {encoding} binary data.") from None
    else:
        raise _cast_error(path, "Binary data expected.")
    limit = prop.options.get("maxSize", DEFAULT_BINARY_SIZE)
    if limit and len(data) > limit:
        raise Fault("cortex.invalidArgument.maxLength", path=path, reason=f"Binary data is larger than {limit} bytes.")
    return data


def _check_position(position: Any, path: str) -> list[Any]:
    if not isinstance(position, (list, tuple)) or not all(is_number(n) for n in position):
        raise _cast_error(path, "A coordinate must be an array of numbers.")
    if len(position) != 2:
        raise Fault("cortex.invalidArgument.invalidCoordinate", path=path, reason="Expected [longitude, latitude].")
    lng, lat = position
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise Fault(
            "cortex.invalidArgument.invalidCoordinate",
            path=path,
            reason="Longitude must be within -180..180 and latitude within -90..90.",
        )
    return [lng, lat]


def _cast_geometry(prop: PropertyDef, value: Any, path: str) -> dict[str, Any]:
    geo_type = prop.options.get("geoType", "Point")
    coordinates = value
    if isinstance(value, Mapping):
        if value.get("type", geo_type) != geo_type:
            raise _cast_error(path, f"Expected a {geo_type} geometry.")
        coordinates = value.get("coordinates")
    if geo_type == "MultiPoint":
        if not isinstance(coordinates, (list, tuple)):
            raise _cast_error(path, "MultiPoint expects an array of [longitude, latitude] pairs.")
        return {"type": "MultiPoint", "coordinates": [_check_position(p, path) for p in coordinates]}
    return {"type": "Point", "coordinates": _check_position(coordinates, path)}


def _cast_uuid(value: Any, path: str) -> str:
    """fidelity.md §1: the setter's refusal reaches the caller as Mongoose's ``Buffer`` cast text;
    version and variant are checked later, by the validator (see ``_Checker.value``)."""
    return str(uuid.UUID(bytes=casting.to_uuid_bytes(value)))


def _cast_leaf(prop: PropertyDef, value: Any, path: str) -> Any:
    """Cast one non-null, non-document value; raises a fault when it cannot."""
    kind = prop.type
    if kind in ("Any", "Expression"):
        return value
    try:
        if kind == "Date":
            return _cast_date(prop, value, path)
        if kind == "Number":
            return casting.to_number(value)
        if kind == "Boolean":
            return casting.to_boolean(value)
        if kind == "String":
            return _cast_string(prop, value, path)
        if kind == "ObjectId":
            return _cast_object_id(value, path)
        if kind == "Reference":
            target = value.get("_id") if isinstance(value, Mapping) else value
            return {"_id": _cast_object_id(target, path)}
        if kind == "UUID":
            return _cast_uuid(value, path)
    except casting.CastFailure as failure:
        raise _mongoose_cast_fault(failure.kind, value, path) from None
    if kind == "Binary":
        return _cast_binary(prop, value, path)
    if kind == "Geometry":
        return _cast_geometry(prop, value, path)
    if kind == "Coordinate":
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(is_number(n) for n in value):
            raise _cast_error(path, "A coordinate must be an array of two numbers.")
        return list(value)
    if kind == "File":
        if not isinstance(value, (Mapping, str)):
            raise _cast_error(path, "File info or an upload reference expected.")
        return copy.deepcopy(value)
    raise _cast_error(path, f"{kind} properties cannot be written.")


def _cast_fields(
    children: list[PropertyDef],
    value: Any,
    path: str,
    errors: list[Fault] | None,
    skip: tuple[str, ...] = (),
    passive: bool = False,
) -> Any:
    """A document's keys. With ``passive`` an unknown key at any depth and the "Illegal primitive"
    case are skipped rather than raised (fidelity.md §4)."""
    if isinstance(value, (list, tuple)):
        # An array is read as an object with keys 0, 1, ... (fidelity.md §1, Document).
        value = {str(index): item for index, item in enumerate(value)}
    if not isinstance(value, Mapping):
        if passive:
            return _SKIPPED
        raise Fault(_INVALID, path=_fullpath(path), reason="Illegal primitive. Expected an object.")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in skip:
            continue
        child = next((c for c in children if c.name == key), None)
        if child is None:
            if passive:
                continue
            # fidelity.md §2: the document property's fullpath and the key, no element _id.
            raise Fault("cortex.notFound.property", path=f"{_fullpath(path)}.{key}", reason=f"Property not found: {key}.")
        cast = _cast(child, item, f"{path}.{key}", errors, passive)
        if cast is not _UNSET and cast is not _SKIPPED:
            result[key] = cast
    return result


def _cast_element(prop: PropertyDef, item: Any, path: str, index: int, errors: list[Fault] | None, passive: bool = False) -> Any:
    if not isinstance(item, Mapping):
        if passive:
            return _SKIPPED  # fidelity.md §4: a non-object element is dropped
        raise Fault(_INVALID, path=_fullpath(path), reason="Expected object document.")
    raw_id = item.get("_id")
    oid = ObjectId() if raw_id is None else to_object_id(raw_id)
    if oid is None:
        # fidelity.md §3: elements are sorted into adds and updates before any cast.
        raise Fault(_INVALID, path=_fullpath(path), reason="Invalid document _id. Expected an ObjectId.")
    element_path = f"{path}.{oid}"
    head: dict[str, Any] = {"_id": oid}
    children = prop.properties
    if prop.type == "Set":
        doc_name = item.get("name")
        chosen = next((d for d in prop.properties if d.name == doc_name), None)
        if chosen is None:
            _report(errors, _cast_error(f"{element_path}.name", f"Unknown document type {doc_name!r}."))
            return item
        head["name"] = doc_name
        children = chosen.properties
    skip = ("_id", "name") if prop.type == "Set" else ("_id",)
    fields = _cast_fields(children, item, element_path, errors, skip, passive)
    return {**head, **fields} if isinstance(fields, dict) else item


def _dedupe(items: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if not any(item == other for other in kept):
            kept.append(item)
    return kept


def _cast(prop: PropertyDef, value: Any, path: str, errors: list[Fault] | None, passive: bool = False) -> Any:
    """Cast a property value; with ``errors`` failures are collected there instead of raised.
    ``passive`` skips what fidelity.md §4 lets it skip (unknown document keys, non-object parts);
    a value skipped as a whole comes back as ``_SKIPPED``."""
    if value is None:
        return None
    if prop.array:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if prop.type in ("Document", "Set"):
            elements = [_cast_element(prop, item, path, index, errors, passive) for index, item in enumerate(items)]
            return [element for element in elements if element is not _SKIPPED]
        result: list[Any] = []
        for item in items:
            if item is None:
                _report(errors, _cast_error(path, "Array items cannot be null."))
                return value
            _check_primitive_element(item, path)
            try:
                result.append(_cast_leaf(prop, item, path))
            except Fault as fault:
                if prop.type == "UUID" and fault.errCode == "cortex.error.unspecified":
                    # The UUID setter runs on the whole array: Mongoose reports the array's cast.
                    _report(errors, _mongoose_cast_fault("Array", value, path))
                    return value
                # fidelity.md §1: element casts are thrown as pushed and show no Mongoose text.
                _report(errors, _array_cast_fault(path) if fault.errCode == "cortex.error.unspecified" else fault)
                return value
        if prop.options.get("uniqueValues"):
            # The platform adds to arrays with $addToSet: duplicates are dropped, not refused.
            result = _dedupe(result)
        max_items = prop.options.get("maxItems", 100)
        if prop.options.get("maxShift") and is_number(max_items) and len(result) > max_items:
            result = result[len(result) - int(max_items) :]
        return result
    if prop.type == "Document":
        return _cast_fields(prop.properties, value, path, errors, passive=passive)
    try:
        return _cast_leaf(prop, value, path)
    except Fault as fault:
        _report(errors, fault)
        return value


def cast_value(prop: PropertyDef, value: Any, *, path: str) -> Any:
    """Convert an input value to the stored (BSON) form for ``prop``; casting is idempotent.

    Dates become aware UTC datetimes (ms precision; ``dateOnly`` ones ``YYYY-MM-DD`` strings),
    References ``{"_id": ObjectId}``, Geometry GeoJSON dicts, UUIDs canonical lowercase strings,
    Binary ``bytes``. A non-list value for an array property is taken as a one-item array.
    Raises ``cortex.invalidArgument.castError`` (or ``invalidCoordinate`` / ``maxLength`` for
    out-of-range geometry or oversized binary, ``cortex.notFound.property`` for unknown document keys).
    """
    return _cast(prop, value, path, None)


# --- validate_document ---------------------------------------------------------------


def _default_value(prop: PropertyDef) -> tuple[bool, Any]:
    """The property's ``defaultValue`` (static, or env ``now``/``true``/``false``) if it has one."""
    raw = prop.options.get("defaultValue")
    entry = raw[0] if isinstance(raw, list) and raw else raw
    if not isinstance(entry, Mapping):
        return False, None
    kind, value = entry.get("type"), entry.get("value")
    if kind == "static" and "value" in entry:
        return True, copy.deepcopy(value)
    if kind == "env":
        if value == "now" and prop.type == "Date":
            return True, datetime.now(timezone.utc)
        if value in ("true", "false") and prop.type == "Boolean":
            return True, value == "true"
    # Other generators (increment, ac.principal, expressions) need request context.
    return False, None


def _stored(prop: PropertyDef, value: Any, path: str) -> Any:
    """A stored value in cast form, so it compares equal to a cast input (naive dates, expanded refs)."""
    try:
        return _cast(prop, value, path, [])
    except Fault:
        return value


def _missing(prop: PropertyDef, value: Any) -> bool:
    return value is None or (prop.array and isinstance(value, list) and not value)


class _Checker:
    """One validate_document run: the collected faults and the paths that failed to cast."""

    def __init__(self, object_name: str, cast_errors: list[Fault], typed: Mapping[str, str] | None = None) -> None:
        self.object_name = object_name
        self.typed = typed or {}
        self.errors: list[Fault] = []
        self.failed = {getattr(fault, "value_path", None) or fault.path for fault in cast_errors}
        for fault in cast_errors:
            if hasattr(fault, "value_path"):
                self.errors.append(fault)  # Mongoose-path children carry no object name
            else:
                self.fail(fault.errCode, fault.path or "", fault.reason or "Cast error.")

    def fail(self, err_code: str, path: str, reason: str) -> None:
        """A validator fault at its fqpp (fidelity.md §2): ``c_widget.c_x``, ``c_widget.c_docs[].c_x``
        inside document arrays, ``c_widget#c_type.c_x`` for a property only the type has."""
        parts = path.split(".")
        fqpp = ".".join(
            part + "[]" if index + 1 < len(parts) and _HEX_SEGMENT.match(parts[index + 1]) else part
            for index, part in enumerate(parts)
            if not _HEX_SEGMENT.match(part)
        )
        head = parts[0]
        owner = f"{self.object_name}#{self.typed[head]}" if head in self.typed else self.object_name
        self.errors.append(Fault(err_code, path=f"{owner}.{fqpp}", reason=reason))

    def fields(self, props: list[PropertyDef], doc: dict[str, Any], existing: Any, prefix: str, is_new: bool) -> None:
        before = existing if isinstance(existing, Mapping) else {}
        for prop in props:
            path = f"{prefix}{prop.name}"
            if path in self.failed:
                continue
            if prop.name not in doc and is_new:
                has_default, default = expression_default(prop, doc) or _default_value(prop)
                if has_default:
                    errors: list[Fault] = []
                    doc[prop.name] = _cast(prop, default, path, errors)
                    if errors:
                        for fault in errors:
                            if hasattr(fault, "value_path"):
                                self.errors.append(fault)
                            else:
                                self.fail(fault.errCode, fault.path or path, fault.reason or "Invalid default value.")
                        continue
            present = prop.name in doc
            value = doc.get(prop.name)
            names = {v["name"] for v in prop.validators}
            if "required" in names and (present or is_new) and _missing(prop, value):
                self.fail(_REQUIRED, path, "Please enter a value.")
                continue
            if present:
                self.value(prop, value, before.get(prop.name), path, existing is not None)
                run_expression_validators(self, prop, value, doc, path)

    def value(self, prop: PropertyDef, value: Any, old: Any, path: str, has_existing: bool) -> None:
        names = {v["name"] for v in prop.validators}
        if "writeOnce" in names and has_existing and old is not None and value != _stored(prop, old, path):
            self.fail("cortex.accessDenied.writeOnce", path, "Property cannot be overwritten.")
            return
        if prop.array and isinstance(value, list):
            max_items = prop.options.get("maxItems", 100)
            min_items = prop.options.get("minItems", 0)
            if is_number(max_items) and len(value) > max_items:
                self.fail("cortex.invalidArgument.maxItems", path, f"At most {max_items} items are allowed.")
            if is_number(min_items) and len(value) < min_items:
                self.fail("cortex.invalidArgument.minItems", path, f"At least {min_items} items are required.")
            if "uniqueInArray" in names and prop.type not in ("Document", "Set") and len(_dedupe(value)) != len(value):
                self.fail("cortex.conflict.uniqueInArray", path, "Duplicate value in the array.")
        if prop.type in ("Document", "Set"):
            self.documents(prop, value, old, path, has_existing)
            return
        if self.type_rules(prop, value, path):
            return
        for validator in prop.validators:
            name = validator["name"]
            if name in CONTEXT_VALIDATORS:
                continue
            targets = [value] if not prop.array or name in WHOLE_VALUE_VALIDATORS or value is None else value
            for target in targets:
                failure = run_validator(name, validator["definition"], prop, target)
                if failure is not None:
                    self.fail(failure[0], path, failure[1])
                    break

    def type_rules(self, prop: PropertyDef, value: Any, path: str) -> bool:
        """The validators a property type adds by itself (fidelity.md §1); True when one failed.

        UUID: version 1 to 5 and the RFC 4122 variant. Any with ``maxSize`` > 0: the JSON text
        must be strictly shorter than ``maxSize``."""
        if value is None:
            return False
        if prop.type == "UUID":
            for item in value if prop.array and isinstance(value, list) else [value]:
                problem = casting.uuid_problem(item)
                if problem is not None:
                    self.fail(_INVALID, path, problem)
                    return True
        if prop.type == "Any":
            limit = prop.options.get("maxSize") or 0
            if is_number(limit) and limit > 0 and casting.json_length(value) >= limit:
                self.fail("cortex.invalidArgument.tooLarge", path, "Value too large.")
                return True
        return False

    def documents(self, prop: PropertyDef, value: Any, old: Any, path: str, has_existing: bool) -> None:
        if not prop.array:
            if isinstance(value, dict):
                self.fields(prop.properties, value, old, f"{path}.", not isinstance(old, Mapping))
            return
        if not isinstance(value, list):
            return
        previous = {str(e.get("_id")): e for e in old if isinstance(e, Mapping)} if isinstance(old, list) else {}
        seen: dict[str, list[Any]] = {}
        for element in value:
            if not isinstance(element, dict) or "_id" not in element:
                continue
            element_path = f"{path}.{element['_id']}"
            before = previous.get(str(element["_id"]))
            children = prop.properties
            if prop.type == "Set":
                chosen = next((d for d in prop.properties if d.name == element.get("name")), None)
                children = chosen.properties if chosen is not None else []
            self.fields(children, element, before, f"{element_path}.", before is None)
            for child in children:
                if not any(v["name"] == "uniqueInArray" for v in child.validators):
                    continue
                item = element.get(child.name)
                if item is None:
                    continue
                values = seen.setdefault(child.name, [])
                if any(item == other for other in values):
                    self.fail(
                        "cortex.conflict.uniqueInArray", f"{element_path}.{child.name}", "Duplicate value in the array."
                    )
                values.append(item)


def validate_document(
    obj_props: list[PropertyDef],
    doc: Mapping[str, Any] | None,
    *,
    creating: bool,
    object_name: str,
    existing: Mapping[str, Any] | None = None,
    typed: Mapping[str, str] | None = None,
    passive: bool = False,
) -> dict[str, Any]:
    """Cast and validate an instance document; return the cast document.

    ``doc`` is the caller's input on create (``creating=True``) or the merged document on update,
    with ``existing`` the stored document (needed by ``writeOnce``). Defaults are applied to new
    documents (the instance on create, new sub-documents and new array elements) before validation.
    ``required`` fails for a missing value only in a new document; elsewhere only for a null (or
    empty array) value. Other validators run on the values present. Built-in keys (``BUILTIN_KEYS``)
    pass through unchanged. All failures are raised together as one ``cortex.invalidArgument.validation``.
    ``typed`` maps the names of properties that only the instance's object type has to that type,
    for their ``<object>#<type>.<prop>`` fault paths. ``passive`` skips unknown keys at any depth,
    non-object document-array elements and non-object documents, keeping the stored value
    (fidelity.md §4); cast and validator failures are still raised.
    """
    source: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
    by_name = {prop.name: prop for prop in obj_props}
    for key in source:
        if key not in by_name and key not in BUILTIN_KEYS and not passive:
            raise Fault("cortex.notFound.property", path=key, reason=f"Property not found: {key}.")

    errors: list[Fault] = []
    result: dict[str, Any] = {}
    for key, value in source.items():
        prop = by_name.get(key)
        if prop is None and key not in BUILTIN_KEYS:
            continue  # passive: an unknown key is skipped
        cast = value if prop is None else _cast(prop, value, key, errors, passive)
        if cast is _SKIPPED:
            # passive: the offending value is left as stored
            if existing is not None and key in existing:
                result[key] = existing[key]
            continue
        if cast is not _UNSET:
            result[key] = cast

    checker = _Checker(object_name, errors, typed)
    checker.fields(list(obj_props), result, existing, "", creating)
    if checker.errors:
        raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=checker.errors)
    return result
