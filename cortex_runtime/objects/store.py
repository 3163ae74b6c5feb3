"""The object layer's one door to MongoDB: a pymongo ``Database``.

``Store.open(uri)`` connects to a real server when ``uri`` is given (``MONGODB_URI``) and
otherwise opens the embedded mongomock database. Nothing above this module knows which
one it has: both are driven through the same pymongo API. Driver errors are translated
into faults here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mongomock
import pymongo
from pymongo.database import Database
from pymongo.errors import ConfigurationError, DuplicateKeyError, ExecutionTimeout, PyMongoError

from ..faults import Fault

__all__ = ["Store", "map_store_errors"]


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


class Store:
    """Collections of one deployment: ``orgs``, ``contexts`` (every object instance of every
    org, definitions included, keyed by ``org`` and ``object``) and ``cursors``."""

    def __init__(self, db: Database[Any]) -> None:
        self.db = db
        self.orgs = db["orgs"]
        self.contexts = db["contexts"]
        with map_store_errors():
            self.orgs.create_index([("code", pymongo.ASCENDING)], unique=True)
            self.contexts.create_index([("org", pymongo.ASCENDING), ("object", pymongo.ASCENDING), ("_id", pymongo.DESCENDING)])

    @classmethod
    def open(cls, uri: str | None = None, database: str = "cortex") -> Store:
        """A real MongoDB server at ``uri``, or the embedded mongomock store when ``uri`` is None."""
        with map_store_errors():
            client: Any = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) if uri else mongomock.MongoClient()
        return cls(client[database])
