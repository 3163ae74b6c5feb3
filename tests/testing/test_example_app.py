"""The example app (examples/app): its JS tests and its pytest tests pass; a broken trigger
fails exactly the tests that exercise it, each naming the script file and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLE_APP, by_title, run_js

BEFORE_CREATE = "env/scripts/js/trigger.c_ticket_before_create.js"


def test_the_example_apps_js_tests_pass(harness_sandbox):
    results = run_js(harness_sandbox, EXAMPLE_APP / "tests", EXAMPLE_APP)
    outcomes = by_title(results)
    assert [r.load_error for r in results] == [None, None, None]
    assert len(outcomes) >= 14
    assert {title: o.state for title, o in outcomes.items() if o.state != "passed"} == {}


def test_the_example_apps_pytest_tests_pass():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE_APP / "tests")],
        cwd=root, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout


def test_a_broken_trigger_fails_exactly_the_tests_that_exercise_it(harness_sandbox, app, monkeypatch):
    trigger = app / BEFORE_CREATE
    lines = trigger.read_text().splitlines()
    assert lines[5].startswith("const due = ")
    lines[5] = "const due = new Date(Date.now() + slaHours(priority).hours.value)"
    trigger.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(app)

    outcomes = by_title(run_js(harness_sandbox, app / "tests", app))
    failed = {title for title, o in outcomes.items() if o.state == "failed"}
    assert failed == {
        "the hourly sweep escalates an urgent ticket once, through the webhook",
        "creating a ticket is open, with a priority from its title",
        "creating a ticket keeps a priority the creator gave",
        "creating a ticket is due within the priority's service level",
        "creating a ticket emails its creator",
        # Their suite's before-all hook creates tickets.
        "the open tickets route lists open tickets, most urgent first",
        "the open tickets route shows an agent every open ticket",
        "the open tickets route shows a customer only their own tickets",
    }
    for title in failed:
        assert outcomes[title].script_at == f"{BEFORE_CREATE}:6", title
        assert outcomes[title].at.startswith("tests/"), title
        assert "cannot read property 'value' of undefined" in outcomes[title].error["message"]
    assert outcomes["creating a ticket is open, with a priority from its title"].at == "tests/tickets.test.js:9"
    # Tests that never create a ticket still pass.
    assert outcomes["the hourly sweep runs once an hour"].state == "passed"
    assert outcomes["the test clock fires a timeout when the clock passes it"].state == "passed"
