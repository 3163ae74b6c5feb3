"""Runs the real mdctl client code (tests/environment/node/*.js) under node, for the environment tests.

`run_mdctl` drives `mdctl env import|export` against a server; `run_node` runs any of the node scripts
here with a JSON config. Without node the caller's test is skipped; without the npm packages it fails
(run scripts/setup.sh), as tests/server/test_mdctl_client.py does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cortex_runtime.sandbox.npm import default_node_modules

NODE_DIR = Path(__file__).resolve().parent / "node"
ENV_SCRIPT = NODE_DIR / "mdctl_env.js"
TREE_SCRIPT = NODE_DIR / "mdctl_tree.js"


@dataclass
class MdctlResult:
    """`lines`: every JSON line the script printed before the summary; `summary`: {ok, complete, fault?, message?}."""

    lines: list[Any]
    summary: dict[str, Any]
    returncode: int
    stderr: str

    @property
    def ok(self) -> bool:
        return bool(self.summary.get("ok"))


def node_modules() -> Path:
    """The npm packages mdctl needs; skips without node, fails without the packages."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    modules = default_node_modules()
    for package in ("mdctl-api", "mdctl-cli", "mdctl-import-adapter", "mdctl-export-adapter-tree"):
        if not (modules / "@medable" / package / "package.json").is_file():
            pytest.fail(
                f"@medable/{package} is not installed under {modules}; run scripts/setup.sh "
                "(it installs package.json's npm dependencies into .venv/npm)"
            )
    return modules


def run_node(script: Path, config: dict[str, Any], *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`node script '<config json>'` with NODE_PATH set to the installed packages."""
    env = dict(os.environ, NODE_PATH=str(node_modules()))
    return subprocess.run(
        ["node", str(script), json.dumps(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def run_mdctl(
    command: str,
    *,
    endpoint: str,
    org: str,
    api_key: str,
    api_secret: str,
    dir: str | os.PathLike[str],
    timeout: float = 180,
    **options: Any,
) -> MdctlResult:
    """`mdctl env <command>` for `dir` against `endpoint`/`org` with signature credentials.

    `options` are the CLI flags (`manifest`, `format`, `gzip`, `backup`, `triggers`, `production`, `silent`,
    `prefer_urls`, `clear`, `resource`); a `manifest` given as a path is read as JSON.
    """
    config: dict[str, Any] = {
        "command": command,
        "endpoint": endpoint,
        "env": org,
        "apiKey": api_key,
        "apiSecret": api_secret,
        "dir": str(dir),
    }
    for name, value in options.items():
        if name == "manifest" and isinstance(value, (str, os.PathLike)):
            value = json.loads(Path(value).read_text(encoding="utf-8"))
        config[_camel(name)] = value
    if command == "export":
        Path(dir).mkdir(parents=True, exist_ok=True)  # the adapter wants an existing folder
    proc = run_node(ENV_SCRIPT, config, timeout=timeout)
    lines: list[Any] = []
    summary: dict[str, Any] = {}
    for raw in proc.stdout.splitlines():
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, dict) and set(value) == {"summary"}:
            summary = value["summary"]
        else:
            lines.append(value)
    if not summary:
        summary = {"ok": False, "complete": False, "message": f"no summary; stderr: {proc.stderr[-2000:]}"}
    return MdctlResult(lines=lines, summary=summary, returncode=proc.returncode, stderr=proc.stderr)
