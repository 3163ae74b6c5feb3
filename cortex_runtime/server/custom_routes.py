"""Custom routes: ``/{org}/v2/routes/<path>`` served by deployed route scripts.

Each org's route table is built from its active route scripts (``configuration.method``,
``path``, ``priority``, ``acl``, ``principal``) and rebuilt when a deploy bumps the org's
scripts version. Candidates are tried in the table's order; the first whose ACL admits the
caller runs, as the caller or as the configured principal. An empty route ACL admits
anyone, anonymous callers included.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import secrets
import threading
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, unquote, urlencode

from bson import ObjectId

from ..deployment import scripts_version
from ..faults import Fault
from ..objects.acl import matches_any
from ..objects.orgs import Org, load_principal
from ..objects.store import map_store_errors
from ..org_runtime import dispatch_source
from ..runtime import Runtime
from ..sandbox import RunResult
from .routing import RouteEntry, RouteTable
from .tokens import in_scope

__all__ = ["RouteTables", "cookie_headers", "run_custom_route", "script_request"]


class RouteTables:
    """Per-org route tables, cached by the org's scripts version."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._tables: dict[Any, tuple[int, RouteTable]] = {}
        self._lock = threading.Lock()

    def table(self, org: Org) -> RouteTable:
        version = scripts_version(self._runtime.store, org._id)
        with self._lock:
            cached = self._tables.get(org._id)
            if cached is not None and cached[0] == version:
                return cached[1]
        table = self._build(org)
        with self._lock:
            self._tables[org._id] = (version, table)
        return table

    def _build(self, org: Org) -> RouteTable:
        table = RouteTable()
        order = 0
        with map_store_errors():
            docs = list(self._runtime.store.contexts.find({"org": org._id, "object": "script", "type": "route", "active": True}).sort("_id", 1))
        for order, doc in enumerate(docs):
            config = doc.get("configuration") or {}
            entry = RouteEntry.create(
                str(config.get("method") or "get"),
                str(config.get("path") or ""),
                priority=int(config.get("priority") or 0),
                weight=float(doc.get("weight") or 0),
                name=doc.get("name"),
                target=doc,
                acl=list(config.get("acl") or []),
                order=order,
            )
            table.add(entry, unique=False)
        with map_store_errors():
            libraries = list(self._runtime.store.contexts.find({"org": org._id, "object": "script", "type": "library", "active": True, "runtime.type": "route"}).sort("_id", 1))
        for library in libraries:
            for decorated in library.get("runtime") or []:
                if decorated.get("type") != "route":
                    continue
                config = decorated["configuration"]
                order += 1
                target = {"_id": library["_id"], "name": decorated.get("name"), "script": dispatch_source(decorated), "configuration": {**config, "principal": decorated.get("principal")}, "decorated": True}
                table.add(
                    RouteEntry.create(
                        config["method"], config["path"], priority=int(config.get("priority") or 0), weight=float(decorated.get("weight") or 0),
                        name=decorated.get("name"), target=target, acl=list(config.get("acl") or []), order=order,
                    ),
                    unique=False,
                )
        return table


def _admits(entry: RouteEntry, principal: Any) -> bool:
    return not entry.acl or matches_any(principal, entry.acl)


# Request headers a script never sees (modules.md §12 source facts).
HIDDEN_HEADERS = ("x-forwarded-for", "x-real-ip", "medable-csrf-token")
# Signed cookies (``s:<value>.<signature>``, as cookie-parser writes them) are signed with a
# secret of this process: the platform signs with a server secret too. Signed cookies of an
# earlier process are therefore not recognised (they read back null) after a restart.
COOKIE_SECRET = secrets.token_bytes(32)


def _reserved_cookie(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("md") or lowered.startswith("medable")


def _sign(value: str) -> str:
    mac = hmac.new(COOKIE_SECRET, value.encode("utf-8"), hashlib.sha256).digest()
    return "s:" + value + "." + base64.b64encode(mac).decode("ascii").rstrip("=")


def _unsign(value: str) -> str | None:
    if not value.startswith("s:") or "." not in value:
        return None
    plain = value[2:].rsplit(".", 1)[0]
    return plain if hmac.compare_digest(_sign(plain), value) else None


def _parse_cookies(header: str) -> tuple[dict[str, str], dict[str, str]]:
    """The cookie header as ``(plain, signed)``, values percent-decoded; ``md*``/``medable*``
    cookies are the platform's and are left out of both."""
    plain: dict[str, str] = {}
    signed: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or not name or _reserved_cookie(name):
            continue
        value = unquote(value.strip().strip('"'))
        unsigned = _unsign(value)
        if unsigned is not None:
            signed.setdefault(name, unsigned)
        elif not value.startswith("s:"):
            plain.setdefault(name, value)
    return plain, signed


def _script_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request headers as scripts see them: lower-case names, the proxy and CSRF headers
    removed, and the platform's cookies taken out of ``cookie``."""
    out = {str(k).lower(): str(v) for k, v in headers.items() if str(k).lower() not in HIDDEN_HEADERS}
    if "cookie" in out:
        kept = [part.strip() for part in out["cookie"].split(";") if part.strip() and not _reserved_cookie(part.strip().partition("=")[0])]
        if kept:
            out["cookie"] = "; ".join(kept)
        else:
            del out["cookie"]
    return out


def _client_ip(headers: dict[str, str]) -> str | None:
    """The caller's address as a proxy in front of the platform reports it. The ASGI layer does not
    hand the peer address to the scripts thread, so without those headers it is unknown (null)."""
    forwarded = headers.get("x-forwarded-for") or ""
    first = forwarded.split(",")[0].strip()
    return first or (headers.get("x-real-ip") or "").strip() or None


def _locale(headers: dict[str, str]) -> str:
    """The first ``accept-language`` tag as a Cortex locale (``en-US`` -> ``en_US``); ``en_US`` without one."""
    first = (headers.get("accept-language") or "").split(",")[0].split(";")[0].strip()
    if not first or first == "*":
        return "en_US"
    return first.replace("-", "_")


def _client(runtime: Runtime, org: Org, headers: dict[str, str]) -> dict[str, Any] | None:
    """``req.client``: ``{_id, key, name}`` of the app whose key the caller used."""
    key = headers.get("medable-client-key")
    if not key:
        return None
    with map_store_errors():
        doc = runtime.store.orgs.find_one({"_id": org._id}, {"apps": 1}) or {}
    for app in doc.get("apps") or []:
        if app.get("key") == key:
            return {"_id": app.get("_id"), "key": key, "name": app.get("name")}
    return {"_id": None, "key": key, "name": None}


def script_request(runtime: Runtime, org: Org, request: dict[str, Any]) -> dict[str, Any]:
    """``require('request')`` for one HTTP request (modules.md §12): every field a script reads.
    The same for every layered route of the request (one ``_id``)."""
    raw_headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
    query = request.get("query") or {}
    path = str(request.get("path") or "/")
    search = urlencode(query, doseq=True)
    cookies, signed = _parse_cookies(raw_headers.get("cookie", ""))
    ip = _client_ip(raw_headers)
    return {
        "_id": ObjectId(),
        "method": str(request.get("method") or "GET").upper(),
        "headers": _script_headers(raw_headers),
        "ip": ip,
        "ipv4": ip,
        "host": (raw_headers.get("host") or "").split(":")[0] or None,
        "url": path + ("?" + search if search else ""),
        "path": path,
        "query": query,
        "params": {},
        "locale": _locale(raw_headers),
        "object": None,
        "client": _client(runtime, org, raw_headers),
        "body": request.get("body"),
        "cookies": cookies,
        "signedCookies": signed,
        "orgCode": org.code,
    }


def cookie_headers(cookies: Any) -> list[str]:
    """``Set-Cookie`` values for the cookies a route set (``res.setCookie``): ``{name, value, path,
    maxAge, secure, httpOnly, signed}`` each; a null value clears the cookie."""
    out = []
    for cookie in cookies if isinstance(cookies, list) else []:
        if not isinstance(cookie, dict) or not isinstance(cookie.get("name"), str):
            continue
        value = cookie.get("value")
        parts = []
        if value is None:
            parts = [f"{cookie['name']}=", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
        else:
            text = str(value)
            parts = [f"{cookie['name']}={quote(_sign(text) if cookie.get('signed') else text, safe='')}"]
            max_age = cookie.get("maxAge")
            if isinstance(max_age, (int, float)) and not isinstance(max_age, bool):
                seconds = int(max_age // 1000)
                parts.append(f"Max-Age={seconds}")
                parts.append("Expires=" + formatdate(time.time() + seconds, usegmt=True))
        parts.append(f"Path={cookie.get('path') or '/'}")
        if cookie.get("httpOnly"):
            parts.append("HttpOnly")
        if cookie.get("secure"):
            parts.append("Secure")
        out.append("; ".join(parts))
    return out


def run_custom_route(runtime: Runtime, tables: RouteTables, org: Org, principal: Any, method: str, route_path: str, request: dict[str, Any]) -> RunResult:
    """Run the first matching route the caller may use; faults as the platform names them.

    Layered routes share one request: ``req.memo``, the body (a decorated handler's
    ``body(path, value)`` is seen by the next layer) and the response: each layer starts from
    the headers, status, cookies and body the earlier ones wrote (``request.response``)."""
    candidates = tables.table(org).candidates(method, route_path)
    if not candidates:
        raise Fault("cortex.notFound.route", reason=f"No route for {method} /routes/{route_path.lstrip('/')}.", path=route_path)
    denied = False
    base = script_request(runtime, org, request)
    shared: dict[str, Any] = {"memo": {}, "next": False, "body": copy.deepcopy(base["body"])}
    written: dict[str, Any] | None = None
    for entry, params in candidates:
        doc = entry.target
        if not (in_scope(principal.scope, f"script.execute.route.{doc.get('_id')}") or in_scope(principal.scope, f"script.execute.route.{entry.name}")):
            raise Fault("cortex.accessDenied.scope", path=f"script.execute.route.{entry.name or doc.get('_id')}")
        if not _admits(entry, principal):
            denied = True
            continue
        config = doc.get("configuration") or {}
        run_as = principal
        if config.get("principal"):
            run_as = load_principal(runtime.store, org._id, config["principal"])
        shared["next"] = False
        result = runtime.run(
            str(doc.get("script") or ""),
            org=org,
            principal=run_as,
            script_type="route",
            request={**base, "params": params, "body": shared["body"], "runtime": bool(doc.get("decorated")), "response": written},
            script_id=doc.get("_id"),
            route=shared,
        )
        if result.response is not None:
            written = result.response  # what this layer saw (seeded with the earlier layers') and wrote
        if shared["next"] and result.fault is None:
            continue  # next(): the following matching route handles the request
        result.response = written
        return result
    if denied:
        raise Fault("cortex.accessDenied.route", path=route_path)
    raise Fault("cortex.notFound.route", path=route_path)
