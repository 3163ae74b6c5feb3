"""``require('expressions')`` (spec expressions.md §7.1): run expressions and pipelines on the host.

``run``/``pipeline.run`` throw faults into the script; ``evaluate``/``pipeline.evaluate``
return ``{err, result}`` for evaluation faults but still throw parse faults, as the
platform compiles before its guard. Results leave as JSON-safe values: undefined keys are
dropped, undefined array items and NaN/Infinity become null. ``pipeline.run`` returns an
array here, not a lazy script cursor. Operators that read the database, the org cache and
config, and named expressions (``runtime.*``) run as the script's caller (``ExpressionHost``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ..expressions import MISSING, Pipeline, parse
from ..expressions.operators.database import ExpressionHost, is_custom_name, named_value
from ..expressions.values import INVALID_DATE
from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["ExpressionsModule", "to_output"]

VERSION = "1.0.0"


def to_output(value: Any) -> Any:
    """Engine values to what a script receives (JSON semantics for undefined and NaN)."""
    if value is MISSING or value is INVALID_DATE:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: to_output(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [to_output(v) for v in value]
    if isinstance(value, datetime):
        return value
    return value


def _arg(args: list[Any], i: int) -> Any:
    return args[i] if len(args) > i else MISSING


def _input(args: list[Any]) -> Any:
    value = _arg(args, 1)
    return MISSING if value is None and len(args) < 2 else value


def _host(runtime: Any, run: RunInfo) -> ExpressionHost | None:
    """The script's caller for database, cache, config and named-expression operators: its org
    and its current object layer (``script.as`` changes it; safe mode drops privileged options)."""
    context = run.context
    state = getattr(context, "objects", None)
    if context is None or state is None:
        return None
    org = context.org
    return ExpressionHost(runtime, org._id, org.code, lambda: state.layer, safe=lambda: bool(getattr(state, "safe", False)))


class ExpressionsModule:
    require_name = "expressions"
    prefix = "expressions."
    needs_context = False
    needs_runtime = True
    methods = (
        "run", "evaluate", "parse", "version", "pipeline.run", "pipeline.evaluate", "pipeline.parse",
        "runtime.run", "runtime.evaluate", "runtime.pipeline.run", "runtime.pipeline.evaluate",
    )

    def __init__(self, runtime: Any = None) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        try:
            return self._call(run, name, args)
        except RecursionError as exc:  # defensive: the depth limits should make this unreachable
            raise Fault("cortex.invalidArgument.tooLarge", reason="Expression too deep to evaluate.") from exc

    def _call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        command = name[len(self.prefix) :]
        if command == "version":
            return VERSION
        host = _host(self._runtime, run)
        named = command.startswith("runtime.")
        if named:
            command = command[len("runtime.") :]
        if command in ("run", "evaluate", "parse"):
            first = _arg(args, 0)
            if named and is_custom_name(first):
                expression = named_value(host, "expression", first)  # lookup faults are thrown by both
            else:
                expression = parse(first)  # parse faults are thrown for all three
            if command == "parse":
                return {"object": "expression", "path": expression.node.path, "type": type(expression.node).__name__}
            root = _input(args)
            if command == "run":
                return to_output(expression.evaluate(root, host=host))
            try:
                return {"err": None, "result": to_output(expression.evaluate(root, host=host))}
            except Fault as fault:
                return {"err": fault.to_json(), "result": None}
        if command in ("pipeline.run", "pipeline.evaluate", "pipeline.parse"):
            first = _arg(args, 0)
            pipeline = named_value(host, "pipeline", first) if named and is_custom_name(first) else Pipeline(first)
            if command == "pipeline.parse":
                return {"object": "pipeline", "stages": [stage.path for stage in pipeline.stages]}
            source = _input(args)
            if command == "pipeline.run":
                return to_output(list(pipeline.run(source, host=host)))
            try:
                out = list(pipeline.run(source, host=host))
                return {"err": None, "result": to_output(out[-1] if out else MISSING)}
            except Fault as fault:
                return {"err": fault.to_json(), "result": None}
        raise Fault("script.invalidArgument.unknownCommand", path=name)
