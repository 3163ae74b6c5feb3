"""Access control (spec objects-acl-query.md §6): resolving a caller's level on an instance.

An ACL entry is ``{type, target, allow}``: type 1 Account (target an account id, or the
anonymous / public principal), 2 Self, 3 Role (with a target) or Creator (without one),
4 Owner, 5 Access (shareAcl only). ``allow`` is a level, or a role id granting an
instance role. There is no implicit administrator bypass on custom objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bson import ObjectId

from .acl_notation import LEVELS
from .model import ACCESS, ObjectDef
from .principals import ADMINISTRATOR, ANONYMOUS, PUBLIC, Principal

__all__ = ["ACCOUNT", "OWNER", "ROLE", "SELF", "can_create", "level_of", "matches_any", "resolve_access"]

ACCOUNT, SELF, ROLE, OWNER, ACCESS_ENTRY = 1, 2, 3, 4, 5


def level_of(value: Any, *, default: int | None = None) -> int | None:
    """A level from a number or a name ('read', 'update', ...); None when absent."""
    if value is None:
        return default
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return max(0, min(int(value), ACCESS["script"]))
    if isinstance(value, str) and value.lower() in LEVELS:
        return LEVELS[value.lower()]
    return default


def _ref_id(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("_id")
    return value


def _same_id(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return str(a) == str(b)


def _applies(entry: Mapping[str, Any], principal: Principal, roles: frozenset[ObjectId], obj: ObjectDef, instance: Mapping[str, Any] | None) -> bool:
    kind = entry.get("type")
    target = entry.get("target")
    if kind == ACCOUNT:
        if _same_id(target, ANONYMOUS):
            return True
        if _same_id(target, PUBLIC):
            return not principal.is_anonymous
        return _same_id(target, principal._id)
    if kind == SELF:
        return instance is not None and obj.name == "account" and _same_id(instance.get("_id"), principal._id)
    if kind == ROLE:
        if target is None:  # a type-3 entry without target is the instance creator
            return instance is not None and _same_id(_ref_id(instance.get("creator")), principal._id)
        return any(_same_id(target, role) for role in roles)
    if kind == OWNER:
        return instance is not None and _same_id(_ref_id(instance.get("owner")), principal._id)
    return False


def resolve_access(
    principal: Principal,
    obj: ObjectDef,
    instance: Mapping[str, Any] | None,
    *,
    grant: int | None = None,
    roles: Iterable[ObjectId] = (),
    acl: Iterable[Mapping[str, Any]] | None = None,
) -> int:
    """The caller's resolved access level on ``instance`` (§6.3): the best matching entry of
    the object's defaultAcl plus the instance acl (or ``acl`` when given), raised by ``grant``."""
    if instance is not None and instance.get("org") is not None and not _same_id(instance.get("org"), principal.org):
        return 0
    entries = list(acl) if acl is not None else list(obj.default_acl) + list((instance or {}).get("acl") or [])
    held = principal.all_roles(tuple(roles))
    natural = 0
    if obj.name == "org" and ADMINISTRATOR in held:
        natural = ACCESS["update"]
    # Instance roles: entries whose allow is a role id grant that role (and the roles it
    # includes, through the org's graph) on this instance only.
    for entry in entries:
        allow = entry.get("allow")
        if isinstance(allow, ObjectId) or (isinstance(allow, str) and len(allow) == 24):
            if _applies(entry, principal, held, obj, instance):
                held = principal.expand(tuple(held) + (ObjectId(str(allow)),))
    for entry in entries:
        allow = entry.get("allow")
        if isinstance(allow, bool) or not isinstance(allow, (int, float)):
            continue
        if _applies(entry, principal, held, obj, instance):
            natural = max(natural, int(allow))
    if grant is not None:
        natural = max(natural, grant)
    return natural


def can_create(principal: Principal, obj: ObjectDef, *, roles: Iterable[ObjectId] = ()) -> bool:
    """Whether the caller matches an entry of the object's createAcl (§6.4)."""
    return matches_any(principal, obj.create_acl, obj=obj, roles=roles)


def matches_any(principal: Principal, entries: Iterable[Mapping[str, Any]], *, obj: ObjectDef | None = None, roles: Iterable[ObjectId] = ()) -> bool:
    """Whether the caller matches any entry of an allow-less list (createAcl, a route's acl)."""
    held = principal.all_roles(tuple(roles))
    target_obj = obj if obj is not None else ObjectDef(name="", label="", plural_name="")
    return any(_applies(entry, principal, held, target_obj, None) for entry in entries)


def acl_filter_ids(principal: Principal, roles: Iterable[ObjectId] = ()) -> dict[str, Any]:
    """Ids a caller matches as Account/Role targets, for narrowing list queries in the store."""
    held = principal.all_roles(tuple(roles))
    accounts = [ANONYMOUS] + ([PUBLIC] if not principal.is_anonymous else []) + [principal._id]
    return {"accounts": accounts, "roles": list(held)}
