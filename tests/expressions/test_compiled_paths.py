"""The compiled form of an expression against the tree it is generated from: the fast paths for
common types, the budget and depth limits, the fallback to ``evaluate`` and context reuse."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from cortex_runtime.expressions import OPERATORS, Expression, ExpressionContext, core, parse
from cortex_runtime.expressions.core import Operator, Parser, compile_node
from cortex_runtime.expressions.operators.conditional import Cond
from cortex_runtime.faults import Fault

VALUES: list[Any] = [
    5, -3, 2.5, 0.0, -0.0, math.nan, math.inf, -math.inf, 2**53, 2**53 + 1, 2**60, 10**30, 1e-05, 1.2345678e-05,
    True, False, None, "7", "abc", "", [], [1, "b"], {"a": 1},
]

EXPRESSIONS: list[Any] = [
    *({op: args} for op in ("$gt", "$gte", "$lt", "$lte") for args in (["$a", "$b"], ["$a", 3], [3, "$a"], ["$a", 1e-05], ["$a", -math.inf])),
    *({op: args} for op in ("$eq", "$ne") for args in (["$a", "$b"], ["$a", "7"], ["$a", 3], [2.5, "$a"], ["abc", "$b"])),
    {"$add": ["$a", "$b"]}, {"$add": ["$a", 1]}, {"$add": ["$a", "$b", 2**53]},
    {"$multiply": ["$a", "$b"]}, {"$multiply": ["$a", 2, "$b"]},
    {"$concat": ["$a", "-x"]}, {"$concat": ["$a", "$b"]}, {"$toUpper": "$a"}, {"$toLower": "$b"},
    {"$size": "$a"}, {"$ifNull": ["$a", "d"]}, {"$cond": ["$a", "$b", 2]},
    {"$and": ["$a", "$b"]}, {"$or": ["$a", "$b", 0]},
    {"$switch": {"branches": [{"case": "$a", "then": 1}, {"case": "$b", "then": 2}], "default": 3}},
    {"$map": {"input": "$a", "in": {"$add": ["$$this", 1]}}},
    {"$filter": {"input": "$a", "as": "x", "cond": {"$gt": ["$$x", "$b"]}}},
    {"$reduce": {"input": "$a", "initialValue": "$b", "in": {"$concat": ["$$value", "$$this"]}}},
    {"$let": {"vars": {"x": "$a", "y": {"$literal": [1, {"k": "$b"}]}}, "in": {"$array": ["$$x", "$$y", {"$literal": []}]}}},
    {"$let": {"vars": {"x": "$a"}, "literal": True, "in": {"v": "$$x"}}},
    {"$object": {"x": "$a", "n": {"deep": {"$size": "$b"}}, "k": {"$literal": {"$a": 1}}}},
]


def outcome(run: Any) -> tuple[Any, ...]:
    try:
        return ("value", repr(run()))
    except Fault as fault:
        return ("fault", fault.errCode, fault.reason, fault.path)
    except Exception as exc:  # noqa: BLE001 - a raw error must also be the same one
        return ("error", type(exc).__name__)


@pytest.mark.parametrize("raw", EXPRESSIONS, ids=[next(iter(e)) for e in EXPRESSIONS])
def test_compiled_matches_the_tree_for_mixed_types(raw):
    expression = parse(raw)
    compiled = expression.compiled()
    assert compiled is not expression.node.evaluate  # really generated code
    for a, b in itertools.product(VALUES, VALUES[::3]):
        doc = {"a": a, "b": b}
        tree = outcome(lambda: expression.node.evaluate(ExpressionContext(doc)))
        assert outcome(lambda: compiled(ExpressionContext(doc))) == tree, (raw, doc)
    assert outcome(lambda: compiled(ExpressionContext({}))) == outcome(lambda: expression.node.evaluate(ExpressionContext({})))


def test_budget_fault_names_the_same_node_as_the_tree():
    raw = {"$add": [1, {"$multiply": ["$n", 2]}, {"$cond": [{"$gt": ["$n", 1]}, {"$abs": -4}, 0]}]}
    expression = parse(raw)
    compiled = expression.compiled()
    for limit in range(1, 13):
        tree = outcome(lambda: expression.node.evaluate(ExpressionContext({"n": 3}, max_ops=limit)))
        assert outcome(lambda: compiled(ExpressionContext({"n": 3}, max_ops=limit))) == tree
    assert tree == ("value", "11")
    assert outcome(lambda: compiled(ExpressionContext({"n": 3}, max_ops=4))) == ("fault", "cortex.invalidArgument.tooLarge", "Expression evaluation exceeded 4 operations.", "$add.1.$multiply.1")


def test_elements_are_charged_as_they_are_made():
    expression = parse({"$map": {"input": {"$range": [0, 10, 1]}, "in": {"$add": ["$$this", 1]}}})
    ctx = ExpressionContext(max_ops=10_000)
    assert expression.compiled()(ctx) == list(range(1, 11))
    tree = ExpressionContext(max_ops=10_000)
    expression.node.evaluate(tree)
    assert ctx.ops == tree.ops > 30
    with pytest.raises(Fault) as caught:
        expression.compiled()(ExpressionContext(max_ops=30))
    assert caught.value.errCode == "cortex.invalidArgument.tooLarge"


def _nested(levels: int, inner: Any = 1) -> Any:
    for _ in range(levels):
        inner = {"$abs": inner}
    return inner


def test_depth_is_checked_only_where_evaluation_reaches():
    deep = parse(_nested(25))
    fault = outcome(lambda: deep.compiled()(ExpressionContext()))
    assert fault == outcome(lambda: deep.node.evaluate(ExpressionContext()))
    assert fault[2:] == ("Maximum expression depth (20) exceeded", ".".join(["$abs"] * 21))
    assert parse({"$cond": ["$deep", _nested(30), 2]}).compiled()(ExpressionContext({})) == 2
    assert parse(_nested(19)).compiled()(ExpressionContext()) == 1


def test_a_node_without_a_compiled_form_runs_through_evaluate(monkeypatch):
    class Twice(Operator):  # an operator written against the plain Operator interface
        def setup(self, parser: Parser, raw: Any) -> None:
            self.arg = self.single(parser, raw)

        def evaluate(self, ctx: ExpressionContext) -> Any:
            self.enter(ctx)
            return [self.arg.evaluate(ctx)] * 2

    monkeypatch.setitem(OPERATORS, "$twiceForTest", Twice)
    Twice.name = "$twiceForTest"
    expression = parse({"$concat": ["<", {"$toUpper": {"$arrayElemAt": [{"$twiceForTest": "$s"}, 1]}}, ">"]})
    assert expression.compiled()(ExpressionContext({"s": "ab"})) == "<AB>"

    class Flipped(Cond):  # overrides evaluate below a class that compiles: evaluate wins
        def evaluate(self, ctx: ExpressionContext) -> Any:
            self.enter(ctx)
            return self.other.evaluate(ctx)

    flipped = parse({"$add": [{"$cond": [True, 1, 2]}, 10]})
    flipped.node.args[0].__class__ = Flipped
    assert flipped.compiled()(ExpressionContext()) == 12


def test_source_python_cannot_compile_falls_back_to_the_tree():
    body: Any = "$$this"
    for _ in range(12):  # a loop and a try per $map: more nested blocks than Python allows
        body = {"$map": {"input": {"$literal": [1]}, "in": body}}
    assert compile_node(parse(body).node) is None
    expression = parse(body)
    assert expression.compiled() == expression.node.evaluate
    assert expression.evaluate() == _nested_list(13)


def test_a_very_large_expression_stays_a_tree():
    expression = parse({"$and": [{"$gte": ["$n", i]} for i in range(3_000)]})
    assert compile_node(expression.node) is None
    assert expression.compiled()(ExpressionContext({"n": 5_000})) is True
    assert expression.compiled()(ExpressionContext({"n": 5})) is False


def _nested_list(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels - 1):
        value = [value]
    return value


def test_evaluate_compiles_only_after_repeated_use():
    expression = parse({"$add": ["$n", 1]})
    for n in range(core._COMPILE_AFTER - 1):
        assert expression.evaluate({"n": n}) == n + 1
    assert expression._run is None
    assert expression.evaluate({"n": 1}) == 2
    assert expression._run is not None and expression._run != expression.node.evaluate


def test_evaluate_many_gives_each_root_its_own_budget_and_scopes():
    expression = parse({"$size": {"$range": [0, "$n", 1]}})
    assert expression.evaluate_many([{"n": 600_000}] * 3) == [600_000] * 3
    with pytest.raises(Fault):
        expression.evaluate_many([{"n": 1}, {"n": 2_000_000}])
    named = parse({"$concat": ["$$SCRIPT.type", "-", "$k"]})
    assert named.evaluate_many([{"k": "a"}, {"k": "b"}], {"$$SCRIPT": {"type": "t"}}) == ["t-a", "t-b"]


def test_a_reused_context_carries_nothing_between_evaluations():
    expression = Expression({"$ifNull": ["$$SCRIPT.type", {"$literal": "none"}]})
    for n in range(3 * core._COMPILE_AFTER):
        if n % 3:
            assert expression.evaluate({}) == "none"
        else:
            assert expression.evaluate({}, {"$$SCRIPT": {"type": n}}) == n
    failing = Expression({"$map": {"input": "$a", "in": {"$size": "$$this"}}})
    for _ in range(2 * core._COMPILE_AFTER):
        with pytest.raises(Fault):
            failing.evaluate({"a": [[1], 2]})
        assert failing.evaluate({"a": [[1]]}) == [1]
