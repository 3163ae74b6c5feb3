"""The engine core: classification, paths, variables, wrapping, limits, pipelines, the module."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from cortex_runtime.expressions import MISSING, Expression, ExpressionContext, Pipeline, parse
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime


def fault_of(fn) -> Fault:
    with pytest.raises(Fault) as caught:
        fn()
    return caught.value


# ---- classification and wrapping (§1.2, §1.3) ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("$", "Unknown expression type $"),
        ("$$", "Unknown expression type $$"),
        ({"$add": [1, {"a": 1, "b": 2}]}, "Unknown expression type a"),
        ({"$add": [1, {}]}, "Unknown expression type [object Object]"),
        ({"$nope": 1}, "Unsupported operator $nope"),
        ({"$add": [{"$$x": 1}]}, "Unknown expression type $$x"),
        ("$$CURRENT", "User variable CURRENT not found."),
        ("$$root", "User variable root not found."),
        ("$$NOW.x", "$$NOW cannot access properties."),
        ("$$VAR.ROOT", "SystemVariable $VAR user variable cannot be a system variable (ROOT)."),
    ],
)
def test_parse_faults(value, reason):
    fault = fault_of(lambda: parse(value))
    assert (fault.errCode, fault.reason) == ("cortex.invalidArgument.query", reason)


def test_parse_fault_paths():
    assert fault_of(lambda: parse({"$add": [1, {"$multiply": [2, {"$nope": 1}]}]})).path == "$add.1.$multiply.1.$nope"
    assert fault_of(lambda: parse({"$abs": {"$size": "$a"}}).evaluate({"a": 1})).path == "$abs.$size"


def test_top_level_templates_are_wrapped():
    assert parse({"a": {"b": "$x"}, "c": 1}).evaluate({"x": 5}) == {"a": {"b": 5}, "c": 1}
    assert parse(["$x", 2]).evaluate({"x": 1}) == [1, 2]
    assert parse({"$a": 1, "$b": "$x"}).evaluate({"x": 3}) == {"$a": 1, "$b": 3}
    assert fault_of(lambda: parse({"a": [1, 2]})).reason == "Unknown expression type 1,2"


def test_literals_and_escaping():
    assert parse("plain").evaluate() == "plain"
    assert parse("").evaluate() == ""
    assert parse({"$literal": {"$add": ["$x"]}}).evaluate() == {"$add": ["$x"]}
    tree = parse({"$literal": [1, {"a": 2}]})
    first = tree.evaluate()
    first[1]["a"] = 99
    assert tree.evaluate() == [1, {"a": 2}]  # a fresh copy each time


# ---- field paths (§3.1) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("$a.b", {"a": {"b": 1}}, 1),
        ("$a.b", {"a": None}, None),
        ("$a.b", {}, MISSING),
        ("$a", None, None),
        ("$a", MISSING, MISSING),
        ("$items.0.name", {"items": [{"name": "x"}]}, "x"),
        ("$items.name", {"items": [{"name": "x"}]}, MISSING),  # no mapping over arrays
        ("$items.length", {"items": [1, 2]}, 2),
        ("$s.0", {"s": "hey"}, "h"),
        ("$s.length", {"s": "hey"}, 3),
        ("$a.constructor", {"a": {}}, MISSING),
        ("$n.x", {"n": 5}, MISSING),
        ("$$ROOT.a", {"a": 7}, 7),
    ],
)
def test_field_paths(path, root, expected):
    assert parse(path).evaluate(root) == expected or parse(path).evaluate(root) is expected


# ---- variables (§2) ------------------------------------------------------------------------


def test_let_scoping_and_shadowing():
    expr = {"$let": {"vars": {"x": 1}, "in": {"$let": {"vars": {"x": 2}, "in": {"$add": ["$$x", 10]}}}}}
    assert parse(expr).evaluate() == 12
    assert fault_of(lambda: parse({"$add": ["$$x", {"$let": {"vars": {"x": 1}, "in": "$$x"}}]})).reason == "User variable x not found."


def test_variable_declared_for_siblings_is_undefined_there():
    # `$$this` in $map.input parses (declared on the node) but is undefined while input runs.
    assert parse({"$map": {"input": {"$array": ["$$this"]}, "in": "$$this"}}).evaluate() == [MISSING]


def test_system_variables():
    now = parse({"$array": ["$$NOW", "$$NOW"]}).evaluate()
    assert isinstance(now[0], datetime) and now[0] == now[1]
    assert parse("$$REMOVE").evaluate() is MISSING
    assert 0 <= parse("$$RANDOM").evaluate() < 1
    assert parse("$$SCRIPT.type").evaluate(variables={"$$SCRIPT": {"type": "trigger"}}) == "trigger"
    assert parse({"$let": {"vars": {"v": {"$literal": {"a": 1}}}, "in": "$$VAR.v.a"}}).evaluate() == 1
    assert parse("$$VAR.nothing").evaluate() is MISSING
    assert parse("$$REQUEST.method").evaluate() is None  # no request: every field is empty


def test_a_parsed_tree_is_reusable():
    tree = parse({"$map": {"input": "$xs", "as": "x", "in": {"$multiply": ["$$x", "$k"]}}})
    assert tree.evaluate({"xs": [1, 2], "k": 3}) == [3, 6]
    assert tree.evaluate({"xs": [5], "k": 2}) == [10]


# ---- limits (§10 and ours) -----------------------------------------------------------------


def _nested(levels: int, inner: object = 1) -> object:
    value = inner
    for _ in range(levels):
        value = {"$abs": value}
    return value


def test_deep_nesting_faults_at_parse_without_recursion_error():
    for value in (_nested(10_000), {"$literal": _deep_list(10_000)}, _deep_list(10_000)):
        fault = fault_of(lambda: parse(value))
        assert fault.errCode == "cortex.invalidArgument.tooLarge"


def _deep_list(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def test_node_depth_limit_is_checked_when_evaluated():
    assert parse(_nested(19)).evaluate() == 1
    fault = fault_of(lambda: parse(_nested(25)).evaluate())
    assert (fault.errCode, fault.reason) == ("cortex.invalidArgument.query", "Maximum expression depth (20) exceeded")
    # an unevaluated deep branch does not fault
    assert parse({"$cond": [False, _nested(30), 2]}).evaluate() == 2


def test_huge_range_mapped_faults_quickly():
    began = time.monotonic()
    fault = fault_of(lambda: parse({"$map": {"input": {"$range": [0, 10_000_000, 1]}, "in": {"$add": ["$$this", 1]}}}).evaluate())
    assert fault.errCode == "cortex.invalidArgument.tooLarge"
    assert time.monotonic() - began < 1


def test_ops_budget_bounds_long_loops():
    expr = {"$map": {"input": {"$range": [0, 1000, 1]}, "in": {"$map": {"input": {"$range": [0, 1000, 1]}, "in": "$$this"}}}}
    began = time.monotonic()
    assert fault_of(lambda: parse(expr).evaluate()).errCode == "cortex.invalidArgument.tooLarge"
    assert time.monotonic() - began < 5
    small = ExpressionContext(max_ops=50)
    assert fault_of(lambda: Expression({"$range": [0, 100, 1]}).evaluate(ctx=small)).errCode == "cortex.invalidArgument.tooLarge"


# ---- pipelines and accumulators (§5, §6) ---------------------------------------------------

DOCS = [{"k": "a", "n": 1, "tags": ["x", "y"]}, {"k": "b", "n": 2, "tags": []}, {"k": "a", "n": "3", "tags": None}, {"k": "c", "n": "x"}]


def run(stages: list, docs: list | None = None) -> list:
    return list(Pipeline(stages).run(DOCS if docs is None else docs))


def test_match_project_set_unset():
    assert run([{"$match": {"$eq": ["$k", "a"]}}, {"$project": {"n": "$n"}}]) == [{"n": 1}, {"n": "3"}]
    assert run([{"$limit": 1}, {"$set": {"m": {"$add": ["$n", 1]}, "a.b": 1}}]) == [{**DOCS[0], "m": 2, "a.b": 1}]
    assert run([{"$limit": 1}, {"$unset": ["tags", "z.y"]}]) == [{"k": "a", "n": 1, "z": {}}]
    assert run([{"$project": "$k"}]) == ["a", "b", "a", "c"]
    assert run([{"$project": "$nothing"}]) == []


def test_limit_skip_count():
    assert run([{"$skip": 1}, {"$limit": 2}, {"$count": "total"}]) == [{"total": 2}]
    assert run([{"$count": "total"}], []) == [{"total": 0}]
    assert fault_of(lambda: Pipeline([{"$limit": 0}])).reason == "Stage $limit requires a positive integer."
    assert fault_of(lambda: Pipeline([{"$skip": "x"}])).reason == "Stage $skip requires a positive integer."


def test_unwind():
    assert run([{"$unwind": "$tags"}, {"$project": "$tags"}]) == ["x", "y"]
    out = run([{"$unwind": {"path": "$tags", "includeArrayIndex": "i", "preserveNullAndEmptyArrays": True}}, {"$project": {"k": "$k", "t": "$tags", "i": "$i"}}])
    assert [(o["k"], o["t"], o["i"]) for o in out] == [("a", "x", 0), ("a", "y", 1), ("b", MISSING, 0), ("a", None, 0), ("c", MISSING, 0)]
    assert fault_of(lambda: Pipeline([{"$unwind": "tags"}])).reason == "$unwind stage expects a field name."
    assert fault_of(lambda: Pipeline([{"$unwind": 1}])).reason == "$unwind stage expects an object with a path value."


def test_group_and_accumulators():
    stages = [{"$group": {"_id": "$k", "sum": {"$sum": "$n"}, "avg": {"$avg": "$n"}, "min": {"$min": "$n"}, "max": {"$max": "$n"}, "push": {"$push": "$n"},
                          "set": {"$addToSet": "$k"}, "first": {"$first": "$n"}, "last": {"$last": "$n"}, "count": {"$count": 1}, "merged": {"$mergeObjects": {"$object": {"n": "$n"}}}}}]
    a, b, c = run(stages)
    assert a == {"_id": "a", "sum": 4, "avg": 2, "min": 1, "max": "3", "push": [1, "3"], "set": ["a"], "first": 1, "last": "3", "count": 2, "merged": {"n": "3"}}
    assert (b["_id"], b["sum"], c["sum"], c["avg"]) == ("b", 2, None, None)
    assert run([{"$group": {"_id": None, "c": {"$count": 1}}}]) == [{"c": 4}]
    assert run([{"$group": {"_id": {"k": "$k"}, "c": {"$count": 1}}}])[0] == {"_id": {"k": "a"}, "c": 2}
    assert run([{"$group": {"_id": None, "c": {"$count": 1}}}], []) == []


def test_min_max_quirk_with_mixed_types():
    docs = [{"v": 5}, {"v": "x"}, {"v": 2}]
    assert run([{"$group": {"_id": None, "min": {"$min": "$v"}, "max": {"$max": "$v"}}}], docs) == [{"min": 2, "max": 5}]
    docs = [{"v": 5}, {"v": "x"}]
    assert run([{"$group": {"_id": None, "min": {"$min": "$v"}}}], docs) == [{"min": "x"}]  # incomparable wins for $min


def test_pipeline_faults():
    assert fault_of(lambda: Pipeline([])).reason == "pipeline requires an array with at least 1 elements."
    assert fault_of(lambda: Pipeline([{"$sort": {"a": 1}}])).reason == "Unknown stage type $sort"
    assert fault_of(lambda: Pipeline([{"$match": None}])).reason == "$match stage is empty"
    assert fault_of(lambda: Pipeline([{"$match": {"a": 1}}])).reason == "Unknown expression type a"
    assert fault_of(lambda: Pipeline([{"$group": {"_id": None, "x": {"$nope": 1}}}])).reason == "Unsupported accumulator $nope"
    assert fault_of(lambda: Pipeline([{"$group": {"_id": None, "x": 1}}])).reason == "A group accumulator must be an object with a single key."
    assert fault_of(lambda: Pipeline([{"$group": {"_id": None, "x": {"$count": {}}}}])).reason == "Unknown expression type [object Object]"
    assert fault_of(lambda: list(Pipeline([{"$limit": 1}]).run(MISSING))).reason == 'Could not cast "undefined" to Cursor.'
    assert fault_of(lambda: Pipeline([{"$count": "a.b"}])).reason == "Stage $count user variable cannot contain $ and must have length."


def test_pipeline_is_lazy_and_undefined_ends_the_stream():
    seen = []

    def source():
        for i in range(1000):
            seen.append(i)
            yield {"i": i}

    assert [d["i"] for d in Pipeline([{"$limit": 3}]).run(source())] == [0, 1, 2]
    assert len(seen) <= 4
    assert run([{"$limit": 5}], [{"a": 1}, MISSING, {"a": 2}]) == [{"a": 1}]


# ---- require('expressions') ----------------------------------------------------------------


@pytest.fixture(scope="module")
def script():
    runtime = Runtime()
    org, admin = runtime.orgs.create("expressions")

    def call(source: str):
        return runtime.run(source, org=org, principal=admin)

    return call


def test_module_run_evaluate_and_pipeline(script):
    out = script(
        """const ex = require('expressions');
        return [ex.run({$add: ['$a', 2]}, {a: 40}), ex.run({k: '$$REMOVE', v: {$divide: [1, 0]}}), ex.evaluate({$size: '$a'}, {a: 1}).err.reason,
                ex.evaluate({$size: '$a'}, {a: [1]}).result, ex.pipeline.run([{$match: {$gt: ['$n', 1]}}], [{n: 1}, {n: 2}]),
                ex.pipeline.evaluate([{$count: 'c'}], [{}, {}]).result, ex.version()]"""
    )
    assert out.fault is None, out.fault
    assert out.value == [42, {"v": None}, "$size expects an Array", 1, [{"n": 2}], {"c": 2}, "1.0.0"]


def test_module_faults_are_catchable_and_parse_faults_throw_from_evaluate(script):
    out = script(
        """const ex = require('expressions'); const got = [];
        try { ex.run({$size: 1}) } catch (e) { got.push([e.errCode, e.reason, e.path]) }
        try { ex.evaluate({$nope: 1}) } catch (e) { got.push([e.errCode, e.reason]) }
        return got"""
    )
    assert out.value == [["cortex.invalidArgument.query", "$size expects an Array", "$size"], ["cortex.invalidArgument.query", "Unsupported operator $nope"]]
