"""The host side of the ``script`` global (modules.md §16, scripting-core.md §14, §15).

Commands (``js_prelude/50_script.js`` makes them; scripts never name them):

- ``script.as.begin [principal, options]`` / ``script.as.end []``: ``script.as(principal,
  options, fn)`` runs ``fn`` as another principal of the org (by id, email or account
  instance). With ``options.safe`` (default true) the run's privileged options are ignored
  inside ``fn``. Nested calls stack. ``options.principal.scope`` replaces the principal's
  scope; object calls inside ``fn`` (nested ``script.as`` calls included) are checked against
  it by ``modules/as_scope.py``.
- ``script.trigger [event, args]``: the ``system`` object's triggers for a custom event.
- ``script.listeners [event]``: the ``@on`` listeners ``script.fire`` calls.
- ``script.roles []`` / ``script.objects []``: the org's part of ``consts`` (roles and service
  accounts with what the principal helpers need: role codes, includes; object ids). Each is
  asked at most once per run, when a script first reads that group; a run without an org
  (or without this module) falls back to the built-ins in the prelude.
- ``script.callouts []`` / ``script.notifications []``: what is left of the run's callouts and
  notifications (``maxCallouts - used``; the http and notifications modules count on
  ``RunInfo.callouts_used`` / ``RunInfo.notifications_sent``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from bson import ObjectId

from ..accounts.scopes import compile_scope, scope_strings
from ..faults import Fault
from ..objects.acl_notation import is_custom_name
from ..objects.definitions import standard_definitions
from ..objects.orgs import load_principal, role_principal
from ..objects.principals import ADMINISTRATOR, DEVELOPER, PROVIDER, SUPPORT
from ..objects.roles import OrgPrincipals
from ..objects.store import map_store_errors
from ..sandbox import RunInfo

__all__ = ["ScriptModule", "check_command", "command_name", "is_custom_event", "org_objects", "org_roles"]

MAX_EVENT_LENGTH = 128
INVALID_EVENT = "Invalid custom event name. Event name must be namespaced and end with .before/.after"

# The built-in aliases that follow the org's roles in consts.roles (scripting-core.md §15).
_BUILTIN_ALIASES = (("admin", ADMINISTRATOR), ("provider", PROVIDER), ("support", SUPPORT), ("developer", DEVELOPER))


def is_custom_event(event: Any) -> bool:
    """A custom trigger event: at most 128 characters, at least two dot parts, the first a
    custom name, the last ``before`` or ``after`` (events.md §3.3, src: types/trigger.js)."""
    if not isinstance(event, str) or not event or len(event) > MAX_EVENT_LENGTH:
        return False
    parts = event.split(".")
    return len(parts) >= 2 and all(parts) and is_custom_name(parts[0]) and parts[-1] in ("before", "after")


def _native_id(name: str) -> ObjectId:
    """A fixed id for a standard object that has no stored definition: its name in ASCII,
    padded to 12 bytes, in the style of the platform's native ids (the values themselves
    are not in the spec; inferred)."""
    raw = name.encode("ascii", "replace")[:12]
    return ObjectId(raw.ljust(12, b"\0").hex())


@functools.cache
def _standard_objects() -> tuple[tuple[str, str], ...]:
    return tuple((d.name, d.plural_name) for d in standard_definitions().values())


def org_roles(store: Any, org_id: ObjectId) -> dict[str, Any]:
    """The org's ``consts.roles`` and ``consts.serviceAccounts``, and what the principal
    helpers need.

    ``roles``: the org's role codes, then its role names (built-ins included, as the platform
    keeps the default roles on the org), then the built-in aliases ``admin``, ``provider``,
    ``support``, ``developer`` (scripting-core.md §15). ``serviceAccounts``: name -> id.
    ``codes`` (id -> code) and ``includes`` (id -> included ids) stay private to the prelude.
    """
    principals = OrgPrincipals(store, org_id)
    all_roles = principals.roles()
    roles: dict[str, Any] = {}
    for role in all_roles:
        if role.get("code"):
            roles.setdefault(str(role["code"]), role["_id"])
    for role in all_roles:
        if role.get("name"):
            roles.setdefault(str(role["name"]), role["_id"])
    for alias, role_id in _BUILTIN_ALIASES:
        roles.setdefault(alias, role_id)
    includes = {str(role_id): list(included) for role_id, included in principals.role_includes().items() if included}
    codes = {str(role["_id"]): str(role["code"]) for role in all_roles if role.get("code")}
    accounts = {str(sa["name"]): sa["_id"] for sa in principals.service_accounts() if sa.get("name")}
    return {"roles": roles, "serviceAccounts": accounts, "codes": codes, "includes": includes}


def org_objects(store: Any, org_id: ObjectId) -> dict[str, Any]:
    """``consts.objects``: plural name -> definition id, the standard objects first, then the
    org's own in name order."""
    with map_store_errors():
        stored = list(store.contexts.find({"org": org_id, "object": "object"}, {"_id": 1, "name": 1, "pluralName": 1}))
    by_name = {str(doc.get("name")): doc for doc in stored}
    objects: dict[str, Any] = {}
    for name, plural in _standard_objects():
        doc = by_name.pop(name, None)
        objects[plural] = doc["_id"] if doc else _native_id(name)
    for name, doc in sorted(by_name.items()):
        objects[str(doc.get("pluralName") or name)] = doc["_id"]
    return objects


# Commands ``modules.safe`` refuses inside script.as (fidelity.md §8).
SAFE_MODULE_BLACKLIST = (
    "api", "cache", "connections", "console", "debug", "http", "logger", "notifications", "objects.transfer",
    "response", "script", "session", "system",
)
# Host calls the prelude makes for itself (consts, counters, leaving script.as): never refused.
_INTERNAL_COMMANDS = frozenset({"script.as.end", "script.roles", "script.objects", "script.callouts", "script.notifications"})


def _entries(value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(tuple(entry.strip().lower().split(".")) for entry in value if isinstance(entry, str) and entry.strip())


def _module_rules(modules: dict[str, Any], safe: bool) -> tuple[tuple[tuple[str, ...], ...] | None, tuple[tuple[str, ...], ...]]:
    """(whitelist or None, blacklist) of one script.as level; ``safe`` (default: the call's
    ``safe``) adds SAFE_MODULE_BLACKLIST."""
    whitelist = _entries(modules.get("whitelist")) if "whitelist" in modules else None
    blacklist = _entries(modules.get("blacklist"))
    if modules.get("safe", safe) is not False:
        blacklist = blacklist + _entries(list(SAFE_MODULE_BLACKLIST))
    return whitelist, blacklist


def _matches(entry: tuple[str, ...], command: tuple[str, ...]) -> bool:
    """Dotted names matched on their common prefix, ``*`` standing for any one segment."""
    return all(a == "*" or a == b for a, b in zip(entry, command))


def command_name(name: str, args: list[Any]) -> str:
    """The module command a host call stands for, as script.as rules name them."""
    if name == "objects.execute" and args and isinstance(args[0], dict) and args[0].get("operation") == "setOwner":
        return "objects.transfer"
    return name


def check_command(state: Any, name: str, args: list[Any]) -> None:
    """Refuse a host call the script.as stack does not allow (``script.accessDenied.command``,
    path = the module). Every level of the stack must allow it: a level with a whitelist
    allows what it lists (an entry there outranks the level's blacklist, which is how
    ``whitelist: ['script.as']`` permits a nested script.as under the safe defaults) and
    nothing else; a level without one allows what its blacklist does not name."""
    rules = getattr(state, "module_rules", ())
    if not rules or name in _INTERNAL_COMMANDS:
        return
    command = tuple(command_name(name, args).lower().split("."))
    for whitelist, blacklist in rules:
        if whitelist is not None:
            allowed = any(_matches(entry, command) for entry in whitelist)
        else:
            allowed = not any(_matches(entry, command) for entry in blacklist)
        if not allowed:
            raise Fault("script.accessDenied.command", path=command[0])


def _principal_options(store: Any, org_id: ObjectId, principal: Any, options: Any) -> tuple[Any, dict[str, Any]]:
    """``options.principal`` of script.as, applied whether or not the call is safe: ``roles``
    (codes or ids) are added to the principal; ``grant`` (at most 8), ``skipAcl`` and
    ``bypassCreateAcl`` hold for every call inside; ``scope`` replaces the principal's scope."""
    if not isinstance(options, dict):
        return principal, {}
    forced: dict[str, Any] = {}
    scope = options.get("scope")
    if scope is not None:
        # Replaces the principal's scope, optimised and validated (a bad entry is
        # cortex.invalidArgument.authScope with the entry as path); modules/as_scope.py checks it.
        tree = compile_scope(scope if isinstance(scope, list) else [scope])
        principal = dataclasses.replace(principal, scope=tuple(scope_strings(tree)))
        forced["scope"] = tree
    roles = options.get("roles")
    if roles is not None:
        principals = OrgPrincipals(store, org_id)
        ids = []
        for item in roles if isinstance(roles, list) else [roles]:
            found = principals.role(item)
            if found is None:
                raise Fault("cortex.notFound.role", reason=f"Role {item} does not exist.", path="principal.roles")
            ids.append(ObjectId(found["_id"]))
        principal = principal.with_roles(tuple(ids))
    grant = options.get("grant")
    if isinstance(grant, int) and not isinstance(grant, bool) and grant > 0:
        forced["grant"] = min(grant, 8)
    for key in ("skipAcl", "bypassCreateAcl"):
        if options.get(key) is True:
            forced[key] = True
    return principal, forced


class ScriptModule:
    prefix = "script."
    needs_runtime = True
    # The counts work without an org; the other commands check for one.
    needs_context = False

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name == "script.callouts":
            return max(0, run.limits.callouts - int(getattr(run, "callouts_used", 0) or 0))
        if name == "script.notifications":
            return max(0, run.limits.notifications - int(getattr(run, "notifications_sent", 0) or 0))
        context = run.context
        if context is None:
            raise Fault("kNotImplemented", reason="This run has no org or object layer.")
        if name == "script.roles":
            return org_roles(self._runtime.store, run.org._id)
        if name == "script.objects":
            return org_objects(self._runtime.store, run.org._id)
        objects = context.objects
        if name == "script.as.begin":
            options = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
            current = objects.layer
            key = args[0] if args else None
            principal = role_principal(current.store, current.org_id, key) or load_principal(current.store, current.org_id, key)
            principal, forced = _principal_options(current.store, current.org_id, principal, options.get("principal"))
            safe = options.get("safe", True) is not False
            acl = options.get("acl") if isinstance(options.get("acl"), dict) else {}
            modules = options.get("modules") if isinstance(options.get("modules"), dict) else {}
            acl_safe = acl.get("safe", safe) is not False
            blacklist = frozenset(str(n) for n in acl.get("blacklist") or [] if isinstance(n, str))
            objects.push(current.as_principal(principal), acl_safe, blacklist, _module_rules(modules, safe), forced)
            return None
        if name == "script.as.end":
            objects.pop()
            return None
        if name == "script.trigger":
            event = args[0] if args else None
            if not is_custom_event(event):
                raise Fault("cortex.invalidArgument.unspecified", reason=INVALID_EVENT, path="event")
            params = args[1] if len(args) > 1 and args[1] is not None else {}
            self._runtime.triggers.fire_custom(objects.layer, event, params)
            return None
        if name == "script.listeners":
            return self._runtime.triggers.listeners(objects.layer, str(args[0] if args else ""))
        raise Fault("script.invalidArgument.unknownCommand", path=name)
