"""The host side of the ``script`` global (modules.md §16, scripting-core.md §14, §15).

Commands (``js_prelude/50_script.js`` makes them; scripts never name them):

- ``script.as.begin [principal, options]`` / ``script.as.end []``: ``script.as(principal,
  options, fn)`` runs ``fn`` as another principal of the org (by id, email or account
  instance). With ``options.safe`` (default true) the run's privileged options are ignored
  inside ``fn``. Nested calls stack.
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

import functools
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..objects.acl_notation import is_custom_name
from ..objects.definitions import standard_definitions
from ..objects.orgs import load_principal
from ..objects.principals import ADMINISTRATOR, DEVELOPER, PROVIDER, SUPPORT
from ..objects.roles import OrgPrincipals
from ..objects.store import map_store_errors
from ..sandbox import RunInfo

__all__ = ["ScriptModule", "is_custom_event", "org_objects", "org_roles"]

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
            principal = load_principal(current.store, current.org_id, args[0] if args else None)
            layer = current.as_principal(principal)
            objects.push(layer, options.get("safe", True) is not False)
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
