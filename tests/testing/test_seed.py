"""--seed: a harness run repeats exactly. The ObjectIds of documents that the test file, a
route, triggers and a job create, ``new ObjectID()`` in the test file and in a route,
``Math.random()`` (test file, route, trigger) and ``crypto.randomBytes`` are the same in two
runs with one seed and differ with another; ids stay valid, increase in creation order and
carry the harness clock's time. Without a seed nothing is seeded, and nothing stays patched
once a run ends."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from bson import ObjectId

from cortex_runtime.clock import FakeClock
from cortex_runtime.testing import seeding
from cortex_runtime.testing.runner import run_paths
from cortex_runtime.testing.seeding import SeededIds, seeded_object_ids

from .conftest import by_title, run_js, write_files

ROUTE = {
    "active": True, "configuration": {"method": "post", "path": "seeded/make"}, "environment": "*", "label": "Seeded make",
    "language": "javascript/es6", "name": "c_seeded_make", "object": "script", "optimized": False, "principal": None,
    "script": "/env/scripts/js/route.c_seeded_make.js", "type": "route", "weight": 0,
}
TRIGGER = {
    "active": True, "configuration": {"object": "c_ticket", "event": "create.after", "inline": False, "paths": []}, "environment": "*",
    "label": "Seeded stamp", "language": "javascript/es6", "name": "c_seeded_stamp", "object": "script", "optimized": False,
    "principal": None, "script": "/env/scripts/js/trigger.c_seeded_stamp.js", "type": "trigger", "weight": 0,
}
ROUTE_JS = """const _id = org.objects.c_tickets.insertOne({ c_title: 'made by the route' }).execute()
return { _id, oid: new ObjectID(), random: Math.random(), bytes: require('crypto').randomBytes(4).toString('hex') }
"""
# Every ticket's after-trigger records a sweep whose count is the trigger's Math.random().
TRIGGER_JS = "org.objects.c_sweeps.insertOne({ c_escalated: Math.floor(Math.random() * 1e9), c_at: new Date() }).execute()\n"

# The example app's hourly job records a sweep too; the record is the test's failure message.
RECORDER = """const { clock, http, routes } = require('cortex-test')
const crypto = require('crypto')
it('records', function () {
  http.mock('https://hooks.example.com/escalations', { statusCode: 202, body: { queued: true } })
  const ticket = org.objects.c_tickets.insertOne({ c_title: 'Database down' }).execute()
  const made = routes.call('post', 'seeded/make', {})
  clock.advance('1h')
  const oid = new ObjectID()
  const tickets = org.objects.c_tickets.find().sort({ _id: 1 }).map(t => t._id.toString())
  const sweeps = org.objects.c_sweeps.find().skipAcl().grant('read').sort({ _id: 1 }).map(s => ({ _id: s._id.toString(), n: s.c_escalated }))
  throw new Error('RECORD' + JSON.stringify({ now: clock.now(), ticket, made: made.body, oid, random: Math.random(), tickets, sweeps,
    bytes: crypto.randomBytes(4).toString('hex'), account: org.objects.accounts.find().next()._id }))
})
"""
_HEX24 = re.compile(r"^[0-9a-f]{24}$")


@pytest.fixture
def seeded_app(app: Path) -> Path:
    scripts = app / "env" / "scripts"
    (scripts / "c_seeded_make.json").write_text(json.dumps(ROUTE), encoding="utf-8")
    (scripts / "c_seeded_stamp.json").write_text(json.dumps(TRIGGER), encoding="utf-8")
    (scripts / "js" / "route.c_seeded_make.js").write_text(ROUTE_JS, encoding="utf-8")
    (scripts / "js" / "trigger.c_seeded_stamp.js").write_text(TRIGGER_JS, encoding="utf-8")
    return app


@pytest.fixture
def recorder(tmp_path: Path) -> Path:
    return write_files(tmp_path / "t", {"record.test.js": RECORDER})


def _record(results) -> dict:
    (outcome,) = by_title(results).values()
    message = str((outcome.error or {}).get("message"))
    assert message.startswith("RECORD"), outcome.error
    return json.loads(message[len("RECORD"):])


def _comparable(a: dict, b: dict) -> tuple[str, str]:
    """The two records as text; without the ids' time part if the runs' clocks started on
    different days (the harness clock starts at midnight UTC of the day)."""
    left, right = json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)
    if a["now"] != b["now"]:
        left, right = (re.sub(r'"[0-9a-f]{8}([0-9a-f]{16})"', r'"\1"', text) for text in (left, right))
    return left, right


def _ids(record: dict) -> list[str]:
    return [record["ticket"], record["made"]["_id"], record["made"]["oid"], record["oid"], record["account"],
            *record["tickets"], *(s["_id"] for s in record["sweeps"])]


def test_one_seed_repeats_ids_and_random_values_and_another_changes_them(harness_sandbox, seeded_app, recorder):
    env = seeded_app
    first = _record(run_js(harness_sandbox, recorder, env, seed=7))
    second = _record(run_js(harness_sandbox, recorder, env, seed=7))
    other = _record(run_js(harness_sandbox, recorder, env, seed=8))

    left, right = _comparable(first, second)
    assert left == right
    assert len(first["tickets"]) == 2 and len(first["sweeps"]) == 3  # test file's and route's tickets; two triggers' sweeps, the job's
    for a, b in zip(_ids(first), _ids(other)):
        assert a[8:] != b[8:]
    for key in ("random", "bytes"):
        assert first[key] != other[key]
        assert first["made"][key] != other["made"][key]
    assert first["sweeps"][0]["n"] != other["sweeps"][0]["n"]  # the trigger's Math.random()


def test_seeded_ids_are_valid_increasing_and_on_the_harness_clock(harness_sandbox, seeded_app, recorder):
    record = _record(run_js(harness_sandbox, recorder, seeded_app, seed=7))
    assert all(_HEX24.match(i) for i in _ids(record))
    made, sweeps = record["made"], [s["_id"] for s in record["sweeps"]]
    # Creation order: the org's account, the test's ticket, its after-trigger's sweep, the
    # route's ticket and ObjectID, its trigger's sweep, an hour later the job's sweep, then the test's ObjectID.
    in_order = [record["account"], record["ticket"], sweeps[0], made["_id"], made["oid"], sweeps[1], sweeps[2], record["oid"]]
    assert in_order == sorted(in_order) and len(set(in_order)) == len(in_order)
    end = int(datetime.fromisoformat(record["now"]).timestamp())
    assert ObjectId(record["oid"]).generation_time.timestamp() == end
    assert ObjectId(record["ticket"]).generation_time.timestamp() == end - 3600  # the clock's start, before advance('1h')
    assert ObjectId(sweeps[2]).generation_time.timestamp() == end  # the job ran at the hour


def test_worker_processes_repeat_the_run_of_one_process(harness_sandbox, seeded_app, recorder):
    env = seeded_app
    (recorder / "again.test.js").write_text(RECORDER, encoding="utf-8")
    alone = _record(run_js(harness_sandbox, recorder / "record.test.js", env, seed=7))
    results = run_paths(sorted(recorder.glob("*.test.js")), env, seed=7, jobs=2)
    for result in results:
        left, right = _comparable(alone, _record([result]))
        assert left == right


def test_without_a_seed_ids_and_values_are_the_engines_own(harness_sandbox, seeded_app, recorder):
    env = seeded_app
    first = _record(run_js(harness_sandbox, recorder, env))
    second = _record(run_js(harness_sandbox, recorder, env))
    assert first["made"]["random"] != second["made"]["random"]
    assert first["made"]["bytes"] != second["made"]["bytes"]
    assert first["oid"][8:] != second["oid"][8:]
    assert first["ticket"] != second["ticket"]


def test_a_seeded_run_leaves_nothing_patched(harness_sandbox, seeded_app, recorder):
    run_js(harness_sandbox, recorder, seeded_app, seed=7)
    assert ObjectId.__init__ is seeding._original_init
    assert harness_sandbox.seeding is None
    assert abs(ObjectId().generation_time.timestamp() - datetime.now(timezone.utc).timestamp()) < 600


def test_seeded_object_ids_restore_on_error_and_nest():
    clock = FakeClock(datetime(2024, 1, 1, tzinfo=timezone.utc))
    outer, inner = SeededIds(1, clock), SeededIds(2, clock)
    with pytest.raises(RuntimeError):
        with seeded_object_ids(outer):
            a = ObjectId()
            with seeded_object_ids(inner):
                b = ObjectId()
            c = ObjectId()
            raise RuntimeError("a test's failure")
    assert ObjectId.__init__ is seeding._original_init
    assert a.binary[4:9] == c.binary[4:9] != b.binary[4:9]
    assert a < c and a.generation_time == clock.now()
    assert ObjectId(str(a)) == a  # ObjectId(value) is untouched


def test_seeded_ids_never_go_back_in_time_and_streams_are_apart():
    clock = FakeClock(datetime(2024, 1, 1, tzinfo=timezone.utc))
    ids = SeededIds(5, clock)
    first = ids.object_id()
    clock.set(datetime(2023, 1, 1, tzinfo=timezone.utc))
    second = ids.object_id()
    assert second > first and second[:8] == first[:8]
    again = SeededIds(5, clock)
    again.run_seed()
    again.random_bytes(16)  # drawing runs' seeds and bytes leaves the ids where they were
    assert again.object_id()[8:] == first[8:]
