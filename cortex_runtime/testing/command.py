"""``cortex-runtime test``: the subcommand's arguments and what it does (exit 0 when every test
passes, 1 when one fails, 2 when a file could not load or the environment could not deploy)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..faults import Fault

__all__ = ["add_test_command", "run_test_command"]


def add_test_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    test = commands.add_parser("test", help="run the *.test.js files of PATHS (default: test/ and tests/) against a fresh org each")
    test.add_argument("paths", nargs="*", help="test files or folders (searched for *.test.js)")
    test.add_argument("--env", metavar="DIR", help="the environment folder deployed into each file's org (mdctl's layout or a deploy.json folder)")
    test.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    test.add_argument("--coverage", metavar="FILE", help="count the lines hit per deployed script: a table, and lcov here (Cobertura for .xml)")
    test.add_argument("--grep", metavar="RE", help="run only the tests whose full title matches")
    test.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="run files in N worker processes")
    test.add_argument("--seed", type=int, help="repeat a run exactly: ids and random values (ObjectIds, Math.random, crypto.randomBytes, cortex-test random()) drawn from N")
    test.set_defaults(handler=run_test_command)


def run_test_command(args: argparse.Namespace) -> int:
    import re

    from .console import ConsoleReporter
    from .runner import discover, run_paths

    if args.grep is not None:
        try:
            re.compile(args.grep)
        except re.error as exc:
            print(f"error: --grep {args.grep!r}: {exc}", file=sys.stderr)
            return 2
    if args.jobs < 1:
        print("error: -j needs at least 1", file=sys.stderr)
        return 2
    env_dir = Path(args.env) if args.env else None
    if env_dir is not None and not env_dir.is_dir():
        print(f"error: --env {env_dir}: no such folder", file=sys.stderr)
        return 2
    try:
        files = discover(args.paths)
    except Fault as fault:
        print(f"error: {fault.reason}", file=sys.stderr)
        return 2
    if not files:
        print("error: no *.test.js files found", file=sys.stderr)
        return 2
    reporter = ConsoleReporter()
    started = time.perf_counter()
    results = run_paths(files, env_dir, grep=args.grep, jobs=args.jobs, seed=args.seed, on_outcome=reporter.outcome,
                        on_file=reporter.file_done, coverage=bool(args.coverage))
    reporter.summary(results, time.perf_counter() - started)
    if args.junit:
        from .junit import write_junit

        write_junit(results, Path(args.junit))
    if args.coverage:
        from .coverage import coverage_table, merge_coverage, write_coverage

        merged = merge_coverage([r.coverage for r in results])
        print("\n" + coverage_table(merged))
        write_coverage(merged, Path(args.coverage))
    if any(r.load_error is not None for r in results):
        return 2
    return 1 if any(r.failed for r in results) else 0
