"""Compile: Babel 6 transform (only when the source needs it) + op metering, cached by source hash.

Compiling happens in a context of its own, with trusted tools loaded (acorn, and
Babel on first need) and no limit but a generous deadline; a script's run never
pays for it once its source has been compiled. The result is a ``CompiledScript``
whose ``code`` is the metered body, ready to be wrapped by the caller.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ..faults import Fault
from .engine import Context, EngineError, ScriptThrew
from .npm import NpmPackages

__all__ = ["CompileCache", "CompiledScript", "Compiler", "default_cache_dir"]

COMPILE_TIMEOUT_S = 60.0


def default_cache_dir() -> Path:
    """``$CORTEX_CACHE_DIR``, else ``<venv>/var/cortex-runtime/compiled``."""
    configured = os.environ.get("CORTEX_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(sys.prefix) / "var" / "cortex-runtime" / "compiled"


def _meter_source() -> str:
    return (files("cortex_runtime.sandbox") / "meter.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class CompiledScript:
    """A compiled unit: metered JS (``code``), keyed by ``source_hash``."""

    code: str
    source_hash: str
    transformed: bool


class CompileCache:
    """Source hash -> CompiledScript, in memory and optionally in a directory.

    The key includes the compiler's own fingerprint, so a change to the metering
    or the transpiler never serves stale output.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._memory: dict[str, CompiledScript] = {}
        self._directory = directory
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> CompiledScript | None:
        with self._lock:
            found = self._memory.get(key)
        if found is None and self._directory is not None:
            path = self._directory / f"{key}.json"
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found = CompiledScript(code=data["code"], source_hash=key, transformed=data["transformed"])
            except (OSError, ValueError, KeyError):
                found = None
            if found is not None:
                with self._lock:
                    self._memory[key] = found
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, compiled: CompiledScript) -> None:
        with self._lock:
            self._memory[compiled.source_hash] = compiled
        if self._directory is not None:
            try:
                self._directory.mkdir(parents=True, exist_ok=True)
                path = self._directory / f"{compiled.source_hash}.json"
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"code": compiled.code, "transformed": compiled.transformed}), encoding="utf-8")
                tmp.replace(path)
            except OSError:
                pass  # a read-only or full disk only costs a recompile in the next process


class Compiler:
    """Transpiles and meters script sources.

    jsbox runtimes belong to the thread that made them, so each thread gets its own
    compile context, built on first use.
    """

    def __init__(self, npm: NpmPackages, cache: CompileCache | None = None) -> None:
        self.npm = npm
        self.cache = cache if cache is not None else CompileCache()
        self._meter_js = _meter_source()
        self._fingerprint = hashlib.sha256(
            (self._meter_js + "\0" + npm.fingerprint()).encode("utf-8")
        ).hexdigest()[:16]
        self._local = threading.local()
        # Line coverage (the test harness's --coverage): source -> the name its hits are
        # reported under, "" for a script that only hands over the hits of the libraries it
        # ran, None for a source left alone. Off (None) by default.
        self.coverage: Callable[[str], str | None] | None = None

    def key(self, source: str, kind: str) -> str:
        digest = hashlib.sha256()
        digest.update(self._fingerprint.encode("ascii"))
        digest.update(kind.encode("ascii") + b"\0")
        digest.update(source.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def compile(self, source: str, *, kind: str = "script", max_size: int | None = None) -> CompiledScript:
        """Compile ``source`` (cached). Raises a Fault for oversize or unparsable source."""
        if not isinstance(source, str):
            raise Fault("cortex.invalidArgument.scriptCompilation", reason="Script source must be a string.")
        if max_size is not None and len(source) > max_size:
            raise Fault(
                "cortex.invalidArgument.maxScriptLength",
                reason=f"Your script exceeds the maximum length of {max_size} by {len(source) - max_size}",
            )
        cover = self.coverage(source) if self.coverage is not None else None
        if cover == "" and kind != "script":
            cover = None
        key = self.key(source, kind if cover is None else f"{kind}+coverage:{cover}")
        found = self.cache.get(key)
        if found is not None:
            return found
        result = self._run_tools(source, cover)
        if "error" in result:
            error = result["error"]
            line, column = error.get("line"), error.get("column")
            where = f" (line {line}, column {column})" if line else ""
            raise Fault("cortex.invalidArgument.scriptCompilation", reason=f"{error.get('message')}{where}")
        compiled = CompiledScript(code=result["code"], source_hash=key, transformed=bool(result.get("transformed")))
        self.cache.put(compiled)
        return compiled

    def decorators(self, source: str) -> list[dict]:
        """The decorators in ``source`` (class and member decorators with literal arguments,
        className, methodName, static, line, column), for deploy-time registration.
        Cached by source hash like compiled code, so deploying a library again parses nothing."""
        key = self.key(source, "decorators")
        found = self.cache.get(key)
        if found is not None:
            return list(json.loads(found.code))
        ctx = self._context()
        self._load_babel(ctx)
        try:
            result = json.loads(str(ctx.eval(f"extractDecorators({json.dumps(source)})", COMPILE_TIMEOUT_S)))
        except EngineError as exc:
            raise Fault("cortex.invalidArgument.scriptCompilation", reason=str(exc)) from exc
        if "error" in result:
            error = result["error"]
            raise Fault("cortex.invalidArgument.scriptCompilation", reason=f"{error.get('message')} (line {error.get('line')}, column {error.get('column')})")
        self.cache.put(CompiledScript(code=json.dumps(result["decorators"]), source_hash=key, transformed=False))
        return list(result["decorators"])

    def release(self) -> None:
        """Free this thread's compile context (a thread that stops compiling calls this)."""
        ctx = getattr(self._local, "context", None)
        if ctx is not None:
            self._local.context = None
            self._local.babel = False
            ctx.close()

    def _load_babel(self, ctx: Context) -> None:
        if getattr(self._local, "babel", False):
            return
        ctx.eval(
            "module = {exports: {}}; exports = module.exports;\n"
            + self.npm.read("babel-standalone/babel.min.js")
            + "\n;var Babel = module.exports;",
            COMPILE_TIMEOUT_S,
        )
        self._local.babel = True

    def _context(self) -> Context:
        ctx = getattr(self._local, "context", None)
        if ctx is None:
            ctx = Context(memory_bytes=0, stack_bytes=4 * 1024 * 1024)
            ctx.eval("var window = globalThis, self = globalThis;")
            ctx.eval(
                "var module = {exports: {}}, exports = module.exports;\n"
                + self.npm.read("acorn/dist/acorn.js")
                + "\n;var acorn = module.exports;"
            )
            ctx.eval(self._meter_js)
            self._local.context = ctx
        return ctx

    def _run_tools(self, source: str, cover: str | None = None) -> dict:
        ctx = self._context()
        call = f"compileUnit({json.dumps(source)}, {json.dumps(cover)})"
        try:
            result = json.loads(str(ctx.eval(call, COMPILE_TIMEOUT_S)))
            if result.get("needsBabel"):
                self._load_babel(ctx)
                result = json.loads(str(ctx.eval(call, COMPILE_TIMEOUT_S)))
        except ScriptThrew as exc:
            return {"error": {"message": exc.message}}
        except EngineError as exc:
            return {"error": {"message": f"compilation did not finish: {exc}"}}
        return result
