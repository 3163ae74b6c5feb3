"""Cron jobs: pure cron triggers, a lease-based job store shared by all workers, and the tick loop."""

from __future__ import annotations

from .cron import DEFAULT_MAX_RUNS_PER_DAY, CronTrigger, check_daily_cap, runs_per_day
from .jobstore import Job, JobResult, JobRun, JobStatus, JobStore
from .scheduler import Runner, Scheduler

__all__ = [
    "DEFAULT_MAX_RUNS_PER_DAY",
    "CronTrigger",
    "Job",
    "JobResult",
    "JobRun",
    "JobStatus",
    "JobStore",
    "Runner",
    "Scheduler",
    "check_daily_cap",
    "runs_per_day",
]
