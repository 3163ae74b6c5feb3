"""Durable job schedules and run records, shared by every worker through the ``Store``.

Two collections, touched only here:

``jobs``      one schedule per ``(org, name)``::

                  {_id, org, name, cron, tz, next_run, active, payload,
                   lease_owner, lease_expires, lease_acquired, last_run}

``job_runs``  one record per run::

                  {_id, org, job, due, started, finished, status, duration_ms, ops, fault, worker}

Lease protocol (each cron run fires once across all workers):

* ``acquire_due`` claims one schedule at a time with ``find_one_and_update`` whose filter
  re-checks "active, due, and unleased or lease expired"; the database applies it atomically,
  so two workers can never both win the same due time.
* ``release`` advances ``next_run`` and clears the lease only while the caller still holds the
  lease it acquired (same owner and acquisition time) and the schedule still points at the
  claimed due time; otherwise it only drops its own lease. The run is recorded either way.
* A worker that dies mid-run leaves its lease to expire; the next worker takes the same due time.

Finding the due jobs: on a MongoDB server ``acquire_due`` is one query on the ``(active, next_run)``
index. The embedded store would answer that query by scanning every job, so there the claimable
moments are kept in process (``due.DueTimes``, shared through ``Store.local``) and each due job is
claimed by ``_id`` with the same filter; an idle tick reads no document at all.

Missed runs: when a worker (or the whole cluster) was down across several due times, the job
runs once for the oldest missed time and ``next_run`` skips to the first fire time after the
moment it was claimed. Replaying every missed run would burst a backlog of identical
maintenance runs into one instant, which is never what a cron job wants.

Datetimes are stored as naive UTC with millisecond precision (what BSON keeps) and handed back
timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from pymongo.errors import DuplicateKeyError

from ..clock import ensure_utc
from ..faults import Fault
from ..objects.store import map_store_errors
from .cron import DEFAULT_MAX_RUNS_PER_DAY, CronTrigger, check_daily_cap
from .due import DueTimes

if TYPE_CHECKING:
    from ..objects.store import Store

__all__ = ["Job", "JobResult", "JobRun", "JobStatus", "JobStore"]

JobStatus = Literal["completed", "failed"]

_ASCENDING = 1
_RETURN_AFTER = True  # pymongo.ReturnDocument.AFTER, without importing the driver here
_NO_LEASE: Mapping[str, None] = MappingProxyType({"lease_owner": None, "lease_expires": None, "lease_acquired": None})


def _to_db(moment: datetime) -> datetime:
    utc = ensure_utc(moment)
    return utc.replace(tzinfo=None, microsecond=utc.microsecond // 1000 * 1000)


def _from_db(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass(frozen=True)
class Job:
    """A schedule as read from the store; for an acquired job ``next_run`` is the due time being run."""

    id: Any
    org: Any
    name: str
    cron: str
    tz: str
    next_run: datetime
    active: bool
    payload: dict[str, Any] = field(default_factory=dict)
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    lease_acquired: datetime | None = None

    @property
    def trigger(self) -> CronTrigger:
        return CronTrigger(self.cron, self.tz)


@dataclass(frozen=True)
class JobResult:
    """What a runner reports for one run."""

    status: JobStatus
    ops: int = 0
    fault: Fault | None = None

    @classmethod
    def completed(cls, ops: int = 0) -> JobResult:
        return cls("completed", ops)

    @classmethod
    def failed(cls, fault: Fault, ops: int = 0) -> JobResult:
        return cls("failed", ops, fault)


@dataclass(frozen=True)
class JobRun:
    """One recorded run; ``fault`` is the fault's wire JSON for a failed run."""

    id: Any
    org: Any
    job: str
    due: datetime
    started: datetime
    finished: datetime
    status: JobStatus
    duration_ms: int
    ops: int
    fault: dict[str, Any] | None
    worker: str


def _job(doc: Mapping[str, Any]) -> Job:
    next_run = _from_db(doc["next_run"])
    assert next_run is not None
    return Job(
        id=doc["_id"],
        org=doc["org"],
        name=doc["name"],
        cron=doc["cron"],
        tz=doc.get("tz", "UTC"),
        next_run=next_run,
        active=bool(doc.get("active", True)),
        payload=dict(doc.get("payload") or {}),
        lease_owner=doc.get("lease_owner"),
        lease_expires=_from_db(doc.get("lease_expires")),
        lease_acquired=_from_db(doc.get("lease_acquired")),
    )


def _run(doc: Mapping[str, Any]) -> JobRun:
    due, started, finished = (_from_db(doc[key]) for key in ("due", "started", "finished"))
    assert due is not None and started is not None and finished is not None
    return JobRun(
        id=doc["_id"],
        org=doc["org"],
        job=doc["job"],
        due=due,
        started=started,
        finished=finished,
        status=doc["status"],
        duration_ms=doc["duration_ms"],
        ops=doc["ops"],
        fault=doc.get("fault"),
        worker=doc.get("worker", ""),
    )


class JobStore:
    """Cron schedules and their run history over the ``jobs`` and ``job_runs`` collections."""

    def __init__(self, store: Store, *, max_runs_per_day: int = DEFAULT_MAX_RUNS_PER_DAY) -> None:
        self._jobs = store.jobs
        self._runs = store.job_runs
        self._max_runs_per_day = max_runs_per_day
        # Only one process owns an embedded store, so its due times can be kept in that process.
        self._due: DueTimes | None = DueTimes.of(store) if store.embedded else None

    def upsert(
        self,
        org: Any,
        name: str,
        cron: str,
        payload: Mapping[str, Any] | None,
        now: datetime,
        *,
        tz: str = "UTC",
        active: bool = True,
    ) -> Job:
        """Create or update a schedule; a new, changed or re-activated one is due at its next time after ``now``.

        One read and one write, both on the ``(org, name)`` index; the returned job is the document
        as this call left it. Raises ``cortex.invalidArgument.unspecified`` for a bad expression and
        ``cortex.accessDenied.maxJobsPerDay`` past the daily cap.
        """
        trigger = CronTrigger(cron, tz)
        check_daily_cap(cron, self._max_runs_per_day, tz)
        fields: dict[str, Any] = {"cron": cron, "tz": tz, "active": active, "payload": dict(payload or {})}
        key = {"org": org, "name": name}
        with map_store_errors(), self._writing():
            existing = self._jobs.find_one(key)
            if (
                existing is not None
                and existing.get("cron") == cron
                and existing.get("tz", "UTC") == tz
                and bool(existing.get("active", True))
            ):
                # The same schedule, still active: next_run and the lease stay, so its due moment is
                # already recorded (or, when this deactivates it, left to go stale).
                self._jobs.update_one(key, {"$set": fields})
                return _job({**existing, **fields})
            fields["next_run"] = _to_db(trigger.next(now))
            if existing is None:
                doc = {**key, **_NO_LEASE, **fields}
                try:
                    self._jobs.insert_one(doc)  # sets doc["_id"]
                except DuplicateKeyError:
                    # Another caller created it since the read (on a server): update that one.
                    self._jobs.update_one(key, {"$set": fields})
                    doc = self._jobs.find_one(key)
            else:
                self._jobs.update_one(key, {"$set": fields})
                doc = {**existing, **fields}
            self._note(doc)
        return _job(doc)

    def get(self, org: Any, name: str) -> Job | None:
        with map_store_errors():
            doc = self._jobs.find_one({"org": org, "name": name})
        return None if doc is None else _job(doc)

    def remove(self, org: Any, name: str) -> bool:
        """Delete a schedule (its run records stay); False when there was none.

        Its due-time entries go stale: nothing can match a document that is gone.
        """
        with map_store_errors(), self._writing():
            return self._jobs.delete_one({"org": org, "name": name}).deleted_count > 0

    def acquire_due(self, worker_id: str, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        """Claim up to ``limit`` due schedules that are unleased or whose lease has expired, earliest first.

        Earliest by due time; on the embedded store by the moment each became claimable (for an
        expired lease, its expiry).
        """
        at = _to_db(now)
        claim = {"lease_owner": worker_id, "lease_expires": _to_db(now + lease), "lease_acquired": at}
        eligible = {
            "active": True,
            "next_run": {"$lte": at},
            "$or": [{"lease_owner": None}, {"lease_expires": {"$lte": at}}],
        }
        acquired: list[Job] = []
        with map_store_errors(), self._writing():
            while len(acquired) < limit:
                doc = self._claim_one(eligible, {"$set": claim}, at)
                if doc is None:
                    break
                acquired.append(_job(doc))
        return acquired

    def _claim_one(self, eligible: dict[str, Any], update: dict[str, Any], at: datetime) -> dict[str, Any] | None:
        """Claim the earliest claimable schedule with the atomic ``eligible`` filter; None when none is."""
        if self._due is None:
            return self._jobs.find_one_and_update(eligible, update, sort=[("next_run", _ASCENDING)], return_document=_RETURN_AFTER)
        while (job_id := self._due.pop_due(at)) is not None:
            doc = self._jobs.find_one_and_update({"_id": job_id, **eligible}, update, return_document=_RETURN_AFTER)
            if doc is not None:
                self._due.push(doc)  # claimable again if the lease runs out
                return doc
            # A stale entry; whatever changed the job recorded its current moment.
        return None

    def release(
        self,
        worker_id: str,
        job: Job,
        result: JobResult,
        now: datetime,
        *,
        started: datetime | None = None,
    ) -> JobRun:
        """Record the run of an acquired ``job`` finished at ``now``, advance its schedule and drop the lease."""
        finished = ensure_utc(now)
        claimed_at = job.lease_acquired or job.next_run
        began = ensure_utc(started) if started is not None else claimed_at
        # Skipping to the first time after the claim is what collapses a backlog into one run.
        following = job.trigger.next(max(job.next_run, claimed_at))
        holder = {"_id": job.id, "lease_owner": worker_id, "lease_acquired": _to_db(claimed_at)}
        record: dict[str, Any] = {
            "org": job.org,
            "job": job.name,
            "due": _to_db(job.next_run),
            "started": _to_db(began),
            "finished": _to_db(finished),
            "status": result.status,
            "duration_ms": max(0, round((finished - began).total_seconds() * 1000)),
            "ops": result.ops,
            "fault": result.fault.to_json() if result.fault is not None else None,
            "worker": worker_id,
        }
        advance = {"$set": {"next_run": _to_db(following), "last_run": {"due": record["due"], "status": result.status}, **_NO_LEASE}}
        with map_store_errors():
            with self._writing():
                doc = self._jobs.find_one_and_update(
                    {**holder, "next_run": _to_db(job.next_run)}, advance, return_document=_RETURN_AFTER
                )
                if doc is None:
                    # Rescheduled or re-claimed meanwhile: the schedule is someone else's to advance.
                    doc = self._jobs.find_one_and_update(holder, {"$set": dict(_NO_LEASE)}, return_document=_RETURN_AFTER)
                self._note(doc)
            record["_id"] = self._runs.insert_one(record).inserted_id
        return _run(record)

    def runs(self, org: Any, name: str) -> list[JobRun]:
        """Run records of one job, oldest due time first."""
        with map_store_errors():
            docs = list(self._runs.find({"org": org, "job": name}).sort([("due", _ASCENDING), ("started", _ASCENDING)]))
        return [_run(doc) for doc in docs]

    def next_wakeup(self, now: datetime | None = None) -> datetime | None:
        """The earliest moment any active schedule could become claimable, or None without schedules.

        On a server, ``now`` keeps the query for held leases on the index: a job is leased
        only once due, so only jobs with ``next_run <= now`` can hold one (a job rescheduled
        mid-run is then missed, which costs at most one poll interval).
        """
        with map_store_errors():
            if self._due is not None:
                return _from_db(self._due.earliest())
            held_filter: dict[str, Any] = {"active": True, "lease_owner": {"$ne": None}}
            if now is not None:
                held_filter["next_run"] = {"$lte": _to_db(now)}
            free = self._jobs.find_one({"active": True, "lease_owner": None}, sort=[("next_run", _ASCENDING)])
            held = self._jobs.find_one(held_filter, sort=[("lease_expires", _ASCENDING)])
        moments = [
            moment
            for moment in (_from_db(free["next_run"]) if free else None, _from_db(held["lease_expires"]) if held else None)
            if moment is not None
        ]
        return min(moments, default=None)

    def _writing(self) -> AbstractContextManager[Any]:
        """Held around every write to ``jobs``: keeps the in-process due times in step with the documents."""
        return self._due.lock if self._due is not None else nullcontext()

    def _note(self, doc: Mapping[str, Any] | None) -> None:
        """Record when ``doc``, as just written, becomes claimable (embedded store only)."""
        if self._due is not None:
            self._due.push(doc)
