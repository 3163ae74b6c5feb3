"""The pytest plugin: registered as a pytest11 entry point, cheap to import, and its fixtures."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from cortex_runtime import Fault


def test_the_plugin_is_registered_for_pytest():
    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "cortex_runtime"]
    assert plugin.value == "cortex_runtime.testing.plugin"


def test_importing_the_plugin_loads_nothing_beyond_the_package():
    code = (
        "import sys, cortex_runtime\n"
        "before = set(sys.modules)\n"
        "import cortex_runtime.testing.plugin\n"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('_pytest') and m != 'pytest'))\n"
        "print([m for m in ('cortex_runtime.runtime', 'mongomock', 'cortex_runtime.objects') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    added, heavy = done.stdout.strip().splitlines()
    assert [m for m in eval(added) if m.startswith("cortex_runtime")] == ["cortex_runtime.testing", "cortex_runtime.testing.plugin"], done.stderr
    assert heavy == "[]"


def test_without_an_environment_the_org_is_empty(cortex_runtime, cortex_org, cortex_env):
    assert cortex_env is None
    assert cortex_org.code == cortex_runtime.org.code
    assert cortex_runtime.run("return org.objects.accounts.find().count()") == 1


def test_scripts_run_as_a_principal_and_faults_are_raised(cortex_runtime):
    created = cortex_runtime.accounts.create("pat@example.com", name={"first": "Pat"})
    assert cortex_runtime.run("return script.principal.email", principal="pat@example.com") == "pat@example.com"
    assert cortex_runtime.run("return script.principal._id", principal=created["_id"]) == str(created["_id"])
    with pytest.raises(Fault) as raised:
        cortex_runtime.run("throw Fault.create('cortex.accessDenied.unspecified', {reason: 'no'})")
    assert raised.value.errCode == "cortex.accessDenied.unspecified"
    with pytest.raises(Fault):
        cortex_runtime.accounts.create("pat@example.com")


def test_the_clock_runs_jobs_and_http_is_mocked(cortex_runtime):
    cortex_runtime.run(
        "org.objects.scripts.insertOne({label: 'Poll', name: 'c_poll', type: 'job', configuration: {cron: '*/30 * * * *'},"
        " script: \"require('http').get('https://status.example.com/ping')\"}).execute()"
    )
    cortex_runtime.http.mock("https://status.example.com/ping", {"statusCode": 204})
    start = cortex_runtime.clock.now()
    cortex_runtime.clock.advance("3h")
    assert (cortex_runtime.clock.now() - start).total_seconds() == 3 * 3600
    assert [r["url"] for r in cortex_runtime.http.requests] == ["https://status.example.com/ping"] * 6
    assert len(cortex_runtime.logs(stp="job")) == 6
