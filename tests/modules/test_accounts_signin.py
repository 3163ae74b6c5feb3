"""``org.objects.accounts`` sign-in: provision, register, login, preAuth, failAuth and the lockout
(scripting-core.md §6, rest-api-auth.md §6.2). Time is a FakeClock: nothing sleeps."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from cortex_runtime.clock import FakeClock
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

PASSWORD = "Correct-Horse-7-Battery"
EMAIL = "user@example.com"


@pytest.fixture()
def env():
    runtime = Runtime(clock=FakeClock())
    org, admin = runtime.orgs.create("signin")
    runtime.store.orgs.update_one(
        {"_id": org._id},
        {"$set": {"settings.security": {"unauthorizedAccess": {"lockAttempts": 3, "lockDuration": 10}}}},
    )
    org = runtime.orgs.get("signin")
    yield runtime, org, admin
    runtime.close()


def run(env, source: str, script_type: str = "route"):
    runtime, org, admin = env
    return runtime.run(source, org=org, principal=admin, script_type=script_type)


def value(env, source: str, script_type: str = "route"):
    result = run(env, source, script_type)
    assert result.fault is None, result.fault.to_json()
    return result.value


def fault(env, source: str, script_type: str = "route"):
    result = run(env, source, script_type)
    assert result.fault is not None, f"expected a fault, got {result.value!r}"
    return result.fault


def provision(env, email: str = EMAIL, password: str = PASSWORD, options: dict | None = None):
    payload = {"email": email, "name": {"first": "Ada", "last": "User"}, "password": password}
    return value(env, f"return org.objects.accounts.provision({json.dumps(payload)}, {json.dumps(options or {})})")


def login(env, password: str, email: str = EMAIL):
    return run(env, f"return org.objects.accounts.login({json.dumps({'email': email, 'password': password})})")


def set_org(env, **settings):
    runtime, org, admin = env
    runtime.store.orgs.update_one({"_id": org._id}, {"$set": {f"settings.{k}": v for k, v in settings.items()}})
    return runtime, runtime.orgs.get(org.code), admin


def test_provisioned_account_logs_in_and_the_password_stays_hidden(env):
    account = provision(env)
    assert account["email"] == EMAIL and "password" not in account
    ok = login(env, PASSWORD)
    assert ok.fault is None
    assert ok.value["email"] == EMAIL and ok.value["name"] == {"first": "Ada", "last": "User"} and str(ok.value["_id"]) == str(account["_id"])
    read = value(env, f"return org.objects.accounts.find({{email: '{EMAIL}'}}).skipAcl().grant('read').toArray()")
    assert read and all("password" not in doc for doc in read)
    runtime = env[0]
    stored = runtime.store.contexts.find_one({"_id": account["_id"]})
    assert "password" not in stored and PASSWORD not in json.dumps(runtime.store.db["credentials"].find_one({"account": account["_id"]}), default=str)


def test_lockout_after_the_configured_failures_for_the_configured_time(env):
    """rest-api-auth.md acceptance 11: kInvalidCredentials for each of lockAttempts (3) failures,
    then kAccountLocked even with the right password, until lockDuration (10 min) has passed."""
    runtime = env[0]
    provision(env)
    for _ in range(3):
        refused = login(env, "wrong")
        assert (refused.fault.code, refused.fault.errCode, refused.fault.status) == ("kInvalidCredentials", "cortex.accessDenied.invalidCredentials", 403)
    locked = login(env, PASSWORD)
    assert (locked.fault.code, locked.fault.errCode) == ("kAccountLocked", "cortex.accessDenied.accountLocked")
    runtime.clock.advance(timedelta(minutes=9, seconds=59))
    assert login(env, PASSWORD).fault.code == "kAccountLocked"
    runtime.clock.advance(timedelta(seconds=2))
    assert login(env, PASSWORD).fault is None
    # The count starts over after the lock is lifted, and a success resets it.
    for _ in range(2):
        assert login(env, "wrong").fault.code == "kInvalidCredentials"
    assert login(env, PASSWORD).fault is None
    for _ in range(2):
        assert login(env, "wrong").fault.code == "kInvalidCredentials"
    assert login(env, PASSWORD).fault is None


def test_default_lockout_is_five_attempts_for_fifteen_minutes(env):
    runtime, org, admin = env
    runtime.store.orgs.update_one({"_id": org._id}, {"$unset": {"settings.security": ""}})
    env = (runtime, runtime.orgs.get(org.code), admin)
    provision(env)
    for _ in range(5):
        assert login(env, "wrong").fault.code == "kInvalidCredentials"
    assert login(env, PASSWORD).fault.code == "kAccountLocked"
    runtime.clock.advance(timedelta(minutes=14))
    assert login(env, PASSWORD).fault.code == "kAccountLocked"
    runtime.clock.advance(timedelta(minutes=1, seconds=1))
    assert login(env, PASSWORD).fault is None


def test_fail_auth_always_throws_fact_25(env):
    """scripting-core.md acceptance 25: failAuth never returns normally."""
    provision(env)
    source = f"""const out = [];
    for (let i = 0; i < 4; i++) {{
      try {{ org.objects.accounts.failAuth('{EMAIL}', new Error('bad')); out.push('returned'); }}
      catch (e) {{ out.push(e.code); }}
    }}
    try {{ org.objects.accounts.failAuth('nobody@example.com'); out.push('returned'); }} catch (e) {{ out.push(e.code); }}
    return out"""
    assert value(env, source) == ["kInvalidCredentials", "kInvalidCredentials", "kInvalidCredentials", "kAccountLocked", "kInvalidCredentials"]
    # failAuth counts toward the same lockout as login.
    assert login(env, PASSWORD).fault.code == "kAccountLocked"


def test_pre_auth(env):
    runtime = env[0]
    provision(env)
    got = value(env, f"return org.objects.accounts.preAuth('{EMAIL}')")
    assert got["email"] == EMAIL and "password" not in got
    assert fault(env, "return org.objects.accounts.preAuth('nobody@example.com')").code == "kInvalidCredentials"
    for _ in range(3):
        login(env, "wrong")
    assert fault(env, f"return org.objects.accounts.preAuth('{EMAIL}')").code == "kAccountLocked"
    runtime.clock.advance(timedelta(minutes=11))
    assert value(env, f"return org.objects.accounts.preAuth('{EMAIL}')")["email"] == EMAIL


def test_unlocking_by_hand_starts_the_count_over(env):
    runtime = env[0]
    account = provision(env)
    for _ in range(3):
        login(env, "wrong")
    assert login(env, PASSWORD).fault.code == "kAccountLocked"
    runtime.store.contexts.update_one({"_id": account["_id"]}, {"$set": {"locked": False}})
    assert login(env, "wrong").fault.code == "kInvalidCredentials"
    assert login(env, PASSWORD).fault is None


def test_an_account_locked_by_hand_stays_locked(env):
    runtime = env[0]
    account = provision(env)
    runtime.store.contexts.update_one({"_id": account["_id"]}, {"$set": {"locked": True}})
    runtime.clock.advance(timedelta(days=30))
    assert login(env, PASSWORD).fault.code == "kAccountLocked"


@pytest.mark.parametrize("script_type", ["trigger", "job", "library"])
def test_login_and_register_are_route_only_fact_26(env, script_type):
    provision(env)
    refused = run(env, f"return org.objects.accounts.login({{email: '{EMAIL}', password: '{PASSWORD}'}})", script_type)
    assert refused.fault is not None and refused.fault.path == "accounts.login"
    refused = run(env, "return org.objects.accounts.register({email: 'x@example.com'})", script_type)
    assert refused.fault is not None and refused.fault.path == "accounts.register"


def test_password_less_login_and_unknown_accounts(env):
    provision(env)
    got = value(env, f"return org.objects.accounts.login({{email: '{EMAIL}'}}, {{passwordLess: true}})")
    assert got["email"] == EMAIL
    assert login(env, PASSWORD, email="nobody@example.com").fault.code == "kInvalidCredentials"
    assert fault(env, "return org.objects.accounts.login('x')").code == "kInvalidArgument"


def test_register_follows_the_org_registration_settings(env):
    runtime, org, admin = set_org(env, registration={"activationRequired": True, "bypassAccountVerification": False}, minPasswordScore=3)
    env = (runtime, org, admin)
    payload = {"email": "new@example.com", "name": {"first": "New", "last": "Person"}, "mobile": "+15555550100", "password": PASSWORD}
    weak = fault(env, f"return org.objects.accounts.register({json.dumps({**payload, 'password': 'abc'})})")
    assert (weak.errCode, weak.status) == ("cortex.invalidArgument.passwordStrength", 400)
    missing = fault(env, f"return org.objects.accounts.register({json.dumps({k: v for k, v in payload.items() if k != 'mobile'})})")
    assert missing.errCode == "cortex.invalidArgument.validation" and [f.path for f in missing.faults] == ["account.mobile"]
    bad_mobile = fault(env, f"return org.objects.accounts.register({json.dumps({**payload, 'mobile': '555'})})")
    assert [f.errCode for f in bad_mobile.faults] == ["cortex.invalidArgument.phoneNumberFormat"]
    account = value(env, f"return org.objects.accounts.register({json.dumps(payload)})")
    assert account["email"] == "new@example.com" and account["state"] == "unverified"
    stored = runtime.store.contexts.find_one({"_id": account["_id"]})
    assert stored["activationRequired"] is True
    assert login(env, PASSWORD, email="new@example.com").fault.code == "kAccountActivationRequired"
    sent = [e["notification"] for e in runtime.store.outbox.find({"org": org._id, "recipient": account["_id"]})]
    assert sent == ["account-verification", "account-welcome"]
    # A duplicate email is refused.
    assert fault(env, f"return org.objects.accounts.register({json.dumps(payload)})").errCode == "cortex.conflict.duplicateEmail"


def test_register_options(env):
    runtime, org, _ = env
    payload = {"email": "opt@example.com", "name": {"first": "Op", "last": "Tion"}, "password": PASSWORD}
    account = value(env, f"return org.objects.accounts.register({json.dumps(payload)}, {{requireMobile: false, skipVerification: true, skipNotification: true}})")
    assert account["state"] == "verified"
    assert runtime.store.outbox.count_documents({"org": org._id, "recipient": account["_id"]}) == 0
    assert login(env, PASSWORD, email="opt@example.com").fault is None
    runtime, org, admin = set_org(env, registration={"bypassAccountVerification": True})
    bypassed = value((runtime, org, admin), f"return org.objects.accounts.register({json.dumps({**payload, 'email': 'by@example.com'})}, {{requireMobile: false}})")
    assert bypassed["state"] == "verified"


def test_provision_emails_and_activation(env):
    runtime, org, admin = set_org(env, registration={"activationRequired": True})
    env = (runtime, org, admin)
    first = provision(env, "one@example.com")
    quiet = provision(env, "two@example.com", options={"sendWelcomeEmail": False, "skipActivation": True})
    assert [e["notification"] for e in runtime.store.outbox.find({"recipient": first["_id"]})] == ["account-welcome"]
    assert runtime.store.outbox.count_documents({"recipient": quiet["_id"]}) == 0
    assert runtime.store.contexts.find_one({"_id": first["_id"]}).get("activationRequired") is True
    assert runtime.store.contexts.find_one({"_id": quiet["_id"]}).get("activationRequired") is None
    assert login(env, PASSWORD, email="two@example.com").fault is None


def _trigger(env, name: str, event: str, script: str, inline: bool = True, target: str = "account") -> None:
    runtime, org, admin = env
    configuration = {"object": target, "event": event, "inline": inline}
    runtime.layer(org, admin).insert_one("script", {"label": name, "name": name, "type": "trigger", "script": script, "configuration": configuration}, {})


def test_signin_triggers(env):
    provision(env)
    _trigger(env, "c_before", "signin.before", "require('cache').set('before', script.principal.email + ':' + script.event)")
    _trigger(env, "c_after", "signin.after", "require('cache').set('after', script.principal.email)")
    assert login(env, "wrong").fault.code == "kInvalidCredentials"
    got = value(env, "const c = require('cache'); return [c.get('before'), c.get('after') === undefined]")
    assert got == [f"{EMAIL}:signin.before", True]  # after-triggers only follow a successful sign-in
    assert login(env, PASSWORD).fault is None
    assert value(env, "return require('cache').get('after')") == EMAIL


def test_signin_before_can_refuse(env):
    provision(env)
    _trigger(env, "c_gate", "signin.before", "return false")
    refused = login(env, PASSWORD)
    assert refused.fault.errCode == "cortex.error.triggerCancelled"


def test_queued_signin_after_runs_when_the_run_ends(env):
    provision(env)
    _trigger(env, "c_queued", "signin.after", "require('cache').set('queued', script.principal.email)", inline=False)
    assert login(env, PASSWORD).fault is None
    assert value(env, "return require('cache').get('queued')") == EMAIL


def test_account_events_are_account_only_and_there_is_no_session_event(env):
    """decorators-expressions.md acceptance 17 and decisions.md "Account events"."""
    runtime, org, admin = env
    runtime.layer(org, admin).insert_one("object", {"label": "Thing", "name": "c_thing", "defaultAcl": ["owner.delete"], "createAcl": ["account.public"]}, {})
    for target, event in (("account", "session.login.before"), ("c_thing", "signin.before")):
        with pytest.raises(Fault) as caught:
            _trigger(env, "c_x", event, "return 1", target=target)
        assert [f.path for f in caught.value.faults] == ["script.configuration.event"], (target, event)
    for event in ("signin.before", "signin.after", "authorizeToken.after"):
        _trigger(env, f"c_{event.replace('.', '_')}", event, "return 1")


def test_decorated_signin_trigger_in_a_library(env):
    runtime, org, admin = env
    provision(env)
    library = """
const { trigger } = require('decorators')

class Audit {
  @trigger('signin.after', { object: 'account', name: 'c_audit_signin', inline: true })
  static after() { require('cache').set('decorated', script.principal.email) }
}

module.exports = Audit
"""
    runtime.layer(org, admin).insert_one("script", {"label": "c_audit", "name": "c_audit", "type": "library", "script": library, "configuration": {"export": "c_audit"}}, {})
    assert login(env, PASSWORD).fault is None
    assert value(env, "return require('cache').get('decorated')") == EMAIL
