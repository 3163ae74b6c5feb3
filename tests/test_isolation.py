"""Hostile scripts: none reaches the host, none affects the next run, none breaks the host."""

from __future__ import annotations

import json

import pytest

from cortex_runtime import Sandbox, limits_for

from .hosts import FaultyModule

# Run after every hostile script in the same Sandbox (and thread): the environment is pristine.
PROBE = """
const pristine = {
  objectProto: Object.getOwnPropertyNames(Object.prototype).sort().join(','),
  arrayPush: [1].push(2) === 2 && Array.prototype.push.toString().includes('[native code]'),
  json: JSON.stringify({a: [1]}) === '{"a":[1]}' && JSON.parse('[1]')[0] === 1,
  polluted: ({}).polluted === undefined && ({}).toJSON === undefined,
  errorName: new Error('x').name,
  dateNow: typeof Date.now() === 'number',
  consoleLog: typeof console.log,
  hostName: typeof globalThis['__cx_' + 'host_call'],
};
console.log('probe');
return pristine;
"""


# Both engines: in this process, and in an engine process (what serve uses).
@pytest.fixture(scope="module", params=["inline", "process"])
def hostile_sandbox(request):
    sb = Sandbox(host_api=FaultyModule(), engine=request.param)
    sb.prepare()
    yield sb
    sb.release()


@pytest.fixture(scope="module")
def baseline(hostile_sandbox) -> dict:
    result = hostile_sandbox.run(PROBE)
    assert result.ok, result.fault
    assert result.value["hostName"] == "undefined"
    return result.value


HOSTILE = {
    "function-constructor-chain": "return this === undefined ? [].constructor.constructor('return globalThis')() : 0",
    "arrow-constructor": "return (() => 0).constructor('return 1')()",
    "async-generator-constructor": "return Object.getPrototypeOf(async function* () {}).constructor('yield 1')",
    "reflect-construct": "return Reflect.construct(Object.getPrototypeOf(function () {}).constructor, ['return 1'])()",
    "global-eval": "return globalThis.eval('1 + 1')",
    "dynamic-import": "return import('fs')",
    "require-node-builtins": "return ['fs', 'child_process', 'os', 'process', 'net'].map(n => { try { require(n); return 'loaded ' + n } catch (e) { return e.code } })",
    "require-paths": "return ['../../../etc/passwd', '/etc/passwd', 'c_../../x', 'lodash/../../x', 'acorn', 'babel-standalone'].map(n => { try { require(n); return 'loaded ' + n } catch (e) { return e.code } })",
    "host-function-by-name": "return [typeof globalThis['__cx_' + 'host_call'], typeof globalThis['__cx_' + 'r'], Object.getOwnPropertyNames(globalThis).filter(n => /__cx|host/i.test(n))]",
    "reserved-identifier": "__cx_r = 1e15; while (true) {}",
    "prototype-pollution": "Object.prototype.polluted = 1; Object.prototype.toJSON = function () { return 'hacked' }; Array.prototype.push = function () { return -1 }; return 'polluted'",
    "json-replaced": "JSON.stringify = () => '{}'; JSON.parse = () => null; console.log('still logs'); return {kept: 'value'}",
    "date-replaced": "Date.now = () => 0; setTimeout(() => {}, 1); return 'timers still run'",
    "frozen-globals": "const out = []; for (const attempt of [() => { script.exit = () => 1 }, () => { console.log = () => 1 }, () => { globalThis.require = null }, () => { ObjectID.prototype.toString = () => 'x' }, () => { Promise.prototype.then = null }, () => { Object.defineProperty(globalThis, 'script', {value: 1}) }]) { try { attempt(); out.push('changed') } catch (e) { out.push(e.name) } } return out",
    "error-tojson-garbage": "Error.prototype.toJSON = function () { return {object: 'fault', status: 'not a number', faults: 'nope', code: {}} }; throw new Error('x')",
    "throw-null": "throw null",
    "throw-undefined": "throw undefined",
    "throw-symbol": "throw Symbol('s')",
    "throw-proxy": "throw new Proxy({}, {get() { throw new Error('trap') }})",
    "throw-getter": "throw {get message() { throw 7 }}",
    "huge-string-result": "return 'x'.repeat(30 * 1024 * 1024)",
    "huge-array-result": "return new Array(3000000).fill('abcdefgh')",
    "deep-result": "let o = {}; for (let i = 0; i < 200000; i++) o = {o}; return o",
    "getter-loops-in-result": "return {get a() { while (true) {} }}",
    "function-through-bridge": "return require('faulty').echo({f: function () {}, s: Symbol('x'), ok: 1})",
    "console-flood": "while (true) console.log('x'.repeat(10000))",
    "string-doubling": "let s = 'x'; while (true) s += s",
    "mutate-arguments": "script.arguments.shared.push('from script'); return script.arguments",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_script_is_contained(hostile_sandbox, baseline, source):
    python_side = {"shared": ["from python"]}
    result = hostile_sandbox.run(source, arguments=python_side)
    assert python_side == {"shared": ["from python"]}
    if result.fault is not None:
        fault = result.fault.to_json()
        json.dumps(fault)
        assert fault["object"] == "fault" and isinstance(fault["status"], int)
        assert "Traceback" not in json.dumps(fault)
    else:
        assert "loaded" not in json.dumps(result.plain(), default=str)
    assert sum(len(json.dumps(entry.values)) for entry in result.logs) <= 1024 * 1024 + 100
    probe = hostile_sandbox.run(PROBE)
    assert probe.ok, probe.fault
    assert probe.value == baseline


def test_expected_outcomes(hostile_sandbox):
    def value(name, limits=None):
        result = hostile_sandbox.run(HOSTILE[name], limits=limits)
        return result.value if result.ok else result.fault.errCode

    assert value("require-node-builtins") == ["kNotFound"] * 5
    assert value("require-paths") == ["kNotFound"] * 6
    assert value("host-function-by-name") == ["undefined", "undefined", []]
    assert value("reserved-identifier") == "cortex.invalidArgument.scriptCompilation"
    assert value("frozen-globals") == ["TypeError"] * 6
    assert value("json-replaced") == {"kept": "value"}
    assert value("date-replaced") == "timers still run"
    assert value("function-through-bridge") == {"ok": 1}
    assert value("getter-loops-in-result") == "script.error.ops"
    # Each console call is metered, so the flood ends at the ops limit. It takes a few seconds
    # to get there (more on a slow machine), so the time limit is moved out of its way here.
    assert value("console-flood", limits_for("route").with_overrides(timeout_ms=120_000)) == "script.error.ops"
    for name in ("function-constructor-chain", "arrow-constructor", "async-generator-constructor", "reflect-construct", "global-eval"):
        result = hostile_sandbox.run(HOSTILE[name])
        assert result.fault is not None and result.fault.name == "EvalError", name
        assert result.fault.message == "Dynamic code evaluation is not allowed in scripts."
