"""The script unit-test harness: ``cortex-runtime test`` and the pytest plugin.

Kept light to import: the pytest plugin (``cortex_runtime.testing.plugin``) is loaded in
every pytest session of an environment where this package is installed, so nothing here
imports the runtime until a harness is actually used.
"""

from __future__ import annotations

__all__ = ["HarnessSession", "run_paths"]


def __getattr__(name: str):  # noqa: ANN202 - lazy re-exports
    if name == "HarnessSession":
        from .session import HarnessSession

        return HarnessSession
    if name == "run_paths":
        from .runner import run_paths

        return run_paths
    raise AttributeError(name)
