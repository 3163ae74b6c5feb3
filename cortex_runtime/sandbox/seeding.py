"""Seeded runs: what a Sandbox asks of its ``seeding`` (the test harness's ``--seed``) so that a
run's random values and ids repeat exactly. Without one, the engine's own randomness is used."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Seeding", "begin_prefix"]


class Seeding(Protocol):
    """The source of a seeded run's randomness, shared by every run of a session."""

    def run_seed(self) -> int:
        """The seed of the next run's ``Math.random`` (an unsigned 32-bit integer)."""
        ...

    def object_id(self) -> str:
        """A new ObjectId as 24 hex characters (what ``new ObjectID()`` gets in a seeded run)."""
        ...

    def random_bytes(self, count: int) -> bytes:
        """``count`` random bytes (``crypto.randomBytes`` in a seeded run)."""
        ...


def begin_prefix(seeding: Seeding | None) -> str:
    """What the run's first evaluation does before main: nothing, or seed the run (js_prelude/22_seed.js)."""
    if seeding is None:
        return ""
    return f'__cx_unit("seed").start({int(seeding.run_seed()) & 0xFFFFFFFF});'
