"""The import/export manifest (environments.md §5.5): which resources it selects.

A resource key is ``<kind>.<rest>`` (``script.c_lib``, ``template.email.c_welcome``,
``object.c_thing``). A section is the plural of the kind (``scripts``); ``objects`` is a list
of ``{name, includes, excludes}``. A pattern is ``*``, an exact string or ``/regex/flags``.
No manifest at all accepts everything; an empty one, or one whose top-level ``includes``
starts with ``*``, creates every section with ``includes: ["*"]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..faults import Fault

__all__ = ["SECTIONS", "Manifest", "section_of"]

# Kind -> manifest section.
SECTIONS = {
    "env": "env",
    "config": "configs",
    "i18n": "i18ns",
    "script": "scripts",
    "view": "views",
    "template": "templates",
    "expression": "expressions",
    "idp": "idps",
    "app": "apps",
    "role": "roles",
    "serviceAccount": "serviceAccounts",
    "smsNumber": "smsNumbers",
    "policy": "policies",
    "notification": "notifications",
    "storageLocation": "storageLocations",
    "object": "objects",
}
_KNOWN_KEYS = set(SECTIONS.values()) | {"object", "includes", "excludes", "dependencies", "exportOwner", "importOwner", "//"}


def section_of(kind: str) -> str:
    """The manifest section of a resource kind; a custom object's data is its own section."""
    return SECTIONS.get(kind, kind)


class _Pattern:
    def __init__(self, raw: Any) -> None:
        text = str(raw)
        self.any = text == "*"
        self.exact = text
        self.regex: re.Pattern[str] | None = None
        if len(text) > 1 and text.startswith("/") and text.rfind("/") > 0:
            body, _, flags = text[1:].rpartition("/")
            options = re.IGNORECASE if "i" in flags else 0
            try:
                self.regex = re.compile(body, options)
            except re.error as exc:
                raise Fault("cortex.invalidArgument.unspecified", reason=f"Invalid manifest pattern {text}.", path="manifest") from exc

    def matches(self, value: str) -> bool:
        if self.any:
            return True
        if self.regex is not None:
            return self.regex.search(value) is not None
        return value == self.exact


class _Section:
    def __init__(self, raw: Any) -> None:
        raw = raw if isinstance(raw, Mapping) else {}
        includes = raw.get("includes")
        self.includes = [_Pattern(p) for p in (includes if isinstance(includes, list) else ["*"])]
        self.excludes = [_Pattern(p) for p in (raw.get("excludes") if isinstance(raw.get("excludes"), list) else [])]

    def accepts(self, value: str) -> bool:
        return any(p.matches(value) for p in self.includes) and not any(p.matches(value) for p in self.excludes)


class Manifest:
    """A parsed manifest; ``Manifest(None)`` accepts everything."""

    def __init__(self, raw: Mapping[str, Any] | None) -> None:
        self.raw = dict(raw) if isinstance(raw, Mapping) else None
        self._sections: dict[str, _Section] = {}
        self._objects: list[tuple[_Pattern, _Section]] = []
        self._star = False
        self._top: _Section | None = None
        if self.raw is None:
            return
        top_includes = self.raw.get("includes")
        meaningful = {k for k in self.raw if k not in ("object", "//")}
        self._star = not meaningful or (isinstance(top_includes, list) and bool(top_includes) and top_includes[0] == "*")
        if "includes" in self.raw or "excludes" in self.raw:
            self._top = _Section(self.raw)
        for key, value in self.raw.items():
            if key == "objects" and isinstance(value, list):
                for entry in value:
                    if isinstance(entry, Mapping) and entry.get("name") is not None:
                        self._objects.append((_Pattern(entry["name"]), _Section(entry)))
            elif key not in _KNOWN_KEYS or key in SECTIONS.values():
                if isinstance(value, Mapping):
                    self._sections[key] = _Section(value)

    def accepts(self, resource: str) -> bool:
        """Whether the manifest selects the resource ``<kind>.<rest>`` itself (not as a dependency)."""
        if self.raw is None or self._star:
            return True
        kind, _, rest = resource.partition(".")
        if kind == "env":
            section = self._sections.get("env")
            return section is not None and section.accepts(rest or "*")
        if kind == "object":
            return any(name.matches(rest) for name, _ in self._objects) or self._fallback(rest)
        section = self._sections.get(section_of(kind))
        if section is not None:
            return section.accepts(rest)
        return self._fallback(rest)

    def _fallback(self, rest: str) -> bool:
        if self._top is None:
            return False
        return self._top.accepts(rest.rsplit(".", 1)[-1])
