"""README's main job: the server with the examples deployed, as a user starts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cortex_runtime.server.auth import signed_headers

ROOT = Path(__file__).resolve().parents[2]

# The heartbeat job's first run is due at the next minute boundary, up to 60 s after the
# server starts; the wait for it allows that plus a slow, busy machine's lag, and ends as
# soon as the run is recorded.
HEARTBEAT_WAIT_S = 150


@pytest.mark.timeout(HEARTBEAT_WAIT_S + 150)
def test_server_with_examples_answers_routes_and_runs_jobs_on_the_real_clock():
    proc = subprocess.Popen(
        [sys.executable, "-m", "cortex_runtime.cli", "serve", "--port", "0", "--ephemeral", "--deploy", "examples/scripts"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        info = json.loads(line)
        url, key = info["url"], info["publicKey"]
        hello = httpx.get(f"{url}/routes/hello", params={"name": "Ada"}, headers={"medable-client-key": key}, timeout=30)
        assert hello.json()["data"]["greeting"] == "Hello, Ada!"
        xml = httpx.get(f"{url}/routes/multiply/6/7", headers={"medable-client-key": key}, timeout=30)
        assert xml.headers["content-type"].startswith("text/xml") and "<total>42</total>" in xml.text

        def runner(script: str) -> dict:
            headers = {**signed_headers("/sys/script_runner", "POST", info["apiKey"], info["apiSecret"]), "content-type": "application/json"}
            return httpx.post(f"{url}/sys/script_runner", headers=headers, content=json.dumps({"script": script}), timeout=30).json()

        # The heartbeat job runs every minute: wait for its first run, recorded in the logs.
        deadline = time.monotonic() + HEARTBEAT_WAIT_S
        runs = 0
        while time.monotonic() < deadline:
            runs = runner("return org.objects.logs.count({stp: 'job'})")["data"]
            if runs:
                break
            time.sleep(1)
        assert runs >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
