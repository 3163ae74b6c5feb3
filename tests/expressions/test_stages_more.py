"""The ``$transform`` and ``$var`` stages (engine spec §6.11, §6.12)."""

from __future__ import annotations

import pytest

from cortex_runtime.expressions import Pipeline
from cortex_runtime.faults import Fault


def run(stages, items):
    return list(Pipeline(stages).run(items))


def reason_of(stages, items=()) -> str:
    with pytest.raises(Fault) as err:
        run(stages, list(items))
    return str(err.value.reason)


# ---- $transform ------------------------------------------------------------------------------


def test_transform_running_total_with_before_each_after():
    stages = [{"$transform": {
        "vars": {"total": 0, "count": 0},
        "before": {"in": {"$literal": "start"}},
        "each": {"set": {"total": {"$add": ["$$total", "$n"]}, "count": {"$add": ["$$count", 1]}}, "in": {"$object": {"n": "$n", "sum": "$$total"}}},
        "after": {"in": {"$object": {"total": "$$total", "count": "$$count"}}},
    }}]
    assert run(stages, [{"n": 1}, {"n": 2}, {"n": 4}]) == ["start", {"n": 1, "sum": 1}, {"n": 2, "sum": 3}, {"n": 4, "sum": 7}, {"total": 7, "count": 3}]


def test_transform_set_is_sequential_and_each_without_in_passes_elements():
    stages = [{"$transform": {"vars": {"a": 0, "b": 0}, "each": {"set": {"a": "$n", "b": {"$multiply": ["$$a", 10]}}}, "after": {"in": "$$b"}}}]
    assert run(stages, [{"n": 1}, {"n": 2}]) == [{"n": 1}, {"n": 2}, 20]


def test_transform_undefined_in_emits_nothing_and_vars_see_earlier_vars():
    stages = [{"$transform": {"vars": {"a": 2, "b": {"$add": ["$$a", 1]}}, "each": {"in": {"$cond": [{"$gt": ["$$ROOT", "$$b"]}, "$$ROOT", "$$REMOVE"]}}}}]
    assert run(stages, [1, 3, 4, 5]) == [4, 5]


def test_transform_on_empty_input_and_root_is_undefined_outside_each():
    stages = [{"$transform": {"vars": {"seen": "$$ROOT"}, "before": {"in": {"$ifNull": ["$$ROOT", "none"]}}, "after": {"in": {"$ifNull": ["$$seen", "none"]}}}}]
    assert run(stages, []) == ["none", "none"]


def test_transform_variables_are_not_visible_to_later_stages():
    with pytest.raises(Fault) as err:
        Pipeline([{"$transform": {"vars": {"t": 0}, "each": {"in": "$$t"}}}, {"$project": "$$t"}])
    assert err.value.reason == "User variable t not found."


def test_transform_faults():
    assert reason_of([{"$transform": 1}]) == "Stage $transform expects an object."
    assert reason_of([{"$transform": {"vars": {"a": 1}}}]) == "Stage $transform expects an object with properties."
    assert reason_of([{"$transform": {"each": 1}}]) == "Operator $transform expects an object."
    assert reason_of([{"$transform": {"vars": 3, "each": {}}}]) == "Operator ExpressionRules expects an object."
    assert reason_of([{"$transform": {"vars": {"ROOT": 1}, "each": {}}}]) == "Operator ExpressionRules user variable cannot be a system variable (ROOT)."
    assert reason_of([{"$transform": {"vars": {"a": 1}, "each": {"set": {"b": 1}}}}]) == "User variable b not found in $transform."
    assert reason_of([{"$transform": None}]) == "$transform stage is empty"
    with pytest.raises(Fault) as err:
        run([{"$transform": {"each": {"in": {"$throw": "cortex.accessDenied.unspecified"}}}}], [1])
    assert err.value.errCode == "cortex.accessDenied.unspecified"


# ---- $var --------------------------------------------------------------------------------------


def test_var_keeps_the_current_element_for_later_stages():
    stages = [{"$var": "doc"}, {"$project": {"$object": {"v": "$$doc.v", "same": {"$eq": ["$$doc", "$$ROOT"]}, "dyn": "$$VAR.doc.v"}}}]
    assert run(stages, [{"v": 1}, {"v": 2}]) == [{"v": 1, "same": True, "dyn": 1}, {"v": 2, "same": True, "dyn": 2}]


def test_var_passes_elements_on_unchanged_and_holds_the_flowing_element():
    stages = [{"$project": {"$object": {"n": "$$ROOT"}}}, {"$var": "first"}, {"$project": {"$add": ["$$first.n", "$n"]}}]
    assert run(stages, [1, 2, 3]) == [2, 4, 6]


def test_var_with_missing_values():
    assert run([{"$var": "x"}, {"$project": {"$ifNull": ["$$x.nothing", "none"]}}], [{}, None]) == ["none", "none"]
    assert run([{"$project": {"$ifNull": ["$$VAR.never", "unset"]}}], [1]) == ["unset"]


def test_var_is_visible_only_to_later_stages_and_faults():
    with pytest.raises(Fault) as err:
        Pipeline([{"$project": "$$x"}, {"$var": "x"}])
    assert err.value.reason == "User variable x not found."
    assert reason_of([{"$var": 5}]) == "Stage $var user variable must be a string."
    assert reason_of([{"$var": "a.b"}]) == "Stage $var user variable cannot contain $ and must have length."
    assert reason_of([{"$var": "CURSOR"}]) == "Stage $var user variable cannot be a system variable (CURSOR)."
    assert reason_of([{"$var": None}]) == "$var stage is empty"
