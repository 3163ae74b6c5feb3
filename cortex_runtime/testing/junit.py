"""JUnit XML of a test run, in the common (Ant / Jenkins) layout CI tools read:
``testsuites`` > one ``testsuite`` per file > ``testcase`` with ``failure``, ``error`` or ``skipped``."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from .runner import FileResult

__all__ = ["junit_xml", "write_junit"]


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def junit_xml(results: list[FileResult]) -> ET.Element:
    root = ET.Element("testsuites", name="cortex-runtime test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_ms = 0.0
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    host = socket.gethostname()
    for index, result in enumerate(results):
        failures = sum(o.state == "failed" for o in result.outcomes)
        skipped = sum(o.state == "pending" for o in result.outcomes)
        errors = 1 if result.load_error is not None else 0
        tests = len(result.outcomes) + errors
        suite = ET.SubElement(
            root, "testsuite", name=result.file, tests=str(tests), failures=str(failures), errors=str(errors),
            skipped=str(skipped), time=_seconds(result.ms), timestamp=stamp, hostname=host, id=str(index), package="cortex",
        )
        ET.SubElement(suite, "properties")
        for outcome in result.outcomes:
            case = ET.SubElement(suite, "testcase", name=outcome.full_title, classname=result.file.replace("/", ".").removesuffix(".test.js"), time=_seconds(outcome.ms))
            if outcome.state == "failed":
                error = outcome.error or {}
                message = str(error.get("message") or error.get("errCode") or "failed")
                details = [message, f"at {outcome.at or outcome.file}"]
                if outcome.script_at:
                    details.append(f"from script {outcome.script_at}")
                if error.get("stack"):
                    details.append(str(error["stack"]))
                failure = ET.SubElement(case, "failure", message=message.splitlines()[0] if message else "failed", type=str(error.get("errCode") or error.get("name") or "AssertionError"))
                failure.text = "\n".join(details)
            elif outcome.state == "pending":
                ET.SubElement(case, "skipped")
        if result.load_error is not None:
            case = ET.SubElement(suite, "testcase", name="(file)", classname=result.file.replace("/", ".").removesuffix(".test.js"), time="0.000")
            error_el = ET.SubElement(case, "error", message=result.load_error.splitlines()[0], type="LoadError")
            error_el.text = result.load_error
        ET.SubElement(suite, "system-out")
        ET.SubElement(suite, "system-err")
        totals["tests"] += tests
        totals["failures"] += failures
        totals["errors"] += errors
        totals["skipped"] += skipped
        total_ms += result.ms
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(total_ms))
    return root


def write_junit(results: list[FileResult], path: Path) -> None:
    tree = ET.ElementTree(junit_xml(results))
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
