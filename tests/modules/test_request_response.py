"""require('request') and require('response') in custom routes (modules.md sections 12-13,
acceptance facts 41-44), and the argument of decorated route handlers
(decorators-expressions.md section 3.1)."""

from __future__ import annotations

import gc
import json

import pytest
from starlette.testclient import TestClient

from cortex_runtime.runtime import Runtime
from cortex_runtime.server import scripts_thread
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator

from ..server.test_runner import KEY, SECRET, signed

ROUTES = {
    # name: (method, path, script)
    "c_multiply": ("get", "multiply/:a/:b", "const req = require('request'); return {a: req.params.a, type: typeof req.params.a, product: req.params.a * req.params.b}"),
    "c_query": ("get", "query", "return require('request').query.bar"),
    "c_echo": ("post", "echo", "const b = require('request').body; return {type: typeof b, body: b}"),
    "c_xml": ("get", "xml", "const res = require('response'); res.setHeader('Content-Type', 'text/xml'); res.write('<a>1</a>')"),
    "c_fields": (
        "get",
        "fields",
        """const req = require('request')
        return {_id: String(req._id), method: req.method, path: req.path, url: req.url, host: req.host, ip: req.ip, ipv4: req.ipv4,
          locale: req.locale, client: req.client, headers: req.headers, custom: req.getHeader('X-Custom'), object: req.object,
          frozen: Object.isFrozen(req) && Object.isFrozen(req.headers)}""",
    ),
    "c_cookie": ("get", "cookie", "return require('request').getCookie(require('request').query.name)"),
    "c_status": ("get", "status", "const res = require('response'); return [res.setStatusCode(202), res.write('okay!'), res.write(123), res.write('')]"),
    "c_clamp": ("get", "clamp", "require('response').setStatusCode(1.5); require('response').write('x')"),
    "c_header": ("get", "header", "const res = require('response'); const name = require('request').query.name; return res.setHeader(name, 'v')"),
    "c_undefined": ("get", "undefined", "return require('response').setHeader('x-a', undefined)"),
    "c_written": ("get", "written", "const res = require('response'); res.write('a'); try { res.setHeader('x-late', '1') } catch (e) { res.write(' ' + e.errCode) }"),
    "c_ended": ("get", "ended", "const res = require('response'); res.end('done'); return [res.end(), (function () { try { res.write('x') } catch (e) { return e.errCode } })()]"),
    "c_headers": ("get", "headers", "const res = require('response'); res.setHeaders({'X-One': 1}); res.setHeaders([['x-two', 'two']]); res.end('ok')"),
    "c_redirect": ("get", "redirect", "require('response').redirect('https://example.com/next'); return 'ignored'"),
    "c_redirect301": ("get", "redirect301", "require('response').redirect(301, '/elsewhere', 'moved')"),
    "c_setcookie": (
        "get",
        "setcookie",
        "const res = require('response'); res.setCookie('c_plain', 'v 1', {httpOnly: true, maxAge: 60000}); res.setCookie('c_signed', 'secret', {signed: true}); res.clearCookie('c_gone'); return 1",
    ),
    "c_badcookie": ("get", "badcookie", "return require('response').setCookie(require('request').query.name, 'x')"),
    "c_return_ignored": ("get", "ignored", "require('response').write('raw'); return {not: 'this'}"),
}

DECORATED = """
const { route } = require('decorators')

class Api {
  @route('POST c_args', { name: 'c_args' })
  static args({ body, req, res, next, runtime }) {
    res.setHeader('x-handler', 'args')
    return {
      bodyType: typeof body, whole: body(), deep: body('a.b'), missing: body('a.nope'), proto: body('constructor'),
      length: body.getLength('list'), isArray: body.isArray('list'), typeOf: body.typeOf('a'),
      sameBody: req.body === body, reqQuery: req.query.q, resType: typeof res.setHeader, nextType: typeof next,
      runtimeName: runtime.name, runtimeType: runtime.type, path: runtime.configuration.path, method: runtime.configuration.method,
    }
  }

  @route('POST c_layered', { name: 'c_layer_first', weight: 2 })
  static first({ body, req, res, next }) {
    body('a.b', 42)
    body('added', 'by first')
    body('constructor', 'ignored')
    req.memo('seen.first', true)
    res.setHeader('x-first', 'yes')
    next()
  }

  @route('POST c_layered', { name: 'c_layer_second', weight: 1 })
  static second({ body, req }) {
    return { b: body('a.b'), added: body('added'), keep: body('keep'), proto: body('constructor'), memo: req.memo('seen'), all: req.memo() }
  }

  @route('PUT c_classic', { name: 'c_to_classic', weight: 5 })
  static toClassic({ body, next }) { body('n', 7); next() }
}
module.exports = Api
"""


@pytest.fixture(scope="module")
def api():
    gc.collect()  # earlier tests' engines belong to this thread: free them here, not on a scripts thread
    runtime = Runtime()
    org, admin = runtime.orgs.create("rr")
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="c_local_app", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    layer = runtime.layer(org, admin)
    for name, (method, path, script) in ROUTES.items():
        layer.insert_one("script", {"label": name, "name": name, "type": "route", "script": script, "configuration": {"method": method, "path": path}}, {})
    layer.insert_one("script", {"label": "c_classic", "name": "c_classic", "type": "route", "script": "return require('request').body", "configuration": {"method": "put", "path": "c_classic"}}, {})
    layer.insert_one("script", {"label": "c_api", "name": "c_api", "type": "library", "script": DECORATED, "configuration": {"export": "c_api"}}, {})
    before = set(scripts_thread._LIVE)
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    yield client, runtime, org, admin
    # Engines are freed on the threads that made them, not by a later garbage collection.
    for scripts in set(scripts_thread._LIVE) - before:
        scripts.stop()
    runtime.sandbox.release()


@pytest.fixture
def fresh():
    """A runtime of its own whose engines are freed on this thread when the test ends."""
    runtime = Runtime()
    org, admin = runtime.orgs.create("fresh")
    yield runtime, org, admin
    runtime.sandbox.release()


def call(client, method, path, content=None, **headers):
    route = "/routes/" + path.split("?")[0]
    return client.request(method, "/rr/v2" + "/routes/" + path, headers={**signed(route, method), **headers}, content=content)


def data(response):
    body = response.json()
    assert body.get("object") != "fault", body
    return body["data"]


# ---- acceptance facts 41-44 ------------------------------------------------------------


def test_fact_41_params_are_strings_and_multiply(api):
    client, *_ = api
    assert data(call(client, "GET", "multiply/3/4")) == {"a": "3", "type": "string", "product": 12}


def test_fact_42_query(api):
    client, *_ = api
    assert data(call(client, "GET", "query?bar=baz")) == "baz"


def test_fact_43_json_body_is_an_object_and_text_body_is_raw(api):
    client, *_ = api
    assert data(call(client, "POST", "echo", json.dumps({"x": [1]}))) == {"type": "object", "body": {"x": [1]}}
    text = call(client, "POST", "echo", "just text", **{"content-type": "text/plain"})
    assert data(text) == {"type": "string", "body": "just text"}


def test_fact_44_content_type_and_written_body(api):
    client, *_ = api
    response = call(client, "GET", "xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == "<a>1</a>"


# ---- request ------------------------------------------------------------------------------


def test_request_fields_and_hidden_headers(api):
    client, *_ = api
    response = call(
        client,
        "GET",
        "fields?x=1",
        **{
            "x-custom": "hello",
            "x-forwarded-for": "203.0.113.7, 10.0.0.1",
            "medable-csrf-token": "t",
            "cookie": "md.session=s; c_mine=1; medable_x=2",
            "accept-language": "fr-CA,fr;q=0.8",
        },
    )
    out = data(response)
    assert out["method"] == "GET" and out["path"] == "/routes/fields" and out["url"] == "/routes/fields?x=1"
    assert (out["ip"], out["ipv4"], out["host"], out["locale"], out["object"]) == ("203.0.113.7", "203.0.113.7", "testserver", "fr_CA", None)
    assert len(out["_id"]) == 24
    assert out["client"]["key"] == KEY and out["client"]["name"] == "c_local_app"
    headers = out["headers"]
    assert headers["x-custom"] == "hello" and out["custom"] == "hello"  # getHeader is case-insensitive
    assert not {"x-forwarded-for", "x-real-ip", "medable-csrf-token"} & set(headers)
    assert headers["cookie"] == "c_mine=1"  # md*/medable* cookies are the platform's
    assert out["frozen"] is True


def test_get_cookie_rules(api):
    client, runtime, org, admin = api
    assert data(call(client, "GET", "cookie?name=c_mine", cookie="c_mine=hi%20there")) == "hi there"
    assert data(call(client, "GET", "cookie?name=c_absent", cookie="c_mine=1")) is None
    reserved = call(client, "GET", "cookie?name=md.session", cookie="md.session=x").json()
    assert (reserved["code"], reserved["reason"]) == ("kAccessDenied", "md and medable cookies are reserved.")
    blank = call(client, "GET", "cookie?name=").json()
    assert (blank["code"], blank["reason"]) == ("kInvalidArgument", "Missing cookie name")
    # Without an HTTP request there is no cookie.
    assert runtime.run("return require('request').getCookie('c_mine')", org=org, principal=admin).value is None


# ---- response -----------------------------------------------------------------------------


def test_status_and_write_convert_values(api):
    client, *_ = api
    response = call(client, "GET", "status")
    assert (response.status_code, response.text) == (202, "okay!123")
    assert call(client, "GET", "clamp").status_code == 200  # a non-integer status is 200


@pytest.mark.parametrize(
    ("name", "err_code", "reason"),
    [
        ("Server", "cortex.accessDenied.unspecified", "Header server cannot be set."),
        ("set-cookie", "cortex.accessDenied.unspecified", "Header set-cookie cannot be set."),
        ("Vary", "cortex.accessDenied.unspecified", "Header vary cannot be set."),
        ("medable-anything", "cortex.accessDenied.unspecified", "Header medable-anything cannot be set."),
        ("md-thing", "cortex.accessDenied.unspecified", "Header md-thing cannot be set."),
        ("bad name", "cortex.invalidArgument.unspecified", "Invalid response header name: bad name"),
        ("", "cortex.invalidArgument.unspecified", "Invalid response header name: "),
    ],
)
def test_blocked_and_invalid_header_names(api, name, err_code, reason):
    client, *_ = api
    response = call(client, "GET", f"header?name={name}")
    body = response.json()
    assert (body["object"], body["errCode"], body["reason"]) == ("fault", err_code, reason)
    assert "Traceback" not in response.text


def test_header_with_undefined_value_is_a_no_op(api):
    client, *_ = api
    assert data(call(client, "GET", "undefined")) is False
    assert data(call(client, "GET", "header?name=X-Fine")) is True


def test_headers_written_fault_and_end(api):
    client, *_ = api
    late = call(client, "GET", "written")
    assert late.text == "a script.error.headersWritten" and "x-late" not in late.headers
    ended = call(client, "GET", "ended")
    assert ended.text == "done"  # the return value is ignored once the response was written
    headers = call(client, "GET", "headers")
    assert (headers.headers["x-one"], headers.headers["x-two"], headers.text) == ("1", "two", "ok")
    assert call(client, "GET", "ignored").text == "raw"


def test_second_end_is_false_and_write_after_end_faults(fresh):
    # A run with a request but no route table: end() then write() inside one script.
    runtime, org, admin = fresh
    out = runtime.run(
        "const res = require('response'); res.end('x'); return [res.end(), (function () { try { res.write('y'); return 'wrote' } catch (e) { return e.errCode } })()]",
        org=org,
        principal=admin,
        request={"method": "GET", "path": "/routes/x", "headers": {}, "query": {}, "params": {}, "body": None},
    )
    assert out.value == [False, "script.error.headersWritten"]
    assert out.response["body"] == "x"


def test_redirect(api):
    client, *_ = api
    found = client.get("/rr/v2/routes/redirect", headers=signed("/routes/redirect", "GET"), follow_redirects=False)
    assert (found.status_code, found.headers["location"], found.text) == (302, "https://example.com/next", "")
    moved = client.get("/rr/v2/routes/redirect301", headers=signed("/routes/redirect301", "GET"), follow_redirects=False)
    assert (moved.status_code, moved.headers["location"], moved.text) == (301, "/elsewhere", "moved")


def test_cookies_are_set_cleared_and_signed_ones_read_back(api):
    client, *_ = api
    response = call(client, "GET", "setcookie")
    assert data(response) == 1
    cookies = response.headers.get_list("set-cookie")
    plain = next(c for c in cookies if c.startswith("c_plain="))
    assert plain.startswith("c_plain=v%201;") and "Max-Age=60" in plain and "HttpOnly" in plain and "Path=/rr" in plain
    signed_cookie = next(c for c in cookies if c.startswith("c_signed="))
    assert signed_cookie.startswith("c_signed=s%3Asecret.")
    gone = next(c for c in cookies if c.startswith("c_gone="))
    assert "Expires=Thu, 01 Jan 1970" in gone
    value = signed_cookie.split(";")[0].split("=", 1)[1]
    assert data(call(client, "GET", "cookie?name=c_signed", cookie=f"c_signed={value}")) == "secret"
    forged = call(client, "GET", "cookie?name=c_signed", cookie="c_signed=s%3Asecret.forged")
    assert data(forged) is None


@pytest.mark.parametrize(("name", "code"), [("md.x", "kAccessDenied"), ("Medable_y", "kAccessDenied"), ("", "kInvalidArgument")])
def test_reserved_and_blank_cookie_names(api, name, code):
    client, *_ = api
    assert call(client, "GET", f"badcookie?name={name}").json()["code"] == code


def test_response_outside_an_http_request_returns_false(fresh):
    runtime, org, admin = fresh
    script = "const res = require('response'); return [res.setHeader('x-a', '1'), res.setStatusCode(201), res.write('x'), res.setCookie('c_a', '1'), res.end()]"
    out = runtime.run(script, org=org, principal=admin, script_type="job")
    assert out.value == [False] * 5 and out.response is None


# ---- decorated route handlers --------------------------------------------------------------


def test_decorated_route_handler_receives_body_req_res_next_runtime(api):
    client, *_ = api
    response = call(client, "POST", "c_args?q=1", json.dumps({"a": {"b": "deep"}, "list": [1, 2, 3]}))
    out = data(response)
    assert response.headers["x-handler"] == "args"
    assert out == {
        "bodyType": "function",
        "whole": {"a": {"b": "deep"}, "list": [1, 2, 3]},
        "deep": "deep",
        "proto": None,
        "length": 3,
        "isArray": True,
        "typeOf": "object",
        "sameBody": True,
        "reqQuery": "1",
        "resType": "function",
        "nextType": "function",
        "runtimeName": "c_args",
        "runtimeType": "route",
        "path": "c_args",
        "method": "post",
    }  # "missing" is undefined, so not in the JSON


def test_layered_body_change_is_seen_by_the_next_handler(api):
    client, *_ = api
    response = call(client, "POST", "c_layered", json.dumps({"a": {"b": 1}, "keep": "me"}))
    assert data(response) == {"b": 42, "added": "by first", "keep": "me", "proto": None, "memo": {"first": True}, "all": {"seen": {"first": True}}}
    assert response.headers["x-first"] == "yes"  # one response for all the layers


def test_classic_route_after_a_decorated_layer_gets_the_changed_parsed_body(api):
    client, *_ = api
    assert data(call(client, "PUT", "c_classic", json.dumps({"n": 1, "m": 2}))) == {"n": 7, "m": 2}
