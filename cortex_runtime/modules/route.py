"""The host side of layered routes: ``next()`` and ``req.memo(key[, value])``.

Routes matching one request run in order; a handler calling ``next()`` ends its script and
passes the request on. ``req.memo`` is a store shared by the routes of one request.
"""

from __future__ import annotations

from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["RouteModule"]


class RouteModule:
    prefix = "route."

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        state = getattr(run.context, "route", None)
        if not isinstance(state, dict):
            raise Fault("cortex.invalidArgument.unspecified", reason="Only route scripts have a request to pass on.")
        if name == "route.next":
            state["next"] = True
            return None
        if name == "route.memo":
            memo = state.setdefault("memo", {})
            key = str(args[0]) if args else ""
            if len(args) > 1:
                memo[key] = args[1]
            return memo.get(key)
        raise Fault("script.invalidArgument.unknownCommand", path=name)
