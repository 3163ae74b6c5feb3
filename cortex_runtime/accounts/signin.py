"""Account sign-in for scripts (scripting-core.md §6): ``preAuth``, ``failAuth``, ``login``,
``register`` and ``provision``, with the lockout of ``credentials.py``.

``login`` fires the account's ``signin.before`` triggers before it checks the password (a
throw or ``false`` from one refuses the sign-in) and ``signin.after`` once it succeeded, as
ordinary object triggers (decisions.md "Account events"), run as the account signing in.

Choices where the spec is silent:
- ``login`` and ``register`` need a request, so only route scripts may call them; elsewhere
  they fail with ``cortex.invalidArgument.unspecified`` naming the method.
- This host has no login sessions or device fingerprints, so a script's ``login`` does not
  run the new-location check (``verifyLocation`` is accepted and has nothing to check) and
  returns the principal without starting a session.
- ``register`` bypasses the org's self-registration switches (``registration.allow``,
  ``invitationRequired``): the script decides who registers. It follows the rest of the org's
  settings: ``registration.bypassAccountVerification`` (verified at once),
  ``registration.activationRequired`` and ``minPasswordScore``.
- Account emails (welcome, verification, account locked, password reset) go to the org's
  outbox, where notifications land without an SMTP server (modules/notifications.py).

One-time account tokens (the REST endpoints of rest-api-auth.md §6.2): ``resend_verification``
and ``request_password_reset`` email a 32-character token; only its SHA-256 is kept, on the
account's credentials record, with an expiry (verification 7 days, password reset 1 day:
inferred, the spec gives none). A new token replaces the previous one; using it clears it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from ..clock import ensure_utc
from ..faults import Fault
from ..objects.instances import ObjectLayer
from ..objects.orgs import Org, load_principal
from ..objects.principals import Principal
from ..objects.store import map_store_errors
from .credentials import Credentials, check_password_strength, org_setting

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["SignIn"]

_MOBILE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_REGISTER_FIELDS = ("email", "name", "mobile", "dob", "gender", "tz", "locale", "username")
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOKEN_LENGTH = 32
# (stored field, lifetime) of each kind of one-time account token.
_TOKENS = {"verification": ("verificationToken", timedelta(days=7)), "passwordReset": ("passwordResetToken", timedelta(days=1))}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _credentials_fault() -> Fault:
    return Fault("cortex.accessDenied.invalidCredentials")


def _required(path: str, reason: str) -> Fault:
    return Fault("cortex.invalidArgument.required", reason=reason, path=path)


def _validation(faults: list[Fault]) -> Fault:
    return Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=faults)


class SignIn:
    """The sign-in operations of one script run, in its org, as its layer's principal."""

    def __init__(self, runtime: Runtime, org: Org, layer: ObjectLayer) -> None:
        self.runtime = runtime
        self.org = org
        self.layer = layer
        self.credentials = Credentials(runtime.store, org, runtime.clock)
        # One-time tokens live on the account's credentials record, never on the account.
        self._tokens = runtime.store.db["credentials"]

    # ---- lookups ----------------------------------------------------------------------

    def _account(self, key: Any) -> dict[str, Any] | None:
        """The stored account of an email (or username), or None."""
        if not isinstance(key, str) or not key.strip():
            return None
        value = key.strip()
        field = "email" if "@" in value else "username"
        with map_store_errors():
            return self.runtime.store.contexts.find_one({"org": self.org._id, "object": "account", field: value.lower() if field == "email" else value})

    def _as_self(self, account_id: ObjectId) -> tuple[Principal, ObjectLayer]:
        principal = load_principal(self.runtime.store, self.org._id, account_id)
        return principal, self.layer.as_principal(principal)

    def _read(self, layer: ObjectLayer, account_id: ObjectId) -> Any:
        return layer.read_one("account", {"where": {"_id": account_id}})

    # ---- preAuth / failAuth -----------------------------------------------------------

    def pre_auth(self, email: Any) -> Any:
        """``accounts.preAuth(email)``: the account as read by itself, unless missing or locked."""
        account = self._account(email)
        if account is None:
            raise _credentials_fault()
        if self.credentials.is_locked(account):
            raise Fault("cortex.accessDenied.accountLocked")
        _, layer = self._as_self(account["_id"])
        return self._read(layer, account["_id"])

    def fail_auth(self, email: Any, err: Any = None) -> None:
        """``accounts.failAuth(email[, err])``: count a failed login; always throws."""
        account = self._account(email)
        if account is None:
            raise _credentials_fault()
        if self.credentials.is_locked(account):
            raise Fault("cortex.accessDenied.accountLocked")
        if self.credentials.record_failure(account["_id"]):
            self._email(account, "account-locked", "Your account has been locked", "Too many failed sign-in attempts locked your account for a while.")
        # The failure that locks still reports bad credentials; the next attempt is refused as locked.
        raise _credentials_fault()

    # ---- login ------------------------------------------------------------------------

    def login(self, payload: Any, options: Mapping[str, Any]) -> dict[str, Any]:
        """``accounts.login(payload, {passwordLess, verifyLocation})``: the signed-in principal."""
        if not isinstance(payload, Mapping):
            raise Fault("cortex.invalidArgument.unspecified", reason="login expects a payload object.", path="payload")
        account = self._account(payload.get("email") or payload.get("username"))
        if account is None:
            raise _credentials_fault()
        if self.credentials.is_locked(account):
            raise Fault("cortex.accessDenied.accountLocked")
        principal, layer = self._as_self(account["_id"])
        obj = layer.definitions.require("account")
        self.runtime.triggers.before(layer, obj, "signin", dict(account), account, {})
        if not options.get("passwordLess") and not self.credentials.check_password(account["_id"], payload.get("password")):
            self.fail_auth(account["email"])
        if account.get("activationRequired"):
            raise Fault("cortex.accessDenied.accountActivationRequired")
        self.credentials.record_success(account["_id"])
        self.runtime.triggers.after(layer, obj, "signin", account, account)
        return {"_id": principal._id, "object": "account", "email": principal.email, "name": dict(principal.name), "roles": list(principal.roles)}

    # ---- register / provision ---------------------------------------------------------

    def register(self, payload: Any, options: Mapping[str, Any]) -> Any:
        """``accounts.register(payload, options)``: a new account, as read by its holder."""
        if not isinstance(payload, Mapping):
            raise Fault("cortex.invalidArgument.unspecified", reason="register expects a payload object.", path="payload")
        missing: list[Fault] = []
        name = payload.get("name") if isinstance(payload.get("name"), Mapping) else {}
        for part in ("first", "last"):
            if not isinstance(name.get(part), str) or not name[part].strip():
                missing.append(_required(f"account.name.{part}", f"name.{part} is required."))
        if not isinstance(payload.get("email"), str) or "@" not in payload["email"]:
            missing.append(_required("account.email", "A valid email is required."))
        mobile = payload.get("mobile")
        if options.get("requireMobile", True) and not mobile:
            missing.append(_required("account.mobile", "A mobile number is required."))
        elif mobile and (not isinstance(mobile, str) or not _MOBILE.match(mobile)):
            missing.append(Fault("cortex.invalidArgument.phoneNumberFormat", reason="mobile is an E.164 number.", path="account.mobile"))
        if missing:
            raise _validation(missing)
        password = check_password_strength(self.org, payload.get("password"))
        registration = org_setting(self.org, "registration") or {}
        verified = bool(options.get("skipVerification")) or bool(registration.get("bypassAccountVerification"))
        activation = bool(registration.get("activationRequired")) and not options.get("skipActivation")
        fields = {k: payload[k] for k in _REGISTER_FIELDS if k in payload}
        created = self.layer.provision(fields, {"paths": ["_id"]})
        account_id = created["_id"] if isinstance(created, Mapping) else created
        self._finish(account_id, password, state="verified" if verified else "unverified", activation=activation)
        if not options.get("skipNotification"):
            account = self._stored(account_id)
            if not verified:
                self._email(account, "account-verification", "Verify your account", "Please verify your email address.")
            self._email(account, "account-welcome", "Welcome", "Your account has been created.")
        _, layer = self._as_self(account_id)
        return self._read(layer, account_id)

    def provision(self, payload: Any, options: Mapping[str, Any]) -> Any:
        """``accounts.provision(payload, {skipActivation, sendWelcomeEmail})``: a new account."""
        password = payload.get("password") if isinstance(payload, Mapping) else None
        if password is not None:
            check_password_strength(self.org, password)
        created = self.layer.provision(payload, {"paths": ["_id"]})
        account_id = created["_id"] if isinstance(created, Mapping) else created
        registration = org_setting(self.org, "registration") or {}
        activation = bool(registration.get("activationRequired")) and not options.get("skipActivation")
        self._finish(account_id, password, state=None, activation=activation)
        if options.get("sendWelcomeEmail", True) is not False:
            self._email(self._stored(account_id), "account-welcome", "Welcome", "An account has been created for you.")
        return self.layer.read_one("account", {"where": {"_id": account_id}, "skipAcl": True, "grant": "read"})

    def _finish(self, account_id: ObjectId, password: str | None, *, state: str | None, activation: bool) -> None:
        if password is not None:
            self.credentials.set_password(account_id, password)
        changes: dict[str, Any] = {}
        if state is not None:
            changes["state"] = state
        if activation:
            changes["activationRequired"] = True
        if changes:
            with map_store_errors():
                self.runtime.store.contexts.update_one({"org": self.org._id, "object": "account", "_id": account_id}, {"$set": changes})

    def _stored(self, account_id: ObjectId) -> dict[str, Any]:
        with map_store_errors():
            return self.runtime.store.contexts.find_one({"org": self.org._id, "object": "account", "_id": account_id}) or {}

    # ---- emails -----------------------------------------------------------------------

    def _email(self, account: Mapping[str, Any], notification: str, subject: str, text: str, variables: Mapping[str, Any] | None = None) -> None:
        now = self.runtime.clock.now()
        entry = {
            "_id": ObjectId(),
            "org": self.org._id,
            "object": "outbox",
            "created": now,
            "notification": notification,
            "template": notification,
            "recipient": account.get("_id"),
            "sender": self.layer.principal._id,
            "locale": account.get("locale") or "en_US",
            "variables": {"account": {"_id": account.get("_id"), "email": account.get("email"), "name": account.get("name")}, **(variables or {})},
            "context": None,
            "options": {},
            "endpoints": {"email": {"to": account.get("email"), "subject": subject, "plain": text}},
            "script": None,
        }
        with map_store_errors():
            self.runtime.store.outbox.insert_one(entry)

    # ---- one-time account tokens (REST) -----------------------------------------------

    def _issue(self, account_id: ObjectId, kind: str) -> str:
        field, lifetime = _TOKENS[kind]
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))
        record = {"digest": _digest(token), "expires": self.runtime.clock.now() + lifetime}
        with map_store_errors():
            self._tokens.update_one({"org": self.org._id, "account": account_id}, {"$set": {field: record}}, upsert=True)
        return token

    def _redeem(self, token: Any, kind: str, fault: str) -> ObjectId:
        """The account a live token of ``kind`` belongs to; the token is used up."""
        field, _ = _TOKENS[kind]
        if not isinstance(token, str) or not token:
            raise Fault(fault)
        with map_store_errors():
            record = self._tokens.find_one_and_update(
                {"org": self.org._id, f"{field}.digest": _digest(token)}, {"$unset": {field: ""}}
            )
        if record is None:
            raise Fault(fault)
        expires = (record.get(field) or {}).get("expires")
        # mongomock and pymongo hand back naive UTC datetimes.
        if expires is None or ensure_utc(expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)) <= self.runtime.clock.now():
            raise Fault(fault, reason="The token has expired.")
        return record["account"]  # type: ignore[no-any-return]

    def resend_verification(self, account_id: ObjectId) -> bool:
        """Email the account a new verification token; already verified is a conflict."""
        account = self._stored(account_id)
        if not account:
            raise Fault("cortex.notFound.account")
        if account.get("state", "verified") == "verified":
            raise Fault("cortex.conflict.accountAlreadyVerified")
        token = self._issue(account_id, "verification")
        self._email(account, "account-verification", "Verify your account", f"Verify your email address with the token {token}.", {"token": token})
        return True

    def verify_account(self, token: Any) -> ObjectId:
        """Mark the account of a verification token verified; its id."""
        account_id = self._redeem(token, "verification", "cortex.notFound.accountToken")
        with map_store_errors():
            self.runtime.store.contexts.update_one({"org": self.org._id, "object": "account", "_id": account_id}, {"$set": {"state": "verified"}})
        return account_id

    def request_password_reset(self, email: Any = None, account_id: Any = None, username: Any = None) -> bool:
        """Email a password reset token to the account of ``email``, ``accountId`` or ``username``.

        An unknown account answers ``True`` as well, so the endpoint does not tell which
        emails have accounts; only a malformed ``accountId`` is a fault."""
        if account_id is not None:
            try:
                oid = ObjectId(str(account_id))
            except Exception as exc:
                raise Fault("cortex.invalidArgument.invalidObjectId", path="accountId") from exc
            account = self._stored(oid) or None
        elif isinstance(email, str) and email.strip():
            account = self._account(email if "@" in email else "")
        elif isinstance(username, str) and username.strip():
            account = self._account(username)
        else:
            raise _required("email", "An email, accountId or username is required.")
        if account:
            token = self._issue(account["_id"], "passwordReset")
            self._email(account, "password-reset", "Reset your password", f"Reset your password with the token {token}.", {"token": token})
        return True

    def reset_password(self, token: Any, password: Any) -> bool:
        """Set the password of a reset token's account (the org's strength rules apply)."""
        checked = check_password_strength(self.org, password)
        account_id = self._redeem(token, "passwordReset", "cortex.notFound.passwordResetToken")
        self.credentials.set_password(account_id, checked)
        return True
