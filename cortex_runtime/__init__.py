"""cortex-runtime: an open host for Cortex-style server-side JavaScript."""

from .config import DEFAULT_LIMITS, Limits, limits_for
from .faults import Fault
from .sandbox import RunResult, Sandbox

__version__ = "0.1.0"

__all__ = ["DEFAULT_LIMITS", "Fault", "Limits", "RunResult", "Sandbox", "__version__", "limits_for"]
