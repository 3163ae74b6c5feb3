"""The context pool, freeing finished contexts, and the lazily loaded prelude."""

from __future__ import annotations

import gc
import json
import threading
import weakref
from typing import Any

import pytest

from cortex_runtime import Sandbox, limits_for
from cortex_runtime.sandbox.engine import Context, EngineError
from cortex_runtime.sandbox.prelude import EAGER_FILES, load_prelude

from .hosts import FaultyModule

ROUTE = limits_for("route")
SIZES = (ROUTE.memory_bytes, ROUTE.stack_bytes)

# Every global a prelude unit defines, evaluated on first touch.
LAZY_GLOBALS = [
    "ObjectID", "ObjectId", "Fault", "getCurrentStackTrace", "console", "consts", "script", "org", "CortexObject",
    "setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate",
]


@pytest.fixture
def fresh() -> Sandbox:
    return Sandbox(cache_dir=None, host_api=FaultyModule())


def _taken_contexts(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[weakref.ref[Context]]:
    taken: list[weakref.ref[Context]] = []
    take = sandbox.pool.take

    def recording_take(memory_bytes: int, stack_bytes: int) -> Context:
        ctx = take(memory_bytes, stack_bytes)
        taken.append(weakref.ref(ctx))
        return ctx

    monkeypatch.setattr(sandbox.pool, "take", recording_take)
    return taken


# ---- a finished context is freed --------------------------------------------------


def test_a_context_does_not_keep_itself_alive():
    # The runtime holds what is bound into it: if that held the Context, the two would
    # keep each other alive through the engine, out of the collector's sight.
    ctx = Context(memory_bytes=ROUTE.memory_bytes, stack_bytes=ROUTE.stack_bytes)
    ctx.set_host(lambda name, payload, ops: '{"v":{"v":null}}')
    ctx.eval("__cx_host_call('x', '', 0)")
    ref = weakref.ref(ctx)
    del ctx
    gc.collect()
    assert ref() is None


def test_a_pooled_context_that_is_never_used_is_freed_with_its_pool():
    sandbox = Sandbox(cache_dir=None)
    sandbox.warm()
    ref = weakref.ref(sandbox.pool.take(*SIZES))
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    "source",
    [
        "return 1",
        "console.log('x'); return require('faulty').echo({a: [1, new Date(0)]})",
        "setTimeout(() => console.log(consts.roles.admin), 1); return Promise.resolve(new ObjectID())",
        "require('faulty').deny()",
        "function down(n) { return down(n + 1) + 1 } down(0)",
        "while (true) {}",
    ],
    ids=["plain", "host-calls", "timers-and-units", "fault", "stack-limit", "ops-limit"],
)
def test_a_finished_context_is_freed(fresh, monkeypatch, source):
    taken = _taken_contexts(fresh, monkeypatch)
    fresh.warm()
    result = fresh.run(source)
    assert result.stats.ops >= 0
    gc.collect()
    assert len(taken) == 1
    assert taken[0]() is None


def test_a_closed_context_refuses_work():
    ctx = Context(memory_bytes=ROUTE.memory_bytes, stack_bytes=ROUTE.stack_bytes)
    ctx.close()
    assert ctx.closed
    with pytest.raises(EngineError):
        ctx.eval("1")


# ---- the pool ---------------------------------------------------------------------


def test_run_never_refills_and_warm_one_builds_one_spare_at_a_time():
    sandbox = Sandbox(cache_dir=None, pool_size=2)
    assert not sandbox.pool.ready(*SIZES)
    assert sandbox.needs_warming()
    assert sandbox.run("return 1").value == 1  # built on the run's path
    assert not sandbox.pool.ready(*SIZES)

    assert sandbox.warm_one() is True
    assert sandbox.pool.ready(*SIZES)
    assert sandbox.needs_warming()
    assert sandbox.warm_one() is True
    assert not sandbox.needs_warming()
    assert sandbox.warm_one() is False

    assert sandbox.run("return 2").value == 2
    assert sandbox.pool.ready(*SIZES) and sandbox.needs_warming()
    sandbox.warm()
    assert not sandbox.needs_warming()


def test_a_refill_stopped_half_way_is_finished_by_the_next_take_or_refill(monkeypatch):
    sandbox = Sandbox(cache_dir=None, pool_size=1)
    assert sandbox.run("return 0").value == 0  # the compiler's own context exists from here on
    built = []
    real = Context.__init__

    def counting(self, **kwargs):
        built.append(1)
        real(self, **kwargs)

    monkeypatch.setattr(Context, "__init__", counting)
    checks = iter([False, True])  # a request comes in after the first stage
    assert sandbox.warm_one(stop=lambda: next(checks, True)) is False
    assert not sandbox.pool.ready(*SIZES) and len(built) == 1
    # The run finishes the half-built context instead of making another.
    assert sandbox.run("return [typeof require, typeof script, 1 + 1]").value == ["function", "object", 2]
    assert len(built) == 1
    # A stopped refill is resumed by the next one.
    assert sandbox.warm_one(stop=lambda: False) is True and len(built) == 2
    checks = iter([False, False, True])
    assert sandbox.run("return 3").value == 3
    assert sandbox.warm_one(stop=lambda: next(checks, True)) is False
    assert sandbox.warm_one() is True and len(built) == 3
    assert sandbox.run("return 4").value == 4 and len(built) == 3
    # A stop before anything is built builds nothing; release frees what a stopped refill left.
    assert sandbox.warm_one(stop=lambda: True) is False and len(built) == 3
    checks = iter([False, True])
    assert sandbox.warm_one(stop=lambda: next(checks, True)) is False and len(built) == 4
    sandbox.pool.release()
    assert sandbox.run("return 5").value == 5 and len(built) == 5


def test_spares_belong_to_the_thread_that_built_them():
    sandbox = Sandbox(cache_dir=None)
    sandbox.warm()
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(sandbox.pool.ready(*SIZES)))
    thread.start()
    thread.join()
    assert seen == [False]
    assert sandbox.pool.ready(*SIZES)


def test_release_frees_this_threads_spares():
    sandbox = Sandbox(cache_dir=None, pool_size=2)
    sandbox.warm()
    refs = [weakref.ref(spare.ctx) for spare in sandbox.pool._spares(SIZES)]
    sandbox.release()
    gc.collect()
    assert [ref() for ref in refs] == [None, None]
    assert not sandbox.pool.ready(*SIZES) and sandbox.needs_warming()
    assert sandbox.run("return 1").value == 1


def test_spares_are_per_memory_and_stack_size():
    sandbox = Sandbox(cache_dir=None)
    bigger = ROUTE.with_overrides(memory_bytes=ROUTE.memory_bytes * 2)
    sandbox.warm(bigger)
    assert sandbox.pool.ready(bigger.memory_bytes, bigger.stack_bytes)
    assert not sandbox.pool.ready(*SIZES)
    assert sandbox.warm_one(bigger) is False
    assert sandbox.run("return 1", limits=bigger).ok
    assert not sandbox.pool.ready(bigger.memory_bytes, bigger.stack_bytes)


# ---- the lazily loaded prelude ------------------------------------------------------


def test_prelude_units_are_ascii_and_the_eager_part_is_small():
    prelude = load_prelude()
    assert set(prelude.units) >= {"codec", "faults", "objectid", "console", "consts", "script", "timers", "modules", "request", "response", "objects", "org"}
    assert all(source.isascii() for source in prelude.units.values())
    assert not set(EAGER_FILES) & {f"{name}.js" for name in prelude.units}


def test_the_prelude_is_loaded_without_its_comment_lines_and_keeps_its_line_numbers():
    from cortex_runtime.sandbox.prelude import _without_comment_lines
    from cortex_runtime.sandbox.resources import js_prelude_dir

    prelude = load_prelude()
    root = js_prelude_dir()
    eager = "\n".join(root.joinpath(name).read_text(encoding="utf-8") for name in EAGER_FILES)
    assert prelude.eager.count("\n") == eager.count("\n")
    assert "// " not in "".join(line for line in prelude.eager.split("\n") if line.lstrip().startswith("//"))
    assert len(prelude.eager) < 0.7 * len(eager)
    for line, original in zip(prelude.eager.split("\n"), eager.split("\n")):
        assert line == ("" if original.lstrip().startswith("//") else original)
    # A template literal could hold a line that looks like a comment: such a file is kept whole.
    template = "const a = `\n// not a comment\n`;\n// a comment\n"
    assert _without_comment_lines(template) == template
    assert _without_comment_lines("const a = 1; // kept\n  // dropped\nconst b = 2;") == "const a = 1; // kept\n\nconst b = 2;"


def test_a_run_that_touches_nothing_asks_the_host_for_nothing(fresh, monkeypatch):
    asked: list[str] = []
    config_reply = fresh._config_reply
    monkeypatch.setattr(fresh, "_config_reply", lambda config: asked.append("config") or config_reply(config))
    assert fresh.run("return 1").stats.host_calls == 0
    assert asked == []
    assert fresh.run("return script.type").value == "route"
    assert asked == ["config"]


def test_a_run_compiles_only_the_units_it_uses(fresh, monkeypatch):
    # require('request') and require('response') are units of their own, so a require of
    # anything else does not compile them, a module that never calls the host does not load
    # the codec, and a plain result still takes the short way out (no finish unit): a require
    # costs what the module needs, not the whole loader.
    from cortex_runtime.sandbox.prelude import Prelude

    loaded: list[str] = []
    unit_source = Prelude.unit_source
    monkeypatch.setattr(Prelude, "unit_source", lambda self, name: loaded.append(name) or unit_source(self, name))
    assert fresh.run("return require('util.paths').to({a: {b: 2}}, 'a.b')").value == 2
    assert "modules" in loaded and "util" in loaded
    assert not {"request", "response", "finish", "codec"} & set(loaded)
    loaded.clear()
    assert fresh.run("require('response').setHeader('x-a', '1'); return 1").value == 1
    assert {"modules", "response", "finish"} <= set(loaded) and "request" not in loaded


# The lazily loaded globals as a script can observe them; the same in every fresh run.
PROBE = """
const descriptor = (name) => {
  const d = Object.getOwnPropertyDescriptor(globalThis, name);
  return [typeof d.get, typeof d.set, d.enumerable, d.configurable];
};
return {
  descriptors: %(names)s.map(descriptor),
  fault: [Object.getOwnPropertyNames(Fault).sort().join(), String(Fault.create), Fault.create('kInvalidArgument').toString(), String(Fault.prototype.toString)],
  errors: [new Error('x').toJSON(), Object.getOwnPropertyNames(Error.prototype).sort().join(), typeof Error.create],
  cortexObject: [Object.getOwnPropertyNames(CortexObject.prototype).sort().join(), String(CortexObject.prototype.read), Object.isSealed(CortexObject)],
  consts: [consts.roles.admin.toString(), consts.accessLevels.delete, Object.isFrozen(consts.roles), Object.keys(consts).length],
  objectId: [String(ObjectID.prototype.toString), ObjectId === ObjectID, Object.isFrozen(ObjectID.prototype)],
  script: [Object.keys(script).sort().join(), script.type, script.arguments.shared],
  console: [Object.keys(console).join(), String(console.log)],
  org: [org.code, Object.keys(org).join(), 'objects' in org],
  timers: [String(setTimeout), clearTimeout === clearInterval],
  trace: typeof getCurrentStackTrace(),
  arrays: [].hasOwnProperty('pwned') || 'pwned' in [],
};
""" % {"names": json.dumps(LAZY_GLOBALS)}

MUTATE = """
const out = {};
const attempt = (name, change) => { try { change(); out[name] = 'changed' } catch (e) { out[name] = e.name } };
attempt('Fault.create', () => { Fault.create = () => 'hacked' });
attempt('Fault.prototype.toString', () => { Fault.prototype.toString = () => 'hacked' });
attempt('Fault.addCode', () => Fault.addCode('kHacked', 'hacked', 599, 'Hacked'));
attempt('Error.prototype.toJSON', () => { Error.prototype.toJSON = () => 'hacked' });
attempt('Error.create', () => { Error.create = () => 'hacked' });
attempt('CortexObject.prototype.read', () => { CortexObject.prototype.read = () => 'hacked' });
attempt('CortexObject.hacked', () => { CortexObject.hacked = 1 });
attempt('consts.roles.admin', () => { consts.roles.admin = 'hacked' });
attempt('ObjectID.prototype.toString', () => { ObjectID.prototype.toString = () => 'hacked' });
attempt('script.type', () => { script.type = 'hacked' });
attempt('script.arguments', () => { script.arguments.shared.push('hacked') });
attempt('console.log', () => { console.log = () => 'hacked' });
attempt('org.code', () => { org.code = 'hacked' });
attempt('setTimeout', () => { setTimeout = () => 'hacked' });
attempt('consts global', () => { Object.defineProperty(globalThis, 'consts', {value: 'hacked'}) });
attempt('Array.prototype', () => { Array.prototype.pwned = 1 });
return out;
"""


def test_a_lazily_loaded_global_a_run_changed_is_pristine_in_the_next_run(fresh):
    arguments = {"shared": ["from python"]}
    baseline = fresh.run(PROBE, arguments=arguments)
    assert baseline.ok, baseline.fault
    assert all(d == ["function", "undefined", False, False] for d in baseline.value["descriptors"])

    mutated = fresh.run(MUTATE, arguments=arguments)
    assert mutated.ok, mutated.fault
    changed = {name for name, outcome in mutated.value.items() if outcome == "changed"}
    assert changed == {
        "Fault.create", "Fault.prototype.toString", "Fault.addCode", "Error.prototype.toJSON", "Error.create",
        "CortexObject.prototype.read", "script.arguments", "Array.prototype",
    }
    assert {mutated.value[name] for name in mutated.value.keys() - changed} == {"TypeError"}
    assert arguments == {"shared": ["from python"]}

    again = fresh.run(PROBE, arguments=arguments)
    assert again.ok, again.fault
    assert again.value == baseline.value


# What a script might try to reach the prelude's evaluator or the unit sources with.
REACH = """
const names = %(names)s;
const found = [];
const looksLikeEval = (f) => {
  if (typeof f !== 'function') return false;
  try { return f('6 * 7') === 42 } catch (e) { return false }
};
// Whatever a replaced Function.prototype.call/apply or Reflect.apply is handed.
const handed = [];
const { call, apply } = Function.prototype;
const reflectApply = Reflect.apply;
Function.prototype.call = function (self, ...args) { handed.push(this, self, ...args); return reflectApply(this, self, args) };
Function.prototype.apply = function (self, args) { handed.push(this, self, ...(args || [])); return reflectApply(this, self, args || []) };
Reflect.apply = function (f, self, args) { handed.push(f, self, ...args); return reflectApply(f, self, args) };
// Stand-in sources a loader reading plain objects would pick up (and evaluate).
for (const unit of ['codec', 'faults', 'stacktrace', 'objectid', 'console', 'consts', 'script', 'timers', 'modules', 'request', 'response', 'objects', 'org', 'finish']) {
  Object.defineProperty(Object.prototype, unit, {
    configurable: true,
    get() { return '[].constructor.prototype.pwned = 1' },
    set(value) { Object.defineProperty(this, unit, { value, writable: true, enumerable: true, configurable: true }) },
  });
}
const values = [];
for (const name of names) {
  const d = Object.getOwnPropertyDescriptor(globalThis, name);
  values.push(globalThis[name], d.get, d.get.call({}), d.get.call(undefined, 'Fault'));
  try { d.get.constructor('return 1'); found.push(name + ': getter constructor ran') } catch (e) { if (e.name !== 'EvalError') found.push(name + ': ' + e.name) }
}
console.log(Fault.create('kError', 'x'), new ObjectID(), consts.roles.admin, script.principal);
try { require('faulty').deny() } catch (e) { values.push(e, e.toJSON(), e.trace) }
values.push(require('request'), require('response'));
setTimeout(() => {}, 0);
values.push(org.objects, CortexObject, script, getCurrentStackTrace(), new Error('x').toJSON());
Function.prototype.call = call;
Function.prototype.apply = apply;
Reflect.apply = reflectApply;
for (const value of values.concat(handed)) {
  if (looksLikeEval(value)) found.push('an evaluator: ' + String(value && value.name));
  if (typeof value === 'string' && value.length > 2000) found.push('a source: ' + value.slice(0, 40));
}
if ([].pwned) found.push('stand-in source evaluated');
const privileged = Object.getOwnPropertyNames(globalThis).filter(n => /__cx|prelude|unit|source/i.test(n));
return { found, privileged, handed: handed.length > 0, dynamic: [() => eval('1'), () => Function('return 1'), () => Fault.constructor('return 1'), () => consts.constructor.constructor('return 1')].map(f => { try { f(); return 'ran' } catch (e) { return e.name } }) };
""" % {"names": json.dumps(LAZY_GLOBALS)}


def test_a_lazily_loaded_global_cannot_reach_the_evaluator_or_the_sources(fresh):
    result = fresh.run(REACH)
    assert result.ok, result.fault
    assert result.value == {"found": [], "privileged": [], "handed": True, "dynamic": ["EvalError"] * 4}
    after = fresh.run("return [typeof Fault, typeof consts, [].pwned === undefined]")
    assert after.value == ["function", "object", True]


def test_a_context_dropped_on_another_thread_is_freed_by_its_own(recwarn):
    made: list[Context] = []
    ready = threading.Event()
    drop = threading.Event()
    done = threading.Event()

    def owner() -> None:
        made.append(Context(memory_bytes=ROUTE.memory_bytes, stack_bytes=ROUTE.stack_bytes))
        ready.set()
        drop.wait()
        Context(memory_bytes=ROUTE.memory_bytes, stack_bytes=ROUTE.stack_bytes).close()  # frees what was parked
        done.set()

    thread = threading.Thread(target=owner)
    thread.start()
    ready.wait()
    ref = weakref.ref(made[0])
    made.clear()  # dropped here, on the main thread
    gc.collect()
    assert ref() is None
    drop.set()
    done.wait()
    thread.join()
    from cortex_runtime.sandbox import engine

    assert thread not in engine._parked
    assert not [w for w in recwarn if "unsendable" in str(w.message)]


@pytest.mark.parametrize("code, timeout", [("throw new Error('x')", None), ("for (;;) {}", 0.05)])
def test_a_failed_evals_traceback_does_not_carry_the_runtime_to_another_thread(monkeypatch, code, timeout):
    # A traceback keeps its frames' locals. Had a frame of Context.eval held the runtime, the
    # collector could free it on whichever thread it next ran on, and jsbox refuses that.
    raised: list[str] = []
    monkeypatch.setattr("sys.unraisablehook", lambda report: raised.append(repr(report.exc_value)))
    ctx = Context(memory_bytes=ROUTE.memory_bytes, stack_bytes=ROUTE.stack_bytes)
    try:
        ctx.eval(code, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - ScriptThrew or Interrupted, whichever the code gives
        kept = exc
        kept.cycle = kept  # type: ignore[attr-defined] - as loggers and event loops make
    ctx.close()
    del ctx, kept
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    assert raised == []


def test_a_threads_spares_are_freed_when_the_thread_ends(recwarn):
    sandbox = Sandbox(cache_dir=None)
    refs: list[weakref.ref[Context]] = []

    def serve() -> None:
        sandbox.warm()
        refs.extend(weakref.ref(spare.ctx) for spare in sandbox.pool._spares(SIZES))
        assert sandbox.run("return 1").value == 1

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
    gc.collect()
    from cortex_runtime.sandbox import engine

    assert refs and all(ref() is None for ref in refs)
    assert thread not in engine._parked
    assert not [w for w in recwarn if "unsendable" in str(w.message)]


def test_hot_npm_libraries_are_parsed_into_spares_and_every_run_gets_them_pristine():
    # The set-up's compile cache (prepare): compiling lodash cold would take the run's time on a slow machine.
    sb = Sandbox()
    for _ in range(3):
        assert sb.run("require('lodash'); return 1").ok
        sb.warm_one()
    assert sb.npm_usage.hot() == ["lodash"]
    sent: list[str] = []
    factory = sb.loader.factory
    sb.loader.factory = lambda name, libraries: sent.append(name) or factory(name, libraries)  # type: ignore[method-assign]
    first = sb.run("const _ = require('lodash'); _.chunk = null; return typeof _.chunk")
    sb.warm_one()  # the spare gets lodash parsed in: the only factory sent
    second = sb.run("return typeof require('lodash').chunk")
    assert (first.value, second.value) == ("object", "function")
    assert sent == ["lodash"]
    # A context a run builds itself (no spare ready) never pays for preloading.
    assert sb.run("return typeof require('lodash').chunk").value == "function"
    assert sent == ["lodash", "lodash"]


def test_a_library_few_runs_require_is_not_preloaded():
    sb = Sandbox()
    assert sb.run("require('lodash'); return 1").ok
    for _ in range(10):
        assert sb.run("return 1").ok
    assert sb.npm_usage.hot() == []


def _with_hot_units(sb: Sandbox, source: str, arguments: Any = None, runs: int = 3) -> None:
    """Run ``source`` a few times, refilling after each, so that its units are hot and the next spare has them compiled in."""
    for _ in range(runs):
        assert sb.run(source, arguments=arguments).ok
        sb.warm_one()


def test_hot_prelude_units_are_compiled_into_spares_and_a_run_only_runs_them(monkeypatch):
    from cortex_runtime.sandbox.prelude import Prelude

    sb = Sandbox(cache_dir=None)
    _with_hot_units(sb, PROBE, {"shared": ["a"]})
    hot = sb.pool.unit_usage.hot()
    assert {"consts", "script", "objects", "org", "faults", "console", "timers"} <= set(hot)
    asked: list[str] = []
    unit_source = Prelude.unit_source
    monkeypatch.setattr(Prelude, "unit_source", lambda self, name: asked.append(name) or unit_source(self, name))
    assert sb.run(PROBE, arguments={"shared": ["b"]}).value["script"][2] == ["b"]
    assert asked == []  # every unit it used was compiled into its context beforehand
    sb.warm_one()
    assert sorted(asked) == hot  # compiled while building the spare, off the run's path
    # Nothing of the run is read at build time: each run's script global is its own.
    assert sb.run(PROBE, arguments={"shared": ["c"]}).value["script"][2] == ["c"]
    # A context a run builds itself (no spare ready) compiles only what it touches.
    asked.clear()
    assert sb.run("return consts.accessLevels.read").value == 4
    assert sorted(asked) == ["consts", "objectid"]  # its roles are ObjectIDs


def test_a_prepared_unit_a_run_changed_is_pristine_in_the_next_run():
    arguments = {"shared": ["from python"]}
    baseline = Sandbox(cache_dir=None).run(PROBE, arguments=arguments)
    sb = Sandbox(cache_dir=None)
    _with_hot_units(sb, MUTATE + PROBE.replace("return {", "const probe = {", 1), arguments)
    assert {"faults", "objects", "consts", "script"} <= set(sb.pool.unit_usage.hot())
    mutated = sb.run(MUTATE, arguments=arguments)
    assert mutated.value["CortexObject.prototype.read"] == "changed" and mutated.value["Fault.create"] == "changed"
    sb.warm_one()
    again = sb.run(PROBE, arguments=arguments)
    assert again.ok, again.fault
    assert again.value == baseline.value


def test_a_prepared_unit_cannot_reach_the_evaluator_or_the_sources():
    sb = Sandbox(cache_dir=None)
    _with_hot_units(sb, REACH)
    assert {"codec", "objects", "modules", "timers"} <= set(sb.pool.unit_usage.hot())
    result = sb.run(REACH)
    assert result.value == {"found": [], "privileged": [], "handed": True, "dynamic": ["EvalError"] * 4}


def test_a_unit_fewer_than_half_of_recent_runs_load_is_not_compiled_into_spares():
    sb = Sandbox(cache_dir=None)
    for _ in range(4):
        assert sb.run("return consts.accessLevels.read").ok
        for _ in range(5):
            assert sb.run("return 1").ok
            sb.warm_one()
    assert sb.pool.unit_usage.hot() == []
