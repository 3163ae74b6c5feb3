"""Acceptance facts of modules.md (http §9, with the notifications counter) that the module tests
did not pin one by one: fact 80 (the request size limit lowered, over http and https), 81 (a
lowered ``maxCallouts``), 82 (TLS with a client certificate, every method), 83 (the org's
``maxCalloutRequestTimeout``), 95 (what an inline trigger sees of callouts and notifications) and
74 in the platform test's own form (a one-use link to an account, read at ``context/name/first``).

Everything runs against servers this file starts on loopback, let through with
``Runtime.callout_allow``; the ``loopback_only`` fixture of the http tests checks that no
connection and no name lookup leaves loopback.
"""

from __future__ import annotations

import gc
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cortex_runtime.config import limits_for
from cortex_runtime.modules.http import HttpModule
from cortex_runtime.runtime import Runtime

from .test_http import _self_signed, fake_resolve, loopback_only, server  # noqa: F401  (fixtures)


@pytest.fixture
def callouts(server):  # noqa: F811
    """A runtime whose http module may reach 127.0.0.1, with its org (settings are per org)."""
    gc.collect()
    runtime = Runtime()
    runtime.callout_allow = ["127.0.0.1"]
    module = next(m for m in runtime.modules._modules if isinstance(m, HttpModule))
    module.resolve = fake_resolve
    org, admin = runtime.orgs.create("facts")

    def run(source: str, arguments: dict | None = None, **kwargs):
        return runtime.run(source, org=org, principal=admin, arguments={"base": server, **(arguments or {})}, **kwargs)

    yield runtime, module, org, run
    runtime.sandbox.release()


def ok(result):
    assert result.ok, result.fault and result.fault.to_json()
    return result.plain()


def caught(run, call: str, **kwargs):
    source = (
        "const http = require('http'), base = script.arguments.base, args = script.arguments\n"
        f"try {{ {call}; return null }} catch (e) {{ return {{errCode: e.errCode, code: e.code, reason: e.reason}} }}"
    )
    return ok(run(source, **kwargs))


# ---- a TLS server that requires a client certificate -----------------------------------------


class MethodHandler(BaseHTTPRequestHandler):
    """GET answers 'get', DELETE 'delete', HEAD nothing; POST, PUT and PATCH echo the body with its
    content type. ``X-Client`` names the client certificate the handshake presented."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        if self.command in ("POST", "PUT", "PATCH"):
            body, kind = sent, self.headers.get("Content-Type", "application/octet-stream")
        else:
            body, kind = self.command.lower().encode(), "text/plain"
        peer = self.connection.getpeercert() or {}
        subject = dict(item[0] for item in peer.get("subject", ()))
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("X-Client", subject.get("commonName", "none"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


@pytest.fixture(scope="module")
def mutual_tls(tmp_path_factory):
    server_cert, server_key = _self_signed()
    client_cert, client_key = _self_signed()
    folder = tmp_path_factory.mktemp("mtls")
    (folder / "cert.pem").write_text(server_cert)
    (folder / "key.pem").write_text(server_key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=client_cert)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MethodHandler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"base": f"https://127.0.0.1:{httpd.server_address[1]}", "ca": server_cert, "cert": client_cert, "key": client_key}
    httpd.shutdown()
    httpd.server_close()


# ---- fact 80 -----------------------------------------------------------------------------------


def test_http_request_size_lowered_to_1000_over_http_and_https_fact_80(callouts, mutual_tls):
    _, module, _, run = callouts
    tls = mutual_tls
    module.max_request_bytes = 1000
    try:
        expected = {"errCode": "cortex.invalidArgument.unspecified", "code": "kInvalidArgument", "reason": "maxCalloutRequestSize exceeded."}
        assert caught(run, "http.post(base + '/length', {body: 'x'.repeat(1001)})") == expected
        https_call = "http.post(args.tls.base + '/', {body: 'x'.repeat(1001), ca: args.tls.ca, cert: args.tls.cert, key: args.tls.key})"
        assert caught(run, https_call, arguments={"tls": tls}) == expected
        # At the limit both go through: the refusal is the size rule, not the server.
        source = """
const http = require('http'), tls = script.arguments.tls, body = 'x'.repeat(1000)
return [http.post(script.arguments.base + '/length', {body}).body,
        http.post(tls.base + '/', {body, ca: tls.ca, cert: tls.cert, key: tls.key}).body.length]
"""
        assert ok(run(source, arguments={"tls": tls})) == ["1000", 1000]
    finally:
        module.max_request_bytes = HttpModule.max_request_bytes


# ---- fact 81 -----------------------------------------------------------------------------------


def test_http_nine_callouts_allowed_the_tenth_refused_failed_ones_included_fact_81(callouts):
    _, module, _, run = callouts
    module.max_response_bytes = 4000
    source = """
const http = require('http'), base = script.arguments.base, reasons = []
const calls = [
  () => http.get('https://'),
  () => http.get('ftp://x.org/'),
  () => http.get('http://example.org:21/'),
  () => http.get('http://192.168.0.1/'),
  () => http.get('https://api.medable.com/'),
  () => http.get(base + '/echo', {headers: {'x-pad': 'p'.repeat(5000)}}),
  () => http.post(base + '/echo', {body: 'x'.repeat(524289)}),
  () => http.get(base + '/echo').statusCode,
  () => http.head(base + '/echo').statusCode,
  () => http.get(base + '/echo').statusCode,
]
for (const call of calls) { try { reasons.push(call()) } catch (e) { reasons.push(e.reason) } }
return [reasons, script.getCalloutsRemaining()]
"""
    try:
        out = ok(run(source, limits=limits_for("route").with_overrides(callouts=9)))
    finally:
        module.max_response_bytes = HttpModule.max_response_bytes
    assert out == [
        [
            "Invalid url format.", "unsupported protocol", "access to port is prohibited (21)",
            "invalid or prohibited host ip address (192.168.0.1)", "access to host is prohibited (api.medable.com)",
            "Maximum callout response size exceeded.", "maxCalloutRequestSize exceeded.", 200, 200,
            "Callout limit exceeded.",
        ],
        0,
    ]


# ---- fact 82 -----------------------------------------------------------------------------------


def test_https_with_a_client_certificate_every_method_fact_82(callouts, mutual_tls):
    _, _, _, run = callouts
    source = """
const http = require('http'), tls = script.arguments.tls
const opts = {ca: tls.ca, cert: tls.cert, key: tls.key, ciphers: http.getCiphers().join(':')}
const json = JSON.stringify({sent: 'yes', n: 1})
const send = {...opts, body: json, headers: {'Content-Type': 'application/json'}}
const r = {}
for (const m of ['get', 'head', 'delete']) { const res = http[m](tls.base + '/', opts); r[m] = [res.statusCode, res.body, res.headers['x-client']] }
for (const m of ['post', 'put', 'patch']) { const res = http[m](tls.base + '/', send); r[m] = [res.statusCode, JSON.parse(res.body), res.headers['content-type']] }
// Without the client certificate the server refuses the handshake.
try { http.get(tls.base + '/', {ca: tls.ca}); r.without = 'answered' } catch (e) { r.without = e.errCode }
return r
"""
    out = ok(run(source, arguments={"tls": mutual_tls}, limits=limits_for("route").with_overrides(callouts=20)))
    assert out["get"] == [200, "get", "127.0.0.1"]
    assert out["head"] == [200, "", "127.0.0.1"]
    assert out["delete"] == [200, "delete", "127.0.0.1"]
    for m in ("post", "put", "patch"):
        assert out[m] == [200, {"sent": "yes", "n": 1}, "application/json"], m
    assert out["without"] == "cortex.error.unspecified"


# ---- fact 83 -----------------------------------------------------------------------------------


def test_http_org_max_callout_request_timeout_of_1_ms_is_a_timeout_fact_83(callouts):
    _, _, org, run = callouts
    org.settings["maxCalloutRequestTimeout"] = 1
    try:
        got = caught(run, "http.get(base + '/slow')")
    finally:
        del org.settings["maxCalloutRequestTimeout"]
    assert got == {"errCode": "cortex.timeout.unspecified", "code": "kTimeout", "reason": "Callout timed out."}
    # Without the org cap the same call is answered.
    assert ok(run("return require('http').get(script.arguments.base + '/slow').body")) == "late"


# ---- fact 95 (the http and notifications parts) --------------------------------------------------


def test_inline_trigger_callouts_and_notifications_fact_95(callouts):
    runtime, _, org, run = callouts
    ok(run("""
org.objects.objects.insertOne({label: 'Thing', name: 'c_thing', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""))
    admin = runtime.orgs.principal(org, "admin@example.com")
    trigger = """
const left = script.getCalloutsRemaining()
let code = null
try { require('http').get(script.arguments.new.c_s) } catch (e) { code = e.code }
script.arguments.new.update('c_s', JSON.stringify([code, left, Number.isInteger(left), script.getNotificationsRemaining()]))
"""
    runtime.layer(org, admin).insert_one(
        "script", {"label": "t", "name": "c_t", "type": "trigger", "script": trigger, "configuration": {"object": "c_thing", "event": "create.before"}}, {}
    )
    out = ok(run("const id = org.objects.c_things.insertOne({c_s: script.arguments.base + '/echo'}).execute(); return org.objects.c_things.find({_id: id}).next().c_s"))
    code, left, integer, notifications_left = json.loads(out)
    assert (code, left, integer) == ("kAccessDenied", 0, True)
    assert notifications_left == 100


# ---- fact 74 (the platform test's own form: an account context, a property path) -----------------


def test_one_use_link_to_an_account_reads_name_first_once_fact_74():
    """The platform test links the caller's own account; accounts have no share chain here, so the
    link is made with ``skipAcl`` (the account holder may always expose its own account)."""
    gc.collect()
    runtime = Runtime()
    org, admin = runtime.orgs.create("facts74")
    runtime.store.contexts.update_one({"_id": admin._id}, {"$set": {"name": {"first": "Ada", "last": "Admin"}}})
    reader = runtime.orgs.provision(org, email="reader@example.com")
    try:
        made = runtime.run(
            "return require('connections').linkTo('accounts', script.principal._id, consts.accessLevels.read, {usesRemaining: 1, skipAcl: true}).token",
            org=org, principal=admin,
        )
        token = ok(made)
        read = "try { return require('connections').read(script.arguments.token + '/context/name/first') } catch (e) { return e.code }"
        assert ok(runtime.run(read, org=org, principal=reader, arguments={"token": token})) == "Ada"
        assert ok(runtime.run(read, org=org, principal=reader, arguments={"token": token})) == "kInvalidArgument"
    finally:
        runtime.sandbox.release()
