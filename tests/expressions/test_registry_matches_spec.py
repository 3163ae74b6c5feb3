"""The operator registry against the operator spec files: every name is either implemented or
listed in ``NOT_YET``; adding one without updating the list (or vice versa) fails here."""

from __future__ import annotations

import re
from pathlib import Path

from cortex_runtime.expressions import ACCUMULATORS, OPERATORS, STAGES, SYSTEM_VARIABLES

SPEC = Path("/work/shared/spec")
HEADING = re.compile(r"^\*\*`(\$[A-Za-z0-9]+)`\*\*", re.MULTILINE)

NOT_YET = {
    "$acl", "$as", "$function", "$i18n", "$sleep",
}


def spec_operator_names() -> set[str]:
    names: set[str] = set()
    for name in ("expression-operators-a-i.md", "expression-operators-j-z.md"):
        names |= set(HEADING.findall((SPEC / name).read_text(encoding="utf-8")))
    return names


def test_the_spec_lists_147_operators():
    assert len(spec_operator_names()) == 147


def test_every_spec_operator_is_implemented_or_not_yet():
    spec = spec_operator_names()
    assert set(OPERATORS) - spec == set(), "registered but not in the spec"
    assert spec - set(OPERATORS) == NOT_YET
    assert NOT_YET & set(OPERATORS) == set()


def test_accumulators_stages_and_system_variables():
    assert set(ACCUMULATORS) == {"$addToSet", "$avg", "$count", "$first", "$last", "$max", "$mergeObjects", "$min", "$push", "$sum"}
    assert set(STAGES) == {"$count", "$cursor", "$group", "$limit", "$match", "$pipeline", "$project", "$set", "$skip", "$unset", "$unwind"}  # not yet: $transform $var
    assert set(SYSTEM_VARIABLES) == {"ROOT", "NOW", "DATE", "RANDOM", "REMOVE", "SCRIPT", "CONTEXT", "VAR"}  # not yet: BODY CLOSE CURSOR ENV REQUEST
