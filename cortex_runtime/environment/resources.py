"""Resources of an import: what each incoming document is, and the import cache.

Every document that is not a manifest, package, facet or stream chunk is a resource with
a key ``<object>.<unique key>`` (environments.md §3.3): ``role.<code>``,
``template.<type>.<name>``, ``<object>.<name>`` for the rest, and for a custom object's
data ``<object>.<value of its uniqueKey property>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..faults import Fault

__all__ = ["MAX_RESOURCES", "ImportCache", "Resource", "is_custom_name", "resource_key"]

MAX_RESOURCES = 10_000

# Kinds whose key is their name.
_NAMED = (
    "config", "app", "serviceAccount", "policy", "notification", "storageLocation", "smsNumber",
    "script", "expression", "view", "idp", "object", "i18n",
)


def is_custom_name(name: Any) -> bool:
    """The lenient test (§3.1): ``c_`` prefix or a namespace separator anywhere."""
    return isinstance(name, str) and (name.startswith("c_") or "__" in name)


def _invalid(reason: str, index: int) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason, index=index)


def resource_key(doc: Mapping[str, Any], index: int, unique_key_of: Callable[[str], str | None]) -> str:
    """The resource key of an incoming document; ``unique_key_of(object)`` gives a custom
    object's ``uniqueKey`` property (None when the object is unknown or has none)."""
    kind = doc.get("object")
    if not isinstance(kind, str) or not kind:
        raise _invalid("The resource is missing the object property.", index)
    if kind == "env":
        key = "env"
    elif kind in _NAMED or kind in ("role", "template"):
        field_name = "code" if kind == "role" else "name"
        value = doc.get(field_name)
        if not isinstance(value, str) or not value:
            raise _invalid(f"Failed to identify the resource. Is the {field_name} property set?", index)
        if kind == "template":
            template_type = doc.get("type")
            if not isinstance(template_type, str) or not template_type:
                raise _invalid("Failed to identify the resource. Is the type property set?", index)
            key = f"template.{template_type}.{value}"
        else:
            key = f"{kind}.{value}"
    elif is_custom_name(kind):
        unique = unique_key_of(kind)
        if unique is None:
            raise _invalid(f"The resource source object has no unique key: {kind}", index)
        value = doc.get(unique)
        if not isinstance(value, str) or not value:
            raise _invalid(f"Failed to identify the resource. Is the {unique} property set?", index)
        key = f"{kind}.{value}"
    else:
        raise _invalid(f"Failed to identify the unique key for {kind}.", index)
    given = doc.get("resource")
    if given is not None and given != key:
        raise _invalid(f"The resource doesn't match its import/unique key {key} property.", index)
    return key


@dataclass
class Resource:
    """One incoming resource document, keyed, with its stream position."""

    key: str
    doc: dict[str, Any]
    index: int
    accepted: bool = False

    @property
    def kind(self) -> str:
        return str(self.doc["object"])

    @property
    def name(self) -> str:
        """The key without its kind (``c_x`` of ``role.c_x``, ``email.c_welcome`` of a template)."""
        return self.key.partition(".")[2]


@dataclass
class ImportCache:
    """The resources of one import by key, in arrival order; a repeated key replaces the
    earlier document (keeping its place)."""

    resources: dict[str, Resource] = field(default_factory=dict)
    facets: int = 0

    def add(self, resource: Resource) -> None:
        if resource.key not in self.resources and len(self.resources) + self.facets >= MAX_RESOURCES:
            raise _invalid(f"The maximum number of resources ({MAX_RESOURCES}) has been reached.", resource.index)
        self.resources[resource.key] = resource

    def get(self, key: str) -> Resource | None:
        return self.resources.get(key)

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.kind == kind]
