"""Object and property definitions as Python values (spec objects-acl-query.md §1-§3, §5).

Definitions are stored as documents; these classes are the parsed, checked form the
rest of the object layer works with. ``PropertyDef.options`` keeps the raw definition,
so options whose behaviour comes later (``history``, ``auditing``, ``localized`` ...) are
stored and returned, never refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACCESS", "NATIVE_INDEXED", "PROPERTY_TYPES", "ObjectDef", "ObjectType", "PropertyDef"]

# Access levels (§6.2).
ACCESS = {
    "none": 0,
    "public": 1,
    "connected": 2,
    "reserved": 3,
    "read": 4,
    "share": 5,
    "update": 6,
    "delete": 7,
    "script": 8,
    "system": 9,
}

PROPERTY_TYPES = (
    "Any",
    "Binary",
    "Boolean",
    "Date",
    "Document",
    "File",
    "Geometry",
    "List",
    "Number",
    "ObjectId",
    "Reference",
    "String",
    "UUID",
    "Set",
    "Coordinate",
    "Expression",
)

# Built-in properties that are natively indexed (§8 "Indexed-only rule").
NATIVE_INDEXED = ("_id", "object", "type", "created", "creator", "creator._id", "owner", "owner._id")


@dataclass
class PropertyDef:
    """One property of an object (or of a Document property, in ``properties``)."""

    name: str
    label: str
    type: str
    array: bool = False
    indexed: bool = False
    unique: bool = False
    read_access: int = 4
    write_access: int = 6
    readable: bool = True
    writable: bool = True
    creatable: bool = False
    removable: bool = False
    optional: bool = False
    validators: list[dict[str, Any]] = field(default_factory=list)
    properties: list[PropertyDef] = field(default_factory=list)
    acl: list[dict[str, Any]] = field(default_factory=list)
    source_object: str | None = None
    expandable: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def child(self, name: str) -> PropertyDef | None:
        for prop in self.properties:
            if prop.name == name:
                return prop
        return None


@dataclass
class ObjectType:
    """A subclass of an object (§5): its own properties on top of the base object's."""

    name: str
    label: str
    properties: list[PropertyDef] = field(default_factory=list)
    id: Any = None


@dataclass
class ObjectDef:
    """An object definition: custom (``c_...``) or standard (``account``, ``org``, ``object``)."""

    name: str
    label: str
    plural_name: str
    properties: list[PropertyDef] = field(default_factory=list)
    default_acl: list[dict[str, Any]] = field(default_factory=list)
    create_acl: list[dict[str, Any]] = field(default_factory=list)
    share_acl: list[dict[str, Any]] = field(default_factory=list)
    share_chain: list[int] = field(default_factory=list)
    object_types: list[ObjectType] = field(default_factory=list)
    extensible: bool = True
    standard: bool = False
    id: Any = None
    document: dict[str, Any] = field(default_factory=dict)

    def property(self, name: str, type_name: str | None = None) -> PropertyDef | None:
        """A top-level property by name; with ``type_name``, also that object type's own properties."""
        for prop in self.properties:
            if prop.name == name:
                return prop
        if type_name is not None:
            for object_type in self.object_types:
                if object_type.name == type_name:
                    for prop in object_type.properties:
                        if prop.name == name:
                            return prop
        return None

    def resolve_path(self, path: str, type_name: str | None = None) -> PropertyDef | None:
        """The property a dotted path names (``c_doc.c_child``), or None."""
        parts = path.split(".")
        prop = self.property(parts[0], type_name)
        for part in parts[1:]:
            if prop is None or prop.type not in ("Document", "Set"):
                return None
            prop = prop.child(part)
        return prop
