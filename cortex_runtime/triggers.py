"""Object triggers (scripting-core.md §2.1, §2.5): scripts run on create, update and delete.

``TriggerDispatcher`` is a write hook of the object layer:

- before-triggers (``<event>.before``) run inline, in descending weight, sharing one
  ``memo``. They see ``old``/``new``/``modified``/``dryRun`` (``trigger_arguments``) and may
  change the pending write through ``script.arguments.new.update/push/delete`` or
  ``script.context.update/push/delete`` (host call ``trigger.write``). Returning
  exactly ``false`` cancels with ``cortex.error.triggerCancelled``; throwing cancels with the
  thrown fault. Nothing is written either way.
- after-triggers (``<event>.after``) run once the write is stored and cannot undo it. With
  ``configuration.inline`` they run right away; otherwise they are queued in the store's
  ``queue`` collection and run exactly once by whichever worker claims them
  (``Runtime.process_events``), so a crash between the write and the run loses nothing.
  They get the memo the before-triggers of the same write left.

A trigger runs one level deeper than the run that wrote; past the depth limit the child
fails before it starts (``script.invalidArgument.executionDepthExceeded``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument

from .faults import Fault
from .objects.acl import level_of
from .objects.instances import SYSTEM_KEYS, ObjectLayer, ReadOptions
from .objects.model import ObjectDef
from .objects.orgs import load_principal
from .objects.store import map_store_errors
from .objects.updates import apply_update
from .deployment import scripts_version
from .expressions.conditions import passes
from .org_runtime import dispatch_source
from .sandbox import RunInfo

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["TriggerDispatcher", "TriggerModule", "TriggerState", "trigger_arguments"]

NO_TRIGGERS_ON = ("view", "script", "org", "object", "log")
CLAIM_LEASE = timedelta(seconds=60)
MEMOS_KEPT = 256
FINISHED_KEPT = timedelta(days=1)  # finished queue records stay a day for inspection, then expire


@dataclass
class TriggerState:
    """The pending write a before-trigger may change, and who may change what."""

    layer: ObjectLayer
    obj: ObjectDef
    pending: dict[str, Any] | None
    changed: bool = False
    memo: dict[str, Any] = field(default_factory=dict)


def _plain(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in ("org", "acl")}


def _modified(doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None) -> list[str]:
    """The properties the write sets, changes or removes (system keys aside)."""
    if doc is None:
        return []
    if existing is None:
        return sorted(k for k in doc if k not in SYSTEM_KEYS)
    names = (set(doc) | set(existing)) - set(SYSTEM_KEYS)
    return sorted(k for k in names if doc.get(k) != existing.get(k))


def _paths(script: Mapping[str, Any]) -> list[str]:
    """``configuration.paths``: the top-level properties ``old``/``new`` are limited to (none = all)."""
    paths = (script.get("configuration") or {}).get("paths")
    return [str(p).split(".")[0] for p in paths if isinstance(p, str) and p] if isinstance(paths, list) else []


def trigger_arguments(script: Mapping[str, Any], event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None, memo: dict[str, Any]) -> dict[str, Any]:
    """``script.arguments`` of a trigger (scripting-core.md §2.1, §2.5).

    ``old`` is the stored document (absent on create), ``new`` the pending one: the whole
    document on create, the modified properties (with ``_id`` and ``object``) on update, absent on
    delete. With ``configuration.paths`` both hold only those properties. ``modified`` lists the
    modified properties (``[]`` on delete), ``dryRun`` is there for before events only, and
    ``memo`` is the one all triggers of the operation share."""
    operation, _, when = event.rpartition(".")
    modified = _modified(doc, existing)
    old = _plain(existing)
    new = _plain(doc)
    if new is not None and operation == "update":
        new = {k: v for k, v in new.items() if k in ("_id", "object") or k in modified}
    paths = _paths(script)
    if paths:
        keep = set(paths) | {"_id", "object"}
        old = None if old is None else {k: v for k, v in old.items() if k in keep}
        new = None if new is None else {k: v for k, v in new.items() if k in keep}
    arguments: dict[str, Any] = {"modified": modified if operation != "delete" else [], "memo": memo}
    if old is not None:
        arguments["old"] = old
    if new is not None:
        arguments["new"] = new
    if when == "before":
        arguments["dryRun"] = False
    return arguments


def _subject(obj: ObjectDef, arguments: Mapping[str, Any]) -> dict[str, Any] | None:
    """``script.context``: the pending document when there is one (its values as the write
    stands when the trigger starts), else ``{_id, object}`` of the stored one."""
    new, old = arguments.get("new"), arguments.get("old")
    if isinstance(new, dict) and new.get("_id") is not None:
        return {**new, "object": obj.name}
    if isinstance(old, dict) and old.get("_id") is not None:
        return {"_id": old["_id"], "object": obj.name}
    return None


class TriggerDispatcher:
    """Write hook running trigger scripts; see the module docstring."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._events = runtime.store.queue
        self._cache: dict[Any, tuple[int, list[dict[str, Any]]]] = {}
        # The memo the before-triggers of a write leave for its after-triggers, by layer,
        # object, event and instance; taken by after(). A write that fails in between leaves
        # one behind: only the latest MEMOS_KEPT are kept.
        self._memos: dict[tuple[int, str, str, str], dict[str, Any]] = {}
        # (queue generation, monotonic time) of the last claim that found nothing: see process().
        self._found_empty: tuple[tuple[int, ...], float] | None = None

    def _scripts(self, layer: ObjectLayer, obj: ObjectDef, event: str) -> list[dict[str, Any]]:
        """The triggers for ``event`` on ``obj``: highest weight per name, heaviest first."""
        docs = [doc for doc in self._all(layer) if doc["configuration"].get("event") == event and doc["configuration"].get("object") in (obj.name, "*")]
        best: dict[Any, dict[str, Any]] = {}
        for doc in docs:
            key = doc.get("name") or doc["_id"]
            if key not in best or float(doc.get("weight") or 0) > float(best[key].get("weight") or 0):
                best[key] = doc
        return sorted(best.values(), key=lambda d: -float(d.get("weight") or 0))

    def _all(self, layer: ObjectLayer) -> list[dict[str, Any]]:
        """Every trigger of the org (scripts and @trigger entries), cached per scripts version."""
        version = scripts_version(layer.store, layer.org_id)
        cached = self._cache.get(layer.org_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        with map_store_errors():
            scripts = list(layer.store.contexts.find({"org": layer.org_id, "object": "script", "type": {"$in": ["trigger", "library"]}, "active": True}).sort("_id", 1))
        found: list[dict[str, Any]] = []
        for doc in scripts:
            if doc.get("type") == "trigger":
                found.append({**doc, "configuration": dict(doc.get("configuration") or {})})
                continue
            for entry in doc.get("runtime") or []:
                if entry.get("type") == "trigger":
                    found.append(
                        {
                            "_id": doc["_id"],
                            "name": entry.get("name"),
                            "weight": entry.get("weight"),
                            "principal": entry.get("principal"),
                            "configuration": dict(entry.get("configuration") or {}),
                            "if": entry.get("if", (entry.get("configuration") or {}).get("if")),
                            "script": dispatch_source(entry),
                        }
                    )
        self._cache[layer.org_id] = (version, found)
        return found

    def before(
        self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: dict[str, Any] | None, existing: Mapping[str, Any] | None, options: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        if obj.name in NO_TRIGGERS_ON:
            return doc
        scripts = self._scripts(layer, obj, f"{event}.before")
        if not scripts:
            return doc
        state = TriggerState(layer=layer, obj=obj, pending=copy.deepcopy(doc) if doc is not None else None)
        for script in scripts:
            # Each trigger sees the write as the earlier ones left it.
            arguments = trigger_arguments(script, f"{event}.before", state.pending, existing, state.memo)
            arguments["dryRun"] = bool(options.get("dryRun"))
            if not self._passes(layer, script, f"{event}.before", state.pending, existing, arguments):
                continue
            result = self._run(layer, script, obj, f"{event}.before", arguments, state, inline=True)
            if result.fault is not None:
                raise result.fault
            if result.value is False:
                raise Fault("cortex.error.triggerCancelled")
            if result.memo is not None:
                state.memo = result.memo
        self._keep_memo(layer, obj, event, doc if doc is not None else existing, state.memo)
        return state.pending if state.changed else doc

    def _keep_memo(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: Mapping[str, Any] | None, memo: dict[str, Any]) -> None:
        if not memo or not doc:
            return
        memos = self._memos
        memos[(id(layer), obj.name, event, str(doc.get("_id")))] = memo
        while len(memos) > MEMOS_KEPT:
            memos.pop(next(iter(memos)))

    def _take_memo(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: Mapping[str, Any] | None) -> dict[str, Any]:
        return self._memos.pop((id(layer), obj.name, event, str((doc or {}).get("_id"))), None) or {}

    def after(self, layer: ObjectLayer, obj: ObjectDef, event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None) -> None:
        if obj.name in NO_TRIGGERS_ON:
            return
        scripts = self._scripts(layer, obj, f"{event}.after")
        memo = self._take_memo(layer, obj, event, doc if doc is not None else existing)
        ran_inline = False
        for script in scripts:
            arguments = trigger_arguments(script, f"{event}.after", doc, existing, memo)
            if not self._passes(layer, script, f"{event}.after", doc, existing, arguments):
                continue
            if (script.get("configuration") or {}).get("inline"):
                result = self._run(layer, script, obj, f"{event}.after", arguments, None, inline=True)
                ran_inline = True
                if result.fault is not None:
                    # fidelity.md §13: the write fails with the fault although its data is
                    # already saved (nothing is rolled back); later triggers do not run.
                    raise result.fault
                if result.memo is not None:
                    memo = result.memo
                continue
            arguments["memo"] = copy.deepcopy(memo)
            with map_store_errors():
                self._events.insert_one(
                    {
                        "org": layer.org_id,
                        "script": script["_id"],
                        "object": obj.name,
                        "event": f"{event}.after",
                        "subject": (doc or existing or {}).get("_id"),
                        "arguments": arguments,
                        "principal": layer.principal._id,
                        "depth": layer.run_depth + 1,
                        "status": "pending",
                        "created": datetime.now(timezone.utc),
                    }
                )
        if ran_inline and isinstance(doc, dict) and doc.get("_id") is not None:
            self._refresh(layer, obj, doc)

    @staticmethod
    def _refresh(layer: ObjectLayer, obj: ObjectDef, doc: dict[str, Any]) -> None:
        """Inline after triggers finish before the write returns, so what they wrote to the
        instance is in the write's result (``lean(false)``): the caller's document is
        reloaded in place from the store."""
        with map_store_errors():
            fresh = layer.store.instances(obj.name).find_one({"_id": doc["_id"], "org": layer.org_id})
        if fresh is not None:
            doc.clear()
            doc.update(fresh)

    def _passes(self, layer: ObjectLayer, script: Mapping[str, Any], event: str, doc: Mapping[str, Any] | None, existing: Mapping[str, Any] | None, arguments: dict[str, Any]) -> bool:
        """The trigger's ``if`` (expressions.md §8.1): ``$$ROOT`` is the document being written,
        or with ``configuration.rootDocument: 'runtime'`` the arguments plus previous/current."""
        if script.get("if") is None:
            return True
        current, previous = _plain(doc if doc is not None else existing), _plain(existing)
        root: Any = current
        if (script.get("configuration") or {}).get("rootDocument") == "runtime":
            root = {**{k: v for k, v in arguments.items() if k != "memo"}, "previous": previous, "current": current}
        return passes(self._runtime, org_id=layer.org_id, principal_id=layer.principal._id, script=dict(script), script_type="trigger", root=root, arguments=arguments)

    def _run(self, layer: ObjectLayer, script: Mapping[str, Any], obj: ObjectDef, event: str, arguments: dict[str, Any], state: TriggerState | None, *, inline: bool) -> Any:
        principal = layer.principal
        if script.get("principal"):
            principal = load_principal(layer.store, layer.org_id, script["principal"])
        subject = _subject(obj, arguments)
        org = self._runtime.orgs.get_by_id(layer.org_id)
        return self._runtime.run(
            str(script.get("script") or ""),
            org=org,
            principal=principal,
            script_type="trigger",
            arguments=arguments,
            depth=layer.run_depth + 1,
            inline=inline,
            trigger=state,
            script_id=script.get("_id"),
            extra={"event": event, "subject": subject},
        )

    def fire_custom(self, layer: ObjectLayer, event: str, arguments: Any) -> None:
        """``script.trigger(event, args)``: run the ``system`` object's triggers for a custom
        event, heaviest first, inline; a ``false`` or a throw from one stops the caller."""
        system = ObjectDef(name="system", label="System", plural_name="system")
        for script in self._scripts(layer, system, event):
            result = self._run(layer, script, system, event, {"params": arguments, "memo": {}}, None, inline=True)
            if result.fault is not None:
                raise result.fault
            if result.value is False:
                raise Fault("cortex.error.triggerCancelled")

    def listeners(self, layer: ObjectLayer, event: str) -> list[dict[str, Any]]:
        """``@on`` listeners for ``event``: {export, signature, runtime}, heaviest first."""
        with map_store_errors():
            libraries = list(layer.store.contexts.find({"org": layer.org_id, "object": "script", "type": "library", "active": True, "runtime.type": "on"}))
        entries = []
        for library in libraries:
            for entry in library.get("runtime") or []:
                if entry.get("type") == "on" and (entry.get("configuration") or {}).get("event") == event:
                    entries.append(entry)
        from .org_runtime import override_by_name

        chosen = sorted(override_by_name(entries), key=lambda e: -float(e.get("weight") or 0))
        return [
            {
                "export": e["metadata"]["scriptExport"],
                "signature": f"{e['metadata']['className']}.{e['metadata']['methodName']}",
                "runtime": {"weight": e.get("weight"), "source": "script", "metadata": e.get("metadata"), "event": event},
            }
            for e in chosen
        ]

    # ---- the queue of after-triggers ---------------------------------------------------

    def process(self, limit: int = 100, worker: str = "local") -> int:
        """Run queued after-triggers, each exactly once across workers. Returns how many ran.

        Every top-level run ends here. On the embedded store nothing can be claimable that was
        not before unless the queue changed, so an unchanged queue is not asked again, except
        once a second for a claim whose lease ran out (left by a process that was killed)."""
        generation = self._runtime.store.generation("queue")
        if generation is not None and self._found_empty is not None:
            seen, at = self._found_empty
            if seen == generation and time.monotonic() - at < 1.0:
                return 0
        ran = 0
        now = datetime.now(timezone.utc)
        while ran < limit:
            event = None
            with map_store_errors():
                # Two equality claims rather than one $or, so each reads only its own status.
                for claimable in ({"status": "pending"}, {"status": "processing", "claimed": {"$lt": now - CLAIM_LEASE}}):
                    event = self._events.find_one_and_update(
                        claimable,
                        {"$set": {"status": "processing", "worker": worker, "claimed": now}},
                        sort=[("created", 1)],
                        return_document=ReturnDocument.AFTER,
                    )
                    if event is not None:
                        break
            if event is None:
                # Read after the claims: a claim that found nothing writes nothing.
                generation = self._runtime.store.generation("queue")
                self._found_empty = (generation, time.monotonic()) if generation is not None else None
                return ran
            ran += 1
            status, fault = "completed", None
            try:
                result = self._run_event(event)
                if result is not None and result.fault is not None:
                    status, fault = "failed", result.fault.to_json()
            except Fault as exc:
                status, fault = "failed", exc.to_json()
            with map_store_errors():
                finished = datetime.now(timezone.utc)
                self._events.update_one({"_id": event["_id"]}, {"$set": {"status": status, "fault": fault, "finished": finished, "expires": finished + FINISHED_KEPT}})
        return ran

    def _run_event(self, event: Mapping[str, Any]) -> Any:
        with map_store_errors():
            script = self._runtime.store.contexts.find_one({"_id": event["script"], "org": event["org"], "object": "script"})
        org = self._runtime.orgs.get_by_id(event["org"])
        if script is None or org is None:
            raise Fault("cortex.notFound.script", reason="The trigger's script is gone.")
        principal = load_principal(self._runtime.store, org._id, event["principal"])
        layer = self._runtime.layer(org, principal)
        layer.run_depth = int(event.get("depth") or 2) - 1
        obj = layer.definitions.require(str(event["object"]))
        return self._run(layer, script, obj, str(event["event"]), dict(event.get("arguments") or {}), None, inline=False)


class TriggerModule:
    """``trigger.write [operator, path, value, options]``: a before-trigger changing the pending write."""

    prefix = "trigger."

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        state = getattr(run.context, "trigger", None)
        if name != "trigger.write":
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        if not isinstance(state, TriggerState) or state.pending is None:
            raise Fault("cortex.accessDenied.unspecified", reason="Only before-triggers of creates and updates can change the write.")
        operator, path, value, options = (list(args) + [None, None, None, {}])[:4]
        if not isinstance(path, str) or not path:
            raise Fault("cortex.invalidArgument.unspecified", reason="A string property path is required.")
        top = path.split(".")[0]
        prop = state.obj.property(top, state.pending.get("type"))
        if prop is None:
            raise Fault("cortex.notFound.property", reason=f"{top} is not a property of {state.obj.name}.", path=f"{state.obj.name}.{top}")
        grant = level_of((options or {}).get("grant")) if isinstance(options, dict) else None
        access = max(state.layer._access(state.obj, state.pending, ReadOptions()), grant or 0)
        if access < prop.write_access:
            raise Fault("cortex.accessDenied.propertyUpdate", path=f"{state.obj.name}.{top}")
        new_doc, _, _ = apply_update(state.pending, {str(operator): {path: value}})
        state.pending = new_doc
        state.changed = True
        current: Any = new_doc
        for part in path.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        return current
