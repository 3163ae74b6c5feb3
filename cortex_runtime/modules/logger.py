"""``require('logger')``: ``error``, ``warn``, ``info``, ``debug``, ``trace`` (modules.md §10).

The sandbox side is ``js_prelude/modules/logger.js`` (the ``logger.level`` filter, the
100-argument cut and the stack trace of the call); each call it lets through reaches this
module as ``logger.native.write [level, args, trace]`` and becomes **one log record of its
own** (modules.md §10 src, acceptance fact 35), not part of the run's record:

``{src: 0, lvl, dat: [args...], trc: [lines...], beg = end = now, exp = now + 30 days, pid
(who acts now: inside ``script.as`` the assumed principal), oid (who runs the script), sid,
stp, ops (used so far), ctt, cms, in, out}``, readable as ``org.objects.logs`` and through
``api.logs``.

Bounds (the platform sets none beyond the document size; ours are inferred): a record whose
arguments serialise to more than ``MAX_RECORD_BYTES`` keeps only a note that they were cut,
and a run writes at most ``MAX_RECORDS_PER_RUN`` logger records (later calls are dropped, one
last record says so). A logger call never throws on its arguments.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..faults import Fault
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import to_plain

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["LEVELS", "LoggerModule", "SRC_LOGGER"]

log = logging.getLogger(__name__)

SRC_LOGGER = 0
LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3, "trace": 4}
MAX_ARGS = 100
MAX_RECORD_BYTES = 64 * 1024
MAX_TRACE_LINES = 50
MAX_RECORDS_PER_RUN = 1000
RETENTION = timedelta(days=30)


def _trace_lines(trace: Any) -> list[str] | None:
    if not isinstance(trace, str) or not trace:
        return None
    return [line.strip() for line in trace.splitlines() if line.strip()][:MAX_TRACE_LINES]


def _data(args: Any) -> list[Any]:
    """The call's arguments as stored: at most MAX_ARGS, plain, within MAX_RECORD_BYTES."""
    values = list(args)[:MAX_ARGS] if isinstance(args, list) else [args]
    plain = to_plain(values)
    try:
        size = len(json.dumps(plain, default=str))
    except (TypeError, ValueError):
        return ["[logger arguments could not be serialised]"]
    if size > MAX_RECORD_BYTES:
        return [f"[logger arguments cut: {size} bytes, at most {MAX_RECORD_BYTES}]"]
    return plain


class LoggerModule:
    """Host side of ``logger``: ``logger.native.write [level, args, trace]``."""

    require_name = "logger.native"
    prefix = "logger."
    methods = ("write",)
    needs_runtime = True

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name != "logger.native.write":
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        level = args[0] if args else None
        if isinstance(level, str):
            level = LEVELS.get(level)
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 4:
            raise Fault("cortex.invalidArgument.unspecified", reason="logger level must be 0-4 (error, warn, info, debug, trace).", path="level")
        written = getattr(run, "_logger_records", 0)
        if written > MAX_RECORDS_PER_RUN:
            return None
        run._logger_records = written + 1  # type: ignore[attr-defined]
        if written == MAX_RECORDS_PER_RUN:
            self.write(run, 1, [f"logger output cut: at most {MAX_RECORDS_PER_RUN} records per run"], None)
            return None
        self.write(run, level, args[1] if len(args) > 1 else [], _trace_lines(args[2] if len(args) > 2 else None))
        return None

    def write(self, run: RunInfo, level: int, values: Any, trace: list[str] | None) -> None:
        context = run.context
        now = self._runtime.clock.now()
        original = context.principal
        acting = getattr(getattr(context, "objects", None), "layer", None)
        acting_id = acting.principal._id if acting is not None else original._id
        record = {
            "org": context.org._id,
            "object": "log",
            "src": SRC_LOGGER,
            "lvl": level,
            "dat": _data(values),
            "trc": trace,
            "beg": now,
            "end": now,
            "exp": now + RETENTION,
            "pid": acting_id,
            "oid": original._id,
            "sid": run.script_id,
            "stp": run.script_type,
            "ops": run.ops_used,
            "ctt": 0,
            "cms": 0,
            "in": 0,
            "out": 0,
            "owner": {"_id": original._id},
            "creator": {"_id": original._id},
            "acl": [],
        }
        with map_store_errors():
            self._runtime.store.logs.insert_one(record)
