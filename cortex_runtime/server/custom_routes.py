"""Custom routes: ``/{org}/v2/routes/<path>`` served by deployed route scripts.

Each org's route table is built from its active route scripts (``configuration.method``,
``path``, ``priority``, ``acl``, ``principal``) and rebuilt when a deploy bumps the org's
scripts version. Candidates are tried in the table's order; the first whose ACL admits the
caller runs, as the caller or as the configured principal. An empty route ACL admits
anyone, anonymous callers included.
"""

from __future__ import annotations

import threading
from typing import Any

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

__all__ = ["RouteTables", "run_custom_route"]


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
                target = {"_id": library["_id"], "name": decorated.get("name"), "script": dispatch_source(decorated), "configuration": {**config, "principal": decorated.get("principal")}}
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


def run_custom_route(runtime: Runtime, tables: RouteTables, org: Org, principal: Any, method: str, route_path: str, request: dict[str, Any]) -> RunResult:
    """Run the first matching route the caller may use; faults as the platform names them."""
    candidates = tables.table(org).candidates(method, route_path)
    if not candidates:
        raise Fault("cortex.notFound.route", reason=f"No route for {method} /routes/{route_path}.", path=route_path)
    denied = False
    shared: dict[str, Any] = {"memo": {}, "next": False}
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
            request={**request, "params": params},
            script_id=doc.get("_id"),
            route=shared,
        )
        if shared["next"] and result.fault is None:
            continue  # next(): the following matching route handles the request
        return result
    if denied:
        raise Fault("cortex.accessDenied.route", path=route_path)
    raise Fault("cortex.notFound.route", path=route_path)
