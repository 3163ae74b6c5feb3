"""Stage expressions run compiled once a stage has evaluated them a few times: the results,
faults and budget are those of the tree. ``test_stages_more`` runs again here with every stage
expression compiled on its first evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from cortex_runtime.expressions import ExpressionContext, Pipeline, stages
from cortex_runtime.expressions.stages import StageExpression
from cortex_runtime.faults import Fault
from tests.expressions.test_stages_more import *  # noqa: F403 - the same tests, collected here with stages compiled

DOCS = [{"n": i % 20, "name": f"item{i}", "tags": ["a"] * (i % 5) if i % 7 else None, "grp": i % 3} for i in range(120)]


@pytest.fixture(autouse=True)
def compiled_on_first_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stages, "_COMPILE_AFTER", 1)


def expressions_of(pipeline: Pipeline) -> list[StageExpression]:
    found: list[StageExpression] = []
    for stage in pipeline.stages:
        for value in vars(stage).values():
            items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
            for item in items:
                parts = item if isinstance(item, tuple) else (item,)
                for part in parts:
                    if isinstance(part, StageExpression):
                        found.append(part)
                    elif part is not None and hasattr(part, "sets"):  # a $transform phase
                        found.extend(node for _, node in part.sets)
                        if part.body is not None:
                            found.append(part.body)
    return found


def outcome(raw: Any, docs: list[Any], monkeypatch: pytest.MonkeyPatch, after: int, max_ops: int | None = None) -> tuple[Any, Pipeline]:
    """The pipeline's output (or its fault as JSON) with stage expressions compiled after ``after`` calls."""
    monkeypatch.setattr(stages, "_COMPILE_AFTER", after)
    pipeline = Pipeline(raw)
    ctx = ExpressionContext(max_ops=max_ops) if max_ops is not None else None
    try:
        return list(pipeline.run(docs, ctx=ctx)), pipeline
    except Fault as fault:
        return fault.to_json(), pipeline


def same_as_tree(raw: Any, monkeypatch: pytest.MonkeyPatch, docs: list[Any] = DOCS, max_ops: int | None = None) -> Any:
    tree, tree_pipeline = outcome(raw, docs, monkeypatch, 10**9, max_ops)
    compiled, compiled_pipeline = outcome(raw, docs, monkeypatch, 1, max_ops)
    assert compiled == tree
    assert all(e.run is None for e in expressions_of(tree_pipeline))
    ran = [e for e in expressions_of(compiled_pipeline) if e.run is not None]
    assert ran and all(e.run is not e.node.evaluate for e in ran), "every stage expression that ran is compiled"
    return tree


MATCH = {"$and": [{"$gte": ["$n", 10]}, {"$lt": [{"$size": {"$ifNull": ["$tags", {"$literal": []}]}}, 3]}]}


def test_match_then_project_is_the_tree_result_and_plain_python(monkeypatch: pytest.MonkeyPatch):
    raw = [{"$match": MATCH}, {"$project": {"name": {"$toUpper": "$name"}, "double": {"$multiply": ["$n", 2]}}}]
    expected = [{"name": d["name"].upper(), "double": d["n"] * 2} for d in DOCS if d["n"] >= 10 and len(d["tags"] or []) < 3]
    assert same_as_tree(raw, monkeypatch) == expected


def test_set_unset_unwind_limit_skip_and_count(monkeypatch: pytest.MonkeyPatch):
    raw = [
        {"$set": {"label": {"$concat": ["$name", "-", {"$toString": "$n"}]}, "big": {"$gt": ["$n", 15]}}},
        {"$unset": "grp"},
        {"$unwind": {"path": "$tags", "includeArrayIndex": "i"}},
        {"$skip": 3},
        {"$project": {"label": "$label", "big": "$big", "i": "$i"}},
        {"$limit": 50},
    ]
    out = same_as_tree(raw, monkeypatch)
    assert len(out) == 50 and out[0] == {"label": "item3-3", "big": False, "i": 0}
    assert same_as_tree([{"$match": {"$eq": ["$grp", 1]}}, {"$count": "total"}], monkeypatch) == [{"total": 40}]


def test_group_keys_and_accumulators(monkeypatch: pytest.MonkeyPatch):
    raw = [{"$group": {
        "_id": {"g": "$grp", "big": {"$gte": ["$n", 10]}},
        "total": {"$sum": "$n"}, "avg": {"$avg": "$n"}, "names": {"$push": "$name"}, "most": {"$max": "$n"},
        "least": {"$min": "$n"}, "first": {"$first": "$name"}, "last": {"$last": "$name"}, "seen": {"$addToSet": "$n"},
        "count": {"$count": "$n"}, "merged": {"$mergeObjects": {"$object": {"k": "$n"}}},
    }}]
    out = same_as_tree(raw, monkeypatch)
    assert len(out) == 6
    zero = next(g for g in out if g["_id"] == {"g": 0, "big": False})
    assert zero["total"] == sum(d["n"] for d in DOCS if d["grp"] == 0 and d["n"] < 10)
    assert same_as_tree([{"$group": {"_id": None, "n": {"$sum": 1}}}], monkeypatch) == [{"n": 120}]


def test_transform_keeps_its_state_across_documents(monkeypatch: pytest.MonkeyPatch):
    raw = [{"$transform": {
        "vars": {"total": 0},
        "each": {"set": {"total": {"$add": ["$$total", "$n"]}}, "in": {"$cond": [{"$eq": [{"$mod": ["$n", 10]}, 0]}, "$$total", "$$REMOVE"]}},
        "after": {"in": {"$object": {"total": "$$total"}}},
    }}]
    out = same_as_tree(raw, monkeypatch)
    assert out[-1] == {"total": sum(d["n"] for d in DOCS)} and len(out) == 13


def test_pipeline_stage_as_var_stage_and_let(monkeypatch: pytest.MonkeyPatch):
    raw = [
        {"$var": "doc"},
        {"$pipeline": {"as": {"v": "$n", "twice": {"$let": {"vars": {"x": {"$multiply": ["$n", 2]}}, "in": "$$x"}}}, "in": [{"$match": {"$gt": ["$v", 17]}}]}},
        {"$project": {"twice": "$twice", "name": "$$doc.name", "via": "$$VAR.doc.grp"}},
    ]
    out = same_as_tree(raw, monkeypatch)
    assert out[0] == {"twice": 36, "name": "item18", "via": 0} and len(out) == 12


def test_cursor_variables_and_close(monkeypatch: pytest.MonkeyPatch):
    raw = [{"$project": {"at": "$$CURSOR.position", "more": "$$CURSOR.hasNext"}}]
    out = same_as_tree(raw, monkeypatch)
    assert out[0] == {"at": 1, "more": True} and out[-1] == {"at": 120, "more": False}
    closing = [{"$match": {"$cond": [{"$gte": ["$$CURSOR.position", 40]}, {"$or": ["$$CLOSE", True]}, True]}}]
    assert len(same_as_tree(closing, monkeypatch)) == 40


def test_a_fault_in_a_late_document_is_the_trees(monkeypatch: pytest.MonkeyPatch):
    docs = [{"n": i} for i in range(60)] + [{"n": "x"}]
    fault = same_as_tree([{"$project": {"v": {"$divide": [100, {"$subtract": ["$n", 59]}]}}}], monkeypatch, docs)
    assert fault["object"] == "fault"
    fault = same_as_tree([{"$match": {"$gt": [{"$size": "$n"}, 1]}}], monkeypatch, [{"n": [1, 2]}] * 40 + [{"n": "x"}])
    assert fault["reason"] == "$size expects an Array" and fault["path"] == "pipeline.0.$match.$gt.0.$size"


def test_the_budget_runs_out_at_the_same_node(monkeypatch: pytest.MonkeyPatch):
    raw = [{"$match": MATCH}, {"$project": {"name": {"$toUpper": "$name"}}}]
    for budget in (150, 601, 777):  # the whole run takes about 1,300
        fault = same_as_tree(raw, monkeypatch, max_ops=budget)
        assert fault["errCode"] == "cortex.invalidArgument.tooLarge"
        assert "operations" in fault["reason"]


def test_a_stage_compiles_only_after_a_few_evaluations(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(stages, "_COMPILE_AFTER", 32)
    pipeline = Pipeline([{"$match": {"$gt": ["$n", 5]}}])
    assert len(list(pipeline.run(DOCS[:20]))) == 14
    cond = pipeline.stages[0].cond
    assert cond.run is None and cond.calls == 20
    assert len(list(pipeline.run(DOCS[20:40]))) == 14  # counted over runs: compiled on the 32nd
    assert cond.run is not None and cond.run is not cond.node.evaluate


def test_a_tree_that_does_not_compile_stays_a_tree(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(stages, "compile_node", lambda node: None)
    pipeline = Pipeline([{"$match": MATCH}, {"$project": {"n": "$n"}}])
    out = list(pipeline.run(DOCS))
    assert out == [{"n": d["n"]} for d in DOCS if d["n"] >= 10 and len(d["tags"] or []) < 3]
    assert pipeline.stages[0].cond.run == pipeline.stages[0].cond.node.evaluate
