"""The host side of ``script`` methods that change who the script acts as (``script.as``)."""

from __future__ import annotations

from typing import Any

from ..faults import Fault
from ..objects.orgs import load_principal
from ..sandbox import RunInfo

__all__ = ["ScriptModule"]


class ScriptModule:
    """``script.as.begin [principal, options]`` / ``script.as.end []``.

    ``script.as(principal, options, fn)`` runs ``fn`` as another principal of the org (by id,
    email or account instance). With ``options.safe`` (default true) the run's privileged
    options are ignored inside ``fn``. Nested calls stack.
    """

    prefix = "script."
    needs_runtime = True

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        context = run.context
        objects = context.objects
        if name == "script.as.begin":
            options = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
            current = objects.layer
            principal = load_principal(current.store, current.org_id, args[0] if args else None)
            layer = current.as_principal(principal)
            objects.push(layer, options.get("safe", True) is not False)
            return None
        if name == "script.as.end":
            objects.pop()
            return None
        if name == "script.trigger":
            event = args[0] if args else None
            if not isinstance(event, str):
                raise Fault("cortex.invalidArgument.unspecified", reason="script.trigger expects an event name.")
            self._runtime.triggers.fire_custom(objects.layer, event, args[1] if len(args) > 1 else None)
            return None
        if name == "script.listeners":
            return self._runtime.triggers.listeners(objects.layer, str(args[0] if args else ""))
        raise Fault("script.invalidArgument.unknownCommand", path=name)
