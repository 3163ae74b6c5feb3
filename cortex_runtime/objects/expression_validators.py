"""Expression validators and expression default values of properties (expressions.md §8.3).

- ``validators: [{name: 'expression', definition: <expr>}]`` on any property type: the
  definition is parsed when the property is defined; on a write it is evaluated with
  ``$$ROOT = {subject, value}`` and a falsy result fails the value with
  ``cortex.invalidArgument.unspecified``, an empty reason and the property's path; a fault it
  throws propagates as it is.
- ``defaultValue: [{type: 'expression', value: <expr>}]``: evaluated when a document is
  created, ``$$ROOT`` = the new document; an undefined result writes nothing.

The subject is the document holding the property (for a property of a sub-document, that
sub-document). The evaluation has no caller here (validation runs inside the object layer),
so operators that read the database or named expressions fault ``kNotImplemented``/``Missing``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..faults import Fault
from .model import PropertyDef

__all__ = ["check_expression_definition", "expression_default", "run_expression_validators"]

VALIDATOR = "expression"


def _compiled(value: Any) -> Any:
    from ..expressions.operators.database import compiled

    return compiled("expression", value)


def check_expression_definition(definition: Mapping[str, Any]) -> str | None:
    """Why an expression validator's definition does not parse, or None."""
    try:
        _compiled(dict(definition))
    except Fault as fault:
        return fault.reason or "Invalid expression."
    return None


def run_expression_validators(checker: Any, prop: PropertyDef, value: Any, subject: Mapping[str, Any], path: str) -> None:
    """Evaluate each expression validator of ``prop`` on ``value``; a falsy result is a failure
    recorded on ``checker`` (``checker.fail(errCode, path, reason)``)."""
    from ..expressions.values import truthy

    for validator in prop.validators:
        if validator.get("name") != VALIDATOR:
            continue
        root = {"subject": copy.deepcopy(dict(subject)), "value": copy.deepcopy(value)}
        if not truthy(_compiled(validator.get("definition")).evaluate(root)):
            checker.fail("cortex.invalidArgument.unspecified", path, "")
            return


def expression_default(prop: PropertyDef, doc: Mapping[str, Any]) -> tuple[bool, Any] | None:
    """``(True, value)`` from an expression ``defaultValue``, ``(False, None)`` when it is
    undefined, None when the default is not an expression."""
    from ..expressions.values import MISSING

    raw = prop.options.get("defaultValue")
    entry = raw[0] if isinstance(raw, list) and raw else raw
    if not isinstance(entry, Mapping) or entry.get("type") != "expression":
        return None
    result = _compiled(entry.get("value")).evaluate(copy.deepcopy(dict(doc)))
    if result is MISSING:
        return False, None
    from ..expressions.values import to_output

    return True, to_output(result)
