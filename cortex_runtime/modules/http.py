"""``require('http')``: HTTP callouts (spec modules.md §9, §0.5; scripting-core.md §2.1).

``get/head/post/put/patch/delete/options(url, options)`` block until the response is complete
and return ``{statusCode, statusMessage, headers, body}`` (``body`` a string, ``''`` for HEAD,
bytes with ``buffer: true``); non-2xx statuses do not throw. ``getCiphers()`` lists the TLS
ciphers this host supports (accepted as the ``ciphers`` option).

The checks run in the platform's order (§9.4): the callout counter first (every attempt counts,
refused ones too: ``RunInfo.callouts_used``; the time spent, refused or not, goes to
``RunInfo.callouts_ms``), inline triggers, the URL, host rules, the port, IP literals, then the
name's addresses after DNS, then the request itself (timeout, response size). The connection
goes to the address that was checked (no second lookup), with the original ``Host`` and SNI.
Redirects of GET, HEAD and OPTIONS are followed (at most 10), each target checked again.

Not the platform's: callouts to this runtime's own API host (``script.env.host``) are refused
as a host rule, and ``Runtime.callout_allow`` (``serve --callout-allow HOST[:PORT]``) lets
named hosts through the host and address rules (loopback included; the counter, inline, URL,
port, own-host and size rules still apply). ``Runtime.callout_timeout_ms`` lowers the 30 s cap,
as the org setting ``maxCalloutRequestTimeout`` does for one org.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import os
import socket
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["HttpModule", "parse_allow"]

VERSION = "1.0.0"
USER_AGENT = f"Medable HTTP/{VERSION}"
METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FOLLOW_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_REDIRECTS = 10
MAX_CALLOUT_TIMEOUT_MS = 30_000
MAX_CALLOUT_BYTES = 524_288

# Dropped from the script's headers unless the org allows them (allowedRestrictedHttpHeaders).
RESTRICTED_HEADERS = frozenset(
    {
        "accept-charset", "accept-encoding", "access-control-request-headers", "access-control-request-method",
        "connection", "content-length", "content-transfer-encoding", "cookie", "cookie2", "date", "expect", "host",
        "keep-alive", "origin", "referer", "te", "trailer", "transfer-encoding", "upgrade", "via",
    }
)
ALLOWABLE_RESTRICTED = frozenset({"accept-charset", "accept-encoding", "cookie"})
BLOCKED_NAMES = frozenset({"metadata.google.internal", "kubernetes", "unix"})
RESERVED_V4 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    )
)
_TLS_VERSIONS = {
    "tlsv1_method": (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
    "tlsv1_1_method": (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
    "tlsv1_2_method": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
    "tlsv1_3_method": (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3),
}


def _denied(reason: str) -> Fault:
    return Fault("cortex.accessDenied.unspecified", reason=reason)


def _invalid(reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason)


def _reserved(ip: ipaddress.IPv4Address) -> bool:
    return any(ip in net for net in RESERVED_V4)


def check_ip_literal(literal: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> None:
    """An IP literal as a host (not on the allow list): IPv4 outside the reserved ranges."""
    if literal.version == 6:
        raise _invalid("ipv6 addresses are not currently supported.")
    if _reserved(literal):  # type: ignore[arg-type]
        raise _denied(f"invalid or prohibited host ip address ({host})")


def resolve_address(resolve: Callable[..., Any] | None, host: str, port: int, allowed: bool) -> str:
    """The address a connection to ``host`` goes to: its first IPv4 address (else the first
    found); unless ``allowed``, every address must be IPv4 outside the reserved ranges."""
    try:
        infos = (resolve or socket.getaddrinfo)(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise Fault("cortex.notFound.unspecified", reason=f"server DNS address could not be found for host ({host}).") from None
    found = [info[4][0] for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not found:
        raise Fault("cortex.notFound.unspecified", reason=f"server DNS address could not be found for host ({host}).")
    if not allowed:
        bad = next((a for a in found if ipaddress.ip_address(a).version != 4 or _reserved(ipaddress.IPv4Address(a))), None)
        if bad is not None:
            raise _denied(f"invalid or prohibited host ip address for host ({host}, {bad}).")
    v4 = [a for a in found if ipaddress.ip_address(a).version == 4]
    return (v4 or found)[0]


def parse_allow(entries: list[str] | tuple[str, ...]) -> list[tuple[str, int | None]]:
    """``HOST[:PORT]`` entries (``[v6]:PORT`` for IPv6) as (lower-case host, port or None)."""
    out: list[tuple[str, int | None]] = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        host, port = text, None
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:] else None
        elif text.count(":") == 1:
            host, _, digits = text.partition(":")
            port = int(digits) if digits else None
        out.append((host.lower(), port))
    return out


@functools.cache
def _cipher_names() -> tuple[str, ...]:
    return tuple(sorted({cipher["name"].lower() for cipher in ssl.create_default_context().get_ciphers()}))


def _ciphers() -> list[str]:
    return list(_cipher_names())


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pem(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return _text(value)


class HttpModule:
    require_name = "http"
    prefix = "http."
    needs_context = False
    needs_runtime = True
    methods = (*METHODS, "getCiphers")
    # Per instance, so a test can lower them (modules.md §0.5: 524,288 bytes each way).
    max_request_bytes = MAX_CALLOUT_BYTES
    max_response_bytes = MAX_CALLOUT_BYTES

    def __init__(self, runtime: Any = None) -> None:
        self._runtime = runtime
        self._clients: OrderedDict[tuple[Any, ...], httpx.Client] = OrderedDict()
        self._lock = threading.Lock()
        # getaddrinfo unless set (tests give names addresses without DNS).
        self.resolve: Any = None

    # ---- dispatch -------------------------------------------------------------------

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix):]
        if method == "getCiphers":
            return _ciphers()
        if method not in METHODS:
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        started = time.perf_counter()
        try:
            return self._callout(run, method.upper(), args[0] if args else None, args[1] if len(args) > 1 else None)
        finally:
            run.callouts_ms = getattr(run, "callouts_ms", 0.0) + (time.perf_counter() - started) * 1000

    # ---- settings -------------------------------------------------------------------

    def _setting(self, run: RunInfo, name: str, default: Any = None) -> Any:
        org = getattr(run.context, "org", None)
        settings = getattr(org, "settings", None)
        return settings.get(name, default) if isinstance(settings, dict) else default

    def _allowed(self) -> list[tuple[str, int | None]]:
        return parse_allow(list(getattr(self._runtime, "callout_allow", None) or ()))

    def _own_host(self) -> tuple[str, int | None] | None:
        sandbox = getattr(self._runtime, "sandbox", None)
        env_host = getattr(sandbox, "env_host", None)
        if not env_host:
            return None
        parsed = parse_allow([env_host])
        return parsed[0] if parsed else None

    # ---- the callout ----------------------------------------------------------------

    def _callout(self, run: RunInfo, method: str, url: Any, options: Any) -> dict[str, Any]:
        # 1. The counter, before anything else: refused attempts use the budget too.
        used = int(getattr(run, "callouts_used", 0) or 0)
        run.callouts_used = used + 1
        if used >= run.limits.callouts:
            raise _denied("Callout limit exceeded.")
        # 2. Inline triggers.
        if getattr(run, "inline", False) and not self._setting(run, "enableHttpInInlineTriggers", False):
            raise _denied("http module is not available to inline triggers.")
        opts = options if isinstance(options, dict) else {}
        # The test harness answers callouts from declared mocks (cortex_runtime/testing/http_mocks.py).
        mocks = getattr(self._runtime, "http_mock", None)
        if mocks is not None:
            return mocks.answer(method, url, opts)
        target = self._check_url(run, url)
        headers = self._headers(run, opts)
        body = self._body(method, opts)
        deadline = self._deadline(run, opts)
        client = self._client(opts)
        hops = 0
        while True:
            response = self._send(run, client, method, target, headers, body, opts, deadline)
            location = response.get("location")
            if location is None:
                return response["result"]
            hops += 1
            if hops > MAX_REDIRECTS:
                raise Fault("cortex.error.unspecified", reason="Maximum redirects exceeded")
            new_target = self._check_url(run, urljoin(target["url"], location))
            if response["status"] not in (307, 308):
                method = "HEAD" if method == "HEAD" else "GET"
                body = None
            if new_target["host"] != target["host"]:
                headers = {k: v for k, v in headers.items() if k not in ("authorization", "cookie")}
            target = new_target

    def _check_url(self, run: RunInfo, url: Any) -> dict[str, Any]:
        """Checks 3 to 6 (the URL, host rules, the port, IP literals)."""
        text = url.strip() if isinstance(url, str) else ""
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise _invalid("Invalid url format.") from None
        host = (parts.hostname or "").lower()
        if not parts.scheme or not host:
            raise _invalid("Invalid url format.")
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _invalid("unsupported protocol")
        if port is None:
            port = 443 if scheme == "https" else 80
        allowed = any(h == host and (p is None or p == port) for h, p in self._allowed())
        own = self._own_host()
        if own is not None and own[0] == host and (own[1] or 80) == port:
            raise _denied(f"access to host is prohibited ({host})")
        if not allowed:
            blocked = (
                "." not in host
                or host in BLOCKED_NAMES
                or (host.startswith("app") and host.endswith(".medable.com"))
                or (
                    host.startswith("api")
                    and host.endswith(".medable.com")
                    and "-ws" not in host
                    and not self._setting(run, "enableRestrictedCallouts", False)
                )
            )
            if blocked and ":" not in host:
                raise _denied(f"access to host is prohibited ({host})")
        if port <= 79 or port >= 65535:
            raise _denied(f"access to port is prohibited ({port})")
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if not allowed and literal is not None:
            check_ip_literal(literal, host)
        return {"url": text, "scheme": scheme, "host": host, "port": port, "allowed": allowed, "parts": parts, "literal": literal}

    def _address(self, run: RunInfo, target: dict[str, Any], deadline: float) -> str:
        """Check 7: the address the connection goes to (an IPv4 outside the reserved ranges)."""
        if target["literal"] is not None:
            address = str(target["literal"])
        else:
            address = resolve_address(self.resolve, target["host"], target["port"], target["allowed"])
        now = time.monotonic()
        if run.deadline - now <= 0:
            raise Fault("cortex.timeout.unspecified", reason="Script timed out during http callout.")
        if deadline - now <= 0:  # the callout's own limit lapsed, the script still has time
            raise Fault("cortex.timeout.unspecified", reason="Callout timed out.")
        return address

    def _headers(self, run: RunInfo, opts: dict[str, Any]) -> dict[str, str]:
        allowed = {str(h).lower() for h in self._setting(run, "allowedRestrictedHttpHeaders", None) or ()} & ALLOWABLE_RESTRICTED
        out: dict[str, str] = {"user-agent": USER_AGENT}
        given = opts.get("headers")
        if isinstance(given, dict):
            for name, value in given.items():
                key = str(name).strip().lower()
                if not key or value is None or (key in RESTRICTED_HEADERS and key not in allowed):
                    continue
                text = ", ".join(str(v) for v in value) if isinstance(value, list) else ("true" if value is True else "false" if value is False else str(value))
                if any(c in text for c in "\r\n\0") or any(c in key for c in " \t\r\n\0:"):
                    raise _invalid(f"Invalid request header ({key}).")
                out[key] = text
        if opts.get("gzip", True) is not False:
            out.setdefault("accept-encoding", "gzip, deflate")
        return out

    def _body(self, method: str, opts: dict[str, Any]) -> bytes | None:
        if method not in BODY_METHODS:
            return None
        body = opts.get("body")
        if body is None:
            return None
        data = bytes(body) if isinstance(body, (bytes, bytearray)) else str(body).encode("utf-8")
        if len(data) > self.max_request_bytes:
            raise _invalid("maxCalloutRequestSize exceeded.")
        return data

    def _deadline(self, run: RunInfo, opts: dict[str, Any]) -> float:
        cap = min(MAX_CALLOUT_TIMEOUT_MS, int(getattr(self._runtime, "callout_timeout_ms", MAX_CALLOUT_TIMEOUT_MS) or MAX_CALLOUT_TIMEOUT_MS))
        # The org's own cap (configuration.scripting.maxCalloutRequestTimeout) may only lower it.
        org_cap = self._setting(run, "maxCalloutRequestTimeout")
        if isinstance(org_cap, (int, float)) and not isinstance(org_cap, bool) and org_cap == org_cap:
            cap = min(cap, max(1, int(org_cap)))
        left_ms = run.time_left() * 1000
        wanted = opts.get("timeout")
        wanted_ms = wanted if isinstance(wanted, (int, float)) and not isinstance(wanted, bool) and wanted == wanted else left_ms
        ms = max(1.0, min(float(wanted_ms), left_ms, float(cap)))
        return time.monotonic() + ms / 1000

    # ---- TLS and clients ------------------------------------------------------------

    def _client(self, opts: dict[str, Any]) -> httpx.Client:
        verify = opts.get("rejectUnauthorized", True) is not False  # strictSSL is always on
        tls = tuple(
            _pem(opts.get(k)) if k in ("ca", "cert", "key") else opts.get(k)
            for k in ("ca", "cert", "key", "passphrase", "ciphers", "secureProtocol")
        )
        pfx = opts.get("pfx")
        pfx_key = bytes(pfx) if isinstance(pfx, (bytes, bytearray)) else _text(pfx)
        key = (verify, *tls, pfx_key)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        context = self._ssl_context(verify, *tls, pfx_key)
        # TCP_NODELAY: headers and body go in separate writes, which must not wait for an ACK.
        transport = httpx.HTTPTransport(verify=context, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        client = httpx.Client(transport=transport, trust_env=False, follow_redirects=False)
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > 16:
                self._clients.popitem(last=False)[1].close()
        return client

    @staticmethod
    def _ssl_context(verify: bool, ca: Any, cert: Any, key: Any, passphrase: Any, ciphers: Any, protocol: Any, pfx: Any) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cadata=ca) if ca else ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if isinstance(ciphers, str) and ciphers:
                context.set_ciphers(":".join(c.upper() if "-" in c or "_" in c else c for c in ciphers.split(":")))
            versions = _TLS_VERSIONS.get(str(protocol).lower()) if protocol else None
            if versions:
                context.minimum_version, context.maximum_version = versions
            password = passphrase if isinstance(passphrase, str) else None
            if pfx:
                cert, key, password = HttpModule._from_pfx(pfx, password)
            if cert:
                with tempfile.TemporaryDirectory() as folder:
                    cert_path = os.path.join(folder, "cert.pem")
                    with open(cert_path, "w", encoding="utf-8") as f:
                        f.write(cert)
                    key_path = None
                    if key:
                        key_path = os.path.join(folder, "key.pem")
                        with open(key_path, "w", encoding="utf-8") as f:
                            f.write(key)
                    context.load_cert_chain(cert_path, key_path, password=password)
            return context
        except (ssl.SSLError, ValueError, TypeError, OSError) as exc:
            raise _invalid(f"Invalid TLS options: {exc}") from None

    @staticmethod
    def _from_pfx(pfx: Any, password: str | None) -> tuple[str, str, None]:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

        data = pfx if isinstance(pfx, bytes) else base64.b64decode(pfx)
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
        if key is None or cert is None:
            raise ValueError("the pfx holds no key and certificate")
        chain = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in extra or ())
        key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        return chain.decode(), key_pem.decode(), None

    # ---- one request ----------------------------------------------------------------

    def _send(
        self, run: RunInfo, client: httpx.Client, method: str, target: dict[str, Any], headers: dict[str, str],
        body: bytes | None, opts: dict[str, Any], deadline: float,
    ) -> dict[str, Any]:
        address = self._address(run, target, deadline)
        parts = target["parts"]
        default_port = 443 if target["scheme"] == "https" else 80
        host_header = target["host"] if ":" not in target["host"] else f"[{target['host']}]"
        if target["port"] != default_port:
            host_header = f"{host_header}:{target['port']}"
        ip_host = f"[{address}]" if ":" in address else address
        path = parts.path or "/"
        url = f"{target['scheme']}://{ip_host}:{target['port']}{path}" + (f"?{parts.query}" if parts.query else "")
        extensions: dict[str, Any] = {}
        if target["scheme"] == "https":
            extensions["sni_hostname"] = _text(opts.get("servername")) or target["host"]
        remaining = max(0.001, deadline - time.monotonic())
        try:
            request = client.build_request(method, url, headers={**headers, "host": host_header}, content=body, timeout=httpx.Timeout(remaining), extensions=extensions)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise _invalid(f"Invalid request: {exc}") from None
        if "accept-encoding" not in headers:
            request.headers.pop("accept-encoding", None)
        request.headers.pop("connection", None)
        try:
            response = client.send(request, stream=True)
        except httpx.TimeoutException:
            raise Fault("cortex.timeout.unspecified", reason="Callout timed out.") from None
        except httpx.HTTPError as exc:
            raise Fault("cortex.error.unspecified", reason=f"Callout failed: {exc}") from None
        try:
            status = response.status_code
            if 300 <= status < 400 and "location" in response.headers and method in FOLLOW_METHODS:
                return {"location": response.headers["location"], "status": status}
            length = response.headers.get("content-length")
            if length and length.isdigit() and int(length) > self.max_response_bytes:
                raise Fault("cortex.tooLarge.unspecified", reason="Maximum callout response size exceeded.")
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise Fault("cortex.tooLarge.unspecified", reason="Maximum callout response size exceeded.")
                    if time.monotonic() > deadline:
                        raise Fault("cortex.timeout.unspecified", reason="Callout timed out.")
                    chunks.append(chunk)
            except httpx.TimeoutException:
                raise Fault("cortex.timeout.unspecified", reason="Callout timed out.") from None
            except httpx.HTTPError as exc:
                raise Fault("cortex.error.unspecified", reason=f"Callout failed: {exc}") from None
        finally:
            response.close()
        data = b"".join(chunks)
        out_headers: dict[str, Any] = {}
        for name, value in response.headers.multi_items():
            key = name.lower()
            if key == "set-cookie":
                out_headers.setdefault(key, []).append(value)
            elif key in out_headers:
                out_headers[key] = f"{out_headers[key]}, {value}"
            else:
                out_headers[key] = value
        if method == "HEAD":
            result_body: Any = b"" if opts.get("buffer") is True else ""
        elif opts.get("buffer") is True:
            result_body = data
        else:
            result_body = data.decode("utf-8", "replace") if data else ""
        return {
            "result": {"statusCode": status, "statusMessage": response.reason_phrase, "headers": out_headers, "body": result_body}
        }
