"""Importing an environment: the platform's protocol (environments.md §5.1–§5.2), checked
before it writes.

``import_environment`` takes the documents of an import stream (manifest, package,
resources, facets and stream chunks, as ``mdctl env import`` or ``deploy DIR`` sends
them) and returns the response lines. It goes further than the platform in one way: every
resource is checked (keyed, parsed, resolved, compiled) before anything is written, so a
failed import reports every fault, each with its resource and path, and leaves the store
as it was. A write that still fails is undone, in reverse order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..faults import Fault
from .kinds import GROUPS, KINDS, ImportContext, kind_of
from .kinds.instances import unique_key_of
from .manifest import Manifest
from .resources import Resource, resource_key

if TYPE_CHECKING:
    from ..objects.orgs import Org
    from ..objects.principals import Principal
    from ..runtime import Runtime

__all__ = ["ImportReport", "import_environment", "log_line"]

log = logging.getLogger(__name__)


def log_line(kind: str, **extra: Any) -> dict[str, Any]:
    """A progress line: ``{"object": "manifest.log", "type", "level", "timestamp", ...}``, keys sorted."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = {"object": "manifest.log", "type": kind, "level": "info", "timestamp": stamp, **extra}
    return {k: line[k] for k in sorted(line)}


@dataclass
class ImportReport:
    """The response lines of an import, and its outcome."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    fault: Fault | None = None
    imported: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None


def _located(fault: Fault, resource: Resource) -> Fault:
    """The fault with its resource, stream position and a path that starts at the resource."""
    inner = fault
    while inner.errCode.endswith(".validation") and inner.faults:
        inner = inner.faults[0]
    path = inner.path or fault.path or ""
    if not path.startswith(resource.key):
        path = f"{resource.key}.{path}" if path else resource.key
    return Fault(inner.errCode, reason=inner.reason or inner.message, path=path, resource=resource.key, index=resource.index)


def _report_fault(faults: list[Fault]) -> Fault:
    first = faults[0]
    if len(faults) == 1:
        return first
    reason = f"{len(faults)} resources cannot be imported: " + "; ".join(f"{f.resource}: {f.reason}" for f in faults)
    return Fault(first.errCode, reason=reason, path=first.path, resource=first.resource, index=first.index, faults=faults)


class _Ingest:
    """Sorts the documents of a stream into the manifest, the package and the cache (§5.1)."""

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.manifest: Mapping[str, Any] | None = None
        self.package: Mapping[str, Any] | None = None
        self.lines: list[dict[str, Any]] = []

    def feed(self, documents: Iterable[Any]) -> None:
        for index, doc in enumerate(documents):
            if not isinstance(doc, Mapping):
                raise Fault("cortex.invalidArgument.unspecified", reason=f"the resource at position {index} is not an object", index=index)
            doc = {k: v for k, v in doc.items() if k != "//"}
            kind = doc.get("object")
            if isinstance(kind, str) and kind.startswith("manifest-"):
                continue
            if kind == "manifest":
                self.manifest = doc
                self.lines.append(log_line("ingest.manifest"))
            elif kind == "package":
                if self.package is None:
                    self.package = doc
                self.lines.append(log_line("ingest.package"))
            elif kind == "facet":
                self.ctx.cache.facets += 1
                self.lines.append(log_line("ingest.facet", resourceId=doc.get("resourceId")))
            elif kind == "stream":
                self.lines.append(log_line("ingest.stream", index=doc.get("index"), streamId=doc.get("streamId")))
            else:
                key = resource_key(doc, index, self._unique_key)
                self.ctx.cache.add(Resource(key=key, doc=doc, index=index))
                self.lines.append(log_line("ingest.resource", resourceName=key))

    def _unique_key(self, object_name: str) -> str | None:
        cached = self.ctx.cache.get(f"object.{object_name}")
        return unique_key_of(self.ctx, object_name, cached.doc if cached else None)


def _in_group(kinds: tuple[str, ...], resources: list[Resource]) -> list[Resource]:
    """The resources of one group, by kind in the group's order, then by arrival."""
    out: list[Resource] = []
    for kind in kinds:
        if kind == "*data":
            out.extend(r for r in resources if r.kind not in KINDS)
        else:
            out.extend(r for r in resources if r.kind == kind)
    return out


def import_environment(
    runtime: Runtime, org: Org, principal: Principal, documents: Iterable[Any], *, manifest: Mapping[str, Any] | None = None
) -> ImportReport:
    """Import ``documents`` into ``org`` as ``principal`` (the importing developer)."""
    report = ImportReport()
    ctx = ImportContext(runtime=runtime, org=org, principal=principal)
    report.lines.append(log_line("status", stage="ingest"))
    ingest = _Ingest(ctx)
    try:
        ingest.feed(documents)
    except Fault as fault:
        report.lines.extend(ingest.lines)
        report.fault = fault
        return report
    report.lines.extend(ingest.lines)
    chosen = Manifest(manifest if manifest is not None else ingest.manifest)
    for resource in ctx.cache.resources.values():
        resource.accepted = chosen.accepts(resource.key)

    report.lines.append(log_line("status", stage="import"))
    faults = _check(ctx)
    if faults:
        for fault in faults:
            report.lines.append(log_line("import.validation.failed", resource=fault.resource))
        report.fault = _report_fault(faults)
        return report
    try:
        _apply(ctx, report)
    except Fault as fault:
        report.fault = fault
        return report
    report.lines.append(log_line("status", stage="media.processing"))
    report.lines.append(log_line("status", stage="post"))
    report.lines.append({**(ingest.manifest or {"object": "manifest"}), "object": "manifest"})
    report.lines.append({"object": "manifest-dependencies", "dependencies": {}})
    report.lines.append({"object": "manifest-imports", "resources": []})
    report.lines.append(log_line("status", stage="complete"))
    return report


def _selected(ctx: ImportContext) -> list[Resource]:
    return [r for r in ctx.cache.resources.values() if r.accepted or r.key in ctx.needed]


def _check(ctx: ImportContext) -> list[Fault]:
    """Every selected resource's check; dependencies found in the cache are checked too."""
    faults: list[Fault] = []
    done: set[str] = set()
    while True:
        pending = [r for r in _selected(ctx) if r.key not in done]
        if not pending:
            return faults
        for _, kinds in GROUPS:
            for resource in _in_group(kinds, pending):
                done.add(resource.key)
                ctx.current = resource.key
                try:
                    kind_of(resource.kind).check(ctx, resource)
                except Fault as fault:
                    faults.append(_located(fault, resource))
        ctx.current = ""


def _apply(ctx: ImportContext, report: ImportReport) -> None:
    selected = _selected(ctx)
    ordered = [(name, r) for name, kinds in GROUPS for r in _in_group(kinds, selected)]
    undos = []
    try:
        group = None
        for position, (name, resource) in enumerate(ordered, start=1):
            if name != group:
                group = name
                report.lines.append(log_line("import.group", groupName=name))
            ctx.current = resource.key
            undos.append(kind_of(resource.kind).apply(ctx, resource))
            report.imported.append(resource.key)
            report.lines.append(log_line("import.resource", resource=resource.key, progress=round(100 * position / len(ordered), 2)))
    except Exception as exc:  # noqa: BLE001 - any failure undoes the import
        for undo in reversed(undos):
            try:
                undo()
            except Exception:  # noqa: BLE001 - keep undoing the rest
                log.exception("could not undo an import write")
        if isinstance(exc, Fault):
            raise _located(exc, next(r for _, r in ordered if r.key == ctx.current)) from exc
        log.exception("import failed")
        raise Fault("cortex.error.unspecified", reason="The import failed and was undone.", resource=ctx.current) from exc
    finally:
        ctx.current = ""


def documents_of(lines: Iterable[bytes | str]) -> Iterator[Any]:
    """Parse NDJSON lines (blank lines skipped); a line that is not JSON is a fault."""
    for number, line in enumerate(lines):
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        if not text.strip():
            continue
        try:
            yield json.loads(text)
        except ValueError as exc:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"Line {number + 1} of the import is not JSON.", index=number) from exc

