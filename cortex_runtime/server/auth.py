"""Who is calling: apps, signed requests (rest-api-auth.md §5.5) and the principal they act as.

An app belongs to an org and has a 22-character key; a signing app also has a 64-character
secret. A signed request carries ``medable-client-signature`` = hex HMAC-SHA256 over
``<path after /{org}[/v2]>;<METHOD>;<timestamp ms>`` keyed by ``key + secret``, a 16-character
nonce and the timestamp. Timestamps more than 15 minutes away are stale; a (signature,
nonce) pair seen before is a replay, remembered in the store so every worker refuses it.
Bearer tokens (JWT) and sessions plug in here as further credential kinds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..objects.orgs import Org, load_principal
from ..objects.principals import Principal
from ..objects.store import Store, map_store_errors
from . import routing
from .tokens import Tokens

__all__ = ["App", "Authenticator", "generate_key", "generate_secret", "normalise_path", "sign", "signed_headers"]

WINDOW_MS = 15 * 60 * 1000
_ALNUM = string.ascii_letters + string.digits
_KEY = re.compile(r"^[0-9A-Za-z]{22}$")
_SECRET = re.compile(r"^[0-9A-Za-z]{64}$")


def generate_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(22))


def generate_secret() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(64))


def normalise_path(path: str) -> str:
    """``/`` + the path with duplicate slashes collapsed and outer slashes stripped."""
    return "/" + routing.normalise_path(path)


def sign(path: str, method: str, timestamp: str, key: str, secret: str) -> str:
    message = f"{normalise_path(path)};{method.upper()};{timestamp}"
    return hmac.new((key + secret).encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(path: str, method: str, key: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a request signed as the real client signs it (path after ``/{org}[/v2]``)."""
    stamp = str(timestamp if timestamp is not None else int(datetime.now(timezone.utc).timestamp() * 1000))
    return {
        "medable-client-key": key,
        "medable-client-signature": sign(path, method, stamp, key, secret),
        "medable-client-nonce": "".join(secrets.choice(_ALNUM) for _ in range(16)),
        "medable-client-timestamp": stamp,
    }


@dataclass(frozen=True)
class App:
    name: str
    key: str
    secret: str | None
    principal_id: ObjectId | None
    principal_override: bool = False
    allow_unsigned: bool = False
    enabled: bool = True

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> App:
        return cls(
            name=str(doc.get("name", "")),
            key=str(doc["key"]),
            secret=doc.get("secret"),
            principal_id=doc.get("principalId"),
            principal_override=bool(doc.get("principalOverride")),
            allow_unsigned=bool(doc.get("allowUnsigned")),
            enabled=doc.get("enabled", True) is not False,
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "secret": self.secret,
            "principalId": self.principal_id,
            "principalOverride": self.principal_override,
            "allowUnsigned": self.allow_unsigned,
            "enabled": self.enabled,
        }


def _denied(reason: str) -> Fault:
    return Fault("cortex.accessDenied.invalidRequestSignature", reason=reason)


class Authenticator:
    """Resolves the caller of a request from its headers. Time comes from ``now_ms``."""

    def __init__(self, store: Store, now_ms: Any = None, tokens: Tokens | None = None, audience: Any = None) -> None:
        self.store = store
        self.tokens = tokens or Tokens(store)
        self._audience = audience or (lambda org: f"http://localhost/{org.code}/v2")
        self._now_ms = now_ms or (lambda: int(datetime.now(timezone.utc).timestamp() * 1000))
        self._nonces = store.nonces

    # ---- apps -------------------------------------------------------------------------

    def add_app(self, org: Org, app: App) -> App:
        if not _KEY.match(app.key) or (app.secret is not None and not _SECRET.match(app.secret)):
            raise Fault("cortex.invalidArgument.unspecified", reason="An app key has 22 and a secret 64 letters or digits.")
        with map_store_errors():
            self.store.orgs.update_one({"_id": org._id}, {"$pull": {"apps": {"key": app.key}}})
            self.store.orgs.update_one({"_id": org._id}, {"$push": {"apps": app.to_doc()}})
        return app

    def apps(self, org: Org) -> list[App]:
        return list(self.store.memo("apps", "orgs").get(org._id, lambda: self._read_apps(org)))

    def _read_apps(self, org: Org) -> tuple[App, ...]:
        with map_store_errors():
            doc = self.store.orgs.find_one({"_id": org._id}, {"apps": 1}) or {}
        return tuple(App.from_doc(app) for app in doc.get("apps") or [])

    def app(self, org: Org, key: str | None) -> App:
        if not key:
            raise Fault("cortex.accessDenied.noCredentialsSupplied", reason="medable-client-key is required.")
        for found in self.apps(org):
            if found.key == key:
                if not found.enabled:
                    raise Fault("cortex.accessDenied.appDisabled")
                return found
        raise Fault("cortex.accessDenied.app", reason="Unknown app key.")

    # ---- requests ---------------------------------------------------------------------

    def principal(self, org: Org, headers: dict[str, str], method: str, path: str) -> Principal:
        """The principal a request acts as; ``path`` is the part after ``/{org}[/v2]``."""
        authorization = headers.get("authorization") or ""
        if authorization.lower().startswith("bearer "):
            return self.tokens.verify(org, self._audience(org), authorization[7:].strip(), headers.get("medable-client-key"))
        app = self.app(org, headers.get("medable-client-key"))
        signature = headers.get("medable-client-signature")
        if app.secret is not None and (signature or not app.allow_unsigned):
            self._verify(app, headers, method, path)
        override = headers.get("medable-client-account")
        if override:
            if not app.principal_override:
                raise Fault("cortex.accessDenied.principal", reason="This app may not act as another principal.")
            return load_principal(self.store, org._id, override)
        if app.principal_id is None:
            return Principal.anonymous(org._id)
        return load_principal(self.store, org._id, app.principal_id)

    def _verify(self, app: App, headers: dict[str, str], method: str, path: str) -> None:
        signature = headers.get("medable-client-signature") or ""
        nonce = headers.get("medable-client-nonce") or ""
        timestamp = headers.get("medable-client-timestamp") or ""
        if len(signature) != 64 or len(nonce) != 16 or not timestamp.isdigit():
            raise _denied("A signed request needs a signature, a 16-character nonce and a timestamp.")
        expected = sign(path, method, timestamp, app.key, app.secret or "")
        if not hmac.compare_digest(expected, signature.lower()):
            raise _denied("The request signature does not match.")
        now = self._now_ms()
        if abs(int(timestamp) - now) > WINDOW_MS:
            raise Fault("cortex.invalidArgument.staleRequestSignature", reason="The request timestamp is more than 15 minutes away.")
        # Kept for the staleness window (a TTL index removes it): a replay after that is stale anyway.
        expires = datetime.fromtimestamp((int(timestamp) + WINDOW_MS) / 1000 + 1, tz=timezone.utc)
        try:
            with map_store_errors():
                self._nonces.insert_one({"signature": signature.lower(), "nonce": nonce, "expires": expires})
        except Fault as fault:
            if fault.errCode == "cortex.conflict.duplicateKey":
                raise _denied("This signature and nonce were used before.") from None
            raise
