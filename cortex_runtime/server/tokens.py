"""JWT bearer tokens (rest-api-auth.md §5.6): minted by scripts, verified on requests.

Tokens are RS256-signed with the issuing app's RSA key pair (made on first use). Claims:
``aud`` (the org's API URL), ``iss`` (the app key), ``sub`` (the account), ``iat``/``exp``
in seconds, ``jti`` for permanent tokens (kept in the store so they can be revoked), and
``cortex/scp`` (scopes), ``cortex/rls``, ``cortex/skp``, ``cortex/skc``, ``cortex/gnt``,
``cortex/eml``. A scope is a dot chain; a scope grants everything below it, ``*`` at any
level matches any part (``script`` = ``script.execute`` = ``script.execute.*``).
"""

from __future__ import annotations

import dataclasses

import time
from typing import Any

import jwt
from bson import ObjectId
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..faults import Fault
from ..objects.orgs import Org, load_principal
from ..objects.principals import Principal
from ..objects.store import Store, map_store_errors

__all__ = ["Tokens", "in_scope"]

DEFAULT_EXPIRES_S = 900


def in_scope(scopes: list[str] | tuple[str, ...] | None, required: str) -> bool:
    """Whether any of ``scopes`` grants the ``required`` chain (None means unscoped: all)."""
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


class Tokens:
    """Mints and verifies an org's tokens; the apps live on the org document."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._revoked = store.tokens

    def _app(self, org: Org, key: str) -> dict[str, Any]:
        with map_store_errors():
            doc = self.store.orgs.find_one({"_id": org._id}, {"apps": 1}) or {}
        for app in doc.get("apps") or []:
            if app.get("key") == key:
                return app
        raise Fault("cortex.accessDenied.invalidJwtApp", reason="Unknown app key.")

    def _private_key(self, org: Org, app: dict[str, Any]) -> str:
        pem = app.get("rsaPrivate")
        if not pem:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
            with map_store_errors():
                self.store.orgs.update_one({"_id": org._id, "apps.key": app["key"]}, {"$set": {"apps.$.rsaPrivate": pem}})
        return str(pem)

    def create(self, org: Org, audience: str, api_key: str, subject: Any, options: dict[str, Any]) -> str:
        """``accounts.createAuthToken(apiKey, subject, options)``."""
        app = self._app(org, api_key)
        principal = load_principal(self.store, org._id, subject)
        now = int(time.time())
        claims: dict[str, Any] = {"aud": audience, "iss": api_key, "sub": str(principal._id), "iat": now}
        if not options.get("permanent"):
            claims["exp"] = now + int(options.get("expiresIn") or DEFAULT_EXPIRES_S)
        if options.get("permanent") or options.get("maxUses"):
            claims["jti"] = str(ObjectId())
        claims["cortex/scp"] = list(options.get("scope") or [])
        if options.get("roles"):
            claims["cortex/rls"] = [str(r) for r in options["roles"]]
        if options.get("skipAcl"):
            claims["cortex/skp"] = True
        if options.get("bypassCreateAcl"):
            claims["cortex/skc"] = True
        if options.get("grant") is not None:
            claims["cortex/gnt"] = int(options["grant"])
        if options.get("includeEmail"):
            claims["cortex/eml"] = principal.email
        return jwt.encode(claims, self._private_key(org, app), algorithm="RS256")

    def revoke(self, org: Org, jti: str) -> bool:
        with map_store_errors():
            if self._revoked.find_one({"org": org._id, "jti": jti}):
                return False
            self._revoked.insert_one({"org": org._id, "jti": jti})
        return True

    def verify(self, org: Org, audience: str, token: str, client_key: str | None) -> Principal:
        """The principal a bearer token authenticates, with its scopes and roles."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Fault("cortex.accessDenied.invalidJwt", reason="The token cannot be decoded.") from exc
        issuer = str(unverified.get("iss") or "")
        if client_key and client_key != issuer:
            raise Fault("cortex.accessDenied.invalidJwtApp", reason="The token was issued to another app.")
        app = self._app(org, issuer)
        private = serialization.load_pem_private_key(self._private_key(org, app).encode(), password=None)
        try:
            claims = jwt.decode(token, private.public_key(), algorithms=["RS256"], audience=audience, leeway=5)  # type: ignore[arg-type]
        except jwt.ExpiredSignatureError as exc:
            raise Fault("cortex.expired.jwt") from exc
        except jwt.PyJWTError as exc:
            raise Fault("cortex.accessDenied.invalidJwt", reason=str(exc)) from exc
        if claims.get("jti"):
            with map_store_errors():
                if self._revoked.find_one({"org": org._id, "jti": claims["jti"]}):
                    raise Fault("cortex.accessDenied.invalidJwt", reason="The token was revoked.")
        principal = load_principal(self.store, org._id, claims.get("sub"))
        roles = tuple(ObjectId(r) for r in claims.get("cortex/rls") or [])
        return dataclasses.replace(principal, roles=tuple(principal.roles) + roles, scope=tuple(claims.get("cortex/scp") or ()))
