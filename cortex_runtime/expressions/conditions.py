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
from .operators.database import ExpressionHost, named_value
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
        host = condition_host(runtime, org_id, principal_id)
        variables = {"$$SCRIPT": {"_id": script.get("_id"), "type": script_type, "label": script.get("label"), "arguments": arguments or {}}}
        if isinstance(condition, str) and _CUSTOM.match(condition):
            expression = named_value(host, "expression", condition)  # ``if: "c_name"`` (§7.4)
        else:
            expression = parse(condition)
        ok = truthy(expression.evaluate(root, variables, host=host))
    except Fault as exc:
        fault, ok = exc, False
    except RecursionError:
        fault, ok = Fault("cortex.invalidArgument.tooLarge", reason="Expression too deep to evaluate."), False
    except Exception as exc:  # noqa: BLE001 - never raised to the writer (§8.1); logged as a kError fault
        log.exception("an if condition raised a host error")
        fault, ok = Fault("kError", reason=str(exc) or type(exc).__name__), False
    if not ok:
        _record(runtime, org_id, principal_id, script, script_type, fault)
    return ok


def condition_host(runtime: Any, org_id: Any, principal_id: Any) -> ExpressionHost:
    """The caller of a condition: the org and the principal (the writer for triggers, the
    job's principal for jobs), whose object layer is built only when an operator reads."""
    cell: dict[str, Any] = {}

    def layer() -> Any:
        if "layer" not in cell:
            from ..objects.orgs import load_principal

            org = runtime.orgs.get_by_id(org_id)
            if org is None:
                raise Fault("kNotImplemented", reason="The condition's org is gone.")
            cell["layer"] = runtime.layer(org, load_principal(runtime.store, org_id, principal_id))
        return cell["layer"]

    def code() -> str:
        with map_store_errors():
            found = runtime.store.orgs.find_one({"_id": org_id}, {"code": 1})
        return str((found or {}).get("code") or org_id)

    return ExpressionHost(runtime, org_id, code, layer)


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
