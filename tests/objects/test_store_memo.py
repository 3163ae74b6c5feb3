"""What a request reads of its org, app and caller is kept between requests on the embedded
store, and a write to the collections it came from makes it stale (``objects/memo.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import mongomock
import pytest

from cortex_runtime.objects.memo import StoreMemo
from cortex_runtime.objects.orgs import Orgs, load_principal
from cortex_runtime.objects.principals import ADMINISTRATOR, DEVELOPER
from cortex_runtime.objects.store import Store
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.auth import App, Authenticator, generate_key, generate_secret


def _counting(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = mongomock.Collection.find_one

    def find_one(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(mongomock.Collection, "find_one", find_one)
    return reads


def test_a_kept_principal_is_read_once_and_follows_every_change(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open()
    org, admin = Orgs(store).create("memo")
    store.contexts.insert_one({"org": org._id, "object": "c_other"})  # anything written to contexts: stale
    reads = _counting(store, monkeypatch)
    first = load_principal(store, org._id, admin._id)
    assert load_principal(store, org._id, admin._id) is first
    assert reads.count("contexts") == 1
    # A role given to the account is seen by the next lookup.
    store.contexts.update_one({"_id": admin._id}, {"$push": {"roles": DEVELOPER}})
    changed = load_principal(store, org._id, admin._id)
    assert changed is not first and DEVELOPER in changed.roles and ADMINISTRATOR in changed.roles
    # So is an email change, under the old and the new key.
    store.contexts.update_one({"_id": admin._id}, {"$set": {"email": "new@example.com"}})
    assert load_principal(store, org._id, "new@example.com")._id == admin._id
    with pytest.raises(Exception):
        load_principal(store, org._id, "admin@example.com")


def test_an_unknown_account_is_not_kept() -> None:
    store = Store.open()
    org, _ = Orgs(store).create("memo")
    with pytest.raises(Exception):
        load_principal(store, org._id, "late@example.com")
    doc_id = Orgs(store).provision(org, email="late@example.com")._id
    assert load_principal(store, org._id, "late@example.com")._id == doc_id


def test_org_and_apps_follow_writes_to_the_org_document() -> None:
    store = Store.open()
    orgs = Orgs(store)
    org, admin = orgs.create("memo")
    assert orgs.get("memo") is orgs.get("memo")
    store.orgs.update_one({"_id": org._id}, {"$set": {"name": "Renamed"}})
    assert orgs.get("memo").name == "Renamed"
    auth = Authenticator(store)
    assert auth.apps(org) == []
    app = auth.add_app(org, App(name="local", key=generate_key(), secret=generate_secret(), principal_id=admin._id))
    assert [a.key for a in auth.apps(org)] == [app.key]
    auth.add_app(org, App(name="local", key=app.key, secret=app.secret, principal_id=admin._id, enabled=False))
    assert auth.apps(org)[0].enabled is False


def test_a_mongodb_store_computes_every_time() -> None:
    store = Store(mongomock.MongoClient()["memo"])  # as a server is driven: nothing kept in process
    assert store.generation("orgs") is None
    calls = []
    memo = StoreMemo(store, ("orgs",))
    for _ in range(3):
        memo.get("k", lambda: calls.append(1) or len(calls))
    assert len(calls) == 3


def test_a_value_computed_while_its_collection_changed_is_not_kept() -> None:
    store = Store.open()
    memo = StoreMemo(store, ("orgs",))

    def writes() -> int:
        store.orgs.insert_one({"code": f"x{datetime.now().timestamp()}"})
        return 1

    memo.get("k", writes)
    seen = []
    memo.get("k", lambda: seen.append(1) or 2)
    assert seen == [1]


def test_queued_after_triggers_still_run_after_an_empty_claim() -> None:
    runtime = Runtime()
    org, admin = runtime.orgs.create("memo")
    assert runtime.process_events() == 0  # an empty claim: the queue is not asked again until it changes
    script = runtime.store.contexts.insert_one({"org": org._id, "object": "script", "type": "trigger", "name": "c_gone"}).inserted_id
    now = datetime.now(timezone.utc)
    runtime.store.queue.insert_one(
        {"org": org._id, "status": "pending", "created": now, "expires": now + timedelta(days=1), "script": script,
         "principal": admin._id, "object": "c_nothing", "event": "create.after", "arguments": {}}
    )
    assert runtime.process_events() == 1  # the queue changed, so it is claimed (and fails: the script is gone)
    assert runtime.store.queue.find_one({})["status"] == "failed"
