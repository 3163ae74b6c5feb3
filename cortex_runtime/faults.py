"""Cortex faults: the one error type, and its JSON wire format.

On the wire a fault is a JSON object::

    {"object": "fault", "name": "error", "errCode": "cortex.notFound.instance",
     "code": "kNotFound", "status": 404, "message": "Instance not found.",
     "reason": "...", "path": "...", "resource": "...", "index": 0, "trace": "...",
     "faults": [<child fault>, ...]}

``errCode`` is dotted (``<namespace>.<category>.<detail>``), ``code`` the legacy k-code and
``status`` the HTTP status (the JS sandbox may send ``statusCode`` instead). ``reason``, ``path``,
``resource``, ``index``, ``trace`` and ``faults`` are present only when set.

Defaults come from the registry in ``fault_registry.json`` (spec faults.md §2, §4, §7): a
registered errCode keeps its registered code, name, status and message; an unregistered one
takes them from its category; a k-code of the base table maps to its canonical errCode.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib.resources import files
from types import MappingProxyType
from typing import Any

__all__ = ["Fault", "lookup"]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    return value


def _load_registry() -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
    text = (files("cortex_runtime") / "fault_registry.json").read_text(encoding="utf-8")
    frozen: Mapping[str, Mapping[str, Mapping[str, Any]]] = _freeze(json.loads(text))
    return frozen


_REGISTRY = _load_registry()


def lookup(err_code: str) -> dict[str, Any]:
    """Resolve a dotted errCode or a k-code to its default errCode, code, status, name and message."""
    if "." in err_code:
        registered = _REGISTRY["registered"].get(err_code)
        if registered is not None:
            return {"errCode": err_code, **registered}
        parts = err_code.split(".")
        category = _REGISTRY["categories"].get(parts[1]) or _REGISTRY["categories"]["error"]
        return {"errCode": err_code, **category}
    base = _REGISTRY["base"].get(err_code)
    if base is not None:
        return {"code": err_code, **base}
    return {
        "errCode": "script.error.unspecified",
        "code": err_code,
        "status": 500,
        "name": "fault",
        "message": "",
    }


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _nonempty_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _index(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


class Fault(Exception):
    """A Cortex fault: raised by host code, thrown by scripts, rendered as fault JSON."""

    errCode: str
    code: str
    status: int
    name: str
    message: str
    reason: str | None
    path: str | None
    resource: str | None
    index: int | None
    trace: str | None
    faults: list[Fault]

    def __init__(
        self,
        err_code: str,
        message: str | None = None,
        *,
        reason: str | None = None,
        path: str | None = None,
        status: int | None = None,
        name: str | None = None,
        code: str | None = None,
        resource: str | None = None,
        index: int | None = None,
        trace: str | None = None,
        faults: Iterable[Fault] | None = None,
    ) -> None:
        defaults = lookup(err_code)
        self.errCode = defaults["errCode"]
        self.code = code if code is not None else defaults["code"]
        self.status = status if status is not None else defaults["status"]
        self.name = name if name is not None else defaults["name"]
        self.message = message if message is not None else defaults["message"]
        self.reason = reason
        self.path = path
        self.resource = resource
        self.index = index
        self.trace = trace
        self.faults = list(faults) if faults is not None else []
        super().__init__(self.message)

    def __str__(self) -> str:
        head = f"{self.name} {self.code}"
        return f"{head}: {self.message}" if self.message else head

    def __repr__(self) -> str:
        return f"Fault({self.errCode!r}, {self.message!r}, code={self.code!r}, status={self.status!r})"

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        return (type(self).from_json, (self.to_json(),))

    def to_json(self) -> dict[str, Any]:
        """Return the wire form; optional fields only when set."""
        data: dict[str, Any] = {
            "object": "fault",
            "name": self.name,
            "errCode": self.errCode,
            "code": self.code,
            "status": self.status,
            "message": self.message,
        }
        for key in ("reason", "path", "resource", "trace"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if _index(self.index) is not None:
            data["index"] = self.index
        if self.faults:
            data["faults"] = [child.to_json() for child in self.faults]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its wire form; missing or malformed fields fall back to defaults."""
        return cls._from_json(data, 0)

    @classmethod
    def from_script(cls, data: Mapping[str, Any]) -> Fault:
        """What the caller of a script receives when the script throws (fidelity.md §10): the
        thrown fault's JSON, with its errCode (registered or not), status, path, index and
        faults kept; ``reason`` falls back to the sandbox ``message``; a registered errCode
        takes its ``code`` from the server registry (so a plain ``Error('x')`` arrives as
        ``script.error.unspecified`` / kScriptError with reason ``'x'``)."""
        fault = cls.from_json(data)
        if fault.reason is None and fault.message:
            fault.reason = fault.message
        registered = _REGISTRY["registered"].get(fault.errCode)
        if registered is not None and registered.get("code"):
            fault.code = str(registered["code"])
        return fault

    @classmethod
    def from_value(cls, value: Any) -> Fault:
        """Turn anything a script threw into a fault."""
        if isinstance(value, Fault):
            return value
        if isinstance(value, str):
            return cls("kError", value)
        if isinstance(value, Mapping):
            if value.get("object") == "fault":
                return cls.from_json(value)
            message = value.get("message")
            return cls(
                "kError",
                message if isinstance(message, str) else None,
                reason=_text(value.get("reason")),
                faults=cls._children(value.get("faults"), 0),
            )
        return cls("kError", str(value))

    @classmethod
    def _from_json(cls, data: Any, depth: int) -> Fault:
        if not isinstance(data, Mapping):
            return cls("kError")
        err_code = _nonempty_str(data.get("errCode"))
        code = _nonempty_str(data.get("code"))
        status = _int(data.get("status"))
        if status is None:
            status = _int(data.get("statusCode"))
        message = data.get("message")
        return cls(
            err_code or code or "kError",
            message if isinstance(message, str) else None,
            code=code,
            status=status,
            name=_nonempty_str(data.get("name")),
            reason=_text(data.get("reason")),
            path=_text(data.get("path")),
            resource=_text(data.get("resource")),
            index=_index(data.get("index")),
            trace=_text(data.get("trace")),
            faults=cls._children(data.get("faults"), depth),
        )

    @classmethod
    def _children(cls, value: Any, depth: int) -> list[Fault]:
        if depth >= 32 or not isinstance(value, list):
            return []
        return [
            child if isinstance(child, Fault) else cls._from_json(child, depth + 1)
            for child in value
            if isinstance(child, (Mapping, Fault))
        ]
