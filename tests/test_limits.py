"""Runaway scripts are stopped at their limit with the platform's fault, and the host keeps serving."""

from __future__ import annotations

import time

import pytest

from cortex_runtime import Fault, Sandbox, limits_for

from .hosts import FaultyModule

ROUTE_TIMEOUT_S = 5.0
# How late after the limit a runaway's fault may still arrive: generous, for a slow and busy
# machine, yet well short of the job limit (10 s), so a route run held to the wrong limit fails.
TIMEOUT_LATENESS_S = 3.0

# What the script does before it runs away: nothing, a host call, or a library load.
PREFIXES = {
    "plain": "",
    "after-console": "console.log('about to run away');\n",
    "after-require": "const moment = require('moment');\n",
}


# Every limit holds on both engines: in this process, and in an engine process (what serve uses).
@pytest.fixture(scope="module", params=["inline", "process"])
def sandbox(request):
    sb = Sandbox(engine=request.param)
    sb.prepare()
    yield sb
    sb.release()


def _assert_next_run_succeeds(sandbox: Sandbox) -> None:
    result = sandbox.run("return 6 * 7")
    assert result.ok, result.fault
    assert result.value == 42


@pytest.mark.parametrize("prefix", PREFIXES.values(), ids=PREFIXES.keys())
@pytest.mark.parametrize(
    "body",
    ["while (true) {}", "/(a+)+$/.test('a'.repeat(40) + 'b')"],
    ids=["loop", "catastrophic-regex"],
)
def test_route_runaway_gets_the_timeout_fault_within_limit(sandbox, no_ops_limit, prefix, body):
    assert no_ops_limit.timeout_ms == ROUTE_TIMEOUT_S * 1000
    # Compiled ahead, so the time measured below is the run's, not the compiler's.
    sandbox.compile(prefix + body, max_size=no_ops_limit.max_script_size)
    started = time.monotonic()
    result = sandbox.run(prefix + body, script_type="route", limits=no_ops_limit)
    elapsed = time.monotonic() - started
    assert result.fault is not None
    assert result.fault.errCode == "script.timeout.execution"
    assert result.fault.code == "kTimeout"
    assert result.fault.status == 408
    assert result.fault.reason == "script execution timeout."
    assert result.stats.cached
    # Never before the limit; after it, as soon as a busy machine lets the host notice.
    assert ROUTE_TIMEOUT_S <= elapsed <= ROUTE_TIMEOUT_S + TIMEOUT_LATENESS_S, elapsed
    _assert_next_run_succeeds(sandbox)


def test_timeout_cannot_be_caught(sandbox):
    limits = limits_for("route").with_overrides(max_ops=10**15, timeout_ms=300)
    result = sandbox.run("console.log(1); try { while (true) {} } catch (e) { return 'carried on' }", limits=limits)
    assert result.fault is not None and result.fault.errCode == "script.timeout.execution"


def test_job_time_limit_is_ten_seconds():
    assert limits_for("job").timeout_ms == 10_000
    assert limits_for("route").timeout_ms == 5_000
    assert limits_for("trigger").timeout_ms == 5_000


MEMORY_BOMB = "const hoard = [];\nwhile (true) hoard.push(new Array(100000).fill(1));"
RECURSION = "function down(n) { return down(n + 1) + 1 }\ndown(0);"


@pytest.mark.parametrize("prefix", PREFIXES.values(), ids=PREFIXES.keys())
@pytest.mark.parametrize(
    ("body", "err_code"),
    [(MEMORY_BOMB, "script.error.memory"), (RECURSION, "script.error.stackOverflow")],
    ids=["memory", "stack"],
)
def test_memory_and_stack_faults(sandbox, prefix, body, err_code):
    result = sandbox.run(prefix + body, script_type="route")
    assert result.fault is not None
    assert result.fault.errCode == err_code
    _assert_next_run_succeeds(sandbox)


# Shapes of heap exhaustion in which the engine, out of room even for its own error, throws
# null, and a frame left on the way out can fail again: each must still be the memory fault,
# every time (the prelude's reserve, js_prelude/00_bridge.js). A script's own `throw null` is not.
HEAP_FILLERS = {
    "strings": "let a = []; while (true) { a.push('x'.repeat(1000)) }",
    "properties": "const o = {}; let i = 0; for (;;) { o['k' + i] = i; i++ }",
    "small-objects": "let s = []; for (let i = 0; ; i++) { s.push({ i, t: 'y' + i }) }",
    "map": "const m = new Map(); let i = 0; do { m.set(i, [i]); i++ } while (true)",
    "nested-loops": "let a = []; for (;;) { let b = []; for (let j = 0; j < 100; j++) b.push({ j }); a.push(b) }",
    "caught-inside": "let a = []; while (true) { try { a.push('x'.repeat(500)) } catch (e) {} }",
}


@pytest.mark.parametrize("body", HEAP_FILLERS.values(), ids=HEAP_FILLERS.keys())
def test_a_full_heap_is_the_memory_fault_every_time(sandbox, body):
    for _ in range(3):
        result = sandbox.run(body, script_type="route")
        assert result.fault is not None and result.fault.errCode == "script.error.memory", result.fault
    _assert_next_run_succeeds(sandbox)


# Where the heap runs out decides which of its degraded errors the engine throws (null, a lost
# value, an InternalError without its message, a stackless TypeError): shifting the layout by a
# string of each of these sizes lands on every form. Before the prelude knew them all, about one
# layout in eight came out as a script error.
LAYOUTS = range(1, 300_000, 24_989)


@pytest.mark.parametrize("body", HEAP_FILLERS.values(), ids=HEAP_FILLERS.keys())
def test_a_full_heap_is_the_memory_fault_in_every_layout(sandbox, body):
    wrong = {}
    for size in LAYOUTS:
        result = sandbox.run(f"const ballast = 'y'.repeat({size});\n" + body, script_type="route")
        if result.fault is None or result.fault.errCode != "script.error.memory":
            wrong[size] = result.fault and (result.fault.errCode, result.fault.message)
    assert not wrong
    _assert_next_run_succeeds(sandbox)


def test_a_script_that_throws_a_stackless_error_on_a_roomy_heap_is_its_own_error(sandbox):
    # What a full heap can leave the engine throwing is the memory limit only on a full heap.
    result = sandbox.run(
        "const e = new TypeError('mine'); Object.defineProperty(e, 'stack', { value: '' });"
        "for (let i = 0; i < 10; i++) { if (i === 5) throw e }",
        script_type="route",
    )
    assert result.fault is not None and result.fault.errCode == "script.error.unspecified"
    assert "mine" in (result.fault.message or "")


def test_a_script_that_throws_null_in_a_loop_is_not_out_of_memory(sandbox):
    result = sandbox.run("for (let i = 0; i < 10; i++) { if (i === 5) throw null }", script_type="route")
    assert result.fault is not None and result.fault.errCode == "script.error.unspecified"


WRAPPED = {
    "catch": "try { %s } catch (e) { return 'carried on' }",
    "catch-without-binding": "try { %s } catch { return 'carried on' }",
    "catch-destructuring": "try { %s } catch ({ message }) { return 'carried on: ' + message }",
    "finally-return": "try { %s } finally { return 'carried on' }",
    "promise-catch": "return new Promise(() => { %s }).catch(() => 'carried on')",
    "async-catch": "return (async () => { try { %s } catch (e) { return 'carried on' } })()",
    "catch-then-loop": "try { %s } catch (e) { } let n = 0; for (let i = 0; i < 10; i++) n++; return n",
}


@pytest.mark.parametrize("wrapper", WRAPPED.values(), ids=WRAPPED.keys())
@pytest.mark.parametrize(
    ("body", "err_code"),
    [
        (MEMORY_BOMB.replace("\n", " "), "script.error.memory"),
        (RECURSION.replace("\n", " "), "script.error.stackOverflow"),
        ("while (true) {}", "script.error.ops"),
    ],
    ids=["memory", "stack", "ops"],
)
def test_limit_faults_are_terminal(sandbox, wrapper, body, err_code):
    result = sandbox.run("console.log('first');\n" + wrapper % body)
    assert result.fault is not None, result.value
    assert result.fault.errCode == err_code


def test_ops_limit_fault_shape(sandbox):
    result = sandbox.run("let i = 0; while (true) { i++ }")
    assert result.fault is not None
    assert result.fault.errCode == "script.error.ops"
    assert result.fault.code == "kScriptError"
    assert result.fault.reason == "max ops exceeded"
    assert result.stats.ops > 1_000_000


def test_ops_count_is_deterministic(sandbox):
    source = """
      function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }
      const items = [];
      for (let i = 0; i < 200; i++) items.push(i * 2);
      console.log('done');
      return [fib(15), items.map(x => x + 1).length];
    """
    counts = set()
    for _ in range(5):
        result = sandbox.run(source)
        assert result.ok, result.fault
        assert result.value == [610, 200]
        counts.add(result.stats.ops)
    assert len(counts) == 1
    (ops,) = counts
    # fib(15) makes 1973 calls, the loop 200 iterations, map 200 callbacks, the console call 10.
    assert ops == 1973 + 200 + 200 + 10


def test_just_under_the_ops_limit_succeeds(sandbox):
    result = sandbox.run("let n = 0; for (let i = 0; i < 999000; i++) n++; return n")
    assert result.ok, result.fault
    assert result.stats.ops == 999_000
    over = sandbox.run("let n = 0; for (let i = 0; i < 1000001; i++) n++; return n")
    assert over.fault is not None and over.fault.errCode == "script.error.ops"


def test_ops_remaining_decreases(sandbox):
    result = sandbox.run("const a = script.getOpsRemaining(); const b = script.getOpsRemaining(); return [a > b, script.getOpsUsed() > 0]")
    assert result.value == [True, True]


@pytest.fixture(scope="module", params=["inline", "process"])
def host_sandbox(request):
    sb = Sandbox(host_api=FaultyModule(), engine=request.param)
    yield sb
    sb.release()


def test_python_exception_in_host_function_is_a_catchable_fault(host_sandbox):
    result = host_sandbox.run(
        """
        const faulty = require('faulty');
        try { faulty.explode() } catch (e) {
          return {isFault: e instanceof Fault, errCode: e.errCode, code: e.code, status: e.statusCode, message: e.message, reason: e.reason}
        }
        """
    )
    assert result.ok, result.fault
    assert result.value["isFault"] is True
    assert result.value["errCode"] == "script.error.unspecified"
    assert result.value["status"] == 500
    assert "secret host detail" not in repr(result.value)
    _assert_next_run_succeeds(host_sandbox)


def test_host_fault_keeps_its_registry_code(host_sandbox):
    result = host_sandbox.run(
        "try { require('faulty').deny() } catch (e) { return [e.errCode, e.code, e.statusCode, e.reason] }"
    )
    assert result.value == ["cortex.accessDenied.unspecified", "kAccessDenied", 403, "denied by host"]


def test_uncaught_host_fault_ends_the_run_with_it(host_sandbox):
    result = host_sandbox.run("require('faulty').deny()")
    assert result.fault is not None
    assert result.fault.status == 403
    assert result.fault.reason == "denied by host"


def test_a_replaced_function_call_does_not_hand_out_the_unguarded_then(sandbox):
    # The guarded Promise.prototype.then calls the original one; were it called through
    # Function.prototype.call, a script that replaced that would get the original and
    # could attach a rejection handler that swallows a limit.
    result = sandbox.run(
        """
        let original = null;
        const call = Function.prototype.call;
        Function.prototype.call = function (self, ...args) { if (this.name === 'then') original = this; return Reflect.apply(this, self, args) };
        Promise.resolve(1).then(() => 0);
        Function.prototype.call = call;
        const then = original || Promise.prototype.then;
        function down(n) { return down(n + 1) + 1 }
        return Reflect.apply(then, new Promise(() => { down(0) }), [null, () => 'carried on']);
        """
    )
    assert result.fault is not None, result.value
    assert result.fault.errCode == "script.error.stackOverflow"
