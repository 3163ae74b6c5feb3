from pathlib import Path

import pytest


@pytest.fixture
def cortex_env() -> Path:
    """The app folder: deployed into each test's org by the cortex_runtime fixture."""
    return Path(__file__).resolve().parent.parent
