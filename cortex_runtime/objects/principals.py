"""Principals (who runs a request or a script) and the well-known ids (spec §4)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from bson import ObjectId

__all__ = [
    "ADMINISTRATOR", "ANONYMOUS", "BUILTIN_ROLES", "DEVELOPER", "PROVIDER", "PUBLIC", "ROLE_INCLUDES", "SUPPORT",
    "Principal", "RoleGraph", "expand_roles", "role_graph",
]

ANONYMOUS = ObjectId("000000000000000000000001")
SYSTEM = ObjectId("000000000000000000000002")
PUBLIC = ObjectId("000000000000000000000003")
ADMINISTRATOR = ObjectId("000000000000000000000004")
PROVIDER = ObjectId("000000000000000000000005")
SUPPORT = ObjectId("000000000000000000000006")
DEVELOPER = ObjectId("000000000000000000000007")

# Roles include other roles: holding Administrator means holding these too.
ROLE_INCLUDES: dict[ObjectId, tuple[ObjectId, ...]] = {ADMINISTRATOR: (DEVELOPER, SUPPORT)}
# The built-in role codes (fixed ids, objects-acl-query.md §4).
BUILTIN_ROLES: dict[str, ObjectId] = {"administrator": ADMINISTRATOR, "provider": PROVIDER, "support": SUPPORT, "developer": DEVELOPER}

# An org's include graph in hashable form, as a Principal carries it: ((role, (included, ...)), ...).
RoleGraph = tuple[tuple[ObjectId, tuple[ObjectId, ...]], ...]

ROLE_NAMES = {
    "administrator": ADMINISTRATOR,
    "admin": ADMINISTRATOR,
    "provider": PROVIDER,
    "support": SUPPORT,
    "developer": DEVELOPER,
}


def role_graph(includes: Mapping[ObjectId, Iterable[ObjectId]]) -> RoleGraph:
    """The hashable form of an include map (sorted, so equal graphs compare equal)."""
    return tuple(sorted(((role, tuple(included)) for role, included in includes.items()), key=lambda pair: str(pair[0])))


@functools.lru_cache(maxsize=256)
def _includes(graph: RoleGraph) -> Mapping[ObjectId, tuple[ObjectId, ...]]:
    return dict(graph) if graph else ROLE_INCLUDES


def expand_roles(roles: Iterable[ObjectId], graph: RoleGraph = ()) -> frozenset[ObjectId]:
    """The roles held, with every role they include, transitively. ``graph`` is the org's
    include graph; empty means the built-in includes only."""
    includes = _includes(graph)
    out: set[ObjectId] = set()
    pending = list(roles)
    while pending:
        role = pending.pop()
        if role in out:
            continue
        out.add(role)
        pending.extend(includes.get(role, ()))
    return frozenset(out)


@dataclass(frozen=True)
class Principal:
    """A caller: an account of an org, or the anonymous / public principal."""

    _id: ObjectId
    org: ObjectId
    email: str | None = None
    roles: tuple[ObjectId, ...] = ()
    name: dict[str, str] = field(default_factory=dict)
    # A token's scopes (rest-api-auth.md §5.6); None when the caller is not scoped.
    scope: tuple[str, ...] | None = None
    # The org's role include graph (custom roles included); empty = built-in includes only.
    includes: RoleGraph = ()

    @classmethod
    def anonymous(cls, org: ObjectId) -> Principal:
        return cls(_id=ANONYMOUS, org=org)

    @classmethod
    def public(cls, org: ObjectId) -> Principal:
        return cls(_id=PUBLIC, org=org)

    @property
    def is_anonymous(self) -> bool:
        return self._id == ANONYMOUS

    @property
    def is_authenticated(self) -> bool:
        return self._id not in (ANONYMOUS, PUBLIC)

    @functools.cached_property
    def _held(self) -> frozenset[ObjectId]:
        # Fields are frozen, so the expansion is too: kept on the instance (an ACL check asks per document).
        return expand_roles(self.roles, self.includes)

    def all_roles(self, extra: tuple[ObjectId, ...] = ()) -> frozenset[ObjectId]:
        if not extra:
            return self._held
        return expand_roles(tuple(self.roles) + tuple(extra), self.includes)

    def expand(self, roles: Iterable[ObjectId]) -> frozenset[ObjectId]:
        """``roles`` expanded through this principal's org include graph."""
        return expand_roles(roles, self.includes)

    def has_role(self, role: ObjectId) -> bool:
        return role in self.all_roles()

    @property
    def is_org_admin(self) -> bool:
        return self.has_role(ADMINISTRATOR)

    def with_roles(self, roles: tuple[ObjectId, ...]) -> Principal:
        return replace(self, roles=tuple(self.roles) + tuple(roles))

    def to_js(self) -> dict[str, object]:
        """What a script sees as ``script.principal`` (before it becomes a CortexObject).

        ``roles`` holds every role held, expanded through the org's includes (fidelity.md §7
        "Principal fields"): the roles given first, in their order, then the included ones.
        ``roleCodes`` is added in the sandbox (js_prelude/50_script.js), which learns the
        org's role codes only when a script asks for them."""
        own = list(dict.fromkeys(self.roles))
        included = sorted(self.all_roles() - set(own), key=str)
        return {
            "_id": self._id,
            "object": "account",
            "email": self.email,
            "name": dict(self.name),
            "roles": own + included,
        }
