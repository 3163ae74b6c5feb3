"""JUnit XML (checked against a JUnit schema written from the common layout) and coverage."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from lxml import etree

from cortex_runtime.testing.coverage import coverage_table, lcov, merge_coverage, write_coverage
from cortex_runtime.testing.junit import write_junit

from .conftest import EXAMPLE_APP, run_js, write_files

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))

MIXED = """
const assert = require('assert')
describe('mixed', function () {
  it('passes', function () {})
  it('fails', function () { assert.strictEqual('a', 'b') })
  it.skip('waits', function () {})
})
"""


def test_junit_xml_validates_and_holds_each_outcome(harness_sandbox, tmp_path):
    tests = write_files(tmp_path / "t", {"a.test.js": MIXED, "b.test.js": "it('(', function () {\n  syntax error here\n})\n"})
    results = run_js(harness_sandbox, tests)
    path = tmp_path / "out" / "junit.xml"
    write_junit(results, path)

    document = etree.parse(str(path))
    SCHEMA.assertValid(document)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("4", "1", "1", "1")
    first, second = root.findall("testsuite")
    assert first.get("name").endswith("a.test.js")
    assert [c.get("name") for c in first.findall("testcase")] == ["mixed passes", "mixed fails", "mixed waits"]
    failure = first.find("testcase[@name='mixed fails']/failure")
    assert failure.get("message") == "Expected values to be strictly equal: \"a\" !== \"b\""
    assert failure.get("type") == "AssertionError"
    assert "a.test.js:5" in failure.text
    assert first.find("testcase[@name='mixed waits']/skipped") is not None
    error = second.find("testcase/error")
    assert error.get("type") == "LoadError" and "b.test.js:2" in error.get("message")


def test_the_schema_refuses_what_ci_tools_would_not_read():
    broken = etree.fromstring(b"<testsuites><testsuite name='x' tests='1'><testcase name='t'/></testsuite></testsuites>")
    assert not SCHEMA.validate(broken)


def test_coverage_lists_each_deployed_script_with_hit_and_missed_lines(harness_sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLE_APP)
    tests = write_files(tmp_path / "t", {"one.test.js": """
const assert = require('assert')
it('creates a low-priority ticket', function () {
  org.objects.c_tickets.insertOne({ c_title: 'Typo on a page' }).execute()
})
"""})
    results = run_js(harness_sandbox, tests, EXAMPLE_APP, coverage=True)
    assert results[0].outcomes[0].state == "passed"
    merged = merge_coverage([r.coverage for r in results])
    assert sorted(merged) == [
        "env/scripts/js/job.c_ticket_sweep.js",
        "env/scripts/js/library.c_ticket_lib.js",
        "env/scripts/js/route.c_open_tickets.js",
        "env/scripts/js/trigger.c_ticket_after_create.js",
        "env/scripts/js/trigger.c_ticket_before_create.js",
    ]
    trigger = merged["env/scripts/js/trigger.c_ticket_before_create.js"]
    assert trigger["lines"] == [2, 4, 5, 6, 8, 9, 10, 11]
    assert all(trigger["hits"].get(line) == 1 for line in trigger["lines"])
    library = merged["env/scripts/js/library.c_ticket_lib.js"]
    # defaultPriority and slaHours ran (a priority-2 ticket: slaHours' `return 72` branch is on its line),
    # isUrgent did not.
    assert library["hits"].get(7) == 1 and library["hits"].get(8) == 1 and library["hits"].get(18) == 1
    assert not library["hits"].get(13)
    job = merged["env/scripts/js/job.c_ticket_sweep.js"]
    assert job["lines"] and not any(job["hits"].values())

    table = coverage_table(merged)
    assert "env/scripts/js/job.c_ticket_sweep.js" in table and "0%" in table and "100%" in table
    info = lcov(merged)
    assert "SF:env/scripts/js/trigger.c_ticket_before_create.js\nDA:2,1\n" in info
    assert info.count("end_of_record") == 5
    write_coverage(merged, tmp_path / "coverage.xml")
    cobertura = ET.parse(tmp_path / "coverage.xml").getroot()
    assert cobertura.tag == "coverage"
    classes = {c.get("filename"): c for c in cobertura.iter("class")}
    assert classes["env/scripts/js/job.c_ticket_sweep.js"].get("line-rate") == "0.0000"
    assert classes["env/scripts/js/trigger.c_ticket_before_create.js"].get("line-rate") == "1.0000"


def test_coverage_is_off_unless_asked(harness_sandbox, tmp_path):
    tests = write_files(tmp_path / "t", {"one.test.js": "it('runs', function () {})\n"})
    results = run_js(harness_sandbox, tests, EXAMPLE_APP)
    assert results[0].coverage is None
    assert harness_sandbox.compiler.coverage is None
