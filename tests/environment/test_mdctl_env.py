"""`mdctl env import` and `mdctl env export`, the real client (mdctl-cli 1.0.73), against `serve`.

tests/environment/node/mdctl_env.js runs the CLI's own import and export tasks with a signed
client; the servers are started as a user starts them (`serve --ephemeral`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex_runtime.environment.folders import folder_documents
from cortex_runtime.server.auth import signed_headers
from tests.server.test_mdctl_client import API_KEY, API_SECRET, Server

from .mdctl import node_modules, run_mdctl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "environments"

pytestmark = pytest.mark.timeout(900)


class Target:
    """A running server's org, as mdctl and a signed HTTP client see it."""

    def __init__(self, server: Server, org: str) -> None:
        self.server = server
        self.org = org
        ready = server.wait_ready()
        self.url = ready["url"]
        self.endpoint = self.url.split(f"/{org}/")[0]

    def mdctl(self, command: str, folder: Path, **options: Any) -> Any:
        return run_mdctl(command, endpoint=self.endpoint, org=self.org, api_key=API_KEY, api_secret=API_SECRET, dir=folder, **options)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = signed_headers(path, method, API_KEY, API_SECRET)
        response = httpx.request(method, f"{self.url}{path}", json=body, headers=headers, timeout=60)
        if response.headers.get("content-type", "").startswith("application/x-ndjson"):
            return [json.loads(line) for line in response.text.splitlines() if line.strip()]
        return response.json()

    def run(self, script: str) -> Any:
        return self.call("POST", "/sys/script_runner", {"script": script})


@pytest.fixture(scope="module")
def targets() -> Iterator[tuple[Target, Target, Target]]:
    node_modules()
    servers = [Server("envone"), Server("envtwo"), Server("envdeploy", "--deploy", str(FIXTURES / "realistic"))]
    try:
        yield Target(servers[0], "envone"), Target(servers[1], "envtwo"), Target(servers[2], "envdeploy")
    finally:
        for server in servers:
            server.stop()


def _copy(name: str, tmp: Path) -> Path:
    folder = tmp / name
    shutil.copytree(FIXTURES / name, folder)
    return folder


def _files(root: Path) -> dict[str, Any]:
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "workspace.json"):
        text = path.read_text(encoding="utf-8")
        out[str(path.relative_to(root))] = json.loads(text) if path.suffix == ".json" else text
    return out


@pytest.fixture(scope="module")
def imported(targets, tmp_path_factory) -> Any:
    one, _, _ = targets
    folder = _copy("realistic", tmp_path_factory.mktemp("import"))
    return one.mdctl("import", folder)


def test_mdctl_imports_a_realistic_export_and_reports_every_resource(imported):
    assert imported.ok and imported.summary.get("complete"), (imported.summary, imported.stderr[-2000:])
    reported = [line["resource"] for line in imported.lines if isinstance(line, dict) and line.get("type") == "import.resource"]
    expected = [d for d in folder_documents(FIXTURES / "realistic") if d.get("object") not in ("manifest", "package", "facet", "stream")]
    assert len(reported) == len(expected) == len(set(reported))


def test_the_imported_runtime_lists_and_runs_routes_triggers_and_jobs(targets, imported):
    one, _, _ = targets
    runtime = one.run("return org.read('runtime')")["data"]
    names = {kind: {entry["name"] for entry in runtime[kind]} for kind in ("routes", "triggers", "jobs")}
    assert {"c_health", "c_create_order", "c_clinic_ping"} <= names["routes"]
    assert {"c_order_before_create", "c_note_stamp"} <= names["triggers"]
    assert {"c_heartbeat_job", "c_nightly_close_tasks"} <= names["jobs"]
    assert one.call("GET", "/routes/health") == {"object": "result", "data": {"status": "ok", "service": "clinic"}}
    order = one.call("POST", "/routes/orders", {"c_sku": "abc", "c_quantity": 2})["data"]
    assert order["c_status"] == "received" and order["c_number"] == "ORD-ABC"
    # The job's schedule is registered (the scheduler tests run it on a fake clock).
    job = one.run("return org.objects.scripts.find({name: 'c_heartbeat_job'}).next().configuration.cron")
    assert job == {"object": "result", "data": "*/5 * * * *"}


def test_importing_again_changes_nothing_and_export_round_trips(targets, imported, tmp_path):
    one, two, _ = targets
    before = one.call("POST", "/developer/environment/export", {"manifest": {}})
    again = one.mdctl("import", _copy("realistic", tmp_path / "again"))
    assert again.ok, again.summary
    assert one.call("POST", "/developer/environment/export", {"manifest": {}}) == before

    first = tmp_path / "first"
    exported = one.mdctl("export", first)
    assert exported.ok, (exported.summary, exported.stderr[-2000:])
    assert (first / "env" / "scripts" / "js").is_dir()
    wiped = two.mdctl("import", first)  # a fresh server: the wiped store
    assert wiped.ok, (wiped.summary, wiped.stderr[-2000:])
    second = tmp_path / "second"
    assert two.mdctl("export", second).ok
    one_files, two_files = _files(first), _files(second)
    assert sorted(one_files) == sorted(two_files)
    assert one_files == two_files


def test_a_broken_export_fails_naming_all_three_and_changes_nothing(targets, tmp_path):
    _, two, _ = targets
    before = two.call("POST", "/developer/environment/export", {"manifest": {}})
    result = two.mdctl("import", _copy("broken", tmp_path))
    assert not result.ok and not result.summary.get("complete")
    fault = result.summary.get("fault") or {}
    named = {child.get("resource") for child in fault.get("faults") or []}
    assert named == {"script.c_bad_syntax", "object.c_crate", "object.c_tag"}, fault
    assert two.call("POST", "/developer/environment/export", {"manifest": {}}) == before


def test_serve_deploy_of_the_folder_gives_the_same_runtime_as_the_import(targets, imported):
    one, _, deployed = targets

    def listing(target: Target) -> dict[str, list[str]]:
        runtime = target.run("return org.read('runtime')")["data"]
        return {kind: sorted(entry["name"] for entry in entries) for kind, entries in runtime.items()}

    assert listing(deployed) == listing(one)
    assert deployed.call("GET", "/routes/health") == {"object": "result", "data": {"status": "ok", "service": "clinic"}}


def test_cortex_runtime_export_over_url_writes_what_mdctl_export_writes(targets, tmp_path):
    import subprocess
    import sys

    _, _, deployed = targets
    ours = tmp_path / "ours"
    done = subprocess.run(
        [sys.executable, "-m", "cortex_runtime.cli", "export", str(ours), "--url", deployed.endpoint, "--org", deployed.org,
         "--api-key", API_KEY, "--api-secret", API_SECRET],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = tmp_path / "theirs"
    assert deployed.mdctl("export", theirs).ok
    assert _files(ours) == _files(theirs)
