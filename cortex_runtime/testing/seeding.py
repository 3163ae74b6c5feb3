"""``--seed``: a harness session's ids and random values, repeatable exactly.

``SeededIds`` is the session's source: ObjectIds (the time of the session's fake clock, five
bytes and a counter start drawn from the seed), the seeds of its runs' ``Math.random`` and the
bytes of ``crypto.randomBytes``, each from a stream of its own, so that drawing more of one
does not shift the others.

The object layer, the modules and the store make ids with ``bson.ObjectId()`` in many places;
``seeded_object_ids`` routes those to the source while a session is open, and puts
``ObjectId`` back as it was when the last open session closes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bson import ObjectId

from ..clock import Clock

__all__ = ["SeededIds", "seeded_object_ids"]

_COUNTER = 0xFFFFFF


class SeededIds:
    """Ids and random values of one session run with ``seed`` (sandbox/seeding.py ``Seeding``)."""

    def __init__(self, seed: int, clock: Clock) -> None:
        ids = random.Random(f"cortex-test ids {seed}")
        self._process = ids.randbytes(5)
        # In the lower half of the counter: a file's run would need 8 million ids in one second
        # of its clock to wrap, so ids keep increasing in creation order.
        self._counter = ids.randrange(_COUNTER // 2)
        self._runs = random.Random(f"cortex-test runs {seed}")
        self._bytes = random.Random(f"cortex-test bytes {seed}")
        self._clock = clock
        self._seconds = 0
        self._lock = threading.Lock()

    def binary(self) -> bytes:
        """A new id's 12 bytes: the clock's seconds (never less than the last id's), the
        session's five bytes, the next count."""
        with self._lock:
            self._seconds = max(self._seconds, int(self._clock.now().timestamp()))
            self._counter = (self._counter + 1) & _COUNTER
            return self._seconds.to_bytes(4, "big") + self._process + self._counter.to_bytes(3, "big")

    def object_id(self) -> str:
        return self.binary().hex()

    def run_seed(self) -> int:
        with self._lock:
            return self._runs.getrandbits(32)

    def random_bytes(self, count: int) -> bytes:
        with self._lock:
            return self._bytes.randbytes(count)


_original_init = ObjectId.__init__
_open: list[SeededIds] = []
_patch_lock = threading.Lock()


def _seeded_init(self: ObjectId, oid: Any = None) -> None:
    source = _open[-1] if oid is None and _open else None
    if source is None:
        _original_init(self, oid)
    else:
        self._ObjectId__id = source.binary()  # type: ignore[attr-defined]  # the slot ObjectId's own __init__ sets


@contextmanager
def seeded_object_ids(source: SeededIds) -> Iterator[SeededIds]:
    """While open, ``ObjectId()`` (no argument) takes its bytes from ``source`` (the innermost
    open one); ``ObjectId`` is restored when the last one closes, however it closes."""
    with _patch_lock:
        _open.append(source)
        ObjectId.__init__ = _seeded_init  # type: ignore[method-assign]
    try:
        yield source
    finally:
        with _patch_lock:
            _open.remove(source)
            if not _open:
                ObjectId.__init__ = _original_init  # type: ignore[method-assign]
