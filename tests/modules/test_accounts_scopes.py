"""Auth scope grammar, compiled scopes and ``inAuthScope`` (rest-api-auth.md §5.6, scripting-core.md §6)."""

from __future__ import annotations

import pytest

from cortex_runtime.accounts.scopes import compile_scope, in_auth_scope, scope_strings, validate_scope
from cortex_runtime.faults import Fault

ID = "5a1b2c3d4e5f60718293a4b5"


@pytest.mark.parametrize(
    "scope",
    [
        "*",
        "object",
        "object.*",
        "object.read.account",
        "object.read.c_messages.*.c_subject",
        f"object.read.account.{ID}.name.first",
        "object.update.c_thing#c_type",
        "object.read.c_list.*.c_items[]",
        "script",
        "script.execute",
        "script.execute.*",
        "script.execute.runner",
        "script.execute.route.c_who",
        "view.execute.c_view",
        "deployment.execute.c_deploy",
        "admin.read",
        "admin.*",
    ],
)
def test_valid_scopes(scope):
    assert validate_scope(scope) == scope


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "*.read",
        "nothing.read",
        "object.write",
        "object.read.account.name",  # a property part needs the instance part first
        "deployment.create",  # use object.create.deployment
        "admin.delete",
        "admin.read.more",
        "view.execute.c_view.extra",
        "object..account",
        "script.execute.cron",
    ],
)
def test_invalid_scopes_are_refused_with_kAuthScope(scope):
    with pytest.raises(Fault) as caught:
        validate_scope(scope)
    assert (caught.value.errCode, caught.value.code, caught.value.status) == ("cortex.invalidArgument.authScope", "kAuthScope", 400)


def test_compile_and_round_trip():
    tree = compile_scope(["object.read.c_a", "object.read.c_a.*.c_b", "view", "view.execute.c_v", "admin.read"])
    # A chain under a shorter one adds nothing: the shorter one grants all below it.
    assert tree == {"object": {"read": {"c_a": {}}}, "view": {}, "admin": {"read": {}}}
    assert scope_strings(tree) == ["admin.read", "object.read.c_a", "view"]
    assert compile_scope(scope_strings(tree)) == tree
    # The longer chain first, then the shorter one: the shorter still wins.
    assert compile_scope(["object.read.c_a.*.c_b", "object.read.c_a"]) == {"object": {"read": {"c_a": {}}}}


def test_match_prefix_fact_24():
    """scripting-core.md acceptance 24: exact chain vs prefix."""
    scope = compile_scope(["object.read.c_messages.*.c_subject"])
    assert in_auth_scope(scope, "object.read.c_messages", True) is True
    assert in_auth_scope(scope, "object.read.c_messages", False) is False
    assert in_auth_scope(scope, "object.read.c_messages") is True  # matchPrefix defaults to true
    assert in_auth_scope(scope, f"object.read.c_messages.{ID}.c_subject", False) is True
    assert in_auth_scope(scope, f"object.read.c_messages.{ID}.c_other", True) is False
    assert in_auth_scope(scope, "object.update.c_messages", True) is False


def test_property_scopes_fact_42():
    """scripting-core.md acceptance 42, on a compiled scope: ``…name`` is a prefix only,
    ``…name.first`` is granted both ways, ``…name.last`` neither way."""
    scope = compile_scope([f"object.read.account.{ID}.name.first"])
    base = f"object.read.account.{ID}.name"
    assert (in_auth_scope(scope, base, True), in_auth_scope(scope, base, False)) == (True, False)
    assert (in_auth_scope(scope, base + ".first", True), in_auth_scope(scope, base + ".first", False)) == (True, True)
    assert (in_auth_scope(scope, base + ".last", True), in_auth_scope(scope, base + ".last", False)) == (False, False)


def test_wildcards_and_leaves():
    assert in_auth_scope(compile_scope(["*"]), "object.read.anything", False) is True
    assert in_auth_scope(compile_scope(["script"]), "script.execute.runner", False) is True
    assert in_auth_scope(compile_scope(["object.*.c_a"]), "object.delete.c_a", False) is True
    assert in_auth_scope(compile_scope(["object.*.c_a"]), "object.delete.c_b", True) is False
    # `*` down to the end grants the whole chain above it.
    assert in_auth_scope(compile_scope(["object.read.c_a.*"]), "object.read.c_a", False) is True
    # No scopes, or no scope at all (null), grants nothing.
    assert in_auth_scope({}, "object", True) is False
    assert in_auth_scope(None, "object", True) is False
    # A list of strings is compiled on the way in.
    assert in_auth_scope(["view.execute.c_v"], "view.execute.c_v", False) is True


def test_bad_arguments():
    with pytest.raises(Fault) as caught:
        in_auth_scope({"object": {}}, "", True)
    assert caught.value.errCode == "cortex.invalidArgument.authScope"
    with pytest.raises(Fault):
        in_auth_scope("object.read", "object.read", True)
