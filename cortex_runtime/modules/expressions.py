"""``require('expressions')`` (spec expressions.md §7.1): run expressions and pipelines on the host.

``run``/``pipeline.run`` throw faults into the script; ``evaluate``/``pipeline.evaluate``
return ``{err, result}`` for evaluation faults but still throw parse faults, as the
platform compiles before its guard. Results leave as JSON-safe values: undefined keys are
dropped, undefined array items and NaN/Infinity become null. ``pipeline.run`` returns an
array here, not a lazy script cursor. Operators that read the database, the org cache and
config, and named expressions (``runtime.*``) run as the script's caller (``ExpressionHost``);
``$$REQUEST`` and ``$$BODY`` are the request the script serves, ``$$SCRIPT`` the script itself
(``script_value``). ``cursor_pipeline`` runs a script cursor's ``expressionPipeline`` (called by
the objects module).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ..expressions import MISSING, Pipeline, parse
from ..expressions.operators.database import ExpressionHost, is_custom_name, named_value
from ..expressions.values import to_output
from ..faults import Fault
from ..objects.instances import DEFAULT_MAX_TIME_MS, MAX_TIME_MS, MIN_TIME_MS
from ..sandbox import RunInfo

__all__ = ["ExpressionsModule", "attach_run", "cursor_pipeline", "script_value", "to_output"]

VERSION = "1.0.0"


def _arg(args: list[Any], i: int) -> Any:
    return args[i] if len(args) > i else MISSING


def _input(args: list[Any]) -> Any:
    value = _arg(args, 1)
    return MISSING if value is None and len(args) < 2 else value


def _host(runtime: Any, run: RunInfo) -> ExpressionHost | None:
    """The script's caller for database, cache, config and named-expression operators: its org
    and its current object layer (``script.as`` changes it; safe mode drops privileged options)."""
    context = run.context
    state = getattr(context, "objects", None)
    if context is None or state is None:
        return None
    org = context.org
    host = ExpressionHost(runtime, org._id, org.code, lambda: state.layer, safe=lambda: bool(getattr(state, "safe", False)))
    attach_run(host, run)
    return host


def attach_run(host: ExpressionHost, run: RunInfo) -> None:
    """What ``$$REQUEST``, ``$$BODY``, ``$i18n`` and ``$sleep`` read of the running script: its
    request (a route's body as its handlers left it), its locale and its deadline."""
    request = getattr(run, "request", None)
    host.request = request if isinstance(request, dict) else None  # type: ignore[attr-defined]
    route = getattr(run.context, "route", None)
    if isinstance(route, dict) and "body" in route:
        host.body = route["body"]  # type: ignore[attr-defined]
    elif host.request is not None:  # type: ignore[attr-defined]
        host.body = host.request.get("body", MISSING)  # type: ignore[attr-defined]
    else:
        host.body = MISSING  # type: ignore[attr-defined]
    host.deadline = run.deadline  # type: ignore[attr-defined]
    locale = (host.request or {}).get("locale")  # type: ignore[attr-defined]
    if isinstance(locale, str) and locale:
        host.locale = locale  # type: ignore[attr-defined]
    cell: list[dict[str, Any]] = []

    def script() -> dict[str, Any]:  # built when an expression first reads $$SCRIPT
        if not cell:
            cell.append(script_value(run, host.store))
        return cell[0]

    host.script = script  # type: ignore[attr-defined]


def script_value(run: RunInfo, store: Any = None) -> dict[str, Any]:
    """``$$SCRIPT`` of the running script, as the platform's environment script: ``{_id, depth,
    type, label, principal, org: {_id, code, object}, arguments, config: {query}, env}``.

    Taken from the run's configuration (what the ``script`` global is made from), so it shows the
    arguments the script started with. ``env`` is the org's ``@env`` entries (with ``store``)
    under the built-in keys, which win on a clash. ``_id`` is absent for a script that is not
    stored; ``access`` is absent, as the ``script`` global has none here."""
    config = run.config() if run.config is not None else {}
    env: dict[str, Any] = {}
    if store is not None:
        from ..org_runtime import org_runtime

        for entry in org_runtime(store, run.org._id).get("envs") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                env.setdefault(entry["name"], copy.deepcopy(entry.get("value", MISSING)))  # the first one, as $env reads
    env.update(copy.deepcopy(config.get("env") or {}))
    value: dict[str, Any] = {
        "_id": config.get("scriptId") if config.get("scriptId") is not None else run.script_id,
        "depth": config.get("depth", getattr(run.context, "depth", 1)),
        "type": run.script_type,
        "label": config.get("label", ""),
        "principal": copy.deepcopy(config.get("principal")),
        "org": {"_id": run.org._id, "code": run.org.code, "object": "org"},
        "arguments": copy.deepcopy(config.get("arguments", {})),
        "config": {"query": {"defaultMaxTimeMS": DEFAULT_MAX_TIME_MS, "minTimeMS": MIN_TIME_MS, "maxTimeMS": MAX_TIME_MS}},
        "env": env,
    }
    if value["_id"] is None:
        del value["_id"]
    return value


def cursor_pipeline(state: Any, options: dict[str, Any], documents: Iterator[Any], run: RunInfo | None = None) -> Iterator[Any]:
    """A script cursor's ``expressionPipeline`` (§7.2): the ACL-read documents piped through the
    stages (or the named pipeline ``c_name``), as the cursor's principal; without the option
    the documents as they are."""
    stages = options.get("expressionPipeline")
    if stages is None:
        return documents
    layer = state.layer
    org_id = layer.org_id

    def org_code() -> str:
        doc = layer.store.orgs.find_one({"_id": org_id}, {"code": 1}) or {}
        return str(doc.get("code") or "")

    host = ExpressionHost(None, org_id, org_code, lambda: state.layer, safe=lambda: bool(getattr(state, "safe", False)))
    if run is not None:
        attach_run(host, run)
    if is_custom_name(stages):
        pipeline = named_value(host, "pipeline", stages)
    elif isinstance(stages, list):
        pipeline = Pipeline(stages, path="expressionPipeline")
    else:
        raise Fault("cortex.invalidArgument.unspecified", reason="expressionPipeline must be an array of stages or a pipeline name.", path="expressionPipeline")
    return _json_items(pipeline.run(documents, host=host))


def _json_items(items: Iterator[Any]) -> Iterator[Any]:
    for item in items:
        yield to_output(item)


class ExpressionsModule:
    require_name = "expressions"
    prefix = "expressions."
    needs_context = False
    needs_runtime = True
    methods = (
        "run", "evaluate", "parse", "version", "pipeline.run", "pipeline.evaluate", "pipeline.parse",
        "runtime.run", "runtime.evaluate", "runtime.pipeline.run", "runtime.pipeline.evaluate",
    )

    def __init__(self, runtime: Any = None) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        try:
            return self._call(run, name, args)
        except RecursionError as exc:  # defensive: the depth limits should make this unreachable
            raise Fault("cortex.invalidArgument.tooLarge", reason="Expression too deep to evaluate.") from exc

    def _call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        command = name[len(self.prefix) :]
        if command == "version":
            return VERSION
        host = _host(self._runtime, run)
        # Without an org there is no host to carry $$SCRIPT: it is given as a variable.
        variables = None if host is not None else {"$$SCRIPT": script_value(run)}
        named = command.startswith("runtime.")
        if named:
            command = command[len("runtime.") :]
        if command in ("run", "evaluate", "parse"):
            first = _arg(args, 0)
            if named and is_custom_name(first):
                expression = named_value(host, "expression", first)  # lookup faults are thrown by both
            else:
                expression = parse(first)  # parse faults are thrown for all three
            if command == "parse":
                return {"object": "expression", "path": expression.node.path, "type": type(expression.node).__name__}
            root = _input(args)
            if command == "run":
                return to_output(expression.evaluate(root, variables, host=host))
            try:
                return {"err": None, "result": to_output(expression.evaluate(root, variables, host=host))}
            except Fault as fault:
                return {"err": fault.to_json(), "result": None}
        if command in ("pipeline.run", "pipeline.evaluate", "pipeline.parse"):
            first = _arg(args, 0)
            pipeline = named_value(host, "pipeline", first) if named and is_custom_name(first) else Pipeline(first)
            if command == "pipeline.parse":
                return {"object": "pipeline", "stages": [stage.path for stage in pipeline.stages]}
            source = _input(args)
            if command == "pipeline.run":
                return to_output(list(pipeline.run(source, variables, host=host)))
            try:
                out = list(pipeline.run(source, variables, host=host))
                return {"err": None, "result": to_output(out[-1] if out else MISSING)}
            except Fault as fault:
                return {"err": fault.to_json(), "result": None}
        raise Fault("script.invalidArgument.unknownCommand", path=name)
