"""Values derived from stored documents, kept while the documents they came from are unchanged.

The caller's org, app and account are read on every request. On the embedded store each read is
a mongomock query that copies the document it finds; what a request needs from them (an ``Org``,
the org's ``App`` list, a ``Principal``) is immutable and can be kept instead. A ``StoreMemo``
keeps such values under the change counters of the collections they were read from
(``Store.generation``): any write to one of those collections makes every value stale, so a hit
is always what a fresh read would give. Only the embedded store has such counters (one process
owns it); on MongoDB other processes write too, so every ``get`` computes afresh there.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .store import Store

__all__ = ["StoreMemo"]

T = TypeVar("T")


class StoreMemo:
    """Immutable values keyed by the caller, valid while ``collections`` are unchanged."""

    def __init__(self, store: Store, collections: tuple[str, ...], size: int = 4096) -> None:
        self._store = store
        self._collections = collections
        self._size = size
        self._values: dict[Hashable, tuple[tuple[int, ...], Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value for ``key``: kept if its collections have not changed since, else ``compute()``.
        What ``compute`` raises is never kept."""
        generation = self._store.generation(*self._collections)
        if generation is None:
            return compute()
        hit = self._values.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = compute()
        if len(self._values) >= self._size:
            self._values.clear()  # stale entries pile up under old generations; start over
        # Read again: compute() may itself have written (a first login, say), and then what it
        # returned was derived before that write.
        if self._store.generation(*self._collections) == generation:
            self._values[key] = (generation, value)
        return value
