"""``serve --deploy DIR --watch``: a changed file is redeployed, a broken one is reported with
its file and line while the last good version keeps serving."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex_runtime.cli import _org_and_admin, deploy_any
from cortex_runtime.faults import Fault
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.auth import signed_headers
from cortex_runtime.server.watch import FolderWatcher, changes, check_deploy_json, snapshot

ROOT = Path(__file__).resolve().parents[2]
# Generous: a busy CI machine may take seconds to notice, compile and import.
WAIT_S = 30.0

LIBRARY = "env/scripts/js/library.c_greetings.js"
OBJECT = "env/objects/c_note.json"


def _library_source(greeting: str) -> str:
    return "module.exports = {\n  greet(name) {\n    return `%s ${name}`\n  }\n}\n" % greeting


def _note(label: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    properties = [{"name": "c_title", "label": "Title", "type": "String"}, *(extra or [])]
    return {"object": "object", "name": "c_note", "label": label, "createAcl": ["account.public"], "defaultAcl": ["owner.delete"], "properties": properties}


def write_env(root: Path) -> Path:
    """A small export folder (mdctl's layout): object c_note, library c_greetings, public route hello."""
    (root / "env/scripts/js").mkdir(parents=True)
    (root / "env/objects").mkdir(parents=True)
    manifest = {"object": "manifest", "objects": [{"name": "c_note", "includes": ["*"]}], "scripts": {"includes": ["*"]}}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (root / OBJECT).write_text(json.dumps(_note("Note"), indent=2))
    library = {"object": "script", "name": "c_greetings", "label": "Greetings", "type": "library", "configuration": {"export": "c_greetings"}}
    (root / "env/scripts/c_greetings.json").write_text(json.dumps({**library, "script": f"/{LIBRARY}"}, indent=2))
    (root / LIBRARY).write_text(_library_source("hello"))
    route = {"object": "script", "name": "c_hello", "label": "Hello", "type": "route"}
    configuration = {"method": "get", "path": "hello"}
    (root / "env/scripts/c_hello.json").write_text(
        json.dumps({**route, "configuration": configuration, "script": "/env/scripts/js/route.c_hello.js"}, indent=2)
    )
    (root / "env/scripts/js/route.c_hello.js").write_text("const { greet } = require('c_greetings')\nreturn greet('Ada')\n")
    return root


def _touch_later(path: Path, text: str) -> None:
    """Write ``text`` and move the file's time forward, so even a coarse clock sees a change."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    later = max(path.stat().st_mtime_ns, before + 1_000_000)
    os.utime(path, ns=(later, later))


def _eventually(probe: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {WAIT_S} s")
        time.sleep(0.1)
        value = probe()
    return value


# ---- change detection, no server ---------------------------------------------------------------


def test_snapshot_sees_added_modified_and_removed_files_but_not_editor_scratch(tmp_path: Path) -> None:
    write_env(tmp_path)
    first = snapshot(tmp_path)
    assert LIBRARY in first and OBJECT in first
    assert changes(first, snapshot(tmp_path)) == []

    _touch_later(tmp_path / LIBRARY, _library_source("hi"))
    (tmp_path / "env/scripts/js/new.js").write_text("return 1")
    (tmp_path / OBJECT).unlink()
    # Swap, backup and lock files and hidden folders are not part of a deploy.
    (tmp_path / "env/scripts/js/.library.c_greetings.js.swp").write_text("x")
    (tmp_path / "env/scripts/js/library.c_greetings.js~").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/index").write_text("x")
    assert changes(first, snapshot(tmp_path)) == [OBJECT, LIBRARY, "env/scripts/js/new.js"]


def test_poll_deploys_once_per_settled_change_and_reports_a_fault_with_file_and_line(tmp_path: Path) -> None:
    write_env(tmp_path)
    calls: list[int] = []
    out = io.StringIO()
    failing: list[Fault] = []

    def deploy() -> None:
        calls.append(1)
        if failing:
            raise failing[0]

    watcher = FolderWatcher(tmp_path, deploy, interval=0.01, out=out)
    assert watcher.poll() == [] and calls == []
    _touch_later(tmp_path / LIBRARY, _library_source("hi"))
    assert watcher.poll() == [LIBRARY] and len(calls) == 1
    assert watcher.poll() == [] and len(calls) == 1  # nothing new: no second deploy
    assert "redeployed" in out.getvalue()

    failing.append(Fault("cortex.invalidArgument.scriptCompilation", reason="Unexpected token (line 3, column 15)", resource="script.c_greetings"))
    _touch_later(tmp_path / LIBRARY, _library_source("hi") + "}")
    assert watcher.poll() == [LIBRARY]
    assert f"{LIBRARY}:3:15: cortex.invalidArgument.scriptCompilation: Unexpected token" in out.getvalue()
    assert "the last good version keeps serving" in out.getvalue()
    assert watcher.deploys == 1


def test_a_deploy_json_folder_is_compiled_first_and_a_broken_script_writes_nothing(tmp_path: Path) -> None:
    """A ``deploy.json`` folder is deployed script by script, so the watcher compiles every
    listed script before the first write."""
    folder = tmp_path / "scripts"
    shutil.copytree(ROOT / "examples/scripts", folder)
    runtime = Runtime()
    try:
        org, admin, _ = _org_and_admin(runtime, "example")
        out = io.StringIO()
        watcher = FolderWatcher(folder, lambda: deploy_any(runtime, org, admin, folder), compiler=runtime.sandbox.compiler, interval=0.01, out=out)
        assert watcher.deploy() and watcher.deploys == 1

        def utils() -> Any:
            result = runtime.run("return Object.keys(require('c_utils'))", org=org, principal=admin)
            assert result.fault is None, result.fault
            return result.value

        keys = utils()
        source = (folder / "c_utils.js").read_text()
        _touch_later(folder / "c_utils.js", source + "\nmodule.exports.c_added = function () {\n  return 1 +;\n}\n")
        _touch_later(folder / "hello_route.js", (folder / "hello_route.js").read_text() + "\n// edited\n")
        with pytest.raises(Fault) as raised:
            check_deploy_json(runtime.sandbox.compiler, folder)
        assert raised.value.path == str(folder / "c_utils.js") and "line 18, column 13" in str(raised.value.reason)
        assert watcher.poll() == ["c_utils.js", "hello_route.js"]
        assert "/c_utils.js:18:13: cortex.invalidArgument.scriptCompilation: Unexpected token" in out.getvalue()
        assert utils() == keys and watcher.deploys == 1

        _touch_later(folder / "c_utils.js", source + "\nmodule.exports.c_added = function () {\n  return 1\n}\n")
        assert watcher.poll() == ["c_utils.js"] and watcher.deploys == 2
        assert utils() == [*keys, "c_added"]

        # deploy.json itself: a JSON error gives its line and column.
        listing = (folder / "deploy.json").read_text()
        _touch_later(folder / "deploy.json", listing.replace("[\n", "[\n  oops,\n", 1))
        assert watcher.poll() == ["deploy.json"] and watcher.deploys == 2
        assert "/deploy.json:2:3: cortex.invalidArgument.unspecified: deploy.json is not JSON: Expecting value" in out.getvalue()
        assert utils() == [*keys, "c_added"]
    finally:
        runtime.close()


# ---- the real server ------------------------------------------------------------------------


@contextlib.contextmanager
def serving(folder: Path, errors: Path) -> Iterator[dict[str, Any]]:
    """``serve --deploy <folder> --watch --ephemeral`` on a free loopback port, stderr to ``errors``: its first line."""
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cortex_runtime.cli", "serve", "--port", "0", "--ephemeral", "--deploy", str(folder), "--watch"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        line = proc.stdout.readline()
        assert line, errors.read_text()
        yield json.loads(line)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0, errors.read_text()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[dict[str, Any], Path, Path]]:
    folder = write_env(tmp_path / "env-folder")
    errors = tmp_path / "stderr.txt"
    with serving(folder, errors) as info:
        yield info, folder, errors


def _hello(info: dict[str, Any]) -> httpx.Response:
    return httpx.get(f"{info['url']}/routes/hello", headers={"medable-client-key": info["publicKey"]}, timeout=30)


@pytest.mark.timeout(4 * WAIT_S + 60)
def test_serve_watch_redeploys_an_edited_library_and_keeps_the_last_good_version_on_a_syntax_error(watched) -> None:
    info, folder, errors = watched

    def hello() -> Any:
        response = _hello(info)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    assert hello() == "hello Ada"
    _touch_later(folder / LIBRARY, _library_source("howdy"))
    _eventually(hello, lambda v: v == "howdy Ada", "the edited library")

    # A syntax error on line 3 (column 15, the stray ';'): reported with file and line, not deployed.
    _touch_later(folder / LIBRARY, "module.exports = {\n  greet(name) {\n    return 1 +;\n  }\n}\n")
    report = _eventually(errors.read_text, lambda text: "library.c_greetings.js:3:" in text, "the compile fault on stderr")
    assert f"{LIBRARY}:3:15: cortex.invalidArgument.scriptCompilation" in report
    assert "the last good version keeps serving" in report
    assert hello() == "howdy Ada"

    _touch_later(folder / LIBRARY, _library_source("welcome"))
    _eventually(hello, lambda v: v == "welcome Ada", "the fixed library")


@pytest.mark.timeout(3 * WAIT_S + 60)
def test_serve_watch_picks_up_an_object_definition_change(watched) -> None:
    info, folder, errors = watched
    url = info["url"]

    def runner(script: str) -> dict[str, Any]:
        headers = {**signed_headers("/sys/script_runner", "POST", info["apiKey"], info["apiSecret"]), "content-type": "application/json"}
        return httpx.post(f"{url}/sys/script_runner", headers=headers, content=json.dumps({"script": script}), timeout=30).json()

    def label() -> Any:
        return runner("return org.objects.object.find({name: 'c_note'}).paths('label').next().label").get("data")

    assert label() == "Note"
    body = "return org.objects.c_note.insertOne({c_title: 'a', c_body: 'b'}).lean(false).execute().c_body"
    assert runner(body)["object"] == "fault"  # no c_body property yet

    _touch_later(folder / OBJECT, json.dumps(_note("Memo", [{"name": "c_body", "label": "Body", "type": "String"}]), indent=2))
    _eventually(label, lambda v: v == "Memo", "the edited object label")
    assert runner(body).get("data") == "b"

    # A definition that is not JSON: reported with file, line and column; the definition stays.
    _touch_later(folder / OBJECT, '{\n  "object": "object",\n  "name": "c_note",\n  label: "Broken"\n}\n')
    report = _eventually(errors.read_text, lambda text: "c_note.json:4:3:" in text, "the JSON fault on stderr")
    assert "not deployed" in report
    assert label() == "Memo"


@pytest.mark.timeout(2 * WAIT_S + 60)
def test_serve_watch_starts_with_a_broken_folder_and_deploys_it_once_fixed(tmp_path: Path) -> None:
    """With --watch a folder that does not deploy at start is reported, and the server starts
    anyway (without it, serve exits 1): the developer fixes the file and carries on."""
    folder = write_env(tmp_path / "env-folder")
    (folder / LIBRARY).write_text("module.exports = {\n  greet(name) {\n    return 1 +;\n  }\n}\n")
    errors = tmp_path / "stderr.txt"
    with serving(folder, errors) as info:
        assert f"{LIBRARY}:3:15: cortex.invalidArgument.scriptCompilation" in errors.read_text()
        assert _hello(info).status_code == 404  # nothing of the folder was written
        _touch_later(folder / LIBRARY, _library_source("hello"))
        response = _eventually(lambda: _hello(info), lambda r: r.status_code == 200, "the fixed folder")
        assert response.json()["data"] == "hello Ada"


def test_watch_needs_deploy() -> None:
    done = subprocess.run([sys.executable, "-m", "cortex_runtime.cli", "serve", "--ephemeral", "--watch"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--watch needs --deploy DIR" in done.stderr
