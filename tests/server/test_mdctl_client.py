"""The `serve` command driven by the real Medable Node client, @medable/mdctl-api, on loopback.

The server runs as a user would start it; tests/server/node/mdctl_client.js talks to it with signature
credentials through the client's `Client` and reports every outcome as JSON. With `debug` on, the script
also records every exchange on the wire, which the failure messages below quote.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from cortex_runtime.sandbox.npm import default_node_modules

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SCRIPT = Path(__file__).resolve().parent / "node" / "mdctl_client.js"
ORG = "mdctl"
API_KEY = "mdctlTestKey0123456789"  # 22 alphanumerics
API_SECRET = "mdctlTestSecret" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"  # 64 alphanumerics
# Generous, for a slow and busy machine: each wait ends as soon as its process is done.
READY_TIMEOUT = 120.0
CLIENT_TIMEOUT = 180.0

# The module fixture (server start and the whole client run) is set up inside the first
# test, so that test's pytest-timeout has to cover both waits.
pytestmark = pytest.mark.timeout(READY_TIMEOUT + CLIENT_TIMEOUT + 120)

assert len(API_KEY) == 22 and API_KEY.isalnum()
assert len(API_SECRET) == 64 and API_SECRET.isalnum()


def _node_modules() -> Path:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    modules = default_node_modules()
    if not (modules / "@medable" / "mdctl-api" / "package.json").is_file():
        pytest.fail(
            f"@medable/mdctl-api is not installed under {modules}; run scripts/setup.sh "
            "(it installs package.json's npm dependencies into .venv/npm)"
        )
    return modules


class Server:
    """`cortex_runtime.cli serve` in a subprocess; `ready` is the JSON line it prints once listening."""

    def __init__(self, org: str = ORG, *extra: str) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        env = dict(os.environ, CORTEX_API_KEY=API_KEY, CORTEX_API_SECRET=API_SECRET, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cortex_runtime.cli", "serve", "--host", "127.0.0.1", "--port", "0", "--org", org, "--ephemeral", *extra],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self.ready: dict[str, Any] = {}

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # keeps draining after the first line so the server never blocks
            self._lines.put(line)
        self._lines.put(None)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def wait_ready(self) -> dict[str, Any]:
        try:
            first = self._lines.get(timeout=READY_TIMEOUT)
        except queue.Empty:
            pytest.fail(
                f"the server printed no line on stdout within {READY_TIMEOUT:.0f} s "
                f"(running: {self.proc.poll() is None}); stderr:\n{self.stderr()}"
            )
        if first is None:
            self.proc.wait(timeout=5)
            pytest.fail(f"the server exited ({self.proc.returncode}) before printing its ready line; stderr:\n{self.stderr()}")
        try:
            ready = json.loads(first)
        except json.JSONDecodeError:
            pytest.fail(f"the server's first stdout line is not JSON: {first!r}; stderr:\n{self.stderr()}")
        assert isinstance(ready, dict) and "url" in ready, f"ready line lacks url: {first!r}"
        self.ready = ready
        return ready

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Any]]:
    node_modules = _node_modules()
    server = Server()
    try:
        ready = server.wait_ready()
        url = urlsplit(ready["url"])
        assert url.scheme == "http" and url.hostname == "127.0.0.1" and url.port, f"unexpected url in {ready}"
        assert url.path.rstrip("/") == f"/{ORG}/v2", f"unexpected url in {ready}"
        assert ready.get("org") == ORG, ready
        assert ready.get("apiKey") == API_KEY and ready.get("apiSecret") == API_SECRET, (
            f"the server did not take CORTEX_API_KEY/CORTEX_API_SECRET: {ready}"
        )
        config = {
            "endpoint": f"http://127.0.0.1:{url.port}",
            "env": ORG,
            "apiKey": API_KEY,
            "apiSecret": API_SECRET,
            "debug": True,
        }
        done = subprocess.run(
            ["node", str(CLIENT_SCRIPT), json.dumps(config)],
            cwd=node_modules.parent,
            env=dict(os.environ, NODE_PATH=str(node_modules)),
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
        )
        assert done.returncode == 0, (
            f"mdctl_client.js exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
            f"server stderr:\n{server.stderr()}"
        )
        yield json.loads(done.stdout)
    finally:
        server.stop()


def _explain(outcomes: dict[str, Any], case: str) -> str:
    """The case's outcome and what went over the wire for it, for failure messages."""
    wire = outcomes.get("_wire", {}).get(case)
    return f"{case} -> {json.dumps(outcomes.get(case))}\nwire:\n{json.dumps(wire, indent=1)}"


def _error(outcome: Any) -> dict[str, Any]:
    return outcome.get("error", {}) if isinstance(outcome, dict) else {}


def test_runner_result_is_unwrapped(outcomes):
    assert outcomes["runner"] == 6, _explain(outcomes, "runner")


def test_runner_stats_header(outcomes):
    stats = outcomes["runnerStats"]
    assert isinstance(stats, dict) and stats.get("result") == 1, _explain(outcomes, "runnerStats")
    assert isinstance(stats.get("stats"), dict), _explain(outcomes, "runnerStats")


def test_runner_arguments(outcomes):
    assert outcomes["arguments"] == 5, _explain(outcomes, "arguments")


def test_script_fault_is_thrown_by_the_client(outcomes):
    error = _error(outcomes["fault"])
    assert error.get("code") == "kInvalidArgument", _explain(outcomes, "fault")
    # a k-code given to Fault.create in a script becomes script.<category>.unspecified (spec faults.md §2)
    assert error.get("errCode") == "script.invalidArgument.unspecified", _explain(outcomes, "fault")
    assert error.get("statusCode") == 400, _explain(outcomes, "fault")
    assert error.get("reason") == "x", _explain(outcomes, "fault")


def test_bad_signature_is_refused(outcomes):
    error = _error(outcomes["badSignature"])
    assert error.get("errCode") == "cortex.accessDenied.invalidRequestSignature", _explain(outcomes, "badSignature")
    assert error.get("statusCode") == 403, _explain(outcomes, "badSignature")


def test_replayed_nonce_is_refused(outcomes):
    replay = outcomes["replayedNonce"]
    assert isinstance(replay, dict) and replay.get("first") == 1, _explain(outcomes, "replayedNonce")
    error = _error(replay.get("second"))
    assert error.get("errCode") == "cortex.accessDenied.invalidRequestSignature", _explain(outcomes, "replayedNonce")


def test_stale_timestamp_is_refused(outcomes):
    error = _error(outcomes["staleTimestamp"])
    assert error.get("errCode") == "cortex.invalidArgument.staleRequestSignature", _explain(outcomes, "staleTimestamp")
    assert error.get("statusCode") == 400, _explain(outcomes, "staleTimestamp")
