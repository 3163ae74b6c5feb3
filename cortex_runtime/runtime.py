"""Runtime: the composition root. One store, one sandbox with the Python modules, many orgs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .clock import Clock, SystemClock
from .config import Limits, limits_for
from .deployment import DeployedLibraries, ScriptDeployer
from .expressions.conditions import passes
from .faults import Fault
from .modules.catalog import standard_modules
from .modules.objects import ObjectsRun
from .modules.registry import ModuleRegistry
from .objects.instances import HookChain, ObjectLayer
from .objects.roles import OrgRolesHook
from .objects.orgs import Org, Orgs, load_principal
from .objects.principals import Principal
from .objects.store import Store, map_store_errors
from .org_runtime import dispatch_source
from .sandbox import OrgRef, RunResult, Sandbox
from .sandbox.loader import ChainedLibraries, MappingLibraries
from .scheduler import Job, JobResult, JobStore, Scheduler
from .server.tokens import Tokens
from .triggers import TriggerDispatcher

__all__ = ["DEFAULT_MAX_DEPTH", "RunContext", "Runtime"]

# decisions.md "Execution depth": the platform's 6, configurable.
DEFAULT_MAX_DEPTH = 6

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """What the Python modules know about a run: its org, its principal, their state."""

    org: Org
    principal: Principal
    objects: ObjectsRun
    depth: int = 1
    trigger: Any = None
    # A route run's share of its request: {"memo": {...}, "next": bool} (layered routes).
    route: dict[str, Any] | None = None
    # The login session's id when the request has one (require('session'), modules/session.py).
    session: str | None = None
    # Called once the run has ended (modules that hold connections close them here: sftp, ftp).
    closers: list[Any] = field(default_factory=list)


class Runtime:
    def __init__(
        self,
        *,
        mongodb_uri: str | None = None,
        data_dir: Path | None = None,
        sandbox: Sandbox | None = None,
        clock: Clock | None = None,
        engine: str = "inline",
    ) -> None:
        """``mongodb_uri`` selects a MongoDB server; without one the embedded store is used,
        kept in ``data_dir`` when given (else in memory). ``engine`` is where scripts run
        when no ``sandbox`` is given (``Sandbox``'s ``engine``: "inline" or "process")."""
        self.store = Store.open(mongodb_uri, data_dir=data_dir)
        self.orgs = Orgs(self.store)
        self.clock = clock or SystemClock()
        self.jobs = JobStore(self.store)
        self.tokens = Tokens(self.store, self.clock)
        self.modules = ModuleRegistry(standard_modules(self))
        self.sandbox = sandbox if sandbox is not None else Sandbox(host_api=self.modules, engine=engine)
        if sandbox is not None:
            sandbox.host_api = self.modules
        self.deployer = ScriptDeployer(self.sandbox.compiler, self.jobs, self.clock)
        self.triggers = TriggerDispatcher(self)
        self.hooks = HookChain([OrgRolesHook(), self.deployer, self.triggers])
        self.max_depth = DEFAULT_MAX_DEPTH
        # Without a background worker (tests, the CLI), queued after-triggers run when the
        # top-level run that queued them ends; the server turns this off and runs a worker.
        self.drain_events = True
        # ``require('debug')`` exists only when this is set (``serve --debug-module``; the
        # platform's ``sandbox.debug.enableDebugModule``, off by default).
        self.debug_module: bool = False
        # Hosts (HOST[:PORT]) require('http') may call though its host and address rules refuse
        # them, loopback included (``serve --callout-allow``); and its timeout cap (30 s).
        self.callout_allow: list[str] = []
        self.callout_timeout_ms: int = 30_000
        # An SMTP server for email notifications ({"host", "port"[, "sender"]}, ``serve --smtp``);
        # without one, every notification lands in the store's outbox.
        self.smtp: dict[str, Any] | None = None
        # require('sftp') and require('ftp') for every org (``serve --file-transfer``); off by
        # default, as the platform's per-org ``enableSftpModule``/``enableFtpModule`` (also honoured).
        self.file_transfer: bool = False

    def close(self) -> None:
        """Release the store (the embedded store writes its file one last time)."""
        self.store.close()

    def audience(self, org_code: str) -> str:
        """The org's API URL as scripts see it (``script.env.url``), the ``aud`` of its tokens."""
        return f"http://{self.sandbox.env_host}/{org_code}/v2"

    def layer(self, org: Org, principal: Principal) -> ObjectLayer:
        return ObjectLayer(self.store, org._id, principal, restricted_ops=org.restricted_ops, hooks=self.hooks)

    def run(
        self,
        source: str,
        *,
        org: Org,
        principal: Principal,
        script_type: str = "route",
        arguments: Any = None,
        limits: Limits | None = None,
        libraries: Mapping[str, str] | None = None,
        request: dict[str, Any] | None = None,
        script_id: Any = None,
        depth: int = 1,
        inline: bool = False,
        trigger: Any = None,
        extra: dict[str, Any] | None = None,
        route: dict[str, Any] | None = None,
        session: str | None = None,
    ) -> RunResult:
        """Run a script as ``principal`` of ``org``; every run leaves a log record (object ``log``).

        ``depth`` is 1 for a top-level run; a run it causes (a trigger) is one deeper, and a
        run deeper than ``max_depth`` fails before it starts."""
        if depth > self.max_depth:
            fault = Fault("script.invalidArgument.executionDepthExceeded", reason=f"Execution depth {depth} exceeds {self.max_depth}.")
            return RunResult(fault=fault)
        layer = self.layer(org, principal)
        layer.run_depth = depth
        context = RunContext(org=org, principal=principal, objects=ObjectsRun(layer), depth=depth, trigger=trigger, route=route, session=session)
        deployed = DeployedLibraries(self.store, org._id)
        sources = ChainedLibraries([MappingLibraries(libraries), deployed]) if libraries else deployed
        began = self.clock.now()
        try:
            result = self.sandbox.run(
                source,
                script_type=script_type,
                arguments=arguments,
                limits=limits,
                libraries=sources,
                org=OrgRef(org._id, org.code),
                principal=principal.to_js(),
                context=context,
                request=request,
                script_id=script_id,
                depth=depth,
                inline=inline,
                extra=extra,
            )
        finally:
            for close in context.closers:
                close()
        self._log(org, principal, script_type, script_id, began, result)
        if depth == 1 and self.drain_events:
            self.process_events()
        return result

    def process_events(self, limit: int = 1000) -> int:
        """Run queued after-triggers (each exactly once across workers)."""
        return self.triggers.process(limit)

    def _log(self, org: Org, principal: Principal, script_type: str, script_id: Any, began: Any, result: RunResult) -> None:
        """The run's log record (src 2 script; lvl 0 error or 2 info), kept 30 days.

        One record per run; ``logger`` calls write records of their own (src 0, see
        modules/logger.py) and console output stays with the run (``RunResult.logs``), as on
        the platform, where console records are not log records. ``pid`` and ``oid`` are
        both the run's principal (``script.as`` changes who acts, not who ran the script)."""
        fault = result.fault.to_json() if result.fault is not None else None
        trace = (fault or {}).get("trace") if fault else None
        record = {
            "org": org._id,
            "object": "log",
            "src": 2,
            "lvl": 0 if fault else 2,
            "sid": script_id,
            "stp": script_type,
            "pid": principal._id,
            "oid": principal._id,
            "beg": began,
            "end": self.clock.now(),
            "exp": began + timedelta(days=30),
            "sts": fault["status"] if fault else 200,
            "ops": result.stats.ops,
            "ctt": result.stats.callouts,
            "cms": round(result.stats.callouts_ms),
            "in": 0,
            "out": 0,
            "err": fault,
            "trc": trace.splitlines() if isinstance(trace, str) and trace else None,
            "owner": {"_id": principal._id},
            "creator": {"_id": principal._id},
            "acl": [],
        }
        try:
            with map_store_errors():
                self.store.logs.insert_one(record)
        except Fault:
            log.exception("could not write the log record of a run")

    # ---- jobs ---------------------------------------------------------------------------

    def run_job(self, job: Job) -> JobResult:
        """Run a job script (the scheduler's runner): as the script's ``principal``, else its owner."""
        with map_store_errors():
            script = self.store.contexts.find_one({"_id": job.payload.get("script"), "org": job.org, "object": "script"})
            org_doc = self.store.orgs.find_one({"_id": job.org})
        if script is None or org_doc is None:
            self.jobs.remove(job.org, job.name)
            return JobResult.failed(Fault("cortex.notFound.script", reason="The job's script is gone."))
        org = self.orgs.get(org_doc["code"])
        assert org is not None
        source = str(script.get("script") or "")
        who = script.get("principal") or (script.get("owner") or {}).get("_id")
        condition = script.get("if")
        if job.payload.get("entry") is not None:
            entry = next((e for e in script.get("runtime") or [] if e.get("name") == job.payload["entry"]), None)
            if entry is None:
                self.jobs.remove(job.org, job.name)
                return JobResult.failed(Fault("cortex.notFound.script", reason="The decorated job is gone."))
            source = dispatch_source(entry)
            who = entry.get("principal") or who
            condition = entry.get("if", (entry.get("configuration") or {}).get("if"))
        principal = load_principal(self.store, org._id, who)
        if not passes(self, org_id=org._id, principal_id=principal._id, script={**script, "if": condition}, script_type="job"):
            return JobResult.completed()  # a false ``if`` skips this run (expressions.md §8.1); logged
        result = self.run(source, org=org, principal=principal, script_type="job", limits=limits_for("job"), script_id=script["_id"])
        if result.fault is not None:
            return JobResult.failed(result.fault, result.stats.ops)
        return JobResult.completed(result.stats.ops)

    def scheduler(self, worker_id: str | None = None) -> Scheduler:
        return Scheduler(self.jobs, self.run_job, self.clock, worker_id)
