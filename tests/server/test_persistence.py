"""``serve --data DIR``: definitions, data and deployed libraries survive a restart (SIGTERM),
what was written more than the stated window before a SIGKILL survives it, and a damaged data
file stops the server at start without being overwritten."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from cortex_runtime.objects.embedded import Persistence
from cortex_runtime.objects.store import Store
from cortex_runtime.server.auth import signed_headers

ROOT = Path(__file__).resolve().parents[2]

LIBRARY = """
const { route, job } = require('decorators')
class Persisted {
  @route('GET c_persisted', { name: 'c_persisted' })
  static ping() { return 'still here' }
  @job('*/5 * * * *', { name: 'c_persisted_job' })
  static tick() { }
}
module.exports = Persisted
"""

SETUP = """
org.objects.objects.insertOne({label: 'Widget', name: 'c_widget', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}]}).execute()
org.objects.c_widgets.insertMany([1, 2, 3].map(n => ({c_n: n}))).execute()
org.objects.scripts.insertOne({label: 'Persisted', name: 'c_persisted_lib', type: 'library', script: script.arguments.library,
  configuration: {export: 'c_persisted_lib'}}).execute()
return 1
"""


class Server:
    def __init__(self, data: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cortex_runtime.cli", "serve", "--port", "0", "--org", "persist", "--data", str(data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = json.loads(line)

    def runner(self, script: str, arguments: Any = None) -> Any:
        headers = {**signed_headers("/sys/script_runner", "POST", self.info["apiKey"], self.info["apiSecret"]), "content-type": "application/json"}
        body = json.dumps({"script": script, "arguments": arguments})
        answer = httpx.post(f"{self.info['url']}/sys/script_runner", headers=headers, content=body, timeout=60).json()
        assert answer.get("object") in ("result", "list"), answer
        return answer["data"]

    def route(self) -> Any:
        return httpx.get(f"{self.info['url']}/routes/c_persisted", headers={"medable-client-key": self.info["publicKey"]}, timeout=60).json()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


def test_everything_survives_a_restart_and_a_kill_after_the_window(tmp_path: Path) -> None:
    server = Server(tmp_path)
    try:
        assert server.runner(SETUP, {"library": LIBRARY}) == 1
        assert server.route()["data"] == "still here"
    finally:
        assert server.stop() == 0

    again = Server(tmp_path)
    try:
        assert (again.info["apiKey"], again.info["publicKey"]) == (server.info["apiKey"], server.info["publicKey"])
        assert again.runner("return org.objects.c_widgets.find().sort({c_n: 1}).map(w => w.c_n)") == [1, 2, 3]
        assert again.route()["data"] == "still here"
        written = again.runner("org.objects.c_widgets.insertOne({c_n: 4}).execute(); return Date.now()")
        # The file is rewritten within the stated window (2 s) of a write; wait for it, then kill.
        data_file = tmp_path / Persistence.FILE
        deadline = time.monotonic() + 60
        while data_file.stat().st_mtime * 1000 <= written and time.monotonic() < deadline:
            time.sleep(0.2)
        assert data_file.stat().st_mtime * 1000 > written
    finally:
        again.stop(signal.SIGKILL)

    third = Server(tmp_path)
    try:
        assert third.runner("return org.objects.c_widgets.find().sort({c_n: 1}).map(w => w.c_n)") == [1, 2, 3, 4]
    finally:
        assert third.stop() == 0

    store = Store.open(None, data_dir=tmp_path)
    try:
        jobs = [job for job in store.jobs.find({"active": True}) if job["name"].endswith(":c_persisted_job")]
        assert len(jobs) == 1 and jobs[0]["cron"] == "*/5 * * * *" and jobs[0]["next_run"] is not None
    finally:
        store.close()


def test_a_damaged_data_file_stops_the_server_at_start_and_is_kept(tmp_path: Path) -> None:
    (tmp_path / Persistence.FILE).write_bytes(b"\x00garbage that is not a store")
    proc = subprocess.run(
        [sys.executable, "-m", "cortex_runtime.cli", "serve", "--port", "0", "--data", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert "cannot be read" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / Persistence.FILE).read_bytes() == b"\x00garbage that is not a store"


def test_deploying_a_directory_again_updates_its_scripts_by_name(tmp_path: Path) -> None:
    from cortex_runtime.cli import deploy_directory
    from cortex_runtime.faults import Fault
    from cortex_runtime.runtime import Runtime

    runtime = Runtime()
    org, admin = runtime.orgs.create("redeploy")
    examples = ROOT / "examples" / "scripts"
    first = deploy_directory(runtime, org, admin, examples)
    assert deploy_directory(runtime, org, admin, examples) == first
    assert runtime.store.contexts.count_documents({"org": org._id, "object": "script"}) == len(first)

    (tmp_path / "hello.js").write_text("return 'changed'", encoding="utf-8")
    (tmp_path / "deploy.json").write_text(
        json.dumps([{"file": "hello.js", "label": "Hello", "name": "c_hello", "type": "route", "configuration": {"method": "get", "path": "hello"}}]),
        encoding="utf-8",
    )
    deploy_directory(runtime, org, admin, tmp_path)
    assert runtime.store.contexts.find_one({"org": org._id, "object": "script", "name": "c_hello"})["script"] == "return 'changed'"

    (tmp_path / "deploy.json").write_text(json.dumps([{"file": "hello.js", "label": "Hello", "name": "c_hello", "type": "job", "configuration": {"cron": "* * * * *"}}]), encoding="utf-8")
    try:
        deploy_directory(runtime, org, admin, tmp_path)
    except Fault as fault:
        assert fault.path == "type" and "delete it" in (fault.reason or "")
    else:
        raise AssertionError("a script's type cannot change by redeploying it")
