"""``cortex-runtime test``: find ``*.test.js`` files, run each in a harness session of its own
(a fresh org on its own embedded store, the environment deployed), and gather the outcomes.

A test file is one script run (js/mocha.js collects its suites and runs every test in order,
awaiting each), so a file costs one context however many tests it has. With ``jobs`` > 1,
files run in worker processes; each file's session is independent of every other's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..config import Limits
from ..faults import Fault
from .harness_js import harness_libraries, test_script
from .sources import ScriptSources

__all__ = ["FileResult", "Outcome", "TEST_LIMITS", "discover", "run_file", "run_paths"]

# A test file's run: generous, as a file holds many tests (a runaway loop still ends in seconds);
# the scripts it exercises keep their own limits.
TEST_LIMITS = Limits(timeout_ms=120_000, max_ops=200_000_000, memory_bytes=512 * 1024 * 1024, stack_bytes=4 * 1024 * 1024,
                     max_script_size=5_000_000, callouts=100_000, notifications=100_000)
DEFAULT_DIRS = ("test", "tests")
_FRAME = re.compile(r"eval_script:(\d+):\d+")
_COMPILE_LINE = re.compile(r"\(line (\d+), column \d+\)")


@dataclass
class Outcome:
    """One test's outcome: ``state`` is passed, failed or pending."""

    file: str
    suite: list[str]
    title: str
    state: str
    ms: float = 0.0
    line: int | None = None
    error: dict[str, Any] | None = None
    # Where a failure came from: the test file's line, and the deployed script's file and line.
    at: str | None = None
    script_at: str | None = None

    @property
    def full_title(self) -> str:
        return " ".join([*self.suite, self.title])


@dataclass
class FileResult:
    file: str
    outcomes: list[Outcome] = field(default_factory=list)
    # The file could not load, or the environment could not deploy: "file:line: message".
    load_error: str | None = None
    ms: float = 0.0
    # Deployed script file -> {"lines": [lines with statements], "hits": {line: count}}.
    coverage: dict[str, dict[str, Any]] | None = None

    @property
    def failed(self) -> bool:
        return self.load_error is not None or any(o.state == "failed" for o in self.outcomes)


def discover(paths: Iterable[str | Path], cwd: Path | None = None) -> list[Path]:
    """The ``*.test.js`` files of ``paths`` (files or folders, searched recursively), sorted;
    without paths, those under ``test/`` and ``tests/`` of ``cwd``."""
    cwd = cwd or Path.cwd()
    given = [Path(p) for p in paths] or [cwd / d for d in DEFAULT_DIRS if (cwd / d).is_dir()]
    found: list[Path] = []
    for path in given:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in sorted(path.rglob("*.test.js")) if "node_modules" not in p.parts)
        else:
            raise Fault("cortex.notFound.file", reason=f"{path} does not exist", path=str(path))
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _first_line(text: Any) -> int | None:
    found = _FRAME.search(text) if isinstance(text, str) else None
    return int(found.group(1)) if found else None


class _FileRun:
    """One file's session and what it learns while the file runs."""

    def __init__(self, path: Path, env_dir: Path | None, seed: int | None, sandbox: Any, on_outcome: Callable[[Outcome], None] | None, coverage: bool) -> None:
        self.path = path
        self.name = _display(path)
        self.env_dir = env_dir
        self.seed = seed
        self.sandbox = sandbox
        self.on_outcome = on_outcome
        self.coverage = coverage
        self.result = FileResult(self.name)
        self._current: dict[str, Any] | None = None
        self.limits = TEST_LIMITS

    def run(self, grep: str | None) -> FileResult:
        from .session import HarnessSession

        started = time.perf_counter()
        try:
            source = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.result.load_error = f"{self.name}: cannot read: {exc}"
            return self.result
        try:
            session = HarnessSession(None, sandbox=self.sandbox, seed=self.seed)
        except Fault as fault:
            self.result.load_error = f"{self.name}: {fault.reason or fault.message}"
            return self.result
        try:
            if self.env_dir is not None:
                try:
                    session.sources = ScriptSources(self.env_dir)
                    session.deploy(self.env_dir)
                except Fault as fault:
                    self.result.load_error = f"{_display(self.env_dir)}: environment did not deploy: {_fault_text(fault)}"
                    return self.result
                except (KeyError, TypeError, ValueError, OSError) as exc:  # a malformed deploy.json entry or file
                    self.result.load_error = f"{_display(self.env_dir)}: environment did not deploy: {type(exc).__name__}: {exc}"
                    return self.result
            if self.coverage:
                session.enable_coverage()
            session.events.report = lambda outcome: self._outcome(session, outcome)
            session.events.begin = self._begin
            planned: list[int] = []
            session.events.planned = planned.append
            result = session.runtime.run(
                test_script(source, {"grep": grep, "seeded": self.seed is not None}),
                org=session.org,
                principal=session.admin,
                script_type="runner",
                limits=self.limits,
                libraries=harness_libraries(),
            )
            if result.fault is not None:
                self._run_fault(result.fault, loaded=bool(planned))
            if self.coverage:
                self.result.coverage = session.covered.by_file(session.sources)
        finally:
            session.close()
            self.result.ms = (time.perf_counter() - started) * 1000
        return self.result

    def _run_fault(self, fault: Fault, *, loaded: bool) -> None:
        data = fault.to_json()
        if not loaded:  # the file did not compile, or threw while its suites were collected
            line = _first_line(data.get("trace"))
            if line is None:
                found = _COMPILE_LINE.search(str(data.get("reason") or ""))
                line = int(found.group(1)) if found else None
            where = f"{self.name}:{line}" if line else self.name
            self.result.load_error = f"{where}: {_fault_text(fault)}"
            return
        # A limit, or a test whose promise never settles, ended the file's run part-way: the
        # test that was running fails with it (the file's later tests did not run).
        current = self._current or {}
        line = current.get("line") if isinstance(current.get("line"), int) else None
        title = str(current.get("title") or "(the file's run ended early)")
        error = {**data, "message": data.get("reason") or data.get("message")}
        self.result.outcomes.append(Outcome(self.name, [str(s) for s in current.get("suite") or []], title, "failed", line=line,
                                            error=error, at=f"{self.name}:{line}" if line else self.name))

    def _begin(self, test: dict[str, Any]) -> None:
        self._current = test

    def _outcome(self, session: Any, raw: dict[str, Any]) -> None:
        error = raw.get("error") if isinstance(raw.get("error"), dict) else None
        outcome = Outcome(
            self.name,
            [str(s) for s in raw.get("suite") or []],
            str(raw.get("title")),
            str(raw.get("state")),
            float(raw.get("ms") or 0),
            raw.get("line") if isinstance(raw.get("line"), int) else None,
            error,
        )
        if error is not None:
            line = _first_line(error.get("stack")) or outcome.line
            outcome.at = f"{self.name}:{line}" if line else self.name
            outcome.script_at = self._script_at(session, error)
        self._current = None
        del session.events.failed_runs[:-50]  # a before-all hook's failure is every test's of its suite
        self.result.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    @staticmethod
    def _script_at(session: Any, error: dict[str, Any]) -> str | None:
        """The deployed script (file:line) whose failed run this error is, when it is one."""
        trace = error.get("trace")
        for failed in reversed(session.events.failed_runs):
            same = failed.fault.get("errCode") == error.get("errCode") and (
                (trace and failed.fault.get("trace") == trace) or failed.fault.get("message") == error.get("message")
            )
            if not same:
                continue
            name = session.script_name(failed.script_id)
            line = _first_line(failed.fault.get("trace"))
            where = session.sources.display(name)
            return f"{where}:{line}" if line else where
        return None


def _fault_text(fault: Fault) -> str:
    data = fault.to_json()
    text = f"{data.get('errCode')}: {data.get('reason') or data.get('message')}"
    for child in data.get("faults") or []:
        text += f"; {child.get('path') or ''} {child.get('reason') or child.get('message')}".rstrip()
    return text


def run_file(path: Path, env_dir: Path | None = None, *, grep: str | None = None, seed: int | None = None, sandbox: Any = None,
             on_outcome: Callable[[Outcome], None] | None = None, coverage: bool = False) -> FileResult:
    """Run one test file in a session of its own."""
    return _FileRun(Path(path), env_dir, seed, sandbox, on_outcome, coverage).run(grep)


@lru_cache(maxsize=1)
def _worker_sandbox() -> Any:
    """The Sandbox of a worker process: one per process, so its compile cache and contexts are reused."""
    from ..sandbox import Sandbox

    return Sandbox()


def _worker_file(path: str, env_dir: str | None, grep: str | None, seed: int | None, coverage: bool) -> FileResult:
    """A worker process's file."""
    return run_file(Path(path), Path(env_dir) if env_dir else None, grep=grep, seed=seed, sandbox=_worker_sandbox(), coverage=coverage)


def run_paths(files: list[Path], env_dir: Path | None = None, *, grep: str | None = None, jobs: int = 1, seed: int | None = None,
              on_outcome: Callable[[Outcome], None] | None = None, on_file: Callable[[FileResult], None] | None = None,
              coverage: bool = False, sandbox: Any = None) -> list[FileResult]:
    """Run ``files`` (in order, or in ``jobs`` worker processes); the results in file order.
    In one process the files share ``sandbox`` (made when not given): its compile cache and contexts."""
    if jobs <= 1 or len(files) <= 1:
        from ..sandbox import Sandbox

        sandbox = sandbox if sandbox is not None else Sandbox()
        results = []
        for path in files:
            result = run_file(path, env_dir, grep=grep, seed=seed, sandbox=sandbox, on_outcome=on_outcome, coverage=coverage)
            if on_file is not None:
                on_file(result)
            results.append(result)
        return results
    by_file: dict[str, FileResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_worker_file, str(p), str(env_dir) if env_dir else None, grep, seed, coverage): p for p in files}
        for future in as_completed(futures):
            result = future.result()
            if on_outcome is not None:
                for outcome in result.outcomes:
                    on_outcome(outcome)
            if on_file is not None:
                on_file(result)
            by_file[str(futures[future])] = result
    return [by_file[str(p)] for p in files]
