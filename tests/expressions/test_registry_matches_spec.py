"""The registries against the spec files: the operator names (headings of the operator spec
files), and the accumulator, stage and system-variable names listed in expressions.md, equal
the names the engine registers, exactly."""

from __future__ import annotations

import re
from pathlib import Path

from cortex_runtime.expressions import ACCUMULATORS, OPERATORS, STAGES, SYSTEM_VARIABLES
from cortex_runtime.expressions.core import SYSTEM_VARIABLE_NAMES

SPEC = Path("/work/shared/spec")
HEADING = re.compile(r"^\*\*`(\$[A-Za-z0-9]+)`\*\*", re.MULTILINE)

ENGINE = (SPEC / "expressions.md").read_text(encoding="utf-8")


def spec_operator_names() -> set[str]:
    names: set[str] = set()
    for name in ("expression-operators-a-i.md", "expression-operators-j-z.md"):
        names |= set(HEADING.findall((SPEC / name).read_text(encoding="utf-8")))
    return names


def test_the_spec_lists_147_operators():
    assert len(spec_operator_names()) == 147


def test_the_operator_registry_equals_the_spec():
    spec = spec_operator_names()
    assert set(OPERATORS) - spec == set(), "registered but not in the spec"
    assert spec - set(OPERATORS) == set(), "in the spec but not registered"


def spec_stage_names() -> set[str]:
    """§6.1: "The 13 stages: `$count $cursor ...`"."""
    line = re.search(r"The 13 stages: `([^`]+)`", ENGINE)
    assert line is not None
    return set(line.group(1).split())


def spec_accumulator_names() -> set[str]:
    """§5: the accumulator table's first column (`$max` / `$min` share a row)."""
    section = ENGINE[ENGINE.index("## 5. Accumulators") : ENGINE.index("## 6. Pipelines")]
    names: set[str] = set()
    for row in re.findall(r"^\| (`\$[^|]+)\|", section, re.MULTILINE):
        names |= set(re.findall(r"`(\$[A-Za-z]+)`", row))
    return names


def spec_system_variable_names() -> set[str]:
    """§2.3: the system-variable table's first column."""
    section = ENGINE[ENGINE.index("### 2.3 System variables") : ENGINE.index("### 2.4 User variables")]
    return set(re.findall(r"^\| `\$\$([A-Z]+)`", section, re.MULTILINE))


def test_the_spec_lists_10_accumulators_13_stages_13_system_variables():
    assert len(spec_accumulator_names()) == 10
    assert len(spec_stage_names()) == 13
    assert len(spec_system_variable_names()) == 13


def test_the_accumulator_registry_equals_the_spec():
    assert set(ACCUMULATORS) == spec_accumulator_names()


def test_the_stage_registry_equals_the_spec():
    assert set(STAGES) == spec_stage_names()


def test_the_system_variable_registry_equals_the_spec():
    assert set(SYSTEM_VARIABLES) == spec_system_variable_names()
    assert set(SYSTEM_VARIABLE_NAMES) == spec_system_variable_names()
