"""REST access to instances: list, read, create, update, patch, delete, with the REST limits."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator

from .test_runner import KEY, SECRET, signed

SETUP = """
org.objects.objects.insertOne({label: 'Reading', name: 'c_reading', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'BPM', name: 'c_bpm', type: 'Number', indexed: true}, {label: 'Note', name: 'c_note', type: 'String'},
               {label: 'Tags', name: 'c_tags', type: 'String', array: true}]}).execute()
org.objects.c_readings.insertMany([60, 72, 85, 90, 101].map(b => ({c_bpm: b}))).execute()
return 1
"""


@pytest.fixture(scope="module")
def client():
    runtime = Runtime()
    org, admin = runtime.orgs.create("rest")
    assert runtime.run(SETUP, org=org, principal=admin).ok
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    return TestClient(create_app(runtime, auth), raise_server_exceptions=False)


def call(client, method, path, body=None, **params):
    return client.request(method, f"/rest/v2{path}", headers=signed(path, method), params=params, content=None if body is None else json.dumps(body))


def test_list_with_where_sort_limit_and_paths(client):
    page = call(client, "GET", "/c_readings", where='{"c_bpm":{"$gt":70}}', sort='{"c_bpm":-1}', limit=2, **{"paths[]": "c_bpm"}).json()
    assert page["object"] == "list" and page["hasMore"] is True
    assert [row["c_bpm"] for row in page["data"]] == [101, 90]
    assert set(page["data"][0]) == {"_id", "object", "c_bpm"}
    rest = call(client, "GET", "/c_readings", where='{"c_bpm":{"$gt":70}}', sort='{"c_bpm":-1}', skip=2, limit=2).json()
    assert [row["c_bpm"] for row in rest["data"]] == [85, 72] and rest["hasMore"] is False
    everything = call(client, "GET", "/c_readings").json()
    assert len(everything["data"]) == 5 and everything["hasMore"] is False


@pytest.mark.parametrize(
    ("params", "err_code"),
    [
        ({"where": '{"c_note":"x"}'}, "cortex.invalidArgument.query"),
        ({"sort": '{"c_note":1}'}, "cortex.invalidArgument.query"),
        ({"limit": "1001"}, "cortex.invalidArgument.query"),
        ({"limit": "0"}, "cortex.invalidArgument.query"),
        ({"skip": "-1"}, "cortex.invalidArgument.query"),
        ({"where": '{"c_bpm":1}', "pipeline": '[{"$limit":1}]'}, "cortex.invalidArgument.query"),
        ({"where": "{not json"}, "cortex.invalidArgument.query"),
    ],
)
def test_list_faults(client, params, err_code):
    response = call(client, "GET", "/c_readings", **params)
    assert (response.status_code, response.json()["errCode"]) == (400, err_code)


def test_create_read_update_patch_delete(client):
    created = call(client, "POST", "/c_readings", {"c_bpm": 66, "c_note": "a"}).json()
    assert created["object"] == "c_reading" and created["c_bpm"] == 66
    rid = created["_id"]
    assert call(client, "GET", f"/c_readings/{rid}").json()["c_note"] == "a"
    assert call(client, "GET", f"/c_readings/{rid}/c_note").json() == {"object": "result", "data": "a"}
    assert call(client, "PUT", f"/c_readings/{rid}", {"c_note": "b"}).json()["c_note"] == "b"
    patched = call(client, "PATCH", f"/c_readings/{rid}", [{"op": "push", "path": "c_tags", "value": ["x", "y"]}]).json()
    assert patched["c_tags"] == ["x", "y"]
    assert call(client, "DELETE", f"/c_readings/{rid}").json() == {"object": "result", "data": True}
    missing = call(client, "GET", f"/c_readings/{rid}")
    assert (missing.status_code, missing.json()["errCode"]) == (404, "cortex.notFound.instance")


def test_unknown_objects_and_ids(client):
    unknown = call(client, "GET", "/missing")
    assert (unknown.status_code, unknown.json()["errCode"], unknown.json()["code"], unknown.json()["path"]) == (400, "cortex.invalidArgument.object", "kInvalidObject", "missing")
    bad_id = call(client, "GET", "/c_readings/nope")
    assert (bad_id.status_code, bad_id.json()["errCode"]) == (400, "cortex.invalidArgument.invalidObjectId")


def test_org_root(client):
    org = client.get("/rest/v2/", headers=signed("/", "GET")).json()
    assert (org["object"], org["code"]) == ("org", "rest")


def test_db_driver_operations(client):
    nulls = {"skipAcl": None, "grant": None, "roles": None, "access": None, "crossOrg": None, "prefix": None, "strict": None, "unindexed": None, "through": None, "locale": None, "transform": None}
    cursor = call(client, "POST", "/c_reading/db/cursor", {**nulls, "maxTimeMs": 2000, "where": {"c_bpm": {"$gte": 85}}, "paths": ["c_bpm"], "limit": False, "sort": {"c_bpm": 1}})
    assert [row["c_bpm"] for row in cursor.json()["data"]] == [85, 90, 101]
    streamed = client.post("/rest/v2/c_reading/db/cursor", headers={**signed("/c_reading/db/cursor"), "accept": "application/x-ndjson"}, content=json.dumps({**nulls, "sort": {"c_bpm": -1}, "limit": 2, "paths": ["c_bpm"]}))
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line)["c_bpm"] for line in streamed.text.splitlines()] == [101, 90]
    assert call(client, "POST", "/c_reading/db/count", {**nulls, "where": {"c_bpm": 60}}).json() == {"object": "result", "data": 1}
    new_id = call(client, "POST", "/c_reading/db/insertOne", {"object": "c_reading", "operation": "insertOne", "document": {"c_bpm": 50}}).json()["data"]
    assert len(new_id) == 24
    read = call(client, "POST", "/c_reading/db/readOne", {"where": {"_id": new_id}, "throwNotFound": True}).json()
    assert read["c_bpm"] == 50
    updated = call(client, "POST", "/c_reading/db/updateOne", {"match": {"_id": new_id}, "update": {"$set": {"c_note": "n"}}, "mergeDocuments": False}).json()
    assert updated["data"] == new_id
    assert call(client, "POST", "/c_reading/db/deleteOne", {"match": {"_id": new_id}}).json() == {"object": "result", "data": True}
    again = call(client, "POST", "/c_reading/db/deleteOne", {"match": {"_id": new_id}}).json()
    assert (again["code"], again["errCode"]) == ("kNotFound", "cortex.notFound.instance")
    bulk = call(client, "POST", "/org/db/bulk", {"operation": "bulk", "ops": [{"object": "c_reading", "operation": "insertOne", "document": {"c_bpm": 1}, "name": "ins"}]}).json()
    assert bulk["object"] == "list" and bulk["data"][0]["path"] == "ins[0][0]"
