"""What bench_vs_node.py and bench_growth.py share: server subprocesses, the load client,
single signed requests and /proc readings.

A server is any command that prints one JSON line with ``url``, ``apiKey`` and
``apiSecret`` before anything else (``cortex-runtime serve`` and node_runner_host.js do).
Load comes from load_client.js, one Node process per measurement, so both servers are
measured by the same cheap client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import secrets
import shutil
import string
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
STARTUP_TIMEOUT_S = 60.0
RUNNER_PATH = "/sys/script_runner"


class BenchError(RuntimeError):
    """Something other than the expected result: the bench aborts."""


def mem_total_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise BenchError("no MemTotal in /proc/meminfo")


def server_env() -> dict[str, str]:
    """The environment for servers: the embedded store, whatever the caller's shell says."""
    return {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise BenchError("node is not on PATH")
    return node


def cortex_command() -> list[str]:
    venv = ROOT / ".venv" / "bin" / "cortex-runtime"
    if not venv.exists():
        raise BenchError(f"{venv} is missing; run scripts/dev.sh or scripts/test.sh first")
    return [str(venv)]


def our_server_command(org: str = "bench") -> tuple[list[str], bool]:
    """``cortex-runtime serve`` on a free port, with ``--ephemeral`` (store kept in memory)
    when this version has it. Returns the command and whether ``--ephemeral`` is in it."""
    base = cortex_command() + ["serve"]
    help_text = subprocess.run(base + ["--help"], capture_output=True, text=True, env=server_env(), cwd=ROOT).stdout
    ephemeral = "--ephemeral" in help_text
    return base + ["--host", "127.0.0.1", "--port", "0", "--org", org] + (["--ephemeral"] if ephemeral else []), ephemeral


def node_host_command(org: str = "bench") -> list[str]:
    return [node_binary(), str(BENCH / "node_runner_host.js"), "--host", "127.0.0.1", "--port", "0", "--org", org]


class ServerProcess:
    """A server subprocess; ``stop`` always ends it (also as a context manager)."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.command = command
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self.info: dict[str, Any] = {}
        self.startup_s = 0.0

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=server_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        # Both pipes are drained for the whole run so that a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(self.proc.stdout, lines.put), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr_tail.append), daemon=True).start()
        try:
            first = lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            raise BenchError(f"{self.name} printed nothing within {STARTUP_TIMEOUT_S:.0f} s{self.diagnostics()}") from None
        if first is None:
            raise BenchError(f"{self.name} ended before printing its address{self.diagnostics()}")
        try:
            info = json.loads(first)
        except ValueError:
            raise BenchError(f"{self.name}'s first line is not JSON: {first.strip()!r}{self.diagnostics()}") from None
        missing = [k for k in ("url", "apiKey", "apiSecret") if not isinstance(info.get(k), str)]
        if missing:
            raise BenchError(f"{self.name}'s first line lacks {missing}: {first.strip()!r}")
        self.startup_s = time.perf_counter() - started
        self.info = info
        return info

    @staticmethod
    def _drain(stream: Any, put: Callable[[Any], None]) -> None:
        for line in stream:
            put(line)
        put(None)

    def diagnostics(self) -> str:
        if self.proc is None:
            return ""
        rc = self.proc.poll()
        state = "running" if rc is None else f"exited with {rc}"
        tail = "".join(line for line in list(self.stderr_tail) if line)
        return f"\n  {self.name} {state}" + (f"; stderr tail:\n{tail}" if tail else "; no stderr")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    # ---- /proc ----------------------------------------------------------------------

    def family(self) -> list[int]:
        """The server's pid and its live children's (``serve`` runs scripts in engine processes)."""
        pids = [self.pid]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.pid:
                pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the server process (all its threads), its live
        children and the children it has reaped."""
        total = 0
        for pid in self.family():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a child that just ended
            total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
            if pid == self.pid:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime of reaped children
        return total / os.sysconf("SC_CLK_TCK")

    def rss_kb(self) -> int:
        """VmRSS of the server process plus its live children's."""
        total = None
        for pid in self.family():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                if line.startswith("VmRSS:"):
                    total = (total or 0) + int(line.split()[1])
        if total is None:
            raise BenchError(f"no VmRSS for pid {self.pid}")
        return total


# ---- the load client -------------------------------------------------------------------


@dataclass
class Load:
    """One load_client.js run (latencies in ms) and the server's CPU time during it."""

    requests: int
    concurrency: int
    warmup: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    client_cpu_ms: float  # per measured request
    server_cpu_ms: float  # per request, warm-up included (it is the same request)
    stopped_early: bool  # the server's RSS passed max_rss_kb; `requests` were completed


def run_load(
    server: ServerProcess,
    *,
    concurrency: int,
    requests: int,
    warmup: int,
    method: str = "POST",
    path: str = RUNNER_PATH,
    body: Any = None,
    expect: Any = 1,
    max_rss_kb: int | None = None,
) -> Load:
    """Drive ``server`` with load_client.js; every response must be 200 with data ``expect``.
    With ``max_rss_kb``, the client stops early once the server's VmRSS passes it."""
    if body is None and method == "POST":
        body = {"script": "return 1"}
    info = server.info
    command = [
        node_binary(),
        str(BENCH / "load_client.js"),
        "--url", info["url"],
        "--key", info["apiKey"],
        "--secret", info["apiSecret"],
        "--method", method,
        "--path", path,
        "--body", json.dumps(body if body is not None else {}),
        "--concurrency", str(concurrency),
        "--requests", str(requests),
        "--warmup", str(warmup),
        "--expect", json.dumps(expect),
    ]  # fmt: skip
    if max_rss_kb:
        command += ["--watch-pid", str(server.pid), "--max-rss-kb", str(max_rss_kb)]
    cpu_before = server.cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    cpu = server.cpu_seconds() - cpu_before
    if done.returncode != 0:
        raise BenchError(
            f"load client against {server.name} failed (exit {done.returncode}): "
            f"{done.stderr.strip()[:3000]}{server.diagnostics()}"
        )
    out = json.loads(done.stdout)
    return Load(
        requests=out["requests"],
        concurrency=out["concurrency"],
        warmup=out["warmup"],
        seconds=out["seconds"],
        rps=out["rps"],
        p50_ms=out["p50Ms"],
        p99_ms=out["p99Ms"],
        mean_ms=out["meanMs"],
        client_cpu_ms=out["clientCpuMsPerRequest"],
        server_cpu_ms=cpu * 1000 / (out["requests"] + warmup),
        stopped_early=bool(out.get("stoppedEarly")),
    )


# ---- single signed requests ------------------------------------------------------------


def sign(path: str, method: str, timestamp: str, key: str, secret: str) -> str:
    """The signature of the contract: hex HMAC-SHA256 of ``path;METHOD;timestamp``, keyed by key + secret."""
    message = f"{path};{method.upper()};{timestamp}"
    return hmac.new((key + secret).encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_request(server: ServerProcess, method: str, path: str, body: Any = None, timeout_s: float = 60.0) -> tuple[int, Any]:
    """One signed request; returns (HTTP status, parsed JSON body or the raw text)."""
    info = server.info
    timestamp = str(int(time.time() * 1000))
    headers = {
        "medable-client-key": info["apiKey"],
        "medable-client-signature": sign(path, method, timestamp, info["apiKey"], info["apiSecret"]),
        "medable-client-nonce": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16)),
        "medable-client-timestamp": timestamp,
    }
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    request = urllib.request.Request(info["url"].rstrip("/") + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError as error:
        raise BenchError(f"{method} {path} to {server.name} failed: {error!r}{server.diagnostics()}") from error
    text = raw.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def run_script(server: ServerProcess, script: str) -> Any:
    """The value of ``script`` through the runner; a fault or another answer raises BenchError."""
    status, payload = signed_request(server, "POST", RUNNER_PATH, {"script": script})
    if status != 200 or not isinstance(payload, dict) or payload.get("object") != "result":
        raise BenchError(f"runner script {script!r} on {server.name}: HTTP {status} {json.dumps(payload)[:1000]}")
    return payload.get("data")
