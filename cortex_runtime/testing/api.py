"""The harness's powers for Python-side tests of scripts (the pytest plugin's ``cortex_runtime``
fixture): run scripts in the test org, move the clock, create accounts, mock callouts, read the
outbox and log records, load fixtures and call routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..faults import Fault
from ..sandbox.codec import to_plain
from .durations import duration_ms
from .session import HarnessSession

__all__ = ["CortexTestRuntime"]


class _Clock:
    def __init__(self, session: HarnessSession) -> None:
        self._session = session

    def now(self) -> datetime:
        return self._session.clock.now()

    def advance(self, duration: Any) -> datetime:
        """Move forward by ms or '90s' / '2h' / '1d', running due cron jobs and queued events in order."""
        self._session.advance(duration_ms(duration))
        return self._session.clock.now()


class _Accounts:
    def __init__(self, session: HarnessSession) -> None:
        self._session = session

    def create(self, email: str | None = None, **fields: Any) -> dict[str, Any]:
        return self._session.create_account({"email": email, **fields} if email else dict(fields))


class _Http:
    def __init__(self, session: HarnessSession) -> None:
        self._session = session

    def mock(self, url: str, response: dict[str, Any] | None = None, *, method: str | None = None, times: int | None = None) -> None:
        """Answer callouts to ``url`` (exact, or with ``*`` wildcards) with ``response``."""
        self._session.http.add({"url": url}, response or {}, {"method": method, "times": times})

    def mock_regex(self, pattern: str, response: dict[str, Any] | None = None, *, method: str | None = None) -> None:
        self._session.http.add({"regexp": pattern}, response or {}, {"method": method})

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self._session.http.requests)


class _Fixtures:
    def __init__(self, session: HarnessSession) -> None:
        self._session = session

    def load(self, object_name: str, docs: list[dict[str, Any]] | dict[str, Any]) -> list[Any]:
        return self._session.load_fixtures(object_name, docs)


class CortexTestRuntime:
    """One test's org (fresh, on its own embedded store) with the environment deployed."""

    def __init__(self, session: HarnessSession) -> None:
        self.session = session
        self.runtime = session.runtime
        self.org = session.org
        self.admin = session.admin
        self.clock = _Clock(session)
        self.accounts = _Accounts(session)
        self.http = _Http(session)
        self.fixtures = _Fixtures(session)

    def run(self, source: str, *, principal: Any = None, arguments: Any = None, script_type: str = "route") -> Any:
        """Run ``source`` in the org (as the administrator, or ``principal``: email or id) and
        return its result as JSON-ready data; its fault is raised."""
        result = self.runtime.run(source, org=self.org, principal=self.session.principal(principal), script_type=script_type, arguments=arguments)
        self.session.settle()
        if result.fault is not None:
            raise result.fault
        return to_plain(result.value)

    def route(self, method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None, principal: Any = None) -> dict[str, Any]:
        """A custom route, as ``/routes/<path>`` runs it: {status, headers, body}."""
        return to_plain(self.session.call_route(method, path, {"body": body, "query": query, "headers": headers, "principal": principal}))

    def outbox(self, **options: Any) -> list[dict[str, Any]]:
        from ..modules.notifications import outbox_entries

        return to_plain(outbox_entries(self.runtime.store, self.org._id, options))

    def logs(self, **query: Any) -> list[dict[str, Any]]:
        """The org's log records, oldest first (``stp='job'``, ``src=0`` ... narrow them)."""
        from ..objects.store import map_store_errors

        with map_store_errors():
            docs = list(self.runtime.store.logs.find({"org": self.org._id, **query}).sort("_id", 1).limit(1000))
        return to_plain(docs)

    def find(self, object_name: str, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Instances of an object as the administrator reads them."""
        if not isinstance(object_name, str):
            raise Fault("cortex.invalidArgument.unspecified", reason="find needs an object name.", path="object")
        layer = self.runtime.layer(self.org, self.admin)
        return to_plain(list(layer.iterate(object_name, {"where": where or {}, "limit": 1000})))
