"""When each job of an embedded store becomes claimable, kept in process.

The embedded store answers a range query such as ``next_run <= now`` sorted by ``next_run`` by
scanning the whole ``jobs`` collection, so an idle tick would read every schedule. One process
owns an embedded store, so it can instead keep a heap of ``(moment, seq, job _id)`` entries in
``Store.local``, shared by every ``JobStore`` over that store:

* the moment is when the job document becomes claimable (``claimable_at``);
* every write to ``jobs`` pushes the moment of the document it leaves behind, so the entry that
  matches a document's current state is always in the heap;
* entries are hints, never the truth: the claim re-checks the document in the database, and
  ``earliest`` reads the document by ``_id``. An entry that no longer matches its document
  (rescheduled, claimed, released, deactivated or removed since) is stale and dropped when it
  reaches the top.

Every write to ``jobs`` runs under ``lock`` together with its push. That keeps the heap in step
with the documents, and makes each ``find_one_and_update`` atomic among the threads of the
process (mongomock's ``find_one_and_update`` finds the document, then updates it by ``_id``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pymongo.collection import Collection

    from ..objects.store import Store

__all__ = ["DueTimes", "claimable_at"]

_LOCAL_KEY = "scheduler.due_times"
_CREATE_LOCK = threading.Lock()
_FIELDS = {"active": 1, "next_run": 1, "lease_owner": 1, "lease_expires": 1}
# Stale entries tolerated beyond one per job before the heap is compacted.
_SLACK = 1024


def claimable_at(doc: Mapping[str, Any] | None) -> datetime | None:
    """The moment ``acquire_due``'s filter starts to match ``doc`` (naive UTC), None if it never will.

    The filter is "active, next_run <= now, and unleased or lease_expires <= now".
    """
    if doc is None or doc.get("active") is not True:
        return None
    next_run = doc.get("next_run")
    if not isinstance(next_run, datetime):
        return None
    if doc.get("lease_owner") is None:
        return next_run
    expires = doc.get("lease_expires")
    return max(next_run, expires) if isinstance(expires, datetime) else None


class DueTimes:
    """A heap of claimable moments over one embedded store's ``jobs`` (see the module docstring)."""

    def __init__(self, jobs: Collection[Any]) -> None:
        self.lock = threading.RLock()
        self._jobs = jobs
        self._heap: list[tuple[datetime, int, Any]] = []
        self._entries: Counter[Any] = Counter()  # heap entries per job _id
        self._seq = itertools.count()  # breaks ties in push order; _ids need not be comparable
        with self.lock:
            for doc in jobs.find({"active": True}, _FIELDS):
                self.push(doc)

    @classmethod
    def of(cls, store: Store) -> DueTimes:
        """The one instance of ``store``, built from its collection on first use."""
        with _CREATE_LOCK:
            due: DueTimes | None = store.local.get(_LOCAL_KEY)
            if due is None:
                due = store.local[_LOCAL_KEY] = cls(store.jobs)
            return due

    def push(self, doc: Mapping[str, Any] | None) -> None:
        """Record the claimable moment of ``doc`` as it is after a write (nothing for an inactive job)."""
        moment = claimable_at(doc)
        if doc is None or moment is None:
            return
        with self.lock:
            heapq.heappush(self._heap, (moment, next(self._seq), doc["_id"]))
            self._entries[doc["_id"]] += 1
            if len(self._heap) > 2 * len(self._entries) + _SLACK:
                self._compact()

    def pop_due(self, at: datetime) -> Any | None:
        """Take the ``_id`` of the earliest entry due at ``at`` (naive UTC), or None when none is."""
        with self.lock:
            if not self._heap or self._heap[0][0] > at:
                return None
            return self._pop()

    def earliest(self) -> datetime | None:
        """The earliest moment (naive UTC) any job becomes claimable, dropping stale entries on the way.

        Each top entry is checked against its document, read by ``_id`` under the lock, so no
        write can slip in between the check and the drop.
        """
        with self.lock:
            while self._heap:
                moment, _, job_id = self._heap[0]
                if claimable_at(self._jobs.find_one({"_id": job_id}, _FIELDS)) == moment:
                    return moment
                self._pop()
            return None

    def __len__(self) -> int:
        with self.lock:
            return len(self._heap)

    def _pop(self) -> Any:
        _, _, job_id = heapq.heappop(self._heap)
        left = self._entries[job_id] - 1
        if left > 0:
            self._entries[job_id] = left
        else:
            del self._entries[job_id]
        return job_id

    def _compact(self) -> None:
        # Jobs rescheduled far ahead of their old time (or removed) leave entries that would only
        # surface much later; keep one entry per job, read by _id, never a scan of the collection.
        ids = list(self._entries)
        self._heap.clear()
        self._entries.clear()
        for job_id in ids:
            doc = self._jobs.find_one({"_id": job_id}, _FIELDS)
            moment = claimable_at(doc)
            if moment is not None:
                self._heap.append((moment, next(self._seq), job_id))
                self._entries[job_id] = 1
        heapq.heapify(self._heap)
