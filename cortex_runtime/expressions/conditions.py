"""``if`` conditions of triggers and jobs (spec expressions.md §8.1).

A truthy result runs the resource; falsy skips it; a fault in the condition is logged and
counts as not passed, never raised to the writer. Both outcomes leave a log record (operation
``sandbox.condition.if``) so a skipped run can be told from one that never fired.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from ..faults import Fault
from ..objects.store import map_store_errors
from .core import parse
from .values import MISSING, truthy

__all__ = ["passes"]

log = logging.getLogger(__name__)
_CUSTOM = re.compile(r"^(c_[a-zA-Z0-9_-]*|[a-zA-Z0-9_-]*__[a-zA-Z0-9_-]*)$")


def passes(runtime: Any, *, org_id: Any, principal_id: Any, script: dict[str, Any], script_type: str, root: Any = MISSING, arguments: dict[str, Any] | None = None) -> bool:
    """Evaluate ``script['if']``; a missing condition always passes."""
    condition = script.get("if")
    if condition is None:
        return True
    fault: Fault | None = None
    try:
        if isinstance(condition, str) and _CUSTOM.match(condition):
            raise Fault("cortex.notFound.unspecified", reason="Missing expression.", resource=f"expression#expression.name({condition})")
        variables = {"$$SCRIPT": {"_id": script.get("_id"), "type": script_type, "label": script.get("label"), "arguments": arguments or {}}}
        ok = truthy(parse(condition).evaluate(root, variables))
    except Fault as exc:
        fault, ok = exc, False
    if not ok:
        _record(runtime, org_id, principal_id, script, script_type, fault)
    return ok


def _record(runtime: Any, org_id: Any, principal_id: Any, script: dict[str, Any], script_type: str, fault: Fault | None) -> None:
    now = runtime.clock.now()
    err = fault.to_json() if fault is not None else None
    record = {
        "org": org_id, "object": "log", "src": 2, "lvl": 0 if err else 2,
        "sid": script.get("_id"), "stp": script_type, "pid": principal_id, "oid": principal_id,
        "beg": now, "end": now, "exp": now + timedelta(days=30), "sts": err["status"] if err else 200,
        "ops": 0, "ctt": 0, "cms": 0, "in": 0, "out": 0, "err": err,
        "dat": {"operation": "sandbox.condition.if", "skipped": True, "name": script.get("name"), "reason": "condition faulted" if err else "condition is false"},
        "owner": {"_id": principal_id}, "creator": {"_id": principal_id}, "acl": [],
    }
    try:
        with map_store_errors():
            runtime.store.logs.insert_one(record)
    except Fault:
        log.exception("could not write the log record of a skipped condition")
