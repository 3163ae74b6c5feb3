"""Finding due jobs without scanning them: the in-process due times of the embedded store.

Tests taking ``store`` run on both code paths (the embedded store's heap in ``Store.local``, and
the server path's indexed query; conftest.py), since both must claim the same jobs.
Nothing here asserts a duration; ``bench/bench_scheduler.py`` reports the times.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cortex_runtime.clock import FakeClock
from cortex_runtime.objects.store import Store
from cortex_runtime.scheduler import Job, JobResult, JobStore, Scheduler
from cortex_runtime.scheduler import due as due_module
from cortex_runtime.scheduler.due import DueTimes

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)
ORG = "org-1"
LEASE = timedelta(seconds=60)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def names(claimed: list[Job]) -> list[str]:
    return [job.name for job in claimed]


def test_a_job_upserted_through_another_job_store_is_claimed(store: Store) -> None:
    worker = JobStore(store)
    assert worker.next_wakeup() is None
    assert worker.acquire_due("a", at(60), LEASE, 10) == []
    # A deployment writes through its own JobStore over the same Store.
    JobStore(store).upsert(ORG, "late", "*/5 * * * *", None, START)
    assert worker.next_wakeup() == at(5)
    assert worker.acquire_due("a", at(4), LEASE, 10) == []
    assert names(worker.acquire_due("a", at(5), LEASE, 10)) == ["late"]


def test_a_removed_job_is_never_claimed(store: Store) -> None:
    jobs = JobStore(store)
    jobs.upsert(ORG, "gone", "*/5 * * * *", None, START)
    jobs.upsert(ORG, "kept", "*/10 * * * *", None, START)
    assert jobs.next_wakeup() == at(5)
    assert JobStore(store).remove(ORG, "gone") is True
    assert jobs.next_wakeup() == at(10)
    for minute in range(1, 10):
        assert jobs.acquire_due("a", at(minute), LEASE, 10) == []
    assert names(jobs.acquire_due("a", at(10), LEASE, 10)) == ["kept"]

    # Removed while leased: its release records the run but brings nothing back.
    [kept] = jobs.acquire_due("a", at(20), LEASE, 10)
    jobs.remove(ORG, "kept")
    jobs.release("a", kept, JobResult.completed(), at(20))
    assert jobs.get(ORG, "kept") is None
    assert jobs.acquire_due("b", at(120), LEASE, 10) == []
    assert jobs.next_wakeup() is None


def test_a_job_removed_and_created_again_runs_once_per_due_time(store: Store) -> None:
    jobs = JobStore(store)
    jobs.upsert(ORG, "again", "*/5 * * * *", None, START)
    jobs.remove(ORG, "again")
    jobs.upsert(ORG, "again", "*/5 * * * *", None, START)
    [job] = jobs.acquire_due("a", at(5), LEASE, 10)
    assert jobs.acquire_due("b", at(5), LEASE, 10) == []
    assert job.id == jobs.get(ORG, "again").id  # type: ignore[union-attr]


def test_a_rescheduled_job_is_claimed_at_its_new_time_not_the_old(store: Store) -> None:
    jobs = JobStore(store)
    jobs.upsert(ORG, "stats", "*/5 * * * *", None, START)
    moved = JobStore(store).upsert(ORG, "stats", "0 * * * *", None, at(1))
    assert moved.next_run == at(60)
    assert jobs.next_wakeup() == at(60)
    for minute in (5, 10, 30, 59):
        assert jobs.acquire_due("a", at(minute), LEASE, 10) == []
    [job] = jobs.acquire_due("a", at(60), LEASE, 10)
    assert job.next_run == at(60)

    # Moved earlier than an entry already waiting: the new, earlier time wins.
    jobs.upsert(ORG, "daily", "0 0 * * *", None, START)
    jobs.upsert(ORG, "daily", "30 * * * *", None, START)
    assert names(jobs.acquire_due("a", at(30), LEASE, 10)) == ["daily"]


def test_a_deactivated_job_is_not_claimed_until_reactivated(store: Store) -> None:
    jobs = JobStore(store)
    jobs.upsert(ORG, "paused", "*/5 * * * *", None, START)
    jobs.upsert(ORG, "paused", "*/5 * * * *", None, at(1), active=False)
    assert jobs.acquire_due("a", at(30), LEASE, 10) == []
    assert jobs.next_wakeup() is None
    jobs.upsert(ORG, "paused", "*/5 * * * *", None, at(31))
    assert jobs.acquire_due("a", at(34), LEASE, 10) == []
    assert [job.next_run for job in jobs.acquire_due("a", at(35), LEASE, 10)] == [at(35)]


def test_an_expired_lease_is_claimable_again_by_another_worker(store: Store) -> None:
    first, second = JobStore(store), JobStore(store)
    first.upsert(ORG, "stats", "*/5 * * * *", None, START)
    [stranded] = first.acquire_due("a", at(5), LEASE, 10)  # worker a dies with the lease
    assert second.next_wakeup() == at(6)
    assert second.acquire_due("b", at(5.5), LEASE, 10) == []
    [taken] = second.acquire_due("b", at(6), LEASE, 10)
    assert (taken.next_run, taken.lease_owner) == (stranded.next_run, "b")
    assert first.acquire_due("a", at(6.5), LEASE, 10) == []
    second.release("b", taken, JobResult.completed(), at(6.5))
    # The late release of the dead worker changes nothing; the next due time is 10.
    first.release("a", stranded, JobResult.completed(), at(7))
    assert second.next_wakeup() == at(10)
    assert second.acquire_due("b", at(9), LEASE, 10) == []
    assert [job.next_run for job in first.acquire_due("a", at(10), LEASE, 10)] == [at(10)]
    # Both runs of due time 5 are recorded (the dead worker's, started first, too).
    assert [(run.worker, run.due) for run in first.runs(ORG, "stats")] == [("a", at(5)), ("b", at(5))]


def test_idle_ticks_with_many_jobs_claim_nothing(store: Store) -> None:
    jobs = JobStore(store)
    for i in range(300):
        jobs.upsert(ORG, f"job-{i}", f"{i % 60}-59/5 * * * *", {"i": i}, START)
    ran: list[Job] = []

    def runner(job: Job) -> JobResult:
        ran.append(job)
        return JobResult.completed()

    clock = FakeClock(START + timedelta(seconds=30))
    scheduler = Scheduler(jobs, runner, clock, worker_id="a")
    for _ in range(50):
        assert scheduler.tick() == []
        assert jobs.next_wakeup(clock.now()) == at(1)
    clock.set(at(1))
    while scheduler.tick():
        pass
    assert sorted(job.name for job in ran) == sorted(f"job-{i}" for i in range(300) if i % 60 == 1)
    for _ in range(50):
        assert scheduler.tick() == []
    assert jobs.next_wakeup(clock.now()) == at(2)
    assert len(jobs.runs(ORG, "job-1")) == 1


def test_an_idle_tick_on_the_embedded_store_reads_no_job(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(None)
    jobs = JobStore(store)
    for i in range(100):
        jobs.upsert(ORG, f"job-{i}", "*/5 * * * *", None, START)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an idle tick touched the jobs collection")

    for method in ("find", "find_one", "find_one_and_update", "update_one", "update_many"):
        monkeypatch.setattr(store.jobs, method, refuse)
    scheduler = Scheduler(jobs, lambda job: JobResult.completed(), FakeClock(at(4)), worker_id="a")
    assert scheduler.tick() == []


def test_jobs_already_in_a_reopened_store_are_found(tmp_path: Path) -> None:
    store = Store.open(None, data_dir=tmp_path)
    jobs = JobStore(store)
    jobs.upsert(ORG, "early", "*/5 * * * *", None, START)
    jobs.upsert(ORG, "later", "*/10 * * * *", None, START)
    [leased] = jobs.acquire_due("a", at(5), LEASE, 10)  # the process stops mid-run
    store.close()

    reopened = JobStore(Store.open(None, data_dir=tmp_path))
    assert reopened.next_wakeup() == at(6)
    assert reopened.acquire_due("b", at(5.5), LEASE, 10) == []
    assert names(reopened.acquire_due("b", at(10), LEASE, 10)) == ["early", "later"]
    assert leased.name == "early"


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    """Switch threads as often as possible, inside store operations too."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("fast_thread_switches")
def test_threads_sharing_an_embedded_store_claim_each_due_time_once() -> None:
    store = Store.open(None)
    for i in range(60):
        jobs = JobStore(store)
        jobs.upsert(ORG, f"job-{i}", "*/5 * * * *", None, START)
        # Moved away and back: two entries for due time 5 that both match the document.
        jobs.upsert(ORG, f"job-{i}", "*/10 * * * *", None, START)
        jobs.upsert(ORG, f"job-{i}", "*/5 * * * *", None, START)
    claimed: list[tuple[str, datetime]] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        jobs = JobStore(store)  # each thread its own JobStore, sharing the store's due times
        start.wait()
        while batch := jobs.acquire_due(name, at(5), LEASE, 3):
            with lock:
                claimed.extend((job.name, job.next_run) for job in batch)

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted((f"job-{i}", at(5)) for i in range(60))


def test_stale_entries_are_compacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(due_module, "_SLACK", 8)
    store = Store.open(None)
    jobs = JobStore(store)
    jobs.upsert(ORG, "other", "0 0 1 1 *", None, START)
    # Flipping between two far-apart schedules leaves one stale entry per flip.
    for flip in range(201):
        jobs.upsert(ORG, "flip", "0 0 1 6 *" if flip % 2 else "0 0 1 3 *", None, START)
    due = DueTimes.of(store)
    assert len(due) <= 2 * 2 + 8 + 1
    assert due is DueTimes.of(store)
    assert jobs.next_wakeup() == datetime(2024, 3, 1, tzinfo=UTC)
    assert names(jobs.acquire_due("a", datetime(2024, 6, 2, tzinfo=UTC), LEASE, 10)) == ["flip"]



def test_an_upsert_that_loses_a_create_race_updates_the_winner(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = JobStore(store)
    winner = jobs.upsert(ORG, "raced", "*/5 * * * *", {"by": "winner"}, START)
    real_find_one = store.jobs.find_one
    reads = 0

    def find_one(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return None if reads == 1 else real_find_one(*args, **kwargs)  # the first read misses the winner's job

    monkeypatch.setattr(store.jobs, "find_one", find_one)
    loser = jobs.upsert(ORG, "raced", "*/10 * * * *", {"by": "loser"}, at(1))
    monkeypatch.undo()
    assert (loser.id, loser.next_run, loser.payload) == (winner.id, at(10), {"by": "loser"})
    assert store.jobs.count_documents({"org": ORG, "name": "raced"}) == 1
    assert [job.next_run for job in jobs.acquire_due("a", at(10), LEASE, 10)] == [at(10)]


def test_a_job_created_by_another_caller_between_read_and_write_is_updated_not_doubled(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # upsert reads, then inserts; a creator in between (another server process) makes the insert a
    # duplicate, and the upsert updates that job instead.
    jobs = JobStore(store)
    jobs.upsert(ORG, "raced", "*/10 * * * *", {"from": "other"}, START)
    collection = store.jobs
    real_find_one = collection.find_one
    calls = []

    def find_one(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return None if len(calls) == 1 else real_find_one(*args, **kwargs)

    monkeypatch.setattr(collection, "find_one", find_one)
    job = JobStore(store).upsert(ORG, "raced", "*/5 * * * *", {"from": "me"}, START)
    monkeypatch.undo()
    assert (job.cron, dict(job.payload)) == ("*/5 * * * *", {"from": "me"})
    assert store.jobs.count_documents({"org": ORG, "name": "raced"}) == 1
    assert store.jobs.find_one({"org": ORG, "name": "raced"})["cron"] == "*/5 * * * *"
