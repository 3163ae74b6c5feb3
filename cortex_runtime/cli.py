"""The ``cortex-runtime`` command.

    cortex-runtime run PATH|- [--arguments JSON] [--type runner|route|trigger|job]
                              [--lib EXPORT=PATH ...] [--stats] [--timeout-ms N] [--max-ops N]
                              [--mongodb-uri URI]
    cortex-runtime serve [--org CODE] [--deploy DIR [--watch]] [--data DIR | --ephemeral] ...
    cortex-runtime deploy DIR [--org CODE] [--data DIR | --url URL --api-key KEY --api-secret SECRET]
    cortex-runtime export DIR [--org CODE] [--data DIR | --url URL --api-key KEY --api-secret SECRET]
    cortex-runtime prepare

``run`` gives the script a fresh org on the embedded store (or ``--mongodb-uri`` /
``MONGODB_URI``), running as that org's administrator, and prints its result as JSON on stdout (with ``--stats``:
``{"result": ..., "stats": {...}}``); on a fault it prints the fault JSON and exits 1.
Console output of the script goes to stderr, one JSON line per call.
``deploy`` and ``export`` load and write export folders (mdctl's layout) on a local store or,
with ``--url``, through a running server's import and export endpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bson import ObjectId

from .config import limits_for
from .faults import Fault
from .runtime import Runtime
from .sandbox import Sandbox

RUN_TYPES = ("runner", "route", "trigger", "job")
DEFAULT_DATA_DIR = ".cortex"


def _fault_exit(fault: Fault) -> int:
    print(json.dumps(fault.to_json()))
    return 1


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


def _libraries(specs: list[str]) -> dict[str, str]:
    libraries: dict[str, str] = {}
    for spec in specs:
        export, sep, path = spec.partition("=")
        if not sep or not export or not path:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"--lib expects EXPORT=PATH, got {spec!r}")
        try:
            libraries[export] = _read(path)
        except OSError as exc:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"cannot read library {path}: {exc.strerror}") from exc
    return libraries


def _run(args: argparse.Namespace) -> int:
    try:
        try:
            source = _read(args.path)
        except OSError as exc:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"cannot read {args.path}: {exc.strerror}") from exc
        try:
            arguments: Any = json.loads(args.arguments) if args.arguments is not None else None
        except ValueError as exc:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"--arguments is not valid JSON: {exc}") from exc
        libraries = _libraries(args.lib)
    except Fault as fault:
        return _fault_exit(fault)

    limits = limits_for(args.type).with_overrides(timeout_ms=args.timeout_ms, max_ops=args.max_ops)
    try:
        runtime = Runtime(mongodb_uri=args.mongodb_uri or os.environ.get("MONGODB_URI") or None)
        org, admin = runtime.orgs.create(f"run-{ObjectId()}")
    except Fault as fault:
        return _fault_exit(fault)
    for export, library in libraries.items():
        try:  # compiled before the run, as a deployed library would be
            runtime.sandbox.compiler.compile(library, kind="library", max_size=limits.max_script_size)
        except Fault as fault:
            fault.path = fault.path or export
            return _fault_exit(fault)
    result = runtime.run(
        source, org=org, principal=admin, script_type=args.type, arguments=arguments, limits=limits, libraries=libraries
    )
    for entry in result.logs:
        print(json.dumps({"level": entry.level, "values": entry.values}, default=str), file=sys.stderr)
    if result.fault is not None:
        return _fault_exit(result.fault)
    output = result.plain()
    if args.stats:
        output = {"result": output, "stats": result.stats.to_json()}
    print(json.dumps(output))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .objects.embedded import StoreFileError

    if getattr(args, "watch", False) and not args.deploy:
        print("error: --watch needs --deploy DIR", file=sys.stderr)
        return 2
    uri = args.mongodb_uri or os.environ.get("MONGODB_URI") or None
    data_dir = None if args.ephemeral or uri else Path(args.data or DEFAULT_DATA_DIR)
    if uri and (args.data or args.ephemeral):
        print(f"note: {'--data' if args.data else '--ephemeral'} does not apply with a MongoDB server; the data stays on the server.", file=sys.stderr)
    try:
        runtime = Runtime(mongodb_uri=uri, data_dir=data_dir, engine=getattr(args, "engine", "process"))
    except Fault as fault:
        print(json.dumps(fault.to_json()), file=sys.stderr)
        return 1
    except StoreFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    runtime.debug_module = bool(getattr(args, "debug_module", False))
    if getattr(args, "smtp", None):
        runtime.smtp = _smtp_setting(args.smtp)
    runtime.callout_allow = list(getattr(args, "callout_allow", None) or [])
    runtime.file_transfer = bool(getattr(args, "file_transfer", False))
    try:
        return _serve_with(runtime, args)
    finally:
        runtime.close()


def _smtp_setting(text: str) -> dict[str, Any]:
    """``serve --smtp HOST:PORT`` (port 25 when left out): where notification email goes."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "25")
    return {"host": host or "127.0.0.1", "port": int(port)}


def _outbox(args: argparse.Namespace) -> int:
    """``outbox``: the org's undelivered notifications (require('notifications')), one JSON line each."""
    from .modules.notifications import outbox_entries
    from .objects.embedded import StoreFileError
    from .sandbox.codec import to_plain

    folder = Path(args.data or DEFAULT_DATA_DIR)
    if not folder.is_dir():
        print(f"error: no store in {folder}", file=sys.stderr)
        return 1
    try:
        runtime = Runtime(data_dir=folder)
    except StoreFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        org = runtime.orgs.get(args.org)
        if org is None:
            print(f"error: no org {args.org} in {folder}", file=sys.stderr)
            return 1
        for entry in outbox_entries(runtime.store, org._id, {"limit": 1000}):
            print(json.dumps(to_plain(entry)))
        return 0
    finally:
        runtime.close()


def _existing_app(auth: Any, org: Any, name: str) -> Any:
    """The org's app of that name from an earlier start, so its keys stay the same."""
    with_name = [app for app in auth.apps(org) if app.name == name]
    return with_name[-1] if with_name else None


def _serve_with(runtime: Runtime, args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from .objects.principals import ADMINISTRATOR
    from .server.app import create_app
    from .server.collector import settle_collector
    from .server.auth import App, Authenticator, generate_key, generate_secret

    runtime.sandbox.prepare()
    org, admin, admin_email = _org_and_admin(runtime, args.org)
    if not admin.has_role(ADMINISTRATOR):
        raise SystemExit(f"{admin_email} is not an administrator of {args.org}")
    # IPPROTO_TCP, so that asyncio sets TCP_NODELAY on accepted connections (else every
    # response waits ~40 ms for the client's delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    runtime.sandbox.env_host = f"{args.host}:{port}"
    auth = Authenticator(runtime.store, tokens=runtime.tokens, audience=lambda o: runtime.audience(o.code))
    local, public = _existing_app(auth, org, "local"), _existing_app(auth, org, "public")
    app = auth.add_app(
        org,
        App(
            name="local",
            key=os.environ.get("CORTEX_API_KEY") or (local.key if local else generate_key()),
            secret=os.environ.get("CORTEX_API_SECRET") or (local.secret if local else generate_secret()),
            principal_id=admin._id,
            principal_override=True,
        ),
    )
    public = auth.add_app(
        org,
        App(name="public", key=os.environ.get("CORTEX_PUBLIC_KEY") or (public.key if public else generate_key()), secret=None, principal_id=None),
    )
    watcher = None
    if args.deploy and getattr(args, "watch", False):
        from .server.watch import FolderWatcher

        folder = Path(args.deploy)
        watcher = FolderWatcher(folder, lambda: deploy_any(runtime, org, admin, folder), compiler=runtime.sandbox.compiler)
        watcher.deploy()  # a broken folder is reported; the server starts and waits for the fix
    elif args.deploy:
        try:
            deploy_any(runtime, org, admin, Path(args.deploy))
        except Fault as fault:
            print(json.dumps(fault.to_json()), file=sys.stderr)
            return 1
    stop = threading.Event()
    threading.Thread(target=runtime.scheduler().run_forever, args=(stop,), name="scheduler", daemon=True).start()
    runtime.drain_events = False
    threading.Thread(target=_process_events, args=(runtime, stop), name="events", daemon=True).start()
    sock.listen(128)
    print(
        json.dumps(
            {
                "url": f"http://{args.host}:{port}/{org.code}/v2",
                "org": org.code,
                "apiKey": app.key,
                "apiSecret": app.secret,
                "adminEmail": admin_email,
                "publicKey": public.key,
            }
        ),
        flush=True,
    )
    config = uvicorn.Config(create_app(runtime, auth), log_level="warning", lifespan="off")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the
    # handler it found; make that handler a clean exit, so the caller closes the store.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    if watcher is not None:
        watcher.start()
    settle_collector()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except SystemExit:
        pass
    finally:
        stop.set()
        if watcher is not None:
            watcher.stop()
    return 0


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _process_events(runtime: Runtime, stop: threading.Event) -> None:
    """The server's after-trigger worker: claims queued events until stopped."""
    while not stop.is_set():
        try:
            ran = runtime.process_events(100)
        except Fault:
            ran = 0
        if not ran:
            stop.wait(0.2)


def deploy_any(runtime: Runtime, org: Any, admin: Any, directory: Path) -> None:
    """``serve --deploy DIR``: an export folder (mdctl's layout) or a ``deploy.json`` folder."""
    from .environment.folders import deploy_folder, is_export_folder

    if (directory / "deploy.json").is_file() or not is_export_folder(directory):
        deploy_directory(runtime, org, admin, directory)
        return
    report = deploy_folder(runtime, org, admin, directory)
    if report.fault is not None:
        raise report.fault


def deploy_directory(runtime: Runtime, org: Any, admin: Any, directory: Path) -> list[str]:
    """Deploy the scripts listed in ``<directory>/deploy.json`` (file, label, name, type,
    configuration), creating or updating each by name. Returns the names."""
    manifest = directory / "deploy.json"
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"cannot read {manifest}: {exc}") from exc
    layer = runtime.layer(org, admin)
    names = []
    for entry in entries:
        source = (directory / entry["file"]).read_text(encoding="utf-8")
        body = {k: v for k, v in entry.items() if k != "file"} | {"script": source}
        existing = next(layer.iterate("script", {"where": {"name": entry["name"]}, "limit": 1}), None)
        if existing is None:
            layer.insert_one("script", body, {})
        else:  # a script's type is set when it is created; everything else is updated in place
            if existing.get("type") != body.get("type"):
                raise Fault(
                    "cortex.invalidArgument.unspecified",
                    reason=f"{entry['name']} exists as a {existing.get('type')} script; delete it to deploy it as a {body.get('type')}.",
                    path="type",
                )
            layer.update_one("script", {"_id": existing["_id"]}, {"$set": {k: v for k, v in body.items() if k != "type"}}, {})
        names.append(entry["name"])
    return names


def _local_org(args: argparse.Namespace) -> tuple[Runtime, Any, Any]:
    """The runtime, org and administrator of a local store (``--data``, default ``.cortex/``)."""
    uri = args.mongodb_uri or os.environ.get("MONGODB_URI") or None
    runtime = Runtime(mongodb_uri=uri, data_dir=None if uri else Path(args.data or DEFAULT_DATA_DIR))
    org, admin, _ = _org_and_admin(runtime, args.org)
    return runtime, org, admin


def _org_and_admin(runtime: Runtime, code: str) -> tuple[Any, Any, str]:
    """The org ``code`` (created when missing, with ``CORTEX_ADMIN_EMAIL`` as its administrator),
    that administrator's principal and email."""
    admin_email = os.environ.get("CORTEX_ADMIN_EMAIL") or "admin@example.com"
    org = runtime.orgs.get(code)
    if org is None:
        org, admin = runtime.orgs.create(code, admin_email=admin_email)
    else:
        admin = runtime.orgs.principal(org, admin_email)
    return org, admin, admin_email


def _remote(args: argparse.Namespace) -> Any:
    from .environment.folders import Remote

    if not (args.api_key and args.api_secret):
        raise Fault("cortex.invalidArgument.unspecified", reason="--url needs --api-key and --api-secret (a signing app of the org).")
    return Remote(f"{args.url.rstrip('/')}/{args.org}/v2" if "/v2" not in args.url else args.url, args.api_key, args.api_secret)


def _on_org(args: argparse.Namespace, remote: Callable[[Any], Any], local: Callable[[Runtime, Any, Any], Any]) -> Any:
    """``remote(Remote)`` with ``--url``, else ``local(runtime, org, admin)`` on the local store."""
    if args.url:
        return remote(_remote(args))
    runtime, org, admin = _local_org(args)
    try:
        return local(runtime, org, admin)
    finally:
        runtime.close()


def _deploy(args: argparse.Namespace) -> int:
    """``deploy DIR``: import an export folder, printing the import's lines; exit 1 on a fault."""
    from .environment.folders import deploy_folder, fault_of
    from .objects.embedded import StoreFileError

    folder = Path(args.dir)

    def local(runtime: Runtime, org: Any, admin: Any) -> list[Any]:
        report = deploy_folder(runtime, org, admin, folder)
        return report.lines + ([report.fault.to_json()] if report.fault is not None else [])

    try:
        lines = _on_org(args, lambda remote: remote.deploy(folder), local)
    except Fault as fault:
        return _fault_exit(fault)
    except StoreFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(json.dumps(line, default=str))
    return 1 if fault_of(lines) is not None else 0


def _export(args: argparse.Namespace) -> int:
    """``export DIR``: write the org's environment in mdctl's layout."""
    from .environment.folders import export_folder
    from .objects.embedded import StoreFileError

    folder = Path(args.dir)
    try:
        written = _on_org(args, lambda remote: remote.export(folder), lambda rt, org, admin: export_folder(rt, org, admin, folder))
    except Fault as fault:
        return _fault_exit(fault)
    except StoreFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"written": len(written), "dir": str(args.dir)}))
    return 0


def _prepare(args: argparse.Namespace) -> int:
    names = Sandbox().prepare()
    print(json.dumps({"compiled": names}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cortex-runtime", description="Run Cortex-style server-side scripts.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one script and print its result as JSON")
    run.add_argument("path", help="script file, or - for standard input")
    run.add_argument("--arguments", help="JSON value given to the script as script.arguments")
    run.add_argument("--type", choices=RUN_TYPES, default="runner", help="script type (sets the default limits)")
    run.add_argument("--lib", action="append", default=[], metavar="EXPORT=PATH", help="a library importable by its export name")
    run.add_argument("--stats", action="store_true", help="print {result, stats}")
    run.add_argument("--timeout-ms", type=int, help="override the type's time limit")
    run.add_argument("--max-ops", type=int, help="override the ops limit")
    run.add_argument("--mongodb-uri", help="a MongoDB server (default: MONGODB_URI, else the embedded store)")
    run.set_defaults(handler=_run)

    serve = commands.add_parser("serve", help="start the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--org", default="example", help="the org to serve (created when missing)")
    serve.add_argument("--mongodb-uri", help="a MongoDB server (default: MONGODB_URI, else the embedded store)")
    serve.add_argument("--deploy", metavar="DIR", help="deploy an export folder (mdctl's layout), or the scripts listed in DIR/deploy.json (updating them by name)")
    kept = serve.add_mutually_exclusive_group()
    kept.add_argument("--data", metavar="DIR", help=f"keep the embedded store in DIR (default: {DEFAULT_DATA_DIR}/ in the working directory)")
    kept.add_argument("--ephemeral", action="store_true", help="keep the embedded store in memory only")
    serve.add_argument(
        "--engine",
        choices=("process", "inline"),
        default="process",
        help="where scripts run: an engine process per serving thread, which builds the next context on another core (default), or inline in the server",
    )
    serve.add_argument("--watch", action="store_true", help="with --deploy: redeploy DIR when a file in it changes (faults print as file:line:column; the last good version keeps serving)")
    serve.add_argument("--debug-module", action="store_true", help="make require('debug') available to scripts (echo, sleep, log, fault; for tests and development)")
    serve.add_argument("--callout-allow", action="append", default=[], metavar="HOST[:PORT]", help="let require('http') call this host (loopback and private addresses included; repeatable)")
    serve.add_argument("--file-transfer", action="store_true", help="make require('sftp') and require('ftp') available to every org's scripts (off by default)")
    serve.add_argument("--smtp", metavar="HOST:PORT", help="send notification email to this SMTP server (otherwise it stays in the outbox)")
    serve.set_defaults(handler=_serve)

    outbox = commands.add_parser("outbox", help="print an org's undelivered notifications (email, sms, push), one JSON line each")
    outbox.add_argument("--org", default="example", help="the org")
    outbox.add_argument("--data", metavar="DIR", help=f"the embedded store's folder (default: {DEFAULT_DATA_DIR}/)")
    outbox.set_defaults(handler=_outbox)

    for name, handler, text in (
        ("deploy", _deploy, "import an export folder (mdctl env export layout) into an org"),
        ("export", _export, "write an org's environment as an export folder (mdctl's layout)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("dir", help="the export folder (the one holding env/ and manifest.json)")
        command.add_argument("--org", default="example", help="the org (created locally when missing)")
        command.add_argument("--data", metavar="DIR", help=f"the embedded store's folder (default: {DEFAULT_DATA_DIR}/)")
        command.add_argument("--mongodb-uri", help="a MongoDB server instead of the embedded store")
        command.add_argument("--url", help="a running server (http://host:port); then --api-key and --api-secret")
        command.add_argument("--api-key", help="a signing app's key, with --url")
        command.add_argument("--api-secret", help="that app's secret, with --url")
        command.set_defaults(handler=handler)

    from .testing.command import add_test_command

    add_test_command(commands)

    prepare = commands.add_parser("prepare", help="compile the built-in modules and npm libraries into the cache")
    prepare.set_defaults(handler=_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
