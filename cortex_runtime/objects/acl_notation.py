"""ACL notation (environments.md §1): the shorthand Cortex developers and ``mdctl env export``
write (``owner.delete``, ``role.c_staff.read``, ``account.public``), parsed into the entry shape
the store keeps, and written back in the exporter's sorted form.

Pure: principal keys (role codes, account emails, service-account names) are turned into ids
by a :class:`PrincipalResolver`, so the same parser serves REST/script writes and imports.
Also home of the strict ``customName`` validator (§3.1), shared by every name writer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from bson import ObjectId

from ..faults import Fault
from .principals import ANONYMOUS, BUILTIN_ROLES, PUBLIC

__all__ = [
    "KINDS",
    "LEVELS",
    "MAX_ENTRIES",
    "TYPES",
    "AclNames",
    "BuiltinResolver",
    "PrincipalResolver",
    "custom_name",
    "format_acl",
    "invalid",
    "is_custom_name",
    "level_word",
    "missing_principal",
    "parse_acl",
    "parse_level",
]

# §1.3: the import table (words case-insensitive) and the export table (1 -> min, 9 -> max).
LEVELS: Mapping[str, int] = MappingProxyType(
    {
        "none": 0, "public": 1, "min": 1, "connected": 2, "reserved": 3, "read": 4,
        "share": 5, "update": 6, "delete": 7, "script": 8, "system": 9, "max": 9,
    }
)
_LEVEL_WORDS = {0: "none", 1: "min", 2: "connected", 3: "reserved", 4: "read", 5: "share", 6: "update", 7: "delete", 8: "script", 9: "max"}
TYPES: Mapping[str, int] = MappingProxyType({"account": 1, "self": 2, "role": 3, "owner": 4, "access": 5, "expression": 6})
_TYPE_WORDS = {number: word for word, number in TYPES.items()}
ACCOUNT, SELF, ROLE, OWNER, ACCESS, EXPRESSION = 1, 2, 3, 4, 5, 6
# §1.5: the entry types each kind of ACL accepts.
_ALLOWED: Mapping[str, frozenset[int]] = {
    "default": frozenset({ACCOUNT, SELF, ROLE, OWNER, EXPRESSION}),
    "pacl": frozenset({ACCOUNT, SELF, ROLE, OWNER, EXPRESSION}),
    "create": frozenset({ACCOUNT, ROLE, EXPRESSION}),
    "share": frozenset({ACCOUNT, SELF, ROLE, OWNER, ACCESS}),
}
KINDS = tuple(_ALLOWED)
MAX_ENTRIES = 20
# Step 5 of §1.2 is case-sensitive: only these exact words take a principal key.
_PRINCIPAL_WORDS = ("account", "role", "serviceAccount")
_NAME_CHARS = re.compile(r"^[a-zA-Z0-9_-]+$")


# --- faults ------------------------------------------------------------------------


def invalid(err_code: str, path: str, reason: str | None = None) -> Fault:
    """A write's validation fault: ``kValidationError`` wrapping one child that names the path."""
    return Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[Fault(err_code, reason=reason, path=path)])


_MISSING = {
    "role": ("A role dependency", "is not a valid org role."),
    "serviceAccount": ("A service account dependency", "is not a valid service account."),
    "account": ("An account dependency", "is not a valid account."),
}


def missing_principal(kind: str, key: str, path: str, *, importing: bool) -> Fault:
    """The fault for an unresolvable principal (§1.6, §2.2): imports fail with
    ``cortex.notFound.unspecified``; ordinary writes with a validation fault."""
    dependency, not_valid = _MISSING[kind]
    if importing:
        return Fault("cortex.notFound.unspecified", reason=f'{dependency} "{key}" is missing for {path}', path=path, resource=path)
    return invalid("cortex.invalidArgument.unspecified", path, f"{key} {not_valid}")


# --- names (§3.1) ------------------------------------------------------------------


def is_custom_name(value: Any) -> bool:
    """The lenient test: starts with ``c_`` or holds ``__`` anywhere."""
    return isinstance(value, str) and (value.startswith("c_") or "__" in value)


def custom_name(value: Any, path: str, *, max_length: int = 40, auto_prefix: bool = True) -> str:
    """A stored custom name: trimmed, ``c_`` added when the lenient test fails (with
    ``auto_prefix``), then the strict validator. Raises the bare §3.1 fault (callers wrap it)."""
    if not isinstance(value, str):
        raise Fault("cortex.invalidArgument.customName", path=path)
    name = value.strip()
    if auto_prefix and name and not is_custom_name(name):
        name = "c_" + name
    if name.count("__") > 1:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"{name} cannot contain more than 1 namespace separator", path=path)
    if "__" in name:
        before, _, after = name.partition("__")
        if not before:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"{name} is missing a value before the namespace separator (__)", path=path)
        if not after:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"{name} is missing a value after the namespace separator (__)", path=path)
    elif not (name.startswith("c_") and len(name) > 2):
        raise Fault("cortex.invalidArgument.customName", path=path)
    if len(name) > max_length or not _NAME_CHARS.match(name):
        raise Fault("cortex.invalidArgument.customName", path=path)
    return name


# --- levels ------------------------------------------------------------------------


def _number_or_word(value: Any, words: Mapping[str, int]) -> int | None:
    """An integer, a digit string or a word of ``words`` (any case); None when it is none of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        return words.get(text.lower())
    return None


def _level(value: Any) -> int | None:
    """A level from a word (any case), an integer or a digit string; None when it is not one."""
    return _number_or_word(value, LEVELS)


def level_word(n: int) -> str:
    """The export word of a level (1 -> ``min``, 9 -> ``max``)."""
    return _LEVEL_WORDS.get(int(n), str(n))


def parse_level(value: Any, path: str, *, default: int | None = None) -> int | None:
    """A level option (``readAccess``, ``grant``, ...): a word or an integer; ``""`` or None
    mean ``default``. Range checks are the caller's."""
    if value is None or value == "":
        return default
    level = _level(value)
    if level is None:
        raise invalid("cortex.invalidArgument.castError", path, f"{value!r} is not an access level.")
    return level


# --- resolving principals ------------------------------------------------------------


class PrincipalResolver(Protocol):
    """Turns the principal keys of ACL entries into ids; ``path`` names the field for faults.

    Each method accepts a key or an id (as a string) and raises on a miss: a validation fault on
    ordinary writes, ``cortex.notFound.unspecified`` on imports (use :func:`missing_principal`).
    An importer wraps an org's resolver to look in its import cache first.
    """

    def role(self, code: str, path: str) -> ObjectId:
        """A role by built-in or custom code, or by id."""
        ...

    def service_account(self, name: str, path: str) -> ObjectId:
        """A service account by name or id."""
        ...

    def account(self, key: str, path: str) -> ObjectId:
        """An account by email or id; ``public``/``anonymous``; a service account by name."""
        ...


class BuiltinResolver:
    """Knows only what needs no store: built-in role codes, ``public``/``anonymous`` and ids
    (taken as given). For callers without an org at hand; custom keys fault."""

    def __init__(self, *, importing: bool = False) -> None:
        self.importing = importing

    def role(self, code: str, path: str) -> ObjectId:
        found = BUILTIN_ROLES.get(code.lower()) or (ObjectId(code) if ObjectId.is_valid(code) else None)
        if found is None:
            raise missing_principal("role", code, path, importing=self.importing)
        return found

    def service_account(self, name: str, path: str) -> ObjectId:
        if ObjectId.is_valid(name):
            return ObjectId(name)
        raise missing_principal("serviceAccount", name, path, importing=self.importing)

    def account(self, key: str, path: str) -> ObjectId:
        special = {"public": PUBLIC, "anonymous": ANONYMOUS}.get(key.lower())
        if special is not None:
            return special
        if ObjectId.is_valid(key):
            return ObjectId(key)
        raise missing_principal("account", key, path, importing=self.importing)


def _type_of(value: Any) -> int | None:
    # The platform capitalises the word ("Role"), so "serviceAccount" matches nothing.
    return _number_or_word(value, TYPES)


def _key(value: Any, path: str) -> str:
    if isinstance(value, Mapping):
        value = value.get("_id")
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and value:
        return value
    raise invalid("cortex.invalidArgument.unspecified", path, f"{value!r} is not a principal.")


def _level_or_role(value: Any, resolver: PrincipalResolver, path: str) -> int | ObjectId:
    level = _level(value)
    if level is not None:
        return level
    if isinstance(value, (str, ObjectId)) and str(value):
        return resolver.role(str(value), path)
    raise invalid("cortex.invalidArgument.allowLevel", path, f"{value!r} is neither an access level nor a role.")


def _principal(word: str, key: str, resolver: PrincipalResolver, path: str) -> ObjectId:
    if word == "role":
        return resolver.role(key, path)
    if word == "serviceAccount":
        return resolver.service_account(key, path)
    return resolver.account(key, path)


_UNSET = object()


def _from_string(text: str, kind: str, resolver: PrincipalResolver, path: str) -> dict[str, Any]:
    """§1.2 steps 1-7, quirks included."""
    head, *paths = text.split(",")
    parts = head.split(".")
    word = parts[0]
    second = parts[1] if len(parts) > 1 and parts[1] != "" else None
    third = parts[2] if len(parts) > 2 and parts[2] != "" else None
    entry: dict[str, Any] = {"type": _type_of(word), "target": None, "allow": _UNSET, "paths": [p.strip() for p in paths if p.strip()]}
    if entry["type"] is None and word != "serviceAccount":
        raise invalid("cortex.invalidArgument.unspecified", f"{path}.type", "Invalid acl entry type.")
    if word == "expression":
        entry["expression"] = second
    elif word in _PRINCIPAL_WORDS:
        if word == "serviceAccount":
            entry["type"] = ACCOUNT  # §2.4: a service account target is an account entry
        if second is not None:
            entry["target"] = _principal(word, second, resolver, f"{path}.target")
    elif second is not None:
        slot = "target" if third is not None else "allow"
        entry[slot] = _level_or_role(second, resolver, f"{path}.{slot}")
    if third is not None and kind != "create":
        entry["allow"] = _level_or_role(third, resolver, f"{path}.allow")
    return entry


def _from_object(raw: Mapping[str, Any], kind: str, resolver: PrincipalResolver, path: str) -> dict[str, Any]:
    raw_type = raw.get("type")
    service_account = isinstance(raw_type, str) and raw_type.strip().lower() == "serviceaccount"
    type_ = ACCOUNT if service_account else _type_of(raw_type)
    if type_ is None:
        raise invalid("cortex.invalidArgument.unspecified", f"{path}.type", "Invalid acl entry type.")
    target = raw.get("target")
    if target is not None and type_ in (ACCOUNT, ROLE):
        word = "serviceAccount" if service_account else ("account" if type_ == ACCOUNT else "role")
        target = _principal(word, _key(target, f"{path}.target"), resolver, f"{path}.target")
    elif target is not None and type_ == ACCESS:
        level = _level(target)
        if level is None:
            raise invalid("cortex.invalidArgument.unspecified", f"{path}.target", "An access entry's target must be a level.")
        target = level
    entry: dict[str, Any] = {"type": type_, "target": target, "allow": _UNSET, "expression": raw.get("expression")}
    allow = raw.get("allow")
    if allow is not None and kind != "create":
        entry["allow"] = _level_or_role(allow, resolver, f"{path}.allow")
    paths = raw.get("paths")
    if paths is not None:
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise invalid("cortex.invalidArgument.castError", f"{path}.paths", "paths must be an array of strings.")
        entry["paths"] = list(paths)
    if isinstance(raw.get("_id"), ObjectId):
        entry["_id"] = raw["_id"]
    return entry


def _finish(entry: dict[str, Any], kind: str, path: str) -> dict[str, Any]:
    """Check an entry against its kind (§1.5) and give it the stored shape."""
    type_, target, allow = entry["type"], entry["target"], entry["allow"]
    if type_ not in _ALLOWED[kind]:
        word = _TYPE_WORDS.get(type_) if isinstance(type_, int) else None
        reason = f"{word} entries are not allowed here." if word else "Invalid acl entry type."
        raise invalid("cortex.invalidArgument.unspecified", f"{path}.type", reason)
    if type_ in (ACCOUNT, ROLE):
        if not isinstance(target, ObjectId):
            raise invalid("cortex.invalidArgument.required", f"{path}.target", f"A {_TYPE_WORDS[type_]} entry needs a target.")
    elif type_ == ACCESS:
        if not isinstance(target, int) or not 5 <= target <= 7:
            raise invalid("cortex.invalidArgument.unspecified", f"{path}.target", "An access entry's target must be a level from share to delete.")
    elif target is not None:
        raise invalid("cortex.invalidArgument.unspecified", f"{path}.target", f"A {_TYPE_WORDS[type_]} entry has no target.")
    out: dict[str, Any] = {"_id": entry.get("_id") or ObjectId(), "type": type_}
    if target is not None:
        out["target"] = target
    if type_ == EXPRESSION:
        expression = entry.get("expression")
        if not expression or not isinstance(expression, (str, Mapping)):
            raise invalid("cortex.invalidArgument.required", f"{path}.expression", "An expression entry needs an expression.")
        out["expression"] = expression
    if kind == "create":
        out["allow"] = 1  # create entries always store Min (acl-definition.js)
    elif allow is _UNSET:
        out["allow"] = None if type_ == EXPRESSION else 1
    elif isinstance(allow, int) and not 1 <= allow <= 7:
        raise invalid("cortex.invalidArgument.allowLevel", f"{path}.allow", "allow must be a level from min to delete, or a role.")
    else:
        out["allow"] = allow
    if kind == "pacl" and entry.get("paths"):
        out["paths"] = list(entry["paths"])
    return out


def parse_acl(
    value: Any,
    kind: str,
    resolver: PrincipalResolver,
    *,
    path: str,
    importing: bool = False,
    max_entries: int = MAX_ENTRIES,
) -> list[dict[str, Any]]:
    """An ACL field as stored: ``[{_id, type, target?, allow, expression?, paths?}]``.

    ``kind`` is ``default``, ``create``, ``share`` or ``pacl`` (default entries plus paths).
    Entries are shorthand strings or objects ``{type, target, allow, expression, paths}`` with
    ids, keys, words or integers. A lone string is wrapped; a lone object is wrapped on ordinary
    writes but, like any other non-array, becomes ``[]`` on import (§1.1).
    """
    if kind not in _ALLOWED:
        raise ValueError(f"unknown acl kind {kind!r}")
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, Mapping) and not importing:
        value = [value]
    elif not isinstance(value, (list, tuple)):
        if importing:
            return []
        raise invalid("cortex.invalidArgument.unspecified", path, f"{path} must be an array of ACL entries.")
    if len(value) > max_entries:
        raise invalid("cortex.invalidArgument.maxItems", path, f"{path} may hold at most {max_entries} entries.")
    out = []
    for index, item in enumerate(value):
        entry_path = f"{path}.{index}"
        if isinstance(item, str):
            entry = _from_string(item, kind, resolver, entry_path)
        elif isinstance(item, Mapping):
            entry = _from_object(item, kind, resolver, entry_path)
        else:
            raise invalid("cortex.invalidArgument.unspecified", entry_path, f"{item!r} is not a valid ACL entry.")
        out.append(_finish(entry, kind, entry_path))
    return out


# --- export (§1.4) -----------------------------------------------------------------


class AclNames(Protocol):
    """Keys for ids, for the export: role codes and principal keys without a prefix."""

    def role_code(self, id: ObjectId) -> str | None:
        """A role's code."""
        ...

    def principal_key(self, id: ObjectId) -> str | None:
        """An account's email, ``public``, ``anonymous``, or a service account's name."""
        ...


def _oid(value: Any) -> ObjectId | None:
    try:
        return value if isinstance(value, ObjectId) else ObjectId(str(value))
    except Exception:
        return None


def _name(value: Any, lookup: Any) -> str:
    oid = _oid(value)
    found = lookup(oid) if oid is not None else None
    return found if found is not None else str(value)


def _export_entry(entry: Mapping[str, Any], kind: str, names: AclNames) -> dict[str, Any]:
    type_ = entry.get("type")
    target = entry.get("target")
    out: dict[str, Any] = {"type": _TYPE_WORDS.get(type_, str(type_)) if isinstance(type_, int) else str(type_)}
    if target is not None:
        if type_ == ACCOUNT:
            out["target"] = _name(target, names.principal_key)
        elif type_ == ROLE:
            out["target"] = _name(target, names.role_code)
        else:
            out["target"] = level_word(target) if isinstance(target, int) else str(target)
    if entry.get("expression") is not None:
        out["expression"] = entry["expression"]
    allow = entry.get("allow")
    if kind != "create" and allow is not None:
        is_level = isinstance(allow, int) and not isinstance(allow, bool)
        out["allow"] = level_word(allow) if is_level else _name(allow, names.role_code)
    if entry.get("paths"):
        out["paths"] = sorted(entry["paths"])
    return out


def _sort_key(item: Mapping[str, Any]) -> tuple[str, ...]:
    expression = item.get("expression")
    return (item["type"], "" if expression is None else str(expression), str(item.get("target") or ""), str(item.get("allow") or ""))


def _shorthand(item: Mapping[str, Any]) -> str | None:
    """The shorthand string of an exported entry, or None when only the object form is exact."""
    expression = item.get("expression")
    if expression is not None and not isinstance(expression, str):
        return None
    if item["type"] in ("account", "role") and "target" not in item:
        return None  # "role.update" would read back as a role code
    middle = expression if item["type"] == "expression" else item.get("target")
    parts = [item["type"]] + [str(p) for p in (middle, item.get("allow")) if p is not None]
    if any("." in p for p in parts) or any("," in p for p in item.get("paths") or ()):
        return None
    return ".".join(parts) + "".join(f",{p}" for p in item.get("paths") or ())


def format_acl(entries: Iterable[Mapping[str, Any]], kind: str, names: AclNames) -> list[str | dict[str, Any]]:
    """Stored entries as ``mdctl env export`` writes them: sorted shorthand strings, level words
    (``min`` for 1), no allow on create ACLs, and the object form where shorthand cannot say it."""
    items = sorted((_export_entry(entry, kind, names) for entry in entries), key=_sort_key)
    return [_shorthand(item) or item for item in items]
