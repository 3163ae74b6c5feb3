"""The Cortex expression engine (spec expressions.md): parse once, evaluate many times.

``parse(value)`` gives an ``Expression``; ``Expression.evaluate(root, variables)`` runs it.
``Pipeline(stages).run(items)`` streams items through stages. Importing the package
registers every operator, accumulator, stage and system variable.
"""

from __future__ import annotations

from . import accumulators, operators, stages, variables  # noqa: F401  (registration)
from .core import ACCUMULATORS, MAX_DEPTH, MAX_OPS, MAX_PARSE_DEPTH, OPERATORS, STAGES, SYSTEM_VARIABLES, Expression, ExpressionContext, parse
from .stages import Pipeline
from .values import EMPTY, MISSING

__all__ = [
    "ACCUMULATORS", "EMPTY", "MAX_DEPTH", "MAX_OPS", "MAX_PARSE_DEPTH", "MISSING", "OPERATORS", "STAGES", "SYSTEM_VARIABLES",
    "Expression", "ExpressionContext", "Pipeline", "parse",
]
