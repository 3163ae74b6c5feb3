"""The npm packages the sandbox uses, installed by the set-up into ``<venv>/npm``.

Two kinds: tools the compiler loads (acorn, babel-standalone) and the libraries
scripts may ``require`` (scripting-core.md §13 "Available JavaScript libraries",
``SCRIPT_LIBRARIES``). Only those libraries and the packages they depend on can be
required; ``@medable/mdctl-*`` (in package.json for the tests) never can.

A library is a package and the file of it that scripts get: usually its ``main``,
but a self-contained build where the main file needs Node (``fs``, relative
requires, ``process``) or a bundler. ``prologue`` / ``epilogue`` are sandbox shims
compiled (and metered) with the library, inside the module wrapper.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..faults import Fault

__all__ = ["SCRIPT_LIBRARIES", "Library", "NpmPackages", "default_node_modules"]


@dataclass(frozen=True)
class Library:
    """What ``require(name)`` of a script library loads."""

    package: str
    # The file in the package (relative to it); None: the package's ``main``.
    entry: str | None = None
    # Whether the package's npm dependencies become requirable (the file requires them).
    dependencies: bool = False
    prologue: str = ""
    epilogue: str = ""
    # Builds more epilogue from the installed packages (data files).
    epilogue_from: Callable[[NpmPackages], str] | None = None
    # Another library's name: this name is that module (the same object, one load).
    alias_of: str | None = None


def _zone_data(npm: NpmPackages) -> str:
    """moment-timezone's packed zone data (what its index.js loads), as a few string
    literals split at run time: one long string costs the parser next to nothing, where
    the same data as an object literal (the -with-data build) costs it ~30 ms a load.
    The zones stay packed; moment-timezone unpacks one when it is first used."""
    data = json.loads(npm.read("moment-timezone/data/packed/latest.json"))

    def lines(key: str) -> str:
        entries = data[key]
        if any("\n" in entry for entry in entries):
            raise ValueError(f"moment-timezone data: a {key} entry has a line break")
        return f"{json.dumps(chr(10).join(entries))}.split('\\n')"

    return (
        f"module.exports.tz.load({{version: {json.dumps(data['version'])}, zones: {lines('zones')}, "
        f"links: {lines('links')}, countries: {lines('countries')}}});"
    )


# Script name -> library. Names are the platform's (§13); npm names are aliases.
SCRIPT_LIBRARIES: dict[str, Library] = {
    "aes-js": Library("aes-js"),
    # dist/async.js is the UMD build (main); it uses setImmediate/setTimeout when present.
    "async": Library("async"),
    "bignumber": Library("bignumber.js", "bignumber.js"),
    "bignumber.js": Library("bignumber.js", alias_of="bignumber"),
    # clone only uses Buffer when it exists (typeof check).
    "clone": Library("clone"),
    "decimal": Library("decimal.js", "decimal.js"),
    "decimal.js": Library("decimal.js", alias_of="decimal"),
    # The standalone build (main is lib/index.js, Node only). Its bundled core-js finds the
    # global object through window/self, else Function('return this') (refused here).
    "handlebars": Library("handlebars", "dist/handlebars.js", prologue="var self = globalThis;"),
    "inflection": Library("inflection"),
    # later.js assigns the global `later` (globalThis is frozen here): kept in the wrapper.
    "later": Library("later", "later.js", prologue="var later;", epilogue="module.exports = later;"),
    "lodash": Library("lodash"),
    "lodash.core": Library("lodash", "core.js"),
    "moment": Library("moment"),
    # It requires('moment') and adds moment.tz; the zone data is loaded as index.js does.
    "moment.timezone": Library("moment-timezone", "moment-timezone.js", dependencies=True, epilogue_from=_zone_data),
    "moment-timezone": Library("moment-timezone", alias_of="moment.timezone"),
    "qunit": Library("qunit"),
    "rrule": Library("rrule"),
    "semver": Library("semver"),
    "should": Library("should", dependencies=True),
    "underscore": Library("underscore"),
    # The browserify bundle (main requires one file per function).
    "underscore.string": Library("underscore.string", "dist/underscore.string.js"),
}


def default_node_modules() -> Path:
    """``$CORTEX_NODE_MODULES``, else ``<venv>/npm/node_modules``, else ``./node_modules`` of the repo."""
    configured = os.environ.get("CORTEX_NODE_MODULES")
    if configured:
        return Path(configured)
    in_venv = Path(sys.prefix) / "npm" / "node_modules"
    if in_venv.is_dir():
        return in_venv
    return Path(__file__).resolve().parents[2] / "node_modules"


class NpmPackages:
    """Reads package files from one ``node_modules`` directory.

    Library sources are read once per instance: the installed packages do not change
    under a running process (the set-up replaces them, and a restart picks them up).
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_node_modules()
        self._requirable = frozenset(SCRIPT_LIBRARIES) | self._closure(
            tuple(lib.package for lib in SCRIPT_LIBRARIES.values() if lib.dependencies and lib.alias_of is None)
        )
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()

    def read(self, relative: str) -> str:
        path = self.root / relative
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise Fault(
                "script.error.unspecified",
                reason=f"npm file {relative} is missing under {self.root}; run the set-up again ({exc.strerror}).",
            ) from exc

    def fingerprint(self) -> str:
        versions = [f"{name}@{self._manifest(name).get('version')}" for name in ("acorn", "babel-standalone")]
        return hashlib.sha256(",".join(versions).encode()).hexdigest()[:16]

    def is_requirable(self, name: str) -> bool:
        return name in self._requirable

    def requirable(self) -> frozenset[str]:
        return self._requirable

    def libraries(self) -> dict[str, str]:
        """Script library name -> ``package@version`` (what is installed), for listings."""
        return {
            name: f"{lib.package}@{self._manifest(lib.package).get('version')}" for name, lib in SCRIPT_LIBRARIES.items()
        }

    def main_source(self, name: str) -> str:
        """The source a requirable name loads: a script library's file with its shims, or
        a dependency package's entry file."""
        with self._lock:
            found = self._sources.get(name)
        if found is None:
            found = self._source(name)
            with self._lock:
                self._sources[name] = found
        return found

    def _source(self, name: str) -> str:
        lib = SCRIPT_LIBRARIES.get(name)
        if lib is None:
            return self.read(self._entry(name, None))
        if lib.alias_of is not None:
            return f"module.exports = require({json.dumps(lib.alias_of)});"
        text = self.read(self._entry(lib.package, lib.entry))
        epilogue = lib.epilogue + (lib.epilogue_from(self) if lib.epilogue_from is not None else "")
        if lib.prologue or epilogue:
            # The prologue on the first line, so line numbers in the library's stack traces stay right.
            text = f"{lib.prologue}{text}\n;{epilogue}"
        return text

    def _entry(self, package: str, entry: str | None) -> str:
        main = entry or self._manifest(package).get("main") or "index.js"
        relative = os.path.normpath(os.path.join(package, main))
        if not relative.endswith(".js"):
            relative += ".js"
        return relative

    def _manifest(self, name: str) -> dict:
        try:
            return json.loads((self.root / name / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _closure(self, names: tuple[str, ...]) -> frozenset[str]:
        seen: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            pending.extend(self._manifest(name).get("dependencies", {}))
        return frozenset(seen)
