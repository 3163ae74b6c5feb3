"""Importing an environment of 400 scripts: into a fresh server over HTTP, and where the time goes.

It writes an export folder (mdctl's layout) with 400 scripts in the proportions of a real
export (library 56%, route 22%, trigger 20%, job 2%; a quarter of the libraries decorated with
@route/@trigger/@job, sources of 1 to 6 KB) and 4 objects, then:

1. over HTTP: starts ``cortex-runtime serve --ephemeral`` with an empty compile cache, POSTs
   the folder's import stream (signed NDJSON, as mdctl sends it) and times the import; then a
   second fresh server sharing that compile cache imports the same folder (nothing to compile);
2. in process, with cProfile: the same two imports into fresh runtimes, printing the compile
   cache's misses and hits and the cumulative time of the main parts (check, compile, writes,
   deploy hooks).

It prints times and their ratio; it asserts nothing about times. Exit 1 if an import fails.

    .venv/bin/python bench/bench_import.py            # ~1 min
    .venv/bin/python bench/bench_import.py --scripts 100
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import ServerProcess, cortex_command  # noqa: E402

LIBRARY = """// {name}: helpers
const {{ pad }} = {{ pad: (s, n) => String(s).padStart(n, '0') }}
module.exports = {{
  id: '{name}',
  stamp(n) {{ return '{name}-' + pad(n, 6) }},
{filler}
}}
"""
DECORATED = """import {{ route, trigger, job, log }} from 'decorators'
const {{ stamp }} = require('c_bench_lib_0')

class {cls} {{
  @log
  @route('GET bench/{name}', {{ name: '{name}_get', acl: ['account.public'] }})
  static get({{ req }}) {{ return {{ ok: true, who: req.query.who || null, at: stamp(1) }} }}

  @trigger('create.before', {{ object: 'c_bench_item', name: '{name}_before', weight: 1 }})
  static before({{ new: pending }}) {{ pending.update('c_s', '{name}') }}

  @job('{minute} 3 * * *', {{ name: '{name}_nightly' }})
  static nightly() {{ return org.objects.c_bench_items.count() }}
{filler}
}}
module.exports = {cls}
"""
ROUTE = "const req = require('request')\nconst lib = require('c_bench_lib_0')\n{filler}\nreturn { route: '{name}', at: lib.stamp(req.query.n || 0) }\n"
TRIGGER = "const lib = require('c_bench_lib_0')\n{filler}\nscript.arguments.new.update('c_s', lib.stamp(1))\n"
JOB = "{filler}\norg.objects.c_bench_items.insertOne({ c_n: 1 }).execute()\n"


def _filler(index: int, size: int, form: str) -> str:
    """About ``size`` characters of code: ``function`` declarations, ``object`` members or ``static`` class members."""
    out, n = [], 0
    while sum(len(line) for line in out) < size:
        comment = f"// step {index}.{n}: keeps the source near a real script's size\n"
        body = f"(x) {{ return x * {n + 1} + {index} }}"
        out.append(comment + {"function": f"function f{n}{body}\n", "object": f"  f{n}{body},\n", "static": f"  static f{n}{body}\n"}[form])
        n += 1
    return "".join(out)


def _object(name: str) -> dict:
    return {
        "object": "object", "name": name, "label": name, "defaultAcl": ["owner.delete", "role.administrator.read"], "createAcl": ["account.public"],
        "properties": [{"name": "c_n", "label": "N", "type": "Number", "indexed": True}, {"name": "c_s", "label": "S", "type": "String", "acl": ["role.administrator.update"]}],
    }


def write_folder(root: Path, count: int) -> None:
    env = root / "env"
    (env / "scripts" / "js").mkdir(parents=True)
    (env / "objects").mkdir()
    (root / "manifest.json").write_text(json.dumps({"object": "manifest", "includes": ["*"]}))
    (env / "env.json").write_text(json.dumps({"object": "env", "name": "bench"}))
    for name in ("c_bench_item", "c_bench_note", "c_bench_tag", "c_bench_log"):
        (env / "objects" / f"{name}.json").write_text(json.dumps(_object(name), indent=2))
    kinds = ["library"] * 56 + ["route"] * 22 + ["trigger"] * 20 + ["job"] * 2
    for i in range(count):
        kind = kinds[i * len(kinds) // count] if i else "library"
        name = f"c_bench_{kind[:3]}_{i}" if i else "c_bench_lib_0"
        size = 1000 + (i * 977) % 5000
        configuration: dict
        if kind == "library":
            decorated = i % 4 == 1
            template = DECORATED if decorated else LIBRARY
            source = template.format(name=name, cls=f"Bench{i}", minute=i % 60, filler=_filler(i, size, "static" if decorated else "object"))
            configuration = {"export": name}
        elif kind == "route":
            source = ROUTE.replace("{name}", name).replace("{filler}", _filler(i, size, "function"))
            configuration = {"method": "get", "path": f"bench/r{i}", "acl": ["account.public"], "apiKey": None, "priority": 0, "urlEncoded": False, "plainText": False}
        elif kind == "trigger":
            source = TRIGGER.replace("{filler}", _filler(i, size, "function"))
            configuration = {"object": "c_bench_item", "event": "create.before" if i % 2 else "update.before", "inline": False, "paths": []}
        else:
            source = JOB.replace("{filler}", _filler(i, size, "function"))
            configuration = {"cron": f"{i % 60} 4 * * *"}
        js = f"{kind}.{name}.js"
        (env / "scripts" / "js" / js).write_text(source)
        doc = {"object": "script", "name": name, "label": name, "type": kind, "active": True, "language": "javascript/es6", "optimized": False,
               "principal": None, "environment": "*", "weight": 0, "configuration": configuration, "script": f"/env/scripts/js/{js}"}
        (env / "scripts" / f"{name}.json").write_text(json.dumps(doc, indent=2))


def _http_import(folder: Path, cache_dir: Path) -> float:
    from cortex_runtime.environment.folders import Remote, fault_of

    os.environ["CORTEX_CACHE_DIR"] = str(cache_dir)
    command = [*cortex_command(), "serve", "--host", "127.0.0.1", "--port", "0", "--org", "bench", "--ephemeral"]
    with ServerProcess("cortex-runtime", command) as server:
        ready = server.start()
        remote = Remote(ready["url"], ready["apiKey"], ready["apiSecret"])
        began = time.perf_counter()
        lines = remote.deploy(folder)
        took = time.perf_counter() - began
    fault = fault_of(lines)
    if fault is not None or not any(line.get("stage") == "complete" for line in lines if isinstance(line, dict)):
        raise SystemExit(f"import failed: {json.dumps(fault)[:2000]}")
    return took


_PARTS = (
    ("checks (all kinds)", "importer.py", "_check"),
    ("writes (all kinds)", "importer.py", "_apply"),
    ("compile (Compiler.compile)", "compiler.py", "compile"),
    ("decorators parsed", "compiler.py", "decorators"),
    ("deploy hook (ScriptDeployer.before)", "deployment.py", "before"),
    ("job schedules (ScriptDeployer.after)", "deployment.py", "after"),
    ("store writes (insert_one)", "collection.py", "insert_one"),
    ("reading the folder", "folders.py", "folder_documents"),
)


def _in_process(folder: Path, cache_dir: Path) -> list[tuple[str, float, int, int]]:
    from cortex_runtime.environment.folders import deploy_folder
    from cortex_runtime.runtime import Runtime

    os.environ["CORTEX_CACHE_DIR"] = str(cache_dir)
    out = []
    for label in ("first (empty cache)", "second (cache warm)"):
        runtime = Runtime()
        org, admin = runtime.orgs.create("bench")
        cache = runtime.sandbox.compiler.cache
        misses, hits = cache.misses, cache.hits
        profile = cProfile.Profile()
        began = time.perf_counter()
        profile.enable()
        report = deploy_folder(runtime, org, admin, folder)
        profile.disable()
        took = time.perf_counter() - began
        if not report.ok:
            raise SystemExit(f"import failed: {json.dumps(report.fault.to_json())[:2000]}")
        out.append((label, took, cache.misses - misses, cache.hits - hits))
        stats = pstats.Stats(profile)
        print(f"  {label}: {took:.2f} s in process (under cProfile), {len(report.imported)} resources; compile cache misses {cache.misses - misses}, hits {cache.hits - hits}")
        for part, filename, function in _PARTS:
            cumulative = sum(ct for (f, _, fn), (_, _, _, ct, _) in stats.stats.items() if f.endswith(filename) and fn == function)  # type: ignore[attr-defined]
            print(f"    {part:<40} {cumulative:7.2f} s  {100 * cumulative / took:5.1f}%")
        runtime.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scripts", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        write_folder(folder, args.scripts)
        total = sum(p.stat().st_size for p in folder.rglob("*.js"))
        print(f"import of {args.scripts} scripts ({total / 1e6:.2f} MB of JS) and 4 objects")
        print("over HTTP (serve --ephemeral, signed NDJSON POST):")
        http_cache = Path(tmp) / "cache-http"
        first = _http_import(folder, http_cache)
        second = _http_import(folder, http_cache)
        print(f"  fresh server, empty compile cache: {first:.2f} s")
        print(f"  fresh server, compile cache warm:  {second:.2f} s   ({second / first:.2f}x of the first)")
        print("in process, where the time goes (cumulative, parts overlap):")
        _in_process(folder, Path(tmp) / "cache-inproc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
