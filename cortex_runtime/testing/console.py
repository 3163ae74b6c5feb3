"""The console display of a test run: a line per test while it runs, then a summary with each
failure's message, its test file line and, when a deployed script failed, that script's line."""

from __future__ import annotations

import sys
from typing import TextIO

from .runner import FileResult, Outcome

__all__ = ["ConsoleReporter"]

_MARKS = {"passed": "ok", "failed": "FAIL", "pending": "skip"}


class ConsoleReporter:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._file: str | None = None

    def outcome(self, outcome: Outcome) -> None:
        if outcome.file != self._file:
            self._file = outcome.file
            print(outcome.file, file=self.out)
        print(f"  {_MARKS.get(outcome.state, outcome.state):>4}  {outcome.full_title} ({outcome.ms:.0f} ms)", file=self.out, flush=True)

    def file_done(self, result: FileResult) -> None:
        if result.load_error is not None:
            print(f"{result.file}\n  ERROR {result.load_error}", file=self.out, flush=True)

    def summary(self, results: list[FileResult], seconds: float) -> None:
        outcomes = [o for r in results for o in r.outcomes]
        failures = [o for o in outcomes if o.state == "failed"]
        load_errors = [r for r in results if r.load_error is not None]
        if failures or load_errors:
            print("\nFailures:", file=self.out)
        for number, failure in enumerate(failures, 1):
            error = failure.error or {}
            print(f"\n  {number}) {failure.full_title}", file=self.out)
            message = str(error.get("message") or "")
            if error.get("errCode") and error.get("errCode") not in message:
                message = f"{error['errCode']}: {error.get('reason') or message}"
            for line in message.splitlines() or [""]:
                print(f"     {line}", file=self.out)
            if error.get("hook"):
                print(f"     in the {error['hook']}", file=self.out)
            print(f"     at {failure.at or failure.file}", file=self.out)
            if failure.script_at:
                print(f"     from script {failure.script_at}", file=self.out)
        for result in load_errors:
            print(f"\n  could not run {result.file}: {result.load_error}", file=self.out)
        passed = sum(o.state == "passed" for o in outcomes)
        pending = sum(o.state == "pending" for o in outcomes)
        parts = [f"{passed} passed", f"{len(failures)} failed"]
        if pending:
            parts.append(f"{pending} pending")
        if load_errors:
            parts.append(f"{len(load_errors)} file(s) not run")
        print(f"\n{', '.join(parts)} in {len(results)} file(s), {seconds:.2f} s", file=self.out, flush=True)
