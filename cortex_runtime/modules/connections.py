"""``require('connections')``: sharing instances with accounts (spec modules.md §4, rest-api-auth.md §6.3).

A connection lives in the contexts collection (``object: 'connection'``). It keeps the instance
acl entries it grants (``grants``): a pending connection (state 0) adds them to the instance when
its target applies it, an active one (state 1) has added them, and deleting it takes them away.

- ``create(objects, id, targets, options)``: the share checks of the object layer (Share access,
  a level within shareAcl / shareChain). Objects require acceptance unless their definition says
  ``connectionOptions.requireAccept: false``: such connections are pending with a 32-character
  token, expire after the org's ``pendingConnectionExpiry`` days (7) and send an invitation to the
  outbox (unless ``skipNotification``). ``forceAuto``, or an account ``_id`` target on an object
  that does not require acceptance, makes them active at once, under the auto-connect rules.
- ``apply(token)``: the target accepts; ``delete(tokenOrId)``: the access goes.
- ``linkTo(objects, id, access, options)``: an anonymous, active link whose token reads the context
  with ``access`` (and ``roles``) until ``expiresAt`` (wins over ``expiresInMs``) or its uses run out.
- ``list(options)``, ``read(tokenOrId, options)``: what the caller may see (target or creator).

Time is the runtime's clock, so tests move it instead of sleeping.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..objects.acl import level_of, resolve_access
from ..objects.instances import ReadOptions, dig
from ..objects.model import ACCESS
from ..objects.principals import ADMINISTRATOR, DEVELOPER
from ..objects.query import QueryContext, check_skip, compile_sort, compile_where
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import to_plain

__all__ = ["ConnectionsModule"]

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 32
DEFAULT_PENDING_DAYS = 7
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 100, 1000
# Stored fields nobody reads through the module.
_HIDDEN = ("org", "owner", "acl", "grants")
_HEX_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _date(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise Fault("cortex.invalidArgument.unspecified", reason=f"{path} must be a date.", path=path)


def _int_option(value: Any, path: str, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"{path} must be an integer of at least {minimum}.", path=path)
    return int(value)


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and str(a) == str(b)


def _target_account(connection: Mapping[str, Any]) -> Any:
    return ((connection.get("target") or {}).get("account") or {}).get("_id")


def _creator(connection: Mapping[str, Any]) -> Any:
    return (connection.get("creator") or {}).get("_id")


class ConnectionsModule:
    require_name = "connections"
    prefix = "connections."
    needs_runtime = True
    methods = ("apply", "create", "delete", "linkTo", "list", "read")

    def __init__(self, runtime: Any = None) -> None:
        self._runtime = runtime

    # ---- plumbing -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        clock = getattr(self._runtime, "clock", None)
        return _utc(clock.now()) if clock is not None else datetime.now(timezone.utc)

    @staticmethod
    def _options(run: RunInfo, value: Any) -> dict[str, Any]:
        options = dict(value) if isinstance(value, Mapping) else {}
        if run.context.objects.safe:
            options.pop("skipAcl", None)
        return options

    @staticmethod
    def _token() -> str:
        return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        args = list(args)
        if name == "connections.create":
            objects, instance_id, targets = (args + [None, None, None])[:3]
            return self.create(run, objects, instance_id, targets, self._options(run, args[3] if len(args) > 3 else None))
        if name == "connections.linkTo":
            objects, instance_id, access = (args + [None, None, None])[:3]
            return self.link_to(run, objects, instance_id, access, self._options(run, args[3] if len(args) > 3 else None))
        if name == "connections.apply":
            return self.apply(run, args[0] if args else None, self._options(run, args[1] if len(args) > 1 else None))
        if name == "connections.delete":
            return self.delete(run, args[0] if args else None, self._options(run, args[1] if len(args) > 1 else None))
        if name == "connections.list":
            return self.list(run, self._options(run, args[0] if args else None))
        if name == "connections.read":
            return self.read(run, args[0] if args else None, self._options(run, args[1] if len(args) > 1 else None))
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    # ---- create ---------------------------------------------------------------------------------

    def create(self, run: RunInfo, objects: Any, instance_id: Any, targets: Any, options: dict[str, Any]) -> list[dict[str, Any]]:
        layer = run.context.objects.layer
        obj = layer.definitions.require(str(objects))
        document = obj.document or {}
        if document.get("allowConnections") is False and not options.get("forceAllowConnections"):
            raise Fault("cortex.accessDenied.connectionsDisabled", path=obj.name)
        if not isinstance(targets, list) or not targets:
            raise Fault("cortex.invalidArgument.noConnectionTargets", reason="targets must be a non-empty array.", path="targets")
        connection_options = document.get("connectionOptions") if isinstance(document.get("connectionOptions"), Mapping) else {}
        require_accept = connection_options.get("requireAccept", True) is not False
        send_notifications = connection_options.get("sendNotifications", True) is not False
        force_auto = bool(options.get("forceAuto"))
        skip_acl = bool(options.get("skipAcl"))
        for target in targets:
            if not isinstance(target, Mapping) or (target.get("_id") is None and not target.get("email")):
                raise Fault("cortex.invalidArgument.connectionTarget", reason="A target needs an _id or an email.", path="targets")
        # Active at once: forced, or on an object that does not require acceptance when the target
        # is an account id (an email target is still invited).
        auto_of = {id(t): bool(force_auto or (not require_accept and (t.get("auto") or t.get("_id") is not None))) for t in targets}
        for target in targets:
            if target.get("auto") and require_accept and not force_auto:
                raise Fault("cortex.invalidArgument.requireConnectionAccept", path="targets")
            if auto_of[id(target)]:
                self._check_auto(layer, target, skip_acl)

        now = self._now()
        days = (getattr(run.context.org, "settings", None) or {}).get("pendingConnectionExpiry", DEFAULT_PENDING_DAYS)
        days = days if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0 else DEFAULT_PENDING_DAYS

        def extra(target: Mapping[str, Any], account: ObjectId) -> dict[str, Any]:
            auto = auto_of.get(id(target), False)
            return {
                "created": now,
                "token": self._token(),
                "expiresAt": None if auto else now + timedelta(days=days),
                "usesRemaining": None,
                "contextSource": None,
            }

        made = layer.share(obj.name, instance_id, targets, {"skipAcl": skip_acl}, activate=lambda t: auto_of.get(id(t), False), extra=extra)
        out = []
        for connection in made:
            if connection["state"] == 0 and send_notifications and not options.get("skipNotification"):
                self._invite(run, connection)
            out.append(self._view(run, connection))
        return out

    def _check_auto(self, layer: Any, target: Mapping[str, Any], skip_acl: bool) -> None:
        """Auto-connect rules (modules.md §4 source facts, acceptance fact 73)."""
        if target.get("_id") is None:
            raise Fault("cortex.invalidArgument.autoConnectionRequiresId", path="targets")
        try:
            account_id = ObjectId(str(target["_id"]))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.invalidObjectId", path="targets._id") from exc
        with map_store_errors():
            account = layer.store.contexts.find_one({"org": layer.org_id, "object": "account", "_id": account_id})
        if account is None:
            raise Fault("cortex.notFound.instance", reason="account not found.", path="account")
        if account.get("state", "verified") != "verified":
            raise Fault("cortex.accessDenied.connectionRequiresVerification", path="account")
        if not skip_acl and not _same(account_id, layer.principal._id):
            # "Access to the target account" (inferred): Read on the account through its ACL, or
            # the org roles that manage accounts here (the account object grants only Self).
            managers = layer.principal.has_role(ADMINISTRATOR) or layer.principal.has_role(DEVELOPER)
            if not managers and resolve_access(layer.principal, layer.definitions.require("account"), account) < ACCESS["read"]:
                raise Fault("cortex.accessDenied.autoConnectionRequiresAccess", path="account")

    def _invite(self, run: RunInfo, connection: Mapping[str, Any]) -> None:
        """The invitation notification, to the notifications outbox (rest-api-auth.md §6.3)."""
        store = run.context.objects.layer.store
        account_id = _target_account(connection)
        with map_store_errors():
            account = store.contexts.find_one({"org": run.org._id, "object": "account", "_id": account_id}, {"email": 1}) or {}
            context = connection["context"]
            store.outbox.insert_one(
                {
                    "_id": ObjectId(),
                    "org": run.org._id,
                    "object": "outbox",
                    "created": self._now(),
                    "notification": "invitation",
                    "template": None,
                    "recipient": account_id,
                    "sender": run.context.objects.layer.principal._id,
                    "locale": "en_US",
                    "variables": {"connection": str(connection["_id"]), "token": connection["token"], "context": {"_id": str(context["_id"]), "object": context["object"]}},
                    "context": {"_id": connection["_id"], "object": "connection"},
                    "options": {},
                    "endpoints": {
                        "email": {
                            "to": account.get("email"),
                            "subject": "You have been invited to connect",
                            "plain": f"Accept the connection with token {connection['token']}.",
                        }
                    },
                    "script": run.script_id,
                }
            )

    # ---- linkTo -------------------------------------------------------------------------------

    def link_to(self, run: RunInfo, objects: Any, instance_id: Any, access: Any, options: dict[str, Any]) -> dict[str, Any]:
        layer = run.context.objects.layer
        obj = layer.definitions.require(str(objects))
        if (obj.document or {}).get("allowConnections") is False and not options.get("forceAllowConnections"):
            raise Fault("cortex.accessDenied.connectionsDisabled", path=obj.name)
        opts = ReadOptions.parse({"skipAcl": options.get("skipAcl")})
        try:
            oid = ObjectId(str(instance_id))
        except Exception as exc:
            raise Fault("cortex.invalidArgument.invalidObjectId", path="_id") from exc
        with map_store_errors():
            doc = layer.store.instances(obj.name).find_one({"org": layer.org_id, "object": obj.name, "_id": oid})
        if doc is None:
            raise Fault("cortex.notFound.instance", reason=f"{obj.name} not found.", path=obj.name)
        level = level_of(access)
        roles = options.get("roles") or []
        if level is None:
            raise Fault("cortex.invalidArgument.unspecified", reason="linkTo needs an access level.", path="access")
        try:
            roles = [ObjectId(str(r)) for r in (roles if isinstance(roles, list) else [roles])]
        except Exception as exc:
            raise Fault("cortex.invalidArgument.unspecified", reason="Invalid role id.", path="roles") from exc
        if not opts.skip_acl:
            held = resolve_access(layer.principal, obj, doc)
            if held < ACCESS["share"]:
                raise Fault("cortex.accessDenied.shareAccess", path=obj.name)
            layer._check_share(obj, doc, held, level, tuple(roles), opts)
        now = self._now()
        expires_at = _date(options.get("expiresAt"), "expiresAt")
        expires_in = _int_option(options.get("expiresInMs"), "expiresInMs", 1)
        if expires_at is None and expires_in is not None:
            expires_at = now + timedelta(milliseconds=expires_in)
        connection = {
            "_id": ObjectId(),
            "org": layer.org_id,
            "object": "connection",
            "context": {"_id": oid, "object": obj.name},
            "contextSource": None,
            "target": None,
            "access": level,
            "roles": roles,
            "state": 1,
            "token": self._token(),
            "expiresAt": expires_at,
            "usesRemaining": _int_option(options.get("usesRemaining"), "usesRemaining", 1),
            "created": now,
            "creator": {"_id": layer.principal._id},
            "owner": {"_id": layer.principal._id},
            "acl": [],
            "grants": [],
        }
        with map_store_errors():
            layer.store.contexts.insert_one(connection)
        return self._view(run, connection)

    # ---- finding ------------------------------------------------------------------------------

    def _find(self, run: RunInfo, token_or_id: Any) -> tuple[dict[str, Any], bool, str | None]:
        """The connection a token (with an optional ``/path``) or an id names, whether it was by
        token, and the path."""
        store = run.context.objects.layer.store
        text = str(token_or_id) if token_or_id is not None else ""
        head, _, path = text.partition("/")
        query: dict[str, Any] = {"org": run.org._id, "object": "connection"}
        by_token = not (isinstance(token_or_id, ObjectId) or _HEX_ID.match(head))
        if not head:
            raise Fault("cortex.invalidArgument.connectionToken", reason="A connection token or id is required.", path="token")
        if by_token:
            query["token"] = head
        else:
            query["_id"] = ObjectId(head)
        with map_store_errors():
            connection = store.contexts.find_one(query)
        if connection is None:
            if by_token:
                raise Fault("cortex.invalidArgument.connectionToken", reason="Invalid or expired connection token.", path="token")
            raise Fault("cortex.notFound.instance", reason="connection not found.", path="connection")
        return connection, by_token, path.strip("/") or None

    def _expired(self, connection: Mapping[str, Any]) -> bool:
        expires = connection.get("expiresAt")
        return isinstance(expires, datetime) and _utc(expires) <= self._now()

    def _is_target(self, run: RunInfo, connection: Mapping[str, Any]) -> bool:
        return _same(_target_account(connection), run.context.objects.layer.principal._id)

    def _visible(self, run: RunInfo, connection: Mapping[str, Any]) -> bool:
        me = run.context.objects.layer.principal._id
        return _same(_target_account(connection), me) or _same(_creator(connection), me)

    def _view(self, run: RunInfo, connection: Mapping[str, Any]) -> dict[str, Any]:
        """A connection as the caller sees it: the token only for the target (and a link's creator)."""
        out = {k: v for k, v in connection.items() if k not in _HIDDEN}
        link = connection.get("target") is None
        me = run.context.objects.layer.principal._id
        if not (self._is_target(run, connection) or (link and _same(_creator(connection), me))):
            out.pop("token", None)
        return out

    # ---- apply / delete ---------------------------------------------------------------------------

    def apply(self, run: RunInfo, token: Any, options: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise Fault("cortex.invalidArgument.connectionToken", reason="A connection token is required.", path="token")
        connection, _, _ = self._find(run, token.partition("/")[0])
        if not options.get("skipAcl") and connection.get("target") is not None and not self._is_target(run, connection):
            raise Fault("cortex.accessDenied.connection", reason="Only the connection's target may apply it.", path="connection")
        if connection.get("state") == 1:
            return self._view(run, connection)
        if self._expired(connection):
            raise Fault("cortex.invalidArgument.connectionToken", reason="The connection has expired.", path="token")
        store = run.context.objects.layer.store
        context = connection["context"]
        with map_store_errors():
            instance = store.instances(context["object"]).update_one(
                {"org": run.org._id, "object": context["object"], "_id": context["_id"]}, {"$push": {"acl": {"$each": list(connection.get("grants") or [])}}}
            )
            if instance.matched_count == 0:
                store.contexts.delete_one({"_id": connection["_id"], "org": run.org._id})
                raise Fault("cortex.notFound.instance", reason=f"{context['object']} not found.", path=context["object"])
            store.contexts.update_one({"_id": connection["_id"], "org": run.org._id}, {"$set": {"state": 1, "expiresAt": None}})
        connection = {**connection, "state": 1, "expiresAt": None}
        return self._view(run, connection)

    def delete(self, run: RunInfo, token_or_id: Any, options: dict[str, Any]) -> bool:
        connection, _, _ = self._find(run, token_or_id)
        layer = run.context.objects.layer
        if not options.get("skipAcl") and not self._visible(run, connection) and not self._may_remove(layer, connection):
            raise Fault("cortex.accessDenied.connection", reason="Not allowed to delete this connection.", path="connection")
        context = connection["context"]
        ids = [entry.get("_id") for entry in connection.get("grants") or [] if entry.get("_id") is not None]
        with map_store_errors():
            if ids and connection.get("state") == 1:
                store_doc = layer.store.instances(context["object"]).find_one({"org": run.org._id, "_id": context["_id"]}, {"acl": 1})
                if store_doc is not None:
                    kept = [e for e in store_doc.get("acl") or [] if not any(_same(e.get("_id"), i) for i in ids)]
                    layer.store.instances(context["object"]).update_one({"org": run.org._id, "_id": context["_id"]}, {"$set": {"acl": kept}})
            layer.store.contexts.delete_one({"_id": connection["_id"], "org": run.org._id})
        return True

    @staticmethod
    def _may_remove(layer: Any, connection: Mapping[str, Any]) -> bool:
        """Removing another's connection needs Share access on the context and more access than
        the connection grants (rest-api-auth.md §6.3, inferred)."""
        context = connection.get("context") or {}
        obj = layer.definitions.get(str(context.get("object")))
        if obj is None:
            return False
        with map_store_errors():
            doc = layer.store.instances(obj.name).find_one({"org": layer.org_id, "_id": context.get("_id")})
        if doc is None:
            return False
        held = resolve_access(layer.principal, obj, doc)
        return held >= ACCESS["share"] and held > int(connection.get("access") or 0)

    # ---- read / list ------------------------------------------------------------------------------

    def read(self, run: RunInfo, token_or_id: Any, options: dict[str, Any]) -> Any:
        connection, by_token, path = self._find(run, token_or_id)
        skip_acl = bool(options.get("skipAcl"))
        link = connection.get("target") is None
        if not skip_acl and not (link and by_token):
            allowed = self._is_target(run, connection) if by_token else self._visible(run, connection)
            if not allowed:
                raise Fault("cortex.accessDenied.connection", reason="Only the connection's target may read it.", path="connection")
        if by_token and self._expired(connection):
            raise Fault("cortex.invalidArgument.connectionToken", reason="The connection has expired.", path="token")
        if by_token and connection.get("usesRemaining") is not None:
            uses = int(connection["usesRemaining"])
            if uses <= 0:
                raise Fault("cortex.invalidArgument.connectionToken", reason="The connection token has no uses left.", path="token")
            with map_store_errors():
                run.context.objects.layer.store.contexts.update_one({"_id": connection["_id"], "org": run.org._id}, {"$set": {"usesRemaining": uses - 1}})
            connection = {**connection, "usesRemaining": uses - 1}
        view = self._view(run, connection)
        expand = options.get("expand") or []
        wants_context = path is not None and path.replace("/", ".").split(".")[0] == "context"
        if wants_context or "context" in (expand if isinstance(expand, list) else [expand]):
            view["context"] = self._context(run, connection)
        if path is None:
            return self._select(view, options.get("paths"))
        return to_plain(dig(view, path.replace("/", ".")))

    def _context(self, run: RunInfo, connection: Mapping[str, Any]) -> Any:
        """The context as the connection shows it: with the connection's access and roles, and only
        once it is active."""
        if connection.get("state") != 1:
            raise Fault("script.error.connectionNotReady", reason="The connection has not been accepted.", path="connection")
        context = connection["context"]
        layer = run.context.objects.layer
        options: dict[str, Any] = {"where": {"_id": context["_id"]}, "skipAcl": True, "grant": int(connection.get("access") or 0)}
        if connection.get("roles"):
            options["roles"] = list(connection["roles"])
        return layer.read_one(context["object"], options)

    @staticmethod
    def _select(view: dict[str, Any], paths: Any) -> dict[str, Any]:
        if not isinstance(paths, list) or not paths:
            return view
        keep = {str(p).split(".")[0] for p in paths} | {"_id", "object"}
        return {k: v for k, v in view.items() if k in keep}

    def list(self, run: RunInfo, options: dict[str, Any]) -> list[dict[str, Any]]:
        limit = options.get("limit")
        if limit is None:
            limit = DEFAULT_LIST_LIMIT
        elif isinstance(limit, bool) or not isinstance(limit, (int, float)) or int(limit) != limit or not 1 <= limit <= MAX_LIST_LIMIT:
            raise Fault("cortex.invalidArgument.unspecified", reason=f"limit must be an integer between 1 and {MAX_LIST_LIMIT}.", path="limit")
        skip = check_skip(options.get("skip"))
        layer = run.context.objects.layer
        obj = layer.definitions.require("connection")
        ctx = QueryContext(kind="script", allowed_restricted_ops=frozenset())
        query: dict[str, Any] = {"org": run.org._id, "object": "connection"}
        me = layer.principal._id
        show = options.get("show")
        clauses: list[dict[str, Any]] = []
        if show == "creator":
            clauses.append({"creator._id": me})
        elif show == "target":
            clauses.append({"target.account._id": me})
        elif not options.get("skipAcl"):
            clauses.append({"$or": [{"creator._id": me}, {"target.account._id": me}]})
        if options.get("where"):
            clauses.append(compile_where(obj, options["where"], ctx).filter)
        if clauses:
            query["$and"] = clauses
        sort = compile_sort(obj, options.get("sort"), ctx) if options.get("sort") else [("_id", -1)]
        with map_store_errors():
            docs = list(layer.store.contexts.find(query).sort(sort).skip(skip).limit(int(limit)))
        return [self._select(self._view(run, doc), options.get("paths")) for doc in docs]
