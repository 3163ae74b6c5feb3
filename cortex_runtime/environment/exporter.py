"""Exporting an environment: the chunks ``mdctl env export`` reads (environments.md §5.4,
rest-api-auth.md §9.1), in the platform's order, ending with the manifest trailer.

Every document carries its ``resource`` key; ids never appear (unique keys replace them).
With an empty manifest the trailer's manifest is built from what was exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .kinds import KINDS, EnvContext
from .manifest import Manifest, section_of

if TYPE_CHECKING:
    from ..objects.orgs import Org
    from ..objects.principals import Principal
    from ..runtime import Runtime

__all__ = ["EXPORT_ORDER", "export_environment"]

EXPORT_ORDER = (
    "notification", "smsNumber", "storageLocation", "app", "role", "policy", "serviceAccount", "env",
    "script", "expression", "view", "object", "template", "i18n", "config",
)


def _built_manifest(keys: list[str]) -> dict[str, Any]:
    manifest: dict[str, Any] = {"object": "manifest"}
    objects = sorted(key.partition(".")[2] for key in keys if key.startswith("object."))
    for key in keys:
        kind, _, rest = key.partition(".")
        if kind in ("env", "object"):
            continue
        manifest.setdefault(section_of(kind), {"includes": []})["includes"].append(rest)
    for section in manifest.values():
        if isinstance(section, dict):
            section["includes"].sort()
    if "env" in keys:
        manifest["env"] = {"includes": ["*"]}
    if objects:
        manifest["objects"] = [{"includes": ["*"], "name": name} for name in objects]
    return {k: manifest[k] for k in sorted(manifest)}


def export_environment(runtime: Runtime, org: Org, principal: Principal, manifest: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The export stream of ``org``: resource documents, then the trailer."""
    ctx = EnvContext(runtime=runtime, org=org, principal=principal)
    given = dict(manifest or {})
    chosen = Manifest(given if given else None)
    chunks: list[dict[str, Any]] = []
    for kind in EXPORT_ORDER:
        for doc in KINDS[kind].export(ctx):
            if chosen.accepts(doc["resource"]):
                chunks.append(doc)
    keys = [chunk["resource"] for chunk in chunks]
    trailer = {**given, "object": "manifest"} if given else _built_manifest(keys)
    chunks.append(trailer)
    chunks.append({"object": "manifest-dependencies", "dependencies": {}})
    chunks.append({"object": "manifest-exports", "resources": keys})
    return chunks
