"""The test harness against plain runs: 200 small JS tests through ``cortex-runtime test``'s
runner (4 files of 50, a fresh org each) vs the same 200 bodies through ``Runtime.run`` one after
another in one process and one org. Prints both times and the ratio (target <= 1.5x); asserts
nothing about time. Exit 1 only when a test or a run fails.

    .venv/bin/python bench/bench_harness.py            # ~10 s
    .venv/bin/python bench/bench_harness.py --quick    # 2 files of 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cortex_runtime.runtime import Runtime
from cortex_runtime.sandbox import Sandbox
from cortex_runtime.testing.runner import discover, run_paths


def body(i: int) -> str:
    """A small test: some JS work and one read of the object layer."""
    return (
        f"const values = [1, 2, 3, {i}].map(n => n * 2);\n"
        f"if (values[3] !== {2 * i}) throw new Error('wrong ' + values[3]);\n"
        "if (org.objects.accounts.find().count() < 1) throw new Error('no accounts');\n"
    )


def write_files(folder: Path, files: int, per_file: int) -> None:
    for f in range(files):
        tests = "\n".join(f"  it('test {f * per_file + i}', function () {{\n{body(f * per_file + i)}  }})" for i in range(per_file))
        (folder / f"bench{f}.test.js").write_text(f"describe('file {f}', function () {{\n{tests}\n}})\n", encoding="utf-8")


def harness_seconds(folder: Path, sandbox: Sandbox) -> float:
    started = time.perf_counter()
    results = run_paths(discover([folder]), sandbox=sandbox)
    elapsed = time.perf_counter() - started
    failed = [o for r in results for o in r.outcomes if o.state != "passed"] + [r for r in results if r.load_error]
    if failed:
        print(f"harness: {len(failed)} failed: {failed[:2]}")
        sys.exit(1)
    return elapsed


def plain_seconds(count: int, sandbox: Sandbox) -> float:
    runtime = Runtime(sandbox=sandbox)
    org, admin = runtime.orgs.create("bench")
    sources = [body(i) for i in range(count)]
    started = time.perf_counter()
    for source in sources:
        result = runtime.run(source, org=org, principal=admin, script_type="route")
        if result.fault is not None:
            print(f"Runtime.run failed: {result.fault.to_json()}")
            sys.exit(1)
    elapsed = time.perf_counter() - started
    runtime.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    files, per_file = (2, 20) if args.quick else (4, 50)
    count = files * per_file
    sandbox = Sandbox(cache_dir=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder, files, per_file)
        harness_seconds(folder, sandbox)  # warm-up: compiles the harness, the files and the bodies
        plain_seconds(count, sandbox)
        harness = [harness_seconds(folder, sandbox) for _ in range(args.trials)]
        plain = [plain_seconds(count, sandbox) for _ in range(args.trials)]
    h, p = statistics.median(harness), statistics.median(plain)
    print(f"{count} tests in {files} files through the harness: {h * 1000:.0f} ms (median of {args.trials})")
    print(f"{count} bodies through Runtime.run, one after another: {p * 1000:.0f} ms (median of {args.trials})")
    print(f"ratio harness / Runtime.run: {h / p:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
