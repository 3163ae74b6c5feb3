"""The JS side of the harness (``js/``), given to test runs as libraries, and the wrapper that
turns a test file into one script run."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

__all__ = ["LIBRARIES", "harness_libraries", "test_script"]

# Export name -> file in js/. Namespaced names, as org libraries are: deployed scripts cannot
# shadow them (their namespace is not one an org can own in a harness run).
LIBRARIES = {
    "cortextest__mocha": "mocha.js",
    "cortextest__api": "cortex-test.js",
    "cortextest__assert": "assert.js",
    "cortextest__timers": "timers.js",
}

_PARAMS = "describe, it, before, after, beforeEach, afterEach, context, specify, setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate, require, Math"


@lru_cache(maxsize=1)
def harness_libraries() -> dict[str, str]:
    root = files("cortex_runtime.testing") / "js"
    return {name: (root / file).read_text(encoding="utf-8") for name, file in LIBRARIES.items()}


def test_script(source: str, options: dict[str, Any]) -> str:
    """The run of a test file: its text inside the runner's function. The wrapper's head is on
    the file's first line, so line N of the file is line N of the script."""
    head = f'return require("cortextest__mocha").run({json.dumps(options)}, function ({_PARAMS}) {{'
    return head + source + "\n});\n"
