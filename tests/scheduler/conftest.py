"""The ``store`` fixture of the scheduler tests: each test runs on both code paths of ``JobStore``."""

from __future__ import annotations

import mongomock
import pytest

from cortex_runtime.objects.store import Store


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest) -> Store:
    """The embedded store (due times kept in process) and the server code path (one indexed query).

    The server path runs over a plain mongomock database, which ``Store`` treats as a server.
    """
    if request.param == "embedded":
        return Store.open(None)
    return Store(mongomock.MongoClient()["cortex"])
