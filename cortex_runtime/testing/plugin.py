"""The pytest plugin (entry point ``pytest11``): fixtures for Python-side tests of scripts.

- ``cortex_env``: the environment folder deployed into each test's org; None unless the ini
  option ``cortex_env`` names one (relative to the rootdir). Override it in a conftest.py.
- ``cortex_runtime``: a ``CortexTestRuntime`` (cortex_runtime/testing/api.py) for one test:
  a fresh org on its own embedded store, the environment deployed, the clock at 2024-01-01.
- ``cortex_org``: that org.

It is loaded by every pytest session where cortex-runtime is installed, so it imports nothing
of the runtime until one of its fixtures is used, and defines nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: Any) -> None:
    parser.addini("cortex_env", "environment folder the cortex_runtime fixture deploys", default="")


@pytest.fixture
def cortex_env(request: Any) -> Path | None:
    value = request.config.getini("cortex_env")
    return Path(request.config.rootpath, value) if value else None


@pytest.fixture(scope="session")
def _cortex_sandbox() -> Any:
    from cortex_runtime.sandbox import Sandbox

    return Sandbox()


@pytest.fixture
def cortex_runtime(cortex_env: Path | None, _cortex_sandbox: Any) -> Any:
    from cortex_runtime.testing.api import CortexTestRuntime
    from cortex_runtime.testing.session import HarnessSession

    session = HarnessSession(cortex_env, sandbox=_cortex_sandbox)
    try:
        yield CortexTestRuntime(session)
    finally:
        session.close()


@pytest.fixture
def cortex_org(cortex_runtime: Any) -> Any:
    return cortex_runtime.org
