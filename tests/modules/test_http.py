"""require('http') (modules.md §9, §0.5, facts 29-34 and 80-83): callouts to HTTP servers this test
starts on loopback, let through with ``Runtime.callout_allow``. Nothing leaves loopback: every
connection and every name lookup of the test is checked (the ``loopback_only`` fixture)."""

from __future__ import annotations

import gc
import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cortex_runtime.cli import build_parser
from cortex_runtime.modules.http import HttpModule, parse_allow
from cortex_runtime.runtime import Runtime

BIG = 600 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path == "/redirect":
            self._reply(302, b"", {"Location": query or "/echo"})
        elif path == "/redirect307":
            self._reply(307, b"", {"Location": "/echo"})
        elif path == "/loop":
            self._reply(302, b"", {"Location": "/loop"})
        elif path == "/slow":
            time.sleep(1.0)
            self._reply(200, b"late")
        elif path == "/big":
            self._reply(200, b"x" * BIG)
        elif path == "/chunked-big":  # no content-length: the size is found while reading
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):
                chunk = b"y" * 65536
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/gzip":
            self._reply(200, gzip.compress(b"unzipped"), {"Content-Encoding": "gzip"})
        elif path == "/length":
            self._reply(200, str(len(body)).encode())
        elif path == "/missing":
            self._reply(404, b"nope", {"X-Why": "gone"})
        elif path == "/cookies":
            self._reply(200, b"", {"Set-Cookie": "a=1", "X-Multi": "one"})
        else:
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self._reply(200, json.dumps(echo).encode(), {"Content-Type": "application/json", "X-Echo": "Yes"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FAKE_DNS = {"loop.example.test": "127.0.0.1", "private.example.test": "10.1.2.3", "public.example.test": "93.184.216.34"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Every connection goes to loopback and no name is looked up in the DNS."""
    real_connect = socket.create_connection
    connections: list[tuple[str, int]] = []

    def connect(address, *args, **kwargs):
        assert address[0] in LOOPBACK, f"a connection left loopback: {address}"
        connections.append(address)
        return real_connect(address, *args, **kwargs)

    real_lookup = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        assert host in LOOPBACK, f"a DNS lookup of {host}"
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return connections


def fake_resolve(host, port, *args, **kwargs):
    if host not in FAKE_DNS:
        raise socket.gaierror(socket.EAI_NONAME, "not found")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (FAKE_DNS[host], port))]


@pytest.fixture
def world(server):
    gc.collect()
    runtime = Runtime()
    runtime.callout_allow = ["127.0.0.1"]
    module = next(m for m in runtime.modules._modules if isinstance(m, HttpModule))
    module.resolve = fake_resolve
    org, admin = runtime.orgs.create("httpmod")

    def run(source: str, **kwargs):
        return runtime.run(source, org=org, principal=admin, arguments={"base": server}, **kwargs)

    yield runtime, module, run, server
    runtime.sandbox.release()


def ok(result):
    assert result.ok, result.fault and result.fault.to_json()
    return result.plain()


def fault(result):
    assert result.fault is not None, result.plain()
    return result.fault.to_json()


def caught(run, call: str, **kwargs):
    """The fault a script catches from one http call."""
    source = f"const http = require('http'), base = script.arguments.base; try {{ {call}; return null }} catch (e) {{ return {{errCode: e.errCode, code: e.code, reason: e.reason}} }}"
    return ok(run(source, **kwargs))


# ---- methods, headers, bodies ----------------------------------------------------------


def test_fact_33_every_method_with_headers_and_bodies(world):
    runtime, module, run, base = world
    script = """
const http = require('http'), base = script.arguments.base
const json = JSON.stringify({a: 1})
const opts = {body: json, headers: {'Content-Type': 'application/json', 'X-Custom': 'c', Cookie: 'dropped', Host: 'evil.org', Referer: 'r'}}
const r = {}
for (const m of script.arguments.methods) {
  const res = http[m](base + '/echo?m=' + m, opts)
  r[m] = {status: res.statusCode, message: res.statusMessage, type: typeof res.body, echo: JSON.parse(res.body), xecho: res.headers['x-echo']}
}
if (script.arguments.head) {
  const head = http.head(base + '/echo')
  r.head = {status: head.statusCode, body: head.body, length: head.headers['content-length']}
}
return r
"""
    out = ok(runtime.run(script, org=runtime.orgs.get("httpmod"), principal=runtime.orgs.principal(runtime.orgs.get("httpmod"), "admin@example.com"),
                         arguments={"base": base, "methods": ["get", "post", "put", "patch", "delete"]}))
    out.update(ok(runtime.run(script, org=runtime.orgs.get("httpmod"), principal=runtime.orgs.principal(runtime.orgs.get("httpmod"), "admin@example.com"),
                              arguments={"base": base, "methods": ["options"], "head": True})))
    for m in ("get", "post", "put", "patch", "delete", "options"):
        got = out[m]
        assert got["status"] == 200 and got["message"] == "OK" and got["type"] == "string" and got["xecho"] == "Yes"
        echo = got["echo"]
        assert echo["method"] == m.upper() and echo["path"] == f"/echo?m={m}"
        headers = echo["headers"]
        assert headers["x-custom"] == "c" and headers["content-type"] == "application/json"
        assert headers["user-agent"] == "Medable HTTP/1.0.0"
        assert "cookie" not in headers and "referer" not in headers and headers["host"] == base.removeprefix("http://")
        # The body is sent only for POST, PUT and PATCH.
        assert echo["body"] == ('{"a":1}' if m in ("post", "put", "patch") else "")
    assert out["head"]["status"] == 200 and out["head"]["body"] == "" and int(out["head"]["length"]) > 0


def test_user_agent_can_be_overridden_and_gzip_is_decoded(world):
    _, _, run, _ = world
    out = ok(run("""
const http = require('http'), base = script.arguments.base
return [JSON.parse(http.get(base + '/echo', {headers: {'user-agent': 'mine'}}).body).headers['user-agent'],
        http.get(base + '/gzip').body,
        JSON.parse(http.get(base + '/echo', {gzip: false}).body).headers['accept-encoding'] || null]
"""))
    assert out == ["mine", "unzipped", None]


def test_non_2xx_does_not_throw_and_headers_are_lower_case(world):
    _, _, run, _ = world
    out = ok(run("const http = require('http'); const r = http.get(script.arguments.base + '/missing'); return [r.statusCode, r.statusMessage, r.body, r.headers['x-why'], Object.keys(r.headers).every(k => k === k.toLowerCase())]"))
    assert out == [404, "Not Found", "nope", "gone", True]
    cookies = ok(run("const r = require('http').get(script.arguments.base + '/cookies'); return [r.headers['set-cookie'], r.headers['x-multi']]"))
    assert cookies == [["a=1"], "one"]


def test_buffer_option_gives_bytes_and_get_ciphers_are_accepted(world):
    _, _, run, _ = world
    out = ok(run("""
const http = require('http'), base = script.arguments.base
const r = http.get(base + '/gzip', {buffer: true})
const ciphers = http.getCiphers()
const again = http.get(base + '/echo', {ciphers: ciphers.join(':')})
return [r.body instanceof Uint8Array || typeof r.body, ciphers.length > 0, again.statusCode]
"""))
    assert out[1] is True and out[2] == 200


# ---- redirects -------------------------------------------------------------------------


def test_redirects_followed_for_get_and_not_for_post(world):
    _, _, run, _ = world
    out = ok(run("""
const http = require('http'), base = script.arguments.base
const get = http.get(base + '/redirect')
const post = http.post(base + '/redirect', {body: 'x'})
const kept = http.post(base + '/redirect307', {body: 'x'})
return [get.statusCode, JSON.parse(get.body).path, post.statusCode, post.headers.location, kept.statusCode]
"""))
    assert out == [200, "/echo", 302, "/echo", 307]


def test_redirect_loop_and_redirect_to_a_prohibited_host(world):
    _, _, run, _ = world
    assert caught(run, "http.get(base + '/loop')") == {"errCode": "cortex.error.unspecified", "code": "kError", "reason": "Maximum redirects exceeded"}
    # Each redirect target is checked again: a private address is refused before any connection.
    got = caught(run, "http.get(base + '/redirect?http://192.168.1.10/')")
    assert got["errCode"] == "cortex.accessDenied.unspecified" and got["reason"] == "invalid or prohibited host ip address (192.168.1.10)"


# ---- limits ----------------------------------------------------------------------------


def test_fact_31_a_slow_callout_is_a_timeout_fault(world):
    runtime, _, run, _ = world
    runtime.callout_timeout_ms = 200
    started = time.monotonic()
    got = caught(run, "http.get(base + '/slow')")
    assert got == {"errCode": "cortex.timeout.unspecified", "code": "kTimeout", "reason": "Callout timed out."}
    assert time.monotonic() - started < 0.9
    runtime.callout_timeout_ms = 30_000
    # The timeout option lowers it too (fact 83: a 1 ms limit gives kTimeout).
    assert caught(run, "http.get(base + '/slow', {timeout: 1})")["code"] == "kTimeout"


def test_fact_29_the_sixth_callout_is_refused_and_the_log_record_counts_them(world):
    runtime, _, run, _ = world
    result = run("""
const http = require('http'), base = script.arguments.base
const left = [script.getCalloutsRemaining()]
for (let i = 0; i < 5; i++) { http.get(base + '/echo'); left.push(script.getCalloutsRemaining()) }
try { http.get(base + '/echo'); return 'no fault' } catch (e) { return [left, e.errCode, e.reason] }
""")
    out = ok(result)
    assert result.stats.callouts == 6 and result.stats.callouts_ms > 0
    assert out == [[5, 4, 3, 2, 1, 0], "cortex.accessDenied.unspecified", "Callout limit exceeded."]
    ok(run("return 1"))
    records = [(r["ctt"], r["cms"]) for r in runtime.store.logs.find({"src": 2})]
    assert len(records) == 2 and records[0] == (6, round(result.stats.callouts_ms)) and records[1] == (0, 0)


def test_fact_81_refused_calls_count_too(world):
    runtime, _, run, _ = world
    out = ok(run("""
const http = require('http'), reasons = []
for (const url of ['https://', 'ftp://x.org/', 'http://example.org:21/', 'http://192.168.0.1/', 'https://api.medable.com/']) {
  try { http.get(url) } catch (e) { reasons.push(e.reason) }
}
try { http.get(script.arguments.base + '/echo') } catch (e) { reasons.push(e.reason) }
return [reasons, script.getCalloutsRemaining()]
"""))
    assert out == [
        [
            "Invalid url format.", "unsupported protocol", "access to port is prohibited (21)",
            "invalid or prohibited host ip address (192.168.0.1)", "access to host is prohibited (api.medable.com)",
            "Callout limit exceeded.",
        ],
        0,
    ]


def test_fact_32_an_oversize_response_is_refused(world):
    _, module, run, _ = world
    expected = {"errCode": "cortex.tooLarge.unspecified", "code": "kRequestTooLarge", "reason": "Maximum callout response size exceeded."}
    assert caught(run, "http.get(base + '/big')") == expected
    assert caught(run, "http.get(base + '/chunked-big')") == expected
    module.max_response_bytes = 4000  # fact 80: the limit lowered
    try:
        assert caught(run, "http.get(base + '/echo', {headers: {'x-pad': 'p'.repeat(5000)}})") == expected
    finally:
        module.max_response_bytes = HttpModule.max_response_bytes


def test_fact_80_an_oversize_request_body_is_refused(world):
    _, module, run, _ = world
    got = caught(run, "http.post(base + '/echo', {body: 'x'.repeat(524289)})")
    assert got == {"errCode": "cortex.invalidArgument.unspecified", "code": "kInvalidArgument", "reason": "maxCalloutRequestSize exceeded."}
    assert ok(run("return JSON.parse(require('http').post(script.arguments.base + '/length', {body: 'x'.repeat(524288)}).body)")) == 524288


# ---- where callouts may go -------------------------------------------------------------


def test_fact_30_no_callouts_from_inline_triggers(world):
    runtime, _, run, base = world
    ok(run("""
org.objects.objects.insertOne({label: 'Thing', name: 'c_thing', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""))
    org = runtime.orgs.get("httpmod")
    admin = runtime.orgs.principal(org, "admin@example.com")
    trigger = """
let reason
try { require('http').get(script.arguments.new.c_s) } catch (e) { reason = e.errCode + ' ' + e.reason + ' ' + script.getCalloutsRemaining() }
script.arguments.new.update('c_s', reason || 'called')
"""
    runtime.layer(org, admin).insert_one("script", {"label": "t", "name": "c_t", "type": "trigger", "script": trigger, "configuration": {"object": "c_thing", "event": "create.before"}}, {})
    out = ok(run("const id = org.objects.c_things.insertOne({c_s: script.arguments.base + '/echo'}).execute(); return org.objects.c_things.find({_id: id}).next().c_s"))
    assert out == "cortex.accessDenied.unspecified http module is not available to inline triggers. 0"
    # A trigger run that is not inline may call out.
    plain = ok(run("return require('http').get(script.arguments.base + '/echo').statusCode", script_type="trigger"))
    assert plain == 200
    assert caught(run, "http.get(base + '/echo')", script_type="trigger", inline=True)["reason"] == "http module is not available to inline triggers."


def test_loopback_refused_unless_allowed(world, loopback_only):
    runtime, _, run, base = world
    port = base.rsplit(":", 1)[1]
    runtime.callout_allow = []
    before = len(loopback_only)
    assert caught(run, "http.get(base + '/echo')")["reason"] == "invalid or prohibited host ip address (127.0.0.1)"
    assert caught(run, f"http.get('http://localhost:{port}/')")["reason"] == "access to host is prohibited (localhost)"
    assert caught(run, f"http.get('http://[::1]:{port}/')")["reason"] == "ipv6 addresses are not currently supported."
    got = caught(run, f"http.get('http://loop.example.test:{port}/')")
    assert got["errCode"] == "cortex.accessDenied.unspecified" and got["reason"] == "invalid or prohibited host ip address for host (loop.example.test, 127.0.0.1)."
    assert len(loopback_only) == before  # nothing was connected
    # An allowed host with a port matches that port only; a name may be allowed as well.
    runtime.callout_allow = [f"127.0.0.1:{int(port) + 1}", "loop.example.test"]
    assert caught(run, "http.get(base + '/echo')")["reason"] == "invalid or prohibited host ip address (127.0.0.1)"
    assert ok(run(f"return require('http').get('http://loop.example.test:{port}/echo').statusCode")) == 200
    runtime.callout_allow = [f"127.0.0.1:{port}"]
    assert ok(run("return require('http').get(script.arguments.base + '/echo').statusCode")) == 200
    # The port rule still applies to an allowed host.
    runtime.callout_allow = ["127.0.0.1"]
    assert caught(run, "http.get('http://127.0.0.1:79/')")["reason"] == "access to port is prohibited (79)"


def test_private_addresses_and_names_are_refused(world, loopback_only):
    _, _, run, _ = world
    before = len(loopback_only)
    for ip in ("10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1"):
        got = caught(run, f"http.get('http://{ip}/')")
        assert got["errCode"] == "cortex.accessDenied.unspecified" and got["reason"] == f"invalid or prohibited host ip address ({ip})", ip
    got = caught(run, "http.get('http://private.example.test/')")
    assert got["reason"] == "invalid or prohibited host ip address for host (private.example.test, 10.1.2.3)."
    got = caught(run, "http.get('http://nowhere.example.test/')")
    assert got == {"errCode": "cortex.notFound.unspecified", "code": "kNotFound", "reason": "server DNS address could not be found for host (nowhere.example.test)."}
    for host in ("metadata.google.internal", "app.dev.medable.com", "kubernetes"):
        assert caught(run, f"http.get('http://{host}/')")["reason"] == f"access to host is prohibited ({host})"
    assert len(loopback_only) == before


def test_fact_34_the_runtimes_own_api_host_is_refused(world):
    runtime, _, run, base = world
    host = base.removeprefix("http://")
    runtime.sandbox.env_host = host  # as serve sets it: the server's host:port
    try:
        got = caught(run, "http.get(base + '/echo')")
        assert got["errCode"] == "cortex.accessDenied.unspecified" and got["reason"] == "access to host is prohibited (127.0.0.1)"
        assert ok(run("return script.env.url.startsWith('http://' + script.arguments.base.slice(7))")) is True
    finally:
        runtime.sandbox.env_host = "localhost"


def test_parse_allow_and_the_serve_option():
    assert parse_allow(["127.0.0.1", "localhost:8080", "[::1]:9000", " "]) == [("127.0.0.1", None), ("localhost", 8080), ("::1", 9000)]
    args = build_parser().parse_args(["serve", "--callout-allow", "127.0.0.1", "--callout-allow", "localhost:8080"])
    assert args.callout_allow == ["127.0.0.1", "localhost:8080"]
    assert build_parser().parse_args(["serve"]).callout_allow == []


# ---- TLS -------------------------------------------------------------------------------


def _self_signed() -> tuple[str, str]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    import ssl

    cert, key = _self_signed()
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_text(cert)
    (folder / "key.pem").write_text(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", cert
    httpd.shutdown()
    httpd.server_close()


def test_fact_82_https_verifies_the_certificate(world, tls_server):
    runtime, _, _, _ = world
    base, cert = tls_server
    org = runtime.orgs.get("httpmod")
    admin = runtime.orgs.principal(org, "admin@example.com")
    source = """
const http = require('http'), base = script.arguments.base, ca = script.arguments.ca
const out = [http.get(base + '/echo', {ca: ca}).statusCode, JSON.parse(http.post(base + '/echo', {ca: ca, body: '{"a":1}', headers: {'content-type': 'application/json'}}).body).body]
try { http.get(base + '/echo') } catch (e) { out.push(e.errCode) }
// strictSSL cannot turn verification off; rejectUnauthorized: false does, as on the platform.
try { http.get(base + '/echo', {strictSSL: false}) } catch (e) { out.push(e.errCode) }
out.push(http.get(base + '/echo', {rejectUnauthorized: false}).statusCode)
return out
"""
    out = ok(runtime.run(source, org=org, principal=admin, arguments={"base": base, "ca": cert}))
    assert out == [200, '{"a":1}', "cortex.error.unspecified", "cortex.error.unspecified", 200]
