"""Host modules the tests plug into a Sandbox."""

from __future__ import annotations

from cortex_runtime import Fault
from cortex_runtime.sandbox import RunInfo


class FaultyModule:
    """A Python-implemented script module, ``require('faulty')``."""

    def module_methods(self, name: str) -> list[str] | None:
        return ["explode", "deny", "echo"] if name == "faulty" else None

    def call(self, run: RunInfo, name: str, args: list) -> object:
        if name == "faulty.explode":
            raise ValueError("secret host detail")
        if name == "faulty.deny":
            raise Fault("cortex.accessDenied.unspecified", reason="denied by host")
        if name == "faulty.echo":
            return args[0]
        raise Fault("script.invalidArgument.unknownCommand", path=name)
