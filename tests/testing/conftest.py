"""Helpers for the harness's tests: test files written to a temporary folder, run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cortex_runtime.sandbox import Sandbox
from cortex_runtime.testing.runner import FileResult, discover, run_paths

EXAMPLE_APP = Path(__file__).resolve().parents[2] / "examples" / "app"


@pytest.fixture(scope="session")
def harness_sandbox() -> Sandbox:
    """One sandbox for the harness runs of these tests (each run points it at its own runtime)."""
    return Sandbox()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the example app, free to break."""
    target = tmp_path / "app"
    shutil.copytree(EXAMPLE_APP, target)
    return target


def write_files(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def run_js(sandbox: Sandbox, folder: Path, env: Path | None = None, **options) -> list[FileResult]:
    return run_paths(discover([folder]), env, sandbox=sandbox, **options)


def by_title(results: list[FileResult]) -> dict[str, object]:
    return {o.full_title: o for r in results for o in r.outcomes}
