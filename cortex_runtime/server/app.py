"""create_app: the ASGI application. Routing is data: one table of (method, path, handler).

Every URL is ``/{org}/v2/<path>`` (``v2`` optional). Each handler gets a ``Call`` (org,
principal, parsed body, headers) and returns a value or raises a ``Fault``; everything
else, including any Python exception, becomes a Cortex fault response, never a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..faults import Fault
from ..objects.orgs import Org
from ..objects.principals import DEVELOPER, Principal
from ..runtime import Runtime
from ..sandbox import RunResult
from .auth import Authenticator, normalise_path
from .custom_routes import RouteTables, cookie_headers, run_custom_route
from .developer import RAW_BODY_PATHS, environment_export, environment_import
from .tokens import in_scope
from .rest import org_root, rest
from .rendering import envelope, fault_response, json_response, ndjson_response, server_time
from .scripts_thread import ScriptsThread

__all__ = ["Call", "CortexApp", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_ORG_PATH = re.compile(r"^/(?P<org>[^/]+)(?:/v2)?(?P<rest>/.*)?$")


@dataclass
class Call:
    """One API request, after its org, caller and body are known."""

    org: Org
    principal: Principal
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: Any = None
    accept_ndjson: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    # The body as received, for endpoints that read it themselves (RAW_BODY_PATHS).
    raw_body: bytes = b""


Handler = Callable[[Runtime, Call], Any]


def _parse_body(raw: bytes, content_type: str | None) -> Any:
    if len(raw) > MAX_BODY_BYTES:
        raise Fault("cortex.tooLarge.unspecified", reason=f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        return None
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media.startswith("text/"):
        return raw.decode("utf-8", errors="replace")
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason="The request body is not valid JSON.") from exc


def _query(query_string: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key.endswith("[]"):
            out.setdefault(key[:-2], []).append(value)
        else:
            out[key] = value
    return out


def script_runner(runtime: Runtime, call: Call) -> Any:
    """``POST /sys/script_runner`` (rest-api-auth.md §7): run ``script`` as the caller."""
    body = call.body if isinstance(call.body, dict) else None
    if body is None or not isinstance(body.get("script"), str):
        raise Fault("cortex.invalidArgument.unspecified", reason="script_runner expects {script: String}.", path="script")
    if not in_scope(call.principal.scope, "script.execute.runner"):
        raise Fault("cortex.accessDenied.scope", path="script.execute.runner")
    if not (call.principal.has_role(DEVELOPER) or call.principal.is_org_admin):
        raise Fault("cortex.accessDenied.unspecified", reason="Arbitrary scripts are not allowed for this principal.")
    request = {
        "method": call.method,
        "path": call.path,
        "headers": call.headers,
        "query": call.query,
        "params": {},
        "body": body.get("body", call.body) if "body" in body else call.body,
    }
    result = runtime.run(
        body["script"], org=call.org, principal=call.principal, script_type="route", arguments=body.get("arguments"), request=request
    )
    call.response_headers["Cortex-Sandbox-Stats"] = json.dumps(
        {"ops": result.stats.ops, "ms": round(result.stats.ms, 3), "callouts": 0, "calloutsMs": 0}
    )
    call.response_headers["Access-Control-Expose-Headers"] = "Cortex-Sandbox-Stats"
    if result.fault is not None:
        raise result.fault
    return result.value


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/sys/script_runner", script_runner),
    ("GET", "/", org_root),
    ("POST", "/developer/environment/import", environment_import),
    ("POST", "/developer/environment/export", environment_export),
]


def _route_response(result: RunResult, headers: dict[str, str]) -> Response:
    """A custom route's answer: what it wrote through ``response``, else its value enveloped.

    Once the script wrote a body or ended the response, that is the answer and its return value
    is ignored (modules.md §13). Cookies from ``res.setCookie`` arrive as the JSON text of a
    ``set-cookie`` header (a name scripts cannot set) and go out as one ``Set-Cookie`` each."""
    written = result.response or {}
    status = written.get("status") or (result.fault.status if result.fault is not None else 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        status = 200
    out_headers = {**headers, **{k: v for k, v in (written.get("headers") or {}).items() if k not in ("content-length", "set-cookie")}}
    try:
        cookies = cookie_headers(json.loads((written.get("headers") or {}).get("set-cookie") or "[]"))
    except ValueError:
        cookies = []
    body = written.get("body")
    # A fault after an empty end() is still answered as the fault.
    if body is not None and (result.fault is None or body):
        media = out_headers.pop("content-type", "application/json; charset=utf-8")
        response = Response(body, status_code=status, media_type=media, headers={**server_time(), **out_headers})
    elif result.fault is not None:
        response = fault_response(result.fault, out_headers)
    else:
        response = json_response(envelope(result.value), status, out_headers)
    for cookie in cookies:
        response.raw_headers.append((b"set-cookie", cookie.encode("latin-1", errors="replace")))
    return response


@dataclass
class _Incoming:
    """What the event loop hands the scripts thread: the request, read."""

    method: str
    path: str
    raw_path: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: bytes


async def _read(scope: Scope, receive: Receive) -> _Incoming:
    """The request, read from the ASGI scope and messages as they are (a Request object and its
    parsed URL cost more than the rest of the event loop's share of a request)."""
    path = scope["path"]
    raw_path = scope.get("raw_path")
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away before the body was read")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return _Incoming(
        method=scope["method"],
        path=path,
        raw_path=raw_path.decode("latin-1").split("?", 1)[0] if raw_path else path,
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        query=_query(scope.get("query_string", b"")),
        body=b"".join(chunks),
    )


def create_app(runtime: Runtime, authenticator: Authenticator | None = None) -> CortexApp:
    auth = authenticator or Authenticator(runtime.store, tokens=runtime.tokens, audience=lambda org: runtime.audience(org.code))
    table = {(method, path): handler for method, path, handler in ROUTES}
    route_tables = RouteTables(runtime)
    scripts = ScriptsThread(runtime.sandbox.warm_one, runtime.sandbox.release)

    async def after_send() -> None:
        scripts.refill_soon()

    refill_after_send = BackgroundTask(after_send)  # runs on the event loop once the body is out

    def handle(incoming: _Incoming) -> Response:
        """One request, on the scripts thread: every lookup and the script in one hop."""
        headers: dict[str, str] = {}
        try:
            match = _ORG_PATH.match(incoming.path)
            if match is None:
                raise Fault("cortex.notFound.unspecified", reason="Requests go to /{org}/v2/...")
            org = runtime.orgs.get(match.group("org"))
            if org is None:
                raise Fault("cortex.invalidArgument.unspecified", reason=f"Unknown org {match.group('org')}.", path="org")
            path = normalise_path(match.group("rest") or "/")
            principal = auth.principal(org, incoming.headers, incoming.method, path)
            body = None if path in RAW_BODY_PATHS else _parse_body(incoming.body, incoming.headers.get("content-type"))
            if path == "/routes" or path.startswith("/routes/"):
                route_path = incoming.raw_path.split("/routes", 1)[1] if "/routes" in incoming.raw_path else ""
                route_request = {"method": incoming.method, "path": path, "headers": incoming.headers, "query": incoming.query, "body": body}
                result = run_custom_route(runtime, route_tables, org, principal, incoming.method, route_path, route_request)
                return _route_response(result, headers)
            handler = table.get((incoming.method, path))
            if handler is None and path != "/" and not path.startswith("/sys/"):
                handler = rest
            if handler is None:
                raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {incoming.method} {path}.", path=path)
            call = Call(
                org=org,
                principal=principal,
                method=incoming.method,
                path=path,
                headers=incoming.headers,
                query=incoming.query,
                body=body,
                accept_ndjson="application/x-ndjson" in incoming.headers.get("accept", ""),
                raw_body=incoming.body,
            )
            headers = call.response_headers
            value = handler(runtime, call)
            if call.accept_ndjson:
                items = value if isinstance(value, list) else [envelope(value)]
                return ndjson_response(items, headers)
            return json_response(envelope(value), headers=headers)
        except Fault as fault:
            return fault_response(fault, headers)
        except Exception:  # noqa: BLE001 - no traceback ever reaches a client
            log.exception("request failed: %s %s", incoming.method, incoming.path)
            return fault_response(Fault("cortex.error.unspecified", reason="The request failed."), headers)

    async def dispatch(scope: Scope, receive: Receive) -> Response:
        try:
            incoming = await _read(scope, receive)
        except Exception:  # noqa: BLE001 - a broken request still gets a fault
            log.exception("could not read the request: %s %s", scope.get("method"), scope.get("path"))
            return fault_response(Fault("cortex.invalidArgument.unspecified", reason="The request could not be read."))
        response: Response = await scripts.run(handle, incoming)
        response.background = refill_after_send
        return response

    return CortexApp(dispatch)


class CortexApp:
    """The ASGI application: one catch-all endpoint (every URL is ``/{org}/v2/...`` and the
    routing is ``handle``'s), so no router or middleware stands between the server and it."""

    def __init__(self, dispatch: Callable[[Scope, Receive], Awaitable[Response]]) -> None:
        self._dispatch = dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        try:
            response = await self._dispatch(scope, receive)
        except Exception:  # noqa: BLE001 - no traceback ever reaches a client
            log.exception("request failed: %s %s", scope.get("method"), scope.get("path"))
            response = fault_response(Fault("cortex.error.unspecified", reason="The request failed."))
        await response(scope, receive, send)
