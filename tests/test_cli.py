"""The cortex-runtime command, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "scripts"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cortex_runtime.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_run_prints_result_json():
    done = cli("run", "-", stdin="return 5 + 1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 6


def test_run_with_arguments_and_stats():
    done = cli("run", str(EXAMPLES / "hello.js"), "--arguments", '{"name": "Ada"}', "--stats")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["result"]["greeting"] == "Hello, Ada!"
    assert out["stats"]["ops"] == out["result"]["opsSoFar"]
    assert set(out["stats"]) >= {"ops", "ms"}
    # console output goes to stderr, never into the JSON on stdout
    assert json.loads(done.stderr.splitlines()[0]) == {"level": "log", "values": ["greeting", "Ada"]}


def test_run_with_library():
    done = cli("run", str(EXAMPLES / "age.js"), "--lib", f"c_utils={EXAMPLES / 'c_utils.js'}", "--arguments", '{"dob": "2000-01-01"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["age"] >= 26


def test_fault_prints_fault_json_and_exits_1():
    done = cli("run", "-", "--type", "route", stdin="throw Fault.create('cortex.accessDenied.unspecified')")
    assert done.returncode == 1
    fault = json.loads(done.stdout)
    assert fault["object"] == "fault"
    assert fault["errCode"] == "cortex.accessDenied.unspecified"
    assert fault["status"] == 403


def test_bad_input_gives_faults_not_tracebacks():
    bad_json = cli("run", "-", "--arguments", "{nope", stdin="return 1")
    assert bad_json.returncode == 1 and json.loads(bad_json.stdout)["errCode"] == "cortex.invalidArgument.unspecified"
    missing = cli("run", "/no/such/script.js")
    assert missing.returncode == 1 and json.loads(missing.stdout)["code"] == "kInvalidArgument"
    bad_lib = cli("run", "-", "--lib", "c_x", stdin="return 1")
    assert bad_lib.returncode == 1 and "Traceback" not in bad_lib.stderr


@pytest.mark.timeout(300)
def test_every_example_runs():
    for path in sorted(EXAMPLES.glob("*.js")):
        if path.name.startswith("c_"):
            continue
        done = cli("run", str(path), "--lib", f"c_utils={EXAMPLES / 'c_utils.js'}")
        assert done.returncode == 0, (path.name, done.stdout, done.stderr)


def test_bad_mongodb_uri_is_a_fault():
    done = cli("run", "-", "--mongodb-uri", "mongodb://a:b:c@@", stdin="return 1")
    assert done.returncode == 1
    fault = json.loads(done.stdout)
    assert (fault["errCode"], fault["status"]) == ("cortex.invalidArgument.unspecified", 400)
    assert "Traceback" not in done.stderr


def test_deploy_and_export_an_export_folder_on_a_local_store(tmp_path):
    import json as _json
    import subprocess
    import sys
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent / "fixtures" / "environments"
    data = tmp_path / "data"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cortex_runtime.cli", *args, "--data", str(data), "--org", "demo"], capture_output=True, text=True, timeout=300)

    deployed = cli("deploy", str(fixtures / "realistic"))
    assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
    assert _json.loads(deployed.stdout.splitlines()[-1])["stage"] == "complete"
    exported = cli("export", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out" / "env" / "scripts" / "js" / "route.c_health.js").is_file()
    broken = cli("deploy", str(fixtures / "broken"))
    assert broken.returncode == 1
    fault = _json.loads(broken.stdout.splitlines()[-1])
    assert {f["resource"] for f in fault["faults"]} == {"script.c_bad_syntax", "object.c_crate", "object.c_tag"}
