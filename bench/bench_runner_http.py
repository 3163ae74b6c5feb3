"""HTTP script-runner benchmark: ``POST /sys/script_runner`` over loopback vs ``Runtime.run``.

Run from the repository root:

    .venv/bin/python bench/bench_runner_http.py            # full, ~35 s
    .venv/bin/python bench/bench_runner_http.py --quick    # ~6 s

One run measures, side by side, the script ``return 1``:

* over HTTP: the server is started as a subprocess (``cortex-runtime serve --port 0 --ephemeral``, via bench/harness.py,
  uvicorn, one process), its first stdout line gives the URL and the signing app; after a
  warm-up, N concurrent clients (N in 1, 4, 16; one ``httpx.AsyncClient`` with N keep-alive
  connections, N asyncio workers sharing a fixed request count) send signed requests.
  Reported: requests per second (count / wall time) and p50/p99 latency per request.
* in process, single thread: ``Runtime().run`` of the same script in a fresh org as its
  administrator, with ``drain_events`` off as in the server (which drains after-triggers
  in a worker thread). The server calls ``sandbox.warm()`` after each request to refill
  the pre-warmed context pool, so three variants are timed: the run alone with the pool
  refilled before it (refill untimed), run + refill timed together (the server's work per
  request), and the run with no refill at all (each run builds its context inline).
  Reported: runs per second (runs / summed run time) and p50/p99 per run.

Then the ratios HTTP p50 / in-process p50 and in-process rps / HTTP rps for every pair.

Every HTTP response must be ``200 {"object":"result","data":1}`` and every in-process run
must return 1; anything else aborts with the details and a non-zero exit. The server is
always terminated at the end. Latencies are time.perf_counter; nothing is asserted about
absolute times. Client and server share the machine (and its CPUs), so the HTTP numbers
include the client's own cost. Both sides use the embedded store (``MONGODB_URI`` is
removed from the server's environment).

"signed before" is how many signed requests the server had already accepted when a level
started; it keeps each (signature, nonce) for 15 minutes to refuse replays, so it is the
size of its replay store. "p50 first/last 10%" compares the p50 of the first and last
tenth of a level's requests (completion order) to show drift within the level.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import secrets
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from cortex_runtime.runtime import Runtime  # noqa: E402
from cortex_runtime.server.auth import sign  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from harness import BenchError, ServerProcess, our_server_command  # noqa: E402

clock = time.perf_counter

SCRIPT = "return 1"
ENDPOINT = "/sys/script_runner"
EXPECTED = {"object": "result", "data": 1}
LEVELS = (1, 4, 16)
REQUEST_TIMEOUT_S = 30.0


# ---- statistics ------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Summary:
    label: str
    count: int
    seconds: float  # wall time (HTTP) or summed run time (in process)
    p50: float  # seconds
    p99: float

    @property
    def rps(self) -> float:
        return self.count / self.seconds

    @classmethod
    def of(cls, label: str, latencies: list[float], seconds: float) -> Summary:
        return cls(label, len(latencies), seconds, percentile(latencies, 50), percentile(latencies, 99))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


# ---- HTTP clients ----------------------------------------------------------------------


class Signer:
    """Signed-request headers for the script runner; every nonce is new."""

    def __init__(self, key: str, secret: str) -> None:
        self.key = key
        self.secret = secret
        self.used: set[str] = set()

    @property
    def sent(self) -> int:
        return len(self.used)

    def headers(self) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        nonce = "".join(secrets.choice(string.ascii_letters) for _ in range(16))
        while nonce in self.used:
            nonce = "".join(secrets.choice(string.ascii_letters) for _ in range(16))
        self.used.add(nonce)
        return {
            "medable-client-key": self.key,
            "medable-client-signature": sign(ENDPOINT, "POST", timestamp, self.key, self.secret),
            "medable-client-nonce": nonce,
            "medable-client-timestamp": timestamp,
            "content-type": "application/json",
        }


class HttpBench:
    def __init__(self, server: ServerProcess, info: dict[str, Any]) -> None:
        self.server = server
        self.url = info["url"].rstrip("/") + ENDPOINT
        self.signer = Signer(info["apiKey"], info["apiSecret"])
        self.body = json.dumps({"script": SCRIPT}).encode()

    async def one(self, client: httpx.AsyncClient) -> float:
        headers = self.signer.headers()
        started = clock()
        try:
            response = await client.post(self.url, content=self.body, headers=headers)
        except httpx.HTTPError as exc:
            raise BenchError(f"request {self.signer.sent} failed: {exc!r}{self.server.diagnostics()}") from exc
        elapsed = clock() - started
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code != 200 or payload != EXPECTED:
            raise BenchError(
                f"request {self.signer.sent}: expected HTTP 200 {json.dumps(EXPECTED)}, "
                f"got HTTP {response.status_code} {response.text[:500]!r}{self.server.diagnostics()}"
            )
        return elapsed

    async def batch(self, client: httpx.AsyncClient, clients: int, count: int, out: list[float]) -> None:
        """``count`` requests from ``clients`` concurrent workers; latencies in completion order."""
        issued = 0

        async def worker() -> None:
            nonlocal issued
            while issued < count:
                issued += 1
                out.append(await self.one(client))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(clients):
                    group.create_task(worker())
        except BaseExceptionGroup as group_error:
            first = group_error.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None

    async def warm_up(self, count: int) -> None:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
            await self.batch(client, 1, count, [])

    async def level(self, clients: int, count: int) -> tuple[Summary, int, float, float]:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
            await self.batch(client, clients, 2 * clients, [])  # open the N connections, unmeasured
            signed_before = self.signer.sent
            latencies: list[float] = []
            gc.collect()
            started = clock()
            await self.batch(client, clients, count, latencies)
            wall = clock() - started
        tenth = max(1, len(latencies) // 10)
        return (
            Summary.of(f"N={clients}", latencies, wall),
            signed_before,
            percentile(latencies[:tenth], 50),
            percentile(latencies[-tenth:], 50),
        )


# ---- in process ------------------------------------------------------------------------


def in_process(runs: int, warm: int) -> list[Summary]:
    rt = Runtime()
    rt.drain_events = False  # as in the server, which drains after-triggers in a worker thread
    org, admin = rt.orgs.create("bench")

    def once() -> None:
        result = rt.run(SCRIPT, org=org, principal=admin)
        if not result.ok or result.value != 1:
            raise BenchError(f"in-process run: expected 1, got ok={result.ok} value={result.value!r} fault={result.fault!r}")

    for _ in range(warm):
        rt.sandbox.warm()
        once()

    def refilled_untimed() -> float:
        rt.sandbox.warm()
        started = clock()
        once()
        return clock() - started

    def run_and_refill() -> float:
        started = clock()
        once()
        rt.sandbox.warm()
        return clock() - started

    def no_refill() -> float:
        started = clock()
        once()
        return clock() - started

    variants = [
        ("run, pool refilled before (refill untimed)", refilled_untimed, rt.sandbox.warm),
        ("run + refill (both timed; server's work)", run_and_refill, rt.sandbox.warm),
        ("run, no refill (context built in the run)", no_refill, once),  # `once` empties the pool
    ]
    summaries = []
    for label, step, prepare in variants:
        prepare()
        gc.collect()
        latencies = [step() for _ in range(runs)]
        summaries.append(Summary.of(label, latencies, sum(latencies)))
    return summaries


# ---- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and runs (a few seconds)")
    args = parser.parse_args(argv)

    if args.quick:
        http_counts = {1: 30, 4: 60, 16: 60}
        warm_requests, proc_runs, proc_warm = 10, 100, 10
    else:
        http_counts = {1: 200, 4: 400, 16: 400}
        warm_requests, proc_runs, proc_warm = 20, 500, 20

    print(f"cortex_runtime script runner over HTTP vs in process -- script {SCRIPT!r}")
    print(
        f"{platform.python_implementation()} {platform.python_version()} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs (client and server share them); httpx {httpx.__version__}"
    )
    print(
        f"mode: {'quick' if args.quick else 'full'}; HTTP requests per level "
        + ", ".join(f"N={n}: {c}" for n, c in http_counts.items())
        + f" after {warm_requests} warm-up; in process {proc_runs} runs per variant after {proc_warm} warm-up"
    )
    print("latencies: time.perf_counter, p50/p99 nearest rank")

    server = ServerProcess("cortex-runtime", our_server_command()[0])
    try:
        info = server.start()
        assert server.proc is not None
        print(f"server: pid {server.proc.pid}, {info['url']}, first line after {server.startup_s:.2f} s")
        http = HttpBench(server, info)
        asyncio.run(http.warm_up(warm_requests))

        proc = in_process(proc_runs, proc_warm)

        levels = []
        for clients in LEVELS:
            levels.append(asyncio.run(http.level(clients, http_counts[clients])))
    except BenchError as error:
        print(f"\nBENCHMARK ABORTED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        rc = server.stop()
        if server.proc is not None:
            print(f"server stopped (exit status {rc})", flush=True)

    print("\nIn process (Runtime.run, one thread)")
    print(f"  {'variant':<44} {'runs':>5} {'runs/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for s in proc:
        print(f"  {s.label:<44} {s.count:>5} {s.rps:>9.1f} {ms(s.p50):>8} {ms(s.p99):>8}")

    print(f"\nHTTP POST {ENDPOINT} on loopback (httpx.AsyncClient, keep-alive, asyncio)")
    print(f"  {'clients':>7} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   {'p50 first/last 10%':>19} {'signed before':>13}")
    for s, signed_before, first_p50, last_p50 in levels:
        drift = f"{ms(first_p50)} / {ms(last_p50)}"
        clients = s.label.removeprefix("N=")
        print(f"  {clients:>7} {s.count:>8} {s.rps:>9.1f} {ms(s.p50):>8} {ms(s.p99):>8}   {drift:>19} {signed_before:>13}")

    short = ["refilled", "run+refill", "no refill"]
    print("\nRatios against each in-process variant (refilled = refill untimed; run+refill = both timed)")
    header = "".join(f"{name:>11}" for name in short)
    print(f"  {'clients':>7}   HTTP p50 / in-process p50{'':>8}  in-process rps / HTTP rps")
    print(f"  {'':>7} {header}   {header}")
    for s, *_ in levels:
        p50_ratios = "".join(f"{s.p50 / p.p50:>10.2f}x" for p in proc)
        rps_ratios = "".join(f"{p.rps / s.rps:>10.2f}x" for p in proc)
        print(f"  {s.label.removeprefix('N='):>7} {p50_ratios}   {rps_ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
