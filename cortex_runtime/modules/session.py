"""``require('session')``: ``get(path?)`` and ``set(path, value)`` (modules.md §17).

Scripts keep a small container of their own on the login session the request came in with.
A run knows its session by ``RunContext.session`` (the session's id, a string; ``None`` when
the request has none, and for jobs, triggers and runs without a request).

- ``get(path?)``: the value at a dotted ``path`` inside the container; no path: the whole
  container. No session, or nothing stored there: ``undefined``.
- ``set(path, value)``: writes ``value`` at ``path``, creating intermediate objects;
  ``set(path, null)`` stores null. ``set()`` / ``set(null)`` resets the container to ``{}``;
  ``set(undefined, object)`` replaces the whole container. Without a session ``set`` does
  nothing (silently, as the platform does).

The container is stored serialised as JSON (dates and ids come back as strings, as
``JSON.stringify`` leaves them); more than ``MAX_BYTES`` (4,096) of it fails with
``cortex.tooLarge.unspecified``. It lives in the store's ``sessions`` collection, one
document per (org, session id), and lasts as long as the login session (whoever ends a
session removes its document).
"""

from __future__ import annotations

import json
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..objects.store import Store, map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import UNDEFINED, Undefined, to_plain

__all__ = ["MAX_BYTES", "SessionModule", "SessionStore"]

MAX_BYTES = 4096


class SessionStore:
    """The script containers of login sessions, in the store."""

    def __init__(self, store: Store) -> None:
        self._collection = store.sessions

    def load(self, org_id: ObjectId, session_id: str) -> dict[str, Any] | None:
        with map_store_errors():
            found = self._collection.find_one({"org": org_id, "session": session_id}, {"data": 1})
        if not found or not isinstance(found.get("data"), str):
            return None
        value = json.loads(found["data"])
        return value if isinstance(value, dict) else None

    def save(self, org_id: ObjectId, session_id: str, text: str) -> None:
        with map_store_errors():
            self._collection.update_one({"org": org_id, "session": session_id}, {"$set": {"data": text}}, upsert=True)

    def remove(self, org_id: ObjectId, session_id: str) -> None:
        """Forget a session's container (when the login session ends)."""
        with map_store_errors():
            self._collection.delete_one({"org": org_id, "session": session_id})


def _path(value: Any) -> list[str] | None:
    if value is None or isinstance(value, Undefined):
        return None
    if not isinstance(value, str):
        raise Fault("cortex.invalidArgument.unspecified", reason="A session path must be a string.", path="path")
    parts = [p for p in value.split(".") if p]
    return parts or None


def _serialise(container: dict[str, Any]) -> str:
    text = json.dumps(to_plain(container), separators=(",", ":"), default=str)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise Fault(
            "cortex.tooLarge.unspecified",
            reason=f"Breached maximum sandbox session storage limit of {MAX_BYTES} bytes by {size - MAX_BYTES}",
        )
    return text


class SessionModule:
    require_name = "session"
    prefix = "session."
    methods = ("get", "set")
    needs_runtime = True

    def __init__(self, runtime: Any) -> None:
        self._sessions = SessionStore(runtime.store)

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        session_id = getattr(run.context, "session", None)
        if name == "session.get":
            parts = _path(args[0] if args else None)
            if not session_id:
                return UNDEFINED
            node: Any = self._sessions.load(run.org._id, str(session_id))
            for part in parts or []:
                if not isinstance(node, dict) or part not in node:
                    return UNDEFINED
                node = node[part]
            return UNDEFINED if node is None and not parts else node
        if name == "session.set":
            parts = _path(args[0] if args else None)
            value = args[1] if len(args) > 1 else UNDEFINED
            if not session_id:
                return UNDEFINED
            org_id, sid = run.org._id, str(session_id)
            if parts is None:
                container: dict[str, Any] = dict(value) if isinstance(args[0] if args else None, Undefined) and isinstance(value, dict) else {}
            else:
                container = self._sessions.load(org_id, sid) or {}
                target = container
                for part in parts[:-1]:
                    if not isinstance(target.get(part), dict):
                        target[part] = {}
                    target = target[part]
                if isinstance(value, Undefined):
                    target.pop(parts[-1], None)
                else:
                    target[parts[-1]] = value
            self._sessions.save(org_id, sid, _serialise(container))
            return UNDEFINED
        raise Fault("script.invalidArgument.unknownCommand", path=name)
