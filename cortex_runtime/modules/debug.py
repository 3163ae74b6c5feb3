"""``require('debug')``: ``echo``, ``sleep``, ``log``, ``fault`` (modules.md §30).

Only there when the server runs with ``serve --debug-module`` (``Runtime.debug_module``;
the platform's ``sandbox.debug.enableDebugModule``, false by default). Otherwise
``require('debug')`` fails exactly as for a module that does not exist
(``script.notFound.unspecified``, "module not found: debug").

* ``echo(v)`` returns ``v``.
* ``sleep(ms[, flag])`` blocks for ``ms`` milliseconds of the script's own time: the run's
  time limit keeps running, so a sleep past it ends the run with ``script.timeout.execution``.
  The platform's second argument is undocumented; it is accepted and ignored.
* ``log(...args)`` writes one line to the host's console (standard error), the arguments
  joined by spaces (strings as they are, other values as JSON), at most 8 KB.
* ``fault(f)`` throws ``Fault.from(f)``: an errCode/code string or a fault-like object.

The platform's ``emit`` (test harness only) and ``streams.random`` are not provided.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TYPE_CHECKING, Any

from ..faults import Fault
from ..sandbox import RunInfo
from ..sandbox.codec import to_plain

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["DebugModule"]

MAX_LOG_LINE = 8 * 1024
MAX_SLEEP_MS = 3_600_000


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(to_plain(value), default=str)
    except (TypeError, ValueError):
        return str(value)


class DebugModule:
    prefix = "debug."
    methods = ("echo", "sleep", "log", "fault")
    needs_runtime = True
    needs_context = False

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def enabled(self) -> bool:
        return bool(getattr(self._runtime, "debug_module", False))

    @property
    def require_name(self) -> str | None:
        """``debug`` when enabled; otherwise no module answers to the name."""
        return "debug" if self.enabled else None

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if not self.enabled:
            raise Fault("script.notFound.unspecified", reason="module not found: debug", path="debug")
        if name == "debug.echo":
            return args[0] if args else None
        if name == "debug.sleep":
            return self._sleep(run, args[0] if args else None)
        if name == "debug.log":
            line = " ".join(_text(value) for value in args)[:MAX_LOG_LINE]
            print(line, file=sys.stderr, flush=True)
            return None
        if name == "debug.fault":
            value = args[0] if args else None
            if isinstance(value, str) and value:
                raise Fault(value)
            if isinstance(value, dict):
                raise Fault.from_value(value)
            raise Fault("cortex.invalidArgument.unspecified", reason="debug.fault expects an errCode or a fault object.")
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    @staticmethod
    def _sleep(run: RunInfo, ms: Any) -> None:
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) or ms < 0:
            raise Fault("cortex.invalidArgument.unspecified", reason="debug.sleep expects a number of milliseconds >= 0.", path="ms")
        wanted = min(float(ms), MAX_SLEEP_MS) / 1000
        # Never past the run's deadline: the engine then stops the run (script.timeout.execution).
        time.sleep(max(0.0, min(wanted, run.time_left() + 0.005)))
        return None
