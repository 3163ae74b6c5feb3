"""JWT bearer tokens: minted by scripts (createAuthToken), verified with scopes (rest-api-auth.md §5.6)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import jwt
import pytest
from starlette.testclient import TestClient

from cortex_runtime.clock import FakeClock
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator
from cortex_runtime.server.tokens import in_scope

from .test_runner import KEY, SECRET, signed


@pytest.fixture(scope="module")
def server():
    runtime = Runtime(clock=FakeClock(datetime.now(timezone.utc)))
    org, admin = runtime.orgs.create("tok")
    auth = Authenticator(runtime.store, tokens=runtime.tokens, audience=lambda o: runtime.audience(o.code))
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    layer = runtime.layer(org, admin)
    layer.insert_one("script", {"label": "Who", "name": "c_who", "type": "route", "script": "return script.principal.email", "configuration": {"method": "get", "path": "who"}}, {})
    return TestClient(create_app(runtime, auth), raise_server_exceptions=False), runtime, admin


def mint(client, options: dict) -> str:
    script = f"return org.objects.accounts.createAuthToken('{KEY}', script.principal._id, {json.dumps(options)})"
    response = client.post("/tok/v2/sys/script_runner", headers=signed("/sys/script_runner"), content=json.dumps({"script": script}))
    return response.json()["data"]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "medable-client-key": KEY, "content-type": "application/json"}


@pytest.mark.parametrize(
    ("scopes", "required", "granted"),
    [
        (["*"], "script.execute.runner", True),
        (["script"], "script.execute.runner", True),
        (["script.execute"], "script.execute.runner", True),
        (["script.execute.*"], "script.execute.runner", True),
        (["script.execute.route"], "script.execute.runner", False),
        (["object.read.account"], "script.execute.runner", False),
        ([], "script.execute.runner", False),
        (None, "script.execute.runner", True),
    ],
)
def test_scope_chains(scopes, required, granted):
    assert in_scope(scopes, required) is granted


def test_token_claims_and_use(server):
    client, runtime, admin = server
    token = mint(client, {"permanent": True, "scope": ["*"], "includeEmail": True})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == KEY and claims["sub"] == str(admin._id) and claims["jti"]
    assert claims["cortex/scp"] == ["*"] and claims["cortex/eml"] == "admin@example.com"
    assert claims["aud"] == runtime.audience("tok")
    ran = client.post("/tok/v2/sys/script_runner", headers=bearer(token), content=json.dumps({"script": "return 5 + 1"}))
    assert ran.json() == {"object": "result", "data": 6}
    route = client.get("/tok/v2/routes/who", headers=bearer(token))
    assert route.json()["data"] == "admin@example.com"


def test_scope_is_enforced(server):
    client, _, _ = server
    narrow = mint(client, {"scope": ["object.read.account"]})
    refused = client.post("/tok/v2/sys/script_runner", headers=bearer(narrow), content=json.dumps({"script": "return 1"}))
    assert (refused.status_code, refused.json()["errCode"], refused.json()["path"]) == (403, "cortex.accessDenied.scope", "script.execute.runner")
    route_only = mint(client, {"scope": ["script.execute.route.c_who"]})
    assert client.get("/tok/v2/routes/who", headers=bearer(route_only)).json()["data"] == "admin@example.com"
    assert client.post("/tok/v2/sys/script_runner", headers=bearer(route_only), content=json.dumps({"script": "return 1"})).json()["errCode"] == "cortex.accessDenied.scope"


def test_bad_tokens(server):
    client, runtime, _ = server
    token = mint(client, {"permanent": True, "scope": ["*"]})
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.post("/tok/v2/sys/script_runner", headers=bearer(tampered), content="{}").json()["errCode"] == "cortex.accessDenied.invalidJwt"
    assert client.post("/tok/v2/sys/script_runner", headers=bearer("not.a.token"), content="{}").json()["errCode"] == "cortex.accessDenied.invalidJwt"
    expired = mint(client, {"expiresIn": 60, "scope": ["*"]})
    runtime.clock.advance(120)
    assert client.post("/tok/v2/sys/script_runner", headers=bearer(expired), content="{}").json()["errCode"] == "cortex.expired.jwt"
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    revoke = f"return org.objects.accounts.revokeAuthToken('{jti}')"
    assert client.post("/tok/v2/sys/script_runner", headers=signed("/sys/script_runner"), content=json.dumps({"script": revoke})).json()["data"] is True
    after = client.post("/tok/v2/sys/script_runner", headers=bearer(token), content=json.dumps({"script": "return 1"}))
    assert after.status_code == 403 and after.json()["errCode"] == "cortex.accessDenied.invalidJwt"
