"""Job scripts deployed through org.objects.scripts run on schedule, once per due time across workers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cortex_runtime.clock import FakeClock
from cortex_runtime.deployment import job_name
from cortex_runtime.runtime import Runtime

SETUP = """
org.objects.objects.insertOne({label: 'Tick', name: 'c_tick', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number'}]}).execute()
return org.objects.scripts.insertOne({label: 'Ticker', name: 'c_ticker', type: 'job', configuration: {cron: '*/5 * * * *'},
  script: "org.objects.c_ticks.insertOne({c_n: 1}).execute(); if (org.objects.c_ticks.count() === 3) throw Fault.create('kError', {reason: 'third run fails'})"}).execute()
"""


def test_deployed_job_runs_once_per_due_time_with_two_workers():
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    runtime = Runtime(clock=clock)
    org, admin = runtime.orgs.create("jobs")
    deployed = runtime.run(SETUP, org=org, principal=admin)
    assert deployed.ok, deployed.fault and deployed.fault.to_json()
    workers = [runtime.scheduler("worker-a"), runtime.scheduler("worker-b")]
    for minute in range(120):
        clock.advance(timedelta(minutes=1))
        for worker in workers if minute % 2 else reversed(workers):
            worker.tick()
    runs = runtime.jobs.runs(org._id, job_name(deployed.value))
    assert len(runs) == 24
    assert len({run.due for run in runs}) == 24
    assert [run.status for run in runs].count("failed") == 1
    assert runs[2].status == "failed" and runs[2].fault["reason"] == "third run fails"
    assert runs[3].status == "completed"
    assert {run.worker for run in runs} == {"worker-a", "worker-b"}
    assert runtime.layer(org, admin).count("c_tick", {}) == 24


def test_every_run_leaves_a_log_record_scripts_can_read():
    runtime = Runtime()
    org, admin = runtime.orgs.create("logs")
    runtime.run("return 1", org=org, principal=admin, script_type="route")
    runtime.run("throw Fault.create('kNotFound', {reason: 'gone'})", org=org, principal=admin, script_type="job")
    out = runtime.run(
        "return org.objects.logs.find({src: 2}).sort({beg: 1}).map(l => [l.stp, l.lvl, l.sts, l.ops, l.err ? l.err.reason : null])",
        org=org,
        principal=admin,
    )
    assert out.value == [["route", 2, 200, 0, None], ["job", 0, 404, 0, "gone"]], out.fault
