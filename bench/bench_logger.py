"""A logger call vs a console call, per operation, against a baseline measured in the same run.

Run from the repository root:

    .venv/bin/python bench/bench_logger.py            # N = 2,000 calls per run, 7 trials
    .venv/bin/python bench/bench_logger.py --quick    # N = 300, 3 trials

One Runtime on the embedded (in-memory) store. Each trial runs, as an administrator, three
route scripts of the same shape: a loop of N iterations doing nothing (the baseline), the
same loop calling ``console.log('x', i)`` and the same loop calling ``logger.info('x', i)``
(one log record each). Per operation = (median run time - median baseline run time) / N.
Printed: the per-operation times and the ratio logger / console (a logger call writes a
document; a console call appends to the run's in-memory log). Nothing is asserted about
absolute times; the runs must succeed (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cortex_runtime.config import limits_for  # noqa: E402
from cortex_runtime.runtime import Runtime  # noqa: E402

SCRIPTS = {
    "baseline": "let s = 0; for (let i = 0; i < %d; i++) { s += i } return s",
    "console": "for (let i = 0; i < %d; i++) { console.log('x', i) } return 1",
    "logger": "const logger = require('logger'); for (let i = 0; i < %d; i++) { logger.info('x', i) } return 1",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, trials = (300, 3) if args.quick else (2000, 7)

    runtime = Runtime()
    org, admin = runtime.orgs.create("bench-logger")
    limits = limits_for("route").with_overrides(timeout_ms=120_000, max_ops=10**12)
    times: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    for name, source in SCRIPTS.items():  # warm-up: compile and load the modules once
        result = runtime.run(source % 10, org=org, principal=admin, limits=limits)
        if not result.ok:
            print(f"{name}: {result.fault.to_json()}", file=sys.stderr)
            return 1
    for _ in range(trials):
        for name, source in SCRIPTS.items():
            runtime.sandbox.warm(limits)
            started = time.perf_counter()
            result = runtime.run(source % n, org=org, principal=admin, limits=limits)
            elapsed = time.perf_counter() - started
            if not result.ok:
                print(f"{name}: {result.fault.to_json()}", file=sys.stderr)
                return 1
            times[name].append(elapsed)
        runtime.store.logs.delete_many({"org": org._id, "src": 0})

    median = {name: statistics.median(values) for name, values in times.items()}
    per_op = {name: max(0.0, (median[name] - median["baseline"]) / n) for name in ("console", "logger")}
    print(f"N = {n} calls per run, {trials} trials (medians)")
    print(f"baseline run (loop, no calls): {median['baseline'] * 1000:8.2f} ms")
    for name in ("console", "logger"):
        print(f"{name:8s} run: {median[name] * 1000:8.2f} ms   per call over baseline: {per_op[name] * 1e6:8.2f} us")
    if per_op["console"] > 0:
        print(f"ratio logger / console per call: {per_op['logger'] / per_op['console']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
