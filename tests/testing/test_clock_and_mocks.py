"""The test clock drives cron jobs and timers; http.mock answers callouts and records them.
The environment here is a deploy.json folder (the example app is mdctl's layout)."""

from __future__ import annotations

import json

import pytest

from .conftest import by_title, run_js, write_files

DEPLOY = [
    {"file": "tick.js", "label": "Tick", "name": "c_tick", "type": "job", "configuration": {"cron": "0 * * * *"}},
    {"file": "later.js", "label": "Later", "name": "c_later", "type": "job", "configuration": {"cron": "30 2 * * *"}},
    {"file": "lookup.js", "label": "Lookup", "name": "c_lookup", "type": "library", "configuration": {"export": "c_lookup"}},
]


@pytest.fixture
def env(tmp_path):
    return write_files(tmp_path / "env", {
        "deploy.json": json.dumps(DEPLOY),
        "tick.js": "require('cache').set('ticks', (require('cache').get('ticks') || 0) + 1)\n",
        "later.js": "require('cache').set('later', (require('cache').get('ticks') || 0))\n",
        "lookup.js": (
            "module.exports = function (sku) {\n"
            "  const res = require('http').get('https://inventory.example.com/items/' + sku, { headers: { 'x-key': 'k1' } })\n"
            "  return JSON.parse(res.body).stock\n"
            "}\n"
        ),
    })


def test_an_hourly_job_runs_24_times_in_24_hours_and_in_order_with_others(harness_sandbox, tmp_path, env):
    tests = write_files(tmp_path / "t", {"clock.test.js": """
const assert = require('assert')
const { clock } = require('cortex-test')
const cache = require('cache')
describe('clock', function () {
  it('runs the hourly job once per hour', function () {
    const start = clock.now().getTime()
    clock.advance('24h')
    assert.strictEqual(cache.get('ticks'), 24)
    assert.strictEqual(clock.now().getTime() - start, 24 * 3600 * 1000)
  })
  it('runs jobs in time order: 02:30 comes after the 02:00 tick', function () {
    // The clock is now at 00:00 of the next day.
    cache.set('ticks', 0)
    clock.advance('3h')
    assert.strictEqual(cache.get('later'), 2)  // the 01:00 and 02:00 ticks ran before it
    assert.strictEqual(cache.get('ticks'), 3)
  })
  it('refuses a duration it cannot read', function () {
    assert.throws(() => clock.advance('soon'), { errCode: 'cortex.invalidArgument.unspecified' })
    assert.throws(() => clock.advance(-5), { errCode: 'cortex.invalidArgument.unspecified' })
  })
})
"""})
    outcomes = by_title(run_js(harness_sandbox, tests, env))
    assert {t: (o.state, o.error and o.error.get("message")) for t, o in outcomes.items()} == {
        "clock runs the hourly job once per hour": ("passed", None),
        "clock runs jobs in time order: 02:30 comes after the 02:00 tick": ("passed", None),
        "clock refuses a duration it cannot read": ("passed", None),
    }


def test_a_timeout_fires_when_the_clock_passes_it(harness_sandbox, tmp_path):
    tests = write_files(tmp_path / "t", {"timers.test.js": """
const assert = require('assert')
const { clock } = require('cortex-test')
it('fires timers at their due time, between jobs, and not before', function () {
  const seen = []
  const start = clock.now().getTime()
  setTimeout(() => seen.push(['a', clock.now().getTime() - start]), 5000)
  setTimeout(() => seen.push(['b', clock.now().getTime() - start]), 2000)
  const cancelled = setTimeout(() => seen.push(['never']), 3000)
  clearTimeout(cancelled)
  clock.advance(1999)
  assert.deepStrictEqual(seen, [])
  clock.advance('10s')
  assert.deepStrictEqual(seen, [['b', 2000], ['a', 5000]])
})
it('leaves no timer of an earlier test behind', function () {
  let fired = false
  clock.advance('1h')
  assert.strictEqual(fired, false)
})
"""})
    outcomes = by_title(run_js(harness_sandbox, tests))
    assert {t: o.state for t, o in outcomes.items()} == {
        "fires timers at their due time, between jobs, and not before": "passed",
        "leaves no timer of an earlier test behind": "passed",
    }, [o.error for o in outcomes.values()]


def test_http_mock_answers_a_callout_and_records_the_request(harness_sandbox, tmp_path, env):
    tests = write_files(tmp_path / "t", {"http.test.js": """
const assert = require('assert')
const { http } = require('cortex-test')
const lookup = require('c_lookup')
describe('callouts', function () {
  it('are answered by the mock and recorded', function () {
    http.mock('https://inventory.example.com/items/*', { statusCode: 200, body: { stock: 7 } })
    assert.strictEqual(lookup('sku-1'), 7)
    const [request] = http.requests()
    assert.strictEqual(request.method, 'GET')
    assert.strictEqual(request.url, 'https://inventory.example.com/items/sku-1')
    assert.strictEqual(request.headers['x-key'], 'k1')
  })
  it('never reach the network without a mock', function () {
    assert.throws(() => require('http').get('https://elsewhere.example.com/'), (e) => e.errCode === 'cortex.notFound.unspecified' && /No http.mock answers GET/.test(e.reason))
  })
  it('match a RegExp, the latest mock first', function () {
    http.mock(/inventory\\.example\\.com\\/items\\/sku-9$/, { statusCode: 200, body: '{"stock": 0}' })
    assert.strictEqual(lookup('sku-9'), 0)
    assert.strictEqual(lookup('sku-2'), 7)
  })
})
"""})
    outcomes = by_title(run_js(harness_sandbox, tests, env))
    assert {t: (o.state, o.error and o.error.get("message")) for t, o in outcomes.items()} == {
        "callouts are answered by the mock and recorded": ("passed", None),
        "callouts never reach the network without a mock": ("passed", None),
        "callouts match a RegExp, the latest mock first": ("passed", None),
    }


def test_a_failing_assertion_is_reported_with_its_line(harness_sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tests = write_files(tmp_path / "t", {"fail.test.js": "const assert = require('assert')\n\nit('compares', function () {\n  assert.strictEqual(1 + 1, 3)\n})\n"})
    (outcome,) = by_title(run_js(harness_sandbox, tests)).values()
    assert outcome.state == "failed"
    assert outcome.at == "t/fail.test.js:4"
    assert outcome.error["message"] == "Expected values to be strictly equal: 2 !== 3"
    assert outcome.script_at is None
