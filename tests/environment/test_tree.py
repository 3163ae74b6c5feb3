"""cortex_runtime.environment.tree against the real mdctl adapters (tests/environment/node/mdctl_tree.js).

read_tree must select, load and order documents exactly as mdctl's ImportFileTreeAdapter + ImportStream
(fresh uuids aside); write_tree must write the same files, byte for byte, as ExportFileTreeAdapter fed
the same export chunks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cortex_runtime.environment.tree import find_root, js_json, pluralize, read_tree, write_tree
from cortex_runtime.faults import Fault
from tests.environment.mdctl import TREE_SCRIPT, run_node

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"

pytestmark = pytest.mark.timeout(300)


def _mdctl_read(directory: Path, **config: Any) -> list[Any]:
    proc = run_node(TREE_SCRIPT, {"command": "read", "dir": str(directory), **config})
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0:
        return [{"failed": lines, "stderr": proc.stderr}]
    return lines


def _mdctl_write(directory: Path, chunks: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    chunks_file = directory.parent / f"{directory.name}.ndjson"
    chunks_file.write_text("".join(json.dumps(c) + "\n" for c in chunks), encoding="utf-8")
    proc = run_node(TREE_SCRIPT, {"command": "write", "dir": str(directory), "chunksFile": str(chunks_file), **config})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _without_uuids(chunks: list[Any]) -> list[Any]:
    """Fresh uuids replaced by their order of appearance, so two runs compare."""
    names: dict[str, str] = {}

    def fix(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: fix(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        if key in ("streamId", "resourceId") and isinstance(value, str):
            return names.setdefault(value, f"uuid-{len(names)}")
        return value

    return [fix(c) for c in chunks]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ reading


def test_read_tree_sends_what_mdctl_sends() -> None:
    expected = _mdctl_read(TINY)
    tree = read_tree(TINY)
    assert _without_uuids(tree.chunks()) == _without_uuids(expected)
    # what that means, spelled out
    objects = [c["object"] for c in tree.documents]
    assert objects == ["manifest", "env", "facet", "object", "script", "script", "role", "config", "template", "app"]
    lib = next(d for d in tree.documents if d.get("name") == "c_tiny_lib")
    assert lib["script"] == (TINY / "env/scripts/js/library.c_tiny_lib.js").read_text(encoding="utf-8")
    template = next(d for d in tree.documents if d["object"] == "template")
    assert [c["data"] for c in template["localizations"][0]["content"]] == [
        "<p>Hello {{name}}</p>\n",
        "Hello {{name}}\n",
        "Welcome, {{name}}",
    ]
    env, facet = tree.documents[1], tree.documents[2]
    png = (TINY / "env/assets/env.logo.content.png").read_bytes()
    assert env["logo"][0] == facet
    assert facet["ETag"] == hashlib.md5(png).hexdigest() and facet["streamId"] == facet["resourceId"]
    assert "filePath" not in facet
    assert [len(base64.b64decode(s["data"])) for s in tree.streams[:-1]] == [8192, len(png) - 8192]
    assert tree.streams[-1] == {"data": None, "index": 2, "object": "stream", "streamId": facet["streamId"]}
    assert tree.package is None and tree.manifest is not None
    assert "c_tiny_unlisted" not in json.dumps(tree.documents)


def test_read_tree_with_a_manifest_option(tmp_path: Path) -> None:
    manifest = {"object": "manifest", "scripts": {"includes": ["c_tiny_route"]}, "includes": ["*"]}
    expected = _mdctl_read(TINY, manifest=manifest)
    tree = read_tree(TINY, manifest=manifest)
    assert _without_uuids(tree.chunks()) == _without_uuids(expected)
    assert tree.documents[0] == manifest  # the option, not manifest.json
    assert any(d.get("name") == "c_tiny_unlisted" for d in tree.documents)  # includes: ["*"] takes all of env/


def test_read_tree_package_and_yaml(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(TINY, root)
    (root / "package.json").write_text(
        json.dumps({"object": "package", "name": "tiny", "version": "1.0.0", "scripts": {"afterImport": "after.js"}}),
        encoding="utf-8",
    )
    (root / "after.js").write_text("console.log('after')\n", encoding="utf-8")
    expected = _mdctl_read(root)
    tree = read_tree(root)
    assert _without_uuids(tree.chunks()) == _without_uuids(expected)
    assert tree.package is not None and tree.package["scripts"]["afterImport"] == "console.log('after')\n"
    # someone else's package.json (environments.md §6.6 #1) is not sent by our deploy
    (root / "package.json").write_text(json.dumps({"name": "monorepo", "private": True}), encoding="utf-8")
    assert read_tree(root).package is None
    (root / "package.json").unlink()
    # YAML documents are selected too
    (root / "env/configs/c_tiny_config.yaml").write_text("object: config\nname: c_tiny_config\nvalue: 7\n")
    (root / "env/configs/c_tiny_config.json").unlink()
    assert next(d for d in read_tree(root).documents if d["object"] == "config")["value"] == 7


def test_read_tree_faults(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "env").mkdir(parents=True)
    assert _mdctl_read(empty)[0]["failed"][0]["error"]["errCode"] == "mdctl.kManifestNotFound.error"
    with pytest.raises(Fault) as caught:
        read_tree(empty)
    assert caught.value.errCode == "mdctl.kManifestNotFound.error" and caught.value.code == "kError"

    root = tmp_path / "tree"
    shutil.copytree(TINY, root)
    (root / "env/scripts/js/route.c_tiny_route.js").unlink()
    assert "failed" in _mdctl_read(root)[0]
    with pytest.raises(Fault) as caught:
        read_tree(root)
    assert "route.c_tiny_route.js" in (caught.value.reason or "")


def test_find_root(tmp_path: Path) -> None:
    assert find_root(TINY) == TINY
    assert find_root(TINY / "env") == TINY
    assert find_root(TINY / "manifest.json") == TINY
    with pytest.raises(Fault) as caught:
        find_root(tmp_path)
    assert caught.value.errCode == "cortex.invalidArgument.unspecified"


# ------------------------------------------------------------------------------------------------ writing

PNG = b"\x89PNG\r\n\x1a\n" + bytes((i * 13) % 256 for i in range(9000))
ICO = b"\x00\x00\x01\x00tiny icon"
LOGO_ID, LOGO_STREAM, ICON_ID, I18N_ID = (
    "0b0c4f0e-4b8f-4d5e-9a51-0c8c3a1c0001",
    "0b0c4f0e-4b8f-4d5e-9a51-0c8c3a1c0002",
    "0b0c4f0e-4b8f-4d5e-9a51-0c8c3a1c0003",
    "0b0c4f0e-4b8f-4d5e-9a51-0c8c3a1c0004",
)


def _export_chunks(*, complete: bool = True) -> list[dict[str, Any]]:
    facet = {"name": "content", "mime": "image/png", "object": "facet"}
    chunks: list[dict[str, Any]] = [
        {
            "object": "env",
            "resource": "env",
            "configuration": {"scripting": {"maxScriptSize": 51200}},
            "logo": [{**facet, "resourceId": LOGO_ID}],
            "favicon": [{"name": "content", "mime": "image/x-icon", "object": "facet", "resourceId": ICON_ID}],
        },
        {
            "object": "object",
            "resource": "object.c_tiny",
            "name": "c_tiny",
            "label": "Tiny",
            "properties": [
                {
                    "name": "c_title",
                    "type": "String",
                    "validators": [{"name": "customValidator", "definition": {"script": "return true"}}],
                },
                {"name": "c_total", "type": "Number", "script": "return 1"},
            ],
        },
        {
            "object": "script",
            "resource": "script.c_tiny_lib",
            "name": "c_tiny_lib",
            "label": "c_tiny_lib",
            "type": "library",
            "configuration": {"export": "c_tiny_lib"},
            "script": "module.exports = 'héllo \u2028 \"q\" \\\\ \t'\n",
        },
        {
            "object": "script",
            "resource": "script.c_tiny_route",
            "name": "c_tiny_route",
            "type": "route",
            "configuration": {"method": "get", "path": "tiny", "acl": ["account.public"], "priority": 0},
            "script": "",
        },
        {"object": "role", "resource": "role.c_tiny_role", "name": "Tiny role", "code": "c_tiny_role", "include": []},
        {
            "object": "config",
            "resource": "config.c_tiny_config",
            "name": "c_tiny_config",
            "value": {"b": 1, "2": "two", "10": "ten", "1": "one", "ratio": 1.0, "big": 1e21, "huge": 1e16,
                      "small": 1e-7, "half": 0.5, "neg": -2.5e-8, "empty": {}, "none": [], "nil": None},
        },  # fmt: skip
        {
            "object": "template",
            "resource": "template.email.c_tiny_welcome",
            "type": "email",
            "name": "c_tiny_welcome",
            "localizations": [
                {"locale": ["*"], "content": [{"name": "html", "data": "<p>Hi</p>"}, {"name": "plain", "data": ""}]},
                {"locale": ["en_US", "fr_FR"], "content": [{"name": "subject", "data": "Hi"}]},
                {"locale": ["en_US"], "content": [{"name": "plain", "data": "Hi there"}]},
            ],
        },
        {"object": "template", "resource": "template.sms.c_tiny_sms", "type": "sms", "name": "c_tiny_sms",
         "localizations": [{"locale": "en_US", "content": [{"name": "message", "data": "Hi"}]}]},  # fmt: skip
        {"object": "app", "resource": "app.c_tiny_app", "name": "c_tiny_app", "label": "Tiny app", "clients": []},
        {"object": "policy", "resource": "policy.c_tiny_policy", "name": "c_tiny_policy", "script": "return 1",
         "pipeline": None},  # fmt: skip
        {"object": "c_tiny", "resource": "c_tiny.2f3e4d5c-0000-4000-8000-000000000001", "c_title": "row"},
        {
            "object": "i18n",
            "resource": "i18n.c_tiny_i18n",
            "name": "c_tiny_i18n",
            "data": {"script": "stays inline"},
            "assets": [{"key": "img", "value": [[{**facet, "filename": "a.png", "resourceId": I18N_ID}]]}],
        },
        {"object": "facet", "resource": "env.logo.content", "resourceId": LOGO_ID, "name": "content",
         "mime": "image/png", "ETag": hashlib.md5(PNG).hexdigest(), "streamId": LOGO_STREAM},  # fmt: skip
        {"object": "stream", "streamId": LOGO_STREAM, "index": 0, "data": base64.b64encode(PNG[:8192]).decode()},
        {"object": "stream", "streamId": LOGO_STREAM, "index": 1, "data": base64.b64encode(PNG[8192:]).decode()},
        {"object": "stream", "streamId": LOGO_STREAM, "index": 2, "data": None},
        {"object": "facet", "resource": "env.favicon.content", "resourceId": ICON_ID, "name": "content",
         "mime": "image/x-icon", "ETag": hashlib.md5(ICO).hexdigest(), "base64": base64.b64encode(ICO).decode()},
        {"object": "facet", "resource": "i18n.c_tiny_i18n.assets.img", "resourceId": I18N_ID, "name": "content",
         "mime": "image/png", "base64": base64.b64encode(b"small").decode()},
        {"object": "runtime-resource", "type": "route", "name": "c_tiny_lib.route", "metadata": {"weight": 1}},
        {"object": "manifest", "env": {"includes": ["*"]}, "scripts": {"includes": ["*"]}},
        {"object": "manifest-dependencies", "dependencies": {"script.c_tiny_route": {"requires": ["script.c_tiny_lib"]}}},
        {"object": "something-else", "ignored": True},
    ]  # fmt: skip
    if complete:
        chunks.append({"object": "manifest-exports", "resources": ["env", "script.c_tiny_lib"]})
    return chunks


def test_write_tree_writes_what_mdctl_writes(tmp_path: Path) -> None:
    theirs, ours = tmp_path / "mdctl", tmp_path / "ours"
    assert _mdctl_write(theirs, _export_chunks()) == {"complete": True}
    written = write_tree(ours, _export_chunks())
    assert _files(ours) == _files(theirs)
    assert {p.relative_to(ours).as_posix() for p in written} == set(_files(ours))
    files = _files(ours)
    assert "env/scripts/js/library.c_tiny_lib.js" in files and "env/policies/js/policy.c_tiny_policy.js" in files
    assert "env/assets/env.logo.content.png" in files and files["env/assets/env.logo.content.png"] == PNG
    assert "data/c_tinies/2f3e4d5c-0000-4000-8000-000000000001.json" in files
    assert files[".cache.json"] == b"{}" and not files["env/env.json"].endswith(b"\n")


def test_write_tree_over_an_old_export(tmp_path: Path) -> None:
    for name in ("mdctl", "ours"):
        root = tmp_path / name
        (root / "env/scripts/js").mkdir(parents=True)
        (root / "env/scripts/c_stale.json").write_text("{}")
        (root / "env/scripts/js/library.c_stale.js").write_text("old")
        (root / "data").mkdir()
        (root / "data/keep.zip").write_bytes(b"zip")
    for clear in (False, True):
        theirs, ours = tmp_path / "mdctl", tmp_path / "ours"
        _mdctl_write(theirs, _export_chunks(), clear=clear)
        write_tree(ours, _export_chunks(), clear=clear)
        assert _files(ours) == _files(theirs)
        assert ("env/scripts/c_stale.json" in _files(ours)) is not clear


def test_write_tree_incomplete_and_mismatched(tmp_path: Path) -> None:
    theirs, ours = tmp_path / "mdctl", tmp_path / "ours"
    assert _mdctl_write(theirs, _export_chunks(complete=False)) == {"complete": False}
    with pytest.raises(Fault) as caught:
        write_tree(ours, _export_chunks(complete=False))
    assert caught.value.reason == "Export not complete!"
    assert _files(ours) == _files(theirs)  # written all the same, as mdctl does
    (ours / ".cache.json").write_text('{"format": "yaml"}')
    with pytest.raises(Fault) as caught:
        write_tree(ours, _export_chunks())
    assert caught.value.code == "kMismatchFormatExport"
    with pytest.raises(Fault):
        write_tree(tmp_path / "f", [{"object": "fault", "errCode": "cortex.accessDenied.unspecified"}])
    assert not (tmp_path / "f").exists()


def test_round_trip_through_read_tree(tmp_path: Path) -> None:
    write_tree(tmp_path, _export_chunks())
    assert [d["object"] for d in read_tree(tmp_path).documents] == ["manifest", "env", "facet", "facet", "script", "script"]
    tree = read_tree(tmp_path, manifest={"object": "manifest", "includes": ["*"]})  # all of env/
    lib = next(d for d in tree.documents if d.get("name") == "c_tiny_lib")
    assert lib["script"] == _export_chunks()[2]["script"]
    template = next(d for d in tree.documents if d.get("name") == "c_tiny_welcome")
    assert template["localizations"][0]["content"] == [{"name": "html", "data": "<p>Hi</p>"}, {"name": "plain", "data": ""}]


def test_js_semantics() -> None:
    assert js_json({"b": 1, "10": 2, "1": [1.0, 1e21, 1e-7, 123456789012345680000.0, -0.0, {}]}) == (
        '{\n  "1": [\n    1,\n    1e+21,\n    1e-7,\n    123456789012345680000,\n    0,\n    {}\n  ],\n'
        '  "10": 2,\n  "b": 1\n}'
    )
    assert [pluralize(w) for w in ("policy", "i18n", "serviceAccount", "c_study", "c_box", "ns__person")] == [
        "policies", "i18ns", "serviceAccounts", "c_studies", "c_boxes", "ns__people",
    ]  # fmt: skip
