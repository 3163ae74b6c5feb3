"""Frames between a server thread and its engine process (see engine_process.py).

A frame is its body's length (4 bytes, little-endian), a kind (one ASCII letter) and the
body: string parts, each its UTF-8 length (4 bytes) and bytes. Strings are all that
crosses: script source, host call payloads (already JSON, so never encoded twice) and
JSON for the few values an evaluation returns.
"""

from __future__ import annotations

import os
import select
import struct
import time

__all__ = ["Channel", "ChannelClosed", "ChannelTimeout"]

_HEAD = struct.Struct("<Ic")
_LEN = struct.Struct("<I")


class ChannelClosed(Exception):
    """The other side closed its end (or died)."""


class ChannelTimeout(Exception):
    """No frame arrived in time."""


def _encode(text: str) -> bytes:
    # JS strings may hold lone surrogates; they cross unchanged.
    return text.encode("utf-8", "surrogatepass")


class Channel:
    """One reader and one writer end of two pipes; used by a single thread at a time."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._rfd = read_fd
        self._wfd = write_fd
        self._buf = bytearray()
        self.closed = False

    def send(self, kind: bytes, *parts: str) -> None:
        chunks = [b""]
        size = 0
        for part in parts:
            data = _encode(part)
            chunks.append(_LEN.pack(len(data)))
            chunks.append(data)
            size += _LEN.size + len(data)
        chunks[0] = _HEAD.pack(size, kind)
        view = memoryview(b"".join(chunks))
        try:
            while view:
                view = view[os.write(self._wfd, view) :]
        except OSError as exc:  # a broken pipe: the other side is gone
            raise ChannelClosed(str(exc)) from exc

    def pending(self) -> bool:
        """Whether a frame (or part of one) is waiting to be read."""
        if self._buf:
            return True
        ready, _, _ = select.select([self._rfd], [], [], 0)
        return bool(ready)

    def recv(self, timeout: float | None = None) -> tuple[bytes, list[str]]:
        """The next frame as (kind, parts); ChannelTimeout when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._fill(_HEAD.size, deadline)
        size, kind = _HEAD.unpack_from(self._buf)
        self._fill(_HEAD.size + size, deadline)
        body = bytes(self._buf[_HEAD.size : _HEAD.size + size])
        del self._buf[: _HEAD.size + size]
        parts = []
        at = 0
        while at < len(body):
            (length,) = _LEN.unpack_from(body, at)
            at += _LEN.size
            parts.append(body[at : at + length].decode("utf-8", "surrogatepass"))
            at += length
        return kind, parts

    def _fill(self, size: int, deadline: float | None) -> None:
        while len(self._buf) < size:
            if deadline is not None:
                ready, _, _ = select.select([self._rfd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise ChannelTimeout()
            try:
                data = os.read(self._rfd, max(65536, size - len(self._buf)))
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc
            if not data:
                raise ChannelClosed("end of stream")
            self._buf += data

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fd in (self._rfd, self._wfd):
            try:
                os.close(fd)
            except OSError:
                pass
