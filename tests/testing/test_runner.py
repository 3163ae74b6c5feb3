"""The runner: independent files (any order, -j 2 processes), exit codes, --grep, --seed,
principals, hooks and the CLI subcommand."""

from __future__ import annotations

import json

import pytest

from cortex_runtime.cli import main
from cortex_runtime.testing.runner import discover

from .conftest import EXAMPLE_APP, by_title, run_js, write_files

# Each file writes tickets and checks it sees only its own.
WRITER = """
const assert = require('assert')
describe('FILE', function () {
  it('sees only its own data', function () {
    assert.strictEqual(org.objects.c_tickets.find().count(), 0)
    org.objects.c_tickets.insertOne({ c_title: 'written by FILE' }).execute()
    org.objects.c_tickets.insertOne({ c_title: 'also by FILE' }).execute()
    assert.deepStrictEqual(org.objects.c_tickets.find().map(t => t.c_title).sort(), ['also by FILE', 'written by FILE'])
    assert.strictEqual(org.objects.accounts.find().count(), 1)
  })
  it('keeps its data for its later tests', function () {
    assert.strictEqual(org.objects.c_tickets.find().count(), 2)
  })
})
"""


@pytest.fixture
def writers(tmp_path):
    return write_files(tmp_path / "t", {f"{name}.test.js": WRITER.replace("FILE", name) for name in ("alpha", "beta", "gamma")})


def _states(results):
    return {t: o.state for t, o in by_title(results).items()}


def test_files_are_independent_in_any_order(harness_sandbox, writers):
    from cortex_runtime.testing.runner import run_paths

    files = discover([writers])
    forward = run_paths(files, EXAMPLE_APP, sandbox=harness_sandbox)
    backward = run_paths(list(reversed(files)), EXAMPLE_APP, sandbox=harness_sandbox)
    for results in (forward, backward):
        assert set(_states(results).values()) == {"passed"}, [o.error for r in results for o in r.outcomes]
        assert len(_states(results)) == 6


def test_files_are_independent_in_two_processes(writers):
    from cortex_runtime.testing.runner import run_paths

    results = run_paths(discover([writers]), EXAMPLE_APP, jobs=2)
    assert [r.file.rsplit("/", 1)[-1] for r in results] == ["alpha.test.js", "beta.test.js", "gamma.test.js"]
    assert set(_states(results).values()) == {"passed"}, [o.error for r in results for o in r.outcomes]


def test_hooks_run_in_mocha_order_and_async_tests_are_awaited(harness_sandbox, tmp_path):
    tests = write_files(tmp_path / "t", {"hooks.test.js": """
const assert = require('assert')
const seen = []
describe('outer', function () {
  before(() => seen.push('before'))
  beforeEach(() => seen.push('each'))
  afterEach(() => seen.push('after each'))
  after(() => seen.push('after'))
  it('one', async function () { await Promise.resolve(); seen.push('one') })
  it('two', function (done) { setImmediate(() => { seen.push('two'); done() }) })
  describe('inner', function () {
    beforeEach(() => seen.push('inner each'))
    it('three', function () { return Promise.resolve().then(() => seen.push('three')) })
  })
})
it('sees the order', function () {
  assert.deepStrictEqual(seen, ['before', 'each', 'one', 'after each', 'each', 'two', 'after each',
    'each', 'inner each', 'three', 'after each', 'after'])
})
it('reports a rejected promise', async function () { await Promise.reject(new Error('nope')) })
it('reports done(err)', function (done) { done(new Error('told so')) })
"""})
    outcomes = by_title(run_js(harness_sandbox, tests))
    assert {t: o.state for t, o in outcomes.items()} == {
        "outer one": "passed", "outer two": "passed", "outer inner three": "passed", "sees the order": "passed",
        "reports a rejected promise": "failed", "reports done(err)": "failed",
    }, outcomes["sees the order"].error
    assert outcomes["reports a rejected promise"].error["message"] == "nope"
    assert outcomes["reports done(err)"].error["message"] == "told so"


def test_tests_run_as_the_administrator_or_the_principal_they_name(harness_sandbox, tmp_path):
    tests = write_files(tmp_path / "t", {"who.test.js": """
const assert = require('assert')
const test = require('cortex-test')
before(() => test.accounts.create({ email: 'agent@example.com', roles: ['c_agent'] }))
it('is the administrator by default', function () {
  assert.strictEqual(org.objects.c_tickets.find().count(), 0)
  org.objects.c_tickets.insertOne({ c_title: 'by the admin' }).execute()
  const [ticket] = org.objects.c_tickets.find().toArray()
  assert.strictEqual(ticket.owner._id.toString(), script.principal._id.toString())
})
it('runs as a named principal', { principal: 'agent@example.com' }, function () {
  const id = org.objects.c_tickets.insertOne({ c_title: 'by the agent' }).execute()
  const owner = org.objects.c_tickets.find({ _id: id }).next().owner._id.toString()
  assert.strictEqual(org.objects.accounts.find({ _id: owner }).next().email, 'agent@example.com')
})
it('switches with as()', async function () {
  const count = await test.as('agent@example.com', async () => org.objects.c_tickets.find().toArray().filter(t => t.c_title === 'by the agent').length)
  assert.strictEqual(count, 1)
})
it('refuses an unknown principal', { principal: 'nobody@example.com' }, function () {})
"""})
    outcomes = by_title(run_js(harness_sandbox, tests, EXAMPLE_APP))
    assert {t: o.state for t, o in outcomes.items()} == {
        "is the administrator by default": "passed",
        "runs as a named principal": "passed",
        "switches with as()": "passed",
        "refuses an unknown principal": "failed",
    }, [o.error for o in outcomes.values()]
    assert outcomes["refuses an unknown principal"].error["errCode"].startswith("cortex.notFound")


def test_grep_selects_tests_by_full_title(harness_sandbox, writers):
    results = run_js(harness_sandbox, writers, EXAMPLE_APP, grep="beta sees")
    assert list(_states(results)) == ["beta sees only its own data"]


def test_a_seed_repeats_random_values(harness_sandbox, tmp_path):
    tests = write_files(tmp_path / "t", {"r.test.js": "const t = require('cortex-test')\nit('draws', function () { throw new Error(String([t.random(), Math.random(), Math.floor(2.5)])) })\n"})

    def draws(seed):
        (outcome,) = by_title(run_js(harness_sandbox, tests, seed=seed)).values()
        return outcome.error["message"]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert draws(7).endswith(",2")
    assert draws(None) != draws(None)  # unseeded: Math.random is the engine's own


def _cli(capsys, *argv):
    code = main(["test", *argv])
    return code, capsys.readouterr()


def test_cli_exit_codes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path / "ok", {"ok.test.js": "it('passes', function () {})\n"})
    write_files(tmp_path / "bad", {"bad.test.js": "it('fails', function () { throw new Error('no') })\n"})
    write_files(tmp_path / "broken", {"broken.test.js": "it('x', function () {})\n\nconst = 1\n"})
    write_files(tmp_path / "throws", {"throws.test.js": "\ndescribe('d', function () {\n  null.x\n})\n"})
    write_files(tmp_path / "env", {"deploy.json": json.dumps([{"file": "s.js", "label": "S", "name": "c_s", "type": "route", "configuration": {"path": "s"}}]), "s.js": "return (\n"})

    code, out = _cli(capsys, "ok")
    assert code == 0 and "1 passed, 0 failed" in out.out
    code, out = _cli(capsys, "bad", "--junit", str(tmp_path / "j.xml"))
    assert code == 1 and "1) fails" in out.out and "at bad/bad.test.js:1" in out.out
    assert (tmp_path / "j.xml").is_file()
    code, out = _cli(capsys, "broken")
    assert code == 2 and "broken/broken.test.js:3" in out.out
    code, out = _cli(capsys, "throws")
    assert code == 2 and "throws/throws.test.js:3" in out.out
    code, out = _cli(capsys, "ok", "--env", "env")
    assert code == 2 and "environment did not deploy" in out.out
    write_files(tmp_path / "env2", {"deploy.json": json.dumps([{"label": "no file", "name": "c_x", "type": "route"}])})
    code, out = _cli(capsys, "ok", "--env", "env2")
    assert code == 2 and "environment did not deploy: KeyError" in out.out
    code, out = _cli(capsys, "missing")
    assert code == 2 and "missing does not exist" in out.err
    code, out = _cli(capsys, "ok", "--grep", "(")
    assert code == 2


def test_cli_finds_test_and_tests_folders_by_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, {"test/a.test.js": "it('a', function () {})\n", "tests/sub/b.test.js": "it('b', function () {})\n", "tests/not-a-test.js": "x"})
    code, out = _cli(capsys)
    assert code == 0 and "2 passed, 0 failed in 2 file(s)" in out.out


def test_a_test_that_never_ends_fails_by_name_and_the_run_stops(harness_sandbox, tmp_path, monkeypatch):
    from cortex_runtime.testing import runner

    monkeypatch.setattr(runner, "TEST_LIMITS", runner.TEST_LIMITS.with_overrides(max_ops=2_000_000))
    never = write_files(tmp_path / "never", {"n.test.js": "it('first', function () {})\nit('never calls done', function (done) {})\nit('later', function () {})\n"})
    loops = write_files(tmp_path / "loops", {"l.test.js": "describe('d', function () {\n  it('loops', function () {\n    for (;;) {}\n  })\n})\n"})
    outcomes = by_title(run_js(harness_sandbox, never))
    assert {t: o.state for t, o in outcomes.items()} == {"first": "passed", "never calls done": "failed"}
    assert "never settled" in outcomes["never calls done"].error["message"]
    assert outcomes["never calls done"].at.endswith("n.test.js:2")
    (looped,) = by_title(run_js(harness_sandbox, loops)).values()
    assert (looped.full_title, looped.state, looped.error["errCode"]) == ("d loops", "failed", "script.error.ops")
