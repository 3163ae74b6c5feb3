"""Dependencies point down: the sandbox knows nothing Cortex-specific, the object layer
knows no sandbox, server or script modules (STYLE.md "Rules of thumb" 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cortex_runtime"

FORBIDDEN = {
    "sandbox": ("objects", "modules", "server", "scheduler", "runtime", "deployment", "triggers", "org_runtime"),
    "objects": ("sandbox", "modules", "server", "scheduler", "runtime", "deployment", "triggers", "org_runtime"),
    "scheduler": ("sandbox", "modules", "server", "runtime", "deployment", "triggers"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            parts = (node.module or "").split(".")
            if node.level == 2 and parts and parts[0]:
                found.add(parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cortex_runtime."):
            found.add(node.module.split(".")[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_lies_below(layer):
    offenders = {
        f"{path.name} imports {name}"
        for path in (PACKAGE / layer).glob("*.py")
        for name in _imports(path)
        if name in FORBIDDEN[layer]
    }
    assert not offenders


def test_only_engine_imports_the_binding_and_only_the_store_modules_open_a_database():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "engine.py":
            assert "import jsbox" not in text, path
        if path.name not in ("store.py", "embedded.py"):  # embedded.py is the embedded store itself
            assert "import mongomock" not in text and "MongoClient(" not in text, path
