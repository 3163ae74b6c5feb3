from __future__ import annotations

import pytest

from cortex_runtime import Sandbox, limits_for
from cortex_runtime.config import Limits


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    sb = Sandbox()
    sb.prepare()
    return sb


@pytest.fixture(scope="session")
def no_ops_limit() -> Limits:
    """Route limits with the ops limit out of the way, so the time limit is what stops a script."""
    return limits_for("route").with_overrides(max_ops=10**15)
