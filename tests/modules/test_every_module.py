"""One route script that uses the happy path of every module of the first modules issue; its
stats and its log record show what it did."""

from __future__ import annotations

from cortex_runtime.runtime import Runtime

SCRIPT = r"""
const logger = require('logger'), config = require('config'), cache = require('cache'),
      counters = require('counters'), crypto = require('crypto'), base64 = require('base64'),
      qs = require('qs'), debug = require('debug'), api = require('api'), paths = require('util.paths'),
      id = require('util.id'), aesjs = require('aes-js'), moment = require('moment-timezone'),
      schemas = require('schemas'), session = require('session'), req = require('request'),
      res = require('response')

logger.info('every module', 1)
logger.warn('and a warning')
console.log('console too')
config.set('c_every', {a: {b: 1}})
cache.set('c_every', {n: 2}, 60)
counters.next('c_every'); counters.next('c_every')
const key = aesjs.utils.utf8.toBytes('0123456789abcdef')
const cbc = new aesjs.ModeOfOperation.cbc(key, key)
res.setHeader('x-every', 'yes')
return {
  config: config.get('c_every.a.b'),
  cache: cache.get('c_every').n,
  counter: counters.get('c_every'),
  sha: crypto.sha256('abc'),
  base64: base64.decode(base64.encode('hello')),
  qs: qs.parse(qs.stringify({foo: 'bar', arr: ['a', 'b']})),
  echo: debug.echo(7),
  logs: api.logs({where: {src: 0}, limit: 5}).data.length >= 0,
  path: paths.to({a: {b: {c: 3}}}, 'a.b.c'),
  isId: id.isIdFormat('4a232bca18759fcbdef24855'),
  aes: aesjs.utils.hex.fromBytes(cbc.encrypt(aesjs.utils.utf8.toBytes('0123456789abcdef'))).length,
  ny: moment.tz('2026-03-08T07:00:00Z', 'America/New_York').format('HH:mm z'),
  schema: schemas.read('account').name,
  session: session.get('nothing') === undefined,
  query: req.query.q,
  ops: script.getOpsUsed() > 0 && script.getOpsRemaining() > 0,
  callouts: script.getCalloutsRemaining(),
  admin: script.principal.isOrgAdmin(),
  levels: consts.accessLevels.read
}
"""


def test_one_script_uses_every_module_and_its_record_shows_the_counts():
    runtime = Runtime()
    runtime.debug_module = True
    org, admin = runtime.orgs.create("every")
    request = {"method": "GET", "path": "/routes/every", "headers": {}, "query": {"q": "x"}, "params": {}, "body": None}
    result = runtime.run(SCRIPT, org=org, principal=admin, script_type="route", request=request, script_id=None)
    assert result.ok, result.fault and result.fault.to_json()
    value = result.plain()
    assert value == {
        "config": 1, "cache": 2, "counter": 2,
        "sha": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "base64": "hello", "qs": {"foo": "bar", "arr": ["a", "b"]}, "echo": 7, "logs": True, "path": 3, "isId": True,
        "aes": 32, "ny": "03:00 EDT", "schema": "account", "session": True, "query": "x", "ops": True, "callouts": 5,
        "admin": True, "levels": 4,
    }
    assert result.response and result.response["headers"].get("x-every") == "yes"
    assert [entry.level for entry in result.logs] == ["log"]
    # Every module call is a host call (the pure JS ones are not), counted in the stats ...
    assert result.stats.host_calls >= 15 and result.stats.ops > 0
    # ... and the run's record (src 2) carries them; each logger call left a record of its own (src 0).
    records = runtime.run(
        "return org.objects.logs.find().sort({_id: 1}).map(l => [l.src, l.lvl, l.ops, l.stp])", org=org, principal=admin
    ).plain()
    run_record = [r for r in records if r[0] == 2 and r[3] == "route"]
    assert run_record and run_record[0][2] == result.stats.ops
    assert [(r[0], r[1]) for r in records if r[0] == 0] == [(0, 2), (0, 1)]


def test_fact_90_without_a_request_the_response_methods_return_false():
    runtime = Runtime()
    org, admin = runtime.orgs.create("norequest")
    source = "const res = require('response'); return [res.setCookie('a', 'b'), res.setHeader('x-a', 'b'), res.write('x'), res.setStatusCode(202)]"
    result = runtime.run(source, org=org, principal=admin, script_type="job")
    assert result.ok, result.fault and result.fault.to_json()
    assert result.plain() == [False, False, False, False]
