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

import threading
import time
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
_PENDING = object()  # _evaluate(drains=True): the jobs ran out, the promise is still pending
_NO_HOST = '{"v":{"f":{"object":"fault","errCode":"script.error.unspecified","code":"kError","status":500,"message":"No host."}}}'


class _HostSlot:
    """Where a context's bound host entry finds the current run's host function."""

    __slots__ = ("host",)

    def __init__(self) -> None:
        self.host: HostFunction | None = None


def _host_entry(slot: _HostSlot) -> HostFunction:
    # The runtime keeps what it binds alive. Binding a method of the Context would
    # close a cycle (Context -> runtime -> method -> Context) through the engine, which
    # Python's collector cannot see: no finished context would ever be freed.
    def call(name: str, payload: str, ops_used: int) -> str:
        host = slot.host
        if host is None:
            return _NO_HOST
        return host(name, payload, ops_used)

    return call


# A runtime may only be freed on the thread that made it (jsbox refuses otherwise, and
# leaks it). A context dropped elsewhere, say by the collector, parks its runtime here
# for that thread to free when it next makes a context.
_parked: dict[threading.Thread, list[jsbox.Runtime]] = {}
_parked_lock = threading.Lock()


def _park(owner: threading.Thread, rt: jsbox.Runtime) -> None:
    with _parked_lock:
        _parked.setdefault(owner, []).append(rt)


def _free_parked() -> None:
    with _parked_lock:
        mine = _parked.pop(threading.current_thread(), None)
    del mine  # on this thread, which made them


class Context:
    """One QuickJS runtime and context. Never shared between script runs."""

    def __init__(self, *, memory_bytes: int, stack_bytes: int) -> None:
        if _parked:
            _free_parked()
        self.memory_bytes = memory_bytes
        self.stack_bytes = stack_bytes
        self._owner = threading.current_thread()
        # Compared by ident: a thread's locals are dropped on it after it has left threading's registry.
        self._owner_ident = threading.get_ident()
        self._slot = _HostSlot()
        self._rt: jsbox.Runtime | None = jsbox.Runtime(memory_limit=memory_bytes, max_stack_size=stack_bytes)
        self._rt.bind_function("__cx_host_call", _host_entry(self._slot))

    def __del__(self) -> None:
        self._drop_runtime()

    def set_host(self, host: HostFunction | None) -> None:
        """Route the script's host calls (``__cx_host_call``) to ``host``, which must not raise."""
        self._slot.host = host

    def bind_function(self, name: str, func: Callable[..., object]) -> None:
        """Expose ``func`` as the global ``name``. It must not refer to this Context
        (see ``_host_entry``), or the context is never freed."""
        self._runtime().bind_function(name, func)

    def close(self) -> None:
        """Drop the host function and free the engine; the context cannot be used again."""
        self._slot.host = None
        self._drop_runtime()

    def _drop_runtime(self) -> None:
        rt = getattr(self, "_rt", None)
        if rt is None:
            return
        self._rt = None
        if threading.get_ident() != self._owner_ident:
            _park(self._owner, rt)

    @property
    def closed(self) -> bool:
        return self._rt is None

    def _runtime(self) -> jsbox.Runtime:
        if self._rt is None:
            raise EngineError("the context is closed")
        return self._rt

    def eval(self, code: str, timeout: float | None = None) -> object:
        """Evaluate ``code`` as a global script and return its (converted) value."""
        return self._evaluate(code, timeout, drains=False)

    def first_step(self, begin: str, timeout: float | None = None) -> object:
        """Evaluate a run's ``__cx_begin(...)`` call (js_prelude/90_run.js; ``begin`` is a script
        ending in that call) and carry the run to its first step: ``__cx_finish()`` when main hit a
        limit, else, once the promise jobs have run, ``__cx_step()``. The call and the jobs are one
        evaluation, and the whole is one call, so that an engine process answers it in one trip."""
        deadline = None if timeout is None else time.monotonic() + timeout
        finished = self._evaluate(f"{begin} ? __cx_finish() : {_NEVER_SETTLES}", timeout, drains=True)
        if finished is not _PENDING:
            return finished
        return self.eval("__cx_step()", None if deadline is None else deadline - time.monotonic())

    def eval_and_drain(self, code: str, timeout: float | None = None) -> None:
        """Evaluate ``code`` as a global script, then run every pending promise job: one evaluation."""
        if self._evaluate(f"{code}\n;{_NEVER_SETTLES}", timeout, drains=True) is not _PENDING:
            raise EngineError("the engine returned from a promise that cannot settle")

    def drain_jobs(self, timeout: float | None = None) -> None:
        """Run every pending promise job (microtask) until none is left."""
        self.eval_and_drain("", timeout)

    def _evaluate(self, code: str, timeout: float | None, *, drains: bool) -> object:
        """The one call into the engine, with its errors translated. With ``drains``, the error the
        engine ends with once a never-settling promise has run out of jobs (the usual outcome
        there) gives ``_PENDING``."""
        if timeout is not None and timeout <= 0:
            raise Interrupted("no time left")
        # No local names the runtime: a traceback keeps its frames' locals, and the
        # collector may free those on another thread, which jsbox refuses.
        try:
            return self._runtime().eval(code, timeout=timeout)
        except jsbox.JsTimeoutError as exc:
            raise Interrupted(str(exc)) from exc
        except jsbox.JavaScriptError as exc:
            message = str(exc.message or exc)
            if drains and message.startswith(_DRAINED):
                return _PENDING
            raise ScriptThrew(str(exc.name or "Error"), message, str(exc.stack or "")) from exc
        except (TypeError, ValueError) as exc:
            raise ScriptThrew("TypeError", f"result could not be converted: {exc}", "") from exc


def new_context(*, memory_bytes: int, stack_bytes: int) -> Context:
    return Context(memory_bytes=memory_bytes, stack_bytes=stack_bytes)
