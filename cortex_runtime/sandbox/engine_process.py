"""Contexts in an engine process: the same runs as engine.Context, on another core.

jsbox holds the GIL while it builds or runs a context, so in one process building the next
context always competes with serving the next request. With ``Sandbox(engine="process")``
(what ``serve`` uses) each thread that runs scripts has an engine process of its own
(engine_worker.py): the process keeps the spare contexts and builds the next one while the
server sends the response and reads the next request. Host calls still run here, in the
thread that runs the script, with its store and modules; only strings cross (wire.py).

The process is also a wall around the engine: an engine that crashes, or hangs where its
interrupt cannot reach, ends that process, not the server. A run
whose process has not answered ``GRACE_S`` after its deadline is stopped by killing the
process; the next run starts a new one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from itertools import count

from .engine import EngineError, HostFunction, Interrupted, ScriptThrew
from .wire import Channel, ChannelClosed, ChannelTimeout

__all__ = ["EngineProcess", "ProcessContextPool", "RemoteContext"]

log = logging.getLogger(__name__)

# How long past a run's deadline its engine process may stay silent before it is killed.
GRACE_S = 2.0
_NO_HOST = '{"v":{"f":{"object":"fault","errCode":"script.error.unspecified","code":"kError","status":500,"message":"No host."}}}'
_HOST_FAILED = '{"v":{"f":{"object":"fault","errCode":"script.error.unspecified","code":"kError","status":500,"message":"The host call failed."}}}'


class EngineProcess:
    """One engine process and the channel to it. Used only by the thread that started it."""

    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "cortex_runtime.sandbox.engine_worker", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._channel = Channel(from_child_r, to_child_w)
        self._ids = count(1)
        self._contexts: dict[str, RemoteContext] = {}
        self._preloads: list[str] | None = None

    @property
    def alive(self) -> bool:
        return not self._channel.closed

    @property
    def pid(self) -> int:
        return self._proc.pid

    def open(self, memory_bytes: int, stack_bytes: int) -> RemoteContext:
        ctx = RemoteContext(self, str(next(self._ids)), memory_bytes, stack_bytes)
        self._contexts[ctx.id] = ctx
        return ctx

    def set_preloads(self, preloads: Callable[[], list[tuple[str, str]]], names: list[str]) -> None:
        """Tell the process which npm factories to parse into its spares, when the list changed."""
        if names == self._preloads or not self.alive:
            return
        self._preloads = names
        self._send(b"P", json.dumps(preloads()))

    def request(self, kind: bytes, parts: tuple[str, ...], timeout: float | None) -> str:
        """Send an ``E``, ``B`` or ``D`` frame and serve the script's host calls until its answer."""
        if not self.alive:
            raise EngineError("the engine process has ended")
        deadline = None if timeout is None else time.monotonic() + timeout
        self._send(kind, *parts)
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic()) + GRACE_S
            try:
                reply, fields = self._channel.recv(wait)
            except ChannelTimeout:
                log.warning("engine process %s ignored its deadline; killed", self._proc.pid)
                self.stop(kill=True)
                raise Interrupted("the engine process ignored the deadline and was stopped") from None
            except ChannelClosed:
                self._ended()
                raise EngineError("the engine process ended during the run") from None
            if reply == b"R":
                return fields[0]
            if reply == b"X":
                kind_, name, message, stack = fields
                if kind_ == "interrupted":
                    raise Interrupted(message)
                if kind_ == "threw":
                    raise ScriptThrew(name, message, stack)
                raise EngineError(message)
            if reply == b"H":
                ctx = self._contexts.get(fields[0])
                host = ctx.host if ctx is not None else None
                answer = self._answer(host, fields)
                self._send(b"A", answer)
                continue
            self.stop(kill=True)
            raise EngineError(f"the engine process sent an unknown frame {reply!r}")

    @staticmethod
    def _answer(host: HostFunction | None, fields: list[str]) -> str:
        if host is None:
            return _NO_HOST
        try:
            return host(fields[1], fields[2], int(fields[3]))
        except Exception:
            # A host function must not raise; if one does, the process still needs its answer.
            log.exception("host call %s raised", fields[1])
            return _HOST_FAILED

    def close_context(self, ctx_id: str) -> None:
        self._contexts.pop(ctx_id, None)
        if self.alive:
            try:
                self._send(b"C", ctx_id)
            except EngineError:
                pass

    def _send(self, kind: bytes, *parts: str) -> None:
        try:
            self._channel.send(kind, *parts)
        except ChannelClosed:
            self._ended()
            raise EngineError("the engine process has ended") from None

    def _ended(self) -> None:
        self._channel.close()
        for ctx in list(self._contexts.values()):
            ctx.host = None
        self._contexts.clear()
        try:
            self._proc.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def stop(self, *, kill: bool = False) -> None:
        """End the process: asked to quit (and given ``GRACE_S``), or killed."""
        if self.alive and not kill:
            try:
                self._channel.send(b"Q")
            except ChannelClosed:
                pass
        if kill and self._proc.poll() is None:
            self._proc.kill()
        self._ended()

    def __del__(self) -> None:
        # Closing our ends is enough: the process ends when its input closes.
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()


class RemoteContext:
    """A context in an engine process, with engine.Context's interface for a run."""

    def __init__(self, engine: EngineProcess, ctx_id: str, memory_bytes: int, stack_bytes: int) -> None:
        self._engine = engine
        self.id = ctx_id
        self.memory_bytes = memory_bytes
        self.stack_bytes = stack_bytes
        self.host: HostFunction | None = None
        self._closed = False

    def set_host(self, host: HostFunction | None) -> None:
        self.host = host

    def eval(self, code: str, timeout: float | None = None) -> object:
        if timeout is not None and timeout <= 0:
            raise Interrupted("no time left")
        return json.loads(self._request(b"E", timeout, code))

    def first_step(self, begin: str, timeout: float | None = None) -> object:
        if timeout is not None and timeout <= 0:
            raise Interrupted("no time left")
        return json.loads(self._request(b"B", timeout, begin))

    def drain_jobs(self, timeout: float | None = None) -> None:
        if timeout is not None and timeout <= 0:
            raise Interrupted("no time left")
        self._request(b"D", timeout)

    def _request(self, kind: bytes, timeout: float | None, *code: str) -> str:
        if self._closed:
            raise EngineError("the context is closed")
        sizes = (self.id, str(self.memory_bytes), str(self.stack_bytes), "" if timeout is None else repr(timeout))
        return self._engine.request(kind, sizes + code, timeout)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.host = None
            self._engine.close_context(self.id)

    @property
    def closed(self) -> bool:
        return self._closed


class ProcessContextPool:
    """ContextPool's interface over one engine process per thread, which keeps the spares.

    ``take`` hands out a context the process makes ready (a spare it built while idle, or one
    it builds then); nothing here refills, so the refill methods report a full pool."""

    def __init__(self, preloads: Callable[[], list[tuple[str, str]]], hot: Callable[[], list[str]]) -> None:
        self._preloads = preloads
        self._hot = hot
        self._local = threading.local()

    def _engine(self) -> EngineProcess:
        engine: EngineProcess | None = getattr(self._local, "engine", None)
        if engine is None or not engine.alive:
            engine = self._local.engine = EngineProcess()
        return engine

    def take(self, memory_bytes: int, stack_bytes: int) -> RemoteContext:
        engine = self._engine()
        try:
            engine.set_preloads(self._preloads, self._hot())
        except EngineError:
            engine = self._engine()
        return engine.open(memory_bytes, stack_bytes)

    def ready(self, memory_bytes: int, stack_bytes: int) -> bool:
        return True

    def needs_refill(self, memory_bytes: int, stack_bytes: int) -> bool:
        return False

    def refill_one(self, memory_bytes: int, stack_bytes: int, stop: Callable[[], bool] | None = None) -> bool:
        # Starting the process is the one thing to do ahead of the first run.
        self._engine()
        return False

    def refill(self, memory_bytes: int, stack_bytes: int) -> None:
        self._engine()

    def release(self) -> None:
        """Stop this thread's engine process, as a thread that ends should."""
        engine: EngineProcess | None = getattr(self._local, "engine", None)
        if engine is not None:
            self._local.engine = None
            engine.stop()
