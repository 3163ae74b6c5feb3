"""JWT bearer tokens (rest-api-auth.md §5.6): minted by scripts, verified on requests.

Tokens are RS256-signed with the issuing app's RSA key pair (made on first use, kept on the
app). Claims: ``aud`` (the org's API URL), ``iss`` (the app key), ``sub`` (the account),
``iat``/``nbf``/``exp`` in seconds, ``jti`` for permanent and limited-use tokens, and
``cortex/scp`` (scopes), ``cortex/rls``, ``cortex/skp``, ``cortex/skc``, ``cortex/gnt``,
``cortex/cnt`` (uses allowed), ``cortex/eml``. A token with a ``jti`` has a record in the
store (``tokens``): it is refused once the record is gone (revoked) or its uses are spent, and
an app allows ``maxTokensPerPrincipal`` (10) live ones per subject. Time comes from a ``Clock``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import jwt
from bson import ObjectId
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pymongo import ReturnDocument

from ..accounts.credentials import Credentials
from ..accounts.scopes import validate_scope
from ..clock import Clock, SystemClock
from ..faults import Fault
from ..objects.orgs import Org, load_principal
from ..objects.principals import Principal
from ..objects.store import Store, map_store_errors

__all__ = ["DEFAULT_AUTH_DURATION_S", "DEFAULT_MAX_TOKENS", "Tokens", "in_scope"]

DEFAULT_AUTH_DURATION_S = 900
DEFAULT_MAX_TOKENS = 10
LEEWAY_S = 5


def in_scope(scopes: list[str] | tuple[str, ...] | None, required: str) -> bool:
    """Whether any of ``scopes`` grants the whole ``required`` chain (None means unscoped: all)."""
    if scopes is None:
        return True
    wanted = required.split(".")
    for scope in scopes:
        parts = str(scope).split(".")
        if len(parts) > len(wanted):
            continue
        if all(p == "*" or p == w for p, w in zip(parts, wanted)):
            return True
    return False


def _invalid_option(name: str, reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason, path=name)


def _positive_int(options: dict[str, Any], name: str, maximum: int | None = None) -> int | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        raise _invalid_option(name, f"{name} must be a positive whole number.")
    if maximum is not None and value > maximum:
        raise _invalid_option(name, f"{name} must be at most {maximum}.")
    return int(value)


def _epoch(value: Any, name: str) -> int:
    """Seconds since the epoch of a Date (datetime), an ISO string or epoch milliseconds."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value / 1000)
    if isinstance(value, str):
        try:
            return _epoch(datetime.fromisoformat(value.replace("Z", "+00:00")), name)
        except ValueError:
            pass
    raise _invalid_option(name, f"{name} must be a date.")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Tokens:
    """Mints and verifies an org's tokens; the apps live on the org document."""

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._records = store.tokens
        # Called with (org, principal) when a bearer token authenticates a request: the
        # accounts module fires the subject's authorizeToken.after triggers from it.
        self.on_authorized: Callable[[Org, Principal], None] | None = None

    # ---- apps and keys ----------------------------------------------------------------

    def app(self, org: Org, key: str) -> dict[str, Any]:
        with map_store_errors():
            doc = self.store.orgs.find_one({"_id": org._id}, {"apps": 1}) or {}
        for app in doc.get("apps") or []:
            if app.get("key") == key:
                if app.get("enabled", True) is False:
                    raise Fault("cortex.accessDenied.appDisabled")
                return app
        raise Fault("cortex.accessDenied.invalidJwtApp", reason="Unknown app key.")

    def _private_pem(self, org: Org, app: dict[str, Any]) -> str:
        pem = app.get("rsaPrivate")
        if not pem:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            made = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
            with map_store_errors():
                # Only where no pair exists yet: a worker that lost the race uses the winner's.
                self.store.orgs.update_one(
                    {"_id": org._id, "apps": {"$elemMatch": {"key": app["key"], "rsaPrivate": None}}}, {"$set": {"apps.$.rsaPrivate": made}}
                )
            pem = self.app(org, app["key"]).get("rsaPrivate") or made
        return str(pem)

    def public_key_pem(self, org: Org, api_key: str) -> str:
        """The PEM public key an app's tokens verify with."""
        app = self.app(org, api_key)
        private = serialization.load_pem_private_key(self._private_pem(org, app).encode(), password=None)
        return private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    # ---- minting ----------------------------------------------------------------------

    def create(self, org: Org, audience: str, api_key: str, subject: Any, options: dict[str, Any]) -> str:
        """``accounts.createAuthToken(apiKey, subject, options)`` (scripting-core.md §6)."""
        app = self.app(org, api_key)
        principal = load_principal(self.store, org._id, subject)
        if not principal.is_authenticated:
            raise _invalid_option("subject", "A token's subject is an account.")
        duration = int(app.get("authDuration") or DEFAULT_AUTH_DURATION_S)
        permanent = bool(options.get("permanent"))
        expires_in = _positive_int(options, "expiresIn", duration)
        activates_in = _positive_int(options, "activatesIn")
        max_uses = _positive_int(options, "maxUses")
        if permanent and expires_in is not None:
            raise _invalid_option("expiresIn", "A permanent token does not expire.")
        if activates_in is not None and expires_in is None:
            raise _invalid_option("activatesIn", "activatesIn requires expiresIn.")
        if activates_in is not None and options.get("validAt") is not None:
            raise _invalid_option("activatesIn", "activatesIn and validAt exclude each other.")
        scope = options.get("scope")
        scope = [] if scope is None else scope
        if not isinstance(scope, list):
            raise Fault("cortex.invalidArgument.authScope", reason="scope is an array of strings.", path="scope")
        roles = options.get("roles") or []
        if not isinstance(roles, list):
            raise _invalid_option("roles", "roles is an array of role ids.")

        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {"aud": audience, "iss": api_key, "sub": str(principal._id), "iat": now}
        starts = now
        if options.get("validAt") is not None:
            starts = claims["nbf"] = _epoch(options["validAt"], "validAt")
        elif activates_in is not None:
            starts = claims["nbf"] = now + activates_in
        if not permanent:
            # Valid for expiresIn seconds from when it becomes valid (inferred for activatesIn).
            claims["exp"] = starts + (expires_in or duration)
        if permanent or max_uses is not None:
            claims["jti"] = str(ObjectId())
        claims["cortex/scp"] = [validate_scope(s) for s in scope]
        if roles:
            claims["cortex/rls"] = [str(r) for r in roles]
        if options.get("skipAcl"):
            claims["cortex/skp"] = True
        if options.get("bypassCreateAcl"):
            claims["cortex/skc"] = True
        if options.get("grant") is not None:
            claims["cortex/gnt"] = int(options["grant"])
        if max_uses is not None:
            claims["cortex/cnt"] = max_uses
        if options.get("includeEmail"):
            claims["cortex/eml"] = principal.email
        if "jti" in claims:
            self._record(org, app, principal._id, claims, max_uses)
        return jwt.encode(claims, self._private_pem(org, app), algorithm="RS256")

    def _record(self, org: Org, app: dict[str, Any], subject: ObjectId, claims: dict[str, Any], max_uses: int | None) -> None:
        cap = int(app.get("maxTokensPerPrincipal") or DEFAULT_MAX_TOKENS)
        if len(self._live(org, app["key"], subject)) >= cap:
            raise Fault("cortex.accessDenied.maxJwtPerSubject", reason=f"At most {cap} permanent or limited-use tokens per subject.")
        expires = datetime.fromtimestamp(claims["exp"], tz=timezone.utc) if "exp" in claims else None
        with map_store_errors():
            self._records.insert_one(
                {
                    "org": org._id,
                    "jti": claims["jti"],
                    "app": app["key"],
                    "sub": subject,
                    "created": self.clock.now(),
                    "expires_at": expires,
                    "uses_remaining": max_uses,
                    "times_authorized": 0,
                    "last_authorized": None,
                }
            )

    def _live(self, org: Org, api_key: str, subject: ObjectId) -> list[dict[str, Any]]:
        """The subject's token records that can still authorize (expired or spent ones cannot)."""
        now = self.clock.now()
        with map_store_errors():
            records = list(self._records.find({"org": org._id, "app": api_key, "sub": subject}).sort("_id", 1))
        return [
            r
            for r in records
            if (r.get("expires_at") is None or _utc(r["expires_at"]) > now) and (r.get("uses_remaining") is None or r["uses_remaining"] > 0)  # type: ignore[operator]
        ]

    # ---- verifying --------------------------------------------------------------------

    @staticmethod
    def decode(token: Any) -> dict[str, Any]:
        """The claims of a token, unverified (``accounts.decodeAuthToken``)."""
        try:
            return dict(jwt.decode(str(token), options={"verify_signature": False}))
        except jwt.PyJWTError as exc:
            raise Fault("cortex.accessDenied.invalidJwt", reason="The token cannot be decoded.") from exc

    def authorize(self, org: Org, audience: str, token: Any, client_key: str | None = None) -> tuple[dict[str, Any], Principal]:
        """Verify ``token`` (signature, audience, time, record, subject) and use it once.

        Returns its claims and the principal it authenticates, with its scopes and roles."""
        unverified = self.decode(token)
        issuer = str(unverified.get("iss") or "")
        if client_key and client_key != issuer:
            raise Fault("cortex.accessDenied.invalidJwtApp", reason="The token was issued to another app.")
        app = self.app(org, issuer)
        public = serialization.load_pem_private_key(self._private_pem(org, app).encode(), password=None).public_key()
        try:
            claims = jwt.decode(
                str(token), public, algorithms=["RS256"], audience=audience,  # type: ignore[arg-type]
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["sub", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise Fault("cortex.accessDenied.invalidJwt", reason=str(exc)) from exc
        now = self.clock.now().timestamp()
        if "exp" in claims and now > float(claims["exp"]) + LEEWAY_S:
            raise Fault("cortex.expired.jwt")
        if "nbf" in claims and now + LEEWAY_S < float(claims["nbf"]):
            raise Fault("cortex.accessDenied.invalidJwt", reason="The token is not valid yet.")
        principal = load_principal(self.store, org._id, claims.get("sub"))
        with map_store_errors():
            account = self.store.contexts.find_one({"org": org._id, "object": "account", "_id": principal._id}, {"locked": 1}) or {}
        if account and Credentials(self.store, org, self.clock).is_locked(account):
            raise Fault("cortex.accessDenied.accountLocked")
        if claims.get("jti"):
            self._use(org, str(claims["jti"]))
        roles = tuple(ObjectId(r) for r in claims.get("cortex/rls") or [] if ObjectId.is_valid(str(r)))
        principal = dataclasses.replace(principal, roles=tuple(principal.roles) + roles, scope=tuple(claims.get("cortex/scp") or ()))
        return dict(claims), principal

    def _use(self, org: Org, jti: str) -> None:
        now = self.clock.now()
        with map_store_errors():
            record = self._records.find_one({"org": org._id, "jti": jti})
            if record is None:
                raise Fault("cortex.accessDenied.invalidJwt", reason="The token was revoked.")
            match: dict[str, Any] = {"_id": record["_id"]}
            update: dict[str, Any] = {"$inc": {"times_authorized": 1}, "$set": {"last_authorized": now}}
            if record.get("uses_remaining") is not None:
                match["uses_remaining"] = {"$gt": 0}
                update["$inc"]["uses_remaining"] = -1
            if self._records.find_one_and_update(match, update, return_document=ReturnDocument.AFTER) is None:
                raise Fault("cortex.accessDenied.invalidJwt", reason="The token has no uses left.")

    def verify(self, org: Org, audience: str, token: str, client_key: str | None) -> Principal:
        """The principal a bearer token authenticates (a REST request's credential)."""
        principal = self.authorize(org, audience, token, client_key)[1]
        if self.on_authorized is not None:
            self.on_authorized(org, principal)
        return principal

    # ---- records ----------------------------------------------------------------------

    def revoke(self, org: Org, token_or_id: Any) -> bool:
        """``accounts.revokeAuthToken(tokenOrId)``: False when no such revocable token exists."""
        jti = token_or_id
        if isinstance(token_or_id, str) and token_or_id.count(".") == 2:
            jti = self.decode(token_or_id).get("jti")
        if not isinstance(jti, str) or not jti:
            return False
        with map_store_errors():
            return self._records.delete_one({"org": org._id, "jti": jti}).deleted_count == 1

    def subject_tokens(self, org: Org, api_key: str, subject: Any) -> list[dict[str, Any]]:
        """``accounts.getSubjectTokens(apiKey, subject)``: the live revocable tokens."""
        self.app(org, api_key)
        principal = load_principal(self.store, org._id, subject)
        out = []
        for record in self._live(org, api_key, principal._id):
            item: dict[str, Any] = {"_id": record["jti"]}
            for name in ("expires_at", "uses_remaining", "last_authorized", "times_authorized"):
                if record.get(name) is not None:
                    value = record[name]
                    item[name] = _utc(value) if isinstance(value, datetime) else value
            out.append(item)
        return out

    def revoke_subject(self, org: Org, api_key: str, subject: Any) -> int:
        """``accounts.revokeSubjectTokens(apiKey, subject)``: how many were revoked."""
        self.app(org, api_key)
        principal = load_principal(self.store, org._id, subject)
        with map_store_errors():
            return int(self._records.delete_many({"org": org._id, "app": api_key, "sub": principal._id}).deleted_count)

