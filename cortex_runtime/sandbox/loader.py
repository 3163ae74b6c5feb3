"""Module resolution for ``require``/``import``, in the platform's order.

1. built-in JS modules shipped in ``js_prelude/modules`` (``decorators-*``);
2. the npm libraries scripts may require (and what they depend on);
3. org libraries by export name (``c_...`` or ``ns__...``), from a ``LibrarySource``.

Every module is compiled and metered like a script and comes back as a factory
expression ``(function (require, exports, module) {...})``. The globals
``script``, ``consts`` and ``console`` are resolved inside the sandbox itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from ..faults import Fault
from .compiler import Compiler
from .npm import NpmPackages
from .resources import js_prelude_dir

__all__ = ["ChainedLibraries", "LibrarySource", "MappingLibraries", "ModuleLoader"]


class LibrarySource(Protocol):
    """Where org libraries come from: export name -> source, or None when unknown."""

    def library_source(self, export: str) -> str | None: ...


class MappingLibraries:
    """A LibrarySource over a plain mapping (the CLI's ``--lib``, tests)."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = dict(sources)

    def library_source(self, export: str) -> str | None:
        return self._sources.get(export)


class ChainedLibraries:
    """The first of several LibrarySources that knows an export name."""

    def __init__(self, sources: list[LibrarySource]) -> None:
        self._sources = list(sources)

    def library_source(self, export: str) -> str | None:
        for source in self._sources:
            found = source.library_source(export)
            if found is not None:
                return found
        return None


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Non-ASCII characters JS reads as white space or line ends: outside a literal or a
# comment, an escape of one would not be white space any more.
_NON_ASCII_SPACE = re.compile(r"[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")

# After a backslash the escape's own backslash would be read as escaped.
_ESCAPED_NON_ASCII = re.compile(r"\\[^\x00-\x7f]")


def _escape(chars: re.Match[str]) -> str:
    data = chars.group().encode("utf-16-le", "surrogatepass")
    return "".join(f"\\u{data[i] | data[i + 1] << 8:04x}" for i in range(0, len(data), 2))


def ascii_source(code: str) -> str:
    """``code`` with every non-ASCII character written as a ``\\uXXXX`` escape, which means
    the same in string and regular expression literals, identifiers and comments (only a
    template's raw text would differ); ``code`` as it is when one is white space or
    follows a backslash.

    A non-ASCII source crosses into the engine several times slower (sandbox/prelude.py),
    and its JSON on the bridge is bigger: a library is sent to every run that requires it."""
    if code.isascii() or _NON_ASCII_SPACE.search(code) or _ESCAPED_NON_ASCII.search(code):
        return code
    return _NON_ASCII.sub(_escape, code)


_SCRIPT_ID = re.compile(r"^[0-9a-f]{24}$")


def _is_library_name(name: str) -> bool:
    """An org library's export (``c_...``, ``ns__...``) or its script ``_id``."""
    return name.startswith("c_") or "__" in name or bool(_SCRIPT_ID.match(name))


class ModuleLoader:
    def __init__(self, compiler: Compiler, npm: NpmPackages, max_script_size: int) -> None:
        self._compiler = compiler
        self._npm = npm
        self._max_script_size = max_script_size
        self._builtin_dir = js_prelude_dir() / "modules"
        # npm library factories by name: their files do not change under a running
        # process, so a require after the first costs neither a read nor a hash.
        self._npm_factories: dict[str, str] = {}

    def builtin_modules(self) -> list:
        return sorted(
            (entry for entry in self._builtin_dir.iterdir() if entry.name.endswith(".js")), key=lambda e: e.name
        )

    def factory(self, name: str, libraries: LibrarySource | None) -> str:
        """The factory expression for module ``name``; a kNotFound fault when there is none."""
        builtin = self._builtin_dir / f"{name}.js"
        if "/" not in name and builtin.is_file():
            return self._wrap(self._compiler.compile(builtin.read_text(encoding="utf-8"), kind="builtin").code, strict=True)
        if self._npm.is_requirable(name):
            factory = self._npm_factories.get(name)
            if factory is None:
                compiled = self._compiler.compile(self._npm.main_source(name), kind="npm")
                factory = self._npm_factories[name] = self._wrap(ascii_source(compiled.code), strict=False)
            return factory
        if _is_library_name(name):
            source = libraries.library_source(name) if libraries is not None else None
            if source is None:
                raise Fault("cortex.notFound.script", reason=f"library script ({name}) not found.", path=name, resource=f"script#library.configuration.export({name})")
            compiled = self._compiler.compile(source, kind="library", max_size=self._max_script_size)
            return self._wrap(compiled.code, strict=True)
        raise Fault("script.notFound.unspecified", reason=f"module not found: {name}", path=name)

    @staticmethod
    def _wrap(code: str, *, strict: bool) -> str:
        prologue = '"use strict";' if strict else ""
        return f"(function (require, exports, module) {{{prologue}{code}\n}})"
