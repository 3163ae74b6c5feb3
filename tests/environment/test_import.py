"""Importing and exporting export folders in process: tests/fixtures/environments/ (see its README).

The real mdctl client drives the same endpoints in test_mdctl_env.py; these tests cover what an
import does to the store: every resource, idempotence, the round trip, a failed import.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cortex_runtime.cli import deploy_any
from cortex_runtime.clock import FakeClock
from cortex_runtime.environment.exporter import export_environment
from cortex_runtime.environment.folders import deploy_folder, export_folder, folder_documents
from cortex_runtime.environment.importer import import_environment
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator
from tests.server.test_runner import KEY, SECRET, signed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "environments"
REALISTIC = FIXTURES / "realistic"
BROKEN = FIXTURES / "broken"


def _fresh(code: str, clock: FakeClock | None = None) -> tuple[Runtime, Any, Any]:
    runtime = Runtime(clock=clock)
    org, admin = runtime.orgs.create(code)
    return runtime, org, admin


def _resource_count(root: Path) -> int:
    return sum(1 for doc in folder_documents(root) if doc.get("object") not in ("manifest", "package", "facet", "stream"))


def _runtime_listing(runtime: Runtime, org: Any, admin: Any) -> dict[str, Any]:
    result = runtime.run("return org.read('runtime')", org=org, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    listing = result.plain()
    # Ids and source positions differ between two deploys of the same scripts.
    def names(kind: str) -> list[str]:
        return sorted(str(entry.get("name")) for entry in listing.get(kind) or [])

    return {kind: names(kind) for kind in ("routes", "triggers", "jobs", "events", "objects", "transforms")}


def _org_state(runtime: Runtime, org: Any) -> dict[str, Any]:
    """Everything the store holds for the org, ids and write times aside, as comparable JSON."""
    store = runtime.store
    volatile = {"_id", "updated", "updater", "created", "next_run", "lease_owner", "lease_expires", "lease_acquired"}

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in sorted(value.items()) if k not in volatile}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return str(value) if not isinstance(value, (str, int, float, bool, type(None))) else value

    state = {
        "contexts": sorted(json.dumps(clean(d), sort_keys=True) for d in store.contexts.find({"org": org._id, "object": {"$ne": "log"}})),
        "configs": sorted(json.dumps(clean(d), sort_keys=True) for d in store.configs.find({"org": org._id})),
        "jobs": sorted(json.dumps(clean(d), sort_keys=True) for d in store.jobs.find({"org": org._id})),
        "org": json.dumps(clean({k: v for k, v in (store.orgs.find_one({"_id": org._id}) or {}).items() if k not in ("scriptsVersion", "principalsVersion")}), sort_keys=True),
    }
    return state


@pytest.fixture(scope="module")
def imported() -> tuple[Runtime, Any, Any, Any, FakeClock]:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    runtime, org, admin = _fresh("clinic", clock)
    report = deploy_folder(runtime, org, admin, REALISTIC)
    return runtime, org, admin, report, clock


def test_realistic_export_imports_every_resource(imported):
    _, _, _, report, _ = imported
    assert report.ok, report.fault and report.fault.to_json()
    assert len(report.imported) == _resource_count(REALISTIC) >= 60
    reported = [line["resource"] for line in report.lines if line.get("type") == "import.resource"]
    assert reported == report.imported
    stages = [line["stage"] for line in report.lines if line.get("type") == "status"]
    assert stages == ["ingest", "import", "media.processing", "post", "complete"]
    trailer = [line["object"] for line in report.lines if not str(line.get("object")).startswith("manifest.log")]
    assert trailer == ["manifest", "manifest-dependencies", "manifest-imports"]


def test_runtime_lists_every_route_trigger_and_job(imported):
    runtime, org, admin, _, _ = imported
    listing = _runtime_listing(runtime, org, admin)
    # Saved route/trigger/job scripts and every entry the decorated libraries declare; the
    # inactive trigger c_adverse_event_notify is left out.
    assert listing["routes"] == ["c_clinic_add_note", "c_clinic_ping", "c_clinic_study_count", "c_create_order", "c_health", "c_site_lookup", "patient-app__me"]
    assert listing["triggers"] == ["ab__run_defaults", "c_adverse_event_audit", "c_note_stamp", "c_order_before_create", "c_task_response_completed", "dt__reading_after_create"]
    assert listing["jobs"] == ["c_heartbeat_job", "c_nightly_close_tasks"]
    assert listing["events"] == ["c_on_study_activated"]
    assert listing["objects"] == ["ab__workflow"]
    assert listing["transforms"] == ["c_mask_participant_email"]


@pytest.fixture(scope="module")
def client(imported) -> TestClient:
    runtime, org, admin, _, _ = imported
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="tests", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    return TestClient(create_app(runtime, auth), raise_server_exceptions=False)


def test_an_imported_route_answers(client):
    response = client.get("/clinic/v2/routes/health", headers=signed("/routes/health", "GET"))
    assert response.json() == {"object": "result", "data": {"status": "ok", "service": "clinic"}}
    decorated = client.get("/clinic/v2/routes/c_clinic/ping?who=me", headers=signed("/routes/c_clinic/ping", "GET"))
    assert decorated.json() == {"object": "result", "data": {"pong": True, "who": "me"}}


def test_an_imported_trigger_runs_on_the_route_it_serves(client):
    response = client.post("/clinic/v2/routes/orders", json={"c_sku": "abc", "c_quantity": 2}, headers=signed("/routes/orders", "POST"))
    body = response.json()
    assert body["object"] == "result", body
    assert body["data"]["c_status"] == "received" and body["data"]["c_number"] == "ORD-ABC"


def test_an_imported_job_runs_on_schedule(imported):
    runtime, org, admin, _, clock = imported
    count = "return org.objects.c_heartbeats.count({c_source: 'job'})"
    before = runtime.run(count, org=org, principal=admin).value
    scheduler = runtime.scheduler("test")
    clock.advance(timedelta(minutes=5))
    scheduler.tick()
    assert runtime.run(count, org=org, principal=admin).value == before + 1


def test_importing_the_same_export_again_changes_nothing(imported):
    runtime, org, admin, _, _ = imported
    state = _org_state(runtime, org)
    apps = {app["name"]: app["key"] for app in runtime.store.orgs.find_one({"_id": org._id})["apps"] if app.get("name", "").startswith("c_")}
    again = deploy_folder(runtime, org, admin, REALISTIC)
    assert again.ok, again.fault and again.fault.to_json()
    assert _org_state(runtime, org) == state
    assert {app["name"]: app["key"] for app in runtime.store.orgs.find_one({"_id": org._id})["apps"] if app.get("name", "").startswith("c_")} == apps


def _files(root: Path) -> dict[str, Any]:
    """Every file of an export folder; JSON parsed, so key order does not count."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            out[str(path.relative_to(root))] = json.loads(text) if path.suffix == ".json" else text
    return out


def test_export_wipe_import_export_gives_the_same_files(imported, tmp_path):
    runtime, org, admin, _, _ = imported
    first = tmp_path / "first"
    export_folder(runtime, org, admin, first)
    wiped, org2, admin2 = _fresh("clinic2")
    report = deploy_folder(wiped, org2, admin2, first)
    assert report.ok, report.fault and report.fault.to_json()
    second = tmp_path / "second"
    export_folder(wiped, org2, admin2, second)
    one, two = _files(first), _files(second)
    assert sorted(one) == sorted(two)
    assert one == two
    assert len([n for n in one if n.startswith("env/scripts/js/")]) == 16


def test_export_keeps_every_field_of_the_imported_files(imported):
    runtime, org, admin, _, _ = imported
    exported = {doc["resource"]: doc for doc in export_environment(runtime, org, admin) if "resource" in doc}
    for doc in folder_documents(REALISTIC):
        if doc.get("object") == "manifest":
            continue
        key = "env" if doc["object"] == "env" else "role." + doc["code"] if doc["object"] == "role" else (
            f"template.{doc['type']}.{doc['name']}" if doc["object"] == "template" else f"{doc['object']}.{doc['name']}"
        )
        assert key in exported, key
        missing = set(doc) - set(exported[key])
        assert not missing, (key, missing)


def test_a_broken_export_reports_every_fault_and_writes_nothing():
    runtime, org, admin = _fresh("warehouse")
    before = _org_state(runtime, org)
    report = deploy_folder(runtime, org, admin, BROKEN)
    assert not report.ok
    faults = {f.resource: f for f in report.fault.faults}
    assert set(faults) == {"script.c_bad_syntax", "object.c_crate", "object.c_tag"}
    assert faults["script.c_bad_syntax"].errCode == "cortex.invalidArgument.scriptCompilation"
    assert faults["script.c_bad_syntax"].path == "script.c_bad_syntax.script"
    assert faults["object.c_crate"].errCode == "cortex.notFound.unspecified"
    assert faults["object.c_crate"].path == "object.c_crate.defaultAcl.1.target"
    assert 'A role dependency "c_missing_role" is missing' in faults["object.c_crate"].reason
    assert faults["object.c_tag"].path == "object.c_tag.properties.c_target.sourceObject"
    assert 'An object dependency "c_nowhere" is missing' in faults["object.c_tag"].reason
    assert _org_state(runtime, org) == before
    assert not any(line.get("stage") == "complete" for line in report.lines)


def test_a_write_that_fails_is_undone(monkeypatch):
    from cortex_runtime.environment.kinds import KINDS

    runtime, org, admin = _fresh("undo")
    before = _org_state(runtime, org)
    kind = KINDS["view"]

    def failing(ctx, resource):
        raise RuntimeError("disk full")

    monkeypatch.setattr(kind, "apply", failing)
    report = deploy_folder(runtime, org, admin, REALISTIC)
    assert report.fault is not None and report.fault.resource == "view.c_open_tasks"
    assert _org_state(runtime, org) == before


def test_serve_deploy_of_the_folder_gives_the_same_runtime(imported):
    runtime, org, admin, _, _ = imported
    served, org2, admin2 = _fresh("served")
    deploy_any(served, org2, admin2, REALISTIC)
    assert _runtime_listing(served, org2, admin2) == _runtime_listing(runtime, org, admin)


def test_documents_that_are_not_resources_are_refused_with_their_position():
    runtime, org, admin = _fresh("odd")
    report = import_environment(runtime, org, admin, [{"object": "manifest"}, {"name": "no object"}])
    assert report.fault is not None and report.fault.reason == "The resource is missing the object property." and report.fault.index == 1
    report = import_environment(runtime, org, admin, [{"object": "configuration", "name": "x"}])
    assert report.fault.reason == "Failed to identify the unique key for configuration."
    report = import_environment(runtime, org, admin, [["not", "an", "object"]])
    assert report.fault.reason == "the resource at position 0 is not an object"


def test_a_manifest_selects_what_is_imported_and_pulls_in_dependencies():
    runtime, org, admin = _fresh("partial")
    documents = [d for d in folder_documents(REALISTIC) if d.get("object") != "manifest"]
    manifest = {"object": "manifest", "scripts": {"includes": ["dt__reading_after_create"]}}
    report = import_environment(runtime, org, admin, [manifest, *documents])
    assert report.ok, report.fault and report.fault.to_json()
    # The trigger needs its object, its service account (and that account's role) and the library it requires.
    assert "script.dt__reading_after_create" in report.imported
    assert {"object.dt__reading", "serviceAccount.dt__ingest", "role.dt__device_manager", "script.dt__Telemetry"} <= set(report.imported)
    assert "script.c_health" not in report.imported
