"""Results and faults as Cortex responses (spec rest-api-auth.md §3).

A Cortex document (an object with a string ``object``) goes out raw, an array as a list
envelope, anything else as ``{"object": "result", "data": ...}``; a fault with its status.
Every response is JSON with a Content-Type and ``Medable-Server-Time``: the real client
crashes on bodies without a Content-Type, on 204s and on redirects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from starlette.responses import Response

from ..faults import Fault
from ..sandbox.codec import to_plain

__all__ = ["envelope", "fault_response", "json_response", "ndjson_response", "server_time"]

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"


def server_time() -> dict[str, str]:
    return {"Medable-Server-Time": str(int(time.time() * 1000))}


def envelope(value: Any) -> Any:
    """The wire form of a result value."""
    plain = to_plain(value)
    if isinstance(plain, dict) and isinstance(plain.get("object"), str):
        return plain
    if isinstance(plain, list):
        return {"object": "list", "data": plain, "hasMore": False}
    return {"object": "result", "data": plain}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(body), status_code=status, media_type=JSON_TYPE, headers={**server_time(), **(headers or {})})


def fault_response(fault: Fault, headers: dict[str, str] | None = None) -> Response:
    body = fault.to_json()
    body.pop("trace", None)  # traces stay in the run's log, not on the wire
    status = fault.status if isinstance(fault.status, int) and 200 <= fault.status < 600 else 500
    return json_response(body, status, headers)


def ndjson_response(lines: Iterable[Any], headers: dict[str, str] | None = None) -> Response:
    body = b"".join(_dumps(to_plain(line)) + b"\n" for line in lines)
    return Response(body, status_code=200, media_type=NDJSON_TYPE, headers={**server_time(), **(headers or {})})
