"""The engine process: QuickJS contexts for one server thread, in a process of their own.

Started by engine_process.EngineProcess as ``python -m cortex_runtime.sandbox.engine_worker
READ_FD WRITE_FD``. It keeps a ContextPool of its own and refills it whenever no frame is
waiting, so building the next context runs on another core while the server answers.

Frames from the server (wire.py): ``E`` evaluate (id, memory, stack, timeout, code), ``B``
the same for a run's ``__cx_begin`` call, carried to its first step (engine.Context.first_step), ``D``
drain promise jobs (id, memory, stack, timeout), ``C`` close (id), ``P`` the npm factories to
parse into spares (JSON), ``Q`` quit. A context's id is new to the process on its first ``E``
``B`` or ``D``: that frame takes a spare (or builds one). ``E``, ``B`` and ``D`` are answered with ``R``
(the value as JSON) or ``X`` (kind, name, message, stack). While one runs, each host call of
the script is an ``H`` frame (id, name, payload, ops used), answered by ``A`` (the reply); the
server may send other frames before its answer (a nested run), which are served first.
The process ends when its input closes, so it never outlives the server.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
from typing import Any

from .engine import Context, EngineError, Interrupted, ScriptThrew
from .prelude import load_prelude
from .sandbox import ContextPool
from .wire import Channel, ChannelClosed


class _Quit(BaseException):
    """The server is gone or asked us to stop: a BaseException, so no script can catch it."""


class Worker:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._preloads: list[tuple[str, str]] = []
        self._pool = ContextPool(load_prelude(), 1, lambda: self._preloads)
        self._contexts: dict[str, Context] = {}
        # The sizes of the last context taken: the ones a refill builds.
        self._sizes: tuple[int, int] | None = None

    def serve(self) -> None:
        try:
            while True:
                # Only between runs: a run's next frame (the drain after main, say) must not wait for a build.
                idle = not self._contexts and not self._channel.pending()
                if idle and self._sizes is not None and self._pool.needs_refill(*self._sizes):
                    self._pool.refill_one(*self._sizes, stop=self._channel.pending)
                    continue
                kind, parts = self._channel.recv()
                self._handle(kind, parts)
        except (ChannelClosed, _Quit):
            pass
        finally:
            for ctx in self._contexts.values():
                ctx.close()
            self._pool.release()

    def _handle(self, kind: bytes, parts: list[str]) -> None:
        if kind in (b"E", b"B", b"D"):
            self._evaluate(kind, parts)
        elif kind == b"C":
            ctx = self._contexts.pop(parts[0], None)
            if ctx is not None:
                ctx.close()
        elif kind == b"P":
            self._preloads = [(str(name), str(factory)) for name, factory in json.loads(parts[0])]
        elif kind == b"Q":
            raise _Quit()
        else:
            raise ChannelClosed(f"unknown frame {kind!r}")

    def _context(self, ctx_id: str, memory: str, stack: str) -> Context:
        ctx = self._contexts.get(ctx_id)
        if ctx is None:
            self._sizes = (int(memory), int(stack))
            ctx = self._pool.take(*self._sizes)
            ctx.set_host(functools.partial(self._host_call, ctx_id))
            self._contexts[ctx_id] = ctx
        return ctx

    def _evaluate(self, kind: bytes, parts: list[str]) -> None:
        ctx_id, memory, stack, timeout_text = parts[:4]
        timeout = float(timeout_text) if timeout_text else None
        try:
            ctx = self._context(ctx_id, memory, stack)
            if kind == b"E":
                value: Any = ctx.eval(parts[4], timeout)
            elif kind == b"B":
                value = ctx.first_step(parts[4], timeout)
            else:
                ctx.drain_jobs(timeout)
                value = None
            text = json.dumps(value)
        except Interrupted as exc:
            self._channel.send(b"X", "interrupted", "", str(exc), "")
        except ScriptThrew as exc:
            self._channel.send(b"X", "threw", exc.name, exc.message, exc.stack)
        except EngineError as exc:
            self._channel.send(b"X", "engine", "", str(exc), "")
        except (TypeError, ValueError) as exc:
            self._channel.send(b"X", "threw", "TypeError", f"result could not be converted: {exc}", "")
        else:
            self._channel.send(b"R", text)

    def _host_call(self, ctx_id: str, name: str, payload: str, ops_used: int) -> str:
        try:
            self._channel.send(b"H", ctx_id, name, payload, str(int(ops_used)))
            while True:
                kind, parts = self._channel.recv()
                if kind == b"A":
                    return parts[0]
                self._handle(kind, parts)
        except ChannelClosed:
            raise _Quit() from None


def main(argv: list[str]) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the server decides when we end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = Channel(int(argv[1]), int(argv[2]))
    try:
        Worker(channel).serve()
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
