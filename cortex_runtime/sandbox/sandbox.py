"""Sandbox.run: one script run in a fresh QuickJS context, within its limits.

The run's path: compile (cached) -> take a pre-warmed context (eager prelude loaded,
never used before) -> ``__cx_begin`` runs ``main`` -> the event loop (promise jobs,
then ``__cx_step``: wait for the next due timer and the timers unit's ``tick``, until none remain)
-> the final envelope from ``__cx_step``/``__cx_finish`` -> the context is freed.
Every host call from the script arrives at ``Sandbox._handle``, which never lets a
Python exception reach the engine: it answers with a fault the script can catch.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bson import ObjectId

from ..config import Limits, limits_for
from ..faults import Fault
from .codec import decode, encode, loads, to_plain
from .compiler import CompileCache, CompiledScript, Compiler, default_cache_dir
from .engine import Context, EngineError, Interrupted, ScriptThrew
from .engine_process import ProcessContextPool, RemoteContext
from .loader import LibrarySource, MappingLibraries, ModuleLoader
from .npm import NpmPackages
from .prelude import UNIT_SOURCE_FUNCTION, Prelude, load_prelude
from .seeding import Seeding, begin_prefix

__all__ = ["HostApi", "LogEntry", "OrgRef", "RunResult", "RunStats", "Sandbox"]

log = logging.getLogger(__name__)

MAX_LOG_BYTES = 1024 * 1024
# modules.md section 5 (src): a console call whose arguments serialise to more than ~8 KB is dropped silently.
MAX_CONSOLE_ENTRY_BYTES = 8 * 1024
# modules.md section 5 (src): the console methods that are persisted (the others are accepted no-ops).
CONSOLE_LEVELS = frozenset({"log", "info", "warn", "error"})


class HostApi(Protocol):
    """Script modules implemented in Python, reached by ``require(name)``.

    ``module_methods(name)`` lists a module's methods (None: no such module);
    ``call(run, "module.method", args)`` runs one with the decoded arguments and returns
    a value the codec can carry, or raises a ``Fault``, which the script can catch.
    Any other exception reaches the script as a ``script.error.unspecified`` fault.
    """

    def module_methods(self, name: str) -> list[str] | None: ...

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any: ...


@dataclass(frozen=True)
class OrgRef:
    _id: ObjectId
    code: str


@dataclass
class LogEntry:
    level: str
    values: list[Any]
    trace: str | None


@dataclass
class RunStats:
    ops: int = 0
    ms: float = 0.0
    host_calls: int = 0
    compile_ms: float = 0.0
    cached: bool = False
    # HTTP callouts (require('http')): attempts, refused ones included, and their time.
    callouts: int = 0
    callouts_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "ops": self.ops,
            "ms": round(self.ms, 3),
            "hostCalls": self.host_calls,
            "compileMs": round(self.compile_ms, 3),
            "cached": self.cached,
        }


@dataclass
class RunResult:
    value: Any = None
    fault: Fault | None = None
    stats: RunStats = field(default_factory=RunStats)
    logs: list[LogEntry] = field(default_factory=list)
    # What the script wrote through require('response'): {status, headers, body} or None.
    response: dict[str, Any] | None = None
    # A trigger's memo as the script left it (triggers of one operation share it).
    memo: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None

    def plain(self) -> Any:
        """The result as JSON-ready data (what a client would receive)."""
        return to_plain(self.value)


@dataclass
class RunInfo:
    """What host functions may know about the run that calls them."""

    script_type: str
    limits: Limits
    org: OrgRef
    deadline: float
    libraries: LibrarySource | None
    context: Any = None
    # The script being run (deployed scripts), for the log records modules write (logger).
    script_id: Any = None
    # The npm libraries this run required (what the pool preloads, see RecentUse).
    npm_required: set[str] = field(default_factory=set)
    ops_used: int = 0
    host_calls: int = 0
    log_bytes: int = 0
    # An inline trigger's run (no callouts); the http module's counters.
    inline: bool = False
    # The request the run serves (what require('request') shows), for host modules.
    request: Any = None
    # The run's configuration, built on call: what the script global is made from (type,
    # arguments, label, depth, principal, env), for modules that describe the script.
    config: Callable[[], dict[str, Any]] | None = None
    callouts_used: int = 0
    callouts_ms: float = 0.0
    logs: list[LogEntry] = field(default_factory=list)

    def time_left(self) -> float:
        return self.deadline - time.monotonic()


class RecentUse:
    """What recent runs used, by name. Parsing is most of what loading a prelude unit or an npm
    library costs (lodash, moment-timezone, the objects unit), so what at least ``share`` of the
    last ``WINDOW`` runs used is parsed into each spare context when it is built, off the response
    path; a run that uses it then only runs it, and a spare whose run does not has parsed it for
    nothing. One for the npm libraries runs required (``Sandbox.npm_usage``, a quarter: a large
    library costs a run tens of milliseconds) and one per pool for the prelude units its contexts
    loaded (half: a unit costs a few, so at most every other spare compiles one in vain)."""

    WINDOW = 40

    def __init__(self, share: float = 0.25) -> None:
        self.share = share
        self._runs: deque[frozenset[str]] = deque()
        # Kept in step with _runs, and the answer of hot() until the next record(): a refill
        # asks for it on every build, a run records once.
        self._counts: dict[str, int] = {}
        self._hot: list[str] | None = []
        self._lock = threading.Lock()

    def record(self, names: set[str]) -> None:
        with self._lock:
            self._runs.append(frozenset(names))
            for name in names:
                self._counts[name] = self._counts.get(name, 0) + 1
            if len(self._runs) > self.WINDOW:
                for name in self._runs.popleft():
                    left = self._counts[name] - 1
                    if left:
                        self._counts[name] = left
                    else:
                        del self._counts[name]
            self._hot = None

    def hot(self) -> list[str]:
        with self._lock:
            if self._hot is None:
                needed = max(2, int(self.share * len(self._runs)))
                self._hot = sorted(name for name, count in self._counts.items() if count >= needed)
            return list(self._hot)


def _unit_source(prelude: Prelude, used: set[str]) -> Callable[[str, bool], str | None]:
    """The context's ``__cx_source`` (js_prelude/00_bridge.js): a unit's source, and a note of
    every unit the context loads, the prepared ones included. Holds the set, not the context."""

    def source(name: str, want: bool) -> str | None:
        used.add(name)
        return prelude.unit_source(name) if want else None

    return source


@dataclass
class _Building:
    """A context on its way into the pool, how far its build has come, and the prelude units
    it has loaded (those compiled in while building, then those its run loads)."""

    ctx: Context
    stage: int = 0
    used: set[str] = field(default_factory=set)
    # The hot units still to compile into it (set when its npm stage has run).
    units: list[str] = field(default_factory=list)


class ContextPool:
    """Pre-warmed contexts (prelude loaded, never used), per thread and per memory/stack size.

    A context is handed out once and then thrown away: nothing of one run can leak
    into another. jsbox runtimes belong to the thread that made them, so every
    method here is about the calling thread's spares.

    A spare is built with the hot npm libraries parsed in and the hot prelude units compiled in
    (``RecentUse``: the units at least half of recent runs loaded, as the pool saw them
    loaded), each in a stage of its own. Compiled only: a unit's top level still runs when the
    run first touches it, as it would have without this, so what a run reads is the same.
    """

    def __init__(self, prelude: Prelude, size: int, preloads: Callable[[], list[tuple[str, str]]] | None = None) -> None:
        self._prelude = prelude
        self._size = size
        self._local = threading.local()
        # (name, factory expression) of npm libraries to parse into every context built.
        self._preloads = preloads or (lambda: [])
        self.unit_usage = RecentUse(share=0.5)

    def _spares(self, key: tuple[int, int]) -> list[_Building]:
        pools = getattr(self._local, "pools", None)
        if pools is None:
            pools = self._local.pools = {}
        return pools.setdefault(key, [])

    def build(self, memory_bytes: int, stack_bytes: int, *, preload: bool = False) -> Context:
        """A fresh context: a new runtime with the eager prelude evaluated (and the
        function that gives it the other units' sources when it needs them); with
        ``preload``, the hot npm libraries and prelude units compiled in too (only for spares,
        off the response path)."""
        return self._finish(self._new(memory_bytes, stack_bytes), preload=preload).ctx

    @staticmethod
    def _new(memory_bytes: int, stack_bytes: int) -> _Building:
        return _Building(Context(memory_bytes=memory_bytes, stack_bytes=stack_bytes))

    def _finish(self, building: _Building, *, preload: bool, drain: bool = True) -> _Building:
        while self._step(building, preload, drain):
            pass
        return building

    def _step(self, building: _Building, preload: bool, drain: bool = True) -> bool:
        """One stage of a build; False once the context is ready. A refill can stop between
        stages: each holds the GIL for a few hundred microseconds, except the npm stage and each
        unit's, which take what parsing that library or unit takes (a few milliseconds)."""
        ctx, stage = building.ctx, building.stage
        building.stage += 1
        if stage == 0:
            ctx.bind_function(UNIT_SOURCE_FUNCTION, _unit_source(self._prelude, building.used))
            if drain:
                # The engine lets go of the GIL the first time a context waits for promise jobs, and
                # getting it back behind a busy thread can take milliseconds: a spare pays that here, not
                # in the run. A context built for the run at hand skips it: the run's own wait pays it once.
                ctx.eval_and_drain(self._prelude.eager)
            else:
                ctx.eval(self._prelude.eager)
        elif stage == 1 and preload:
            for name, factory in self._preloads():
                # Parsed, not run: the factory runs in the run that requires it, as any module does.
                ctx.eval(f"__cx_preloaded[{json.dumps(name)}] = {factory};\nvoid 0;")
            building.units = [name for name in self.unit_usage.hot() if name in self._prelude.units]
        elif building.units:
            # Compiled through the context's own evaluator, as on first use, so its frames read the same.
            name = json.dumps(building.units.pop())
            ctx.eval(f"__cx_prepared[{name}] = __cx_eval(__cx_source({name}, true));\nvoid 0;")
        else:
            return False
        return True

    def _handed_out(self, building: _Building) -> Context:
        """The context of ``building``, for a run: the units it loads from now on are what the run
        used, recorded when this thread next takes or builds a context (its run is over by then,
        or, for a run started inside it, its use so far is what counts)."""
        self._record_last()
        building.used.clear()  # what the build compiled in is not the run's use
        self._local.last_used = building.used
        return building.ctx

    def _record_last(self) -> None:
        used = getattr(self._local, "last_used", None)
        if used is not None:
            self._local.last_used = None
            self.unit_usage.record(used)

    def _partial(self, key: tuple[int, int]) -> _Building | None:
        partials = getattr(self._local, "partials", None)
        return partials.pop(key, None) if partials else None

    def take(self, memory_bytes: int, stack_bytes: int) -> Context:
        """A spare if there is one, else the context a refill left half-built, finished now,
        else a context built now; never refills."""
        key = (memory_bytes, stack_bytes)
        spares = self._spares(key)
        if spares:
            return self._handed_out(spares.pop())
        building = self._partial(key) or self._new(memory_bytes, stack_bytes)
        # Unit compilation is left out: the run compiles what it touches, and only that.
        building.units = []
        return self._handed_out(self._finish(building, preload=False, drain=False))

    def ready(self, memory_bytes: int, stack_bytes: int) -> bool:
        """Whether a spare is waiting for the next run with these sizes."""
        return bool(self._spares((memory_bytes, stack_bytes)))

    def needs_refill(self, memory_bytes: int, stack_bytes: int) -> bool:
        """Whether the spares for these sizes are fewer than the pool's size."""
        return len(self._spares((memory_bytes, stack_bytes))) < self._size

    def refill_one(self, memory_bytes: int, stack_bytes: int, stop: Callable[[], bool] | None = None) -> bool:
        """Build one spare if the pool is short; True when it built one.

        With ``stop``, asked between the build's stages, the build ends early once ``stop()`` is true
        (a request came in): what it built so far is kept for the next ``take`` or refill."""
        self._record_last()
        key = (memory_bytes, stack_bytes)
        spares = self._spares(key)
        if len(spares) >= self._size:
            return False
        building = self._partial(key)
        if building is None:
            if stop is not None and stop():
                return False
            building = self._new(memory_bytes, stack_bytes)
        while True:
            if stop is not None:
                if stop():
                    partials = getattr(self._local, "partials", None)
                    if partials is None:
                        partials = self._local.partials = {}
                    partials[key] = building
                    return False
            if not self._step(building, preload=True):
                break
        spares.append(building)
        return True

    def refill(self, memory_bytes: int, stack_bytes: int) -> None:
        while self.refill_one(memory_bytes, stack_bytes):
            pass

    def release(self) -> None:
        """Free this thread's spares (of every size), on this thread, as a thread that ends should."""
        partials = getattr(self._local, "partials", None)
        if partials:
            self._local.partials = {}
            for building in partials.values():
                building.ctx.close()
        pools = getattr(self._local, "pools", None)
        if not pools:
            return
        self._local.pools = {}
        for spares in pools.values():
            for building in spares:
                building.ctx.close()


_EXAMPLE_ORG = OrgRef(ObjectId("000000000000000000000100"), "example")

_LIMIT_FAULTS: dict[str, Callable[[], Fault]] = {
    "timeout": lambda: Fault(
        "script.timeout.execution", "Script execution timed out.", reason="script execution timeout."
    ),
    "ops": lambda: Fault("script.error.ops", "Max script ops exceeded.", reason="max ops exceeded"),
    "memory": lambda: Fault("script.error.memory", reason="script out of memory."),
    "stack": lambda: Fault("script.error.stackOverflow", reason="maximum call stack size exceeded."),
}


def limit_fault(kind: str) -> Fault:
    return _LIMIT_FAULTS[kind]()


def _envelope(text: object) -> dict[str, Any]:
    """Parse and check the final envelope from the prelude's driver; anything else is an engine error."""
    if not isinstance(text, str):
        raise EngineError("the run's state could not be read")
    try:
        env = loads(text)
    except ValueError as exc:
        raise EngineError("the run's state could not be read") from exc
    if not isinstance(env, dict) or env.get("dead") not in (None, "ops", "memory", "stack"):
        raise EngineError("the run's state could not be read")
    ops = env.get("opsUsed")
    env["opsUsed"] = int(ops) if isinstance(ops, (int, float)) and ops == ops and abs(ops) < 2**62 else 0
    return env


class Sandbox:
    """Runs scripts. One Sandbox serves many runs (and threads); each run gets a fresh context."""

    def __init__(
        self,
        *,
        npm: NpmPackages | None = None,
        cache_dir: Path | None | bool = True,
        host_api: HostApi | None = None,
        pool_size: int = 1,
        env_host: str = "localhost",
        sleep: Callable[[float], None] = time.sleep,
        engine: str = "inline",
    ) -> None:
        """``engine``: "inline" runs contexts in this process, on the calling thread (tests, the
        harness, tools); "process" runs them in an engine process per thread, which builds the
        next context on another core (engine_process.py; what ``serve`` uses)."""
        if engine not in ("inline", "process"):
            raise ValueError(f"engine must be 'inline' or 'process', not {engine!r}")
        self.npm = npm if npm is not None else NpmPackages()
        if cache_dir is True:
            cache_dir = default_cache_dir()
        self.compiler = Compiler(self.npm, CompileCache(cache_dir or None))
        self.loader = ModuleLoader(self.compiler, self.npm, max_script_size=limits_for("route").max_script_size)
        self.npm_usage = RecentUse()
        self.engine = engine
        self.pool: ContextPool | ProcessContextPool = (
            ContextPool(load_prelude(), pool_size, self._preloads)
            if engine == "inline"
            else ProcessContextPool(self._preloads, self.npm_usage.hot)
        )
        self.host_api = host_api
        self.env_host = env_host
        self._sleep = sleep
        # The test harness's --seed: Math.random, new ObjectID() and crypto.randomBytes of every
        # run draw from it, so a run repeats exactly. None: the engine's own randomness.
        self.seeding: Seeding | None = None

    def compile(self, source: str, max_size: int | None = None) -> CompiledScript:
        return self.compiler.compile(source, kind="script", max_size=max_size)

    def prepare(self) -> list[str]:
        """Compile every built-in module and requirable npm library into the cache,
        so no run ever compiles one on its clock. Returns the module names."""
        names = [path.name[:-3] for path in self.loader.builtin_modules()] + sorted(self.npm.requirable())
        for name in names:
            self.loader.factory(name, None)
        return names

    def warm(self, limits: Limits | None = None) -> None:
        """Fill this thread's pool for runs with ``limits`` (default: route limits).

        ``run`` takes a pre-warmed context when there is one and builds one otherwise; it
        never refills, so a caller that serves many runs calls ``warm`` (or ``warm_one``)
        when idle (a server: after the response is sent), keeping context creation off
        the run's path.
        """
        limits = limits or limits_for("route")
        self.pool.refill(limits.memory_bytes, limits.stack_bytes)

    def warm_one(self, limits: Limits | None = None, stop: Callable[[], bool] | None = None) -> bool:
        """Build at most one context for this thread's pool; True when one was built.

        For a caller that refills between requests one context at a time; ``stop`` ends the
        build early, between its stages, keeping what was built (``ContextPool.refill_one``)."""
        limits = limits or limits_for("route")
        return self.pool.refill_one(limits.memory_bytes, limits.stack_bytes, stop)

    def release(self) -> None:
        """Free this thread's engines: its pre-warmed contexts and its compile context
        (a thread that stops serving runs calls this, on that thread)."""
        self.pool.release()
        self.compiler.release()

    def needs_warming(self, limits: Limits | None = None) -> bool:
        """Whether this thread's pool is short of spares for runs with ``limits`` (cheap)."""
        limits = limits or limits_for("route")
        return self.pool.needs_refill(limits.memory_bytes, limits.stack_bytes)

    def run(
        self,
        source: str,
        *,
        script_type: str = "route",
        arguments: Any = None,
        limits: Limits | None = None,
        libraries: LibrarySource | Mapping[str, str] | None = None,
        org: OrgRef | None = None,
        principal: Any = None,
        label: str = "",
        depth: int = 1,
        inline: bool = False,
        context: Any = None,
        request: dict[str, Any] | None = None,
        script_id: ObjectId | None = None,
        extra: dict[str, Any] | None = None,
    ) -> RunResult:
        """Run ``source``. ``context`` is handed to host functions as ``run.context``
        (the object layer puts the org and the calling principal there); ``request``
        (method, path, headers, query, params, body) is what ``require('request')`` shows;
        ``extra`` adds type-specific configuration (a trigger's ``event`` and ``subject``)."""
        limits = limits or limits_for(script_type)
        org = org or _EXAMPLE_ORG
        if isinstance(libraries, Mapping):
            libraries = MappingLibraries(libraries)
        stats = RunStats()

        started = time.perf_counter()
        misses = self.compiler.cache.misses
        try:
            compiled = self.compile(source, max_size=limits.max_script_size)
        except Fault as fault:
            stats.compile_ms = (time.perf_counter() - started) * 1000
            return RunResult(fault=fault, stats=stats)
        stats.cached = self.compiler.cache.misses == misses
        stats.compile_ms = (time.perf_counter() - started) * 1000

        run = RunInfo(
            script_type=script_type,
            limits=limits,
            org=org,
            deadline=time.monotonic() + limits.timeout_ms / 1000,
            libraries=libraries,
            context=context,
            script_id=script_id,
            inline=inline,
            request=request,
        )
        started_at = int(time.time() * 1000)

        # Built and encoded only when the script first needs it (__cx_config in js_prelude/90_run.js).
        def config() -> dict[str, Any]:
            return {
                "type": script_type,
                "arguments": {} if arguments is None else arguments,
                "limits": limits.to_js(),
                "startedAt": started_at,
                "org": {"_id": org._id, "code": org.code},
                "principal": principal,
                "depth": depth,
                "label": label,
                "scriptId": script_id,
                "inline": inline,
                "request": request,
                **(extra or {}),
                "env": {
                    "host": self.env_host,
                    "name": "development",
                    "url": f"http://{self.env_host}/{org.code}/v2",
                    "version": "2",
                },
            }

        run.config = config
        ctx = self.pool.take(limits.memory_bytes, limits.stack_bytes)
        ctx.set_host(functools.partial(self._handle, run, config))
        result = RunResult(stats=stats, logs=run.logs)
        run_started = time.perf_counter()
        try:
            finished = self._drive(ctx, run, limits.max_ops, compiled, result)
            stats.ms = (time.perf_counter() - run_started) * 1000
            if not finished:
                stats.ops = self._ops_used(ctx, run)
        finally:
            # The context is never used again: free its engine now, on this thread.
            ctx.close()
            stats.host_calls = run.host_calls
            stats.callouts, stats.callouts_ms = run.callouts_used, run.callouts_ms
            self.npm_usage.record(run.npm_required)
        return result

    def _drive(self, ctx: Context | RemoteContext, run: RunInfo, max_ops: int, compiled: CompiledScript, result: RunResult) -> bool:
        """Run main and the event loop, then read the result into ``result``.

        True when the driver's final envelope was read (its op count is in the stats)."""
        begin = (
            f'"use strict";{begin_prefix(self.seeding)}__cx_begin({int(max_ops)},{int(ctx.memory_bytes)},function main(require, module, exports) {{'
            f"{compiled.code}\n}})"
        )
        try:
            step = ctx.first_step(begin, run.time_left())
            while not isinstance(step, str):
                if isinstance(step, bool) or not isinstance(step, (int, float)) or not step >= 0:
                    raise EngineError("the run's state could not be read")
                wait = step / 1000
                if wait >= run.time_left():
                    self._sleep(max(0.0, run.time_left()))
                    raise Interrupted("next timer is due after the deadline")
                if wait > 0:
                    self._sleep(wait)
                if ctx.eval("__cx_units.timers.tick()", run.time_left()) is True:
                    step = ctx.eval("__cx_finish()", run.time_left())
                    break
                ctx.drain_jobs(run.time_left())
                step = ctx.eval("__cx_step()", run.time_left())
            final = _envelope(step)
        except Interrupted:
            result.fault = limit_fault("timeout")
            return False
        except ScriptThrew as exc:
            kind = self._dead_kind(ctx)
            result.fault = limit_fault(kind) if kind else self._engine_fault(exc)
            return False
        except EngineError as exc:
            result.fault = Fault("script.error.unspecified", reason=str(exc))
            return False
        result.stats.ops = final["opsUsed"]
        memo = final.get("memo")
        if isinstance(memo, dict) and isinstance(memo.get("v"), dict):
            result.memo = memo["v"]
        res = final.get("res")
        if isinstance(res, dict) and isinstance(res.get("headers"), dict):
            status = res.get("status")
            result.response = {
                "status": status if isinstance(status, int) and 100 <= status <= 599 else None,
                "headers": {str(k): str(v) for k, v in res["headers"].items()},
                "body": res.get("body") if isinstance(res.get("body"), str) else None,
            }
        if final["dead"]:
            result.fault = limit_fault(final["dead"])
        elif final.get("ok") is True and isinstance(final.get("r"), dict) and "v" in final["r"]:
            result.value = final["r"]["v"]
        else:
            fault = final.get("f")
            fault_json = fault.get("v") if isinstance(fault, dict) else None
            result.fault = Fault.from_script(fault_json if isinstance(fault_json, dict) else {})
        return True

    @staticmethod
    def _engine_fault(exc: ScriptThrew) -> Fault:
        if exc.out_of_memory:
            return limit_fault("memory")
        if exc.stack_overflow:
            return limit_fault("stack")
        return Fault("script.error.unspecified", f"{exc.name}: {exc.message}", trace=exc.stack or None)

    @staticmethod
    def _dead_kind(ctx: Context | RemoteContext) -> str | None:
        """The limit the script hit, when an error escaped the driver itself."""
        try:
            kind = ctx.eval("__cx_r < 0 ? (__cx_dead || 'ops') : __cx_dead", 0.05)
        except EngineError:
            return None
        return kind if kind in ("ops", "memory", "stack") else None

    @staticmethod
    def _ops_used(ctx: Context | RemoteContext, run: RunInfo) -> int:
        try:
            return int(ctx.eval("__cx_maxOps - __cx_r", 0.05))  # type: ignore[call-overload]
        except (EngineError, TypeError, ValueError):
            return run.ops_used

    def _handle(self, run: RunInfo, config: Callable[[], dict[str, Any]], name: str, payload: str, ops_used: int) -> str:
        if name == "config":
            return self._config_reply(config)
        run.ops_used = ops_used
        run.host_calls += 1
        try:
            args = decode(payload)
            if name == "console":
                value: Any = self._console(run, args)
            elif name == "require":
                value = self._require(run, str(args[0]), len(args) > 1 and args[1] is True)
            elif name == "objectid" and self.seeding is not None:
                value = self.seeding.object_id()
            elif self.host_api is not None:
                value = self.host_api.call(run, name, args)
            else:
                raise Fault("script.invalidArgument.unknownCommand", path=name)
            return encode({"v": value})
        except Fault as fault:
            return encode({"f": fault.to_json()})
        except Exception as exc:  # noqa: BLE001 - nothing may cross into the engine
            log.exception("host function %s failed", name)
            fault = Fault("script.error.unspecified", reason=f"host function {name} failed ({type(exc).__name__}).")
            return encode({"f": fault.to_json()})

    @staticmethod
    def _config_reply(config: Callable[[], dict[str, Any]]) -> str:
        """The run configuration, which the prelude asks for once, when a script first needs it."""
        try:
            return encode({"v": config()})
        except (TypeError, ValueError) as exc:
            log.exception("the run configuration could not be encoded")
            fault = Fault("script.error.marshalling", reason=f"The run configuration could not be sent ({exc}).")
            return encode({"f": fault.to_json()})

    def _require(self, run: RunInfo, name: str, preloaded: bool = False) -> dict[str, Any]:
        methods = self.host_api.module_methods(name) if self.host_api is not None else None
        if methods is not None:
            return {"methods": list(methods)}
        if self.npm.is_requirable(name):
            run.npm_required.add(name)
            if preloaded:  # the context has its factory parsed already (RecentUse)
                return {"preloaded": True}
        return {"code": self.loader.factory(name, run.libraries)}

    def _preloads(self) -> list[tuple[str, str]]:
        out = []
        for name in self.npm_usage.hot():
            try:
                out.append((name, self.loader.factory(name, None)))
            except Fault:
                log.exception("could not preload %s", name)
        return out

    @staticmethod
    def _console(run: RunInfo, args: list[Any]) -> bool:
        """Append to the run's log; False once the log is full (MAX_LOG_BYTES). A call of
        another level, or one larger than MAX_CONSOLE_ENTRY_BYTES, is dropped silently."""
        level, values, trace = args[0], args[1], args[2]
        if level not in CONSOLE_LEVELS or not isinstance(values, list):
            return True
        plain = to_plain(values)
        size = len(json.dumps(plain, default=str))
        if size > MAX_CONSOLE_ENTRY_BYTES:
            return True
        if run.log_bytes + size > MAX_LOG_BYTES:
            run.logs.append(LogEntry("warn", ["console output truncated: 1 MB per run"], None))
            run.log_bytes = MAX_LOG_BYTES + 1
            return False
        run.log_bytes += size
        run.logs.append(LogEntry(str(level), plain, trace if isinstance(trace, str) else None))
        return True
