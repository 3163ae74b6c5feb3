"""Runtime logging and the platform modules around it: logger, api, debug, console, and the
runtime decorators @log, @acl, @profile (modules.md §1, §5, §10, §30; decorators-expressions.md §2)."""

from __future__ import annotations

import time
import uuid
import pytest

from cortex_runtime.cli import build_parser
from cortex_runtime.objects.orgs import load_principal
from cortex_runtime.objects.roles import OrgPrincipals
from cortex_runtime.runtime import Runtime


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


@pytest.fixture()
def org_admin(runtime, request):
    return runtime.orgs.create("lg" + uuid.uuid4().hex[:12])


def run(runtime, org, principal, source, **kw):
    result = runtime.run(source, org=org, principal=principal, **kw)
    return result.value if result.ok else result.fault.to_json()


# ---- logger (fact 3, 35, 84) ----------------------------------------------------------


def test_each_logger_call_is_its_own_record_with_level_src_and_trace(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, """
      const logger = require('logger')
      const r = [logger.error('e'), logger.warn({id: 1}, 'slow'), logger.info('take that!'), logger.debug('d'), logger.trace('t')]
      return r.map(v => v === undefined)
    """, script_type="route")
    assert out == [True] * 5
    records = run(runtime, org, admin, "return org.objects.logs.find({src: 0}).sort({_id: 1}).map(l => [l.src, l.lvl, l.dat, l.stp, Array.isArray(l.trc) && l.trc.length > 0, l.pid.equals(script.principal._id)])")
    assert records == [
        [0, 0, ["e"], "route", True, True],
        [0, 1, [{"id": 1}, "slow"], "route", True, True],
        [0, 2, ["take that!"], "route", True, True],
        [0, 3, ["d"], "route", True, True],
        [0, 4, ["t"], "route", True, True],
    ]
    # the trace starts at the caller, not inside the logger module
    trace = run(runtime, org, admin, "return org.objects.logs.find({src: 0, lvl: 0}).next().trc")
    assert "main" in trace[0]


def test_logger_level_filters_in_the_sandbox_and_unknown_levels_are_ignored(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, """
      const logger = require('logger')
      const before = logger.level
      logger.level = 'warn'; logger.info('dropped'); logger.warn('kept')
      logger.level = 'nonsense'
      return [before, logger.level]
    """)
    assert out == ["trace", "warn"]
    assert run(runtime, org, admin, "return org.objects.logs.find({src: 0}).map(l => l.dat[0])") == ["kept"]


def test_logger_is_bounded_and_never_throws_on_its_arguments(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, """
      const logger = require('logger')
      const o = {}; o.self = o
      const many = []; for (let i = 0; i < 150; i++) many.push(i)
      logger.info(o)
      logger.info.apply(null, many)
      logger.info('x'.repeat(200000))
      return 'ok'
    """)
    assert out == "ok"
    dat = run(runtime, org, admin, "return org.objects.logs.find({src: 0}).sort({_id: 1}).map(l => l.dat)")
    assert "circular" in dat[0][0]
    assert dat[1] == list(range(100))  # at most 100 arguments, the rest cut silently
    assert dat[2][0].startswith("[logger arguments cut")


def test_logger_records_are_visible_through_api_logs(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, """
      require('logger').info('x')
      const api = require('api')
      const res = api.logs({where: {src: consts.logs.sources.logger}})
      return res.data.map(r => [r.src, r.lvl, r.dat])
    """)
    assert out == [[0, 2, ["x"]]]


# ---- api.logs / api.stats / api.principal (facts 1, 2, 66) -----------------------------


def test_api_logs_filters_sorts_limits_and_groups(runtime, org_admin):
    org, admin = org_admin
    for _ in range(3):
        run(runtime, org, admin, "return 1", script_type="route")
    run(runtime, org, admin, "throw Fault.create('kNotFound', {reason: 'gone'})", script_type="job")
    out = run(runtime, org, admin, """
      const api = require('api')
      const script = api.logs({where: {src: consts.logs.sources.script}})
      const since = new ObjectID(new Date(Date.now() - 864e5))
      return {
        every: script.data.length > 0 && script.data.every(r => r.src === 2),
        object: script.object,
        one: api.logs({limit: 1}).data.length,
        defaultLimit: api.logs({}).data.length,
        badLimit: api.logs({limit: 'x'}).data.length,
        since: api.logs({where: {_id: {$gte: since}, src: 2}, limit: 10}).data.every(r => r.src === 2),
        jobs: api.logs({where: {stp: 'job'}}).data.map(r => [r.lvl, r.sts, r.err.reason]),
        grouped: api.logs({where: {src: 2}, group: {_id: '$stp', n: {$count: '_id'}}, sort: {_id: 1}}).data,
        piped: api.logs({pipeline: [{$match: {stp: 'job'}}, {$project: {sts: 1}}]}).data.map(r => r.sts),
      }
    """)
    assert out["every"] and out["object"] == "list"
    assert out["one"] == 1 and out["defaultLimit"] <= 10 and out["badLimit"] <= 10
    assert out["since"]
    assert out["jobs"] == [[0, 404, "gone"]]
    assert {g["_id"]: g["n"] for g in out["grouped"]}["route"] == 3
    assert out["piped"] == [404]


def test_api_logs_bad_arguments_are_faults(runtime, org_admin):
    org, admin = org_admin
    assert run(runtime, org, admin, "return require('api').logs({bogus: 1})")["errCode"] == "cortex.invalidArgument.unspecified"
    assert run(runtime, org, admin, "return require('api').logs('where')")["errCode"] == "cortex.invalidArgument.unspecified"
    not_indexed = run(runtime, org, admin, "return require('api').logs({where: {dat: 1}})")
    assert not_indexed["errCode"] == "cortex.invalidArgument.query"
    mixed = run(runtime, org, admin, "return require('api').logs({where: {src: 2}, pipeline: []})")
    assert mixed["code"] == "kInvalidArgument"
    assert run(runtime, org, admin, "return require('api').stats({where: {$where: 'x'}})")["code"] == "kInvalidArgument"
    assert "Traceback" not in str(run(runtime, org, admin, "return require('api').logs({skip: -1})"))


def test_api_stats_aggregates_script_runs_per_hour(runtime, org_admin):
    org, admin = org_admin
    run(runtime, org, admin, "return 1", script_type="route")
    run(runtime, org, admin, "return 2", script_type="route")
    run(runtime, org, admin, "throw new Error('x')", script_type="job")
    out = run(runtime, org, admin, """
      const api = require('api')
      const scripts = api.stats({where: {code: consts.stats.sources.scripts}, limit: 50}).data
      return {
        scripts: scripts.map(s => [s.object, s.code, s.s_type, s.count, s.errors, s.ending - s.starting]),
        logins: api.stats({where: {code: consts.stats.sources.logins}}),
        one: api.stats({limit: 1}).data.length,
        routes: api.stats({where: {s_type: 'route'}}).data.map(s => s.count),
      }
    """)
    by_type = {row[2]: row for row in out["scripts"]}
    assert by_type["route"][:5] == ["stat", 5, "route", 2, 0] and by_type["route"][5] == 3_600_000
    assert by_type["job"][3:5] == [1, 1]
    # logins are not tracked here: the list is empty, and every element (none) has code 3 (fact 2)
    assert out["logins"]["data"] == [] and all(s["code"] == 3 for s in out["logins"]["data"])
    assert out["one"] == 1 and out["routes"] == [2]


def test_api_logs_and_stats_are_for_administrators_and_developers(runtime, org_admin):
    org, admin = org_admin
    created = run(runtime, org, admin, "return org.objects.accounts.provision({email: 'plain@example.com', name: {first: 'P', last: 'L'}}, {skipVerification: true, skipNotification: true})._id")
    plain = load_principal(runtime.store, org._id, "plain@example.com")
    assert created is not None
    for call in ("logs", "stats"):
        denied = run(runtime, org, plain, f"return require('api').{call}({{}})")
        assert denied["errCode"] == "cortex.accessDenied.unspecified", denied
    # logger records anyone can write; reading them needs the role
    assert run(runtime, org, plain, "require('logger').info('from plain'); return 1") == 1


def test_api_principal_create_gives_the_principal(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, """
      const api = require('api')
      const p = api.principal.create(script.principal._id)
      return [p.email === script.principal.email, String(p._id) === String(script.principal._id), typeof api.stats({limit: 1}).data.length, typeof api.logs({limit: 1}).data.length]
    """)
    assert out == [True, True, "number", "number"]
    by_email = run(runtime, org, admin, "return require('api').principal.create(script.principal.email)._id.equals(script.principal._id)")
    assert by_email is True
    assert run(runtime, org, admin, "return require('api').principal.create(42)")["errCode"] == "cortex.invalidArgument.unspecified"


# ---- debug (facts 59, 78) -------------------------------------------------------------


def test_debug_module_is_missing_unless_enabled(org_admin):
    rt = Runtime()
    org, admin = rt.orgs.create("dbgoff")
    missing = run(rt, org, admin, "return require('debug')")
    nothing = run(rt, org, admin, "return require('c_nothing_here_module')")
    absent = run(rt, org, admin, "return require('nosuchmodule')")
    assert missing["errCode"] == absent["errCode"] == "script.notFound.unspecified"
    assert missing["reason"] == "module not found: debug"
    assert nothing["code"] == "kNotFound"


def test_debug_echo_sleep_log_fault_when_enabled(capfd):
    rt = Runtime()
    rt.debug_module = True
    org, admin = rt.orgs.create("dbgon")
    started = time.monotonic()
    out = run(rt, org, admin, """
      const debug = require('debug')
      const t0 = Date.now()
      debug.sleep(1, true); debug.sleep(1)
      debug.sleep(200)
      debug.log('yoohoo')
      let f = null
      try { debug.fault('kNotFound') } catch (e) { f = e.code }
      return [debug.echo(123), debug.echo({a: [1]}), Date.now() - t0 >= 200, script.getTimeLeft() < 5000 - 200, f]
    """)
    assert time.monotonic() - started >= 0.2
    assert out == [123, {"a": [1]}, True, True, "kNotFound"]
    assert "yoohoo" in capfd.readouterr().err
    # sleeping counts against the script's time: past the limit the run times out
    timed_out = run(rt, org, admin, "require('debug').sleep(60000)", limits=None, script_type="route")
    assert timed_out["errCode"] == "script.timeout.execution"
    assert run(rt, org, admin, "return require('debug').sleep(-1)")["errCode"] == "cortex.invalidArgument.unspecified"


def test_serve_has_a_debug_module_flag():
    parser = build_parser()
    assert parser.parse_args(["serve", "--debug-module"]).debug_module is True
    assert parser.parse_args(["serve"]).debug_module is False


# ---- console (facts 20, 75) -----------------------------------------------------------


def test_console_levels_are_captured_and_deprecated_methods_do_nothing(runtime, org_admin):
    org, admin = org_admin
    result = runtime.run("""
      const r = [console.log('a', 1), console.info('i'), console.error('e'), console.warn('w')]
      console.time('t'); console.timeEnd('unknown'); console.count(); console.table([1]); console.assert(false)
      console.group('g'); console.groupEnd(); console.groupCollapsed()
      console.log('x'.repeat(245000))
      const o = {}; o.o = o; console.log(o)
      return [r.map(v => v === undefined), typeof console.debug]
    """, org=org, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    assert result.value == [[True] * 4, "undefined"]
    assert [(e.level, e.values) for e in result.logs] == [("log", ["a", 1]), ("info", ["i"]), ("error", ["e"]), ("warn", ["w"])]
    assert all(e.trace for e in result.logs)
    # console output is not a log record (the platform keeps console records apart)
    assert run(runtime, org, admin, "return org.objects.logs.count({src: 0})") == 0


# ---- the run's own record ---------------------------------------------------------------


def test_run_record_carries_ids_and_the_fault_trace(runtime, org_admin):
    org, admin = org_admin
    run(runtime, org, admin, "function boom() { throw new Error('boom') } boom()", script_type="job")
    rec = runtime.store.logs.find_one({"org": org._id, "src": 2, "stp": "job"})
    assert rec["lvl"] == 0 and rec["pid"] == admin._id and rec["oid"] == admin._id
    assert isinstance(rec["trc"], list) and any("boom" in line for line in rec["trc"])
    assert (rec["exp"] - rec["beg"]).days == 30


# ---- @acl (decorators-expressions.md §2.1; facts 32-34) ---------------------------------

ACL_LIBRARY = """
const { acl, log } = require('decorators')
class Guarded {
  @acl('role', 'administrator', 'account', 'friend@example.com')
  static adminOrFriend() { return 'in' }

  @acl('role', ['support', 'c_reviewer'])
  static reviewer() { return 'reviewed' }

  @acl('role', 'administrator')
  @acl('account', 'boss@example.com')
  static both() { return 'both' }

  @acl('assert', (principal, a) => a === 'knock')
  static knock(a) { return 'opened' }

  @acl('account', ['x@y.com', script.principal._id])
  static byId() { return 'me' }
}
module.exports = Guarded
"""


def _deploy(runtime, org, admin, name, source):
    layer = runtime.layer(org, admin)
    layer.insert_one("script", {"label": name, "name": name, "type": "library", "script": source, "configuration": {"export": name}}, {})


def test_acl_pairs_roles_accounts_asserts_and_custom_role_codes(runtime, org_admin):
    org, admin = org_admin
    OrgPrincipals(runtime.store, org._id).create_role({"name": "Reviewer", "code": "c_reviewer"})
    reviewer_role = OrgPrincipals(runtime.store, org._id).role("c_reviewer")["_id"]
    for email, roles in (("friend@example.com", []), ("rev@example.com", [reviewer_role]), ("nobody@example.com", [])):
        runtime.layer(org, admin).provision({"email": email, "name": {"first": "F", "last": "L"}, "roles": roles}, {"skipVerification": True, "skipNotification": True})
    _deploy(runtime, org, admin, "c_guarded", ACL_LIBRARY)
    call = "const G = require('c_guarded'); const out = {}; for (const m of ['adminOrFriend', 'reviewer', 'both', 'byId']) { try { out[m] = G[m]() } catch (e) { out[m] = e.errCode } }; try { out.knock = G.knock('knock') } catch (e) { out.knock = e.errCode }; try { out.x = G.knock('x') } catch (e) { out.x = e.errCode }; return out"
    denied = "script.accessDenied.acl"
    as_admin = run(runtime, org, admin, call)
    assert as_admin == {"adminOrFriend": "in", "reviewer": "reviewed", "both": denied, "byId": "me", "knock": "opened", "x": denied}
    friend = load_principal(runtime.store, org._id, "FRIEND@example.com")
    assert run(runtime, org, friend, call)["adminOrFriend"] == "in"
    reviewer = load_principal(runtime.store, org._id, "rev@example.com")
    assert run(runtime, org, reviewer, call)["reviewer"] == "reviewed"
    nobody = load_principal(runtime.store, org._id, "nobody@example.com")
    out = run(runtime, org, nobody, call)
    assert out["adminOrFriend"] == out["reviewer"] == denied and out["knock"] == "opened"
    fault = run(runtime, org, nobody, "try { require('c_guarded').reviewer() } catch (e) { return [e.code, e.statusCode, e.message] }")
    assert fault == ["kAccessDenied", 403, "Insufficient script access."]


@pytest.mark.parametrize(
    ("decorator", "expected"),
    [
        ("@acl('bogus', 1)", "script.invalidArgument.acl"),
        ("@acl()", "script.invalidArgument.acl"),
        ("@acl('assert', 'not a function')", "SyntaxError: @acl assert requires a function"),
    ],
)
def test_acl_bad_arguments_fail_when_the_class_is_defined(runtime, org_admin, decorator, expected):
    org, admin = org_admin
    source = "const { acl } = require('decorators'); try { class K { %s static m() { return 1 } } return 'defined' } catch (e) { return e instanceof SyntaxError ? e.name + ': ' + e.message : e.errCode }" % decorator
    out = run(runtime, org, admin, source)
    assert out == expected
    if expected.startswith("script."):
        reason = run(runtime, org, admin, source.replace(": e.errCode }", ": e.reason }"))
        assert reason.startswith("Unsupported or missing decorator acl type argument (")


def test_acl_on_a_non_function_is_a_syntax_error(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, "const { acl } = require('decorators'); try { class K { @acl('role', 'administrator') get x() { return 1 } } return 'defined' } catch (e) { return e.name + ': ' + e.message }")
    assert out == "SyntaxError: @acl can only be used on class functions"


# ---- @log / @profile (§2.3, §2.4; facts 36, 37) -----------------------------------------

LOG_LIBRARY = """
const { log } = require('decorators')
class Traced {
  @log({ traceError: true })
  static fails() { throw Fault.create('kNotFound', {reason: 'nope'}) }

  @log({ traceResult: true, target: 'logger', level: 'debug' })
  static works(a) { return a * 2 }

  @log({ traceOnlyErrors: true })
  static quiet() { return 'quiet' }

  @log({ environment: 'production' })
  static prodOnly() { return 'p' }

  @log({ roles: ['support'] })
  static supportOnly() { return 's' }

  @log({ target: (input, level, a) => { Traced.seen = [input.methodName, level, a] }, format: r => ({ methodName: r.methodName.toUpperCase() }) })
  static custom(a) { return a }

  @log
  static bare() { return 'b' }
}
module.exports = Traced
"""


def test_log_decorator_records_rethrows_and_targets(runtime, org_admin):
    org, admin = org_admin
    _deploy(runtime, org, admin, "c_traced", LOG_LIBRARY)
    result = runtime.run("""
      const T = require('c_traced')
      let err
      try { T.fails() } catch (e) { err = e }
      return [err.errCode, err.reason, T.works(21), T.quiet(), T.prodOnly(), T.supportOnly(), T.custom(7), T.seen, T.bare()]
    """, org=org, principal=admin)
    assert result.ok, result.fault and result.fault.to_json()
    assert "notFound" in result.value[0]  # the method's own fault, rethrown unchanged
    assert result.value[1:] == ["nope", 42, "quiet", "p", "s", 7, ["CUSTOM", "info", 7], "b"]
    entries = [(e.level, e.values[0]) for e in result.logs]
    (fails_level, fails), (bare_level, bare) = entries[0], entries[-1]
    assert fails_level == "info" and fails["className"] == "Traced" and fails["methodName"] == "fails"
    assert fails["err"]["reason"] == "nope" and isinstance(fails["ms"], int) and "lineNumber" in fails
    assert bare_level == "info" and bare["methodName"] == "bare" and "result" not in bare
    # quiet (traceOnlyErrors), prodOnly (other environment) and supportOnly (admin includes support) are logged or not:
    names = [values["methodName"] for _, values in entries]
    assert "quiet" not in names and "prodOnly" not in names and "supportOnly" in names
    logged = run(runtime, org, admin, "return org.objects.logs.find({src: 0, lvl: 3}).map(l => l.dat[0])")
    assert logged == [{"className": "Traced", "methodName": "works", "lineNumber": logged[0]["lineNumber"], "ms": logged[0]["ms"], "result": 42}]


def test_profile_is_a_no_op_without_an_enabled_profiler(runtime, org_admin):
    org, admin = org_admin
    out = run(runtime, org, admin, """
      const { profile } = require('decorators')
      class P { @profile static a() { return 1 } @profile('x.y') static b() { return 2 } }
      let bad
      try { class Q { @profile get z() { return 1 } } } catch (e) { bad = e.name + ': ' + e.message }
      return [P.a(), P.b(), bad]
    """)
    assert out == [1, 2, "SyntaxError: @profile can only be used on functions"]
