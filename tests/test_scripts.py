"""Language, modules, globals and results as scripts see them."""

from __future__ import annotations

from datetime import datetime, timezone

import uuid

import pytest
from bson import ObjectId

from cortex_runtime import Sandbox, limits_for
from cortex_runtime.sandbox import UNDEFINED

from .hosts import FaultyModule

EYE = """
import autobind from 'decorators-autobind';
import readonly from 'decorators-readonly';

class Eye {
    @readonly
    pie = 'pie';

    @autobind
    apple() { return this.pie; }

    orange = () => this.pie;
}

const eye = new Eye();
const calls = [eye.apple.call(null), eye.orange.call(null)];
let assignment = 'allowed';
try { eye.pie = 'not allowed' } catch (e) { assignment = e instanceof TypeError ? 'TypeError' : String(e) }
return {calls, assignment, pie: eye.pie}
"""

C_UTILS = """
import _  from 'underscore';

export default {
  dateToAge: function(birthDate) {
    if (!_.isDate(birthDate)) return 0;
    const today = new Date(),
          m = today.getMonth() - birthDate.getMonth();
    let age = today.getFullYear() - birthDate.getFullYear();
    if (m < 0 || (m === 0 && today.getDate() < birthDate.getDate())) {
      age--;
    }
    return age;
  }
};
"""


def test_seed_decorator_example(sandbox):
    result = sandbox.run(EYE)
    assert result.ok, result.fault
    assert result.value == {"calls": ["pie", "pie"], "assignment": "TypeError", "pie": "pie"}


def test_library_imported_by_export_name(sandbox):
    result = sandbox.run(
        "import utils from 'c_utils';\nreturn [utils.dateToAge(new Date(2000, 0, 1)) > 20, utils.dateToAge('x')]",
        libraries={"c_utils": C_UTILS},
    )
    assert result.ok, result.fault
    assert result.value == [True, 0]


def test_commonjs_library_and_default_interop(sandbox):
    libraries = {"c_math": "module.exports = { double: function double(n) { return n * 2 } }"}
    result = sandbox.run("import m from 'c_math';\nconst again = require('c_math');\nreturn [m.double(21), m === again]", libraries=libraries)
    assert result.value == [42, True]


def test_circular_requires_terminate(sandbox):
    libraries = {
        "c_a": "exports.name = 'a'; const b = require('c_b'); exports.fromB = b.sawA;",
        "c_b": "const a = require('c_a'); exports.sawA = 'b saw ' + a.name;",
    }
    result = sandbox.run("return require('c_a').fromB", libraries=libraries)
    assert result.value == "b saw a"


@pytest.mark.parametrize(
    "name",
    ["autobind", "decorate", "deprecate", "enumerable", "extendDescriptor", "lazyInitialize",
     "nonconfigurable", "nonenumerable", "override", "readonly"],
)
def test_every_builtin_decorator_module_loads(sandbox, name):
    result = sandbox.run(f"return typeof require('decorators-{name}')")
    assert result.value == "function"


def test_npm_libraries_load_lazily(sandbox):
    result = sandbox.run(
        """
        const moment = require('moment'), _ = require('lodash'), u = require('underscore'), should = require('should');
        (5).should.equal(5);
        return [moment.utc(0).format('YYYY-MM-DD'), _.chunk([1, 2, 3], 2), u.max([1, 9, 3])]
        """
    )
    assert result.ok, result.fault
    assert result.value == ["1970-01-01", [[1, 2], [3]], 9]
    bare = sandbox.run("return 1")
    assert bare.stats.host_calls == 0  # nothing is loaded unless required


def test_unknown_modules_fault(sandbox):
    builtin = sandbox.run("require('dne')")
    assert builtin.fault.code == "kNotFound"
    library = sandbox.run("require('c_missing')")
    assert (library.fault.errCode, library.fault.code, library.fault.path) == ("cortex.notFound.script", "kNotFound", "c_missing")
    wrong = sandbox.run("require(5)")
    assert wrong.fault.message == "require expects a single string argument"


def test_script_size_limit(sandbox):
    at_limit = "return 1;" + " " * (50_000 - len("return 1;"))
    assert sandbox.run(at_limit).value == 1
    over = sandbox.run(at_limit + " ")
    assert over.fault is not None
    assert over.fault.errCode == "cortex.invalidArgument.maxScriptLength"
    assert over.fault.status == 400
    assert over.fault.reason == "Your script exceeds the maximum length of 50000 by 1"


def test_compile_errors(sandbox):
    result = sandbox.run("var x=';")
    assert result.fault.errCode == "cortex.invalidArgument.scriptCompilation"
    assert result.fault.status == 400


def test_compiled_code_is_cached_by_source(sandbox):
    source = f"import readonly from 'decorators-readonly'; class A {{ @readonly x = 1 }} return new A().x // {uuid.uuid4()}"
    first = sandbox.run(source)
    second = sandbox.run(source)
    assert first.value == second.value == 1
    assert not first.stats.cached
    assert second.stats.cached


def test_reserved_identifiers_are_refused(sandbox):
    result = sandbox.run("__cx_r = 1e9; return 1")
    assert result.fault.errCode == "cortex.invalidArgument.scriptCompilation"


def test_dynamic_code_is_refused(sandbox):
    result = sandbox.run(
        """
        const attempts = [() => eval('1'), () => Function('return 1')(), () => (function(){}).constructor('return 1')(),
                          () => (async function(){}).constructor('return 1')()];
        return attempts.map(f => { try { f(); return 'ran' } catch (e) { return e.name } })
        """
    )
    assert result.value == ["EvalError"] * 4


def test_strict_mode(sandbox):
    result = sandbox.run("undeclared = 1")
    assert result.fault is not None
    assert "undeclared" in result.fault.message


def test_seed_objectid_example(sandbox):
    result = sandbox.run(
        """
        return {
            date: new ObjectID(new Date('2016-03-01T22:17:40Z')),
            dateDate: new ObjectID(new Date('2016-03-01T22:17:40Z')).toDate(),
            fromMs: new ObjectID(1456870660000).toString(),
            id: new ObjectID(),
            idDate: new ObjectID().toDate(),
            str: new ObjectID("4a232bca18759fcbdef24855"),
            strDate: new ObjectID("4a232bca18759fcbdef24855").toDate(),
            ts: new ObjectID("4a232bca18759fcbdef24855").getTimestamp(),
            toJSON: new ObjectID("4a232bca18759fcbdef24855").toJSON(),
            json: JSON.stringify({id: new ObjectID('4a232bca18759fcbdef24855')}),
            equalsString: new ObjectID("4a232bca18759fcbdef24855").equals("4a232bca18759fcbdef24855"),
            equalsInstance: new ObjectID("4a232bca18759fcbdef24855").equals(new ObjectId("4a232bca18759fcbdef24855")),
            notEqual: new ObjectID("4a232bca18759fcbdef24855").equals(new ObjectID()),
            alias: ObjectId === ObjectID,
        }
        """
    )
    assert result.ok, result.fault
    plain = result.plain()
    assert plain["date"] == "56d615040000000000000000"
    assert plain["dateDate"] == "2016-03-01T22:17:40.000Z"
    assert plain["fromMs"] == "56d615040000000000000000"
    assert len(plain["id"]) == 24 and int(plain["id"], 16) >= 0
    assert plain["str"] == "4a232bca18759fcbdef24855"
    assert plain["strDate"] == "2009-06-01T01:15:54.000Z"
    assert plain["ts"] == 1243818954
    assert plain["toJSON"] == "4a232bca18759fcbdef24855"
    assert plain["json"] == '{"id":"4a232bca18759fcbdef24855"}'
    assert (plain["equalsString"], plain["equalsInstance"], plain["notEqual"], plain["alias"]) == (True, True, False, True)
    assert isinstance(result.value["id"], ObjectId)
    generated = datetime.fromisoformat(plain["idDate"].replace("Z", "+00:00"))
    assert abs((generated - datetime.now(timezone.utc)).total_seconds()) < 60


def test_invalid_objectid_faults(sandbox):
    result = sandbox.run("new ObjectID('nope')")
    assert result.fault.code == "kInvalidArgument"


def test_console_is_captured_not_printed(sandbox, capfd):
    result = sandbox.run("console.log('hello', {a: 1}); console.warn('careful'); return 1")
    assert [(entry.level, entry.values) for entry in result.logs] == [("log", ["hello", {"a": 1}]), ("warn", ["careful"])]
    out, err = capfd.readouterr()
    assert "hello" not in out and "hello" not in err


def test_timers_and_promises_settle_after_main(sandbox):
    result = sandbox.run(
        """
        const log = [];
        setTimeout(() => log.push('timeout'), 100);
        const id = setTimeout(() => log.push('cancelled'), 5); clearTimeout(id);
        setImmediate(() => log.push('immediate'));
        Promise.resolve().then(() => log.push('promise'));
        log.push('main');
        return log
        """
    )
    assert result.value == ["main", "promise", "immediate", "timeout"]


def test_interval_runs_until_cleared(sandbox):
    result = sandbox.run("let n = 0; const out = []; const id = setInterval(() => { out.push(++n); if (n === 3) clearInterval(id) }, 2); return out")
    assert result.value == [1, 2, 3]


def test_async_main_result_settles(sandbox):
    result = sandbox.run("return (async () => { await new Promise(r => setTimeout(r, 5)); return 7 })()")
    assert result.value == 7


def test_error_in_timer_fails_the_run(sandbox):
    result = sandbox.run("setTimeout(() => { throw Fault.create('kNotFound', {reason: 'late'}) }, 1); return 1")
    assert result.fault is not None and result.fault.reason == "late"


def test_script_exit(sandbox):
    assert sandbox.run("script.exit(42); return 1").value == 42
    assert sandbox.run("try { script.exit(43) } catch (e) { return 'caught' }").value == 43


def test_script_global(sandbox):
    result = sandbox.run(
        "return [script.type, script.arguments.a, script.depth, script.getCalloutsRemaining(), script.getNotificationsRemaining(), typeof script.getTimeLeft(), script.org === org, org.code]",
        script_type="job",
        arguments={"a": 5},
    )
    assert result.value == ["job", 5, 1, 5, 100, "number", True, "example"]


def test_consts(sandbox):
    result = sandbox.run(
        "return [consts.accessLevels.read, consts.accessLevels.update, consts.accessLevels.delete, consts.accessLevels.script, String(consts.principals.public), String(consts.roles.Administrator), require('consts') === consts]"
    )
    assert result.value == [4, 6, 7, 8, "000000000000000000000003", "000000000000000000000004", True]


def test_stack_traces(sandbox):
    result = sandbox.run("function named() { return getCurrentStackTrace() }\nconst e = new Error('x');\nreturn [named(), e.trace]")
    current, trace = result.value
    assert "named" in current and "main" in current
    assert "main" in trace
    thrown = sandbox.run("function inner() { throw new Error('boom') }\ninner()")
    assert "inner" in thrown.fault.trace and "main" in thrown.fault.trace


def test_thrown_values_become_faults(sandbox):
    # The sandbox makes a kError fault (errCode script.error.unspecified) of a thrown value; its
    # caller gets the server registry's code for that registered errCode, kScriptError, and the
    # message as reason (fidelity.md §10, "What a caller receives when a script throws").
    string = sandbox.run("throw 'plain text'")
    assert (string.fault.code, string.fault.status, string.fault.message, string.fault.reason) == ("kScriptError", 500, "plain text", "plain text")
    obj = sandbox.run("throw {message: 'an object', reason: 'why'}")
    assert (obj.fault.code, obj.fault.message, obj.fault.reason) == ("kScriptError", "an object", "why")
    fault_like = sandbox.run("throw {object: 'fault', errCode: 'cortex.notFound.instance', code: 'kNotFound', status: 404}")
    assert (fault_like.fault.errCode, fault_like.fault.status) == ("cortex.notFound.instance", 404)
    error = sandbox.run("throw new Error('boom')")
    assert error.fault.to_json()["errCode"] == "script.error.unspecified"
    assert error.fault.message == "boom"


def test_in_script_fault_api(sandbox):
    result = sandbox.run(
        """
        const f = Fault.create('cortex.notFound.instance', {reason: 'c_x 123 not found'});
        const k = Fault.create('kValidationError');
        const parent = Fault.create('kError'); parent.add(Fault.create('kNotFound')); parent.add({message: 'child'});
        Fault.addCode('kTeapot', 'error', 418, 'I am a teapot');
        return [f.code, f.statusCode, f.message, f.reason, k.errCode, k.name, Fault.create('kError').toString(),
                parent.toJSON().faults.length, Fault.create('kTeapot').statusCode, Fault.isFault(new Error('x')),
                new Error('x').toJSON().object, Fault.from({a: 1}), Fault.from({a: 1}, true).code]
        """
    )
    assert result.value == [
        "kNotFound", 404, "Resource not found", "c_x 123 not found", "script.validation.unspecified", "validation",
        "error kError: Error", 2, 418, False, "fault", None, "kError",
    ]


@pytest.fixture(scope="module")
def echo_sandbox() -> Sandbox:
    return Sandbox(host_api=FaultyModule())


def test_values_round_trip_the_bridge(echo_sandbox):
    result = echo_sandbox.run(
        """
        const echo = require('faulty').echo;
        const value = {date: new Date(Date.UTC(2020, 1, 3, 4, 5, 6, 789)), id: new ObjectID('4a232bca18759fcbdef24855'),
                       bytes: new Uint8Array([0, 1, 254, 255]), u: undefined, n: null, big: 2n ** 70n,
                       list: [undefined, null, 1.5], odd: {$cx: 'not a tag'}, text: 'ünïcode'};
        const back = echo(value);
        return {
          back,
          checks: [back.date instanceof Date, back.date.getTime() === value.date.getTime(), back.id instanceof ObjectID,
                   back.id.equals(value.id), back.bytes instanceof Uint8Array, Array.from(back.bytes).join(','),
                   'u' in back, back.u === undefined, back.n === null, back.big === value.big,
                   back.list[0] === undefined, 0 in back.list, back.odd.$cx, back.text]
        }
        """
    )
    assert result.ok, result.fault
    assert result.value["checks"] == [True, True, True, True, True, "0,1,254,255", True, True, True, True, True, True, "not a tag", "ünïcode"]
    back = result.value["back"]
    assert back["date"] == datetime(2020, 2, 3, 4, 5, 6, 789000, tzinfo=timezone.utc)
    assert back["id"] == ObjectId("4a232bca18759fcbdef24855")
    assert back["bytes"] == b"\x00\x01\xfe\xff"
    assert back["u"] is UNDEFINED and back["n"] is None
    assert back["big"] == 2**70
    assert back["odd"] == {"$cx": "not a tag"}


def test_python_values_reach_the_script_typed(echo_sandbox):
    arguments = {"when": datetime(2021, 1, 1, tzinfo=timezone.utc), "id": ObjectId("4a232bca18759fcbdef24855"),
                 "blob": b"\x01\x02", "huge": 2**64, "none": None}
    result = echo_sandbox.run(
        "const a = script.arguments; return [a.when instanceof Date, a.when.toISOString(), a.id instanceof ObjectID, a.blob instanceof Uint8Array, typeof a.huge, a.huge === 2n ** 64n, a.none === null]",
        arguments=arguments,
    )
    assert result.value == [True, "2021-01-01T00:00:00.000Z", True, True, "bigint", True, True]


def test_unmarshallable_result_is_a_fault(sandbox):
    result = sandbox.run("const a = {}; a.self = a; return a")
    assert result.fault.errCode == "script.error.marshalling"


def test_two_timeouts_and_an_async_function_settle_in_order(sandbox):
    result = sandbox.run(
        """
        const order = [];
        setTimeout(() => order.push('100ms'), 100);
        setTimeout(() => order.push('10ms'), 10);
        (async function awaiter() { await Promise.resolve(); order.push('async'); })();
        return order;
        """
    )
    assert result.ok, result.fault
    assert result.value == ["async", "10ms", "100ms"]


def test_main_return_value_is_the_result_even_with_timers(sandbox):
    result = sandbox.run("let late = 'main'; setTimeout(() => { late = 'timer' }, 5); return late")
    assert result.value == "main"


def test_uncleared_interval_is_stopped_by_the_time_limit(sandbox):
    limits = limits_for("route").with_overrides(timeout_ms=300)
    result = sandbox.run("let n = 0; setInterval(() => { n++ }, 1); return 'main'", limits=limits)
    assert result.fault is not None
    assert result.fault.errCode == "script.timeout.execution"
    assert result.fault.status == 408


def test_syntax_error_reports_line_and_column(sandbox):
    result = sandbox.run("const ok = 1;\nconst broken = ';\n")
    assert result.fault.errCode == "cortex.invalidArgument.scriptCompilation"
    assert result.fault.code == "kScriptCompilationError"
    assert result.fault.reason == "Unterminated string constant (line 2, column 16)"
    babel = sandbox.run("import x from 'y'\nclass { }")
    assert babel.fault.reason == "Unexpected token (line 2, column 7)"


def test_missing_module_fault_is_catchable(sandbox):
    result = sandbox.run("try { require('no_such_module') } catch (e) { return [e instanceof Fault, e.code, e.statusCode] }")
    assert result.value == [True, "kNotFound", 404]
