"""Export folders on disk, deployed into and exported from an org: here, or through the
import/export endpoints of a running server.

``deploy_folder`` sends what ``mdctl env import`` would send for the folder; ``export_folder``
writes what ``mdctl env export`` would write. A remote server is reached with signed
requests (``--url``, ``--api-key``, ``--api-secret``), the same protocol the real client speaks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..faults import Fault
from .exporter import export_environment
from .importer import ImportReport, import_environment
from .tree import find_root, read_tree, write_tree

if TYPE_CHECKING:
    from ..objects.orgs import Org
    from ..objects.principals import Principal
    from ..runtime import Runtime

__all__ = ["Remote", "deploy_folder", "export_folder", "folder_documents", "is_export_folder"]


def is_export_folder(path: Path) -> bool:
    """Whether ``path`` holds an export (mdctl's layout), as opposed to a ``deploy.json`` folder."""
    try:
        find_root(path)
    except Fault:
        return False
    return True


def folder_documents(path: Path) -> list[Any]:
    """The import stream of a folder: package, manifest, documents (facets after their host), stream chunks."""
    tree = read_tree(find_root(path))
    head = [doc for doc in (tree.package, tree.manifest) if doc is not None]
    return [*head, *tree.documents, *tree.streams]


def deploy_folder(runtime: Runtime, org: Org, principal: Principal, path: Path) -> ImportReport:
    return import_environment(runtime, org, principal, folder_documents(path))


def export_folder(runtime: Runtime, org: Org, principal: Principal, path: Path, *, manifest: dict[str, Any] | None = None) -> list[Path]:
    return write_tree(path, export_environment(runtime, org, principal, manifest))


class Remote:
    """A running server's org, reached with a signing app's key and secret."""

    def __init__(self, url: str, api_key: str, api_secret: str, *, timeout: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.api_secret = api_secret
        self.timeout = timeout

    def _post(self, path: str, body: bytes, content_type: str) -> list[Any]:
        import httpx

        from ..server.auth import signed_headers

        headers = {
            **signed_headers(path, "POST", self.api_key, self.api_secret),
            "content-type": content_type,
            "accept": "application/x-ndjson",
        }
        try:
            response = httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise Fault("cortex.error.unspecified", reason=f"Cannot reach {self.url}: {exc}") from exc
        lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        if len(lines) == 1 and isinstance(lines[0], dict) and lines[0].get("object") == "fault" and response.status_code >= 400:
            raise Fault(str(lines[0].get("errCode")), reason=lines[0].get("reason"), path=lines[0].get("path"))
        return lines

    def deploy(self, path: Path) -> list[Any]:
        body = b"".join(json.dumps(doc, separators=(",", ":")).encode() + b"\n" for doc in folder_documents(path))
        return self._post("/developer/environment/import", body, "application/x-ndjson")

    def export(self, path: Path, *, manifest: dict[str, Any] | None = None) -> list[Path]:
        chunks = self._post("/developer/environment/export", json.dumps({"manifest": manifest or {}}).encode(), "application/json")
        fault = next((c for c in chunks if isinstance(c, dict) and c.get("object") == "fault"), None)
        if fault is not None:
            raise Fault(str(fault.get("errCode")), reason=fault.get("reason"), path=fault.get("path"))
        return write_tree(path, chunks)


def fault_of(lines: Iterable[Any]) -> dict[str, Any] | None:
    """The fault line of an import's response, if it failed."""
    return next((line for line in lines if isinstance(line, dict) and line.get("object") == "fault"), None)
