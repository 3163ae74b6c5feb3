"""Library requires (fidelity.md §11): export names, lookup by export or script _id, faults,
cycles and ``org.scripts``."""

from __future__ import annotations

import pytest

from cortex_runtime.runtime import Runtime


@pytest.fixture
def world():
    runtime = Runtime()
    org, admin = runtime.orgs.create("requires")
    layer = runtime.layer(org, admin)

    def library(name: str, export: str, source: str):
        return layer.insert_one("script", {"label": name, "name": name, "type": "library", "script": source, "configuration": {"export": export}}, {"lean": False})

    def run(source: str):
        return runtime.run(source, org=org, principal=admin)

    return library, run


def test_export_is_trimmed_lower_cased_and_prefixed(world):
    library, run = world
    saved = library("c_a", "  Utils ", "module.exports = {name: 'utils'}")
    assert saved["configuration"]["export"] == "c_utils"
    assert library("c_n", "acme__Tools", "module.exports = 1")["configuration"]["export"] == "acme__tools"
    assert run("return require('c_utils').name").value == "utils"


def test_a_library_is_found_by_its_script_id(world):
    library, run = world
    saved = library("c_a", "c_utils", "module.exports = {name: 'by id'}")
    result = run(f"return require('{saved['_id']}').name")
    assert result.ok, result.fault
    assert result.value == "by id"


def test_a_missing_library_fault(world):
    _, run = world
    fault = run("require('c_nope')").fault
    assert (fault.errCode, fault.code, fault.status, fault.message, fault.path, fault.resource) == (
        "cortex.notFound.script", "kNotFound", 404, "Script not found.", "c_nope", "script#library.configuration.export(c_nope)",
    )


def test_require_needs_one_string_argument(world):
    _, run = world
    result = run("const out = []; for (const args of [[1], [], ['a', 'b']]) { try { require(...args) } catch (e) { out.push(e.message) } } return out")
    assert result.value == ["require expects a single string argument"] * 3


def test_cycles_do_not_loop(world):
    library, run = world
    library("c_a", "c_a", "exports.early = 'a'; const b = require('c_b'); exports.seenB = b.name; exports.name = 'a'")
    library("c_b", "c_b", "const a = require('c_a'); exports.name = 'b'; exports.aEarly = a.early; exports.aName = a.name")
    result = run("const a = require('c_a'); const b = require('c_b'); return [a.seenB, b.aEarly, b.aName === undefined, a.name]")
    assert result.ok, result.fault
    # CommonJS: c_b sees c_a's exports as far as c_a had filled them.
    assert result.value == ["b", "a", True, "a"]


def test_org_scripts(world):
    library, run = world
    library("c_a", "c_utils", "module.exports = {name: 'utils'}")
    result = run(
        """
        const same = org.scripts.c_utils === require('c_utils')
        try { org.scripts.nope } catch (e) { return [same, e instanceof Fault, e.message, e.errCode, e.reason, e.code, e.statusCode] }
        """
    )
    assert result.value == [True, False, "Resource not found", "script.notFound.unspecified", "library script (nope) not found.", "kError", 500]
    # The global org is {_id, code, object: 'org'} (fidelity.md §7, "org and org.configuration in scripts").
    assert run("return Object.keys(org)").value == ["_id", "code", "object"]
