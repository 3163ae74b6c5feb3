"""Custom route matching: Cortex ``/routes/<path>`` patterns and the per-org route table.

Paths are given and matched **without** the ``/routes`` prefix (``multiply/2/3``); the request path
must be the raw URL path (percent-encoding intact, no query string), as Express matches it.

Plain paths (Express 4 style)
    * Leading, trailing and repeated slashes are insignificant, in the route and in the request:
      ``/a//b/`` is ``a/b``; the empty path also answers ``/routes``.
    * ``:name`` matches one segment (``[^/]+``); ``:name?`` is optional together with the slash (or
      ``.``) before it; ``:name(<regex>)`` gives the parameter its own pattern (``:id(\\d+)``).
    * ``*`` matches any text, slashes included. A ``*`` that is a whole segment (``files/*``, ``*``)
      may also match zero segments, so ``files/*`` answers ``files`` (with ``"0" == ""``), exactly as
      Express answers ``/files/`` — since trailing slashes are insignificant. ``a*`` inside a
      segment matches ``a`` followed by anything.
    * Every other character is literal (Express 4 string quantifiers ``+``/``?``/``(...)`` outside a
      parameter are not supported). Literal text is matched **case-insensitively** (Express default,
      ``caseSensitive: false``), and must be written as it appears in the raw URL.

Regular-expression paths
    A path is a JS regex literal ``/<body>/<flags>`` when all of these hold: it starts with ``/``;
    it ends with ``/`` followed only by distinct flags from ``dgimsuvy``; the body is non-empty and
    has no unescaped ``/`` outside a ``[...]`` class (JS literal syntax); and the body contains at
    least one of ``\\ ^ $ [ ] { } ( ) | +``. So ``/^c_items\\/(\\d+)$/`` and ``/(\\w+)/i`` are
    regexes while ``/ping/``, ``/a/i`` and ``/data/:id/x`` are plain paths. The regex is searched
    (unanchored, like ``RegExp#exec``; ``y`` anchors at the start) in the normalised request path
    without leading slash (``c_items/42``; ``""`` for ``/routes``). Flags ``i m s`` map to Python;
    ``g d u v`` are ignored. ``(?<name>...)`` / ``\\k<name>`` are translated. Regexes use their own
    flags only (case-sensitive unless ``i``). A body Python cannot compile raises
    ``cortex.invalidArgument.unspecified`` (``path='path'``).

Parameters
    Named params/groups are keyed by name; ``*`` wildcards and unnamed regex groups by ``"0"``,
    ``"1"``, ... in order (Express ``req.params[0]``). Values are percent-decoded like
    ``decodeURIComponent`` (``+`` stays ``+``; a malformed escape leaves the raw value). Groups that
    did not take part in the match are omitted (Express leaves them ``undefined``).

Route table
    Entries are tried priority desc, weight desc, ``order`` asc, then registration order. ``*`` routes
    match any method; ``HEAD`` also matches ``GET`` routes. See :meth:`RouteTable.add` for the
    uniqueness and override-by-name rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from cortex_runtime.faults import Fault

__all__ = ["METHODS", "RouteEntry", "RoutePattern", "RouteTable", "normalise_path"]

METHODS = frozenset({"*", "GET", "POST", "PUT", "PATCH", "DELETE"})
"""Route methods a configuration may name (stored lower-case by Cortex, upper-case here)."""

_REGEX_SHAPE = re.compile(r"/(?P<body>.+)/(?P<flags>[dgimsuvy]*)", re.DOTALL)
_REGEX_ONLY = frozenset("\\^$[]{}()|+")
_PARAM_NAME = re.compile(r"\w+", re.ASCII)
_DEFAULT_PARAM = r"[^/]+?"


def normalise_path(path: str) -> str:
    """Drop empty segments: ``'/a//b/'`` → ``'a/b'``, ``'/'`` → ``''``."""
    return "/".join(part for part in path.split("/") if part)


def _invalid(reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason, path="path")


def _decode(value: str) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return value


def _scan_group(text: str, start: int) -> int:
    """Return the index just past the ``)`` closing the ``(`` at ``start``."""
    depth = 0
    index = start
    in_class = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise _invalid(f"Unbalanced parenthesis in route path '{text}'.")


def _has_unescaped_slash(body: str) -> bool:
    index = 0
    in_class = False
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "/":
            return True
        index += 1
    return False


def _regex_literal(path: str) -> tuple[str, str] | None:
    """Split a JS regex literal path into ``(body, flags)``; ``None`` for a plain path."""
    shape = _REGEX_SHAPE.fullmatch(path)
    if shape is None:
        return None
    body, flags = shape.group("body"), shape.group("flags")
    if len(set(flags)) != len(flags) or _has_unescaped_slash(body):
        return None
    if not _REGEX_ONLY.intersection(body):
        return None
    return body, flags


def _js_to_python(source: str) -> str:
    """Translate the JS-only regex spellings Python lacks (named groups and their backreferences)."""
    out: list[str] = []
    index = 0
    in_class = False
    while index < len(source):
        char = source[index]
        if char == "\\":
            named_ref = re.match(r"\\k<(\w+)>", source[index:])
            if named_ref and not in_class:
                out.append(f"(?P={named_ref.group(1)})")
                index += named_ref.end()
                continue
            out.append(source[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif source.startswith("(?<", index) and source[index + 3 : index + 4] not in ("=", "!"):
            out.append("(?P<")
            index += 3
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _split_segments(path: str) -> list[str]:
    """Split on ``/`` outside ``:param(...)`` patterns, dropping empty segments."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(path):
        char = path[index]
        name = _PARAM_NAME.match(path, index + 1) if char == ":" else None
        if name is not None and path[name.end() : name.end() + 1] == "(":
            end = _scan_group(path, name.end())
            current.append(path[index:end])
            index = end
            continue
        if char == "/":
            if current:
                segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    if current:
        segments.append("".join(current))
    return segments


@dataclass(frozen=True)
class _Param:
    name: str
    pattern: str
    optional: bool


def _read_param(segment: str, index: int) -> tuple[_Param, int] | None:
    """Read ``:name``, ``:name(re)`` and a trailing ``?`` at ``segment[index]`` (a ``:``)."""
    name = _PARAM_NAME.match(segment, index + 1)
    if name is None:
        return None
    end = name.end()
    pattern = _DEFAULT_PARAM
    if end < len(segment) and segment[end] == "(":
        close = _scan_group(segment, end)
        pattern = _js_to_python(segment[end + 1 : close - 1])
        end = close
    optional = end < len(segment) and segment[end] == "?"
    return _Param(name.group(), pattern, optional), end + (1 if optional else 0)


class _Builder:
    """Accumulates a plain pattern's regex source and its group → param-key mapping."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.keys: list[str] = []
        self.empty_defaults: set[str] = set()
        self._wildcards = 0

    def group(self, key: str, pattern: str) -> str:
        self.keys.append(key)
        return f"(?P<_g{len(self.keys) - 1}>{pattern})"

    def wildcard(self) -> str:
        key = str(self._wildcards)
        self._wildcards += 1
        return self.group(key, ".*")

    def segment(self, segment: str) -> None:
        if segment == "*":
            key = str(self._wildcards)
            self.parts.append(f"(?:/{self.wildcard()})?")
            self.empty_defaults.add(key)
            return
        if segment.startswith(":"):
            whole = _read_param(segment, 0)
            if whole is not None and whole[1] == len(segment):
                param = whole[0]
                group = self.group(param.name, param.pattern)
                self.parts.append(f"(?:/{group})?" if param.optional else f"/{group}")
                return
        self.parts.append("/")
        self._inline(segment)

    def _inline(self, segment: str) -> None:
        index = 0
        while index < len(segment):
            char = segment[index]
            if char == "*":
                self.parts.append(self.wildcard())
                index += 1
                continue
            read = _read_param(segment, index) if char == ":" else None
            if read is None:
                self.parts.append(re.escape(char))
                index += 1
                continue
            param, index = read
            group = self.group(param.name, param.pattern)
            if not param.optional:
                self.parts.append(group)
            elif self.parts and self.parts[-1] == re.escape("."):
                self.parts[-1] = rf"(?:\.{group})?"
            else:
                self.parts.append(f"{group}?")


class RoutePattern:
    """A compiled route path: plain (Express style) or a JS regex literal."""

    __slots__ = ("_empty_defaults", "_keys", "is_regex", "key", "regex", "source", "sticky")

    source: str
    key: str
    is_regex: bool
    regex: re.Pattern[str]
    sticky: bool
    _keys: tuple[str, ...]
    _empty_defaults: frozenset[str]

    def __init__(
        self,
        source: str,
        key: str,
        regex: re.Pattern[str],
        keys: tuple[str, ...],
        *,
        is_regex: bool,
        sticky: bool = False,
        empty_defaults: frozenset[str] = frozenset(),
    ) -> None:
        self.source = source
        self.key = key
        self.regex = regex
        self.is_regex = is_regex
        self.sticky = sticky
        self._keys = keys
        self._empty_defaults = empty_defaults

    @classmethod
    def compile(cls, path: str) -> RoutePattern:
        """Compile a configuration path; raise ``cortex.invalidArgument.unspecified`` if invalid."""
        if not isinstance(path, str):
            raise _invalid("Route path must be a string.")
        literal = _regex_literal(path)
        if literal is not None:
            return cls._compile_regex(path, *literal)
        return cls._compile_plain(path)

    @classmethod
    def _compile_regex(cls, path: str, body: str, flags: str) -> RoutePattern:
        options = 0
        for flag, option in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
            if flag in flags:
                options |= option
        try:
            regex = re.compile(_js_to_python(body), options)
        except re.error as err:
            raise _invalid(f"Invalid route path regular expression {path}: {err}.") from err
        names = {index: name for name, index in regex.groupindex.items()}
        keys: list[str] = []
        unnamed = 0
        for index in range(1, regex.groups + 1):
            if index in names:
                keys.append(names[index])
            else:
                keys.append(str(unnamed))
                unnamed += 1
        return cls(path, path, regex, tuple(keys), is_regex=True, sticky="y" in flags)

    @classmethod
    def _compile_plain(cls, path: str) -> RoutePattern:
        builder = _Builder()
        for segment in _split_segments(path):
            builder.segment(segment)
        source = "".join(builder.parts) + "/?"
        try:
            regex = re.compile(source, re.IGNORECASE)
        except re.error as err:
            raise _invalid(f"Invalid route path {path!r}: {err}.") from err
        return cls(
            path,
            normalise_path(path),
            regex,
            tuple(builder.keys),
            is_regex=False,
            empty_defaults=frozenset(builder.empty_defaults),
        )

    def match(self, path: str) -> dict[str, str] | None:
        """Match a raw request path (after ``/routes``); return the decoded params or ``None``."""
        normal = normalise_path(path)
        if self.is_regex:
            found = (self.regex.match if self.sticky else self.regex.search)(normal)
            if found is None:
                return None
            groups: tuple[str, ...] = found.groups()
        else:
            full = self.regex.fullmatch("/" + normal)
            if full is None:
                return None
            groups = tuple(full.group(f"_g{index}") for index in range(len(self._keys)))
        params: dict[str, str] = {}
        for key, value in zip(self._keys, groups):
            if value is not None:
                params[key] = _decode(value)
            elif key in self._empty_defaults and key not in params:
                params[key] = ""
        return params

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RoutePattern) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        kind = "regex" if self.is_regex else "plain"
        return f"RoutePattern({self.source!r}, {kind})"


@dataclass(frozen=True)
class RouteEntry:
    """One registered route; ``target`` is whatever the dispatcher runs (opaque here)."""

    method: str
    path: str
    pattern: RoutePattern
    priority: int = 0
    weight: float = 0
    name: str | None = None
    target: Any = field(default=None, hash=False)
    acl: list[Any] = field(default_factory=list, hash=False)
    order: int = 0

    def __post_init__(self) -> None:
        method = self.method.upper() if isinstance(self.method, str) else self.method
        if method not in METHODS:
            raise Fault(
                "cortex.invalidArgument.unspecified",
                reason=f"Unsupported route method {self.method!r}.",
                path="method",
            )
        object.__setattr__(self, "method", method)
        if self.pattern.source != self.path:
            raise ValueError(f"pattern {self.pattern.source!r} was not compiled from {self.path!r}")

    @classmethod
    def create(
        cls,
        method: str,
        path: str,
        *,
        priority: int = 0,
        weight: float = 0,
        name: str | None = None,
        target: Any = None,
        acl: list[Any] | None = None,
        order: int = 0,
    ) -> RouteEntry:
        """Build an entry, compiling ``path``."""
        return cls(
            method=method,
            path=path,
            pattern=RoutePattern.compile(path),
            priority=priority,
            weight=weight,
            name=name,
            target=target,
            acl=list(acl) if acl is not None else [],
            order=order,
        )

    @property
    def identity(self) -> tuple[str, str]:
        """The ``(method, normalised path)`` pair that must be unique among unique entries."""
        return self.method, self.pattern.key

    def accepts(self, method: str) -> bool:
        """Whether a request with ``method`` may run this route (``*`` any; HEAD runs GET)."""
        wanted = method.upper()
        return self.method in ("*", wanted) or (wanted == "HEAD" and self.method == "GET")


def _dispatch_key(entry: RouteEntry) -> tuple[float, float, int]:
    return (-entry.priority, -entry.weight, entry.order)


@dataclass
class _Slot:
    entry: RouteEntry
    unique: bool


class RouteTable:
    """An org's routes in dispatch order."""

    def __init__(self) -> None:
        self._slots: list[_Slot] = []

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[RouteEntry]:
        return iter(self.entries())

    def entries(self) -> list[RouteEntry]:
        """All entries in dispatch order (priority desc, weight desc, order, registration)."""
        return sorted((slot.entry for slot in self._slots), key=_dispatch_key)

    def add(self, entry: RouteEntry, *, unique: bool = True) -> bool:
        """Register ``entry``; return whether it is now in the table.

        * Named, and an entry with that name exists: a strictly higher weight replaces it in its
          registration slot; an equal or lower weight is ignored (returns ``False``). Unnamed
          entries never override anything.
        * ``unique`` (default, saved route scripts): a second unique entry with the same method and
          normalised path raises ``cortex.conflict.exists`` (nothing changes). Pass
          ``unique=False`` for decorator routes, which may share a path to layer with ``next()``.
        """
        replaced: int | None = None
        if entry.name is not None:
            for index, slot in enumerate(self._slots):
                if slot.entry.name == entry.name:
                    if not entry.weight > slot.entry.weight:
                        return False
                    replaced = index
                    break
        if unique:
            for index, slot in enumerate(self._slots):
                if index != replaced and slot.unique and slot.entry.identity == entry.identity:
                    method, path = entry.identity
                    raise Fault(
                        "cortex.conflict.exists",
                        reason=f"A {method} route for path '{path}' already exists.",
                        path="path",
                    )
        if replaced is None:
            self._slots.append(_Slot(entry, unique))
        else:
            self._slots[replaced] = _Slot(entry, unique)
        return True

    def remove(self, name_or_predicate: str | Callable[[RouteEntry], bool]) -> int:
        """Remove entries by name or predicate; return how many were removed."""
        if isinstance(name_or_predicate, str):
            name = name_or_predicate
            kept = [slot for slot in self._slots if slot.entry.name != name]
        else:
            predicate = name_or_predicate
            kept = [slot for slot in self._slots if not predicate(slot.entry)]
        removed = len(self._slots) - len(kept)
        self._slots = kept
        return removed

    def candidates(self, method: str, path: str) -> list[tuple[RouteEntry, dict[str, str]]]:
        """Every route accepting ``method`` and ``path``, in the order to try them."""
        found: list[tuple[RouteEntry, dict[str, str]]] = []
        for entry in self.entries():
            if not entry.accepts(method):
                continue
            params = entry.pattern.match(path)
            if params is not None:
                found.append((entry, params))
        return found

    def match(self, method: str, path: str) -> tuple[RouteEntry, dict[str, str]]:
        """The first candidate; ``cortex.notFound.route`` when there is none."""
        found = self.candidates(method, path)
        if not found:
            raise Fault("cortex.notFound.route", path=path)
        return found[0]
