"""``serve --deploy DIR --watch``: redeploy the folder whenever a file in it changes.

``FolderWatcher`` polls the folder's file times and sizes every ``POLL_S`` seconds (portable,
no dependency, and cheap for the few hundred files of a project). Once a change has settled
(two polls in a row see the same files) the whole folder is deployed again:

- an export folder (mdctl's layout) goes through the importer, which checks every resource
  (scripts compiled, definitions parsed and resolved) before it writes anything;
- a ``deploy.json`` folder has each listed script compiled here first, and is deployed only
  when all of them compile.

So a broken file never reaches the store: the last good version keeps serving. Each fault is
printed to stderr as ``path/to/file:LINE:COL: errCode: reason`` (the line and column of a compile
error or of a JSON/YAML syntax error; without them, just the file). A file that is removed is
not undeployed: the importer only creates and updates, as ``mdctl env import`` does.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from ..faults import Fault
from ..sandbox.compiler import Compiler

__all__ = ["FolderWatcher", "changes", "check_deploy_json", "fault_lines", "snapshot"]

log = logging.getLogger(__name__)

POLL_S = 0.2
# Editor swap, backup and lock files: written on every keystroke, never part of a deploy.
_IGNORED = re.compile(r"(^\.#|^#.*#$|~$|\.sw[a-p]$|\.tmp$)")
_LINE_COLUMN = re.compile(r"\(?line (\d+),? column (\d+)\)?(?: \(char \d+\))?")

Snapshot = dict[str, tuple[int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Relative path -> (mtime in ns, size) of every file under ``directory``; hidden folders
    (``.git``, ``.cortex``) and editor scratch files are left out."""
    found: Snapshot = {}
    for folder, subfolders, files in os.walk(directory):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if _IGNORED.search(name):
                continue
            path = Path(folder) / name
            try:
                stat = path.stat()
            except OSError:  # removed between the listing and the stat
                continue
            found[path.relative_to(directory).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """The files added, removed or modified between two snapshots, sorted."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


# ---- faults, with the file and line they are about ------------------------------------------------


def _leaves(fault: Fault) -> Iterator[Fault]:
    """The faults worth a line each: a summary's inner faults (an import's per-resource faults,
    a validation's causes), else the fault itself."""
    if fault.faults:
        for inner in fault.faults:
            yield from _leaves(inner)
        return
    yield fault


def _load(path: Path) -> Any:
    raw = path.read_bytes().decode("utf-8", errors="replace")
    return yaml.safe_load(raw) if path.suffix == ".yaml" else json.loads(raw)


def _resource_files(root: Path) -> dict[str, tuple[Path, Path | None]]:
    """Resource key -> (its definition file, its script source file if any) for an export folder."""
    found: dict[str, tuple[Path, Path | None]] = {}
    env = root / "env"
    for path in sorted(env.rglob("*")) if env.is_dir() else []:
        if path.suffix not in (".json", ".yaml") or not path.is_file():
            continue
        try:
            doc = _load(path)
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("object"), str):
            continue
        kind, name = doc["object"], doc.get("code" if doc["object"] == "role" else "name")
        key = "env" if kind == "env" else f"template.{doc.get('type')}.{name}" if kind == "template" else f"{kind}.{name}"
        script = doc.get("script")
        source = Path(str(root) + script) if isinstance(script, str) and script.startswith("/env") else None
        found[key] = (path, source)
    return found


def _where(fault: Fault, root: Path, files: dict[str, tuple[Path, Path | None]] | None) -> Path | None:
    if fault.resource and files is not None and fault.resource in files:
        definition, source = files[fault.resource]
        about_source = fault.errCode.endswith("scriptCompilation") or (fault.path or "").endswith(".script")
        return source if about_source and source is not None else definition
    if fault.path:
        for candidate in (Path(fault.path), root / fault.path):
            if candidate.is_file():
                return candidate
    return None


def _shown(path: Path) -> str:
    """A path as a developer would type it: relative to the working directory when inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def fault_lines(fault: Fault, directory: Path) -> list[str]:
    """One ``file:LINE:COL: errCode: reason`` line per fault (``file: ...`` without a position;
    the folder itself when no file is known)."""
    from ..environment.folders import is_export_folder
    from ..environment.tree import find_root

    root, files = directory, None
    if not (directory / "deploy.json").is_file() and is_export_folder(directory):
        root = find_root(directory)
        files = _resource_files(root)
    lines = []
    for leaf in _leaves(fault):
        reason = " ".join(str(leaf.reason or leaf.message or "").split())  # YAML errors span lines
        file = _where(leaf, root, files)
        shown = _shown(file if file is not None else directory)
        position = _LINE_COLUMN.search(reason)
        if position is not None and file is not None:
            reason = (reason[: position.start()] + reason[position.end() :]).strip().rstrip(":").strip()
            shown = f"{shown}:{position.group(1)}:{position.group(2)}"
        if file is not None:
            reason = reason.replace(f"{file}: ", "").replace(f"{file} ", "")
        detail = f" ({leaf.resource or leaf.path})" if file is None and (leaf.resource or leaf.path) else ""
        lines.append(f"{shown}: {leaf.errCode}: {reason}{detail}")
    return lines


# ---- deploy.json folders: compile before deploying -------------------------------------------------


def check_deploy_json(compiler: Compiler, directory: Path) -> None:
    """Compile every script ``directory/deploy.json`` lists; raise one fault naming each file
    that does not compile (or cannot be read), so nothing is written unless all of them do."""
    manifest = directory / "deploy.json"
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Fault("cortex.notFound.file", reason=f"cannot read {manifest}: {exc.strerror}", path=str(manifest)) from exc
    except ValueError as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"deploy.json is not JSON: {exc}", path=str(manifest)) from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("name"), str) for e in entries):
        raise Fault("cortex.invalidArgument.unspecified", reason="deploy.json must list objects with a file and a name each.", path=str(manifest))
    faults: list[Fault] = []
    for entry in entries:
        path = directory / entry["file"]
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            faults.append(Fault("cortex.notFound.file", reason=f"cannot read {entry['file']}: {exc.strerror}", path=str(path)))
            continue
        try:
            compiler.compile(source, kind="library" if entry.get("type") == "library" else "script")
            if entry.get("type") == "library" and "@" in source:
                compiler.decorators(source)
        except Fault as fault:
            faults.append(Fault(fault.errCode, reason=fault.reason or fault.message, path=str(path)))
    if len(faults) == 1:
        raise faults[0]
    if faults:
        first = faults[0]
        raise Fault(first.errCode, reason=f"{len(faults)} scripts do not compile.", path=first.path, faults=faults)


# ---- the watcher -----------------------------------------------------------------------------------


class FolderWatcher:
    """Deploys ``directory`` with ``deploy`` (which raises a Fault when the folder cannot be
    deployed) now and again on every change, on a thread of its own; faults go to ``out``.

    The first snapshot is taken when the watcher is made, so an edit made during the first
    deploy is still seen."""

    def __init__(
        self,
        directory: Path,
        deploy: Callable[[], None],
        *,
        compiler: Compiler | None = None,
        interval: float = POLL_S,
        out: IO[str] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self._deploy = deploy
        self._compiler = compiler
        self.interval = interval
        self._out = out
        self._seen = snapshot(self.directory)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.deploys = 0  # successful deploys, the first one included

    def _say(self, text: str) -> None:
        print(text, file=self._out if self._out is not None else sys.stderr, flush=True)

    def deploy(self, changed: list[str] | None = None) -> bool:
        """Deploy the folder once; report the outcome. True when it was deployed."""
        try:
            if self._compiler is not None and (self.directory / "deploy.json").is_file():
                check_deploy_json(self._compiler, self.directory)
            self._deploy()
        except Fault as fault:
            for line in fault_lines(fault, self.directory):
                self._say(line)
            self._say(f"watch: {self.directory} not deployed; the last good version keeps serving.")
            return False
        except Exception as exc:  # noqa: BLE001 - a broken folder never ends the watch
            log.debug("deploying %s failed", self.directory, exc_info=True)
            self._say(f"watch: {self.directory} not deployed ({type(exc).__name__}: {exc}); the last good version keeps serving.")
            return False
        self.deploys += 1
        if changed is not None:
            self._say(f"watch: redeployed {self.directory} ({', '.join(changed)})")
        return True

    def poll(self) -> list[str]:
        """Look once: the files changed since the last look (after they have settled), deployed
        when there are any."""
        now = snapshot(self.directory)
        changed = changes(self._seen, now)
        if not changed:
            return []
        # Wait until the writes are done: an editor may save in several steps.
        while not self._stop.wait(self.interval):
            later = snapshot(self.directory)
            if later == now:
                break
            changed = sorted(set(changed) | set(changes(now, later)))
            now = later
        if self._stop.is_set():
            return []
        self._seen = now
        self.deploy(changed)
        return changed

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.poll()
        finally:
            if self._compiler is not None:
                self._compiler.release()  # the compile context belongs to this thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
