"""Tests for cortex_runtime.server.routing: route patterns and the route table."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.faults import Fault
from cortex_runtime.server.routing import RouteEntry, RoutePattern, RouteTable, normalise_path

MATCH_CASES: list[tuple[str, str, dict[str, str] | None]] = [
    # literal paths; slashes and case are insignificant
    ("c_ping", "c_ping", {}),
    ("c_ping", "/c_ping/", {}),
    ("/c_ping", "c_ping", {}),
    ("c_a/b", "c_a//b", {}),
    ("c_ping", "C_PING", {}),
    ("c_ping", "c_pingx", None),
    ("c_ping", "c_ping/x", None),
    ("c_ping", "", None),
    ("report.pdf", "reportxpdf", None),
    # empty path answers /routes
    ("", "", {}),
    ("", "/", {}),
    ("/", "", {}),
    ("", "x", None),
    # named params (seed: multiply/:a/:b)
    ("multiply/:a/:b", "multiply/2/3", {"a": "2", "b": "3"}),
    ("/multiply/:a/:b", "/multiply/2/3/", {"a": "2", "b": "3"}),
    ("multiply/:a/:b", "multiply/2", None),
    ("multiply/:a/:b", "multiply/2/3/4", None),
    ("c_340_ping/:id", "c_340_ping/7", {"id": "7"}),
    (":a-:b", "x-y", {"a": "x", "b": "y"}),
    ("data-transfers/:id/executions", "data-transfers/9/executions", {"id": "9"}),
    # URL-encoded params are decoded like decodeURIComponent
    ("users/:id", "users/a%2Fb%20c", {"id": "a/b c"}),
    ("users/:id", "users/a+b", {"id": "a+b"}),
    ("users/:id", "users/caf%C3%A9", {"id": "café"}),
    ("users/:id", "users/%E0%A4%A", {"id": "%E0%A4%A"}),
    # custom param patterns
    ("items/:id(\\d+)", "items/12", {"id": "12"}),
    ("items/:id(\\d+)", "items/ab", None),
    ("a/:p([^/]+/x)", "a/q/x", {"p": "q/x"}),
    # optional params
    ("tasks/:taskId?", "tasks", {}),
    ("tasks/:taskId?", "tasks/", {}),
    ("tasks/:taskId?", "tasks/5", {"taskId": "5"}),
    ("tasks/:taskId?", "tasks/5/6", None),
    (":a?/b", "b", {}),
    (":a?/b", "x/b", {"a": "x"}),
    ("file.:ext?", "file", {}),
    ("file.:ext?", "file.pdf", {"ext": "pdf"}),
    # wildcards
    ("files/*", "files/a/b", {"0": "a/b"}),
    ("files/*", "files/", {"0": ""}),
    ("files/*", "files", {"0": ""}),
    ("files/*", "filesx", None),
    ("*", "", {"0": ""}),
    ("*", "c_340_ping", {"0": "c_340_ping"}),
    ("*", "a/b/c", {"0": "a/b/c"}),
    ("a/*/b", "a/x/y/b", {"0": "x/y"}),
    ("a/*/b", "a/b", {"0": ""}),
    ("a/*/b/*", "a/1/b/2/3", {"0": "1", "1": "2/3"}),
    ("get_public_group*", "get_public_groupABC/x", {"0": "ABC/x"}),
    ("get_public_group*", "get_public_group", {"0": ""}),
    ("files/*", "files/a%20b", {"0": "a b"}),
    ("files/:dir/*", "files/d/x/y", {"dir": "d", "0": "x/y"}),
    # regular-expression paths
    ("/^c_items\\/(\\d+)$/", "c_items/42", {"0": "42"}),
    ("/^c_items\\/(\\d+)$/", "/c_items//42/", {"0": "42"}),
    ("/^c_items\\/(\\d+)$/", "c_items/x", None),
    ("/^c_items\\/(\\d+)$/", "C_ITEMS/42", None),
    ("/^c_items\\/(\\d+)$/i", "C_ITEMS/42", {"0": "42"}),
    ("/(\\w+)-(\\w+)$/", "x/ab-cd", {"0": "ab", "1": "cd"}),
    ("/(?<year>\\d{4})-(\\d\\d)/", "reports/2024-05", {"year": "2024", "0": "05"}),
    ("/^a(b)?$/", "a", {}),
    ("/^x\\/(.+)$/", "x/a%20b", {"0": "a b"}),
    ("/^$/", "", {}),
    ("/(\\d+)/y", "a/12", None),
    ("/(\\d+)/y", "12", {"0": "12"}),
    ("/(?<a>x)\\k<a>/", "xx", {"a": "x"}),
]


@pytest.mark.parametrize(("route", "request_path", "expected"), MATCH_CASES)
def test_pattern_match(route: str, request_path: str, expected: dict[str, str] | None) -> None:
    """Each route path matches (or not) a request path with these decoded params."""
    assert RoutePattern.compile(route).match(request_path) == expected


@pytest.mark.parametrize(
    ("route", "is_regex"),
    [
        ("/^c_items\\/(\\d+)$/", True),
        ("/(\\d+)/gi", True),
        ("/a|b/", True),
        ("/[/]x/", True),
        ("/ping/", False),
        ("/a/i", False),
        ("/data/:id/x", False),
        ("/a/(\\d+)/", False),
        ("/^a$/ii", False),
        ("/^a$/q", False),
        ("multiply/:a/:b", False),
        ("//", False),
    ],
)
def test_regex_detection(route: str, is_regex: bool) -> None:
    """Only JS-literal-shaped paths with a regex-only character are regular expressions."""
    assert RoutePattern.compile(route).is_regex is is_regex


def test_plain_path_with_slashes_is_literal_not_regex() -> None:
    """``/a/i`` is the two segments ``a`` and ``i``."""
    pattern = RoutePattern.compile("/a/i")
    assert pattern.match("a/i") == {}
    assert pattern.match("A") is None


@pytest.mark.parametrize("route", ["/^(a$/", "/a{2,1}(/", "items/:id(\\d+", "items/:id([)"])
def test_invalid_paths_raise_invalid_argument(route: str) -> None:
    """Uncompilable paths raise cortex.invalidArgument.unspecified on ``path``."""
    with pytest.raises(Fault) as caught:
        RoutePattern.compile(route)
    assert caught.value.errCode == "cortex.invalidArgument.unspecified"
    assert caught.value.path == "path"
    assert caught.value.reason


def test_pattern_key_and_equality() -> None:
    """The key is the normalised plain path; patterns compare by source."""
    assert RoutePattern.compile("//a//:b/").key == "a/:b"
    assert RoutePattern.compile("/^a$/").key == "/^a$/"
    assert RoutePattern.compile("a/:b") == RoutePattern.compile("a/:b")
    assert RoutePattern.compile("a/:b") != RoutePattern.compile("a/:c")
    assert normalise_path("//x///y/") == "x/y"


def entry(method: str, path: str, **options: Any) -> RouteEntry:
    """Shorthand for RouteEntry.create."""
    return RouteEntry.create(method, path, **options)


def names(found: list[tuple[RouteEntry, dict[str, str]]]) -> list[str | None]:
    """Names of candidate entries, in order."""
    return [candidate.name for candidate, _ in found]


def test_entry_normalises_method_and_rejects_unknown() -> None:
    """Methods are stored upper-case; only * get post put patch delete are allowed."""
    assert entry("patch", "x").method == "PATCH"
    with pytest.raises(Fault) as caught:
        entry("options", "x")
    assert caught.value.errCode == "cortex.invalidArgument.unspecified"
    assert caught.value.path == "method"


def test_entry_is_frozen_and_hashable() -> None:
    """Entries are immutable values."""
    route = entry("GET", "x", acl=["role.administrator"], target={"script": 1})
    with pytest.raises(AttributeError):
        route.weight = 3  # type: ignore[misc]
    assert hash(route) == hash(entry("GET", "x", acl=[], target=[1]))


def test_entry_pattern_must_come_from_path() -> None:
    """A mismatching pattern is a programming error."""
    with pytest.raises(ValueError):
        RouteEntry(method="GET", path="a", pattern=RoutePattern.compile("b"))


def test_ordering_priority_then_weight_then_registration() -> None:
    """Candidates come priority desc, weight desc, then in registration order."""
    table = RouteTable()
    table.add(entry("GET", "c_ping", name="plain"), unique=False)
    table.add(entry("*", "*", name="catch_all", weight=999), unique=False)
    table.add(entry("GET", "c_:x", name="first_tie", weight=1), unique=False)
    table.add(entry("GET", ":y", name="second_tie", weight=1), unique=False)
    table.add(entry("GET", "c_ping", name="urgent", priority=1, weight=-5), unique=False)
    found = table.candidates("GET", "c_ping")
    assert names(found) == ["urgent", "catch_all", "first_tie", "second_tie", "plain"]
    assert found[1][1] == {"0": "c_ping"}
    assert found[2][1] == {"x": "ping"}
    assert [e.name for e in table] == ["urgent", "catch_all", "first_tie", "second_tie", "plain"]


def test_explicit_order_breaks_ties_before_registration() -> None:
    """``order`` sorts ties ahead of registration order."""
    table = RouteTable()
    table.add(entry("GET", "a", name="late", order=2))
    table.add(entry("GET", "/a/", name="early", order=1), unique=False)
    assert names(table.candidates("GET", "a")) == ["early", "late"]


def test_layered_delete_routes() -> None:
    """``DELETE *`` with weight 999 runs before ``DELETE c_340_ping`` with weight 1."""
    table = RouteTable()
    table.add(entry("DELETE", "c_340_ping", name="specific", weight=1), unique=False)
    table.add(entry("DELETE", "*", name="wildcard", weight=999), unique=False)
    assert names(table.candidates("DELETE", "c_340_ping")) == ["wildcard", "specific"]
    assert names(table.candidates("DELETE", "other")) == ["wildcard"]


def test_same_path_layering_without_uniqueness() -> None:
    """Decorator routes (unique=False) may share method and path; weight 2 runs first."""
    table = RouteTable()
    assert table.add(entry("PATCH", "c_patch", name="one", weight=1), unique=False)
    assert table.add(entry("PATCH", "c_patch", name="two", weight=2), unique=False)
    assert names(table.candidates("PATCH", "c_patch")) == ["two", "one"]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("GET", ["any", "get"]),
        ("get", ["any", "get"]),
        ("HEAD", ["any", "get"]),
        ("POST", ["any", "post"]),
        ("PUT", ["any"]),
        ("OPTIONS", ["any"]),
    ],
)
def test_method_matching(method: str, expected: list[str]) -> None:
    """``*`` matches every method; HEAD matches GET routes; others match exactly."""
    table = RouteTable()
    table.add(entry("get", "r", name="get"))
    table.add(entry("post", "r", name="post"))
    table.add(entry("*", "r", name="any", priority=1))
    assert names(table.candidates(method, "r")) == expected


def test_match_returns_first_or_not_found() -> None:
    """``match`` gives the first candidate, else cortex.notFound.route with the path."""
    table = RouteTable()
    table.add(entry("GET", "multiply/:a/:b", name="multiply"))
    first, params = table.match("GET", "/multiply/6/7")
    assert first.name == "multiply"
    assert params == {"a": "6", "b": "7"}
    for method, path in [("GET", "multiply/6"), ("POST", "multiply/6/7")]:
        with pytest.raises(Fault) as caught:
            table.match(method, path)
        assert caught.value.errCode == "cortex.notFound.route"
        assert caught.value.status == 404
        assert caught.value.path == path


def test_duplicate_method_and_path_conflict() -> None:
    """A second unique entry with the same method and normalised path raises cortex.conflict.exists."""
    table = RouteTable()
    table.add(entry("GET", "c_items/:id", name="a"))
    with pytest.raises(Fault) as caught:
        table.add(entry("get", "/c_items//:id/", name="b"))
    assert caught.value.errCode == "cortex.conflict.exists"
    assert caught.value.status == 409
    assert caught.value.path == "path"
    assert [e.name for e in table] == ["a"]


def test_no_conflict_for_other_method_or_path_or_non_unique() -> None:
    """Different method or path, or a non-unique entry, never conflicts."""
    table = RouteTable()
    table.add(entry("GET", "c_items/:id", name="a"))
    table.add(entry("*", "c_items/:id", name="b"))
    table.add(entry("GET", "c_items/:key", name="c"))
    table.add(entry("GET", "c_items/:id", name="d"), unique=False)
    assert len(table) == 4
    table.add(entry("GET", "c_items/:key", name="e"), unique=False)
    with pytest.raises(Fault):
        table.add(entry("GET", "c_items/:key", name="f"))


def test_unnamed_entries_conflict_and_never_override() -> None:
    """Entries without a name are never overrides, so duplicates conflict."""
    table = RouteTable()
    table.add(entry("GET", "x", weight=1))
    with pytest.raises(Fault) as caught:
        table.add(entry("GET", "x", weight=5))
    assert caught.value.errCode == "cortex.conflict.exists"
    table.add(entry("GET", "x", weight=5), unique=False)
    assert [e.weight for e in table] == [5, 1]


def test_override_by_name_with_strictly_higher_weight() -> None:
    """Same name and higher weight replaces the old entry in its registration slot."""
    table = RouteTable()
    table.add(entry("GET", "c_ping", name="c_get", weight=1, target="old"))
    table.add(entry("GET", "other", name="later"))
    assert table.add(entry("GET", "c_ping", name="c_get", weight=2, target="new")) is True
    assert len(table) == 2
    found = table.candidates("GET", "c_ping")
    assert [(e.name, e.target) for e, _ in found] == [("c_get", "new")]
    table.add(entry("GET", "*", name="tie"), unique=False)
    table.add(entry("GET", "c_ping", name="c_get", weight=0, target="newest"), unique=False)
    assert [e.target for e, _ in table.candidates("GET", "c_ping")] == ["new", None]


@pytest.mark.parametrize("weight", [1, 0.5, -1])
def test_override_by_name_with_equal_or_lower_weight_is_ignored(weight: float) -> None:
    """Same name with equal or lower weight keeps the first entry."""
    table = RouteTable()
    table.add(entry("GET", "c_ping", name="c_get", weight=1, target="first"))
    assert table.add(entry("GET", "c_ping", name="c_get", weight=weight, target="second")) is False
    assert [(e.target, e.weight) for e in table] == [("first", 1)]


def test_override_may_move_path_but_not_onto_a_taken_one() -> None:
    """An override can change method/path; it still conflicts with other unique entries."""
    table = RouteTable()
    table.add(entry("GET", "a", name="n", weight=1))
    table.add(entry("GET", "b", name="other"))
    assert table.add(entry("POST", "c", name="n", weight=2))
    assert [(e.method, e.path) for e in table] == [("POST", "c"), ("GET", "b")]
    with pytest.raises(Fault):
        table.add(entry("GET", "b", name="n", weight=3))
    assert [(e.method, e.path) for e in table] == [("POST", "c"), ("GET", "b")]


def test_remove_by_name_and_predicate() -> None:
    """``remove`` drops entries by name or predicate and frees their method+path."""
    table = RouteTable()
    table.add(entry("GET", "a", name="a"))
    table.add(entry("GET", "b", name="b", priority=3))
    table.add(entry("POST", "b", name="c"))
    assert table.remove("a") == 1
    assert table.remove("missing") == 0
    assert [e.name for e in table] == ["b", "c"]
    assert table.remove(lambda e: e.priority > 0) == 1
    assert [e.name for e in table] == ["c"]
    assert table.add(entry("GET", "a", name="again"))
    with pytest.raises(Fault) as caught:
        table.match("GET", "b")
    assert caught.value.errCode == "cortex.notFound.route"
