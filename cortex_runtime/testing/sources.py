"""Where each deployed script's source lives in the environment folder, by script name, so a
failure or a coverage line can name the file (``env/scripts/js/trigger.c_x.js``)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["ScriptSources"]


class ScriptSources:
    """Script name -> source file, read from an mdctl tree or a ``deploy.json`` folder."""

    def __init__(self, env_dir: Path | None) -> None:
        self.root = Path(env_dir) if env_dir is not None else None
        self.files: dict[str, Path] = {}
        if self.root is not None:
            self._read(self.root)

    def _read(self, root: Path) -> None:
        manifest = root / "deploy.json"
        if manifest.is_file():
            try:
                entries = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and entry.get("name") and entry.get("file"):
                    self.files[_custom(str(entry["name"]))] = root / str(entry["file"])
            return
        scripts = root / "env" / "scripts"
        for doc_file in sorted(scripts.glob("*.json")) if scripts.is_dir() else []:
            try:
                doc = json.loads(doc_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            source = doc.get("script") if isinstance(doc, dict) else None
            if isinstance(source, str) and source.startswith("/") and doc.get("name"):
                self.files[str(doc["name"])] = root / source.lstrip("/")

    def file_of(self, name: str | None) -> Path | None:
        return self.files.get(str(name)) if name else None

    def display(self, name: str | None) -> str:
        """The file relative to the working directory when it can be, else the script's name."""
        path = self.file_of(name)
        if path is None:
            return str(name)
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)


def _custom(name: str) -> str:
    # Script names get c_ unless they are custom already (deployment.py _check_name).
    return name if name.startswith("c_") or "__" in name else f"c_{name}"
