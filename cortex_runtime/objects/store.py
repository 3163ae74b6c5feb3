"""The one door to MongoDB: a pymongo ``Database`` and the layout of its collections.

``Store.open(uri)`` connects to a real server when ``uri`` is given (``MONGODB_URI``) and
otherwise opens the embedded store (mongomock with hash indexes, ``objects/embedded.py``),
kept in memory or, with ``data_dir``, in a file. Nothing above this module knows which one it
has: both are driven through the same pymongo API. Driver errors are translated into faults here.

Every collection and every index a real server needs is declared in ``COLLECTIONS`` and created
when the store opens. Object instances live in ``contexts``, as on the platform; what grows with
traffic (log records, nonces, the after-trigger queue, job runs) has a collection of its own, so
a lookup of an account or a script never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymongo
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import ConfigurationError, DuplicateKeyError, ExecutionTimeout, PyMongoError

from ..faults import Fault
from .memo import StoreMemo

if TYPE_CHECKING:
    from .embedded import Persistence

__all__ = ["COLLECTIONS", "Index", "Store", "map_store_errors"]


@contextmanager
def map_store_errors() -> Iterator[None]:
    try:
        yield
    except DuplicateKeyError as exc:
        raise Fault("cortex.conflict.duplicateKey") from exc
    except ExecutionTimeout as exc:
        raise Fault("cortex.timeout.dbQuery") from exc
    except ConfigurationError as exc:
        raise Fault("cortex.invalidArgument.unspecified", reason=f"Invalid MongoDB URI: {exc}", path="mongodbUri") from exc
    except PyMongoError as exc:
        raise Fault("cortex.error.db", reason=type(exc).__name__) from exc


@dataclass(frozen=True)
class Index:
    """One index as MongoDB declares it; ``expire_after`` (seconds) makes it a TTL index."""

    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    expire_after: int | None = None

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"unique": True} if self.unique else {}
        if self.expire_after is not None:
            out["expireAfterSeconds"] = self.expire_after
        return out


def _ix(*keys: str, unique: bool = False, expire_after: int | None = None) -> Index:
    return Index(tuple((k[1:], -1) if k.startswith("-") else (k, 1) for k in keys), unique, expire_after)


COLLECTIONS: dict[str, tuple[Index, ...]] = {
    # One document per org: code, settings, apps, scriptsVersion, principalsVersion.
    "orgs": (_ix("code", unique=True),),
    # Every object instance of every org, definitions and scripts included.
    "contexts": (_ix("org", "object", "-_id"), _ix("org", "object", "email"), _ix("org", "object", "name")),
    # Run log records (object ``log``), kept 30 days (``exp``).
    "logs": (_ix("org", "-_id"), _ix("exp", expire_after=0)),
    # Signed-request nonces, kept for the staleness window (``expires``).
    "nonces": (_ix("signature", "nonce", unique=True), _ix("expires", expire_after=0)),
    # After-triggers waiting to run, claimed once each; finished ones go after ``expires``.
    "queue": (_ix("status", "created"), _ix("expires", expire_after=0)),
    # Cron schedules with their leases, and one record per run.
    "jobs": (_ix("org", "name", unique=True), _ix("active", "next_run")),
    "job_runs": (_ix("org", "job", "due"),),
    # Permanent and limited-use token records (revocable), by id and by app and subject.
    "tokens": (_ix("org", "jti", unique=True), _ix("org", "app", "sub")),
    # Account password hashes and failed-login counts (accounts/credentials.py).
    "credentials": (_ix("org", "account", unique=True),),
    # Module state shared by every worker: cache entries, counters, configs, events.
    "cache": (_ix("org", "key", unique=True), _ix("expires", expire_after=0)),
    "counters": (_ix("org", "name", unique=True),),
    "configs": (_ix("org", "key", unique=True),),
    "events": (_ix("org", "key"), _ix("state", "start")),
    # Per-script hourly stats (api.stats), computed from the log records.
    "stats": (_ix("org", "code", "-starting"),),
    # The script containers of login sessions (require('session')), one per org and session id.
    "sessions": (_ix("org", "session", unique=True),),
    # Notifications no server delivered (require('notifications'), ``cortex-runtime outbox``).
    "outbox": (_ix("org", "created"),),
}

# Objects whose instances live outside ``contexts``.
INSTANCE_COLLECTIONS = {"log": "logs"}


class Store:
    """The collections of one deployment (see ``COLLECTIONS``), as pymongo collections.

    ``embedded`` is True for the embedded store, which exactly one process owns; such a store
    may keep derived state in process (``local``), shared by everything that uses this store.
    """

    def __init__(self, db: Database[Any], *, embedded: bool = False, persistence: Persistence | None = None) -> None:
        self.db = db
        self.embedded = embedded
        self.persistence = persistence
        self.local: dict[str, Any] = {}
        with map_store_errors():
            for name, indexes in COLLECTIONS.items():
                for index in indexes:
                    db[name].create_index(list(index.keys), **index.options())
        self.orgs: Collection[Any] = db["orgs"]
        self.contexts: Collection[Any] = db["contexts"]
        self.logs: Collection[Any] = db["logs"]
        self.nonces: Collection[Any] = db["nonces"]
        self.queue: Collection[Any] = db["queue"]
        self.jobs: Collection[Any] = db["jobs"]
        self.job_runs: Collection[Any] = db["job_runs"]
        self.tokens: Collection[Any] = db["tokens"]
        self.cache: Collection[Any] = db["cache"]
        self.counters: Collection[Any] = db["counters"]
        self.configs: Collection[Any] = db["configs"]
        self.events: Collection[Any] = db["events"]
        self.sessions: Collection[Any] = db["sessions"]
        self.stats: Collection[Any] = db["stats"]
        self.outbox: Collection[Any] = db["outbox"]

    def generation(self, *names: str) -> tuple[int, ...] | None:
        """Change counters of the named collections (attributes of this store, e.g. ``"orgs"``),
        or None when the store cannot tell.

        On the embedded store every write to a collection bumps its counter, and no other process
        writes, so a value derived under an unchanged generation is still current (``memo``). On
        MongoDB other processes write too: None."""
        if not self.embedded:
            return None
        from .embedded import collection_version

        versions = tuple(collection_version(getattr(self, name)) for name in names)
        return None if None in versions else versions  # type: ignore[return-value]

    def memo(self, name: str, *collections: str) -> StoreMemo:
        """The store's memo called ``name``, over ``collections`` (made on first use)."""
        key = f"memo:{name}"
        found = self.local.get(key)
        if found is None:
            found = self.local[key] = StoreMemo(self, collections)
        return found

    def instances(self, object_name: str) -> Collection[Any]:
        """The collection holding the instances of ``object_name``."""
        return getattr(self, INSTANCE_COLLECTIONS.get(object_name, "contexts"))

    @classmethod
    def open(cls, uri: str | None = None, database: str = "cortex", *, data_dir: Path | None = None) -> Store:
        """A real MongoDB server at ``uri``, else the embedded store (in ``data_dir`` when given)."""
        if uri:
            with map_store_errors():
                client: Any = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000)
            return cls(client[database])
        from .embedded import EmbeddedClient, Persistence

        persistence = Persistence(Path(data_dir)) if data_dir is not None else None
        embedded = EmbeddedClient(persistence.load() if persistence else None)
        store = cls(embedded[database], embedded=True, persistence=persistence)
        if persistence is not None:
            persistence.attach(embedded)
        return store

    def close(self) -> None:
        """Write the embedded store's file one last time (a no-op in memory or on a server)."""
        if self.persistence is not None:
            self.persistence.close()
