"""The environment folder tree, read and written exactly as the Medable CLI (mdctl) reads and writes it.

`read_tree` selects and loads files the way `@medable/mdctl-import-adapter` does (the chunks `mdctl env import`
would send); `write_tree` lays out an export chunk stream the way `@medable/mdctl-export-adapter-tree` does
(`mdctl env export`), byte for byte for JSON. Spec: environments.md §4.3, §4.10, §4.13, §5.6, §6.6 and
rest-api-auth.md §9. Where mdctl would crash on odd input (a `null` script, an unknown template type) we
keep going with the obvious result instead.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import mimetypes
import os
import re
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from cortex_runtime.faults import Fault

__all__ = ["TreeImport", "find_root", "read_tree", "write_tree", "pluralize", "js_json"]

STREAM_CHUNK_SIZE = 8192
_UNDEF: Any = object()  # a JavaScript `undefined`: a missing key, as opposed to a `null` value

Path_ = list[str | int]  # a JSONPath as mdctl's jsonpath builds it (without the leading "$")


# --------------------------------------------------------------------------------------------------------------
# JavaScript semantics the byte-for-byte output depends on


def _truthy(value: Any) -> bool:
    """JavaScript truthiness: empty arrays and objects are true."""
    if value is _UNDEF or value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _js_number(value: int | float) -> str:
    """`Number.prototype.toString`: integral floats lose `.0`, exponents only below 1e-6 and from 1e21."""
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return str(value)
        value = float(value)  # JSON.parse would have rounded it to a double
    if math.isnan(value) or math.isinf(value):
        return "null"
    if value == 0:
        return "0"
    sign, digits_t, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digits_t))
    k, n = len(digits), int(exponent) + len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + text


_ARRAY_INDEX = re.compile(r"^(?:0|[1-9][0-9]*)$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _js_key_order(obj: dict[str, Any]) -> list[str]:
    """JavaScript object key order: array-index keys first, ascending, then the rest as inserted."""
    index_keys = [k for k in obj if _ARRAY_INDEX.match(k) and int(k) < 2**32 - 1]
    if not index_keys:
        return list(obj)
    index_set = set(index_keys)
    rest = [k for k in obj if k not in index_set]
    return sorted(index_keys, key=int) + rest


def _js_string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def js_json(value: Any, indent: int = 2) -> str:
    """`JSON.stringify(value, null, indent)`, as the tree adapter writes its files (no trailing newline)."""
    pad = " " * indent

    def dump(v: Any, level: int) -> str:
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, (int, float)):
            return _js_number(v)
        if isinstance(v, str):
            return _js_string(v)
        inner = pad * (level + 1)
        if isinstance(v, (list, tuple)):
            if not v:
                return "[]"
            items = ["null" if x is _UNDEF else dump(x, level + 1) for x in v]
            return "[\n" + ",\n".join(inner + item for item in items) + "\n" + pad * level + "]"
        if isinstance(v, dict):
            keys = [k for k in _js_key_order(v) if v[k] is not _UNDEF]
            if not keys:
                return "{}"
            items = [inner + _js_string(str(k)) + ": " + dump(v[k], level + 1) for k in keys]
            return "{\n" + ",\n".join(items) + "\n" + pad * level + "}"
        raise TypeError(f"cannot write {type(v).__name__} into an environment file")

    return dump(value, 0)


def _js_str(value: Any) -> str:
    """String(value), for names mdctl builds with template literals."""
    if value is _UNDEF:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, list):
        return ",".join("" if x is None or x is _UNDEF else _js_str(x) for x in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key, _UNDEF) if isinstance(obj, dict) else _UNDEF


def _is_custom_name(name: Any) -> bool:
    """mdctl's isCustomName: `c_` prefix or a namespace `__` anywhere."""
    return isinstance(name, str) and (name.startswith("c_") or "__" in name)


# npm `pluralize` 7.0.0, the plural rules only: resource folders are the 15 kind names or custom names
# (with an underscore), which never hit its whole-word irregular or uncountable lists. Tried last to first.
_PLURAL_RULES: list[tuple[str, str]] = [
    (r"s?$", "s"),
    (r"[^\u0000-\u007F]$", "$0"),
    (r"([^aeiou]ese)$", "$1"),
    (r"(ax|test)is$", "$1es"),
    (r"(alias|[^aou]us|tlas|gas|ris)$", "$1es"),
    (r"(e[mn]u)s?$", "$1s"),
    (r"([^l]ias|[aeiou]las|[emjzr]as|[iu]am)$", "$1"),
    (r"(alumn|syllab|octop|vir|radi|nucle|fung|cact|stimul|termin|bacill|foc|uter|loc|strat)(?:us|i)$", "$1i"),
    (r"(alumn|alg|vertebr)(?:a|ae)$", "$1ae"),
    (r"(seraph|cherub)(?:im)?$", "$1im"),
    (r"(her|at|gr)o$", "$1oes"),
    (
        r"(agend|addend|millenni|dat|extrem|bacteri|desiderat|strat|candelabr|errat|ov|symposi|curricul|automat|quor)"
        r"(?:a|um)$",
        "$1a",
    ),
    (
        r"(apheli|hyperbat|periheli|asyndet|noumen|phenomen|criteri|organ|prolegomen|hedr|automat)(?:a|on)$",
        "$1a",
    ),
    (r"sis$", "ses"),
    (r"(?:(kni|wi|li)fe|(ar|l|ea|eo|oa|hoo)f)$", "$1$2ves"),
    (r"([^aeiouy]|qu)y$", "$1ies"),
    (r"([^ch][ieo][ln])ey$", "$1ies"),
    (r"(x|ch|ss|sh|zz)$", "$1es"),
    (r"(matr|cod|mur|sil|vert|ind|append)(?:ix|ex)$", "$1ices"),
    (r"(m|l)(?:ice|ouse)$", "$1ice"),
    (r"(pe)(?:rson|ople)$", "$1ople"),
    (r"(child)(?:ren)?$", "$1ren"),
    (r"eaux$", "$0"),
    (r"m[ae]n$", "men"),
    (r"^thou$", "you"),
    # uncountable patterns are registered after the rules, so they are tried first
    (r"[^aeiou]ese$", "$0"),
    (r"deer$", "$0"),
    (r"fish$", "$0"),
    (r"measles$", "$0"),
    (r"o[iu]s$", "$0"),
    (r"pox$", "$0"),
    (r"sheep$", "$0"),
]
_PLURAL_COMPILED = [(re.compile(p, re.IGNORECASE), r) for p, r in reversed(_PLURAL_RULES)]


def _restore_case(word: str, token: str) -> str:
    if word == token:
        return token
    if word == word.upper():
        return token.upper()
    if word[:1] == word[:1].upper():
        return token[:1].upper() + token[1:].lower()
    return token.lower()


def pluralize(word: str) -> str:
    """The folder name npm `pluralize` gives a resource kind: `policy` -> `policies`, `c_study` -> `c_studies`."""
    if not word:
        return word
    for pattern, replacement in _PLURAL_COMPILED:
        match = pattern.search(word)
        if match is None:
            continue
        result = re.sub(r"\$(\d{1,2})", lambda g: match.group(int(g.group(1))) or "", replacement)
        matched = match.group(0)
        case_of = word[match.start() - 1] if matched == "" else matched
        return word[: match.start()] + _restore_case(case_of, result) + word[match.end() :]
    return word


# npm `mime` 2.6.0 getExtension for the types exports carry; others fall back to Python's table.
_MIME_EXTENSIONS = {
    "image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico", "image/svg+xml": "svg", "image/webp": "webp", "image/bmp": "bmp",
    "image/tiff": "tif", "image/heic": "heic", "application/pdf": "pdf", "application/json": "json",
    "application/octet-stream": "bin", "application/zip": "zip", "application/javascript": "js",
    "text/plain": "txt", "text/html": "html", "text/css": "css", "text/csv": "csv", "text/markdown": "markdown",
    "text/xml": "xml", "application/xml": "xml", "audio/mpeg": "mpga", "audio/mp3": "mp3", "audio/wav": "wav",
    "audio/mp4": "m4a", "video/mp4": "mp4", "video/quicktime": "qt", "video/webm": "webm",
    "application/msword": "doc", "application/vnd.ms-excel": "xls", "font/woff": "woff", "font/woff2": "woff2",
    "font/ttf": "ttf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}  # fmt: skip
_MIME_UNKNOWN = {"image/jpg", "text/javascript", "application/x-font-ttf"}


def _mime_extension(mime: Any) -> str:
    if not isinstance(mime, str):
        return "null"
    kind = re.sub(r"^\s*([^;\s]*).*$", r"\1", mime, flags=re.S).lower()
    if kind in _MIME_EXTENSIONS:
        return _MIME_EXTENSIONS[kind]
    guessed = None if kind in _MIME_UNKNOWN else mimetypes.guess_extension(kind, strict=False)
    return guessed[1:] if guessed else "null"


# --------------------------------------------------------------------------------------------------------------
# JSONPath descent and globbing, in the orders mdctl's jsonpath and fast-glob produce


def _nodes(value: Any, key: str, path: Path_ | None = None) -> Iterator[tuple[Path_, Any]]:
    """`jp.nodes(value, '$..key')`: depth first, each node's own `key` before its children."""
    path = path or []
    if isinstance(value, dict):
        if key in value:
            yield path + [key], value[key]
        for k in _js_key_order(value):
            yield from _nodes(value[k], key, path + [k])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(item, key, path + [i])


def _value_at(root: Any, path: Path_) -> Any:
    for step in path:
        if isinstance(root, dict) and isinstance(step, str):
            root = root.get(step, _UNDEF)
        elif isinstance(root, list) and isinstance(step, int) and 0 <= step < len(root):
            root = root[step]
        else:
            return _UNDEF
    return root


def _set_at(root: Any, path: Path_, value: Any) -> None:
    parent = _value_at(root, path[:-1])
    if isinstance(parent, dict):
        if value is _UNDEF:
            parent.pop(str(path[-1]), None)  # JSON.stringify drops undefined
        else:
            parent[str(path[-1])] = value
    elif isinstance(parent, list) and isinstance(path[-1], int) and 0 <= path[-1] < len(parent):
        parent[path[-1]] = None if value is _UNDEF else value


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [x for alt in match.group(1).split(",") for x in _expand_braces(head + alt + tail)]


def _segment_regex(segment: str) -> str:
    out, i = [], 0
    while i < len(segment):
        ch = segment[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and "]" in segment[i + 1 :]:
            end = segment.index("]", i + 1)
            body = segment[i + 1 : end]
            out.append("[" + ("^" + re.escape(body[1:]) if body[:1] in "!^" and body else re.escape(body)) + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    # dot: false -- wildcards never match a leading dot
    return ("(?!\\.)" if segment[:1] in "*?[" else "") + "".join(out)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    alternatives = []
    for alt in _expand_braces(pattern):
        parts = []
        for segment in alt.split("/"):
            parts.append("(?:(?!\\.)[^/]+/)*" if segment == "**" else _segment_regex(segment) + "/")
        alternatives.append("".join(parts)[:-1] if not alt.endswith("**") else "".join(parts))
    return re.compile("^(?:" + "|".join(alternatives) + ")$")


def _glob_base(pattern: str) -> str:
    static = []
    for segment in pattern.split("/")[:-1]:
        if re.search(r"[*?\[\]{}()!+@]", segment):
            break
        static.append(segment)
    return "/".join(static)


def _glob(root: Path, patterns: Iterable[str]) -> list[str]:
    """globby.sync(patterns, {cwd: root}): per pattern a breadth-first walk from its static base, entries in
    byte order, files only, dot entries skipped; matches of all patterns in pattern order, first one wins."""
    found: dict[str, None] = {}
    for pattern in patterns:
        regex, base = _glob_regex(pattern), _glob_base(pattern)
        queue = [root / base if base else root]
        for directory in queue:
            try:
                entries = sorted(os.scandir(directory), key=lambda e: os.fsencode(e.name))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    queue.append(Path(entry.path))
                    continue
                relative = Path(entry.path).relative_to(root).as_posix()
                if regex.match(relative):
                    found.setdefault(relative, None)
    return list(found)


# --------------------------------------------------------------------------------------------------------------
# Reading (mdctl env import)


@dataclass
class TreeImport:
    """What `mdctl env import` would send for a tree: `documents` (package, manifest, then each selected file's
    document followed by its facets), then `streams` (the facet bytes). `files` are the selected files."""

    package: dict[str, Any] | None
    manifest: dict[str, Any] | None
    documents: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def chunks(self) -> list[dict[str, Any]]:
        """Every chunk in the order mdctl sends them."""
        return self.documents + self.streams


def _not_a_tree(path: Path, why: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=f"{path} is not an environment folder: {why}", path=str(path))


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder holding `env/` or `manifest.json`; given its `env/` subfolder (the one with `env.json`), its parent."""
    given = Path(path)
    if given.is_file() and given.name.startswith("manifest."):
        given = given.parent
    if not given.is_dir():
        raise _not_a_tree(given, "no such folder")
    if (given / "env").is_dir() or any((given / f"manifest.{ext}").is_file() for ext in ("json", "yaml")):
        return given
    if any((given / f"env.{ext}").is_file() for ext in ("json", "yaml")):
        return given.parent
    raise _not_a_tree(given, "it holds neither env/ nor manifest.json")


def _read_file(path: Path, *, yaml_all: bool = False) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise Fault("cortex.notFound.file", reason=f"{path} does not exist", path=str(path)) from None
    try:
        if yaml_all or path.suffix == ".yaml":
            return yaml.safe_load(raw)
        return json.loads(raw.decode("utf-8"))
    except (ValueError, yaml.YAMLError) as err:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"{path} cannot be parsed: {err}", path=str(path)) from None


def _read_text(root: Path, reference: str, owner: Path) -> str:
    """A `/env/...` reference's content; the reference is appended to the root as mdctl does."""
    target = Path(str(root) + reference)
    try:
        return target.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        raise Fault(
            "cortex.notFound.file",
            reason=f"{owner} refers to {reference}, but {target} does not exist",
            path=str(target),
        ) from None


def _read_package(root: Path, *, yaml_all: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """package.json with its hook scripts and ingest pipe inlined, and the manifest it names, if any.
    A package.json without `"object": "package"` is someone else's (environments.md §6.6 #1): ignored."""
    found = _glob(root, ["package.{json,yaml}"])
    if not found:
        return None, None
    package = _read_file(root / found[0], yaml_all=yaml_all)
    if not isinstance(package, dict) or package.get("object") != "package":
        return None, None
    scripts = package.get("scripts")

    def first_script(*names: str) -> Any:
        return next((scripts[n] for n in names if _truthy(scripts.get(n))), None)

    if isinstance(scripts, dict):
        for target, names in (
            ("beforeImport", ("beforeimport", "beforeImport", "preinstall", "preInstall")),
            ("afterImport", ("afterimport", "afterImport", "postinstall", "postInstall")),
        ):
            script = first_script(*names)
            if isinstance(script, str) and (root / script).is_file():
                scripts[target] = (root / script).read_bytes().decode("utf-8", errors="replace")
    pipes = package.get("pipes")
    if isinstance(pipes, dict) and isinstance(pipes.get("ingest"), str) and (root / pipes["ingest"]).is_file():
        pipes["ingest"] = (root / pipes["ingest"]).read_bytes().decode("utf-8", errors="replace")
    manifest = None
    if _truthy(package.get("manifest")):
        manifest = _read_file(root / _js_str(package["manifest"]), yaml_all=yaml_all)
    return package, manifest


def _selection_patterns(manifest: dict[str, Any]) -> list[str]:
    """The globs a manifest selects (environments.md §5.6)."""
    patterns: list[str] = []
    for key, section in manifest.items():
        includes = section.get("includes") if isinstance(section, dict) else None
        if isinstance(includes, list):
            if includes and includes[0] == "*" and key == "env":
                patterns.append("env/env.{json,yaml}")
            elif _is_custom_name(key):
                if includes and includes[0] == "*":
                    patterns.append(f"data/{pluralize(key)}/**/*.{{json,yaml}}")
                else:
                    patterns.extend(f"data/{pluralize(key)}/**/{_js_str(i)}.{{json,yaml}}" for i in includes)
            else:
                patterns.extend(f"env/{key}/**/{_js_str(i)}.{{json,yaml}}" for i in includes)
        elif isinstance(section, list):
            if key == "includes" and section and section[0] == "*":
                patterns.append("env/**/*.{json,yaml}")
            else:
                patterns.extend(f"env/{key}/**/{_js_str(_get(o, 'name'))}.{{json,yaml}}" for o in section)
    return patterns


def _named(value: Any) -> bool:
    return isinstance(value, dict) and any(_truthy(value.get(k)) for k in ("code", "name", "label", "resource"))


def _facet_owner(document: dict[str, Any], path: Path_) -> Any:
    """The object a `filePath` belongs to: its own object when named, else the nearest named ancestor."""
    path = list(path)
    while True:
        parent = _value_at(document, path[:-1])
        if _named(parent):
            return parent
        path.pop()
        if not path:
            return {}


def _stream_chunks(stream_id: str, data: bytes) -> list[dict[str, Any]]:
    slices = [data[i : i + STREAM_CHUNK_SIZE] for i in range(0, len(data), STREAM_CHUNK_SIZE)]
    chunks = [
        {"data": base64.b64encode(piece).decode("ascii"), "index": i, "object": "stream", "streamId": stream_id}
        for i, piece in enumerate(slices)
    ]
    chunks.append({"data": None, "index": len(slices), "object": "stream", "streamId": stream_id})
    return chunks


def _load_document(root: Path, file: Path, *, yaml_all: bool) -> tuple[Any, list[Any], list[dict[str, Any]]]:
    """One selected file: facets get ETag and fresh ids, `/env` script and template references are inlined."""
    document = _read_file(file, yaml_all=yaml_all)
    facets: list[Any] = []
    streams: list[dict[str, Any]] = []
    for path, _value in list(_nodes(document, "filePath")):
        facet = _facet_owner(document, path)
        if isinstance(facet, dict) and _truthy(facet.get("filePath")):
            asset = Path(str(root) + _js_str(facet["filePath"]))
            try:
                data = asset.read_bytes()
            except OSError:
                raise Fault(
                    "cortex.notFound.file",
                    reason=f"{file} refers to {facet['filePath']}, but {asset} does not exist",
                    path=str(asset),
                ) from None
            key = str(uuid.uuid4())
            facet["ETag"] = hashlib.md5(data).hexdigest()
            facet["streamId"] = key
            facet["resourceId"] = key
            streams.extend(_stream_chunks(key, data))
        if isinstance(facet, dict):
            facet.pop("filePath", None)
        facets.append(facet)
    for path, value in list(_nodes(document, "script")):
        if isinstance(value, str) and value.startswith("/env"):
            _set_at(document, path, _read_text(root, value, file))
    if isinstance(document, dict) and document.get("object") == "template":
        localizations = document.get("localizations")
        if isinstance(localizations, list):
            for _path, contents in list(_nodes(localizations, "content")):
                for content in contents if isinstance(contents, list) else []:
                    data = _get(content, "data")
                    if isinstance(data, str) and data.startswith("/env"):
                        content["data"] = _read_text(root, data, file)
    return document, [copy.deepcopy(f) for f in facets], streams


def read_tree(
    root: str | os.PathLike[str], *, manifest: dict[str, Any] | None = None, format: str | None = None
) -> TreeImport:
    """Load a tree as `mdctl env import` would: package.json, the manifest (the given one, else the package's,
    else manifest.json; none is `mdctl.kManifestNotFound.error`), then every file the manifest selects.

    Files parse by extension (mdctl parses YAML only with a `.cache.json` and `--format yaml`, which
    `format="yaml"` reproduces: every file then parses as YAML). `preImport`/`postImport` hooks are not run.
    """
    base = Path(root)
    yaml_all = format == "yaml" and (base / ".cache.json").is_file()
    package, package_manifest = _read_package(base, yaml_all=yaml_all)
    result = TreeImport(package=package, manifest=None)
    if package is not None:
        result.documents.append(package)
    patterns: list[str] = []
    if package_manifest is not None or manifest is not None:
        chosen = package_manifest if package_manifest is not None else manifest
        result.manifest = chosen
        result.documents.append(chosen)
    else:
        found = _glob(base, ["manifest.{json,yaml}"])
        if not found:
            why = f"There is no manifest set as a parameter, nor is one found in {base}."
            # errCode and code as mdctl's own fault (code kError)
            raise Fault("mdctl.kManifestNotFound.error", why, code="kError", status=400, reason=why, path=str(base))
        result.manifest = _read_file(base / found[0], yaml_all=yaml_all)
        patterns.append("manifest.{json,yaml}")
    if not isinstance(result.manifest, dict):
        raise Fault("cortex.invalidArgument.unspecified", reason="The manifest must be an object.", path=str(base))
    patterns.extend(_selection_patterns(result.manifest))
    for relative in _glob(base, patterns):
        file = base / relative
        document, facets, streams = _load_document(base, file, yaml_all=yaml_all)
        result.files.append(file)
        result.documents.append(document)
        result.documents.extend(facets)
        result.streams.extend(streams)
    return result


# --------------------------------------------------------------------------------------------------------------
# Writing (mdctl env export)

_ENV_KINDS = {
    "app", "config", "notification", "policy", "role", "smsNumber", "serviceAccount", "storageLocation",
    "configuration", "template", "object", "script", "view", "i18n", "expression",
}  # fmt: skip
_TRAILER_KINDS = ("manifest", "manifest-dependencies", "manifest-exports", "resources")
_SECTION_KINDS = _ENV_KINDS | {"manifest", "manifest-dependencies", "manifest-exports", "env", "facet"}
_TEMPLATE_EXTENSIONS = {
    "email": {"html": "html", "plain": "txt", "subject": "txt", "partial": "html"},
    "push": {"message": "txt", "partial": "txt"},
    "sms": {"message": "txt", "partial": "txt"},
    "html": {"content": "html", "partial": "html"},
}
_CLEARED = (
    "{manifest,exports,dependencies}.{json,yaml}",
    "env/**/*.{json,yaml}",
    "env/**/*.{ico,png,jpeg,jpg,gif,html,txt,bin,js}",
)


@dataclass
class _Section:
    """One resource file in the making, with the paths of the facet references it holds."""

    key: str
    content: Any
    resource_paths: list[tuple[Path_, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        content = self.content
        if self.key == "env":
            return "env"
        if self.key in _TRAILER_KINDS[1:]:
            return self.key.replace("manifest-", "", 1)
        name, code, kind = _get(content, "name"), _get(content, "code"), _get(content, "object")
        if self.key == "role":
            return _js_str(next((v for v in (code, name) if _truthy(v)), kind))
        if self.key == "template":
            return f"{_js_str(_get(content, 'type'))}.{_js_str(name if _truthy(name) else kind)}"
        resource = _get(content, "resource")
        if not _truthy(name) and _truthy(resource) and _is_custom_name(kind):
            return _js_str(resource).replace(f"{kind}.", "", 1)
        return _js_str(name if _truthy(name) else kind)

    def folder(self) -> str:
        kind = _get(self.content, "object")
        if kind == "env":
            return self.name
        if _is_custom_name(kind):
            return f"data/{pluralize(kind)}"
        if self.key in _ENV_KINDS:
            return f"env/{pluralize(_js_str(kind))}"
        return ""


@dataclass
class _File:
    """A file beside a section: a script (`js`), template content (`tpl`) or facet bytes (`assets`)."""

    type: str
    name: str
    ext: str
    section: _Section
    path_to: Path_
    data: str | bytes | None = None
    etag_path: Path_ | None = None
    etag: Any = _UNDEF
    stream_id: Any = None
    base64: Any = None
    url: Any = None
    stream: list[bytes] | None = None


def _script_file_name(content: dict[str, Any], path: Path_) -> str | None:
    """`<script type>.<name>` for scripts, `<object>.<name>[.<path>]` otherwise; None under `.validators.`."""
    steps: list[str] = []
    for i, step in enumerate(path):
        if isinstance(step, int):
            item = _value_at(content, path[: i + 1])
            label = _get(item, "code") if _truthy(_get(item, "code")) else _get(item, "name")
            steps.append(_js_str(label) if _truthy(_get(item, "code")) or _is_custom_name(label) else str(step))
        else:
            steps.append(step)
    name_path = ".".join(steps)
    if ".validators." in name_path:
        return None
    items: list[Any] = []
    if _get(content, "object") == "script":
        owner, parent_path = content, list(path)
        while parent_path:
            parent = _value_at(content, parent_path[:-1])
            if _truthy(_get(parent, "code")) or _is_custom_name(_get(parent, "name")):
                owner = parent
                break
            parent_path.pop()
        if _truthy(_get(owner, "type")):
            items.append(owner["type"])
    else:
        items.append(_get(content, "object"))
    name = _get(content, "name")
    items.append(name if _truthy(name) else _get(content, "code"))
    if "." in name_path:
        items.append(name_path)
    return ".".join("" if x is None or x is _UNDEF else _js_str(x) for x in items)  # Array.join


def _locale_part(locale: Any) -> str:
    if isinstance(locale, list):
        if len(locale) > 1:
            return hashlib.md5(_js_str(locale).encode("utf-8")).hexdigest()
        if locale == ["*"]:
            return "anyLocale"
        return _js_str(locale[0] if locale else _UNDEF)
    return _js_str(locale)


def _extract_files(section: _Section) -> list[_File]:
    """Scripts and template content leave the document for their own files (rest-api-auth.md §9.3)."""
    content, files = section.content, []
    if not (_is_custom_name(_get(content, "object")) or _get(content, "object") == "i18n"):
        for path, value in list(_nodes(content, "script")):
            # only strings: mdctl crashes writing any other non-object value, we leave it inline
            name = _script_file_name(content, path) if isinstance(value, str) else None
            if name is not None:
                files.append(_File("js", name, "js", section, path, data=value))
    if section.key == "template" and isinstance(_get(content, "localizations"), list):
        base = f"{_js_str(_get(content, 'object'))}.{_js_str(_get(content, 'type'))}.{_js_str(_get(content, 'name'))}"
        extensions = _TEMPLATE_EXTENSIONS.get(_get(content, "type"), {})
        for index, localization in enumerate(content["localizations"]):
            locale = _locale_part(_get(localization, "locale"))
            for path, contents in list(_nodes(localization, "content")):
                for i, item in enumerate(contents if isinstance(contents, list) else []):
                    data = _get(item, "data")
                    if _truthy(data):
                        files.append(
                            _File(
                                "tpl",
                                f"{base}.{locale}.{_js_str(_get(item, 'name'))}",
                                extensions.get(_get(item, "name"), "undefined"),
                                section,
                                ["localizations", index, *path, i, "data"],
                                data=data if isinstance(data, (str, bytes)) else _js_str(data),
                            )
                        )
    return files


def _to_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    return _SURROGATE.sub("\ufffd", data).encode("utf-8")


def _serialize(content: Any, format: str) -> bytes:
    if format == "yaml":
        # best effort: js-yaml's safeDump layout, not byte-compared
        text = yaml.dump(json.loads(js_json(content)), Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, width=80)
        return _to_bytes(text)
    return _to_bytes(js_json(content))


class _YamlDumper(yaml.SafeDumper):
    """Indents sequences under their key, as js-yaml does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _clear(root: Path) -> None:
    for relative in _glob(root, _CLEARED):
        (root / relative).unlink(missing_ok=True)


def write_tree(
    root: str | os.PathLike[str], chunks: Iterable[dict[str, Any]], *, format: str = "json", clear: bool = False
) -> list[Path]:
    """Lay out an export chunk stream as `mdctl env export` does; returns the files written, in write order.

    A `fault` chunk is raised before anything is written; a stream without `manifest-exports` is written,
    then raised as "Export not complete!" (both as mdctl). With `clear`, stale exported files go first.
    """
    output = str(root)
    base = Path(root)
    metadata: Any = {}
    if (base / ".cache.json").is_file():
        metadata = json.loads((base / ".cache.json").read_bytes().decode("utf-8"))
    if isinstance(metadata, dict):
        if _truthy(metadata.get("format")) and format != metadata["format"]:
            raise Fault(
                "mdctl.kMismatchFormatExport.error", code="kMismatchFormatExport", status=400,
                reason="the location contains exported data in different format, "
                "you will have duplicated information in different formats",
            )  # fmt: skip
        if _truthy(metadata.get("layout")):
            raise Fault(
                "mdctl.kMismatchLayoutExport.error", code="kMismatchLayoutExport", status=400,
                reason="the location contains exported data in different layout, "
                "you will have duplicated information in different layout",
            )  # fmt: skip

    sections: list[_Section] = []
    with_facets: list[_Section] = []
    files: list[_File] = []
    runtimes: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    complete = False

    def add_section(key: str, content: Any) -> None:
        section = _Section(key, content)
        section.resource_paths = list(_nodes(content, "resourceId"))
        if section.resource_paths:
            with_facets.append(section)
        files.extend(_extract_files(section))
        sections.append(section)
        names[id(section)] = section.name  # before `resource` goes: custom data may be named after it
        if isinstance(content, dict):
            content.pop("resource", None)

    def add_facet(facet: dict[str, Any]) -> None:
        for host in with_facets:
            found = next((p for p in host.resource_paths if p[1] == _get(facet, "resourceId")), None)
            if found is None:
                continue
            path = found[0]
            path[-1] = "filePath"
            owner = _value_at(host.content, path[:-1])
            if isinstance(owner, dict):
                owner.pop("resourceId", None)
            files.append(
                _File(
                    "assets", _js_str(_get(facet, "resource")), _mime_extension(facet.get("mime")), host,
                    list(path), etag_path=[*path[:-1], "ETag"], etag=_get(facet, "ETag"),
                    stream_id=facet.get("streamId"), base64=facet.get("base64"), url=facet.get("url"),
                )
            )  # fmt: skip
            return

    for chunk in chunks:
        kind = chunk.get("object") if isinstance(chunk, dict) else None
        if not _truthy(kind):
            raise Fault("cortex.invalidArgument.unspecified", code="kMissingObjectKey", reason="There is no object property")
        if kind == "fault":
            raise Fault.from_json(chunk)
        if kind == "manifest-exports":
            complete = True
        if kind in _SECTION_KINDS or _is_custom_name(kind):
            copied = copy.deepcopy(chunk)
            if kind == "facet":
                add_facet(copied)
            else:
                add_section(kind, copied)
        elif kind == "stream":
            target = next((f for f in files if f.stream_id is not None and f.stream_id == chunk.get("streamId")), None)
            if target is not None:
                target.stream = (target.stream or []) + [
                    b"" if chunk.get("data") is None else base64.b64decode(chunk["data"])
                ]
        elif kind == "runtime-resource":
            runtimes.append(copy.deepcopy(chunk))
    if runtimes:
        add_section("resources", runtimes)

    written: list[Path] = []
    if sections:
        if clear:
            _clear(base)
        folders = {id(s): f"{output}/{s.folder()}" for s in sections}
        for item in files:
            folder = f"{folders[id(item.section)]}/{item.type}"
            target = f"{folder}/{item.name}.{item.ext}"
            _set_at(item.section.content, item.path_to, target.replace(output, "", 1))
            if item.etag_path is not None:
                _set_at(item.section.content, item.etag_path, item.etag)
        for section in sections:
            target = Path(f"{folders[id(section)]}/{names[id(section)]}.{format}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_serialize(section.content, format))
            written.append(target)
        for item in files:
            target = Path(f"{folders[id(item.section)]}/{item.type}/{item.name}.{item.ext}")
            target.parent.mkdir(parents=True, exist_ok=True)
            written.append(target)
            if (
                item.type == "assets"
                and _truthy(item.etag)
                and target.is_file()
                and hashlib.md5(target.read_bytes()).hexdigest() == item.etag
            ):
                continue
            if _truthy(item.url):
                with urllib.request.urlopen(str(item.url)) as response:  # noqa: S310 - the export named it
                    target.write_bytes(response.read())
            elif _truthy(item.base64):
                target.write_bytes(base64.b64decode(item.base64))
            elif item.stream is not None:
                target.write_bytes(b"".join(item.stream))
            elif item.data is not None:
                target.write_bytes(_to_bytes(item.data))
            else:
                raise Fault(
                    "cortex.invalidArgument.unspecified",
                    reason=f"The export sent no content for {item.name} (no base64, url or stream chunks).",
                    path=str(target),
                )
        cache = base / ".cache.json"
        cache.write_bytes(_to_bytes(js_json(metadata)))
        written.append(cache)
    if not complete:
        raise Fault("cortex.invalidArgument.unspecified", reason="Export not complete!")
    return list(dict.fromkeys(written))
