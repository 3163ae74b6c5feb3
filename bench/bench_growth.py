"""Does cortex-runtime serve slow down or grow as it serves? p50s fresh vs after many requests.

Run from the repository root:

    .venv/bin/python bench/bench_growth.py            # 50,000 requests in between (minutes)
    .venv/bin/python bench/bench_growth.py --quick    # 5,000 in between

On one fresh server (``cortex-runtime serve --port 0 --org bench``, ``--ephemeral`` when
available, no MONGODB_URI) it deploys a custom route ``c_ping`` (``return 1``) through the
runner, then measures serially (one request in flight, bench/load_client.js) the p50 of a
runner request (``POST /sys/script_runner {"script": "return 1"}``) and of the route
(``GET /routes/c_ping``); sends 50,000 signed runner requests, 16 in flight, each of which
leaves a log record and a remembered nonce; and measures both p50s again. Printed: both
p50 pairs with the ratio after/fresh, then starts a second, fresh server and measures it and the loaded
one in turns (three rounds): the target (<= 1.2, reported, not asserted) is on the median of those paired
ratios, since the machine's speed drifts between the first and the last measurement. Also the server's
RSS (VmRSS, with its engine processes) fresh and after, and the number of log records it keeps when
``org.objects.logs.find().count()`` works. Every response must be 200 with data 1, else
the bench aborts (exit 1). The server is always stopped at the end.

A guard for the machine: the load stops early once the server's RSS passes
``--max-rss-mib`` (default a quarter of the machine's memory; 0 for no limit), and the
"after" numbers are then taken at the count reached, which the output says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import RUNNER_PATH, BenchError, Load, ServerProcess, mem_total_kb, our_server_command, run_load, run_script, signed_request

ROUTE_PATH = "/routes/c_ping"
DEPLOY_ROUTE = (
    "return org.objects.scripts.insertOne({label: 'Ping', name: 'c_ping', type: 'route', script: 'return 1', "
    "configuration: {method: 'get', path: 'c_ping'}}).execute()"
)
COUNT_LOGS = "return org.objects.logs.find().count()"
SERIAL_REQUESTS = 500
SERIAL_WARMUP = 50
LOAD_CLIENTS = 16
LOAD_CHUNKS = 10  # the load is sent in chunks to show req/s and RSS as the server grows
TARGET = 1.2
PAIRED_ROUNDS = 3


@dataclass
class Snapshot:
    """The serial p50s and the server's state at one point."""

    runner: Load
    route: Load
    rss_kb: int
    logs: int | None
    logs_note: str


def log_count(server: ServerProcess) -> tuple[int | None, str]:
    """The log records the org keeps, or None and why not (the logs collection may be missing)."""
    status, payload = signed_request(server, "POST", RUNNER_PATH, {"script": COUNT_LOGS})
    if status == 200 and isinstance(payload, dict) and isinstance(payload.get("data"), int):
        return payload["data"], ""
    what = payload.get("errCode") if isinstance(payload, dict) and payload.get("errCode") else str(payload)[:200]
    return None, f"{COUNT_LOGS!r} answered HTTP {status} {what}"


def snapshot(server: ServerProcess, label: str) -> Snapshot:
    runner = run_load(server, concurrency=1, requests=SERIAL_REQUESTS, warmup=SERIAL_WARMUP)
    route = run_load(server, concurrency=1, requests=SERIAL_REQUESTS, warmup=SERIAL_WARMUP, method="GET", path=ROUTE_PATH)
    rss = server.rss_kb()
    logs, note = log_count(server)
    print(
        f"{label}: runner p50 {runner.p50_ms:.3f} ms, route p50 {route.p50_ms:.3f} ms, RSS {rss / 1024:.1f} MiB, "
        f"log records {logs if logs is not None else 'n/a'}",
        flush=True,
    )
    return Snapshot(runner, route, rss, logs, note)


def start_with_route(server: ServerProcess) -> int:
    """Start ``server`` and deploy the route; returns its RSS (KiB) before any script ran."""
    server.start()
    print(f"{server.name}: pid {server.pid}, {server.info['url']}, ready after {server.startup_s:.2f} s", flush=True)
    rss = server.rss_kb()
    run_script(server, DEPLOY_ROUTE)
    status, payload = signed_request(server, "GET", ROUTE_PATH)
    if status != 200 or payload != {"object": "result", "data": 1}:
        raise BenchError(f"GET {ROUTE_PATH} after deploying it on {server.name}: HTTP {status} {payload!r}")
    return rss


def paired(loaded: ServerProcess, twin: ServerProcess) -> list[tuple[float, float]]:
    """Rounds of serial p50s, the loaded server and a fresh twin one after the other, so that the
    machine's speed at the time is the same on both sides: (runner, route) ratios loaded/twin per round."""
    ratios = []
    for number in range(1, PAIRED_ROUNDS + 1):
        a = (run_load(loaded, concurrency=1, requests=SERIAL_REQUESTS, warmup=SERIAL_WARMUP),
             run_load(loaded, concurrency=1, requests=SERIAL_REQUESTS, warmup=SERIAL_WARMUP, method="GET", path=ROUTE_PATH))
        b = (run_load(twin, concurrency=1, requests=SERIAL_REQUESTS, warmup=SERIAL_WARMUP),
             run_load(twin, concurrency=1, requests=SERIAL_REQUESTS, warmup=SERIAL_WARMUP, method="GET", path=ROUTE_PATH))
        ratios.append((a[0].p50_ms / b[0].p50_ms, a[1].p50_ms / b[1].p50_ms))
        print(
            f"  paired round {number}: runner p50 {a[0].p50_ms:.3f} vs fresh twin {b[0].p50_ms:.3f} ms, "
            f"route p50 {a[1].p50_ms:.3f} vs {b[1].p50_ms:.3f} ms",
            flush=True,
        )
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 requests in between instead of 50,000")
    parser.add_argument(
        "--max-rss-mib", type=int, default=mem_total_kb() // 4 // 1024, help="stop the load once the server's RSS passes this (0: no limit)"
    )
    args = parser.parse_args(argv)
    total = 5_000 if args.quick else 50_000
    max_rss_kb = args.max_rss_mib * 1024 or None

    command, ephemeral = our_server_command()
    print("cortex-runtime serve: serial p50s fresh and after many signed runner requests")
    print(f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs shared by client and server")
    print(
        f"mode: {'quick' if args.quick else 'full'}; p50s over {SERIAL_REQUESTS} serial requests after {SERIAL_WARMUP} "
        f"warm-up; {total:,} runner requests in between, {LOAD_CLIENTS} in flight; "
        f"{'with' if ephemeral else 'without'} --ephemeral; load stops at server RSS "
        + (f"{args.max_rss_mib:,} MiB" if max_rss_kb else "(no limit)")
    )

    server = ServerProcess("cortex-runtime", command)
    try:
        start_rss = start_with_route(server)

        fresh = snapshot(server, "fresh")

        chunk = total // LOAD_CHUNKS
        sent = 0
        load_seconds = 0.0
        started = time.perf_counter()
        stopped_at_rss: int | None = None
        while sent < total and stopped_at_rss is None:
            count = min(chunk, total - sent)
            load = run_load(server, concurrency=LOAD_CLIENTS, requests=count, warmup=0, max_rss_kb=max_rss_kb)
            sent += load.requests
            if load.stopped_early:
                stopped_at_rss = server.rss_kb()
            load_seconds += load.seconds
            print(
                f"  load {sent:>6,}/{total:,}: {load.rps:7.1f} req/s, p50 {load.p50_ms:8.3f} ms, "
                f"p99 {load.p99_ms:8.3f} ms, RSS {server.rss_kb() / 1024:.1f} MiB",
                flush=True,
            )
        wall = time.perf_counter() - started

        after = snapshot(server, "after")
        # A fresh server now, measured in turns with the loaded one: the serial p50s above were taken
        # minutes apart, and this machine's speed drifts by more than the target allows.
        twin = ServerProcess("fresh twin", command)
        try:
            start_with_route(twin)
            ratios = paired(server, twin)
        finally:
            twin.stop()
    except BenchError as error:
        print(f"\nBENCHMARK ABORTED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        rc = server.stop()
        if server.proc is not None:
            print(f"server stopped (exit status {rc})", flush=True)

    if stopped_at_rss is not None:
        print(
            f"\nLOAD STOPPED EARLY after {sent:,} of {total:,} requests: server RSS {stopped_at_rss / 1024:,.0f} MiB "
            f"passed --max-rss-mib {args.max_rss_mib:,}; 'after' is after {sent:,} requests"
        )
    print(f"\n{sent:,} runner requests, {LOAD_CLIENTS} in flight: {sent / load_seconds:.1f} req/s ({wall:.0f} s wall)")
    print(f"\n  {'p50 ms':<18} {'fresh':>9} {'after':>9} {'after/fresh':>12}   {'paired: after / fresh twin, median of rounds':<44}")
    for column, (name, f, a) in enumerate((("runner return 1", fresh.runner, after.runner), ("GET routes/c_ping", fresh.route, after.route))):
        per_round = sorted(r[column] for r in ratios)
        ratio = per_round[len(per_round) // 2]
        verdict = "met" if ratio <= TARGET else "MISSED"
        rounds = " ".join(f"{r[column]:.2f}" for r in ratios)
        print(
            f"  {name:<18} {f.p50_ms:>9.3f} {a.p50_ms:>9.3f} {a.p50_ms / f.p50_ms:>11.2f}x   "
            f"{ratio:.2f}x [{rounds}]  (target <= {TARGET}: {verdict})"
        )
    print(f"\n  {'':<18} {'fresh':>9} {'after':>9}")
    print(f"  {'RSS MiB':<18} {fresh.rss_kb / 1024:>9.1f} {after.rss_kb / 1024:>9.1f}   (at start, before any script: {start_rss / 1024:.1f})")
    if fresh.logs is not None and after.logs is not None:
        print(f"  {'log records':<18} {fresh.logs:>9,} {after.logs:>9,}")
    else:
        print(f"  log records: n/a ({after.logs_note or fresh.logs_note})")
    # What the records the server must keep cost by themselves: a process that only stores as many
    # log records and nonces as the requests in between left behind.
    reference = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("store_reference.py")), str(sent)], capture_output=True, text=True, check=True
    )
    kept = json.loads(reference.stdout)
    grown_kb = after.rss_kb - fresh.rss_kb
    print(
        f"\n  server RSS growth {grown_kb / 1024:.1f} MiB over {sent:,} requests; storing {sent:,} log records and nonces "
        f"alone grows a process by {kept['rssGrowthKb'] / 1024:.1f} MiB: server/records {grown_kb / max(1, kept['rssGrowthKb']):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
