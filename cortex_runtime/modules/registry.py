"""ModuleRegistry: the sandbox's HostApi, dispatching host calls to the Python modules."""

from __future__ import annotations

from typing import Any, Protocol

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["HostModule", "ModuleRegistry"]


class HostModule(Protocol):
    """A Python module: handles every host call whose name starts with ``prefix``.
    ``methods`` (optional) lists what ``require(<name>)`` exposes, for modules scripts require.
    Unless it sets ``needs_context = False``, it is only called for runs that have a
    ``RunContext`` (an org and a principal): the registry refuses the call otherwise."""

    prefix: str

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any: ...


class ModuleRegistry:
    def __init__(self, modules: list[HostModule]) -> None:
        self._modules = list(modules)

    def module_methods(self, name: str) -> list[str] | None:
        for module in self._modules:
            if getattr(module, "require_name", None) == name:
                return list(getattr(module, "methods", []))
        return None

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        objects = getattr(run.context, "objects", None)
        if getattr(objects, "module_rules", None):
            # script.as modules rules (fidelity.md §8)
            from .script import check_command

            check_command(objects, name, args)
        for module in self._modules:
            if name.startswith(module.prefix):
                if run.context is None and getattr(module, "needs_context", True):
                    raise Fault("kNotImplemented", reason="This run has no org or object layer.")
                return module.call(run, name, args)
        raise Fault("script.invalidArgument.unknownCommand", path=name)
