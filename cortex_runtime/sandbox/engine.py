"""The QuickJS engine: the only module that imports the binding (jsbox).

jsbox was chosen by measurement (see README "Why jsbox"): its wall-clock interrupt
stops loops and regular expressions even after the script has called into Python,
host exceptions become catchable JS errors, and each ``Runtime`` is a separate heap
with its own memory and stack caps. It holds the GIL while it runs, so parallelism
comes from more worker processes, not threads.

Engine errors are translated here, at the edge, into the small hierarchy below;
nothing else in the project sees a jsbox exception.
"""

from __future__ import annotations

from collections.abc import Callable

import jsbox

__all__ = ["Context", "EngineError", "Interrupted", "ScriptThrew", "new_context"]

HostFunction = Callable[[str, str, int], str]


class EngineError(Exception):
    """Base class for what a JS evaluation can end with, other than a value."""


class Interrupted(EngineError):
    """The evaluation ran past its deadline and was stopped."""


class ScriptThrew(EngineError):
    """The evaluation ended with an uncaught JS exception."""

    def __init__(self, name: str, message: str, stack: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.stack = stack

    @property
    def out_of_memory(self) -> bool:
        return self.name == "InternalError" and self.message == "out of memory"

    @property
    def stack_overflow(self) -> bool:
        return self.name == "RangeError" and self.message == "Maximum call stack size exceeded"


_NEVER_SETTLES = "new Promise(function () {})"
_DRAINED = "promise never settled (no pending jobs)"


class Context:
    """One QuickJS runtime and context. Never shared between script runs."""

    def __init__(self, *, memory_bytes: int, stack_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self.stack_bytes = stack_bytes
        self._host: HostFunction | None = None
        self._rt = jsbox.Runtime(memory_limit=memory_bytes, max_stack_size=stack_bytes)
        self._rt.bind_function("__cx_host_call", self._call_host)

    def set_host(self, host: HostFunction) -> None:
        """Route the script's host calls (``__cx_host_call``) to ``host``, which must not raise."""
        self._host = host

    def _call_host(self, name: str, payload: str, ops_used: int) -> str:
        if self._host is None:
            return '{"v":{"f":{"object":"fault","errCode":"script.error.unspecified","code":"kError","status":500,"message":"No host."}}}'
        return self._host(name, payload, ops_used)

    def eval(self, code: str, timeout: float | None = None) -> object:
        """Evaluate ``code`` as a global script and return its (converted) value."""
        if timeout is not None and timeout <= 0:
            raise Interrupted("no time left")
        try:
            return self._rt.eval(code, timeout=timeout)
        except jsbox.JsTimeoutError as exc:
            raise Interrupted(str(exc)) from exc
        except jsbox.JavaScriptError as exc:
            raise ScriptThrew(str(exc.name or "Error"), str(exc.message or exc), str(exc.stack or "")) from exc
        except (TypeError, ValueError) as exc:
            raise ScriptThrew("TypeError", f"result could not be converted: {exc}", "") from exc

    def drain_jobs(self, timeout: float | None = None) -> None:
        """Run every pending promise job (microtask) until none is left."""
        try:
            self.eval(_NEVER_SETTLES, timeout)
        except ScriptThrew as exc:
            if exc.message.startswith(_DRAINED):
                return
            raise
        raise EngineError("the engine returned from a promise that cannot settle")


def new_context(*, memory_bytes: int, stack_bytes: int) -> Context:
    return Context(memory_bytes=memory_bytes, stack_bytes=stack_bytes)
