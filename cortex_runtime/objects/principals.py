"""Principals (who runs a request or a script) and the well-known ids (spec §4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bson import ObjectId

__all__ = ["ADMINISTRATOR", "ANONYMOUS", "DEVELOPER", "PROVIDER", "PUBLIC", "ROLE_INCLUDES", "SUPPORT", "Principal"]

ANONYMOUS = ObjectId("000000000000000000000001")
SYSTEM = ObjectId("000000000000000000000002")
PUBLIC = ObjectId("000000000000000000000003")
ADMINISTRATOR = ObjectId("000000000000000000000004")
PROVIDER = ObjectId("000000000000000000000005")
SUPPORT = ObjectId("000000000000000000000006")
DEVELOPER = ObjectId("000000000000000000000007")

# Roles include other roles: holding Administrator means holding these too.
ROLE_INCLUDES: dict[ObjectId, tuple[ObjectId, ...]] = {ADMINISTRATOR: (DEVELOPER, SUPPORT)}

ROLE_NAMES = {
    "administrator": ADMINISTRATOR,
    "admin": ADMINISTRATOR,
    "provider": PROVIDER,
    "support": SUPPORT,
    "developer": DEVELOPER,
}


def expand_roles(roles: list[ObjectId] | tuple[ObjectId, ...]) -> frozenset[ObjectId]:
    out: set[ObjectId] = set()
    pending = list(roles)
    while pending:
        role = pending.pop()
        if role in out:
            continue
        out.add(role)
        pending.extend(ROLE_INCLUDES.get(role, ()))
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

    def all_roles(self, extra: tuple[ObjectId, ...] = ()) -> frozenset[ObjectId]:
        return expand_roles(tuple(self.roles) + tuple(extra))

    def has_role(self, role: ObjectId) -> bool:
        return role in self.all_roles()

    @property
    def is_org_admin(self) -> bool:
        return self.has_role(ADMINISTRATOR)

    def with_roles(self, roles: tuple[ObjectId, ...]) -> Principal:
        return Principal(_id=self._id, org=self.org, email=self.email, roles=tuple(self.roles) + tuple(roles), name=self.name, scope=self.scope)

    def to_js(self) -> dict[str, object]:
        """What a script sees as ``script.principal`` (before it becomes a CortexObject)."""
        return {
            "_id": self._id,
            "object": "account",
            "email": self.email,
            "name": dict(self.name),
            "roles": list(self.roles),
        }
