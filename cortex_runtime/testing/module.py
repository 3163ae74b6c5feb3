"""``require('cortex-test.native')``: the host side of ``require('cortex-test')``
(cortex_runtime/testing/js/cortex-test.js) and of the mocha-style runner (js/mocha.js).

It exists only in a harness session's runtime; no other runtime registers it.
"""

from __future__ import annotations

import time
from typing import Any

from bson import ObjectId

from ..faults import Fault
from ..modules.notifications import outbox_entries
from ..objects.orgs import load_principal
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from .durations import duration_ms

__all__ = ["TestModule"]



class TestModule:
    require_name = "cortex-test.native"
    prefix = "cortex-test.native."
    needs_context = False
    methods = (
        "now", "setNow", "duration", "nextDue", "runDue", "settle", "elapsed",
        "accountsCreate", "httpMock", "httpRequests", "httpReset", "outbox", "logs", "fixturesLoad",
        "asBegin", "asEnd", "begin", "report", "planned", "random", "routeCall",
    )

    def __init__(self, session: Any) -> None:
        self._session = session
        self._started = time.perf_counter()

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix):]
        if method not in self.methods:
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        handler = getattr(self, f"_{method}")
        return handler(run, *args)

    # ---- clock ---------------------------------------------------------------------------

    def _now(self, run: RunInfo) -> int:
        return self._session.now_ms()

    def _setNow(self, run: RunInfo, ms: Any) -> None:  # noqa: N802 - the JS name
        self._session.set_now_ms(ms)

    def _duration(self, run: RunInfo, value: Any = None) -> int:
        return duration_ms(value)

    def _nextDue(self, run: RunInfo, limit: Any = None) -> int | None:  # noqa: N802
        return self._session.next_due_ms(limit)

    def _runDue(self, run: RunInfo, at: Any) -> int:  # noqa: N802
        return self._session.run_due(at)

    def _settle(self, run: RunInfo) -> int:
        return self._session.settle()

    def _elapsed(self, run: RunInfo) -> float:
        return round((time.perf_counter() - self._started) * 1000, 3)

    # ---- principals, accounts, fixtures ----------------------------------------------------

    def _objects(self, run: RunInfo) -> Any:
        if run.context is None:
            raise Fault("kNotImplemented", reason="This run has no org or object layer.")
        return run.context.objects

    def _asBegin(self, run: RunInfo, who: Any = None) -> None:  # noqa: N802
        objects = self._objects(run)
        current = objects.layer
        principal = load_principal(current.store, current.org_id, who)
        objects.push(current.as_principal(principal), True)

    def _asEnd(self, run: RunInfo) -> None:  # noqa: N802
        self._objects(run).pop()

    def _accountsCreate(self, run: RunInfo, doc: Any = None) -> dict[str, Any]:  # noqa: N802
        return self._session.create_account(doc)

    def _fixturesLoad(self, run: RunInfo, object_name: Any = None, docs: Any = None) -> list[ObjectId]:  # noqa: N802
        return self._session.load_fixtures(object_name, docs)

    # ---- what scripts did ----------------------------------------------------------------

    def _httpMock(self, run: RunInfo, pattern: Any = None, response: Any = None, options: Any = None) -> None:  # noqa: N802
        if not isinstance(pattern, dict):
            raise Fault("cortex.invalidArgument.unspecified", reason="http.mock needs a URL or pattern.", path="url")
        self._session.http.add(pattern, response, options if isinstance(options, dict) else {})

    def _httpRequests(self, run: RunInfo) -> list[dict[str, Any]]:  # noqa: N802
        return list(self._session.http.requests)

    def _httpReset(self, run: RunInfo) -> None:  # noqa: N802
        self._session.http.reset()

    def _outbox(self, run: RunInfo, options: Any = None) -> list[dict[str, Any]]:
        return outbox_entries(self._session.runtime.store, self._session.org._id, options if isinstance(options, dict) else {})

    def _logs(self, run: RunInfo, options: Any = None) -> list[dict[str, Any]]:
        options = options if isinstance(options, dict) else {}
        query: dict[str, Any] = {"org": self._session.org._id}
        for key in ("src", "lvl", "stp"):
            if options.get(key) is not None:
                query[key] = options[key]
        with map_store_errors():
            docs = list(self._session.runtime.store.logs.find(query).sort("_id", 1).limit(1000))
        return [{k: v for k, v in doc.items() if k not in ("org", "acl", "owner", "creator")} for doc in docs]

    def _routeCall(self, run: RunInfo, method: Any = None, path: Any = None, options: Any = None) -> dict[str, Any]:  # noqa: N802
        options = dict(options) if isinstance(options, dict) else {}
        if options.get("principal") is None and run.context is not None:
            options["principal"] = run.context.objects.layer.principal._id  # who the test runs as
        return self._session.call_route(str(method or "GET"), str(path or ""), options)

    # ---- the runner ----------------------------------------------------------------------

    def _begin(self, run: RunInfo, test: Any = None) -> None:
        if isinstance(test, dict):
            self._session.events.begin(test)

    def _report(self, run: RunInfo, outcome: Any = None) -> None:
        if isinstance(outcome, dict):
            self._session.events.report(outcome)

    def _planned(self, run: RunInfo, count: Any = 0) -> None:
        self._session.events.planned(int(count) if isinstance(count, (int, float)) else 0)

    def _random(self, run: RunInfo) -> float:
        return self._session.random.random()
