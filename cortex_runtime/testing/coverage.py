"""Line coverage of deployed scripts in harness runs (``--coverage FILE``).

With coverage on, the compiler instruments each deployed script's source (sandbox/meter.js
``cover``): a unit hands its line hits to the host when it ends, through the host call
``cortex-test.coverage``, which ``CoveredLines`` receives. Reports: a text table and lcov
(``.info``), or Cobertura XML for a file name ending in ``.xml``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..sandbox import RunInfo

__all__ = ["CoveredLines", "coverage_table", "merge_coverage", "statement_lines", "write_coverage"]


class CoveredLines:
    """The host side of ``cortex-test.coverage``: hits per script name and line."""

    prefix = "cortex-test.coverage"
    needs_context = False

    def __init__(self) -> None:
        self.active = False
        self.names: dict[str, str] = {}
        self.lines: dict[str, set[int]] = {}
        self.hits: dict[str, dict[int, int]] = {}

    def start(self, names: dict[str, str], lines: dict[str, list[int]] | None = None) -> None:
        self.active = True
        self.names = dict(names)
        for script, listed in (lines or {}).items():
            self.lines.setdefault(script, set()).update(listed)

    def call(self, run: RunInfo, name: str, args: list[Any]) -> None:
        table = args[0] if args and isinstance(args[0], dict) else {}
        if not self.active:
            return None
        known = set(self.names.values())
        for script, entry in table.items():
            if script not in known or not isinstance(entry, list) or len(entry) != 2:
                continue
            lines, hits = entry
            self.lines.setdefault(script, set()).update(int(n) for n in lines or [] if isinstance(n, int))
            counts = self.hits.setdefault(script, {})
            for line, count in hits.items() if isinstance(hits, dict) else ():
                if str(line).isdigit() and isinstance(count, int):
                    counts[int(line)] = counts.get(int(line), 0) + count
        return None

    def by_file(self, sources: Any) -> dict[str, dict[str, Any]]:
        """Every deployed script, by file (hit or not): its statement lines and their hits."""
        out: dict[str, dict[str, Any]] = {}
        for script in sorted(set(self.names.values())):
            out[sources.display(script)] = {"lines": sorted(self.lines.get(script, set())), "hits": dict(self.hits.get(script, {})), "script": script}
        return out


_LINES = re.compile(r"=\{l:\[([\d,]*)\],k:__cx_k\}")


def statement_lines(instrumented: str) -> list[int]:
    """The statement lines an instrumented unit registers (its head, see meter.js ``cover``)."""
    found = _LINES.search(instrumented)
    return [int(n) for n in found.group(1).split(",") if n] if found else []


def merge_coverage(reports: list[dict[str, dict[str, Any]] | None]) -> dict[str, dict[str, Any]]:
    """The coverage of several files' runs together (hits add up)."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for file, data in (report or {}).items():
            entry = merged.setdefault(file, {"lines": set(), "hits": {}, "script": data.get("script")})
            entry["lines"].update(data.get("lines") or [])
            for line, count in (data.get("hits") or {}).items():
                entry["hits"][int(line)] = entry["hits"].get(int(line), 0) + int(count)
    for entry in merged.values():
        entry["lines"] = sorted(entry["lines"] | set(entry["hits"]))
    return dict(sorted(merged.items()))


def _missed(entry: dict[str, Any]) -> list[int]:
    return [line for line in entry["lines"] if not entry["hits"].get(line)]


def _ranges(lines: list[int]) -> str:
    parts: list[str] = []
    for line in lines:
        if parts and "-" not in parts[-1] and int(parts[-1]) == line - 1:
            parts[-1] = f"{parts[-1]}-{line}"
        elif parts and "-" in parts[-1] and int(parts[-1].split("-")[1]) == line - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{line}"
        else:
            parts.append(str(line))
    return ", ".join(parts)


def coverage_table(merged: dict[str, dict[str, Any]]) -> str:
    """A text table: file, statement lines, hit lines, percent, missed lines."""
    rows = [("script", "lines", "hit", "cover", "missed")]
    for file, entry in merged.items():
        total, missed = len(entry["lines"]), _missed(entry)
        hit = total - len(missed)
        rows.append((file, str(total), str(hit), f"{100 * hit / total:.0f}%" if total else "-", _ranges(missed)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows)


def lcov(merged: dict[str, dict[str, Any]]) -> str:
    out = []
    for file, entry in merged.items():
        out.append("TN:")
        out.append(f"SF:{file}")
        for line in entry["lines"]:
            out.append(f"DA:{line},{entry['hits'].get(line, 0)}")
        out.append(f"LF:{len(entry['lines'])}")
        out.append(f"LH:{len(entry['lines']) - len(_missed(entry))}")
        out.append("end_of_record")
    return "\n".join(out) + "\n"


def cobertura(merged: dict[str, dict[str, Any]]) -> ET.Element:
    total = sum(len(e["lines"]) for e in merged.values())
    covered = total - sum(len(_missed(e)) for e in merged.values())
    rate = f"{covered / total:.4f}" if total else "1"
    root = ET.Element("coverage", {"line-rate": rate, "branch-rate": "0", "lines-covered": str(covered), "lines-valid": str(total),
                                   "branches-covered": "0", "branches-valid": "0", "complexity": "0", "version": "cortex-runtime", "timestamp": "0"})
    ET.SubElement(ET.SubElement(root, "sources"), "source").text = "."
    classes = ET.SubElement(ET.SubElement(ET.SubElement(root, "packages"), "package", {"name": "scripts", "line-rate": rate, "branch-rate": "0", "complexity": "0"}), "classes")
    for file, entry in merged.items():
        lines_total, missed = len(entry["lines"]), _missed(entry)
        class_rate = f"{(lines_total - len(missed)) / lines_total:.4f}" if lines_total else "1"
        cls = ET.SubElement(classes, "class", {"name": str(entry.get("script") or file), "filename": file, "line-rate": class_rate, "branch-rate": "0", "complexity": "0"})
        ET.SubElement(cls, "methods")
        lines = ET.SubElement(cls, "lines")
        for line in entry["lines"]:
            ET.SubElement(lines, "line", {"number": str(line), "hits": str(entry["hits"].get(line, 0)), "branch": "false"})
    return root


def write_coverage(merged: dict[str, dict[str, Any]], path: Path) -> None:
    """lcov at ``path`` (Cobertura XML when it ends in ``.xml``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xml":
        tree = ET.ElementTree(cobertura(merged))
        ET.indent(tree)
        tree.write(path, encoding="utf-8", xml_declaration=True)
    else:
        path.write_text(lcov(merged), encoding="utf-8")
