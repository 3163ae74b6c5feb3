"""``require('api')``: ``logs(options)``, ``stats(options)``, ``principal.create(principal)``
(modules.md §1). The sandbox side is ``js_prelude/modules/api.js``; it calls
``api.native.logs|stats|principal [...]`` here.

* ``logs`` reads the org's log records (object ``log``: runs, src 2, and ``logger`` calls,
  src 0) through the caller's object layer, so the ``log`` object's ACL (Administrator and
  Developer read) and the query rules (indexed properties only, §8) apply. Options: ``where``,
  ``map``, ``group``, ``sort``, ``skip``, ``limit``, or ``pipeline`` with ``skip``/``limit``
  (modules.md §1 src); ``map``/``group`` run as the legacy path's ``$unwind``/``$group``
  (objects-acl-query.md §7). Anything else is refused.
* ``stats`` gives per-script stat records (``code`` 5, scripts): the run records aggregated
  by script, script type and hour (scripting-core.md §3: "every run ... adds to an hourly
  script stat"). The platform keeps these in a stats collection; here they are computed
  from the log records, so they live as long as those (30 days). Fields: ``_id``,
  ``object: 'stat'``, ``org``, ``code``, ``starting``, ``ending`` (the hour), ``s_source``
  (``'script'``), ``s_script`` (script id or null), ``s_type`` (script type), ``count``,
  ``ms``, ``ops``, ``callouts``, ``calloutsMs``, ``in``, ``out``, ``errors`` (names past
  ``code``/``count``/``s_type`` are inferred). Other stat codes (logins, storage, ...) are not
  tracked: a query for them returns ``{data: []}``. ``crossOrg`` is accepted and ignored (it
  is honoured for system admins only; there are none here).
* Both are for Administrators and Developers (the ``log`` object's ACL); others get
  ``cortex.accessDenied.unspecified``. ``limit`` defaults to 10 and is clamped to 1..1000;
  a non-integer falls back to 10 (src: ``utils.queryLimit``).
* ``principal.create(emailOrId)`` gives ``{_id, object, email, name, roles}`` of an org
  principal (as ``script.principal`` shows it) that the caller may read: itself, a service
  account, public/anonymous, or an account the caller has read access to.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from ..faults import Fault
from ..objects.model import ObjectDef, PropertyDef
from ..objects.orgs import load_principal
from ..objects.principals import ADMINISTRATOR, DEVELOPER, ROLE_NAMES, Principal
from ..objects.query import QueryContext, check_exclusive, check_skip, compile_pipeline, compile_sort, compile_where
from ..objects.store import map_store_errors
from ..sandbox import RunInfo

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["ApiModule", "DEFAULT_LIMIT", "MAX_LIMIT", "STAT_DEFINITION"]

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
STATS_CODE_SCRIPTS = 5
LOG_OPTIONS = frozenset({"where", "map", "group", "sort", "skip", "pipeline", "limit", "engine", "explain"})
STATS_OPTIONS = LOG_OPTIONS | {"crossOrg"}
MAX_STAT_GROUPS = 100_000


def _prop(name: str, type_: str) -> PropertyDef:
    return PropertyDef(name=name, label=name, type=type_, indexed=True, writable=False, read_access=1, options={"name": name, "type": type_})


STAT_DEFINITION = ObjectDef(
    name="stat",
    label="Stat",
    plural_name="stats",
    standard=True,
    extensible=False,
    properties=[
        _prop("code", "Number"),
        _prop("starting", "Date"),
        _prop("ending", "Date"),
        _prop("s_source", "String"),
        _prop("s_script", "ObjectId"),
        _prop("s_type", "String"),
        _prop("count", "Number"),
        _prop("ms", "Number"),
        _prop("ops", "Number"),
        _prop("callouts", "Number"),
        _prop("calloutsMs", "Number"),
        _prop("in", "Number"),
        _prop("out", "Number"),
        _prop("errors", "Number"),
    ],
)


def _limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or int(value) != value:
        return DEFAULT_LIMIT
    return max(1, min(int(value), MAX_LIMIT))


def _options(args: list[Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    options = args[0] if args else None
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise Fault("cortex.invalidArgument.unspecified", reason=f"{what} options must be an object.", path="options")
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"{what} does not accept option {unknown[0]}.", path=unknown[0])
    return {k: v for k, v in options.items() if v is not None}


def _legacy_pipeline(options: dict[str, Any]) -> list[dict[str, Any]]:
    """where -> map (unwind, then match) -> group -> sort, as the legacy list path runs them."""
    stages: list[dict[str, Any]] = []
    if options.get("where") is not None:
        stages.append({"$match": options["where"]})
    mapped = options.get("map")
    if mapped is not None:
        if isinstance(mapped, str) and mapped:
            stages.append({"$unwind": mapped})
        elif isinstance(mapped, dict) and len(mapped) == 1 and isinstance(next(iter(mapped)), str):
            ((path, match),) = mapped.items()
            stages.append({"$unwind": path})
            if isinstance(match, dict) and match:
                stages.append({"$match": {f"{path}.{key}": value for key, value in match.items()}})
        else:
            raise Fault("cortex.invalidArgument.unspecified", reason="map must be a property name or {property: match}.", path="map")
    if options.get("group") is not None:
        stages.append({"$group": options["group"]})
    if options.get("sort") is not None:
        stages.append({"$sort": options["sort"]})
    return stages


def _stat_id(starting: Any, script: Any, script_type: Any) -> ObjectId:
    """A stable id per (hour, script, type): the hour's timestamp and a digest of the rest."""
    seconds = int(starting.replace(tzinfo=starting.tzinfo or timezone.utc).timestamp())
    digest = hashlib.sha1(f"{script}|{script_type}".encode()).digest()[:8]
    return ObjectId(seconds.to_bytes(4, "big") + digest)


class ApiModule:
    """Host side of ``api``: ``api.native.logs [options]``, ``api.native.stats [options]``,
    ``api.native.principal [emailOrId]``."""

    require_name = "api.native"
    prefix = "api."
    methods = ("logs", "stats", "principal", "hasRole")
    needs_runtime = True

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        layer = run.context.objects.layer
        if name == "api.native.logs":
            self._require_developer(layer.principal, "api.logs")
            return self.logs(layer, _options(args, LOG_OPTIONS, "api.logs"))
        if name == "api.native.stats":
            self._require_developer(layer.principal, "api.stats")
            return self.stats(layer, _options(args, STATS_OPTIONS, "api.stats"))
        if name == "api.native.principal":
            return self.principal(layer, args[0] if args else None)
        if name == "api.native.hasRole":
            return self.has_role(layer, args[0] if args else None)
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    @staticmethod
    def _require_developer(principal: Principal, what: str) -> None:
        if not (principal.has_role(ADMINISTRATOR) or principal.has_role(DEVELOPER)):
            raise Fault("cortex.accessDenied.unspecified", reason=f"{what} is for Administrators and Developers.")

    # ---- logs -------------------------------------------------------------------------

    def logs(self, layer: Any, options: dict[str, Any]) -> dict[str, Any]:
        check_exclusive(options)
        limit = _limit(options.get("limit"))
        query: dict[str, Any] = {"limit": limit + 1}
        if options.get("skip") is not None:
            query["skip"] = check_skip(options["skip"])
        if options.get("pipeline") is not None:
            query["pipeline"] = options["pipeline"]
        elif options.get("map") is not None or options.get("group") is not None:
            query["pipeline"] = _legacy_pipeline(options)
        else:
            for key in ("where", "sort"):
                if options.get(key) is not None:
                    query[key] = options[key]
        rows = list(layer.iterate("log", query))
        return {"object": "list", "data": rows[:limit], "hasMore": len(rows) > limit}

    # ---- stats ------------------------------------------------------------------------

    def _stat_records(self, org_id: ObjectId) -> list[dict[str, Any]]:
        hour = {"y": {"$year": "$beg"}, "m": {"$month": "$beg"}, "d": {"$dayOfMonth": "$beg"}, "h": {"$hour": "$beg"}}
        stages = [
            {"$match": {"org": org_id, "object": "log", "src": 2}},
            {
                "$group": {
                    "_id": {"sid": "$sid", "stp": "$stp", **hour},
                    "count": {"$sum": 1},
                    "ms": {"$sum": {"$subtract": ["$end", "$beg"]}},
                    "ops": {"$sum": "$ops"},
                    "callouts": {"$sum": "$ctt"},
                    "calloutsMs": {"$sum": "$cms"},
                    "in": {"$sum": "$in"},
                    "out": {"$sum": "$out"},
                    "errors": {"$sum": {"$cond": [{"$gt": ["$err", None]}, 1, 0]}},
                }
            },
            {"$limit": MAX_STAT_GROUPS},
        ]
        out = []
        with map_store_errors():
            for row in self._runtime.store.logs.aggregate(stages, maxTimeMS=10_000):
                key = row.pop("_id")
                starting = datetime(key["y"], key["m"], key["d"], key["h"], tzinfo=timezone.utc)
                out.append(
                    {
                        "_id": _stat_id(starting, key.get("sid"), key.get("stp")),
                        "object": "stat",
                        "org": org_id,
                        "code": STATS_CODE_SCRIPTS,
                        "starting": starting,
                        "ending": starting + timedelta(hours=1),
                        "s_source": "script",
                        "s_script": key.get("sid"),
                        "s_type": key.get("stp"),
                        **{k: int(v or 0) for k, v in row.items()},
                    }
                )
        return out

    def stats(self, layer: Any, options: dict[str, Any]) -> dict[str, Any]:
        check_exclusive(options)
        ctx = QueryContext(kind="script", allowed_restricted_ops=getattr(layer, "_restricted_ops", frozenset()))
        limit = _limit(options.get("limit"))
        skip = check_skip(options.get("skip"))
        if options.get("pipeline") is not None:
            stages = compile_pipeline(STAT_DEFINITION, options["pipeline"], ctx).stages
        elif options.get("map") is not None or options.get("group") is not None:
            stages = compile_pipeline(STAT_DEFINITION, _legacy_pipeline(options), ctx).stages
        else:
            stages = [{"$match": compile_where(STAT_DEFINITION, options.get("where"), ctx).filter}]
            stages.append({"$sort": dict(compile_sort(STAT_DEFINITION, options.get("sort"), ctx)) or {"_id": -1}})
        # The stat records are computed from the log records into the ``stats`` collection (ids
        # are per script and hour, so a record is replaced, never duplicated), then queried there.
        collection = self._runtime.store.stats
        stages = [{"$match": {"org": layer.org_id}}, *stages]
        stages = [*stages, {"$skip": skip}, {"$limit": limit + 1}] if skip else [*stages, {"$limit": limit + 1}]
        with map_store_errors():
            for record in self._stat_records(layer.org_id):
                collection.replace_one({"_id": record["_id"]}, record, upsert=True)
            rows = list(collection.aggregate(stages))
        for row in rows:
            row.pop("org", None)
            for key in ("starting", "ending"):
                if isinstance(row.get(key), datetime) and row[key].tzinfo is None:
                    row[key] = row[key].replace(tzinfo=timezone.utc)
        return {"object": "list", "data": rows[:limit], "hasMore": len(rows) > limit}

    # ---- principals -------------------------------------------------------------------

    def principal(self, layer: Any, key: Any) -> dict[str, Any]:
        if isinstance(key, dict):
            key = key.get("_id", key.get("email"))
        if not isinstance(key, (str, ObjectId)) or (isinstance(key, str) and not 0 < len(key) <= 512):
            raise Fault("cortex.invalidArgument.unspecified", reason="api.principal.create expects an email, an id or a name.", path="principal")
        principal = load_principal(layer.store, layer.org_id, key)
        if principal._id != layer.principal._id and not layer.principal.has_role(ADMINISTRATOR):
            with map_store_errors():
                is_account = layer.store.contexts.count_documents({"org": layer.org_id, "object": "account", "_id": principal._id}, limit=1)
            if is_account and not any(True for _ in layer.iterate("account", {"where": {"_id": principal._id}, "paths": ["_id"], "limit": 1})):
                raise Fault("cortex.notFound.principal", reason="No such principal.", path="principal")
        return principal.to_js()

    def has_role(self, layer: Any, roles: Any) -> bool:
        """Whether the acting principal holds any of ``roles`` (ids, built-in names or the org's
        custom role codes; includes followed), for ``@acl('role', ...)``."""
        from ..objects.roles import OrgPrincipals

        values = roles if isinstance(roles, list) else [roles]
        if len(values) > 100:
            raise Fault("script.invalidArgument.acl", reason="At most 100 roles per @acl pair.")
        principals = OrgPrincipals(layer.store, layer.org_id)
        held = layer.principal.all_roles()
        for value in values:
            if isinstance(value, ObjectId):
                role_id: Any = value
            elif isinstance(value, str) and 0 < len(value) <= 256:
                found = None if value.lower() in ROLE_NAMES else principals.role(value)
                role_id = ROLE_NAMES.get(value.lower()) or (found["_id"] if found else None)
            else:
                role_id = None
            if role_id is not None and role_id in held:
                return True
        return False
