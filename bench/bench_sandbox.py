"""Sandbox overhead benchmark: cortex_runtime's Sandbox vs the bare jsbox engine.

Run from the repository root:

    .venv/bin/python bench/bench_sandbox.py            # full (well under 2 minutes)
    .venv/bin/python bench/bench_sandbox.py --quick    # a few seconds

Four measurements, side by side in one process (medians of repeated trials,
time.perf_counter; nothing is asserted about absolute times):

(a) a warm ``return 1`` through ``Sandbox.run`` vs ``jsbox.Runtime(); rt.eval('1')``,
    and the ratio that matters for serving: a warm run plus the refill that builds the
    next context (``ContextPool.build``: a runtime and the eager prelude) vs that bare
    runtime;
(b) a CPU-bound loop with op metering (``Sandbox.run``, limits raised) vs the same
    loop, wrapped in a function, in a bare jsbox Runtime (no metering);
(c) compiling a decorated library (Babel 6 + metering): first compile in a cold
    compiler (loads acorn and Babel), first compile of a new source in a warm
    compiler (Babel already loaded), and a cached compile.

Every Sandbox here is made with ``cache_dir=None`` (memory-only compile cache) so the
benchmark writes nothing to disk; after a warm-up, a disk-backed Sandbox serves the
same compiled scripts from the same in-memory dict.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jsbox  # noqa: E402

from cortex_runtime import Sandbox, limits_for  # noqa: E402

clock = time.perf_counter

LIBRARY_TEMPLATE = """\
import autobind from 'decorators-autobind'
import readonly from 'decorators-readonly'

class {name} {{
  @readonly
  kind = 'widget'

  count = 0

  @autobind
  describe() {{
    return this.kind + ':' + this.count
  }}

  @autobind
  increment(by = 1) {{
    this.count += by
    return this.count
  }}

  @autobind
  reset() {{
    this.count = 0
    return this
  }}
}}

export default {name}
"""

LIBRARY_CHECK = """\
import Widget from 'c_widget'
const w = new Widget()
const inc = w.increment
inc(2)
let assignment = 'allowed'
try { w.kind = 'gadget' } catch (err) { assignment = err.name }
return [w.describe.call(null), assignment]
"""


# --------------------------------------------------------------------------- helpers


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


class Sample:
    def __init__(self, label: str) -> None:
        self.label = label
        self.times: list[float] = []

    def add(self, seconds: float) -> None:
        self.times.append(seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def n(self) -> int:
        return len(self.times)

    def describe(self) -> str:
        return f"{fmt(self.median)} (median of n={self.n}, min {fmt(min(self.times))})"


def ratio(a: Sample, b: Sample) -> float:
    return a.median / b.median if b.median > 0 else float("inf")


def fmt_ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 1000 else f"{value:.2f}x"


def line(name: str, a: Sample, b: Sample, what: str) -> str:
    return (
        f"  {name:<26} {a.label + ':':<28} {a.describe()}\n"
        f"  {'':<26} {b.label + ':':<28} {b.describe()}\n"
        f"  {'':<26} ratio {what} = {fmt_ratio(ratio(a, b))}"
    )


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = clock()
    value = fn()
    return clock() - start, value


def _jsbox_version() -> str:
    try:
        from importlib.metadata import version

        return version("jsbox")
    except Exception:  # noqa: BLE001 - informational only
        return "(version n/a)"


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark sanity check failed: {message}")


# --------------------------------------------------------------------------- (a)


def bench_return_one(trials: int, warmup: int) -> dict[str, Sample]:
    sb = Sandbox(cache_dir=None)

    for _ in range(warmup):
        sb.warm()
        result = sb.run("return 1")
        check(result.ok and result.value == 1, f"sandbox return 1 gave {result.value!r} / {result.fault}")
        rt = jsbox.Runtime()
        check(rt.eval("1") == 1, "bare eval('1') did not give 1")
        del rt
    check(result.stats.cached, "return 1 was not served from the compile cache after warm-up")

    warm_run = Sample("sandbox run(), warm")
    amortized = Sample("warm run + refill")
    drive = Sample("sandbox drive (stats.ms)")
    refill = Sample("pool refill (1 context)")
    build = Sample("ContextPool.build")
    bare = Sample("bare Runtime()+eval('1')")
    bare_eval = Sample("bare eval('1') only")
    bare_free = Sample("freeing the bare runtime")
    # (run + refill) / bare of each trial: the three are timed within a millisecond or
    # two of each other, so this ratio is steadier than the ratio of medians on a busy host.
    per_trial = Sample("per-trial ratio")
    limits = limits_for("route")

    gc.collect()
    for _ in range(trials):
        # The pool refill (a fresh Runtime + prelude) happens between runs, as a
        # server does it after sending a response; it is timed on its own.
        refill_s, _ = timed(sb.warm)
        # sandbox: the whole run() call (cached compile, take the pre-warmed
        # context, run main, drain the event loop, encode the result, free the context)
        elapsed, result = timed(lambda: sb.run("return 1"))
        check(result.ok and result.stats.cached, "sandbox run failed or missed the cache")  # type: ignore[union-attr]
        warm_run.add(elapsed)
        refill.add(refill_s)
        amortized.add(elapsed + refill_s)
        drive.add(result.stats.ms / 1000)  # type: ignore[union-attr]

        built_s, ctx = timed(lambda: sb.pool.build(limits.memory_bytes, limits.stack_bytes))
        build.add(built_s)
        ctx.close()  # type: ignore[attr-defined]

        # bare: a fresh runtime with no prelude and no limits, then eval
        start = clock()
        rt = jsbox.Runtime()
        made = clock()
        rt.eval("1")
        end = clock()
        bare.add(end - start)
        bare_eval.add(end - made)
        per_trial.add((elapsed + refill_s) / (end - start))
        start = clock()
        del rt
        bare_free.add(clock() - start)
    return {
        "warm": warm_run,
        "amortized": amortized,
        "drive": drive,
        "refill": refill,
        "build": build,
        "bare": bare,
        "bare_eval": bare_eval,
        "bare_free": bare_free,
        "per_trial": per_trial,
    }


# --------------------------------------------------------------------------- (b)


def bench_loop(iterations: int, trials: int) -> dict[str, object]:
    body = f"let s = 0; for (let i = 0; i < {iterations}; i++) {{ s += i }} return s"
    wrapped = f"(function () {{ {body} }})()"
    expected = iterations * (iterations - 1) // 2
    limits = limits_for("route").with_overrides(max_ops=10**12, timeout_ms=120_000)

    sb = Sandbox(cache_dir=None)
    sb.warm(limits)
    sb.compile(body, max_size=limits.max_script_size)  # compile outside the timings

    metered = Sample("metered (sandbox run)")
    metered_drive = Sample("metered (drive, stats.ms)")
    bare = Sample("unmetered (bare jsbox)")
    ops = 0
    gc.collect()
    for _ in range(trials):
        elapsed, result = timed(lambda: sb.run(body, limits=limits))
        check(result.ok, f"metered loop failed: {result.fault}")  # type: ignore[union-attr]
        check(result.value == expected, f"metered loop gave {result.value!r}, expected {expected}")  # type: ignore[union-attr]
        check(result.stats.cached, "metered loop missed the compile cache")  # type: ignore[union-attr]
        metered.add(elapsed)
        metered_drive.add(result.stats.ms / 1000)  # type: ignore[union-attr]
        ops = result.stats.ops  # type: ignore[union-attr]

        rt = jsbox.Runtime()
        elapsed, value = timed(lambda: rt.eval(wrapped, timeout=120.0))
        check(value == expected, f"bare loop gave {value!r}, expected {expected}")
        bare.add(elapsed)
        del rt
    return {"metered": metered, "metered_drive": metered_drive, "bare": bare, "ops": ops}


# --------------------------------------------------------------------------- (c)


def bench_compile(cold_trials: int, warm_trials: int, cached_trials: int) -> dict[str, object]:
    library = LIBRARY_TEMPLATE.format(name="Widget")

    # Sanity: the library compiles through Babel and behaves when imported by a script.
    sb = Sandbox(cache_dir=None)
    result = sb.run(LIBRARY_CHECK, libraries={"c_widget": library})
    check(result.ok, f"library check run failed: {result.fault}")
    check(result.value == ["widget:2", "TypeError"], f"library check gave {result.value!r}")

    cold = Sample("first, cold compiler")
    cold_plain = Sample("cold compiler, `return 1`")
    warm = Sample("first, warm compiler")
    cached = Sample("cached")

    gc.collect()
    # Cold: a fresh Sandbox (memory-only cache) per trial; its compiler has no
    # compile context yet, so this compile builds it (acorn + meter), finds the
    # source needs Babel, loads Babel, then transforms and meters.
    for _ in range(cold_trials):
        fresh = Sandbox(cache_dir=None)
        elapsed, compiled = timed(lambda: fresh.compiler.compile(library, kind="library"))
        check(compiled.transformed, "decorated library was not transformed by Babel")  # type: ignore[union-attr]
        check(fresh.compiler.cache.misses == 1, "cold compile was not a cache miss")
        cold.add(elapsed)
        del fresh

        # For scale: a cold compiler on a plain script (context + acorn, no Babel).
        fresh = Sandbox(cache_dir=None)
        elapsed, compiled = timed(lambda: fresh.compiler.compile("return 1", kind="script"))
        check(not compiled.transformed, "return 1 went through Babel")  # type: ignore[union-attr]
        cold_plain.add(elapsed)
        del fresh

    # Warm: one compiler, Babel already loaded; each trial compiles a source it has
    # never seen (same shape, different class name), so it misses the cache.
    compiler = Sandbox(cache_dir=None).compiler
    compiler.compile(LIBRARY_TEMPLATE.format(name="Warmup"), kind="library")
    for i in range(warm_trials):
        source = LIBRARY_TEMPLATE.format(name=f"Widget{i}")
        misses = compiler.cache.misses
        elapsed, compiled = timed(lambda: compiler.compile(source, kind="library"))
        check(compiled.transformed and compiler.cache.misses == misses + 1, "warm first compile was not a miss")  # type: ignore[union-attr]
        warm.add(elapsed)

    # Cached: the same source again in that compiler (hash + in-memory lookup).
    compiler.compile(library, kind="library")
    for _ in range(cached_trials):
        hits = compiler.cache.hits
        elapsed, _compiled = timed(lambda: compiler.compile(library, kind="library"))
        check(compiler.cache.hits == hits + 1, "cached compile missed the cache")
        cached.add(elapsed)

    return {
        "cold": cold,
        "cold_plain": cold_plain,
        "warm": warm,
        "cached": cached,
        "size": len(library),
    }


# --------------------------------------------------------------------------- (d)

# Alternated in (d): a run that loads nothing and one that loads several prelude units.
GROWTH_SCRIPTS = (
    "return 1",
    "console.log('x'); return [consts.roles.admin, new ObjectID().toString().length, Fault.create('kError').code]",
)


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bench_growth(runs: int, warmup: int) -> dict[str, float]:
    sb = Sandbox(cache_dir=None)
    for i in range(warmup):
        sb.warm()
        check(sb.run(GROWTH_SCRIPTS[i % 2]).ok, "growth script failed")
    gc.collect()
    before = rss_bytes()
    started = clock()
    for i in range(runs):
        sb.warm()
        sb.run(GROWTH_SCRIPTS[i % 2])
    elapsed = clock() - started
    gc.collect()
    after = rss_bytes()
    return {"before": before / 2**20, "after": after / 2**20, "growth": (after - before) / 2**20, "seconds": elapsed}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials and a 1M-iteration loop (a few seconds)")
    args = parser.parse_args(argv)

    if args.quick:
        a_trials, a_warmup = 100, 10
        loop_n, loop_trials = 1_000_000, 3
        cold_trials, warm_trials, cached_trials = 3, 10, 200
        growth_runs, growth_warmup = 1_000, 200
    else:
        a_trials, a_warmup = 1000, 50
        loop_n, loop_trials = 10_000_000, 3
        cold_trials, warm_trials, cached_trials = 10, 50, 2000
        growth_runs, growth_warmup = 10_000, 500

    mode = "quick" if args.quick else "full"
    print(f"cortex_runtime sandbox benchmark ({mode} mode)")
    print(
        f"python {platform.python_version()} on {platform.machine()} {platform.system()}; "
        f"jsbox {_jsbox_version()}; medians via time.perf_counter"
    )
    started = clock()

    print("\n(a) `return 1`: warm sandbox run vs bare fresh jsbox context")
    a = bench_return_one(a_trials, a_warmup)
    print(line("warm run()", a["warm"], a["bare"], "sandbox/bare"))
    print(line("warm run() + pool refill", a["amortized"], a["bare"], "sandbox/bare"))
    print(f"  {'':<26} per trial: (run + refill) / bare = {fmt_ratio(a['per_trial'].median)} (median of n={a['per_trial'].n})")
    print(f"  {'':<26} ContextPool.build: {a['build'].describe()}")
    print(f"  {'':<26} breakdown: refill {fmt(a['refill'].median)}, drive (begin..finish) {fmt(a['drive'].median)}")
    print(f"  {'':<26} bare eval('1') on the fresh runtime alone: {fmt(a['bare_eval'].median)}")
    print(
        f"  {'':<26} freeing a bare runtime: {fmt(a['bare_free'].median)} (run() frees its context; the bare"
        f" timing does not include this)"
    )
    print("  note: a warm run takes a context the pool built earlier (Runtime + prelude, never used)")
    print("  and frees it when it ends; the refill builds the next one off the run's path. The second")
    print("  line charges it to the run. The bare runtime is freed outside its timing.")

    print(f"\n(b) CPU-bound loop, {loop_n:,} iterations: metered vs unmetered")
    b = bench_loop(loop_n, loop_trials)
    print(line("loop", b["metered"], b["bare"], "metered/unmetered"))  # type: ignore[arg-type]
    print(
        f"  {'':<26} metered drive only (stats.ms): {fmt(b['metered_drive'].median)}"  # type: ignore[attr-defined]
        f" -> {fmt_ratio(ratio(b['metered_drive'], b['bare']))}; ops counted: {b['ops']:,}"  # type: ignore[arg-type]
    )

    print("\n(c) compile of a decorated library (ES module, @autobind x3, @readonly class property)")
    c = bench_compile(cold_trials, warm_trials, cached_trials)
    print(f"  source: {c['size']} chars, kind='library', memory-only cache")
    print(line("cold first vs cached", c["cold"], c["cached"], "first/cached"))  # type: ignore[arg-type]
    print(line("warm first vs cached", c["warm"], c["cached"], "first/cached"))  # type: ignore[arg-type]
    print(
        f"  {'':<26} for scale: cold compiler on `return 1` (context + acorn, no Babel):"
        f" {c['cold_plain'].describe()}"  # type: ignore[attr-defined]
    )

    print(f"\n(d) resident memory over {growth_runs:,} warm runs + refills (after {growth_warmup:,} of warm-up)")
    d = bench_growth(growth_runs, growth_warmup)
    print(
        f"  RSS {d['before']:.1f} MB -> {d['after']:.1f} MB: growth {d['growth']:+.1f} MB"
        f" ({d['seconds']:.1f} s, {d['seconds'] / growth_runs * 1e6:.0f} µs per run + refill)"
    )
    print(f"  scripts alternated: {' | '.join(GROWTH_SCRIPTS)}")

    total = clock() - started
    print("\nsummary")
    print("-------")
    rows = [
        ("(a) return 1, warm run()", a["warm"], a["bare"], "sandbox/bare"),
        ("(a) warm run() + refill", a["amortized"], a["bare"], "sandbox/bare"),
        (f"(b) loop {loop_n:,}", b["metered"], b["bare"], "metered/unmetered"),
        ("(c) compile, cold first", c["cold"], c["cached"], "first/cached"),
        ("(c) compile, warm first", c["warm"], c["cached"], "first/cached"),
    ]
    for name, x, y, what in rows:
        print(
            f"  {name:<26} {fmt(x.median):>10} vs {fmt(y.median):>10}"  # type: ignore[attr-defined]
            f"  {fmt_ratio(ratio(x, y)):>9}  {what}  (n={x.n}/{y.n})"  # type: ignore[arg-type, attr-defined]
        )
    print(
        f"  {'(a) ContextPool.build':<26} {fmt(a['build'].median):>10}  (median, n={a['build'].n}; target <= 1 ms;"
        f" {fmt_ratio(ratio(a['build'], a['bare']))} the bare runtime, which a slower host moves alike)"
    )
    print(f"  {'(a) run + refill per trial':<26} {fmt_ratio(a['per_trial'].median):>10}  (run + refill) / bare, median")
    print(f"  {'(d) RSS growth':<26} {d['growth']:>+8.1f} MB  over {growth_runs:,} runs")
    print(f"  total benchmark time: {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
