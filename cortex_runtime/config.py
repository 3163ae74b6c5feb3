"""Run limits, with the platform's defaults per script type (spec decisions.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["DEFAULT_LIMITS", "LIMITS_BY_TYPE", "SCRIPT_TYPES", "Limits", "limits_for"]


@dataclass(frozen=True)
class Limits:
    """What one script run may use.

    ``max_ops`` counts our coarse ops: one per function call and loop iteration, plus
    ``HOST_CALL_OPS`` per call into the host (decisions.md "Ops limit").
    """

    timeout_ms: int = 5_000
    max_ops: int = 1_000_000
    memory_bytes: int = 20 * 1024 * 1024
    stack_bytes: int = 1024 * 1024
    max_script_size: int = 50_000
    callouts: int = 5
    notifications: int = 100

    def to_js(self) -> dict[str, Any]:
        return {
            "timeoutMs": self.timeout_ms,
            "maxOps": self.max_ops,
            "callouts": self.callouts,
            "notifications": self.notifications,
        }

    def with_overrides(self, **changes: Any) -> Limits:
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


DEFAULT_LIMITS = Limits()

_TIMEOUTS_MS = {
    "route": 5_000,
    "trigger": 5_000,
    "job": 10_000,
    "runner": 5_000,
    "library": 5_000,
    "deployment": 60_000,
    "export": 60_000,
    "validator": 1_000,
    "policy": 1_000,
    "operation": 1_000,
    "transform": 5_000,
    "event": 5_000,
}

SCRIPT_TYPES = tuple(_TIMEOUTS_MS)

LIMITS_BY_TYPE = {kind: replace(DEFAULT_LIMITS, timeout_ms=ms) for kind, ms in _TIMEOUTS_MS.items()}


def limits_for(script_type: str) -> Limits:
    """The default limits of a script type; unknown types get the route defaults."""
    return LIMITS_BY_TYPE.get(script_type, DEFAULT_LIMITS)
