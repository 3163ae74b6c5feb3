"""Where the JS prelude lives: the repo's top-level js_prelude/ (editable installs),
or the copy a wheel carries as the package ``cortex_runtime.js_prelude``."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["js_prelude_dir"]


def js_prelude_dir() -> Traversable:
    in_repo = Path(__file__).resolve().parents[2] / "js_prelude"
    if in_repo.is_dir():
        return in_repo
    return files("cortex_runtime.js_prelude")
