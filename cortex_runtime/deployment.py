"""Deploying scripts: instances of the standard ``script`` object (scripting-core.md §2).

``ScriptDeployer`` is the object layer's write hook for ``script`` instances: a script is
checked and compiled when it is written, so a syntax error is a deploy-time fault, never
a run-time surprise. Each type's configuration is checked too:

- library: ``configuration.export``, a ``c_``/``ns__`` name unique among the org's libraries;
- route: ``configuration.method`` and ``path`` (a valid route pattern, unique per method);
- job: ``configuration.cron``, a valid 5-field expression within the daily run cap;
- trigger: ``configuration.object`` and ``configuration.event`` (no triggers on view,
  script, org or object).

``DeployedLibraries`` is where a run finds libraries by export name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from .clock import Clock, SystemClock
from .faults import Fault
from .objects.acl_notation import custom_name
from .objects.instances import ObjectLayer
from .objects.model import ObjectDef
from .objects.store import Store, map_store_errors
from .org_runtime import decorated_entries
from .sandbox.compiler import Compiler
from .scheduler.jobstore import JobStore

__all__ = ["DeployedLibraries", "ScriptDeployer", "job_name", "scripts_version"]


def job_name(script_id: Any) -> str:
    """The schedule name of a job script."""
    return f"script:{script_id}"

SCRIPT_TYPES = ("route", "trigger", "job", "library")
ROUTE_METHODS = ("*", "get", "post", "put", "patch", "delete")
NO_TRIGGERS_ON = ("view", "script", "org", "object")
_EXPORT = re.compile(r"^(c_|[a-z0-9]+__)[a-zA-Z0-9_.-]{1,100}$")
_EVENT = re.compile(r"^(create|update|delete)\.(before|after)$")
# Custom events on the system object: a custom name, at least two parts, ending in before/after.
# The account's authentication events (decisions.md "Account events").
_ACCOUNT_EVENTS = ("signin.before", "signin.after", "authorizeToken.after")
_CUSTOM_EVENT = re.compile(r"^(c_|[a-z0-9]+__)[\w-]*(\.[\w-]+)*\.(before|after)$")


def _invalid(reason: str, path: str, err_code: str = "cortex.invalidArgument.unspecified") -> Fault:
    return Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[Fault(err_code, reason=reason, path=path)])


def scripts_version(store: Store, org_id: ObjectId) -> int:
    """A counter bumped on every deploy, so servers know when to rebuild their tables."""
    with map_store_errors():
        doc = store.orgs.find_one({"_id": org_id}, {"scriptsVersion": 1}) or {}
    return int(doc.get("scriptsVersion") or 0)


class ScriptDeployer:
    """Write hook: checks and compiles ``script`` instances (see the module docstring)."""

    def __init__(self, compiler: Compiler, jobs: JobStore | None = None, clock: Clock | None = None, max_script_size: int = 50_000) -> None:
        self._compiler = compiler
        self._jobs = jobs
        self._clock = clock or SystemClock()
        self.max_script_size = max_script_size

    def before(
        self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: dict[str, Any] | None, existing: Mapping[str, Any] | None, options: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        if obj.name != "script" or doc is None:
            return doc
        if doc.get("name") is not None:
            self._check_name(layer, doc)
        kind = doc.get("type")
        if kind not in SCRIPT_TYPES:
            raise _invalid(f"type must be one of {', '.join(SCRIPT_TYPES)}.", "script.type", "cortex.invalidArgument.enumValue")
        source = doc.get("script")
        if not isinstance(source, str):
            raise _invalid("script must be a string of source.", "script.script", "cortex.invalidArgument.required")
        try:
            self._compiler.compile(source, kind="library" if kind == "library" else "script", max_size=self.max_script_size)
        except Fault as fault:
            fault.path = fault.path or "script.script"
            raise
        configuration = doc.get("configuration") if doc.get("configuration") is not None else {}
        if not isinstance(configuration, Mapping):
            raise _invalid("configuration must be an object.", "script.configuration")
        configuration = dict(configuration)
        doc["configuration"] = configuration
        doc.setdefault("active", True)
        if doc.get("active") is None:
            doc["active"] = True
        if doc.get("weight") is None:
            doc["weight"] = 0
        check = getattr(self, f"_check_{kind}")
        check(layer, doc, configuration)
        return doc

    def after(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None) -> None:
        if obj.name != "script":
            return
        with map_store_errors():
            layer.store.orgs.update_one({"_id": layer.org_id}, {"$inc": {"scriptsVersion": 1}})
        if self._jobs is None:
            return
        script = doc if doc is not None else existing
        if script is None:
            return
        name = job_name(script["_id"])
        if doc is not None and doc.get("type") == "job":
            cron = str((doc.get("configuration") or {}).get("cron"))
            self._jobs.upsert(layer.org_id, name, cron, {"script": doc["_id"]}, self._clock.now(), active=bool(doc.get("active", True)))
        else:
            self._jobs.remove(layer.org_id, name)
        # @job entries of a library: one schedule each, replaced on every deploy.
        for old in (existing or {}).get("runtime") or []:
            if old.get("type") == "job":
                self._jobs.remove(layer.org_id, f"{name}:{old.get('name')}")
        for entry in (doc or {}).get("runtime") or []:
            if entry.get("type") == "job" and doc is not None and doc.get("active", True):
                payload = {"script": doc["_id"], "entry": entry.get("name")}
                self._jobs.upsert(layer.org_id, f"{name}:{entry.get('name')}", str(entry["configuration"]["cron"]), payload, self._clock.now())

    @staticmethod
    def _check_name(layer: ObjectLayer, doc: dict[str, Any]) -> None:
        """A script's name: trimmed, ``c_`` added unless custom, the strict customName rule, unique (§3.2)."""
        try:
            doc["name"] = custom_name(doc["name"], "script.name")
        except Fault as fault:
            raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[fault]) from None
        with map_store_errors():
            clash = layer.store.contexts.find_one({"org": layer.org_id, "object": "script", "name": doc["name"], "_id": {"$ne": doc.get("_id")}}, {"_id": 1})
        if clash is not None:
            raise Fault("cortex.conflict.exists", reason=f"A script named {doc['name']} exists.", path="script.name")

    # ---- per type -------------------------------------------------------------------

    @staticmethod
    def _others(layer: ObjectLayer, doc: Mapping[str, Any], query: dict[str, Any]) -> Any:
        with map_store_errors():
            return layer.store.contexts.find_one(
                {"org": layer.org_id, "object": "script", "_id": {"$ne": doc.get("_id")}, "active": True, **query}, {"_id": 1}
            )

    def _check_library(self, layer: ObjectLayer, doc: dict[str, Any], configuration: dict[str, Any]) -> None:
        export = configuration.get("export")
        if isinstance(export, str) and export.strip():
            # Stored trimmed, lower-cased and c_-prefixed unless custom (fidelity.md §11).
            from .objects.acl_notation import custom_name

            try:
                export = configuration["export"] = custom_name(export.strip().lower(), "script.configuration.export")
            except Fault:
                export = None
        if not isinstance(export, str) or not _EXPORT.match(export):
            raise _invalid("A library needs configuration.export, a c_ or namespaced name.", "script.configuration.export", "cortex.invalidArgument.customName")
        if self._others(layer, doc, {"type": "library", "configuration.export": export}) is not None:
            raise Fault("cortex.conflict.exists", reason=f"A library exported as {export} exists.", path="script.configuration.export")
        source = str(doc.get("script") or "")
        from .objects.roles import OrgPrincipals

        resolver = OrgPrincipals(layer.store, layer.org_id).resolver()  # role codes in @route ACLs
        entries = decorated_entries(doc, self._compiler.decorators(source), resolver=resolver) if "@" in source else []
        from .scheduler.cron import check_daily_cap
        from .server.routing import RoutePattern

        for entry in entries:
            configuration_of = entry["configuration"]
            if entry["type"] == "route":
                RoutePattern.compile(configuration_of["path"])
            elif entry["type"] == "job":
                check_daily_cap(configuration_of["cron"])
            elif entry["type"] == "trigger" and not (
                _EVENT.match(str(configuration_of["event"]))
                or (configuration_of.get("object") == "system" and _CUSTOM_EVENT.match(str(configuration_of["event"])))
                or (configuration_of.get("object") == "account" and configuration_of["event"] in _ACCOUNT_EVENTS)
            ):
                raise _invalid(f"Unsupported trigger event {configuration_of['event']}.", "script.script", "cortex.invalidArgument.enumValue")
        doc["runtime"] = entries

    def _check_route(self, layer: ObjectLayer, doc: dict[str, Any], configuration: dict[str, Any]) -> None:
        from .server.routing import RoutePattern

        method = str(configuration.get("method") or "get").lower()
        if method not in ROUTE_METHODS:
            raise _invalid(f"method must be one of {', '.join(ROUTE_METHODS)}.", "script.configuration.method", "cortex.invalidArgument.enumValue")
        path = configuration.get("path")
        if path is None:
            path = ""
        if not isinstance(path, str):
            raise _invalid("configuration.path must be a string.", "script.configuration.path")
        RoutePattern.compile(path)
        configuration["method"], configuration["path"] = method, path
        if "acl" in configuration:  # create-type, at most 50 entries (environments.md §1.5)
            from .objects.acl_notation import parse_acl
            from .objects.roles import OrgPrincipals

            resolver = OrgPrincipals(layer.store, layer.org_id).resolver()
            configuration["acl"] = parse_acl(configuration["acl"], "create", resolver, path="script.configuration.acl", max_entries=50)
        if self._others(layer, doc, {"type": "route", "configuration.method": method, "configuration.path": path}) is not None:
            raise Fault("cortex.conflict.exists", reason=f"A route for {method.upper()} {path} exists.", path="script.configuration.path")

    def _check_job(self, layer: ObjectLayer, doc: dict[str, Any], configuration: dict[str, Any]) -> None:
        from .scheduler.cron import check_daily_cap

        cron = configuration.get("cron")
        if not isinstance(cron, str):
            raise _invalid("A job needs configuration.cron.", "script.configuration.cron", "cortex.invalidArgument.required")
        check_daily_cap(cron)

    def _check_trigger(self, layer: ObjectLayer, doc: dict[str, Any], configuration: dict[str, Any]) -> None:
        event = configuration.get("event")
        target = str(configuration.get("object") or "system").lower()
        if target == "system":
            if not isinstance(event, str) or len(event) > 128 or not _CUSTOM_EVENT.match(event):
                raise _invalid("A system trigger needs a custom event, e.g. c_thing.done.after.", "script.configuration.event", "cortex.invalidArgument.enumValue")
            configuration["object"] = "system"
            return
        if not isinstance(event, str) or not (_EVENT.match(event) or (target == "account" and event in _ACCOUNT_EVENTS)):
            raise _invalid("A trigger needs configuration.event, e.g. create.before.", "script.configuration.event", "cortex.invalidArgument.enumValue")
        if not target:
            raise _invalid("A trigger needs configuration.object.", "script.configuration.object", "cortex.invalidArgument.required")
        found = layer.definitions.get(target)
        if found is None and target != "*":
            raise Fault("cortex.invalidArgument.object", reason=f"Unknown object {target}.", path="script.configuration.object")
        name = found.name if found is not None else target
        if name in NO_TRIGGERS_ON:
            raise _invalid(f"Triggers cannot be set on {name}.", "script.configuration.object")
        configuration["object"] = name


class DeployedLibraries:
    """Libraries of one org by export name, as deployed (active library scripts)."""

    def __init__(self, store: Store, org_id: ObjectId) -> None:
        self._store = store
        self._org = org_id
        self._sources: dict[str, str] | None = None

    def library_source(self, export: str) -> str | None:
        if self._sources is None:  # one read per run, on the first require of a library
            with map_store_errors():
                docs = self._store.contexts.find(
                    {"org": self._org, "object": "script", "type": "library", "active": True}, {"script": 1, "configuration.export": 1}
                )
                self._sources = {}
                for d in docs:
                    # require() finds a library by its export or by its script _id (fidelity.md §11).
                    self._sources[str((d.get("configuration") or {}).get("export"))] = str(d.get("script") or "")
                    self._sources.setdefault(str(d.get("_id")), str(d.get("script") or ""))
        return self._sources.get(export)
