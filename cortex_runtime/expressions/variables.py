"""The system variables of a running script and of pipeline stages (engine spec §2.3, §3.4, §3.5):
``$$SCRIPT``, ``$$REQUEST``, ``$$BODY``, ``$$ENV``, ``$$CURSOR`` and ``$$CLOSE``.

``$$SCRIPT`` is the evaluation's ``"$$SCRIPT"`` variable (``if`` conditions pass theirs) or else
the running script's environment object (``host.script``, a function building it, set by
``require('expressions')``; undefined outside scripts).

``$$REQUEST`` and ``$$BODY`` come from the evaluation's variables (``"$$REQUEST"``/``"$$BODY"``)
or else from the host (``host.request`` / ``host.body``, set for a script that serves a
request). ``$$ENV`` is the org document read through the caller's access. ``$$CURSOR`` and
``$$CLOSE`` act on the stage being run (``StageCursor``, put in ``ctx.system`` by ``stages.py``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .core import SYSTEM_VARIABLES, ExpressionContext, _SystemVariable, read_path, register
from .values import MISSING

__all__ = ["StageCursor", "request_value"]

_DROPPED_HEADERS = ("x-forwarded-for", "x-real-ip", "medable-csrf-token")
_REQUEST_KEYS = ("_id", "method", "headers", "ip", "ipv4", "host", "url", "path", "query", "params", "locale", "object", "client")


def request_value(request: Any) -> dict[str, Any]:
    """The sanitised request copy: forwarding and CSRF headers dropped, ``md``/``medable``
    cookies stripped; every field empty without a request."""
    source = request if isinstance(request, dict) else {}
    out: dict[str, Any] = {key: copy.deepcopy(source.get(key)) for key in _REQUEST_KEYS}
    headers = {str(k).lower(): v for k, v in (source.get("headers") or {}).items()} if isinstance(source.get("headers"), dict) else {}
    for name in _DROPPED_HEADERS:
        headers.pop(name, None)
    if isinstance(headers.get("cookie"), str):
        kept = [c for c in headers["cookie"].split(";") if c.strip() and not c.strip().lower().startswith(("md", "medable"))]
        if kept:
            headers["cookie"] = ";".join(kept).strip()
        else:
            headers.pop("cookie")
    out["headers"] = headers
    for key in ("query", "params"):
        if not isinstance(out[key], dict):
            out[key] = {}
    client = source.get("client") if isinstance(source.get("client"), dict) else {}
    out["client"] = {k: client.get(k) for k in ("_id", "key", "name")}
    return out


@register(SYSTEM_VARIABLES, "SCRIPT")
class _Script(_SystemVariable):
    def value(self, ctx: ExpressionContext) -> Any:
        if "$$SCRIPT" in ctx.system:
            return ctx.system["$$SCRIPT"]
        script = getattr(ctx.host, "script", None)
        return script() if callable(script) else MISSING


@register(SYSTEM_VARIABLES, "REQUEST")
class _Request(_SystemVariable):
    def value(self, ctx: ExpressionContext) -> Any:
        if "$$REQUEST" in ctx.system:
            return ctx.system["$$REQUEST"]
        cached = ctx.system.get("$$REQUEST#")
        if cached is None:  # computed once per evaluation
            cached = ctx.system["$$REQUEST#"] = request_value(getattr(ctx.host, "request", None))
        return cached


@register(SYSTEM_VARIABLES, "BODY")
class _Body(_SystemVariable):
    """The request body, read like a memo: ``getSize``, ``isArray[.path]``,
    ``getLength[.path]`` and ``typeOf[.path]`` are queries, any other path a plain read."""

    def __init__(self, rest: str, path: str, depth: int) -> None:
        super().__init__(rest, path, depth)
        query, _, tail = rest.partition(".")
        self.query = query if query in ("getSize", "isArray", "getLength", "typeOf") else None
        if self.query is not None:
            self.rest, self.tail = "", tail
        else:
            self.tail = ""

    def value(self, ctx: ExpressionContext) -> Any:
        body = ctx.system["$$BODY"] if "$$BODY" in ctx.system else getattr(ctx.host, "body", MISSING)
        if body is None and ctx.host is not None and getattr(ctx.host, "request", None) is None:
            body = MISSING
        if self.query is None:
            return copy.deepcopy(body)
        if self.query == "getSize":
            return len(json.dumps(body, default=str)) if body is not MISSING else 0
        target = read_path(body, self.tail) if self.tail and body is not MISSING else body
        if self.query == "isArray":
            return isinstance(target, list)
        if self.query == "getLength":
            return len(target) if isinstance(target, (list, str)) else MISSING
        return _typeof(target)


def _typeof(value: Any) -> str:
    if value is MISSING:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


@register(SYSTEM_VARIABLES, "ENV")
class _Env(_SystemVariable):
    """The org document as the caller reads it (undefined without a caller)."""

    def value(self, ctx: ExpressionContext) -> Any:
        host = ctx.host
        if host is None:
            return MISSING
        if "$$ENV#" not in ctx.system:
            from ..faults import Fault

            try:
                found = next(iter(host.layer.iterate("org", {"where": {"_id": host.org_id}, "limit": 1})), MISSING)
            except Fault as fault:
                if fault.status == 403:
                    found = MISSING
                else:
                    raise
            ctx.system["$$ENV#"] = found
        return ctx.system["$$ENV#"]


class StageCursor:
    """The input of the stage being run: its position, a look-ahead for ``hasNext``, and the
    close flag ``$$CLOSE`` sets (the stage ends after the current element). ``pending`` holds
    the element ``hasNext`` read ahead (at most one), taken before the source's next."""

    def __init__(self, source: Any, path: str) -> None:
        self._source = source
        self.pending: list[Any] = []
        self.position = 0
        self.closed = False
        self.path = path

    def __iter__(self) -> StageCursor:
        return self

    def __next__(self) -> Any:
        item = self.pending.pop() if self.pending else next(self._source)
        self.position += 1
        return item

    def has_next(self) -> bool:
        if self.pending:
            return True
        try:
            self.pending.append(next(self._source))
        except StopIteration:
            return False
        return True

    def describe(self) -> dict[str, Any]:
        return {"object": "cursor", "path": self.path, "position": self.position, "closed": self.closed}


@register(SYSTEM_VARIABLES, "CURSOR")
class _Cursor(_SystemVariable):
    def __init__(self, rest: str, path: str, depth: int) -> None:
        super().__init__(rest, path, depth)
        self.field, self.rest = rest, ""

    def value(self, ctx: ExpressionContext) -> Any:
        cursor = ctx.system.get("$$CURSOR#")
        if not isinstance(cursor, StageCursor):
            return MISSING
        if self.field == "position":
            return cursor.position
        if self.field == "hasNext":
            return cursor.has_next()
        description = cursor.describe()
        return read_path(description, self.field) if self.field else description


@register(SYSTEM_VARIABLES, "CLOSE")
class _Close(_SystemVariable):
    paths = "ignored"

    def value(self, ctx: ExpressionContext) -> Any:
        cursor = ctx.system.get("$$CURSOR#")
        if isinstance(cursor, StageCursor):
            cursor.closed = True
        return MISSING
