"""``test_engine`` again with every expression compiled on its first evaluation, so the generated
code is held to the same expectations as the tree it replaces."""

from __future__ import annotations

import pytest

from cortex_runtime.expressions import core
from tests.expressions.test_engine import *  # noqa: F403 - the same tests and fixtures, collected here too


@pytest.fixture(autouse=True)
def compiled_on_first_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "_COMPILE_AFTER", 1)
