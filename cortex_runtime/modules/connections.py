"""``require('connections')``: sharing instances with accounts (spec modules.md §4).

So far ``create(objects, id, targets, options)``: the share checks of the object layer, and
connections that are active at once (invitations, acceptance and links come later).
"""

from __future__ import annotations

from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["ConnectionsModule"]


class ConnectionsModule:
    require_name = "connections"
    prefix = "connections."
    methods = ("create",)

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        if name == "connections.create":
            objects, instance_id, targets = (list(args) + [None, None, None])[:3]
            options = args[3] if len(args) > 3 and isinstance(args[3], dict) else {}
            if run.context.objects.safe:
                options = {k: v for k, v in options.items() if k != "skipAcl"}
            return run.context.objects.layer.share(str(objects), instance_id, targets, options)
        raise Fault("script.invalidArgument.unknownCommand", path=name)
