"""Cache module benchmark: ``cache.get`` / ``cache.set`` per operation, script vs the store.

Run from the repository root:

    .venv/bin/python bench/bench_cache.py            # full, ~15 s
    .venv/bin/python bench/bench_cache.py --quick    # a few seconds

For get and set, three costs per operation, measured in one process on the embedded store
(medians of repeated trials, time.perf_counter; nothing is asserted about absolute times):

* baseline: the store call the module makes, straight on the collection: ``find_one({org,
  key})`` for a get, ``update_one({org, key}, {$set, $inc, $setOnInsert}, upsert=True)`` for a set;
* module: ``CacheModule.call`` from Python (argument coercion, value checks, BSON sizing, faults);
* script: one call in a script loop, ``cache.get(k)`` / ``cache.set(k, v)``: a run doing N calls,
  minus a run doing the same loop without them, divided by N (the bridge: JSON encoding both
  ways, the host-call dispatch and the module).

Each is printed with its ratio to the baseline. Values are a small object ``{n, tag, list}``;
keys cycle over 100 names so gets hit and sets overwrite.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cortex_runtime import limits_for  # noqa: E402
from cortex_runtime.modules.cache import CacheModule  # noqa: E402
from cortex_runtime.runtime import Runtime  # noqa: E402
from cortex_runtime.sandbox import RunInfo  # noqa: E402

clock = time.perf_counter
KEYS = 100
VALUE = {"n": 1, "tag": "bench", "list": [1, 2, 3]}


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def median_per_op(trials: int, ops: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(trials):
        start = clock()
        fn()
        times.append((clock() - start) / ops)
    return statistics.median(times)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark sanity check failed: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    ops = 500 if options.quick else 2000
    trials = 5 if options.quick else 11

    runtime = Runtime()
    org, admin = runtime.orgs.create("benchcache")
    module = next(m for m in runtime.modules._modules if isinstance(m, CacheModule))
    limits = limits_for("job").with_overrides(max_ops=10**12)
    col = runtime.store.cache
    keys = [f"bench.k{i}" for i in range(KEYS)]

    def script(body: str) -> Callable[[], Any]:
        source = f"const cache = require('cache'); const v = {{n: 1, tag: 'bench', list: [1, 2, 3]}}; let x;\nfor (let i = 0; i < {ops}; i++) {{ const k = 'bench.k' + (i % {KEYS}); {body} }}\nreturn x === undefined ? null : x"

        def go() -> Any:
            result = runtime.run(source, org=org, principal=admin, script_type="job", limits=limits)
            check(result.ok, f"script failed: {result.fault}")
            runtime.sandbox.warm()  # the next context, as a server builds it after a run (in both runs)
            return result.value

        return go

    # a run context for direct module calls, taken from a real run
    captured: list[RunInfo] = []
    original_call = module.call

    def capture(run: RunInfo, name: str, args: list[Any]) -> Any:
        captured.append(run)
        return original_call(run, name, args)

    module.call = capture  # type: ignore[method-assign]
    check(runtime.run("require('cache').set('bench.k0', 1); return 1", org=org, principal=admin).ok, "warm-up failed")
    module.call = original_call  # type: ignore[method-assign]
    run_info = captured[0]

    now = runtime.clock.now()

    def store_get() -> None:
        for i in range(ops):
            col.find_one({"org": org._id, "key": keys[i % KEYS]}, {"val": 1, "expires": 1})

    def store_set() -> None:
        for i in range(ops):
            col.update_one(
                {"org": org._id, "key": keys[i % KEYS]},
                {"$set": {"val": VALUE, "updated": now, "sz": 80}, "$unset": {"expires": ""}, "$inc": {"seq": 1}, "$setOnInsert": {"created": now}},
                upsert=True,
            )

    def module_get() -> None:
        for i in range(ops):
            module.call(run_info, "cache.get", [keys[i % KEYS]])

    def module_set() -> None:
        for i in range(ops):
            module.call(run_info, "cache.set", [keys[i % KEYS], VALUE])

    empty = script("x = k;")
    script_get = script("x = cache.get(k);")
    script_set = script("x = cache.set(k, v);")

    # warm-up: every key exists, every path has run
    store_set()
    for fn in (store_get, module_get, module_set, empty, script_get, script_set):
        fn()
    check(module.call(run_info, "cache.get", ["bench.k1"]) == VALUE, "get did not read what set wrote")

    results: dict[str, float] = {}
    for name, fn in (("store get", store_get), ("module get", module_get), ("store set", store_set), ("module set", module_set)):
        results[name] = median_per_op(trials, ops, fn)
    loop = median_per_op(trials, ops, empty)
    results["script get"] = max(0.0, median_per_op(trials, ops, script_get) - loop)
    results["script set"] = max(0.0, median_per_op(trials, ops, script_set) - loop)

    print(f"cache get/set per operation ({ops} ops x {trials} trials, embedded store, python {platform.python_version()})")
    print(f"  script loop without calls: {fmt(loop)} per iteration (subtracted below, with the run's fixed cost)")
    for op in ("get", "set"):
        base = results[f"store {op}"]
        print(f"  {op}:")
        print(f"    baseline store {'find_one' if op == 'get' else 'update_one'}: {fmt(base)}")
        print(f"    module call (Python):       {fmt(results[f'module {op}'])}   ratio {results[f'module {op}'] / base:.2f}x")
        print(f"    script call:                {fmt(results[f'script {op}'])}   ratio {results[f'script {op}'] / base:.2f}x")
    runtime.close()


if __name__ == "__main__":
    main()
