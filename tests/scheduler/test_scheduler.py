"""Tests for cortex_runtime.scheduler and cortex_runtime.clock.

Everything runs on a ``FakeClock`` and a mongomock ``Store`` (the embedded store and the server
code path, see conftest.py): time only moves when a test advances it, and several ``Scheduler``
instances share one store the way workers share MongoDB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from cortex_runtime.clock import Clock, FakeClock, SystemClock
from cortex_runtime.faults import Fault
from cortex_runtime.objects.store import Store
from cortex_runtime.scheduler import (
    DEFAULT_MAX_RUNS_PER_DAY,
    CronTrigger,
    Job,
    JobResult,
    JobStore,
    Scheduler,
    check_daily_cap,
    runs_per_day,
)

UTC = timezone.utc
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
ORG = "org-1"
INVALID = "cortex.invalidArgument.unspecified"
MAX_JOBS = "cortex.accessDenied.maxJobsPerDay"


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


class Recorder:
    """A runner that remembers which worker ran which due time."""

    def __init__(self, name: str, calls: list[tuple[str, datetime]], action: Callable[[Job], JobResult] | None = None) -> None:
        self.name = name
        self.calls = calls
        self.action = action

    def __call__(self, job: Job) -> JobResult:
        self.calls.append((self.name, job.next_run))
        return self.action(job) if self.action else JobResult.completed(ops=7)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def jobs(store: Store) -> JobStore:
    return JobStore(store)


# --- clock -----------------------------------------------------------------------------------


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(START)
    assert isinstance(clock, Clock)
    assert clock.now() == START
    assert clock.advance(90) == START + timedelta(seconds=90)
    clock.advance(timedelta(minutes=1))
    clock.sleep(0.5)
    clock.sleep(-3)
    assert clock.now() == START + timedelta(seconds=150.5)
    clock.set(at(-10))
    assert clock.now() == at(-10)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        FakeClock(datetime(2024, 1, 1))


def test_system_clock_is_utc_aware() -> None:
    clock = SystemClock()
    assert isinstance(clock, Clock)
    assert clock.now().utcoffset() == timedelta(0)
    clock.sleep(0)


# --- cron triggers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "tz", "after", "expected"),
    [
        ("*/5 * * * *", "UTC", START, at(5)),
        ("*/5 * * * *", "UTC", at(3), at(5)),
        ("*/5 * * * *", "UTC", at(5), at(10)),
        ("*/5 * * * *", "UTC", at(5) - timedelta(microseconds=1), at(5)),
        ("* * * * *", "UTC", at(0.5), at(1)),
        ("0 * * * *", "UTC", at(0.5), at(60)),
        ("30 2 * * *", "UTC", datetime(2024, 1, 1, 3, tzinfo=UTC), datetime(2024, 1, 2, 2, 30, tzinfo=UTC)),
        ("0 9 * * 1-5", "UTC", datetime(2024, 1, 5, 10, tzinfo=UTC), datetime(2024, 1, 8, 9, tzinfo=UTC)),
        ("15 10 * * MON", "UTC", datetime(2024, 1, 1, 10, 15, tzinfo=UTC), datetime(2024, 1, 8, 10, 15, tzinfo=UTC)),
        ("0 0 1 * *", "UTC", datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
        ("0 0 29 2 *", "UTC", datetime(2024, 3, 1, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        ("0 12 * * *", "America/New_York", START, datetime(2024, 1, 1, 17, tzinfo=UTC)),
        ("0 12 * * *", "America/New_York", datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 7, 1, 16, tzinfo=UTC)),
    ],
)
def test_cron_next_is_strictly_after(expression: str, tz: str, after: datetime, expected: datetime) -> None:
    fired = CronTrigger(expression, tz).next(after)
    assert fired == expected
    assert fired.tzinfo == UTC


def test_cron_trigger_is_a_pure_value() -> None:
    assert CronTrigger("*/5 * * * *") == CronTrigger("*/5 * * * *")
    assert CronTrigger("*/5 * * * *").next(START) == CronTrigger("*/5 * * * *").next(START)
    with pytest.raises(ValueError):
        CronTrigger("* * * * *").next(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "* * * *",
        "* * * * * *",
        "0 0 * * * * 2024",
        "@daily",
        "61 * * * *",
        "* 24 * * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "0-70 * * * *",
        "foo bar baz qux quux",
        "R * * * *",
        "H * * * *",
        "0 0 30 2 *",
    ],
)
def test_invalid_cron_expressions(expression: str) -> None:
    with pytest.raises(Fault) as caught:
        CronTrigger(expression)
    assert caught.value.errCode == INVALID
    assert caught.value.status == 400
    assert caught.value.path == "cron"
    assert caught.value.reason


def test_unknown_time_zone() -> None:
    with pytest.raises(Fault) as caught:
        CronTrigger("* * * * *", "Mars/Olympus_Mons")
    assert (caught.value.errCode, caught.value.path) == (INVALID, "tz")


# --- daily cap -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "count"),
    [
        ("* * * * *", 1440),
        ("*/5 * * * *", 288),
        ("0 * * * *", 24),
        ("0 0 * * *", 1),
        ("0 0 1 * *", 1),
        ("0 * * * 3", 24),
        ("*/10 9-17 * * 1-5", 54),
    ],
)
def test_runs_per_day(expression: str, count: int) -> None:
    assert runs_per_day(expression) == count


def test_runs_per_day_stops_early() -> None:
    assert runs_per_day("* * * * *", stop_after=10) == 10


def test_daily_cap() -> None:
    assert DEFAULT_MAX_RUNS_PER_DAY == 8640
    check_daily_cap("* * * * *")
    check_daily_cap("0 * * * *", cap=24)
    with pytest.raises(Fault) as caught:
        check_daily_cap("*/5 * * * *", cap=24)
    fault = caught.value
    assert (fault.errCode, fault.code, fault.status) == (MAX_JOBS, "kMaxAllowed", 403)
    with pytest.raises(Fault) as invalid:
        check_daily_cap("*/5 * * * * *")
    assert invalid.value.errCode == INVALID


def test_job_store_refuses_schedules_past_its_cap(store: Store) -> None:
    capped = JobStore(store, max_runs_per_day=24)
    with pytest.raises(Fault) as caught:
        capped.upsert(ORG, "busy", "*/30 * * * *", None, START)
    assert caught.value.errCode == MAX_JOBS
    assert capped.get(ORG, "busy") is None
    assert capped.upsert(ORG, "hourly", "0 * * * *", None, START).next_run == at(60)


# --- job store -------------------------------------------------------------------------------


def test_upsert_reschedules_only_on_change(jobs: JobStore) -> None:
    job = jobs.upsert(ORG, "stats", "*/5 * * * *", {"script": "a"}, START)
    assert (job.next_run, job.payload, job.active, job.lease_owner) == (at(5), {"script": "a"}, True, None)
    same = jobs.upsert(ORG, "stats", "*/5 * * * *", {"script": "b"}, at(3))
    assert (same.id, same.next_run, same.payload) == (job.id, at(5), {"script": "b"})
    changed = jobs.upsert(ORG, "stats", "0 * * * *", {"script": "b"}, at(3))
    assert (changed.id, changed.next_run) == (job.id, at(60))
    other_org = jobs.upsert("org-2", "stats", "*/5 * * * *", None, at(3))
    assert other_org.id != job.id


def test_inactive_and_removed_jobs_do_not_run(jobs: JobStore) -> None:
    jobs.upsert(ORG, "paused", "*/5 * * * *", None, START, active=False)
    jobs.upsert(ORG, "gone", "*/5 * * * *", None, START)
    assert jobs.remove(ORG, "gone") is True
    assert jobs.remove(ORG, "gone") is False
    assert jobs.acquire_due("w", at(60), timedelta(seconds=60), 10) == []
    assert jobs.next_wakeup() is None
    resumed = jobs.upsert(ORG, "paused", "*/5 * * * *", None, at(61))
    assert resumed.next_run == at(65)


def test_a_claimed_due_time_cannot_be_claimed_again(jobs: JobStore) -> None:
    jobs.upsert(ORG, "stats", "*/5 * * * *", None, START)
    lease = timedelta(seconds=60)
    assert jobs.acquire_due("a", at(4), lease, 10) == []
    [claimed] = jobs.acquire_due("a", at(5), lease, 10)
    assert (claimed.lease_owner, claimed.next_run, claimed.lease_expires) == ("a", at(5), at(6))
    assert jobs.acquire_due("b", at(5), lease, 10) == []
    assert jobs.acquire_due("a", at(5.5), lease, 10) == []
    assert jobs.next_wakeup() == at(6)


def test_acquire_respects_limit_and_order(jobs: JobStore) -> None:
    for name, cron in [("hourly", "0 * * * *"), ("five", "*/5 * * * *"), ("ten", "*/10 * * * *")]:
        jobs.upsert(ORG, name, cron, None, START)
    assert jobs.next_wakeup() == at(5)
    first = jobs.acquire_due("a", at(60), timedelta(seconds=60), 2)
    assert [job.name for job in first] == ["five", "ten"]
    assert [job.name for job in jobs.acquire_due("b", at(60), timedelta(seconds=60), 2)] == ["hourly"]


def test_release_records_run_and_advances(jobs: JobStore) -> None:
    jobs.upsert(ORG, "stats", "*/5 * * * *", None, START)
    [job] = jobs.acquire_due("a", at(5), timedelta(seconds=60), 1)
    run = jobs.release("a", job, JobResult.completed(ops=42), at(5) + timedelta(seconds=2.5), started=at(5))
    assert (run.job, run.due, run.status, run.ops, run.duration_ms, run.fault, run.worker) == (
        "stats", at(5), "completed", 42, 2500, None, "a",
    )
    assert jobs.runs(ORG, "stats") == [run]
    after = jobs.get(ORG, "stats")
    assert after is not None
    assert (after.next_run, after.lease_owner, after.lease_expires) == (at(10), None, None)


def test_release_after_reschedule_keeps_new_schedule(jobs: JobStore) -> None:
    jobs.upsert(ORG, "stats", "*/5 * * * *", None, START)
    [job] = jobs.acquire_due("a", at(5), timedelta(seconds=60), 1)
    jobs.upsert(ORG, "stats", "0 * * * *", None, at(5))
    jobs.release("a", job, JobResult.completed(), at(5))
    after = jobs.get(ORG, "stats")
    assert after is not None
    assert (after.next_run, after.lease_owner) == (at(60), None)
    assert [run.due for run in jobs.runs(ORG, "stats")] == [at(5)]


# --- scheduler -------------------------------------------------------------------------------


def test_two_workers_share_one_store_and_run_each_due_time_once(store: Store, clock: FakeClock) -> None:
    calls: list[tuple[str, datetime]] = []
    JobStore(store).upsert(ORG, "stats", "*/5 * * * *", {"script": "stats"}, clock.now())
    # Separate JobStore objects over one database, as two processes would have.
    a = Scheduler(JobStore(store), Recorder("a", calls), clock, worker_id="a")
    b = Scheduler(JobStore(store), Recorder("b", calls), clock, worker_id="b")
    for minute in range(1, 121):
        clock.advance(60)
        first, second = (a, b) if minute % 2 else (b, a)
        first.tick()
        second.tick()

    expected = [at(5 * k) for k in range(1, 25)]
    runs = JobStore(store).runs(ORG, "stats")
    assert [run.due for run in runs] == expected
    assert sorted(due for _, due in calls) == expected
    assert all(run.status == "completed" and run.ops == 7 for run in runs)
    assert {run.worker for run in runs} == {"a", "b"}
    assert {name for name, _ in calls} == {"a", "b"}


def test_runner_failures_are_recorded_and_the_schedule_continues(jobs: JobStore, clock: FakeClock) -> None:
    calls: list[tuple[str, datetime]] = []
    outcomes: list[JobResult | Exception] = [
        RuntimeError("boom"),
        Fault("script.error.unspecified", "thrown by script"),
        JobResult.failed(Fault("script.timeout.execution"), ops=3),
        JobResult.completed(),
    ]

    def action(job: Job) -> JobResult:
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    scheduler = Scheduler(jobs, Recorder("a", calls, action), clock, worker_id="a")
    jobs.upsert(ORG, "flaky", "*/5 * * * *", None, clock.now())
    for _ in range(4):
        clock.advance(timedelta(minutes=5))
        [run] = scheduler.tick()
        assert run.due == clock.now()

    runs = jobs.runs(ORG, "flaky")
    assert [run.status for run in runs] == ["failed", "failed", "failed", "completed"]
    assert [run.due for run in runs] == [at(5), at(10), at(15), at(20)]
    first, second, third, fourth = (run.fault for run in runs)
    assert first is not None and first["errCode"] == "cortex.error.unspecified"
    assert first["status"] == 500 and "RuntimeError: boom" in first["reason"]
    assert second is not None and (second["errCode"], second["message"]) == ("script.error.unspecified", "thrown by script")
    assert third is not None and third["code"] == "kTimeout" and runs[2].ops == 3
    assert fourth is None


def test_expired_lease_lets_another_worker_take_the_job(jobs: JobStore, clock: FakeClock) -> None:
    calls: list[tuple[str, datetime]] = []
    jobs.upsert(ORG, "stats", "*/5 * * * *", None, clock.now())
    survivor = Scheduler(jobs, Recorder("b", calls), clock, worker_id="b")

    clock.set(at(5))
    [stranded] = jobs.acquire_due("a", clock.now(), timedelta(seconds=60), 10)  # worker a dies here
    clock.advance(30)
    assert survivor.tick() == []
    clock.advance(30)
    [run] = survivor.tick()
    assert (run.due, run.worker) == (at(5), "b")
    assert calls == [("b", at(5))]
    job = jobs.get(ORG, "stats")
    assert job is not None and (job.next_run, job.lease_owner) == (at(10), None)

    # The dead worker coming back to release late must not move the schedule again.
    clock.set(at(10))
    [claimed] = jobs.acquire_due("b", clock.now(), timedelta(seconds=60), 10)
    jobs.release("a", stranded, JobResult.completed(), clock.now())
    job = jobs.get(ORG, "stats")
    assert job is not None and (job.next_run, job.lease_owner) == (at(10), "b")
    jobs.release("b", claimed, JobResult.completed(), clock.now())
    job = jobs.get(ORG, "stats")
    assert job is not None and (job.next_run, job.lease_owner) == (at(15), None)


def test_worker_down_for_an_hour_runs_once_then_on_schedule(jobs: JobStore, clock: FakeClock) -> None:
    calls: list[tuple[str, datetime]] = []
    scheduler = Scheduler(jobs, Recorder("a", calls), clock, worker_id="a")
    jobs.upsert(ORG, "stats", "*/5 * * * *", None, clock.now())
    clock.set(at(5))
    assert len(scheduler.tick()) == 1

    clock.set(at(67))
    [catch_up] = scheduler.tick()
    assert catch_up.due == at(10)
    assert scheduler.tick() == []
    job = jobs.get(ORG, "stats")
    assert job is not None and job.next_run == at(70)
    for minute in range(68, 81):
        clock.set(at(minute))
        scheduler.tick()
    assert [run.due for run in jobs.runs(ORG, "stats")] == [at(5), at(10), at(70), at(75), at(80)]


def test_tick_skips_jobs_whose_lease_ran_out_during_the_batch(jobs: JobStore, clock: FakeClock) -> None:
    calls: list[tuple[str, datetime]] = []

    def slow(job: Job) -> JobResult:
        clock.advance(40)
        return JobResult.completed()

    jobs.upsert(ORG, "one", "*/5 * * * *", None, clock.now())
    jobs.upsert(ORG, "two", "*/5 * * * *", None, clock.now())
    scheduler = Scheduler(jobs, Recorder("a", calls, slow), clock, worker_id="a", lease=timedelta(seconds=30))
    clock.set(at(5))
    runs = scheduler.tick()
    assert len(runs) == 1 and len(calls) == 1
    [left] = jobs.acquire_due("b", clock.now(), timedelta(seconds=30), 10)
    assert left.name != runs[0].job and left.next_run == at(5)


def test_run_forever_sleeps_on_the_clock_until_stopped(jobs: JobStore, clock: FakeClock) -> None:
    calls: list[tuple[str, datetime]] = []
    stop = threading.Event()

    def action(job: Job) -> JobResult:
        if len(calls) == 3:
            stop.set()
        return JobResult.completed()

    jobs.upsert(ORG, "stats", "*/5 * * * *", None, clock.now())
    scheduler = Scheduler(jobs, Recorder("a", calls, action), clock, worker_id="a", poll_interval=60)
    scheduler.run_forever(stop)
    assert [due for _, due in calls] == [at(5), at(10), at(15)]
    assert clock.now() == at(15)


def test_run_forever_with_nothing_scheduled_polls_at_its_interval(jobs: JobStore) -> None:
    stop = threading.Event()

    class CountingClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if self.now() >= at(3):
                stop.set()

    clock = CountingClock(START)
    Scheduler(jobs, Recorder("a", []), clock, worker_id="a", poll_interval=1.5).run_forever(stop)
    assert clock.now() == at(3)


def test_default_worker_ids_differ(jobs: JobStore, clock: FakeClock) -> None:
    runner = Recorder("a", [])
    assert Scheduler(jobs, runner, clock).worker_id != Scheduler(jobs, runner, clock).worker_id
    with pytest.raises(ValueError):
        Scheduler(jobs, runner, clock, lease=timedelta(0))

