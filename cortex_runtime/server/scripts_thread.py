"""ScriptsThread: the one thread a server process runs scripts on.

The engine holds the GIL while it runs and its pre-warmed contexts belong to the thread that
built them, so a process runs its scripts on one thread (more processes scale out). Requests
always go first. The pool is refilled only once a response has been sent (``refill_soon``,
called by the event loop after the body went out: a refill started earlier would hold the GIL
and delay the response) and only while no request is waiting, one context at a time. A request
that finds the pool empty builds its own context.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["ScriptsThread"]

log = logging.getLogger(__name__)

_STOP = object()
_REFILL = object()
_LIVE: weakref.WeakSet[ScriptsThread] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    # Engine runtimes must be freed on the thread that made them, not by the exiting interpreter.
    for scripts in list(_LIVE):
        scripts.stop()


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class ScriptsThread:
    """Runs calls in order on one thread. ``refill_one(stop)`` builds one spare context and returns
    False when the pool is full or ``stop()`` became true on the way (a call is waiting: the build
    goes on at the next refill or in that call's run). After ``idle_s`` seconds without calls the
    thread ends, calling ``release`` there to free its contexts; the next call starts another."""

    def __init__(
        self,
        refill_one: Callable[..., bool],
        release: Callable[[], None],
        name: str = "scripts",
        idle_s: float = 30.0,
    ) -> None:
        self._refill_one = refill_one
        self._release = release
        self._name = name
        self._idle_s = idle_s
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _LIVE.add(self)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the scripts thread; its result or exception comes back here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._put((fn, args, loop, future), start=True)
        return await future

    def refill_soon(self) -> None:
        """A response went out: refill the pool when no request waits (thread-safe)."""
        self._put(_REFILL, start=False)

    def stop(self) -> None:
        """End the thread (after the calls already queued), freeing its contexts."""
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._calls.put(_STOP)
        thread.join(timeout=30)

    def _put(self, item: Any, *, start: bool) -> None:
        with self._lock:
            if self._thread is None and not start:
                return  # nothing to refill for: the thread ended and took its pool with it
            self._calls.put(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        try:
            self._serve()
        finally:
            try:
                self._release()
            except Exception:  # noqa: BLE001 - nothing more to do with a thread that is ending
                log.exception("releasing the scripts thread's contexts failed")

    def _serve(self) -> None:
        while True:
            try:
                item = self._calls.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:  # items are queued under the same lock, so none is left behind
                    if self._calls.empty():
                        self._thread = None
                        return
                continue
            if item is _STOP:
                with self._lock:
                    self._thread = None
                return
            if item is _REFILL:
                while self._calls.empty() and self._refill():
                    pass
                continue
            fn, args, loop, future = item
            try:
                outcome = (True, fn(*args))
            except BaseException as exc:  # noqa: BLE001 - every outcome goes back to the caller
                outcome = (False, exc)
            loop.call_soon_threadsafe(_settle, future, *outcome)

    def _waiting(self) -> bool:
        # Asked between the stages of a build: the zero sleep lets the event loop, waiting for the
        # GIL, hand over a request that came in meanwhile.
        time.sleep(0)
        return not self._calls.empty()

    def _refill(self) -> bool:
        try:
            return bool(self._refill_one(stop=self._waiting))
        except Exception:  # noqa: BLE001 - a failed refill must not stop the thread; runs build their own
            log.exception("refilling the context pool failed")
            return False
