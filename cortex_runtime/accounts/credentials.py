"""Account credentials: password hashes and the failed-login lockout (rest-api-auth.md §6.2).

One record per account in the ``credentials`` collection, never part of the account document
(so no read of an account can show it): ``password`` (a salted scrypt hash), ``attempts``
(failed logins since the last success) and ``lockedUntil``. After
``security.unauthorizedAccess.lockAttempts`` failures (default 5) the account is locked for
``lockDuration`` minutes (default 15): the account's ``locked`` flag is set, and cleared by the
first sign-in attempt after the lock expires. An account locked by hand (``locked`` without a
``lockedUntil``) stays locked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from ..clock import Clock, ensure_utc
from ..faults import Fault
from ..objects.orgs import Org
from ..objects.store import Store, map_store_errors
from ..objects.validators import password_score

__all__ = ["Credentials", "check_password_strength", "hash_password", "lockout_settings", "org_setting", "verify_password"]

DEFAULT_LOCK_ATTEMPTS = 5
DEFAULT_LOCK_MINUTES = 15
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not isinstance(password, str):
        return False
    try:
        kind, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(computed.hex(), digest)


def org_setting(org: Org, *path: str) -> Any:
    """A nested org setting, at the top of ``settings`` or under ``configuration``."""
    for root in (org.settings, org.settings.get("configuration") or {}):
        value: Any = root
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def lockout_settings(org: Org) -> tuple[int, int]:
    """(lockAttempts, lockDuration minutes) of ``security.unauthorizedAccess``."""
    attempts = org_setting(org, "security", "unauthorizedAccess", "lockAttempts")
    minutes = org_setting(org, "security", "unauthorizedAccess", "lockDuration")
    return (
        int(attempts) if isinstance(attempts, (int, float)) and attempts > 0 else DEFAULT_LOCK_ATTEMPTS,
        int(minutes) if isinstance(minutes, (int, float)) and minutes > 0 else DEFAULT_LOCK_MINUTES,
    )


def check_password_strength(org: Org, password: Any) -> str:
    """``password`` when it is a string meeting the org's ``minPasswordScore`` (0-4)."""
    if not isinstance(password, str) or not password:
        child = Fault("cortex.invalidArgument.required", reason="A password is required.", path="account.password")
        raise Fault("cortex.invalidArgument.validation", reason="Validation error.", faults=[child])
    minimum = org_setting(org, "minPasswordScore")
    if isinstance(minimum, (int, float)) and password_score(password) < minimum:
        raise Fault("cortex.invalidArgument.passwordStrength", path="account.password")
    return password


class Credentials:
    """The credentials of one org's accounts; time comes from ``clock``."""

    def __init__(self, store: Store, org: Org, clock: Clock) -> None:
        self.store = store
        self.org = org
        self.clock = clock
        self._records = store.db["credentials"]

    def _record(self, account_id: ObjectId) -> dict[str, Any]:
        with map_store_errors():
            return self._records.find_one({"org": self.org._id, "account": account_id}) or {}

    def set_password(self, account_id: ObjectId, password: str) -> None:
        with map_store_errors():
            self._records.update_one(
                {"org": self.org._id, "account": account_id}, {"$set": {"password": hash_password(password)}}, upsert=True
            )

    def check_password(self, account_id: ObjectId, password: Any) -> bool:
        return verify_password(password, self._record(account_id).get("password"))

    def is_locked(self, account: dict[str, Any]) -> bool:
        """Whether ``account`` (its stored document) is locked now; an expired lock is lifted."""
        if not account.get("locked"):
            return False
        until = self._record(account["_id"]).get("lockedUntil")
        if until is None:
            return True  # locked by hand
        if ensure_utc(_aware(until)) > self.clock.now():
            return True
        self._unlock(account["_id"])
        return False

    def _unlock(self, account_id: ObjectId) -> None:
        with map_store_errors():
            self._records.update_one({"org": self.org._id, "account": account_id}, {"$set": {"attempts": 0}, "$unset": {"lockedUntil": ""}})
            self.store.contexts.update_one({"org": self.org._id, "object": "account", "_id": account_id}, {"$set": {"locked": False}})

    def record_failure(self, account_id: ObjectId) -> bool:
        """Count a failed login; True when this failure locks the account."""
        attempts_allowed, minutes = lockout_settings(self.org)
        with map_store_errors():
            # A lock lifted by hand (``locked`` cleared before it expired) starts the count over.
            self._records.update_one(
                {"org": self.org._id, "account": account_id, "lockedUntil": {"$ne": None}}, {"$set": {"attempts": 0}, "$unset": {"lockedUntil": ""}}
            )
            record = self._records.find_one_and_update(
                {"org": self.org._id, "account": account_id}, {"$inc": {"attempts": 1}}, upsert=True, return_document=ReturnDocument.AFTER
            )
            if int(record.get("attempts") or 0) < attempts_allowed:
                return False
            until = self.clock.now() + timedelta(minutes=minutes)
            self._records.update_one({"_id": record["_id"]}, {"$set": {"lockedUntil": until}})
            self.store.contexts.update_one({"org": self.org._id, "object": "account", "_id": account_id}, {"$set": {"locked": True}})
        return True

    def record_success(self, account_id: ObjectId) -> None:
        with map_store_errors():
            self._records.update_one({"org": self.org._id, "account": account_id}, {"$set": {"attempts": 0}})


def _aware(moment: datetime) -> datetime:
    # mongomock and pymongo hand back naive UTC datetimes.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
