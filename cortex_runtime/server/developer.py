"""``POST /developer/environment/import`` and ``/export`` (environments.md §5, rest-api-auth.md §9).

The import body is NDJSON (optionally gzip or deflate encoded) or one JSON document, a
``{object: "list"}`` or a ``{object: "result"}`` envelope; the response is the import's
progress lines, ending with ``complete`` or with the fault. The export answers NDJSON
chunks, ending with the manifest trailer. Both need the developer or administrator role.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..environment.exporter import export_environment
from ..environment.importer import documents_of, import_environment
from ..faults import Fault
from ..objects.principals import DEVELOPER

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .app import Call

__all__ = ["MAX_IMPORT_BYTES", "RAW_BODY_PATHS", "environment_export", "environment_import"]

MAX_IMPORT_BYTES = 256 * 1024 * 1024
IMPORT_PATH = "/developer/environment/import"
RAW_BODY_PATHS = frozenset({IMPORT_PATH})
# This server never runs as a production environment.
PRODUCTION = False


def _flag(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def _require_developer(call: Call) -> None:
    if not (call.principal.has_role(DEVELOPER) or call.principal.is_org_admin):
        raise Fault("cortex.accessDenied.role", reason="Importing and exporting environments needs the developer role.")


def _decoded(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "x-gzip"):
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, MAX_IMPORT_BYTES + 1)
    elif encoding == "deflate":
        data = zlib.decompressobj().decompress(raw, MAX_IMPORT_BYTES + 1)
    else:
        raise Fault("cortex.invalidArgument.unsupportedContentEncoding", reason=f"Unsupported content encoding {encoding}.")
    if len(data) > MAX_IMPORT_BYTES:
        raise Fault("cortex.tooLarge.unspecified", reason=f"Imports are limited to {MAX_IMPORT_BYTES} bytes.")
    return data


def import_documents(raw: bytes, content_type: str) -> Iterable[Any]:
    """The documents of an import body: NDJSON lines, or a JSON document or envelope."""
    media = content_type.split(";")[0].strip().lower()
    if media != "application/x-ndjson":
        try:
            body = json.loads(raw) if raw.strip() else []
        except ValueError:
            body = None
        if isinstance(body, dict):
            if body.get("object") == "fault":
                raise Fault(str(body.get("errCode") or "cortex.error.unspecified"), reason=body.get("reason"))
            if body.get("object") == "list" and isinstance(body.get("data"), list):
                return body["data"]
            if body.get("object") == "result":
                return [body.get("data")]
            return [body]
        if isinstance(body, list):
            return body
    return list(documents_of(raw.splitlines()))


def environment_import(runtime: Runtime, call: Call) -> list[Any]:
    _require_developer(call)
    if _flag(call.query.get("production", False)) != PRODUCTION:
        raise Fault(
            "cortex.invalidArgument.unspecified",
            reason="To help prevent unintentional imports, the production flag must be set in production and only in production environments.",
        )
    raw = _decoded(call.raw_body, call.headers.get("content-encoding", ""))
    report = import_environment(runtime, call.org, call.principal, import_documents(raw, call.headers.get("content-type", "")))
    call.accept_ndjson = True
    lines: list[Any] = list(report.lines)
    if report.fault is not None:
        lines.append(report.fault.to_json())
    return lines


def environment_export(runtime: Runtime, call: Call) -> list[Any]:
    _require_developer(call)
    body = call.body if isinstance(call.body, dict) else {}
    manifest = body.get("manifest") if isinstance(body.get("manifest"), dict) else None
    call.accept_ndjson = True
    return export_environment(runtime, call.org, call.principal, manifest)
