"""Sandbox(engine="process"): runs in an engine process, and the server survives that process.

The isolation and limits suites run on both engines (test_isolation.py, test_limits.py); here is
what only the process engine has: host calls and nested runs across the process boundary, a
process that dies or stops answering, and its end with the thread that owned it.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from cortex_runtime import Fault, Sandbox, limits_for
from cortex_runtime.sandbox import RunInfo


class ProcessControl:
    """``require('proc')``: nested runs, and ways to break the engine process mid-run."""

    def __init__(self) -> None:
        self.sandbox: Sandbox | None = None

    def module_methods(self, name: str) -> list[str] | None:
        return ["nested", "kill", "freeze", "pid"] if name == "proc" else None

    def _pid(self) -> int:
        assert self.sandbox is not None
        return self.sandbox.pool._local.engine.pid  # type: ignore[union-attr]

    def call(self, run: RunInfo, name: str, args: list) -> object:
        assert self.sandbox is not None
        if name == "proc.nested":
            result = self.sandbox.run(args[0])
            if result.fault is not None:
                raise result.fault
            return result.value
        if name == "proc.pid":
            return self._pid()
        if name == "proc.kill":
            os.kill(self._pid(), signal.SIGKILL)
            time.sleep(0.2)
            return True
        if name == "proc.freeze":
            os.kill(self._pid(), signal.SIGSTOP)
            return True
        raise Fault("script.invalidArgument.unknownCommand", path=name)


@pytest.fixture
def sandbox():
    control = ProcessControl()
    sb = Sandbox(host_api=control, engine="process", cache_dir=False)
    control.sandbox = sb
    yield sb
    sb.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes: it only waits to be reaped.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_values_logs_and_host_calls_cross_the_process(sandbox):
    result = sandbox.run("console.log('hi', {a: 1}); const pid = require('proc').pid(); return {pid, list: [1, 'two', null]}")
    assert result.ok, result.fault
    assert result.value["list"] == [1, "two", None]
    assert result.value["pid"] != os.getpid()
    assert [(entry.level, entry.values) for entry in result.logs] == [("log", ["hi", {"a": 1}])]


def test_a_nested_run_goes_through_the_same_process(sandbox):
    result = sandbox.run(
        "const proc = require('proc'); const inner = proc.nested('return [require(\"proc\").pid(), 6 * 7]');"
        " return [proc.pid(), inner]"
    )
    assert result.ok, result.fault
    outer_pid, (inner_pid, value) = result.value
    assert outer_pid == inner_pid and value == 42


def test_unicode_and_lone_surrogates_cross_unchanged(sandbox):
    result = sandbox.run("return ['h\u00e9llo \u2603 \ud83d\ude00', '\\ud800'.length, 'x'.repeat(300000).length]")
    assert result.ok, result.fault
    assert result.value == ["h\u00e9llo \u2603 \U0001f600", 1, 300000]


def test_an_engine_process_that_dies_fails_its_run_and_the_next_run_gets_a_new_one(sandbox):
    first = sandbox.run("return require('proc').pid()").value
    result = sandbox.run("require('proc').kill(); return 'never'")
    assert result.fault is not None
    assert result.fault.errCode == "script.error.unspecified"
    assert not _alive(first)
    after = sandbox.run("return [require('proc').pid(), 6 * 7]")
    assert after.ok, after.fault
    assert after.value[0] != first and after.value[1] == 42


def test_a_process_that_stops_answering_is_killed_after_the_deadline_and_grace(sandbox):
    from cortex_runtime.sandbox import engine_process

    limits = limits_for("route").with_overrides(timeout_ms=500)
    pid = sandbox.run("return require('proc').pid()").value
    started = time.monotonic()
    result = sandbox.run("require('proc').freeze(); return 'never'", limits=limits)
    took = time.monotonic() - started
    assert result.fault is not None and result.fault.errCode == "script.timeout.execution"
    assert took >= engine_process.GRACE_S
    assert took < 0.5 + engine_process.GRACE_S + 20  # generous: only that it did not hang
    assert not _alive(pid)
    assert sandbox.run("return 1").value == 1


def test_release_ends_the_thread_engine_process(sandbox):
    pid = sandbox.run("return require('proc').pid()").value
    assert _alive(pid)
    sandbox.release()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_each_thread_gets_its_own_engine_process(sandbox):
    import threading

    pids: list[int] = []

    def work() -> None:
        pids.append(sandbox.run("return require('proc').pid()").value)
        sandbox.release()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    mine = sandbox.run("return require('proc').pid()").value
    assert len(pids) == 1 and pids[0] != mine


def test_the_engine_must_be_named():
    with pytest.raises(ValueError):
        Sandbox(engine="threads")


def test_a_host_function_that_raises_still_answers_the_process(sandbox):
    limits = limits_for("route")
    ctx = sandbox.pool.take(limits.memory_bytes, limits.stack_bytes)

    def broken(name: str, payload: str, ops_used: int) -> str:
        raise RuntimeError("a bug in a module")

    ctx.set_host(broken)
    try:
        answer = ctx.eval("__cx_host('x.y', '[]', 0)", 5.0)
        assert "The host call failed." in answer
        assert ctx.eval("1 + 1", 5.0) == 2
    finally:
        ctx.close()
