"""Operators about access: ``$acl`` (the level some ACL entries grant the caller) and ``$as``
(evaluate ``in`` as another principal); operator spec a-i.

Both need the caller (``ctx.host``, an ``ExpressionHost``). ``$as`` swaps the host for one whose
object layer acts as the other principal, for the evaluation of ``in`` only, so database reads
inside it (``$dbNext``, ``$cursor``, ...) go through that principal's ACL.
"""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from bson import ObjectId

from ...faults import Fault
from ..core import OPERATORS, ExpressionContext, Operator, Parser, join, qf, register
from ..values import MISSING, plain, truthy
from .database import ExpressionHost, need_host

__all__ = ["AclOp", "AsOp", "AsHost"]

MAX_AS_GRANT = 8  # spec: a truthy grant becomes min(grant, 8)


# ---- $acl ------------------------------------------------------------------------------------


def _json_round_trip(value: Any) -> Any:
    """The platform JSON-round-trips entries before parsing: ids become hex strings."""
    return json.loads(json.dumps(plain(value), default=str))


@register(OPERATORS, "$acl")
class AclOp(Operator):
    """The access level (0 None ... 8 Script) the given entries grant the caller. Only these
    entries count; 0 without a principal. An entry naming a role, account or service account
    that does not exist grants nothing (the platform leaves it without a target).

    An evaluation here has no subject, so the platform's "org admins on the ``org`` object get
    at least 6" never applies, and an entry whose ``allow`` is a role raises the level its
    other entries give (as on an instance) without adding the role to the caller."""

    def setup(self, parser: Parser, raw: Any) -> None:
        self.entries = None if raw is None or raw is MISSING else parser.expr(_wrap_list(raw), self.path, self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value = self.entries.evaluate(ctx) if self.entries is not None else None
        if ctx.host is None:
            return 0  # no principal: nothing is granted
        host: ExpressionHost = ctx.host
        layer = host.layer
        if value is None or value is MISSING:
            return 0
        items = value if isinstance(value, list) else [value]
        entries = []
        for index, item in enumerate(_json_round_trip(items)):
            entry = _parse_entry(host, item, join(self.path, index))
            if entry is not None:
                entries.append(entry)
        from ...objects.acl import resolve_access

        subject = SimpleNamespace(name="", default_acl=())  # no subject: only the given entries count
        return resolve_access(layer.principal, subject, None, acl=entries)  # type: ignore[arg-type]


def _wrap_list(raw: Any) -> Any:
    return {"$array": raw} if isinstance(raw, list) else raw


def _parse_entry(host: ExpressionHost, item: Any, path: str) -> dict[str, Any] | None:
    from ...objects.acl_notation import parse_acl
    from ...objects.roles import OrgPrincipals

    if not isinstance(item, (str, dict)):
        return None
    try:
        parsed = parse_acl([item], "default", OrgPrincipals(host.store, host.org_id).resolver(), path=path)
    except Fault:
        return None  # a failed lookup or a malformed entry grants nothing; $acl has no faults of its own
    return parsed[0] if parsed else None


# ---- $as -------------------------------------------------------------------------------------


class AsHost(ExpressionHost):
    """The caller's host, acting as another principal with extra read options."""

    def __init__(self, base: ExpressionHost, layer: Any, options: dict[str, Any]) -> None:
        super().__init__(base.runtime, base.org_id, lambda: base.org_code, layer, safe=False, environment=base.environment)
        self.base = base
        self.options = options
        for name in ("request", "body", "script", "deadline", "locale"):
            if hasattr(base, name):
                setattr(self, name, getattr(base, name))

    def read_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {**self.options, **self.base.read_options(options)}


@register(OPERATORS, "$as")
class AsOp(Operator):
    """``{input, in}``: ``in`` evaluated lazily as the principal ``input`` names."""

    def setup(self, parser: Parser, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise qf(f"Operator {self.name} expects an object.", self.path)
        given = raw.get("input", MISSING)
        if isinstance(given, dict) and not any(isinstance(k, str) and k.startswith("$") for k in given):
            self.literal: Any = given  # a plain object without $ keys is taken literally
            self.input = None
        else:
            self.literal = MISSING
            self.input = parser.expr(given, join(self.path, "input"), self.depth + 1)
        self.body = parser.expr(raw.get("in", MISSING), join(self.path, "in"), self.depth + 1)

    def evaluate(self, ctx: ExpressionContext) -> Any:
        self.enter(ctx)
        value = self.literal if self.input is None else self.input.evaluate(ctx)
        host = need_host(self, ctx)
        layer, options = _as_layer(host, value if truthy(value) else {}, self.path)
        saved = ctx.host
        ctx.push(self.path)
        ctx.host = AsHost(host, layer, options)
        try:
            return self.body.evaluate(ctx)
        finally:
            ctx.host = saved
            ctx.pop()


def _as_layer(host: ExpressionHost, value: Any, path: str) -> tuple[Any, dict[str, Any]]:
    from ...objects.acl import level_of
    from ...objects.orgs import load_principal

    current = host.layer
    spec = value if isinstance(value, dict) else {"principal": value}
    who = spec.get("principal")
    principal = current.principal if who is None or who is MISSING else load_principal(host.store, host.org_id, _principal_key(who))
    roles = spec.get("roles")
    if truthy(roles):
        role_ids = tuple(_role_ids(host, roles if isinstance(roles, list) else [roles], join(path, "roles")))
        principal = principal.with_roles(role_ids)
    scope = spec.get("scope")
    if truthy(scope):
        if not isinstance(scope, (list, str)) or any(not isinstance(s, str) or not s for s in (scope if isinstance(scope, list) else [scope])):
            raise Fault("cortex.invalidArgument.unspecified", reason="scope must be a string or an array of strings.", path=join(path, "scope"))
        principal = replace(principal, scope=tuple(scope if isinstance(scope, list) else [scope]))
    options: dict[str, Any] = {}
    grant = spec.get("grant")
    if truthy(grant):
        options["grant"] = min(level_of(grant, default=0) or 0, MAX_AS_GRANT)
    for flag in ("skipAcl", "bypassCreateAcl"):
        if truthy(spec.get(flag)):
            options[flag] = True
    return current.as_principal(principal), options


def _principal_key(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dict) and "_id" in value:
        return str(value["_id"])
    return value


def _role_ids(host: ExpressionHost, roles: list[Any], path: str) -> list[ObjectId]:
    from ...objects.roles import OrgPrincipals

    resolver = OrgPrincipals(host.store, host.org_id).resolver()
    return [role if isinstance(role, ObjectId) else resolver.role(str(role), path) for role in roles]
