"""The ACL matrix of spec §6: each access level against each operation, through the object layer."""

from __future__ import annotations

import pytest
from bson import ObjectId

from cortex_runtime import Fault
from cortex_runtime.objects.principals import ADMINISTRATOR
from cortex_runtime.runtime import Runtime

LEVELS = {"none": 0, "public": 1, "connected": 2, "read": 4, "share": 5, "update": 6, "delete": 7}


@pytest.fixture(scope="module")
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("aclmatrix")
    callers = {name: runtime.orgs.provision(org, email=f"{name}@example.com") for name in LEVELS}
    layer = runtime.layer(org, admin)
    layer.insert_one(
        "object",
        {
            "label": "Thing",
            "name": "c_thing",
            "defaultAcl": [{"type": 4, "allow": 7}]
            + [{"type": 1, "target": str(p._id), "allow": LEVELS[name]} for name, p in callers.items() if LEVELS[name]],
            "createAcl": [{"type": 1, "target": str(callers["update"]._id)}],
            "properties": [
                {"label": "Public", "name": "c_public", "type": "String", "readAccess": 1, "indexed": True},
                {"label": "Note", "name": "c_note", "type": "String"},
                {"label": "Secret", "name": "c_secret", "type": "String", "readAccess": 6},
            ],
        },
        {},
    )
    thing = layer.insert_one("c_thing", {"c_public": "p", "c_note": "n", "c_secret": "s"}, {"bypassCreateAcl": True})
    return runtime, org, admin, callers, thing


def _outcome(call):
    try:
        return call()
    except Fault as fault:
        return fault.errCode


@pytest.mark.parametrize("level", LEVELS)
def test_read_list_omits_quietly(world, level):
    runtime, org, _, callers, thing = world
    rows = list(runtime.layer(org, callers[level]).iterate("c_things", {}))
    assert [row["_id"] for row in rows] == ([thing] if LEVELS[level] >= 1 else [])


@pytest.mark.parametrize("level", LEVELS)
def test_read_one(world, level):
    runtime, org, _, callers, thing = world
    result = _outcome(lambda: runtime.layer(org, callers[level]).read_one("c_thing", {"where": {"_id": thing}}))
    if LEVELS[level] >= 1:
        assert result["_id"] == thing
        assert result["access"] == LEVELS[level]
        assert ("c_note" in result) == (LEVELS[level] >= 4)
        assert ("c_secret" in result) == (LEVELS[level] >= 6)
        assert result["c_public"] == "p"
    else:
        assert result == "cortex.accessDenied.instanceRead"


@pytest.mark.parametrize("level", LEVELS)
def test_read_property_path(world, level):
    runtime, org, _, callers, thing = world
    result = _outcome(lambda: runtime.layer(org, callers[level]).read_one("c_thing", {"where": {"_id": thing}, "path": "c_note"}))
    if LEVELS[level] >= 4:
        assert result == "n"
    elif LEVELS[level] >= 1:
        assert result == "cortex.accessDenied.propertyRead"
    else:
        assert result == "cortex.accessDenied.instanceRead"


@pytest.mark.parametrize("level", LEVELS)
def test_update(world, level):
    runtime, org, _, callers, thing = world
    result = _outcome(lambda: runtime.layer(org, callers[level]).update_one("c_thing", {"_id": thing}, {"$set": {"c_note": level}}, {}))
    if LEVELS[level] >= 6:
        assert result == thing
    elif LEVELS[level] >= 1:
        assert result == "cortex.accessDenied.propertyUpdate"
    else:
        assert result == "cortex.notFound.instance"


@pytest.mark.parametrize("level", LEVELS)
def test_delete(world, level):
    runtime, org, admin, callers, _ = world
    victim = runtime.layer(org, admin).insert_one("c_thing", {"c_public": "victim"}, {"bypassCreateAcl": True})
    result = _outcome(lambda: runtime.layer(org, callers[level]).delete_one("c_thing", {"_id": victim}, {}))
    if LEVELS[level] >= 7:
        assert result is True
    elif LEVELS[level] >= 1:
        assert result == "cortex.accessDenied.instanceDelete"
    else:
        assert result == "cortex.notFound.instance"


@pytest.mark.parametrize("level", LEVELS)
def test_create_follows_create_acl_only(world, level):
    runtime, org, _, callers, _ = world
    result = _outcome(lambda: runtime.layer(org, callers[level]).insert_one("c_thing", {"c_public": "new"}, {}))
    if level == "update":
        assert isinstance(result, ObjectId)
    else:
        assert result == "cortex.accessDenied.instanceCreate"
    bypassed = runtime.layer(org, callers[level]).insert_one("c_thing", {}, {"bypassCreateAcl": True})
    assert isinstance(bypassed, ObjectId)


def test_skip_acl_without_grant_reads_nothing_private(world):
    runtime, org, _, callers, thing = world
    layer = runtime.layer(org, callers["none"])
    rows = [r for r in layer.iterate("c_thing", {"skipAcl": True}) if r["_id"] == thing]
    assert len(rows) == 1
    assert "c_note" not in rows[0] and "c_secret" not in rows[0] and "c_public" not in rows[0]
    granted = [r for r in layer.iterate("c_thing", {"skipAcl": True, "grant": 6}) if r["_id"] == thing][0]
    assert granted["c_secret"] == "s"


def test_where_on_a_property_raises_the_required_level(world):
    runtime, org, _, callers, thing = world
    rows = list(runtime.layer(org, callers["public"]).iterate("c_thing", {"where": {"c_public": "p"}}))
    assert [r["_id"] for r in rows] == [thing]


def test_no_admin_bypass_on_custom_objects(world):
    runtime, org, admin, _, _ = world
    other = runtime.orgs.provision(org, email="other-admin@example.com", roles=[ADMINISTRATOR])
    assert list(runtime.layer(org, other).iterate("c_thing", {})) == []


@pytest.mark.parametrize("level", LEVELS)
def test_share(world, level):
    """Sharing needs Share (5) and may grant only a shareChain level strictly below the caller's."""
    runtime, org, admin, callers, thing = world
    admin_layer = runtime.layer(org, admin)
    admin_layer.update_one("object", {"name": "c_thing"}, {"$set": {"shareChain": [6, 5, 4, 2]}}, {})
    friend = runtime.orgs.provision(org, email=f"friend-{level}@example.com")
    layer = runtime.layer(org, callers[level])
    result = _outcome(lambda: layer.share("c_things", thing, [{"_id": friend._id, "access": 2}], {}))
    if LEVELS[level] >= 5:
        assert result[0]["access"] == 2
        assert runtime.layer(org, friend).read_one("c_thing", {"where": {"_id": thing}})["access"] == 2
        too_high = _outcome(lambda: layer.share("c_things", thing, [{"_id": friend._id, "access": LEVELS[level]}], {}))
        assert too_high == "cortex.accessDenied.shareAccess"
    elif LEVELS[level] >= 1:
        assert result == "cortex.accessDenied.shareAccess"
    else:
        assert result == "cortex.accessDenied.shareAccess"


def test_setting_a_reference_needs_reference_access(world):
    runtime, org, admin, callers, thing = world
    admin_layer = runtime.layer(org, admin)
    admin_layer.insert_one(
        "object",
        {
            "label": "Pointer",
            "name": "c_pointer",
            "defaultAcl": [{"type": 4, "allow": 7}],
            "createAcl": [{"type": 1, "target": "000000000000000000000003"}],
            "properties": [{"label": "Thing", "name": "c_thing", "type": "Reference", "sourceObject": "c_thing"}],
        },
        {},
    )
    for level, allowed in (("read", False), ("share", True), ("delete", True)):
        layer = runtime.layer(org, callers[level])
        result = _outcome(lambda: layer.insert_one("c_pointer", {"c_thing": thing}, {}))
        if allowed:
            assert isinstance(result, ObjectId), level
        else:
            assert result == "cortex.accessDenied.referencedContext", level
    missing = _outcome(lambda: runtime.layer(org, callers["delete"]).insert_one("c_pointer", {"c_thing": ObjectId()}, {}))
    assert missing == "cortex.notFound.instance"
