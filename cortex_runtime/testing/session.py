"""One harness session: a Runtime on the embedded store with a fake clock, one fresh org with
the environment folder deployed, HTTP mocks, and what the test powers need (clock, accounts,
outbox, logs, fixtures). The runner makes one per test file; the pytest plugin one per test.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..clock import FakeClock
from ..faults import Fault
from ..modules.catalog import standard_modules
from ..modules.registry import ModuleRegistry
from ..objects.orgs import account_document, insert_account, load_principal
from ..objects.principals import Principal
from ..objects.store import map_store_errors
from ..runtime import Runtime
from ..sandbox import RunResult, Sandbox
from .coverage import CoveredLines, statement_lines
from .http_mocks import HttpMocks
from .module import TestModule
from .seeding import SeededIds, seeded_object_ids
from .sources import ScriptSources

__all__ = ["FailedRun", "HarnessSession", "clock_start"]

ADMIN_EMAIL = "admin@example.com"
MAX_FIXTURES = 10_000


def clock_start() -> datetime:
    """Where a session's clock starts: midnight UTC of the current day, so cron schedules line up
    the same way in every run of a day, and records kept for a while (log records, 30 days) are
    not already expired by the real clock the store's TTL indexes follow."""
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class FailedRun:
    """A deployed script's run that ended in a fault (to name the script in a failure)."""

    script_id: Any
    script_type: str
    fault: dict[str, Any]


@dataclass
class SessionEvents:
    """Callbacks of a session: a test that starts, a finished test's outcome, the number of tests a file plans."""

    begin: Callable[[dict[str, Any]], None] = lambda test: None
    report: Callable[[dict[str, Any]], None] = lambda outcome: None
    planned: Callable[[int], None] = lambda count: None
    failed_runs: list[FailedRun] = field(default_factory=list)


class HarnessSession:
    """A fresh org (code ``test``) on its own in-memory embedded store, with ``env_dir`` deployed
    (when given)."""

    def __init__(self, env_dir: Path | None = None, *, sandbox: Sandbox | None = None, seed: int | None = None, org_code: str | None = None) -> None:
        self.clock = FakeClock(clock_start())
        # With a seed, every id and random value of the session comes from it (seeding.py),
        # from the org's own ids on; undone when the session closes (or fails to open).
        self.ids = SeededIds(seed, self.clock) if seed is not None else None
        self._undo = ExitStack()
        try:
            if self.ids is not None:
                self._undo.enter_context(seeded_object_ids(self.ids))
            self._build(env_dir, sandbox, seed, org_code)
        except BaseException:
            self._undo.close()
            raise

    def _build(self, env_dir: Path | None, sandbox: Sandbox | None, seed: int | None, org_code: str | None) -> None:
        self.runtime = Runtime(sandbox=sandbox, clock=self.clock)
        if self.ids is not None:
            self._seed_sandbox(self.runtime.sandbox, self.ids)
        self.http = HttpMocks()
        self.runtime.http_mock = self.http  # type: ignore[attr-defined]
        self.random = random.Random(seed)
        self.events = SessionEvents()
        self.module = TestModule(self)
        self.covered = CoveredLines()
        self.runtime.modules = ModuleRegistry([self.module, self.covered, *standard_modules(self.runtime)])
        self.runtime.sandbox.host_api = _SettlingHost(self.runtime.modules, self)
        self._observe_runs()
        self._routes: Any = None
        self.org, self.admin = self.runtime.orgs.create(org_code or "test", admin_email=ADMIN_EMAIL)
        self.sources = ScriptSources(env_dir) if env_dir is not None else ScriptSources(None)
        if env_dir is not None:
            self.deploy(env_dir)

    def _seed_sandbox(self, sandbox: Sandbox, ids: SeededIds) -> None:
        """The (possibly shared) sandbox's runs draw from ``ids`` until the session closes."""
        previous = sandbox.seeding
        sandbox.seeding = ids

        def restore() -> None:
            sandbox.seeding = previous

        self._undo.callback(restore)

    # ---- set-up ------------------------------------------------------------------------

    def deploy(self, env_dir: Path) -> None:
        """Deploy an environment folder (mdctl's layout or a deploy.json folder); a fault on failure."""
        from ..cli import deploy_any

        deploy_any(self.runtime, self.org, self.admin, Path(env_dir))

    def _observe_runs(self) -> None:
        """Keep the faults of deployed scripts' runs (triggers, jobs, routes), so that a test
        failure caused by one can name its script file and line."""
        original = self.runtime.run

        def observed(source: str, **options: Any) -> RunResult:
            result = original(source, **options)
            if result.fault is not None and options.get("script_id") is not None:
                self.events.failed_runs.append(FailedRun(options["script_id"], str(options.get("script_type")), result.fault.to_json()))
            return result

        self.runtime.run = observed  # type: ignore[method-assign]

    def close(self) -> None:
        try:
            if self.covered.active:
                self.runtime.sandbox.compiler.coverage = None
            self.runtime.close()
        finally:
            self._undo.close()

    def enable_coverage(self) -> None:
        """Count line hits of every deployed script from now on (deploy first)."""
        with map_store_errors():
            docs = list(self.runtime.store.contexts.find({"org": self.org._id, "object": "script"}, {"name": 1, "script": 1, "type": 1}))
        docs = [d for d in docs if isinstance(d.get("script"), str) and d.get("name")]
        names = {str(d["script"]): str(d["name"]) for d in docs}
        compiler = self.runtime.sandbox.compiler
        # Other scripts (the test file, decorated handlers' dispatch) hand over their libraries' hits.
        compiler.coverage = lambda source: names.get(source, "")
        # Each script's statement lines, known before it runs (a script no test runs is all missed).
        lines = {str(d["name"]): statement_lines(compiler.compile(str(d["script"]), kind="library" if d.get("type") == "library" else "script").code) for d in docs}
        self.covered.start(names, lines)

    def script_name(self, script_id: Any) -> str | None:
        """A deployed script's name, by id."""
        with map_store_errors():
            doc = self.runtime.store.contexts.find_one({"_id": script_id, "org": self.org._id, "object": "script"}, {"name": 1})
        return str(doc["name"]) if doc and doc.get("name") else None

    # ---- principals --------------------------------------------------------------------

    def principal(self, who: Any = None) -> Principal:
        """The administrator, or the account named by email or id."""
        if who is None:
            return self.admin
        return load_principal(self.runtime.store, self.org._id, who)

    def create_account(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A new account (``email`` required; ``roles`` as codes or ids); returns it as stored."""
        if not isinstance(doc, dict) or not isinstance(doc.get("email"), str) or "@" not in doc["email"]:
            raise Fault("cortex.invalidArgument.unspecified", reason="accounts.create needs an email.", path="email")
        from ..objects.roles import OrgPrincipals

        resolver = OrgPrincipals(self.runtime.store, self.org._id).resolver()
        roles = [resolver.role(r, "roles") if isinstance(r, str) and not _is_hex_id(r) else _object_id(r) for r in doc.get("roles") or []]
        fields = {k: v for k, v in doc.items() if k not in ("email", "name", "roles", "password", "_id", "org", "object")}
        name = doc.get("name") if isinstance(doc.get("name"), dict) else {}
        account = account_document(self.org._id, email=doc["email"], name=name, roles=roles, **fields)
        with map_store_errors():
            if self.runtime.store.contexts.find_one({"org": self.org._id, "object": "account", "email": account["email"]}, {"_id": 1}):
                raise Fault("cortex.conflict.exists", reason=f"An account with email {account['email']} exists.", path="email")
        insert_account(self.runtime.store, account)
        return {"_id": account["_id"], "email": account["email"], "name": account["name"], "roles": account["roles"]}

    def load_fixtures(self, object_name: Any, docs: Any) -> list[Any]:
        """Insert documents into an object as the administrator (create ACLs bypassed, triggers
        run); returns their ids."""
        if not isinstance(object_name, str) or not object_name:
            raise Fault("cortex.invalidArgument.unspecified", reason="fixtures.load needs an object name.", path="object")
        if isinstance(docs, dict):
            docs = [docs]
        if not isinstance(docs, list) or len(docs) > MAX_FIXTURES:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"fixtures.load needs a list of at most {MAX_FIXTURES} documents.", path="docs")
        layer = self.runtime.layer(self.org, self.admin)
        ids = []
        for doc in docs:
            if not isinstance(doc, dict):
                raise Fault("cortex.invalidArgument.unspecified", reason="fixtures.load documents must be objects.", path="docs")
            created = layer.insert_one(object_name, doc, {"bypassCreateAcl": True})
            ids.append(created.get("_id") if isinstance(created, dict) else created)
        self.settle()
        return ids

    # ---- routes ------------------------------------------------------------------------

    def call_route(self, method: str, path: str, options: dict[str, Any]) -> dict[str, Any]:
        """A custom route run in-process, as ``/routes/<path>`` would run it: {status, headers, body}.
        ``options``: ``body``, ``query``, ``headers``, ``principal`` (default: the administrator)."""
        import json

        from ..sandbox.codec import to_plain
        from ..server.custom_routes import RouteTables, run_custom_route

        if self._routes is None:
            self._routes = RouteTables(self.runtime)
        route_path = path.strip().lstrip("/")
        if route_path.startswith("routes/"):
            route_path = route_path[len("routes/"):]
        principal = self.principal(options.get("principal"))
        request = {"method": method.upper(), "path": f"/{self.org.code}/v2/routes/{route_path}", "headers": options.get("headers") or {},
                   "query": options.get("query") or {}, "body": options.get("body")}
        result = run_custom_route(self.runtime, self._routes, self.org, principal, method.lower(), route_path, request)
        self.settle()
        if result.fault is not None:
            raise result.fault
        response = result.response or {}
        body: Any = to_plain(result.value)
        if response.get("body"):
            try:
                body = json.loads(response["body"])
            except ValueError:
                body = response["body"]
        return {"status": response.get("status") or 200, "headers": response.get("headers") or {}, "body": body}

    # ---- time --------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def set_now_ms(self, ms: Any) -> None:
        moment = datetime.fromtimestamp(float(ms) / 1000, tz=timezone.utc)
        if moment < self.clock.now():
            raise Fault("cortex.invalidArgument.unspecified", reason="The test clock only moves forward.", path="clock")
        self.clock.set(moment)

    def next_due_ms(self, limit_ms: Any = None) -> int | None:
        """When the next cron job of the store is due (never before now), or None (or past ``limit_ms``)."""
        wake = self.runtime.jobs.next_wakeup(self.clock.now())
        if wake is None:
            return None
        due = max(int(wake.timestamp() * 1000), self.now_ms())
        return None if limit_ms is not None and due > float(limit_ms) else due

    def run_due(self, at_ms: Any) -> int:
        """Move the clock to ``at_ms`` and run every job due then; returns how many ran."""
        self.set_now_ms(at_ms)
        scheduler = self.runtime.scheduler("harness")
        ran = 0
        while True:
            runs = scheduler.tick()
            ran += len(runs)
            self.settle()
            if not runs:
                break
        if ran == 0:
            # A job due now that nobody could run: skip past it rather than loop.
            self.clock.advance(timedelta(milliseconds=1))
        return ran

    def advance(self, ms: int) -> None:
        """Python-side clock.advance (the pytest plugin): due jobs in time order, then events."""
        target = self.now_ms() + int(ms)
        while (due := self.next_due_ms(target)) is not None:
            self.run_due(due)
        self.set_now_ms(target)
        self.settle()

    def settle(self) -> int:
        """Run the after-triggers queued so far (a test sees them done, as if the worker were instant)."""
        return self.runtime.process_events()


# Host calls after which the test's own writes may have queued after-triggers.
_WRITES = ("objects.execute", "script.trigger")


class _SettlingHost:
    """The session's host API: after a write of the test file's own run, the after-triggers it
    queued run before the test goes on (tests read their effects at once)."""

    def __init__(self, inner: ModuleRegistry, session: HarnessSession) -> None:
        self._inner = inner
        self._session = session

    def module_methods(self, name: str) -> list[str] | None:
        return self._inner.module_methods(name)

    def call(self, run: Any, name: str, args: list[Any]) -> Any:
        value = self._inner.call(run, name, args)
        if name in _WRITES and run.script_type == "runner" and getattr(run.context, "depth", 1) == 1:
            self._session.settle()
        return value


def _is_hex_id(text: str) -> bool:
    return len(text) == 24 and all(c in "0123456789abcdef" for c in text.lower())


def _object_id(value: Any) -> Any:
    from bson import ObjectId

    return ObjectId(str(value)) if isinstance(value, str) else value
