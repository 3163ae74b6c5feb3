"""The npm packages the sandbox uses, installed by the set-up into ``<venv>/npm``.

Two kinds: tools the compiler loads (acorn, babel-standalone) and the libraries
scripts may ``require`` (spec "Available JavaScript libraries"). Only those
libraries and the packages they depend on can be required.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from ..faults import Fault

__all__ = ["SCRIPT_LIBRARIES", "NpmPackages", "default_node_modules"]

SCRIPT_LIBRARIES = ("lodash", "moment", "should", "underscore")


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
    """Reads package files from one ``node_modules`` directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_node_modules()
        self._requirable = self._closure(SCRIPT_LIBRARIES)

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

    def main_source(self, name: str) -> str:
        """The source of a requirable package's entry file."""
        main = self._manifest(name).get("main") or "index.js"
        relative = os.path.normpath(os.path.join(name, main))
        if not relative.endswith(".js"):
            relative += ".js"
        return self.read(relative)

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
