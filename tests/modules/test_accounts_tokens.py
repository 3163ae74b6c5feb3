"""``org.objects.accounts`` auth tokens from scripts: RS256 JWTs signed with the issuing app's key
pair (rest-api-auth.md §5.6, scripting-core.md §6). Time is a FakeClock: nothing sleeps."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from starlette.testclient import TestClient

from cortex_runtime.clock import FakeClock
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator, generate_key


@pytest.fixture()
def env():
    runtime = Runtime(clock=FakeClock())
    org, admin = runtime.orgs.create("acct")
    auth = Authenticator(runtime.store, tokens=runtime.tokens, audience=lambda o: runtime.audience(o.code))
    key, other = generate_key(), generate_key()
    auth.add_app(org, App(name="app", key=key, secret=None, principal_id=None))
    auth.add_app(org, App(name="other", key=other, secret=None, principal_id=None))
    yield runtime, org, admin, key, other, auth
    runtime.close()


def run(env, source: str, script_type: str = "route"):
    runtime, org, admin = env[0], env[1], env[2]
    return runtime.run(source, org=org, principal=admin, script_type=script_type)


def value(env, source: str):
    result = run(env, source)
    assert result.fault is None, result.fault.to_json()
    return result.value


def fault(env, source: str):
    result = run(env, source)
    assert result.fault is not None, f"expected a fault, got {result.value!r}"
    return result.fault


def mint(env, options: dict, key: str | None = None) -> str:
    return value(env, f"return org.objects.accounts.createAuthToken('{key or env[3]}', script.principal._id, {json.dumps(options)})")


def test_accounts_module_is_org_objects_accounts_fact_18(env):
    assert value(env, "return [require('accounts') === org.objects.accounts, org.objects.Account === org.objects.accounts, typeof org.objects.accounts.authorizeToken]") == [True, True, "function"]


def test_token_verifies_with_the_issuing_apps_public_key(env):
    runtime, org, admin, key, other, _ = env
    token = mint(env, {"scope": ["object.read.account", "view.execute.c_v"], "includeEmail": True, "grant": 4, "skipAcl": True})
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    now = int(runtime.clock.now().timestamp())
    # exp is checked against the FakeClock by the host; PyJWT would use the wall clock.
    claims = jwt.decode(token, runtime.tokens.public_key_pem(org, key), algorithms=["RS256"], audience=runtime.audience("acct"), options={"verify_exp": False})
    assert claims["iss"] == key and claims["sub"] == str(admin._id) and claims["aud"] == "http://localhost/acct/v2"
    assert (claims["iat"], claims["exp"]) == (now, now + 900)  # default lifetime: the app's authDuration
    assert claims["cortex/scp"] == ["object.read.account", "view.execute.c_v"]
    assert (claims["cortex/eml"], claims["cortex/gnt"], claims["cortex/skp"]) == ("admin@example.com", 4, True)
    assert "jti" not in claims  # ephemeral: not revocable, not recorded
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, runtime.tokens.public_key_pem(org, other), algorithms=["RS256"], audience=runtime.audience("acct"), options={"verify_exp": False})
    # decodeAuthToken gives the same claims.
    assert value(env, f"return org.objects.accounts.decodeAuthToken('{token}')") == claims


def test_authorize_token_gives_the_principal_with_its_compiled_scope(env):
    admin = env[2]
    token = mint(env, {"scope": ["object.read.c_messages.*.c_subject"]})
    got = value(
        env,
        f"""const a = org.objects.accounts; const p = a.authorizeToken('{token}');
        return [p._id.toString(), p.email, p.scope, a.inAuthScope(p.scope, 'object.read.c_messages', true), a.inAuthScope(p.scope, 'object.read.c_messages', false)]""",
    )
    assert got == [str(admin._id), "admin@example.com", {"object": {"read": {"c_messages": {"*": {"c_subject": {}}}}}}, True, False]


def test_expired_token_is_refused(env):
    runtime = env[0]
    token = mint(env, {"expiresIn": 60})
    assert value(env, f"return org.objects.accounts.authorizeToken('{token}').email") == "admin@example.com"
    runtime.clock.advance(timedelta(seconds=59))
    assert value(env, f"return org.objects.accounts.authorizeToken('{token}').email") == "admin@example.com"
    runtime.clock.advance(timedelta(seconds=10))
    refused = fault(env, f"return org.objects.accounts.authorizeToken('{token}')")
    assert (refused.errCode, refused.code, refused.status) == ("cortex.expired.jwt", "kTokenExpired", 410)


def test_revoked_token_is_refused(env):
    permanent = mint(env, {"permanent": True, "scope": ["*"]})
    assert "exp" not in jwt.decode(permanent, options={"verify_signature": False})
    assert value(env, f"return org.objects.accounts.authorizeToken('{permanent}').email") == "admin@example.com"
    assert value(env, f"return org.objects.accounts.revokeAuthToken('{permanent}')") is True
    refused = fault(env, f"return org.objects.accounts.authorizeToken('{permanent}')")
    assert (refused.errCode, refused.code, refused.status) == ("cortex.accessDenied.invalidJwt", "kInvalidCredentials", 403)
    assert value(env, f"return org.objects.accounts.revokeAuthToken('{permanent}')") is False
    # By id (jti), and an ephemeral token has nothing to revoke.
    other = mint(env, {"permanent": True})
    jti = jwt.decode(other, options={"verify_signature": False})["jti"]
    assert value(env, f"return [org.objects.accounts.revokeAuthToken('{jti}'), org.objects.accounts.revokeAuthToken('{mint(env, {})}')]") == [True, False]


def test_tampered_or_foreign_tokens_are_refused(env):
    token = mint(env, {})
    head, body, signature = token.split(".")
    tampered = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    assert fault(env, f"return org.objects.accounts.authorizeToken('{tampered}')").errCode == "cortex.accessDenied.invalidJwt"
    assert fault(env, "return org.objects.accounts.authorizeToken('not-a-token')").errCode == "cortex.accessDenied.invalidJwt"
    assert fault(env, "return org.objects.accounts.decodeAuthToken('x.y')").errCode == "cortex.accessDenied.invalidJwt"
    # Another org's token: its app is unknown here.
    runtime = env[0]
    org2, admin2 = runtime.orgs.create("acct2")
    env[5].add_app(org2, App(name="app", key=generate_key(), secret=None, principal_id=None))
    foreign_key = env[5].apps(org2)[0].key
    foreign = runtime.run(f"return org.objects.accounts.createAuthToken('{foreign_key}', script.principal._id)", org=org2, principal=admin2).value
    assert fault(env, f"return org.objects.accounts.authorizeToken('{foreign}')").errCode == "cortex.accessDenied.invalidJwtApp"


def test_limited_use_tokens_count_down(env):
    key = env[3]
    token = mint(env, {"maxUses": 2})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cortex/cnt"] == 2 and claims["jti"] and "exp" in claims
    assert value(env, f"return org.objects.accounts.authorizeToken('{token}').email") == "admin@example.com"
    listed = value(env, f"return org.objects.accounts.getSubjectTokens('{key}', script.principal._id)")
    assert [(t["_id"], t["uses_remaining"], t["times_authorized"]) for t in listed] == [(claims["jti"], 1, 1)]
    assert value(env, f"return org.objects.accounts.authorizeToken('{token}').email") == "admin@example.com"
    spent = fault(env, f"return org.objects.accounts.authorizeToken('{token}')")
    assert spent.errCode == "cortex.accessDenied.invalidJwt" and "no uses left" in spent.reason
    assert value(env, f"return org.objects.accounts.getSubjectTokens('{key}', script.principal._id)") == []


def test_at_most_ten_revocable_tokens_per_subject_and_app(env):
    key, other = env[3], env[4]
    value(env, f"for (let i = 0; i < 10; i++) org.objects.accounts.createAuthToken('{key}', script.principal._id, {{permanent: true}})")
    capped = fault(env, f"return org.objects.accounts.createAuthToken('{key}', script.principal._id, {{permanent: true}})")
    assert (capped.errCode, capped.status) == ("cortex.accessDenied.maxJwtPerSubject", 403)
    mint(env, {})  # ephemeral tokens are not capped
    mint(env, {"permanent": True}, key=other)  # the cap is per app
    assert len(value(env, f"return org.objects.accounts.getSubjectTokens('{key}', script.principal)")) == 10
    assert value(env, f"return org.objects.accounts.revokeSubjectTokens('{key}', script.principal._id)") == 10
    assert value(env, f"return org.objects.accounts.getSubjectTokens('{key}', 'admin@example.com')") == []
    assert len(value(env, f"return org.objects.accounts.getSubjectTokens('{other}', 'admin@example.com')")) == 1
    mint(env, {"permanent": True})


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"expiresIn": 901}, "expiresIn"),
        ({"expiresIn": 0}, "expiresIn"),
        ({"expiresIn": -60}, "expiresIn"),
        ({"permanent": True, "expiresIn": 60}, "expiresIn"),
        ({"activatesIn": 60}, "activatesIn"),
        ({"activatesIn": 60, "expiresIn": 60, "validAt": "2024-01-01T00:00:00Z"}, "activatesIn"),
        ({"maxUses": 0}, "maxUses"),
        ({"scope": "object"}, "scope"),
        ({"scope": ["object.read.account.name"]}, "object.read.account.name"),
    ],
)
def test_token_option_rules(env, options, path):
    refused = fault(env, f"return org.objects.accounts.createAuthToken('{env[3]}', script.principal._id, {json.dumps(options)})")
    assert refused.status == 400 and refused.path == path


def test_activates_in_sets_not_before(env):
    runtime = env[0]
    token = mint(env, {"activatesIn": 60, "expiresIn": 120})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["nbf"] == claims["iat"] + 60 and claims["exp"] == claims["nbf"] + 120
    assert "not valid yet" in fault(env, f"return org.objects.accounts.authorizeToken('{token}')").reason
    runtime.clock.advance(61)
    assert value(env, f"return org.objects.accounts.authorizeToken('{token}').email") == "admin@example.com"
    runtime.clock.advance(130)
    assert fault(env, f"return org.objects.accounts.authorizeToken('{token}')").errCode == "cortex.expired.jwt"


def test_unknown_app_or_subject(env):
    assert fault(env, "return org.objects.accounts.createAuthToken('nope', script.principal._id)").errCode == "cortex.accessDenied.invalidJwtApp"
    assert fault(env, f"return org.objects.accounts.createAuthToken('{env[3]}', 'nobody@example.com')").errCode == "cortex.notFound.instance"
    assert fault(env, f"return org.objects.accounts.createAuthToken('{env[3]}', 'anonymous')").path == "subject"


def test_locked_subject_tokens_are_refused(env):
    runtime, org, admin = env[0], env[1], env[2]
    token = mint(env, {})
    runtime.store.contexts.update_one({"_id": admin._id}, {"$set": {"locked": True}})
    refused = fault(env, f"return org.objects.accounts.authorizeToken('{token}')")
    assert refused.code == "kAccountLocked"


def test_authorize_token_after_trigger_runs_as_the_subject(env):
    runtime, org, admin = env[0], env[1], env[2]
    layer = runtime.layer(org, admin)
    layer.insert_one(
        "script",
        {
            "label": "Authorized",
            "name": "c_authorized",
            "type": "trigger",
            "script": "require('cache').set('authorized', script.principal.email + ':' + script.event)",
            "configuration": {"object": "account", "event": "authorizeToken.after", "inline": True},
        },
        {},
    )
    token = mint(env, {})
    assert value(env, "return require('cache').get('authorized') === undefined") is True
    value(env, f"org.objects.accounts.authorizeToken('{token}')")
    assert value(env, "return require('cache').get('authorized')") == "admin@example.com:authorizeToken.after"


def test_safe_mode_cannot_mint_privileged_tokens(env):
    runtime, org, admin, key = env[0], env[1], env[2], env[3]
    source = f"""return script.as(script.principal._id, {{acl: {{safe: true}}}}, () =>
        org.objects.accounts.createAuthToken('{key}', script.principal._id, {{skipAcl: true, grant: 8, scope: ['*']}}))"""
    token = value(env, source)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "cortex/skp" not in claims and "cortex/gnt" not in claims and claims["cortex/scp"] == ["*"]


def test_a_script_minted_token_authenticates_a_rest_request(env):
    runtime, org, admin, key, _, auth = env
    runtime.layer(org, admin).insert_one(
        "script",
        {
            "label": "Counted",
            "name": "c_counted",
            "type": "trigger",
            "script": "require('cache').counter('authorized')",
            "configuration": {"object": "account", "event": "authorizeToken.after", "inline": True},
        },
        {},
    )
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    headers = {"medable-client-key": key, "content-type": "application/json"}
    token = mint(env, {"scope": ["*"], "maxUses": 1})
    ran = client.post("/acct/v2/sys/script_runner", headers={**headers, "authorization": f"Bearer {token}"}, content=json.dumps({"script": "return script.principal.email"}))
    assert ran.json() == {"object": "result", "data": "admin@example.com"}
    # The request's token authorization fired the subject's authorizeToken.after trigger once.
    assert value(env, "return require('cache').get('authorized')") == 1
    # The single use is spent; out-of-scope and expired tokens are refused too.
    again = client.post("/acct/v2/sys/script_runner", headers={**headers, "authorization": f"Bearer {token}"}, content=json.dumps({"script": "return 1"}))
    assert (again.status_code, again.json()["errCode"]) == (403, "cortex.accessDenied.invalidJwt")
    narrow = mint(env, {"scope": ["object.read.account"]})
    scoped = client.post("/acct/v2/sys/script_runner", headers={**headers, "authorization": f"Bearer {narrow}"}, content=json.dumps({"script": "return 1"}))
    assert (scoped.status_code, scoped.json()["errCode"], scoped.json()["path"]) == (403, "cortex.accessDenied.scope", "script.execute.runner")
    reader = mint(env, {"scope": ["object.read.account"]})
    read = client.get(f"/acct/v2/accounts/{admin._id}", headers={**headers, "authorization": f"Bearer {reader}"})
    assert (read.status_code, read.json()["email"]) == (200, "admin@example.com")
    viewer = mint(env, {"scope": ["view"]})
    denied = client.get(f"/acct/v2/accounts/{admin._id}", headers={**headers, "authorization": f"Bearer {viewer}"})
    assert (denied.status_code, denied.json()["errCode"], denied.json()["path"]) == (403, "cortex.accessDenied.scope", "object.read.account")
    short = mint(env, {"scope": ["*"], "expiresIn": 30})
    runtime.clock.advance(60)
    expired = client.post("/acct/v2/sys/script_runner", headers={**headers, "authorization": f"Bearer {short}"}, content=json.dumps({"script": "return 1"}))
    assert (expired.status_code, expired.json()["code"]) == (410, "kTokenExpired")


def test_compile_and_optimize_auth_scope(env):
    got = value(env, "const a = org.objects.accounts; return [a.compileAuthScope(['view', 'view.execute.c_v', 'admin.read']), a.optimizeAuthScope(['view.execute.c_v', 'view', 'admin.read'])]")
    assert got == [{"view": {}, "admin": {"read": {}}}, ["admin.read", "view"]]
    assert fault(env, "return org.objects.accounts.compileAuthScope(['bogus'])").code == "kAuthScope"


@pytest.mark.parametrize("method", ["logout", "attemptAuth", "createPasswordResetToken"])
def test_session_methods_are_not_implemented(env, method):
    refused = fault(env, f"return org.objects.accounts.{method}()")
    assert (refused.code, refused.status, refused.path) == ("kNotImplemented", 501, f"accounts.{method}")


def test_principal_in_auth_scope_fact_42(env):
    """scripting-core.md acceptance 42, with the scope coming from the request's token: a route
    run by a principal scoped to ``object.read.account.<id>.name.first``."""
    runtime, org, admin, key, _, auth = env
    source = """const base = 'object.read.account.' + script.principal._id + '.name';
    const p = script.principal;
    return [p.inAuthScope(base, true), p.inAuthScope(base, false), p.inAuthScope(base + '.first', true),
            p.inAuthScope(base + '.first', false), p.inAuthScope(base + '.last', true), p.inAuthScope(base + '.last', false),
            p.inAuthScope(base)]"""
    runtime.layer(org, admin).insert_one(
        "script", {"label": "Scoped", "name": "c_scoped", "type": "route", "script": source, "configuration": {"method": "get", "path": "scoped"}}, {}
    )
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    token = mint(env, {"scope": ["script.execute.route", f"object.read.account.{admin._id}.name.first"]})
    got = client.get("/acct/v2/routes/scoped", headers={"medable-client-key": key, "authorization": f"Bearer {token}"})
    assert got.json()["data"] == [True, False, True, True, False, False, True]  # an array goes out as a list
    # Without a token the principal is not scoped: every scope is in.
    assert value(env, "return [script.principal.inAuthScope('object.delete.anything', false), script.principal.inAuthScope('admin.update')]") == [True, True]
    assert fault(env, "return script.principal.inAuthScope('')").code == "kAuthScope"
