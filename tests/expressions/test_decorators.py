"""``@expression`` and ``@pipeline`` in library scripts (expressions.md §7.4, decorators-expressions.md
§3.9): registered when the library is saved, overridden by weight against other libraries and
stored ``expression`` objects."""

from __future__ import annotations

import pytest

from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime

LIBRARY = """
const { expressions: { expression, pipeline } } = require('decorators')

class Named {
  @expression
  c_triple = { $multiply: ['$$ROOT', 3] }

  @expression('c_greet', { weight: 1, label: 'Greeting' })
  greeting = { $concat: ['hello ', '$name'] }

  @expression({ name: 'c_off', active: false })
  off = 1

  @expression({ name: 'c_prod_only', environment: 'production' })
  prod = 'prod'

  @pipeline
  c_big = [{ $match: { $gt: ['$$ROOT', 2] } }, { $project: { $multiply: ['$$ROOT', 10] } }]
}

module.exports = Named
"""


def deploy(runtime, org, admin, name, source):
    layer = runtime.layer(org, admin)
    return layer.insert_one("script", {"label": name, "name": name, "type": "library", "script": source, "configuration": {"export": name}}, {})


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("exprdeco")

    def run(source):
        result = runtime.run(source, org=org, principal=admin)
        assert result.fault is None, result.fault
        return result.value

    deploy(runtime, org, admin, "c_named_lib", LIBRARY)
    yield runtime, org, admin, run
    runtime.close()


def test_decorated_expressions_and_pipelines_are_registered(world):
    runtime, org, admin, run = world
    assert run("return require('expressions').run({$expression: {as: 7, in: 'c_triple'}})") == 21
    assert run("return require('expressions').run({$c_greet: {$object: {name: 'ann'}}})") == "hello ann"
    assert run("return require('expressions').runtime.pipeline.run('c_big', [1, 2, 3, 4])") == [30, 40]
    assert run("return require('expressions').pipeline.run([{$c_big: '$$ROOT'}], [5])") == [50]


def test_the_runtime_lists_them(world):
    runtime, org, admin, run = world
    listing = run("return org.read('runtime')")
    names = {e["name"]: e for e in listing["expressions"]}
    assert set(names) == {"c_triple", "c_greet", "c_prod_only"}  # an inactive entry is not registered
    assert names["c_greet"]["label"] == "Greeting" and names["c_greet"]["weight"] == 1
    assert names["c_triple"]["value"] == {"$multiply": ["$$ROOT", 3]} and names["c_triple"]["objectHash"]
    assert [e["name"] for e in listing["pipelines"]] == ["c_big"]


def test_inactive_and_other_environment_entries_are_missing(world):
    runtime, org, admin, run = world
    for name in ("c_off", "c_prod_only"):
        out = run("try { require('expressions').run({$expression: '%s'}) } catch (e) { return [e.errCode, e.reason] }" % name)
        assert out == ["cortex.notFound.unspecified", "Missing expression."]


def test_override_by_weight_against_libraries_and_stored_objects(world):
    runtime, org, admin, run = world
    runtime.store.contexts.insert_one({"org": org._id, "object": "expression", "name": "c_triple", "label": "T", "type": "expression", "expression": "stored", "weight": 0})
    runtime.store.contexts.insert_one({"org": org._id, "object": "expression", "name": "c_greet", "label": "G", "type": "expression", "expression": "stored greet", "weight": 2})
    deploy(runtime, org, admin, "c_other_lib", """
const { expressions: { expression } } = require('decorators')
class Other {
  @expression({ name: 'c_triple', weight: 0 })
  same = 'other library, same weight'
  @expression({ name: 'c_greet', weight: 5 })
  heavier = 'other library, heavier'
}
module.exports = Other
""")
    # equal weight: the first library's entry stays (and wins over the stored object)
    assert run("return require('expressions').run({$expression: {as: 2, in: 'c_triple'}})") == 6
    # strictly heavier: the second library (5) beats the first (1) and the stored object (2)
    assert run("return require('expressions').run({$expression: 'c_greet'})") == "other library, heavier"


def test_invalid_decorated_expressions_fail_the_save(world):
    runtime, org, admin, run = world
    bad = """
const { expressions: { expression } } = require('decorators')
class Bad {
  @expression
  c_bad = { $nosuchop: 1 }
}
module.exports = Bad
"""
    with pytest.raises(Fault) as err:
        deploy(runtime, org, admin, "c_bad_lib", bad)
    assert err.value.errCode == "cortex.invalidArgument.query" and "Unsupported operator $nosuchop" in err.value.reason
    computed = """
const { expressions: { expression } } = require('decorators')
const base = 2
class Computed {
  @expression
  c_computed = base
}
module.exports = Computed
"""
    with pytest.raises(Fault) as err:
        deploy(runtime, org, admin, "c_computed_lib", computed)
    assert "needs a JSON literal value" in err.value.reason
    method = """
const { expressions: { expression } } = require('decorators')
class Method {
  @expression
  c_method() { return 1 }
}
module.exports = Method
"""
    with pytest.raises(Fault) as err:
        deploy(runtime, org, admin, "c_method_lib", method)
    assert "decorates a class property" in err.value.reason


def test_the_library_still_loads_at_run_time(world):
    runtime, org, admin, run = world
    assert run("const Named = require('c_named_lib'); return new Named().c_triple") == {"$multiply": ["$$ROOT", 3]}
