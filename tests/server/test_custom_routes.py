"""Custom routes deployed as route scripts, served under /{org}/v2/routes/."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator

from .test_runner import KEY, SECRET, signed

MULTIPLY = """
var req = require('request'),
    res = require('response'),
    xml = require('xml');

var response = {
    total: req.params.a * req.params.b
};

res.setHeader('Content-Type', 'text/xml');
res.write( xml.toXml(response) );
"""


@pytest.fixture(scope="module")
def routes():
    runtime = Runtime()
    org, admin = runtime.orgs.create("rts")
    member = runtime.orgs.provision(org, email="member@example.com")
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    layer = runtime.layer(org, admin)

    def deploy(label: str, script: str, **configuration: object) -> None:
        layer.insert_one("script", {"label": label, "name": label, "type": "route", "script": script, "configuration": configuration}, {})

    deploy("c_multiply", MULTIPLY, method="get", path="multiply/:a/:b")
    deploy("c_ping", "return 'pong'", method="get", path="c_ping")
    deploy("c_files", "return require('request').params[0]", method="get", path="files/*")
    deploy("c_items", "return Number(require('request').params[0])", method="get", path="/^items\\/(\\d+)$/")
    deploy("c_echo", "return require('request').body", method="post", path="echo")
    deploy("c_admins", "return 'secret'", method="get", path="admins", acl=[{"type": 3, "target": "000000000000000000000004"}])
    deploy("c_status", "require('response').setStatusCode(201); return {made: true}", method="post", path="made")
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    return client, member


def get(client, path, **headers):
    return client.get(f"/rts/v2/routes/{path}", headers=signed(f"/routes/{path}".split("?")[0], "GET", **headers))


def test_seed_multiply_route_returns_xml(routes):
    client, _ = routes
    response = get(client, "multiply/6/7")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><total>42</total>'


def test_named_wildcard_and_regex_routes(routes):
    client, _ = routes
    assert get(client, "c_ping").json() == {"object": "result", "data": "pong"}
    assert get(client, "files/a/b.txt").json()["data"] == "a/b.txt"
    assert get(client, "items/42").json()["data"] == 42
    missing = get(client, "items/abc")
    assert (missing.status_code, missing.json()["errCode"]) == (404, "cortex.notFound.route")
    assert missing.json()["reason"] == "No route for GET /routes/items/abc."


def test_route_acl_refuses_callers_outside_it(routes):
    client, member = routes
    assert get(client, "admins").json()["data"] == "secret"
    refused = get(client, "admins", **{"medable-client-account": str(member._id)})
    assert (refused.status_code, refused.json()["errCode"]) == (403, "cortex.accessDenied.route")


def test_bodies_and_status(routes):
    client, _ = routes
    echoed = client.post("/rts/v2/routes/echo", headers=signed("/routes/echo"), content=json.dumps({"a": 1}))
    assert echoed.json() == {"object": "result", "data": {"a": 1}}
    text = client.post("/rts/v2/routes/echo", headers={**signed("/routes/echo"), "content-type": "text/plain"}, content="raw text")
    assert text.json()["data"] == "raw text"
    form = client.post("/rts/v2/routes/echo", headers={**signed("/routes/echo"), "content-type": "application/x-www-form-urlencoded"}, content="a=1&b=two")
    assert form.json()["data"] == {"a": "1", "b": "two"}
    made = client.post("/rts/v2/routes/made", headers=signed("/routes/made"), content="{}")
    assert (made.status_code, made.json()) == (201, {"object": "result", "data": {"made": True}})


BAD_ROUTE_REQUESTS = [
    ("unknown route", "GET", "/rts/v2/routes/nothing/here", None, {}),
    ("unknown route root", "GET", "/rts/v2/routes", None, {}),
    ("wrong method", "DELETE", "/rts/v2/routes/c_ping", None, {}),
    ("malformed json body", "POST", "/rts/v2/routes/echo", "{nope", {}),
    ("oversize body", "POST", "/rts/v2/routes/echo", "x" * 1_100_000, {"content-type": "text/plain"}),
    ("regex route no match", "GET", "/rts/v2/routes/items/-1", None, {}),
    ("missing key", "GET", "/rts/v2/routes/c_ping", None, {"medable-client-key": ""}),
    ("bad signature", "GET", "/rts/v2/routes/c_ping", None, {"medable-client-signature": "f" * 64}),
    ("unknown org", "GET", "/nope/v2/routes/c_ping", None, {}),
    ("route refuses outsider", "GET", "/rts/v2/routes/admins", None, {"medable-client-account": "member@example.com"}),
]


@pytest.mark.parametrize(("method", "path", "content", "overrides"), [r[1:] for r in BAD_ROUTE_REQUESTS], ids=[r[0] for r in BAD_ROUTE_REQUESTS])
def test_bad_route_requests_get_4xx_faults(routes, method, path, content, overrides):
    client, _ = routes
    relative = path.split("/v2", 1)[1]
    headers = {**signed(relative, method), **overrides}
    headers = {k: v for k, v in headers.items() if v != ""}
    response = client.request(method, path, headers=headers, content=content)
    body = response.json()
    assert body["object"] == "fault" and 400 <= response.status_code < 500 and body["status"] == response.status_code, body
    assert "Traceback" not in response.text
