"""REST endpoints of accounts, connections and notifications (rest-api-auth.md §6.2-§6.4).

Requests go through the whole ASGI app (Starlette's TestClient), signed as the real client
signs them or with bearer tokens minted by the runtime. Tests that pin a numbered acceptance
fact of rest-api-auth.md §11 say so ("fact 48", ...).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import uvicorn
from bson import ObjectId
from starlette.testclient import TestClient

from cortex_runtime.accounts.credentials import Credentials
from cortex_runtime.clock import FakeClock
from cortex_runtime.modules.notifications import outbox_entries
from cortex_runtime.objects.principals import DEVELOPER
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator, generate_key, generate_secret, signed_headers

_codes = itertools.count()
DOC = {
    "label": "Doc",
    "name": "c_doc",
    "defaultAcl": [{"type": 4, "allow": 7}],
    "createAcl": [{"type": 1, "target": "000000000000000000000003"}],
    "shareChain": [6, 5, 4, 2],
    "properties": [{"label": "Title", "name": "c_title", "type": "String"}],
}


class World:
    """One org on its own runtime: an admin, an owner of a c_doc, a friend, a stranger and an
    unverified newcomer; a signing app that may act as any of them and one without a principal."""

    def __init__(self) -> None:
        self.clock = FakeClock(datetime.now(timezone.utc))
        self.runtime = Runtime(clock=self.clock)
        self.org, self.admin = self.runtime.orgs.create(f"rac{next(_codes)}")
        self.runtime.layer(self.org, self.admin).insert_one("object", DOC, {})
        provision = self.runtime.orgs.provision
        self.owner = provision(self.org, email="owner@example.com", name={"first": "Olive", "last": "Owner"}, roles=[DEVELOPER])
        self.friend = provision(self.org, email="friend@example.com", name={"first": "Fred", "last": "Friend"})
        self.stranger = provision(self.org, email="stranger@example.com")
        self.newcomer = provision(self.org, email="new@example.com")
        self.runtime.store.contexts.update_one({"_id": self.newcomer._id}, {"$set": {"state": "unverified"}})
        self.doc = self.runtime.layer(self.org, self.owner).insert_one("c_doc", {"c_title": "hello"}, {})
        self.key, self.secret = generate_key(), generate_secret()
        self.anonymous_key, self.anonymous_secret = generate_key(), generate_secret()
        auth = Authenticator(self.runtime.store, tokens=self.runtime.tokens, audience=lambda o: self.runtime.audience(o.code))
        auth.add_app(self.org, App(name="local", key=self.key, secret=self.secret, principal_id=self.admin._id, principal_override=True))
        auth.add_app(self.org, App(name="anon", key=self.anonymous_key, secret=self.anonymous_secret, principal_id=None))
        self.app = create_app(self.runtime, auth)
        self.client: Any = TestClient(self.app, raise_server_exceptions=False)

    def call(self, method: str, path: str, body: Any = None, *, who: Any = None, anonymous: bool = False, **params: Any) -> Any:
        key, secret = (self.anonymous_key, self.anonymous_secret) if anonymous else (self.key, self.secret)
        headers = {**signed_headers(path, method, key, secret), "content-type": "application/json"}
        if who is not None:
            headers["medable-client-account"] = str(who._id)
        content = None if body is None else json.dumps(body)
        return self.client.request(method, f"/{self.org.code}/v2{path}", headers=headers, params=params, content=content)

    def token(self, who: Any, scope: list[str]) -> str:
        return self.runtime.tokens.create(self.org, self.runtime.audience(self.org.code), self.key, who._id, {"permanent": True, "scope": scope, "includeEmail": True})

    def bearer(self, token: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"authorization": f"Bearer {token}", "medable-client-key": self.key, "content-type": "application/json"}
        return self.client.request(method, f"/{self.org.code}/v2{path}", headers=headers, content=None if body is None else json.dumps(body))

    def outbox(self, notification: str | None = None) -> list[dict[str, Any]]:
        entries = outbox_entries(self.runtime.store, self.org._id, {"limit": 1000})
        return [e for e in entries if notification is None or e.get("notification") == notification]

    def notify(self, recipient: Any, context_id: Any, context_object: str = "account") -> None:
        source = (
            "require('notifications').send('c_t', {v: 1}, "
            "{recipient: script.arguments.to, context: {_id: script.arguments.ctx, object: script.arguments.obj}})"
        )
        args = {"to": str(recipient._id), "ctx": str(context_id), "obj": context_object}
        result = self.runtime.run(source, org=self.org, principal=self.admin, arguments=args)
        assert result.fault is None, result.fault.to_json()

    def close(self) -> None:
        self.client.close()
        self.runtime.close()


@pytest.fixture()
def world():
    w = World()
    w.runtime.store.contexts.insert_one(
        {"_id": ObjectId(), "org": w.org._id, "object": "template", "type": "email", "name": "c_t", "partial": False, "acl": [],
         "localizations": [{"locale": ["*"], "content": [{"name": "subject", "data": "v"}, {"name": "plain", "data": "v={{v}}"}]}]}
    )
    yield w
    w.close()


def result(response: Any) -> Any:
    """The data of a result envelope, tagged with its JSON type: ``1`` and ``true`` differ on the
    wire though they compare equal in Python."""
    body = response.json()
    assert response.status_code == 200 and body["object"] == "result", body
    return type(body["data"]).__name__, body["data"]


def fault_of(response: Any) -> tuple[int, str]:
    body = response.json()
    assert body["object"] == "fault", body
    return response.status_code, body["errCode"]


# ---- notifications (§6.4) -----------------------------------------------------------------------


def test_deleting_a_notification_answers_1_while_instance_deletes_answer_true_fact_48(world):
    world.notify(world.friend, world.admin._id)
    page = world.call("GET", "/notifications", who=world.friend).json()
    [note] = page["data"]
    # Another caller cannot clear it (the recipient owns it).
    assert fault_of(world.call("DELETE", f"/notifications/{note['_id']}", who=world.stranger))[0] == 404
    cleared = world.call("DELETE", f"/notifications/{note['_id']}", who=world.friend)
    assert result(cleared) == ("int", 1)
    assert fault_of(world.call("DELETE", f"/notifications/{note['_id']}", who=world.friend)) == (404, "cortex.notFound.instance")
    assert world.call("GET", "/notifications", who=world.friend).json()["data"] == []
    assert fault_of(world.call("DELETE", "/notifications/nope", who=world.friend)) == (400, "cortex.invalidArgument.invalidObjectId")
    # Other instance deletes keep their documented true (§11 fact 46).
    doc = world.call("POST", "/c_docs", {"c_title": "gone"}, who=world.owner).json()
    assert result(world.call("DELETE", f"/c_docs/{doc['_id']}", who=world.owner)) == ("bool", True)


def test_clearing_the_notifications_of_a_context_answers_the_count(world):
    world.notify(world.friend, world.owner._id)
    world.notify(world.friend, world.owner._id)
    world.notify(world.friend, world.stranger._id)
    world.notify(world.stranger, world.owner._id)
    path = f"/notifications/accounts/{world.owner._id}"
    # A type that none of them has clears nothing.
    assert result(world.call("DELETE", path, who=world.friend, type=str(ObjectId()))) == ("int", 0)
    assert result(world.call("DELETE", path, who=world.friend)) == ("int", 2)
    assert result(world.call("DELETE", path, who=world.friend)) == ("int", 0)
    left = world.call("GET", "/notifications", who=world.friend).json()["data"]
    assert [n["context"]["_id"] for n in left] == [str(world.stranger._id)]
    # The other recipient's notification about the same context stays.
    assert len(world.call("GET", "/notifications", who=world.stranger).json()["data"]) == 1
    assert fault_of(world.call("DELETE", "/notifications/c_nothings/x", who=world.friend)) == (400, "cortex.invalidArgument.object")


# ---- accounts/me (§6.2, fact 23) --------------------------------------------------------------


def test_accounts_me_is_the_callers_account_by_token_and_by_signature_fact_23(world):
    token = world.token(world.friend, ["*"])
    by_token = world.bearer(token, "GET", "/accounts/me")
    assert by_token.status_code == 200 and "set-cookie" not in by_token.headers
    me = by_token.json()
    assert (me["object"], me["_id"], me["email"], me["name"]) == ("account", str(world.friend._id), "friend@example.com", {"first": "Fred", "last": "Friend"})
    assert world.call("GET", "/accounts/me", who=world.friend).json()["_id"] == str(world.friend._id)
    # Without an override the app's own principal is the caller.
    assert world.call("GET", "/accounts/me").json()["_id"] == str(world.admin._id)
    assert world.call("GET", "/accounts/me/email", who=world.friend).json() == {"object": "result", "data": "friend@example.com"}
    assert set(world.call("GET", "/accounts/me", who=world.friend, **{"paths[]": "email"}).json()) == {"_id", "object", "email"}
    updated = world.bearer(token, "PUT", "/accounts/me", {"name": {"first": "Freddie", "last": "Friend"}}).json()
    assert updated["_id"] == str(world.friend._id) and updated["name"]["first"] == "Freddie"


def test_accounts_me_needs_an_account_and_the_read_scope(world):
    assert fault_of(world.call("GET", "/accounts/me", anonymous=True)) == (403, "cortex.accessDenied.notLoggedIn")
    assert world.call("GET", "/accounts/me", anonymous=True).json()["code"] == "kNotLoggedIn"
    narrow = world.token(world.friend, ["object.read.c_doc"])
    assert fault_of(world.bearer(narrow, "GET", "/accounts/me")) == (403, "cortex.accessDenied.scope")
    scoped = world.token(world.friend, ["object.read.account"])
    assert world.bearer(scoped, "GET", "/accounts/me").json()["_id"] == str(world.friend._id)
    assert fault_of(world.call("POST", "/accounts/me/logout", {}, who=world.friend)) == (501, "script.notImplemented.unspecified")


# ---- verification (§6.2, fact 49) --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/accounts/me/resend-verification", "/accounts/resend-verification"])
def test_resend_verification_of_a_verified_account_is_a_conflict_fact_49(world, path):
    response = world.call("POST", path, who=world.friend)
    assert fault_of(response) == (409, "cortex.conflict.accountAlreadyVerified")
    assert response.json()["code"] == "kExists"
    assert fault_of(world.call("POST", path, anonymous=True)) == (403, "cortex.accessDenied.notLoggedIn")
    assert world.outbox("account-verification") == []


def test_resend_verification_emails_a_token_that_verifies_once(world):
    assert result(world.call("POST", "/accounts/me/resend-verification", who=world.newcomer)) == ("bool", True)
    [first] = world.outbox("account-verification")
    assert world.call("POST", "/accounts/me/resend-verification", who=world.newcomer).json()["data"] is True
    entries = world.outbox("account-verification")
    assert len(entries) == 2 and entries[1]["endpoints"]["email"]["to"] == "new@example.com"
    old, token = first["variables"]["token"], entries[1]["variables"]["token"]
    assert len(token) == 32 and token.isalnum() and token in entries[1]["endpoints"]["email"]["plain"]
    # A new token replaces the older one.
    assert fault_of(world.call("POST", f"/accounts/{old}", anonymous=True)) == (404, "cortex.notFound.accountToken")
    verified = world.call("POST", f"/accounts/{token}", anonymous=True)
    assert verified.json() == {"object": "result", "data": str(world.newcomer._id)}
    assert world.call("GET", "/accounts/me", who=world.newcomer).json()["state"] == "verified"
    assert fault_of(world.call("POST", f"/accounts/{token}", anonymous=True)) == (404, "cortex.notFound.accountToken")
    assert fault_of(world.call("POST", "/accounts/me/resend-verification", who=world.newcomer))[1] == "cortex.conflict.accountAlreadyVerified"


# ---- password reset (§6.2, fact 50) -------------------------------------------------------------


def test_request_password_reset_answers_true_and_the_token_sets_the_password_fact_50(world):
    sent = world.call("POST", "/accounts/request-password-reset", {"email": "Friend@Example.com"}, anonymous=True)
    assert result(sent) == ("bool", True)
    [entry] = world.outbox("password-reset")
    assert entry["recipient"] == world.friend._id and entry["endpoints"]["email"]["to"] == "friend@example.com"
    token = entry["variables"]["token"]
    weak = world.call("POST", "/accounts/reset-password", {"token": token}, anonymous=True)
    assert fault_of(weak) == (400, "cortex.invalidArgument.validation")
    done = world.call("POST", "/accounts/reset-password", {"token": token, "password": "a new Passw0rd!"}, anonymous=True)
    assert result(done) == ("bool", True)
    credentials = Credentials(world.runtime.store, world.org, world.clock)
    assert credentials.check_password(world.friend._id, "a new Passw0rd!")
    again = world.call("POST", "/accounts/reset-password", {"token": token, "password": "another Passw0rd!"}, anonymous=True)
    assert fault_of(again) == (404, "cortex.notFound.passwordResetToken")
    assert not credentials.check_password(world.friend._id, "another Passw0rd!")
    # By account id as well.
    assert world.call("POST", "/accounts/request-password-reset", {"accountId": str(world.stranger._id)}, anonymous=True).json()["data"] is True
    assert world.outbox("password-reset")[-1]["recipient"] == world.stranger._id


def test_request_password_reset_does_not_tell_unknown_emails_and_checks_its_input(world):
    for body in ({"email": "nobody@example.com"}, {"accountId": str(ObjectId())}, {"username": "nobody"}):
        assert result(world.call("POST", "/accounts/request-password-reset", body, anonymous=True)) == ("bool", True)
    assert world.outbox("password-reset") == []
    bad_id = world.call("POST", "/accounts/request-password-reset", {"accountId": "x1"}, anonymous=True)
    assert fault_of(bad_id) == (400, "cortex.invalidArgument.invalidObjectId") and bad_id.json()["path"] == "accountId"
    assert fault_of(world.call("POST", "/accounts/request-password-reset", {}, anonymous=True)) == (400, "cortex.invalidArgument.required")
    assert fault_of(world.call("POST", "/accounts/request-password-reset", [1], anonymous=True))[0] == 400
    assert fault_of(world.call("POST", "/accounts/reset-password", {"password": "a new Passw0rd!"}, anonymous=True)) == (404, "cortex.notFound.passwordResetToken")


def test_a_password_reset_token_expires_after_a_day(world):
    world.call("POST", "/accounts/request-password-reset", {"email": "friend@example.com"}, anonymous=True)
    token = world.outbox("password-reset")[-1]["variables"]["token"]
    world.clock.advance(timedelta(days=1, seconds=1))
    late = world.call("POST", "/accounts/reset-password", {"token": token, "password": "a new Passw0rd!"}, anonymous=True)
    assert fault_of(late) == (404, "cortex.notFound.passwordResetToken")


# ---- connections (§6.3, fact 48) ----------------------------------------------------------------


def _invite(world: World, target: Any, access: int = 4) -> dict[str, Any]:
    made = world.call("POST", f"/c_docs/{world.doc}/connections", {"targets": [{"object": "account", "_id": str(target._id), "access": access}]}, who=world.owner)
    page = made.json()
    assert made.status_code == 200 and page["object"] == "list", page
    [connection] = page["data"]
    return connection


def test_invite_list_read_apply_and_disconnect_over_rest_fact_48(world):
    connection = _invite(world, world.friend)
    assert connection["state"] == 0 and "token" not in connection  # the token is the target's
    [invitation] = world.outbox("invitation")
    assert invitation["endpoints"]["email"]["to"] == "friend@example.com"
    listed = world.call("GET", "/connections", who=world.friend).json()
    assert listed["object"] == "list" and listed["hasMore"] is False
    [mine] = listed["data"]
    token = mine["token"]
    assert mine["_id"] == connection["_id"] and token == invitation["variables"]["token"]
    assert world.call("GET", "/connections", who=world.stranger).json()["data"] == []
    # By id the creator reads it; by token only the target.
    assert world.call("GET", f"/connections/{connection['_id']}", who=world.owner).json()["_id"] == connection["_id"]
    assert fault_of(world.call("GET", f"/connections/{token}", who=world.stranger)) == (403, "cortex.accessDenied.connection")
    assert world.call("GET", f"/connections/{token}", who=world.friend).json()["token"] == token
    # Pending: no access yet, and only the target applies.
    assert world.call("GET", f"/c_docs/{world.doc}", who=world.friend).status_code in (403, 404)
    assert fault_of(world.call("POST", f"/connections/{token}", who=world.stranger)) == (403, "cortex.accessDenied.connection")
    applied = world.call("POST", f"/connections/{token}", who=world.friend).json()
    assert (applied["object"], applied["state"]) == ("connection", 1)
    assert world.call("GET", f"/c_docs/{world.doc}", who=world.friend).json()["c_title"] == "hello"
    through = world.call("GET", f"/connections/{token}/context/c_title", who=world.friend).json()
    assert through == {"object": "result", "data": "hello"}
    assert world.call("GET", f"/connections/{token}", who=world.friend, **{"expand[]": "context"}).json()["context"]["c_title"] == "hello"
    # Disconnecting takes the access away.
    assert result(world.call("DELETE", f"/connections/{connection['_id']}", who=world.friend)) == ("bool", True)
    assert world.call("GET", f"/c_docs/{world.doc}", who=world.friend).status_code in (403, 404)
    assert fault_of(world.call("GET", f"/connections/{connection['_id']}", who=world.owner)) == (404, "cortex.notFound.instance")


def test_rejecting_an_invitation_by_token(world):
    _invite(world, world.friend)
    token = world.call("GET", "/connections", who=world.friend).json()["data"][0]["token"]
    assert fault_of(world.call("DELETE", f"/connections/{token}", who=world.stranger)) == (403, "cortex.accessDenied.connection")
    assert result(world.call("DELETE", f"/connections/{token}", who=world.friend)) == ("bool", True)
    assert fault_of(world.call("GET", f"/connections/{token}", who=world.friend)) == (400, "cortex.invalidArgument.connectionToken")
    assert fault_of(world.call("POST", f"/connections/{token}", who=world.friend)) == (400, "cortex.invalidArgument.connectionToken")
    assert world.call("GET", f"/c_docs/{world.doc}", who=world.friend).status_code in (403, 404)


def test_connection_lists_page_and_check_their_arguments(world):
    _invite(world, world.friend)
    _invite(world, world.stranger)
    first = world.call("GET", "/connections", who=world.owner, limit=1).json()
    assert len(first["data"]) == 1 and first["hasMore"] is True
    second = world.call("GET", "/connections", who=world.owner, limit=1, skip=1).json()
    assert len(second["data"]) == 1 and second["hasMore"] is False and second["data"][0]["_id"] != first["data"][0]["_id"]
    assert len(world.call("GET", "/connections", who=world.owner, show="creator").json()["data"]) == 2
    assert world.call("GET", "/connections", who=world.owner, show="target").json()["data"] == []
    assert fault_of(world.call("GET", "/connections", who=world.owner, limit=1001)) == (400, "cortex.invalidArgument.unspecified")
    assert fault_of(world.call("GET", "/connections", who=world.owner, show="everyone"))[0] == 400
    assert fault_of(world.call("PUT", "/connections", {}, who=world.owner))[0] == 404
    # Creating needs targets and Share access on the context.
    assert fault_of(world.call("POST", f"/c_docs/{world.doc}/connections", {"targets": []}, who=world.owner)) == (400, "cortex.invalidArgument.noConnectionTargets")
    refused = world.call("POST", f"/c_docs/{world.doc}/connections", {"targets": [{"_id": str(world.stranger._id), "access": 4}]}, who=world.friend)
    assert refused.status_code in (403, 404) and refused.json()["object"] == "fault"


def test_connection_endpoints_check_token_scopes(world):
    _invite(world, world.friend)
    read_only = world.token(world.friend, ["object.read.connection"])
    [mine] = world.bearer(read_only, "GET", "/connections").json()["data"]
    assert fault_of(world.bearer(read_only, "POST", f"/connections/{mine['token']}")) == (403, "cortex.accessDenied.scope")
    assert fault_of(world.bearer(read_only, "DELETE", f"/connections/{mine['token']}")) == (403, "cortex.accessDenied.scope")
    applier = world.token(world.friend, ["object.update.connection"])
    assert world.bearer(applier, "POST", f"/connections/{mine['token']}").json()["state"] == 1
    assert fault_of(world.bearer(applier, "GET", "/connections")) == (403, "cortex.accessDenied.scope")


# ---- the same endpoints over real HTTP on loopback ------------------------------------------------

# Generous, for a slow and busy machine; the wait ends as soon as the server listens.
SERVER_START_TIMEOUT = 60.0


@pytest.fixture()
def loopback(world):
    """``world`` served by uvicorn on a loopback port; its requests then go over a socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(world.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the loopback server did not start"
    in_process = world.client
    world.client = httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=SERVER_START_TIMEOUT)
    yield world
    world.client.close()
    world.client = in_process
    server.should_exit = True
    thread.join(SERVER_START_TIMEOUT)
    sock.close()


def test_facts_23_48_49_50_over_loopback_http(loopback):
    world = loopback
    token = world.token(world.friend, ["*"])
    me = world.bearer(token, "GET", "/accounts/me")
    assert me.json()["_id"] == str(world.friend._id) and "set-cookie" not in me.headers
    assert me.headers["content-type"].startswith("application/json")
    assert fault_of(world.call("GET", "/accounts/me", anonymous=True)) == (403, "cortex.accessDenied.notLoggedIn")
    assert world.call("GET", "/connections", who=world.friend).json() == {"object": "list", "data": [], "hasMore": False}
    world.notify(world.friend, world.owner._id)
    [note] = world.call("GET", "/notifications", who=world.friend).json()["data"]
    cleared = world.call("DELETE", f"/notifications/{note['_id']}", who=world.friend)
    assert b'"data":1' in cleared.content and result(cleared) == ("int", 1)
    assert fault_of(world.call("POST", "/accounts/me/resend-verification", who=world.friend)) == (409, "cortex.conflict.accountAlreadyVerified")
    assert result(world.call("POST", "/accounts/request-password-reset", {"email": "friend@example.com"}, anonymous=True)) == ("bool", True)
    connection = _invite(world, world.friend)
    [mine] = world.call("GET", "/connections", who=world.friend).json()["data"]
    assert world.call("POST", f"/connections/{mine['token']}", who=world.friend).json()["state"] == 1
    assert result(world.call("DELETE", f"/connections/{connection['_id']}", who=world.friend)) == ("bool", True)
