"""The host side of layered routes: ``next()``, ``req.memo(path[, value])`` and the body
accessor's writes (``body(path, value)``).

Routes matching one request run in order; a handler calling ``next()`` ends its script and
passes the request on. The route's shared state (``RunContext.route``, made by
``server/custom_routes.py`` for one request) holds what the layers share:

- ``memo``: the per-request scratch store of ``req.memo`` (one argument reads, two write);
- ``body``: the request body; a decorated handler's ``body('a.b', v)`` changes it here, so the
  next layer's ``req.body`` / ``body()`` sees the change;
- ``next``: set by ``next()``.

Paths are dotted (``a.b.c``); segments that would reach a prototype (``__proto__``,
``constructor``, ``prototype``) are ignored on write and read back null, as the platform's
path accessor does (decorators-expressions.md §3.1).
"""

from __future__ import annotations

from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo
from ..sandbox.codec import UNDEFINED

__all__ = ["RouteModule", "read_path", "write_path"]

_UNSAFE = ("__proto__", "constructor", "prototype")
_MISSING = object()


def _segments(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.strip():
        raise Fault("cortex.invalidArgument.unspecified", reason="A string property path is required.", path=str(path))
    return path.strip().split(".")


def read_path(root: Any, path: str) -> Any:
    """The value at ``path``; ``_MISSING`` where there is none, None past an unsafe segment."""
    current = root
    for part in _segments(path):
        if part in _UNSAFE:
            return None
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def write_path(root: dict[str, Any], path: str, value: Any) -> bool:
    """Sets ``path`` in ``root`` (objects made on the way). False when the path is unsafe or
    runs into a value that is not an object."""
    parts = _segments(path)
    if any(part in _UNSAFE for part in parts):
        return False
    target: Any = root
    for part in parts[:-1]:
        if isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
            continue
        if not isinstance(target, dict):
            return False
        if not isinstance(target.get(part), (dict, list)):
            target[part] = {}
        target = target[part]
    last = parts[-1]
    if isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = value
        return True
    if not isinstance(target, dict):
        return False
    target[last] = value
    return True


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
            if not args:
                return memo
            if len(args) > 1:
                if not write_path(memo, str(args[0]) if args[0] is not None else "", args[1]):
                    return None
            found = read_path(memo, str(args[0]) if args[0] is not None else "")
            return UNDEFINED if found is _MISSING else found
        if name == "route.body":
            # [path, value]: the decorated handler's body(path, value); answers the whole body.
            if len(args) < 2:
                raise Fault("cortex.invalidArgument.unspecified", reason="body(path, value) needs a path and a value.")
            body = state.get("body")
            if body is None:
                body = state["body"] = {}
            if not isinstance(body, dict):
                raise Fault("cortex.invalidArgument.unspecified", reason="The request body is not an object.", path=str(args[0]))
            write_path(body, args[0], args[1])  # an unsafe path changes nothing
            return body  # the sandbox keeps its copy in step
        raise Fault("script.invalidArgument.unknownCommand", path=name)
