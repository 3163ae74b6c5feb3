"""The script runner and request authentication, in process (Starlette's TestClient)."""

from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator, generate_key, generate_secret, signed_headers

KEY, SECRET = generate_key(), generate_secret()


@pytest.fixture(scope="module")
def server():
    runtime = Runtime()
    org, admin = runtime.orgs.create("srv")
    member = runtime.orgs.provision(org, email="member@example.com")
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    return client, member


def signed(path: str, method: str = "POST", *, ts: int | None = None, **extra: str) -> dict[str, str]:
    return {**signed_headers(path, method, KEY, SECRET, timestamp=ts), "content-type": "application/json", **extra}


def run(client, script, **body):
    return client.post("/srv/v2/sys/script_runner", headers=signed("/sys/script_runner"), content=json.dumps({"script": script, **body}))


def test_runner_returns_the_result_envelope_and_stats(server):
    client, _ = server
    response = run(client, "let n = 0; for (let i = 0; i < 10; i++) n += i; return n")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"object": "result", "data": 45}
    stats = json.loads(response.headers["cortex-sandbox-stats"])
    assert stats["ops"] == 10 and stats["ms"] >= 0
    assert int(response.headers["medable-server-time"]) > 0


def test_runner_arguments_body_and_shapes(server):
    client, _ = server
    assert run(client, "return script.arguments.a", arguments={"a": 5}).json()["data"] == 5
    assert run(client, "return require('request').body.b", body={"b": 3}).json()["data"] == 3
    assert run(client, "return [1, 2]").json() == {"object": "list", "data": [1, 2], "hasMore": False}
    assert run(client, "return {object: 'thing', a: 1}").json() == {"object": "thing", "a": 1}


def test_runner_streams_ndjson_when_asked(server):
    client, _ = server
    headers = signed("/sys/script_runner", accept="application/x-ndjson")
    response = client.post("/srv/v2/sys/script_runner", headers=headers, content=json.dumps({"script": "return [{a: 1}, {a: 2}]"}))
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in response.text.splitlines()] == [{"a": 1}, {"a": 2}]
    scalar = client.post("/srv/v2/sys/script_runner", headers=signed("/sys/script_runner", accept="application/x-ndjson"), content=json.dumps({"script": "return 6"}))
    assert scalar.text.splitlines() == ['{"object":"result","data":6}']


def test_script_fault_comes_back_with_its_status(server):
    client, _ = server
    response = run(client, "throw Fault.create('kInvalidArgument', {reason: 'x'})")
    assert response.status_code == 400
    body = response.json()
    assert (body["object"], body["code"], body["reason"]) == ("fault", "kInvalidArgument", "x")
    assert "trace" not in body
    timeout = client.post(
        "/srv/v2/sys/script_runner",
        headers=signed("/sys/script_runner"),
        content=json.dumps({"script": "while (true) {}"}),
    )
    assert timeout.json()["errCode"] == "script.error.ops"


def test_caller_without_script_rights_is_refused(server):
    client, member = server
    response = client.post(
        "/srv/v2/sys/script_runner",
        headers=signed("/sys/script_runner", **{"medable-client-account": str(member._id)}),
        content=json.dumps({"script": "return 1"}),
    )
    assert response.status_code == 403
    assert response.json()["errCode"] == "cortex.accessDenied.unspecified"


def test_signature_checks(server):
    client, _ = server
    body = json.dumps({"script": "return 1"})
    bad = signed("/sys/script_runner")
    bad["medable-client-signature"] = "0" * 64
    assert client.post("/srv/v2/sys/script_runner", headers=bad, content=body).json()["errCode"] == "cortex.accessDenied.invalidRequestSignature"
    stale = signed("/sys/script_runner", ts=int(time.time() * 1000) - 16 * 60 * 1000)
    assert client.post("/srv/v2/sys/script_runner", headers=stale, content=body).json()["errCode"] == "cortex.invalidArgument.staleRequestSignature"
    once = signed("/sys/script_runner")
    assert client.post("/srv/v2/sys/script_runner", headers=once, content=body).json()["data"] == 1
    replay = client.post("/srv/v2/sys/script_runner", headers=once, content=body).json()
    assert replay["errCode"] == "cortex.accessDenied.invalidRequestSignature"
    # The signature covers the path after /{org}[/v2], without the query or outer slashes.
    headers = signed("/sys/script_runner")
    assert client.post("/srv/sys/script_runner/?x=1", headers=headers, content=body).json()["data"] == 1


BAD_REQUESTS = [
    ("malformed json", "/srv/v2/sys/script_runner", "{nope", {}),
    ("json array body", "/srv/v2/sys/script_runner", "[1, 2]", {}),
    ("json string body", "/srv/v2/sys/script_runner", '"return 1"', {}),
    ("json number body", "/srv/v2/sys/script_runner", "5", {}),
    ("json null body", "/srv/v2/sys/script_runner", "null", {}),
    ("empty body", "/srv/v2/sys/script_runner", "", {}),
    ("script is a number", "/srv/v2/sys/script_runner", '{"script": 5}', {}),
    ("script is null", "/srv/v2/sys/script_runner", '{"script": null}', {}),
    ("script is an object", "/srv/v2/sys/script_runner", '{"script": {"a": 1}}', {}),
    ("script is an array", "/srv/v2/sys/script_runner", '{"script": ["return 1"]}', {}),
    ("script does not compile", "/srv/v2/sys/script_runner", '{"script": "var x = \'"}', {}),
    ("script too long", "/srv/v2/sys/script_runner", json.dumps({"script": "return 1;" + " " * 50_000}), {}),
    ("oversize body", "/srv/v2/sys/script_runner", json.dumps({"script": "return 1", "pad": "x" * 1_100_000}), {}),
    ("unknown org", "/nosuchorg/v2/sys/script_runner", '{"script": "return 1"}', {}),
    ("unknown route", "/srv/v2/sys/nothing_here", '{"script": "return 1"}', {}),
    ("unknown top path", "/srv/v2/no/such/thing", "{}", {}),
    ("no org at all", "/", "{}", {}),
    ("missing key", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-key": ""}),
    ("unknown key", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-key": "x" * 22}),
    ("short signature", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-signature": "abc"}),
    ("missing signature", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-signature": ""}),
    ("short nonce", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-nonce": "abc"}),
    ("missing nonce", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-nonce": ""}),
    ("timestamp not a number", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-timestamp": "soon"}),
    ("timestamp in the future", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-timestamp": str(int(time.time() * 1000) + 10**9)}),
    ("override to unknown account", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-account": "000000000000000000000099"}),
    ("override that is not an id", "/srv/v2/sys/script_runner", '{"script": "return 1"}', {"medable-client-account": "nobody"}),
    ("script requires a missing module", "/srv/v2/sys/script_runner", '{"script": "require(\'fs\')"}', {}),
    ("wrong method", "/srv/v2/sys/script_runner", "", {"__method": "GET"}),
    ("unknown object through runner", "/srv/v2/sys/script_runner", '{"script": "return org.objects.c_nope.find().toArray()"}', {}),
]


@pytest.mark.parametrize(("path", "content", "overrides"), [row[1:] for row in BAD_REQUESTS], ids=[row[0] for row in BAD_REQUESTS])
def test_bad_input_gets_a_4xx_fault_never_a_traceback(server, path, content, overrides):
    client, _ = server
    overrides = dict(overrides)
    method = overrides.pop("__method", "POST")
    relative = path.split("/v2", 1)[1] if "/v2" in path else path
    headers = signed(relative, method)
    headers.update(overrides)
    headers = {k: v for k, v in headers.items() if v != ""}
    response = client.request(method, path, headers=headers, content=content)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["object"] == "fault", body
    assert 400 <= response.status_code < 500, (response.status_code, body)
    assert response.status_code == body["status"]
    assert "Traceback" not in response.text and "File \"" not in response.text


def test_runner_returning_a_cursor_gives_its_documents(server):
    client, _ = server
    setup = """
      org.objects.objects.insertOne({label: 'Row', name: 'c_row', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
        properties: [{label: 'I', name: 'c_i', type: 'Number', indexed: true}]}).execute()
      org.objects.c_rows.insertMany([{c_i: 1}, {c_i: 2}, {c_i: 3}]).execute()
      return 1
    """
    assert run(client, setup).json()["data"] == 1
    listed = run(client, "return org.objects.c_rows.find().sort({c_i: 1}).paths('c_i')")
    assert [row["c_i"] for row in listed.json()["data"]] == [1, 2, 3]
    assert listed.json()["object"] == "list"
    headers = signed("/sys/script_runner", accept="application/x-ndjson")
    streamed = client.post("/srv/v2/sys/script_runner", headers=headers, content=json.dumps({"script": "return org.objects.c_rows.find().sort({c_i: -1}).paths('c_i')"}))
    assert [json.loads(line)["c_i"] for line in streamed.text.splitlines()] == [3, 2, 1]


def test_script_faults_keep_their_own_status(server):
    client, _ = server
    thrown = run(client, "throw 'x'")
    # script.error.unspecified is registered: the runner's caller gets the registry's code,
    # kScriptError, and the message as reason (fidelity.md §10).
    assert (thrown.status_code, thrown.json()["code"], thrown.json()["message"], thrown.json()["reason"]) == (500, "kScriptError", "x", "x")
    cycle = run(client, "const a = {}; a.a = a; return a")
    assert (cycle.status_code, cycle.json()["errCode"]) == (500, "script.error.marshalling")
    assert "Traceback" not in thrown.text + cycle.text
