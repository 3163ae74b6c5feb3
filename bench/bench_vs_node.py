"""The script runner over HTTP: cortex-runtime serve vs a minimal Node http + vm host.

Run from the repository root:

    .venv/bin/python bench/bench_vs_node.py            # full, about a minute at today's speed
    .venv/bin/python bench/bench_vs_node.py --quick    # a few seconds

Both servers host the same signed contract (``POST /{org}/v2/sys/script_runner``,
HMAC-signed, nonces refused twice, ``{"object":"result","data":...}``); the Node one is
bench/node_runner_host.js, a fresh ``vm`` context per request with no store, object layer
or metering, as a floor for what a host of this contract costs. Node's host runs first,
then ours (``cortex-runtime serve --port 0 --org bench``, ``--ephemeral`` when available),
each driven by bench/load_client.js at 1 and 16 requests in flight: a warm-up, then a
fixed count of freshly signed ``{"script": "return 1"}`` requests. Every response must be
200 with data 1, else the bench aborts (exit 1). Servers are always stopped at the end.

Printed: req/s, p50 and p99 per server and N, the CPU each side spent per request (the
client shares the machine's cores with the server), and the ratios ours/Node with their
targets: req/s at 16 >= 0.5, p99 at 16 <= 3, p50 at 1 <= 2, plus the ratio of server CPU
per request. Targets are reported, not asserted; nothing is asserted about absolute times.
The servers run one after the other, so other load on the machine skews the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
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


def measure(server: ServerProcess, counts: dict[int, int], warmup: int) -> dict[int, Load]:
    server.start()
    print(f"{server.name}: pid {server.pid}, {server.info['url']}, ready after {server.startup_s:.2f} s", flush=True)
    results = {}
    for clients in LEVELS:
        results[clients] = run_load(server, concurrency=clients, requests=counts[clients], warmup=warmup)
        r = results[clients]
        print(f"  N={clients:<2} {r.requests} requests in {r.seconds:.2f} s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a few seconds)")
    args = parser.parse_args(argv)
    counts, warmup = ({1: 150, 16: 200}, 20) if args.quick else ({1: 2000, 16: 3000}, 200)

    node_version = subprocess.run([node_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    ours_command, ephemeral = our_server_command()
    print("script runner over HTTP: cortex-runtime serve vs node_runner_host.js -- script 'return 1'")
    print(
        f"Python {platform.python_version()}, Node {node_version}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs shared by client and server"
    )
    print(
        f"mode: {'quick' if args.quick else 'full'}; per level {warmup} warm-up then "
        + ", ".join(f"N={n}: {c}" for n, c in counts.items())
        + f" requests; ours {'with' if ephemeral else 'without'} --ephemeral"
    )

    node = ServerProcess("node host", node_host_command())
    ours = ServerProcess("cortex-runtime", ours_command)
    try:
        with node:
            node_results = measure(node, counts, warmup)
        with ours:
            our_results = measure(ours, counts, warmup)
    except BenchError as error:
        print(f"\nBENCHMARK ABORTED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        node.stop()
        ours.stop()

    print("\nper server (latencies ms, nearest rank; CPU ms per request)")
    print(f"  {'server':<15} {'N':>3} {'requests':>8} {'req/s':>9} {'p50':>8} {'p99':>8} {'server CPU':>10} {'client CPU':>10}")
    for name, results in (("node host", node_results), ("cortex-runtime", our_results)):
        for clients in LEVELS:
            r = results[clients]
            print(
                f"  {name:<15} {clients:>3} {r.requests:>8} {r.rps:>9.1f} {r.p50_ms:>8.3f} {r.p99_ms:>8.3f}"
                f" {r.server_cpu_ms:>10.3f} {r.client_cpu_ms:>10.3f}"
            )

    print("\nours vs Node (ratios ours / Node)")
    print(
        f"  {'N':>3} {'ours req/s':>10} {'Node req/s':>10} {'ours p50':>9} {'Node p50':>9} {'ours p99':>9} {'Node p99':>9}"
        "   " + " ".join(f"{name:>8} {'':<24}" for name in ("req/s", "p99", "p50")) + f"{'CPU/req':>8}"
    )
    for clients in LEVELS:
        o, n = our_results[clients], node_results[clients]
        ratios = {"req/s": o.rps / n.rps, "p99": o.p99_ms / n.p99_ms, "p50": o.p50_ms / n.p50_ms}
        cells = []
        for key, ratio in ratios.items():
            target = TARGETS[key]
            note = f"(target {target.label}: {'met' if target.met(ratio) else 'MISSED'})" if target.clients == clients else ""
            cells.append(f"{ratio:>7.2f}x {note:<24}")
        print(
            f"  {clients:>3} {o.rps:>10.1f} {n.rps:>10.1f} {o.p50_ms:>9.3f} {n.p50_ms:>9.3f} {o.p99_ms:>9.3f} {n.p99_ms:>9.3f}"
            f"   " + " ".join(cells) + f"{o.server_cpu_ms / n.server_cpu_ms:>7.2f}x"
        )
    print("  (CPU/req: server CPU time per request, ours / Node; less sensitive than req/s to other load on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
