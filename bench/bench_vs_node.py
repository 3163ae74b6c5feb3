"""The script runner over HTTP: cortex-runtime serve vs a minimal Node http + vm host.

Run from the repository root:

    .venv/bin/python bench/bench_vs_node.py            # full, about a minute at today's speed
    .venv/bin/python bench/bench_vs_node.py --quick    # a few seconds

Both servers host the same signed contract (``POST /{org}/v2/sys/script_runner``,
HMAC-signed, nonces refused twice, ``{"object":"result","data":...}``); the Node one is
bench/node_runner_host.js, a fresh ``vm`` context per request with no store, object layer
or metering, as a floor for what a host of this contract costs. Node's host and ours
(``cortex-runtime serve --port 0 --org bench``, ``--ephemeral`` when available) are each
driven by bench/load_client.js at 1 and 16 requests in flight: a warm-up, then a
fixed count of freshly signed ``{"script": "return 1"}`` requests. Every response must be
200 with data 1, else the bench aborts (exit 1). Servers are always stopped at the end.

Both servers stay up for the whole bench and are measured in rounds (4 by default), at each
level one after the other, Node first in odd rounds and ours first in even ones, so that a change
in the machine's speed (other tenants, frequency) affects both sides of a ratio alike and a drift
within a round favours neither; each figure is the median over the rounds, and each ratio the
median of the per-round ratios.

Printed: req/s, p50 and p99 per server and N, the CPU each side spent per request (the
client shares the machine's cores with the server; our server's CPU includes its engine
processes, which ``serve`` runs scripts in), and the ratios ours/Node with their
targets: req/s at 16 >= 0.5, p99 at 16 <= 3, p50 at 1 <= 2, plus the ratio of server CPU
per request. Targets are reported, not asserted; nothing is asserted about absolute times.
The servers are measured one after the other within each round; the per-round ratios show how
much other load on the machine moved them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness import BenchError, Load, ServerProcess, node_binary, node_host_command, our_server_command, run_load

LEVELS = (1, 16)


@dataclass(frozen=True)
class Target:
    """A goal for one ratio at one concurrency."""

    clients: int
    label: str
    met: Callable[[float], bool]


TARGETS = {
    "req/s": Target(16, ">= 0.5", lambda r: r >= 0.5),
    "p99": Target(16, "<= 3", lambda r: r <= 3),
    "p50": Target(1, "<= 2", lambda r: r <= 2),
}


def measure_round(servers: list[ServerProcess], counts: dict[int, int], warmup: int) -> dict[str, dict[int, Load]]:
    """One round: each level, each server in turn, in the order given."""
    results: dict[str, dict[int, Load]] = {server.name: {} for server in servers}
    for clients in LEVELS:
        for server in servers:
            results[server.name][clients] = run_load(server, concurrency=clients, requests=counts[clients], warmup=warmup)
    return results


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass
class Summary:
    """The medians over rounds of one server at one level."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    client_cpu_ms: float


def summarise(loads: list[Load]) -> Summary:
    return Summary(
        requests=sum(load.requests for load in loads),
        rps=median([load.rps for load in loads]),
        p50_ms=median([load.p50_ms for load in loads]),
        p99_ms=median([load.p99_ms for load in loads]),
        server_cpu_ms=median([load.server_cpu_ms for load in loads]),
        client_cpu_ms=median([load.client_cpu_ms for load in loads]),
    )


RATIOS: dict[str, Callable[[Load, Load], float]] = {
    "req/s": lambda o, n: o.rps / n.rps,
    "p99": lambda o, n: o.p99_ms / n.p99_ms,
    "p50": lambda o, n: o.p50_ms / n.p50_ms,
    "CPU/req": lambda o, n: o.server_cpu_ms / n.server_cpu_ms,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a few seconds)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of measurements (default 4, 1 with --quick)")
    args = parser.parse_args(argv)
    counts, warmup = ({1: 150, 16: 200}, 20) if args.quick else ({1: 1000, 16: 1500}, 150)
    args.rounds = max(1, args.rounds or (1 if args.quick else 4))

    node_version = subprocess.run([node_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    ours_command, ephemeral = our_server_command()
    print("script runner over HTTP: cortex-runtime serve vs node_runner_host.js -- script 'return 1'")
    print(
        f"Python {platform.python_version()}, Node {node_version}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs shared by client and server"
    )
    print(
        f"mode: {'quick' if args.quick else 'full'}; {args.rounds} round(s), in each per server and level {warmup} warm-up then "
        + ", ".join(f"N={n}: {c}" for n, c in counts.items())
        + f" requests; ours {'with' if ephemeral else 'without'} --ephemeral"
    )

    node = ServerProcess("node host", node_host_command())
    ours = ServerProcess("cortex-runtime", ours_command)
    rounds: list[dict[str, dict[int, Load]]] = []
    try:
        for server in (node, ours):
            server.start()
            print(f"{server.name}: pid {server.pid}, {server.info['url']}, ready after {server.startup_s:.2f} s", flush=True)
        for number in range(1, args.rounds + 1):
            started = time.perf_counter()
            order = [node, ours] if number % 2 else [ours, node]
            rounds.append(measure_round(order, counts, warmup))
            print(f"  round {number}/{args.rounds} in {time.perf_counter() - started:.1f} s", flush=True)
    except BenchError as error:
        print(f"\nBENCHMARK ABORTED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        node.stop()
        ours.stop()

    summary = {
        server.name: {clients: summarise([r[server.name][clients] for r in rounds]) for clients in LEVELS}
        for server in (node, ours)
    }
    print(f"\nper server: medians of {len(rounds)} rounds (latencies ms, nearest rank; CPU ms per request)")
    print(f"  {'server':<15} {'N':>3} {'requests':>8} {'req/s':>9} {'p50':>8} {'p99':>8} {'server CPU':>10} {'client CPU':>10}")
    for name, results in summary.items():
        for clients in LEVELS:
            r = results[clients]
            print(
                f"  {name:<15} {clients:>3} {r.requests:>8} {r.rps:>9.1f} {r.p50_ms:>8.3f} {r.p99_ms:>8.3f}"
                f" {r.server_cpu_ms:>10.3f} {r.client_cpu_ms:>10.3f}"
            )

    print("\nours vs Node (ratios ours / Node: median of the per-round ratios, each round's in brackets)")
    print(f"  {'N':>3} " + " ".join(f"{key:>8} {'':<32}" for key in RATIOS))
    for clients in LEVELS:
        cells = []
        for key, ratio_of in RATIOS.items():
            per_round = [ratio_of(r[ours.name][clients], r[node.name][clients]) for r in rounds]
            ratio = median(per_round)
            target = TARGETS.get(key)
            note = f"(target {target.label}: {'met' if target.met(ratio) else 'MISSED'})" if target and target.clients == clients else ""
            spread = "[" + " ".join(f"{x:.2f}" for x in per_round) + "]"
            cells.append(f"{ratio:>7.2f}x {note:<24}{spread:<8}")
        print(f"  {clients:>3} " + " ".join(cells))
    print("  (CPU/req: server CPU time per request, ours / Node; less sensitive than req/s to other load on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
