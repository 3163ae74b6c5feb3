"""``require('expressions')`` (spec expressions.md §7.1): run expressions and pipelines on the host.

``run``/``pipeline.run`` throw faults into the script; ``evaluate``/``pipeline.evaluate``
return ``{err, result}`` for evaluation faults but still throw parse faults, as the
platform compiles before its guard. Results leave as JSON-safe values: undefined keys are
dropped, undefined array items and NaN/Infinity become null. ``pipeline.run`` returns an
array here, not a lazy script cursor.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ..expressions import MISSING, Pipeline, parse
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


class ExpressionsModule:
    require_name = "expressions"
    prefix = "expressions."
    needs_context = False
    methods = ("run", "evaluate", "parse", "version", "pipeline.run", "pipeline.evaluate", "pipeline.parse")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        command = name[len(self.prefix) :]
        if command == "version":
            return VERSION
        if command in ("run", "evaluate", "parse"):
            expression = parse(_arg(args, 0))  # parse faults are thrown for all three
            if command == "parse":
                return {"object": "expression", "path": expression.node.path, "type": type(expression.node).__name__}
            root = _input(args)
            if command == "run":
                return to_output(expression.evaluate(root))
            try:
                return {"err": None, "result": to_output(expression.evaluate(root))}
            except Fault as fault:
                return {"err": fault.to_json(), "result": None}
        if command in ("pipeline.run", "pipeline.evaluate", "pipeline.parse"):
            pipeline = Pipeline(_arg(args, 0))
            if command == "pipeline.parse":
                return {"object": "pipeline", "stages": [stage.path for stage in pipeline.stages]}
            source = _input(args)
            if command == "pipeline.run":
                return to_output(list(pipeline.run(source)))
            try:
                out = list(pipeline.run(source))
                return {"err": None, "result": to_output(out[-1] if out else MISSING)}
            except Fault as fault:
                return {"err": fault.to_json(), "result": None}
        raise Fault("script.invalidArgument.unknownCommand", path=name)
