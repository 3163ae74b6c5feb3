"""The cron loop of one worker: claim due jobs, run them, record the outcome.

Any number of ``Scheduler`` instances may share one ``JobStore``; the store's lease protocol
makes each due time run once across all of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from ..clock import Clock
from ..faults import Fault
from .jobstore import Job, JobResult, JobRun, JobStore

__all__ = ["Runner", "Scheduler"]

Runner = Callable[[Job], JobResult]
"""Executes one job (in production: its script in the sandbox) and reports how it went."""

_log = logging.getLogger(__name__)


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Runs due jobs from ``job_store`` through ``runner``, reading time from ``clock``.

    ``lease`` bounds how long a crashed worker keeps a job from others; it should exceed the
    longest job run (the job timeout is 10 s). ``batch_size`` caps jobs claimed per tick and
    ``poll_interval`` the longest sleep between ticks in ``run_forever``.
    """

    def __init__(
        self,
        job_store: JobStore,
        runner: Runner,
        clock: Clock,
        worker_id: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        *,
        batch_size: int = 10,
        poll_interval: float = 1.0,
    ) -> None:
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.job_store = job_store
        self.runner = runner
        self.clock = clock
        self.worker_id = worker_id or _default_worker_id()
        self.lease = lease
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    def tick(self) -> list[JobRun]:
        """Claim the jobs due now, run each and release it; return the recorded runs."""
        jobs = self.job_store.acquire_due(self.worker_id, self.clock.now(), self.lease, self.batch_size)
        runs: list[JobRun] = []
        for job in jobs:
            started = self.clock.now()
            if job.lease_expires is not None and started >= job.lease_expires:
                # Earlier jobs of the batch ate this lease; another worker may own the job by now.
                continue
            result = self._execute(job)
            runs.append(self.job_store.release(self.worker_id, job, result, self.clock.now(), started=started))
        return runs

    def run_forever(self, stop_event: threading.Event) -> None:
        """Tick until ``stop_event`` is set, sleeping (on the clock) until the next job may be due."""
        while not stop_event.is_set():
            ran: list[JobRun] = []
            try:
                ran = self.tick()
            except Fault:
                _log.exception("scheduler tick failed on worker %s", self.worker_id)
            if not stop_event.is_set():
                self.clock.sleep(self._idle_seconds(bool(ran)))

    def _execute(self, job: Job) -> JobResult:
        try:
            return self.runner(job)
        except Fault as fault:
            return JobResult.failed(fault)
        except Exception as exc:
            _log.exception("job %r of org %r raised", job.name, job.org)
            return JobResult.failed(Fault("cortex.error.unspecified", reason=f"{type(exc).__name__}: {exc}"))

    def _idle_seconds(self, ran: bool) -> float:
        try:
            wake = self.job_store.next_wakeup(self.clock.now())
        except Fault:
            return self.poll_interval
        if wake is None:
            return self.poll_interval
        seconds = min(self.poll_interval, max(0.0, (wake - self.clock.now()).total_seconds()))
        # Never spin: a due job nobody could claim would otherwise loop without pausing.
        return seconds if ran else max(seconds, 0.001)
