"""The org runtime (decorators-expressions.md §1.1-§1.2, §3): what routes, triggers, jobs,
objects, libraries and named expressions and pipelines an org runs, from saved scripts and from
static decorators in libraries.

``decorated_entries`` turns the decorators the compiler found in a library into runtime
entries (stored on the library's script document when it is deployed). ``org_runtime``
lists everything as ``org.read('runtime')`` shows it, with override by name: an entry
replaces one of the same type and name only with a strictly higher weight.
``dispatch_source`` is the small script that runs a decorated handler.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from .faults import Fault
from .objects.acl_notation import BuiltinResolver, PrincipalResolver, parse_acl
from .objects.store import Store, map_store_errors

__all__ = ["KINDS", "decorated_entries", "dispatch_source", "org_runtime", "override_by_name"]

KINDS = ("route", "trigger", "job", "object", "on", "transform", "expression", "pipeline")
_LISTS = {
    "route": "routes", "trigger": "triggers", "job": "jobs", "object": "objects", "on": "events", "transform": "transforms", "library": "libraries",
    "expression": "expressions", "pipeline": "pipelines",
}


def _options(args: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Leading non-object arguments, then the options object (``makeOptions``)."""
    leading, options = [], {}
    for arg in args:
        if isinstance(arg, dict):
            options = arg
            break
        leading.append(arg)
    return leading, options


def _acl(value: Any, resolver: PrincipalResolver | None, path: str) -> list[dict[str, Any]]:
    """A route ACL (``role.administrator``, ``account.public``, ``role.c_staff``, objects):
    create-type, so levels are dropped and allow is 1; at most 50 entries (environments.md §1.5)."""
    return parse_acl(value, "create", resolver or BuiltinResolver(), path=path, max_entries=50)


def decorated_entries(script: Mapping[str, Any], decorators: list[dict[str, Any]], *, resolver: PrincipalResolver | None = None) -> list[dict[str, Any]]:
    """Runtime entries of a library's static decorators; bad arguments are deploy faults.
    ``resolver`` resolves role codes and principals in ``@route`` ACLs (built-ins only without)."""
    export = (script.get("configuration") or {}).get("export")
    bound: dict[str, str] = {}
    for found in decorators:
        if found.get("decorator") == "object" and found.get("target") == "class":
            leading, _ = _options(found.get("args") or [])
            if leading and isinstance(leading[0], str):
                bound[found["className"]] = leading[0].lower()
    entries = []
    for found in decorators:
        kind = found.get("decorator")
        if kind not in KINDS:
            continue
        leading, options = _options(found.get("args") or [])
        if options.get("active") is False:
            continue
        metadata = {
            "resource": f"script#type(library).name({script.get('name')}).@{kind} {found['line']}:{found['column']}",
            "className": found.get("className"),
            "methodName": found.get("methodName"),
            "static": bool(found.get("static")),
            "loc": {"line": found["line"], "column": found["column"]},
            "scriptExport": export,
            "scriptId": script.get("_id"),
            "runtime": True,
        }
        base = {
            "type": kind,
            "label": options.get("label"),
            "active": True,
            "environment": options.get("environment", "*"),
            "weight": float(options.get("weight") or 0),
            "principal": options.get("principal"),
            "metadata": metadata,
        }
        default_name = f"{found.get('className')}.{found.get('methodName') or 'class'}"
        if kind == "route":
            method, path = options.get("method"), options.get("path")
            if leading and isinstance(leading[0], str):
                method, _, path = leading[0].strip().partition(" ")
            configuration = {
                "method": str(method or "get").lower(),
                "path": str(path or "").strip().lstrip("/"),
                "priority": int(options.get("priority") or 0),
                "acl": _acl(options.get("acl"), resolver, f"{metadata['resource']}.acl"),
                "authValidation": options.get("authValidation", "legacy"),
                "urlEncoded": bool(options.get("urlEncoded")),
                "plainText": bool(options.get("plainText")),
            }
            entries.append({**base, "name": options.get("name") or default_name, "configuration": configuration})
        elif kind == "trigger":
            events = [e for e in leading if isinstance(e, str)] or ([options["event"]] if isinstance(options.get("event"), str) else [])
            target = str(options.get("object") or bound.get(found.get("className") or "") or "").lower()
            if not events or not target:
                raise Fault("cortex.invalidArgument.unspecified", reason=f"@trigger needs an event and an object ({metadata['resource']}).", path="script.script")
            for event in events:
                configuration = {"object": target, "event": event, "inline": bool(options.get("inline")), "paths": options.get("paths") or []}
                entries.append({**base, "name": options.get("name") or f"{default_name}.{event}", "configuration": configuration})
        elif kind == "job":
            cron = options.get("cron")
            if leading and isinstance(leading[0], str):
                cron = leading[0]
            if len(leading) > 1 and isinstance(leading[1], str):
                base["principal"] = leading[1]
            if not isinstance(cron, str):
                raise Fault("cortex.invalidArgument.unspecified", reason=f"@job needs a cron expression ({metadata['resource']}).", path="script.script")
            entries.append({**base, "name": options.get("name") or default_name, "configuration": {"cron": cron}})
        elif kind == "object":
            if found.get("target") != "class" or not leading or not isinstance(leading[0], str):
                continue
            entries.append({**base, "name": leading[0].lower(), "configuration": {}})
        elif kind == "on":
            event = leading[0] if leading and isinstance(leading[0], str) else options.get("event")
            entries.append({**base, "name": options.get("name") or default_name, "configuration": {"event": event}})
        elif kind in ("expression", "pipeline"):
            entries.append(_named_entry(kind, found, leading, options, base))
        elif kind == "transform":
            # A transform is a class (before/each/after) named for the cursors that use it.
            name = leading[0] if leading and isinstance(leading[0], str) else options.get("name") or found.get("className")
            entries.append({**base, "name": name, "configuration": {}})
    return entries


def _named_entry(kind: str, found: Mapping[str, Any], leading: list[Any], options: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``@expression`` / ``@pipeline`` on a class property (expressions.md §7.4): bare (the
    property's name), ``('c_name', options)`` or ``(options)``. The value is the property's
    JSON literal, parsed now, so an invalid expression fails the save."""
    resource = base["metadata"]["resource"]
    if found.get("target") != "property":
        raise Fault("cortex.invalidArgument.unspecified", reason=f"@{kind} decorates a class property ({resource}).", path="script.script")
    if "value" not in found:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"@{kind} needs a JSON literal value ({resource}).", path="script.script")
    name = leading[0] if leading and isinstance(leading[0], str) else options.get("name") or found.get("methodName")
    value = found["value"]
    from .expressions.operators.database import compiled

    compiled(kind, value)
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return {**base, "name": name, "label": options.get("label") or name, "value": value, "objectHash": digest, "configuration": {}}


def override_by_name(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per type and name the first entry stays unless a later one weighs strictly more."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    order: list[tuple[str, str]] = []
    for entry in entries:
        key = (str(entry.get("type")), str(entry.get("name")))
        if key not in chosen:
            chosen[key] = entry
            order.append(key)
        elif float(entry.get("weight") or 0) > float(chosen[key].get("weight") or 0):
            chosen[key] = entry
    return [chosen[key] for key in order]


def _saved_entry(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": doc.get("name"),
        "label": doc.get("label"),
        "type": "library" if doc.get("type") == "library" else doc.get("type"),
        "active": bool(doc.get("active", True)),
        "environment": "*",
        "weight": float(doc.get("weight") or 0),
        "principal": doc.get("principal"),
        "configuration": dict(doc.get("configuration") or {}),
        "metadata": {
            "resource": f"script#type({doc.get('type')}).name({doc.get('name')})",
            "scriptId": doc.get("_id"),
            "scriptExport": (doc.get("configuration") or {}).get("export"),
            "runtime": False,
        },
        "script": doc.get("script"),
    }


def org_runtime(store: Store, org_id: ObjectId) -> dict[str, list[dict[str, Any]]]:
    """Everything the org runs, by kind, as ``org.read('runtime')`` lists it."""
    with map_store_errors():
        docs = list(store.contexts.find({"org": org_id, "object": "script", "active": True}).sort("_id", 1))
    entries: list[dict[str, Any]] = []
    for doc in docs:
        entries.append(_saved_entry(doc))
        entries.extend(doc.get("runtime") or [])
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in ("routes", "triggers", "jobs", "objects", "libraries", "events", "transforms", "policies", "expressions", "pipelines", "envs")}
    for entry in override_by_name(entries):
        result[_LISTS.get(str(entry.get("type")), "libraries")].append(entry)
    result["triggers"].sort(key=lambda e: -float(e.get("weight") or 0))
    result["routes"].sort(key=lambda e: (-int((e.get("configuration") or {}).get("priority") or 0), -float(e.get("weight") or 0)))
    return result


# Decorated trigger handlers get ``memo`` and ``body`` as path accessors (decorators-expressions.md
# §3.2): ``memo()`` / ``memo('a.b')`` / ``memo('a.b', v)`` over the operation's shared memo, and
# ``body()`` / ``body('c_x')`` / ``body('c_x', v)`` over the pending write (``new``), a write
# being ``new.update(path, v)``. Prototype names read back null and are not written.
_TRIGGER_ACCESSORS = """
const unsafe = function (part) { return part === '__proto__' || part === 'constructor' || part === 'prototype' };
const accessor = function (read, write) {
  return function (path, value) {
    let current = read();
    if (arguments.length === 0) return current;
    const parts = String(path).split('.');
    if (arguments.length > 1) return parts.some(unsafe) ? undefined : write(String(path), parts, value);
    for (const part of parts) {
      if (unsafe(part)) return null;
      if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) return undefined;
      current = current[part];
    }
    return current;
  };
};
const args = script.arguments || {};
const memo = accessor(function () { return args.memo }, function (path, parts, value) {
  let target = args.memo;
  for (const part of parts.slice(0, -1)) {
    if (target[part] === null || typeof target[part] !== 'object') target[part] = {};
    target = target[part];
  }
  target[parts[parts.length - 1]] = value;
});
const body = accessor(function () { return args.new }, function (path, parts, value) {
  if (!args.new || typeof args.new.update !== 'function') throw Fault.create('cortex.accessDenied.unspecified', { reason: 'Only before-triggers of creates and updates can change the write.' });
  args.new.update(path, value);
});
"""


def dispatch_source(entry: Mapping[str, Any]) -> str:
    """The script that loads a decorated entry's library and calls its handler with the
    argument its type gets (scripting-core.md §2.5, decorators-expressions.md §3.1-§3.2):
    routes ``{req, res, body, next, runtime}`` (``body`` is ``req.body``, the body accessor of a
    decorated route), triggers ``{context, old, previous, new, current, modified, dryRun, params,
    inline, event, body, memo, runtime}``, jobs ``{context, runtime}``."""
    metadata = entry.get("metadata") or {}
    signature = f"{metadata.get('className')}.{metadata.get('methodName')}"
    runtime = {k: v for k, v in entry.items() if k not in ("script",)}
    kind = str(entry.get("type"))
    argument = {
        "route": "{req: require('request'), res: require('response'), body: require('request').body, next: require('request').next, runtime: runtime}",
        "trigger": "{context: script.context, old: args.old, previous: args.old, new: args.new, current: args.new, modified: args.modified || [], dryRun: !!args.dryRun, params: args, inline: script.inline, event: script.event, body: body, memo: memo, runtime: runtime}",
        "job": "{context: script.context, runtime: runtime}",
    }.get(kind, "{runtime: runtime}")
    return (
        f"require({json.dumps(metadata.get('scriptExport'))});\n"
        f"const runtime = {json.dumps(runtime, default=str)};\n"
        + (_TRIGGER_ACCESSORS if kind == "trigger" else "")
        + f"return require('decorators').handler({json.dumps(signature)})({argument});\n"
    )
