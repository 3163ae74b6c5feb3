"""require('connections') as scripts see it (spec modules.md §4, rest-api-auth.md §6.3).

Tests that pin a numbered acceptance fact of modules.md say so ("fact 16", ...). Time moves on
the runtime's FakeClock.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cortex_runtime.clock import FakeClock
from cortex_runtime.objects.principals import DEVELOPER
from cortex_runtime.runtime import Runtime

_codes = itertools.count()
CX = "const connections = require('connections');\n"


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime.now(timezone.utc))


@pytest.fixture(scope="module")
def runtime(clock: FakeClock) -> Runtime:
    rt = Runtime(clock=clock)
    yield rt
    rt.close()


class World:
    def __init__(self, runtime: Runtime, connection_options: dict[str, Any] | None = None) -> None:
        self.runtime = runtime
        self.org, self.admin = runtime.orgs.create(f"conn{next(_codes)}")
        definition: dict[str, Any] = {
            "label": "Doc",
            "name": "c_doc",
            "defaultAcl": [{"type": 4, "allow": 7}],
            "createAcl": [{"type": 1, "target": "000000000000000000000003"}],
            "shareChain": [6, 5, 4, 2],
            "properties": [{"label": "Title", "name": "c_title", "type": "String"}],
        }
        if connection_options is not None:
            definition["connectionOptions"] = connection_options
        runtime.layer(self.org, self.admin).insert_one("object", definition, {})
        # A developer: it may read accounts, which forced auto-connections need (fact 73).
        self.owner = runtime.orgs.provision(self.org, email="owner@example.com", name={"first": "Olive", "last": "Owner"}, roles=[DEVELOPER])
        self.friend = runtime.orgs.provision(self.org, email="friend@example.com", name={"first": "Fred", "last": "Friend"})
        self.stranger = runtime.orgs.provision(self.org, email="stranger@example.com")
        self.doc = runtime.layer(self.org, self.owner).insert_one("c_doc", {"c_title": "hello"}, {})

    def run(self, principal: Any, source: str, **args: Any) -> Any:
        prelude = "".join(f"const {k} = {json.dumps(v)};\n" for k, v in args.items())
        result = self.runtime.run(CX + prelude + source, org=self.org, principal=principal)
        assert result.fault is None, result.fault.to_json()
        return result.plain()

    def fault(self, principal: Any, source: str, **args: Any) -> dict[str, Any]:
        prelude = "".join(f"const {k} = {json.dumps(v)};\n" for k, v in args.items())
        result = self.runtime.run(CX + prelude + source, org=self.org, principal=principal)
        assert result.fault is not None, f"expected a fault, got {result.value!r}"
        return result.fault.to_json()

    def can_read(self, principal: Any) -> bool:
        rows = list(self.runtime.layer(self.org, principal).iterate("c_doc", {"where": {"_id": self.doc}}))
        return bool(rows)

    def invite(self, target: Any, access: int = 4, **options: Any) -> list[dict[str, Any]]:
        return self.run(
            self.owner,
            "return connections.create('c_docs', doc, [{_id: target, access: level}], options)",
            doc=str(self.doc), target=str(target._id), level=access, options=options,
        )

    def token_of(self, principal: Any) -> str:
        rows = self.run(principal, "return connections.list({show: 'target'})")
        return rows[0]["token"]


@pytest.fixture()
def world(runtime: Runtime) -> World:
    return World(runtime)


# ---- create / apply ------------------------------------------------------------------------------


def test_create_returns_an_array_of_pending_connections_and_no_access_yet(world):
    made = world.invite(world.friend)
    assert isinstance(made, list) and len(made) == 1
    assert made[0]["state"] == 0 and made[0]["access"] == 4
    assert "token" not in made[0]  # the token is the target's to see
    assert not world.can_read(world.friend)


def test_target_reads_through_its_connection_once_it_accepts(world):
    world.invite(world.friend)
    token = world.token_of(world.friend)
    assert len(token) == 32 and token.isalnum()
    applied = world.run(world.friend, "return connections.apply(token)", token=token)
    assert applied["state"] == 1
    assert world.can_read(world.friend)
    row = world.runtime.layer(world.org, world.friend).read_one("c_doc", {"where": {"_id": world.doc}})
    assert row["access"] == 4 and row["c_title"] == "hello"


def test_create_by_email_target(world):
    made = world.run(world.owner, "return connections.create('c_docs', doc, [{email: 'friend@example.com', access: 2}])", doc=str(world.doc))
    assert made[0]["target"]["account"]["_id"] == str(world.friend._id)


def test_only_the_target_may_apply(world):
    world.invite(world.friend)
    token = world.token_of(world.friend)
    assert world.fault(world.stranger, "return connections.apply(token)", token=token)["errCode"] == "cortex.accessDenied.connection"
    assert not world.can_read(world.stranger) and not world.can_read(world.friend)


def test_invitation_goes_to_the_outbox_unless_skipped(world):
    world.invite(world.friend)
    world.invite(world.stranger, skipNotification=True)
    entries = list(world.runtime.store.outbox.find({"org": world.org._id}))
    assert [e["recipient"] for e in entries] == [world.friend._id]
    assert entries[0]["notification"] == "invitation"


def test_force_auto_is_active_at_once(world):
    made = world.invite(world.friend, forceAuto=True)
    assert made[0]["state"] == 1
    assert world.can_read(world.friend)


def test_pending_invitation_expires_by_the_runtime_clock(world, clock):
    world.invite(world.friend)
    token = world.token_of(world.friend)
    clock.advance(timedelta(days=8))
    out = world.fault(world.friend, "return connections.apply(token)", token=token)
    assert out["code"] == "kInvalidArgument" and out["errCode"] == "cortex.invalidArgument.connectionToken"
    assert not world.can_read(world.friend)


def test_delete_removes_the_access(world):
    world.invite(world.friend, forceAuto=True)
    world.invite(world.stranger, forceAuto=True)
    conn_id = world.run(world.friend, "return connections.list({show: 'target'})")[0]["_id"]
    assert world.run(world.friend, "return connections.delete(id)", id=conn_id) is True
    assert not world.can_read(world.friend)
    assert world.can_read(world.stranger)  # the other connection's access stays
    assert world.run(world.friend, "return connections.list()") == []


def test_creator_deletes_by_id(world):
    world.invite(world.friend)
    token = world.token_of(world.friend)
    world.run(world.friend, "return connections.apply(token)", token=token)
    conn_id = world.run(world.owner, "return connections.list({show: 'creator'})")[0]["_id"]
    assert world.run(world.owner, "return connections.delete(id)", id=conn_id) is True
    assert not world.can_read(world.friend)


def test_stranger_cannot_delete(world):
    world.invite(world.friend, forceAuto=True)
    conn_id = world.run(world.owner, "return connections.list()")[0]["_id"]
    assert world.fault(world.stranger, "return connections.delete(id)", id=conn_id)["errCode"] == "cortex.accessDenied.connection"
    assert world.can_read(world.friend)


# ---- create checks ---------------------------------------------------------------------------------


def test_fact18_target_without_id_or_email_throws(world):
    out = world.fault(world.owner, "return connections.create('c_docs', doc, [{access: 4}])", doc=str(world.doc))
    assert out["errCode"] == "cortex.invalidArgument.connectionTarget"


def test_access_must_be_in_the_share_chain_below_the_callers(world):
    world.invite(world.friend, access=5, forceAuto=True)
    # The friend holds Share (5): it may re-share 4 or 2, never 5.
    src = "return connections.create('c_docs', doc, [{_id: target, access: level}])"
    out = world.fault(world.friend, src, doc=str(world.doc), target=str(world.stranger._id), level=5)
    assert out["errCode"] == "cortex.accessDenied.shareAccess"
    assert world.run(world.friend, src, doc=str(world.doc), target=str(world.stranger._id), level=4)[0]["access"] == 4


def test_caller_without_share_access_cannot_create(world):
    out = world.fault(world.stranger, "return connections.create('c_docs', doc, [{_id: t, access: 2}])", doc=str(world.doc), t=str(world.friend._id))
    assert out["errCode"] == "cortex.accessDenied.shareAccess"


def test_fact73_auto_connect_rules(runtime):
    world = World(runtime)
    src = "return connections.create('c_docs', doc, targets, options)"
    doc = str(world.doc)
    # auto on an object that requires acceptance, without forceAuto
    out = world.fault(world.owner, src, doc=doc, targets=[{"object": "account", "_id": str(world.friend._id), "access": 4, "auto": True}], options={})
    assert out["errCode"] == "cortex.invalidArgument.requireConnectionAccept"
    # auto to an email
    out = world.fault(world.owner, src, doc=doc, targets=[{"email": "friend@example.com", "access": 4}], options={"forceAuto": True})
    assert out["code"] == "kInvalidArgument"
    # a missing account
    out = world.fault(world.owner, src, doc=doc, targets=[{"_id": "0123456789abcdef01234567", "access": 4}], options={"forceAuto": True})
    assert out["errCode"] == "cortex.notFound.instance"
    # an unverified account
    unverified = runtime.orgs.provision(world.org, email="new@example.com")
    runtime.store.contexts.update_one({"_id": unverified._id}, {"$set": {"state": "unverified"}})
    out = world.fault(world.owner, src, doc=doc, targets=[{"_id": str(unverified._id), "access": 4}], options={"forceAuto": True})
    assert out["errCode"] == "cortex.accessDenied.connectionRequiresVerification"
    # a sharer holding Share access on the context, who cannot read the friend's account
    sharer = runtime.orgs.provision(world.org, email="sharer@example.com")
    world.run(world.owner, src, doc=doc, targets=[{"_id": str(sharer._id), "access": 6}], options={"forceAuto": True})
    out = world.fault(sharer, src, doc=doc, targets=[{"_id": str(world.friend._id), "access": 4}], options={"forceAuto": True})
    assert out["errCode"] == "cortex.accessDenied.autoConnectionRequiresAccess"
    assert not world.can_read(world.friend)
    # without forceAuto the same sharer may invite (pending)
    assert world.run(sharer, src, doc=doc, targets=[{"_id": str(world.friend._id), "access": 4}], options={})[0]["state"] == 0
    # forced, by an administrator (who can read accounts) with skipAcl on the context: an array, active
    made = world.run(world.admin, src, doc=doc, targets=[{"object": "account", "_id": str(world.friend._id), "access": 4, "auto": True}], options={"forceAuto": True, "skipAcl": True})
    assert isinstance(made, list) and made[0]["state"] == 1
    assert world.can_read(world.friend)


def test_auto_target_is_active_when_the_object_does_not_require_accept(runtime):
    world = World(runtime, connection_options={"requireAccept": False})
    made = world.run(world.admin, "return connections.create('c_docs', doc, [{_id: t, access: 4, auto: true}], {skipAcl: true})", doc=str(world.doc), t=str(world.friend._id))
    assert made[0]["state"] == 1 and world.can_read(world.friend)
    by_id = world.run(world.owner, "return connections.create('c_docs', doc, [{_id: t, access: 2}])", doc=str(world.doc), t=str(world.stranger._id))
    assert by_id[0]["state"] == 1
    by_email = world.run(world.owner, "return connections.create('c_docs', doc, [{email: 'stranger@example.com', access: 2}])", doc=str(world.doc))
    assert by_email[0]["state"] == 0  # an email target is invited


# ---- linkTo ------------------------------------------------------------------------------------


def test_link_to_returns_a_token(world):
    out = world.run(world.owner, "const l = connections.linkTo('c_docs', doc, consts.accessLevels.read, {expiresInMs: 60000, usesRemaining: 1}); return [typeof l.token, l.state, l.access]", doc=str(world.doc))
    assert out == ["string", 1, 4]


def test_fact74_one_use_link_reads_the_context_once(world):
    world.runtime.store.contexts.update_one({"_id": world.owner._id}, {"$set": {"name": {"first": "Olive", "last": "Owner"}}})
    token = world.run(world.owner, "return connections.linkTo('c_docs', doc, 4, {usesRemaining: 1}).token", doc=str(world.doc))
    # anyone holding the token reads the context through it
    assert world.run(world.stranger, "return connections.read(token + '/context/c_title')", token=token) == "hello"
    out = world.fault(world.stranger, "return connections.read(token + '/context/c_title')", token=token)
    assert out["code"] == "kInvalidArgument"


def test_link_uses_run_out(world):
    token = world.run(world.owner, "return connections.linkTo('c_docs', doc, 4, {usesRemaining: 3}).token", doc=str(world.doc))
    got = [world.run(world.stranger, "return connections.read(token).usesRemaining", token=token) for _ in range(3)]
    assert got == [2, 1, 0]
    assert world.fault(world.stranger, "return connections.read(token)", token=token)["errCode"] == "cortex.invalidArgument.connectionToken"


def test_link_expires_by_the_runtime_clock(world, clock):
    token = world.run(world.owner, "return connections.linkTo('c_docs', doc, 4, {expiresInMs: 60000}).token", doc=str(world.doc))
    assert world.run(world.stranger, "return connections.read(token + '/context/c_title')", token=token) == "hello"
    clock.advance(timedelta(seconds=61))
    assert world.fault(world.stranger, "return connections.read(token + '/context/c_title')", token=token)["code"] == "kInvalidArgument"


def test_fact17_expires_at_wins_over_expires_in_ms(world, clock):
    at = clock.now() + timedelta(days=2)
    out = world.run(
        world.owner,
        "return connections.linkTo('c_docs', doc, 4, {expiresInMs: 60000, expiresAt: new Date(at)}).expiresAt",
        doc=str(world.doc), at=at.isoformat(),
    )
    got = datetime.fromisoformat(str(out).replace("Z", "+00:00")) if isinstance(out, str) else out
    assert abs((got - at).total_seconds()) < 1


def test_link_roles_and_access_apply_when_reading_the_context(world):
    token = world.run(world.owner, "return connections.linkTo('c_docs', doc, 2).token", doc=str(world.doc))
    ctx = world.run(world.stranger, "return connections.read(token, {expand: ['context']}).context", token=token)
    assert ctx["access"] == 2 and "c_title" not in ctx  # c_title needs read (4)


def test_link_level_must_be_shareable(world):
    out = world.fault(world.stranger, "return connections.linkTo('c_docs', doc, 4)", doc=str(world.doc))
    assert out["errCode"] == "cortex.accessDenied.shareAccess"
    out = world.fault(world.owner, "return connections.linkTo('c_docs', doc, 7)", doc=str(world.doc))
    assert out["errCode"] == "cortex.accessDenied.shareAccess"


# ---- read / list ----------------------------------------------------------------------------------


def test_fact19_read_by_token_is_for_the_target(world):
    world.invite(world.friend)
    token = world.token_of(world.friend)
    assert world.run(world.friend, "return connections.read(token).state", token=token) == 0
    for who in (world.stranger, world.owner):
        out = world.fault(who, "return connections.read(token)", token=token)
        assert out["errCode"] == "cortex.accessDenied.connection" and out["status"] == 403
    assert world.run(world.stranger, "return connections.read(token, {skipAcl: true}).state", token=token) == 0


def test_read_by_id_for_creator_and_target_only(world):
    made = world.invite(world.friend)
    conn_id = made[0]["_id"]
    assert world.run(world.owner, "return connections.read(id)._id", id=conn_id) == conn_id
    assert world.run(world.friend, "return typeof connections.read(id).token", id=conn_id) == "string"
    assert world.run(world.owner, "return typeof connections.read(id).token", id=conn_id) == "undefined"
    assert world.fault(world.stranger, "return connections.read(id)", id=conn_id)["errCode"] == "cortex.accessDenied.connection"


def test_fact16_list_default_100_and_limit_bounds(world):
    store = world.runtime.store
    base = {"org": world.org._id, "object": "connection", "context": {"_id": world.doc, "object": "c_doc"}, "target": None,
            "creator": {"_id": world.owner._id}, "state": 1, "access": 2, "roles": [], "grants": [], "acl": []}
    from bson import ObjectId

    store.contexts.insert_many([{**base, "_id": ObjectId(), "token": f"t{i:031d}"} for i in range(105)])
    assert len(world.run(world.owner, "return connections.list()")) == 100
    assert len(world.run(world.owner, "return connections.list({limit: 1000})")) == 105
    assert len(world.run(world.owner, "return connections.list({limit: 3, skip: 103})")) == 2
    for bad in (0, 1001, -1, 2.5, "'x'"):
        out = world.fault(world.owner, f"return connections.list({{limit: {bad}}})")
        assert out["code"] == "kInvalidArgument", bad
    assert world.run(world.stranger, "return connections.list()") == []
    assert len(world.run(world.stranger, "return connections.list({skipAcl: true, limit: 1000})")) == 105


def test_list_show_where_and_paths(world):
    world.invite(world.friend)
    world.invite(world.stranger, forceAuto=False)
    assert len(world.run(world.owner, "return connections.list({show: 'creator'})")) == 2
    assert world.run(world.owner, "return connections.list({show: 'target'})") == []
    assert len(world.run(world.friend, "return connections.list()")) == 1
    rows = world.run(world.owner, "return connections.list({where: {state: 0}, paths: ['state']})")
    assert len(rows) == 2 and set(rows[0]) <= {"_id", "object", "state"}


def test_bad_arguments_are_faults_not_tracebacks(world):
    for src in (
        "return connections.read()",
        "return connections.read('nope')",
        "return connections.apply(5)",
        "return connections.delete('0123456789abcdef01234567')",
        "return connections.create('c_docs', 'bad', [{_id: 'x', access: 2}])",
        "return connections.linkTo('c_docs', doc, 4, {expiresAt: 'soon'})",
        "return connections.linkTo('c_docs', doc, 4, {usesRemaining: -2})",
    ):
        out = world.fault(world.owner, src, doc=str(world.doc))
        assert out["object"] == "fault" and out["errCode"].split(".")[0] in ("cortex", "script"), src

