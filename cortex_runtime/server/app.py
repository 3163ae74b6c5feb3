"""create_app: the ASGI application. Routing is data: one table of (method, path, handler).

Every URL is ``/{org}/v2/<path>`` (``v2`` optional). Each handler gets a ``Call`` (org,
principal, parsed body, headers) and returns a value or raises a ``Fault``; everything
else, including any Python exception, becomes a Cortex fault response, never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..faults import Fault
from ..objects.orgs import Org
from ..objects.principals import DEVELOPER, Principal
from ..runtime import Runtime
from ..sandbox import RunResult
from .auth import Authenticator, normalise_path
from .custom_routes import RouteTables, run_custom_route
from .tokens import in_scope
from .rest import org_root, rest
from .rendering import envelope, fault_response, json_response, ndjson_response, server_time

__all__ = ["Call", "create_app"]

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


Handler = Callable[[Runtime, Call], Any]


async def _read_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Fault("cortex.tooLarge.unspecified", reason=f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")
    if not raw.strip():
        return None
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type.startswith("text/"):
        return raw.decode("utf-8", errors="replace")
    if content_type == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason="The request body is not valid JSON.") from exc


def _query(request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
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
]


def _route_response(result: RunResult, headers: dict[str, str]) -> Response:
    """A custom route's answer: what it wrote through ``response``, else its value enveloped."""
    written = result.response or {}
    status = written.get("status") or (result.fault.status if result.fault is not None else 200)
    out_headers = {**headers, **{k: v for k, v in (written.get("headers") or {}).items() if k != "content-length"}}
    if written.get("body") is not None:
        media = out_headers.pop("content-type", "application/json; charset=utf-8")
        return Response(written["body"], status_code=status, media_type=media, headers={**server_time(), **out_headers})
    if result.fault is not None:
        return fault_response(result.fault, out_headers)
    return json_response(envelope(result.value), status, out_headers)


def create_app(runtime: Runtime, authenticator: Authenticator | None = None) -> Starlette:
    auth = authenticator or Authenticator(runtime.store, tokens=runtime.tokens, audience=lambda org: runtime.audience(org.code))
    table = {(method, path): handler for method, path, handler in ROUTES}
    route_tables = RouteTables(runtime)
    # Scripts run on one thread: the engine holds the GIL anyway, and its pre-warmed
    # contexts belong to the thread that built them. The pool is refilled on that thread
    # after each response is sent, off the request's clock.
    scripts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scripts")

    async def on_scripts(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(scripts, functools.partial(fn, *args))

    def refill_after(response: Response) -> Response:
        response.background = BackgroundTask(on_scripts, runtime.sandbox.warm)
        return response

    async def dispatch(request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            match = _ORG_PATH.match(request.url.path)
            if match is None:
                raise Fault("cortex.notFound.unspecified", reason="Requests go to /{org}/v2/...")
            org = await run_in_threadpool(runtime.orgs.get, match.group("org"))
            if org is None:
                raise Fault("cortex.invalidArgument.unspecified", reason=f"Unknown org {match.group('org')}.", path="org")
            path = normalise_path(match.group("rest") or "/")
            lowered = {k.lower(): v for k, v in request.headers.items()}
            principal = await run_in_threadpool(auth.principal, org, lowered, request.method, path)
            if path == "/routes" or path.startswith("/routes/"):
                raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0]
                route_path = raw.split("/routes", 1)[1] if "/routes" in raw else ""
                route_request = {
                    "method": request.method,
                    "path": path,
                    "headers": lowered,
                    "query": _query(request),
                    "body": await _read_body(request),
                }
                result = await on_scripts(run_custom_route, runtime, route_tables, org, principal, request.method, route_path, route_request)
                return refill_after(_route_response(result, headers))
            handler = table.get((request.method, path))
            if handler is None and path != "/" and not path.startswith("/sys/"):
                handler = rest
            if handler is None:
                raise Fault("cortex.notFound.unspecified", reason=f"No endpoint {request.method} {path}.", path=path)
            call = Call(
                org=org,
                principal=principal,
                method=request.method,
                path=path,
                headers=lowered,
                query=_query(request),
                body=await _read_body(request),
                accept_ndjson="application/x-ndjson" in lowered.get("accept", ""),
            )
            headers = call.response_headers
            value = await on_scripts(handler, runtime, call)
            if call.accept_ndjson:
                items = value if isinstance(value, list) else [envelope(value)]
                return refill_after(ndjson_response(items, headers))
            return refill_after(json_response(envelope(value), headers=headers))
        except Fault as fault:
            return refill_after(fault_response(fault, headers))
        except Exception:  # noqa: BLE001 - no traceback ever reaches a client
            log.exception("request failed: %s %s", request.method, request.url.path)
            return fault_response(Fault("cortex.error.unspecified", reason="The request failed."), headers)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", dispatch, methods=methods)])
