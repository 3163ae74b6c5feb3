"""Declared answers to ``require('http')`` callouts, and the record of what was asked.

The harness sets ``runtime.http_mock`` to an ``HttpMocks``; the http module asks it first.
Under the harness a callout that no mock answers is refused (a fault naming the method and
URL): a test run never reaches the network.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from ..faults import Fault

__all__ = ["HttpMock", "HttpMocks"]


@dataclass
class HttpMock:
    url: str | None
    regexp: re.Pattern[str] | None
    method: str | None
    response: dict[str, Any]
    times: int | None = None

    def matches(self, method: str, url: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.times is not None and self.times <= 0:
            return False
        if self.regexp is not None:
            return self.regexp.search(url) is not None
        assert self.url is not None
        return url == self.url or ("*" in self.url and fnmatch.fnmatchcase(url, self.url))


def _response(declared: dict[str, Any]) -> dict[str, Any]:
    """The callout result a script gets: {statusCode, statusMessage, headers, body}."""
    body = declared.get("body", "")
    headers = {str(k).lower(): v for k, v in dict(declared.get("headers") or {}).items()}
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
        headers.setdefault("content-type", "application/json")
    status = declared.get("statusCode", declared.get("status", 200))
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise Fault("cortex.invalidArgument.unspecified", reason="http.mock statusCode must be an HTTP status.", path="statusCode")
    return {"statusCode": status, "statusMessage": str(declared.get("statusMessage") or ""), "headers": headers, "body": body}


class HttpMocks:
    """The mocks of one test file, in declaration order (a later mock wins over an earlier one)."""

    def __init__(self) -> None:
        self._mocks: list[HttpMock] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, pattern: dict[str, Any], response: Any, options: dict[str, Any] | None = None) -> None:
        options = options or {}
        if not isinstance(response, dict):
            raise Fault("cortex.invalidArgument.unspecified", reason="http.mock expects a response object.", path="response")
        _response(response)  # checked now, where the test declares it
        method = options.get("method") or response.get("method")
        regexp = None
        if pattern.get("regexp") is not None:
            flags = re.IGNORECASE if "i" in str(pattern.get("flags") or "") else 0
            try:
                regexp = re.compile(str(pattern["regexp"]), flags)
            except re.error as exc:
                raise Fault("cortex.invalidArgument.unspecified", reason=f"http.mock pattern: {exc}", path="url") from None
        times = options.get("times")
        with self._lock:
            self._mocks.append(HttpMock(pattern.get("url"), regexp, str(method).upper() if method else None, response, int(times) if isinstance(times, int) else None))

    def reset(self) -> None:
        with self._lock:
            self._mocks.clear()
            self.requests.clear()

    def answer(self, method: str, url: Any, options: dict[str, Any]) -> dict[str, Any]:
        """The declared response for this callout (recorded), or a fault when none matches."""
        text = str(url)
        with self._lock:
            mock = next((m for m in reversed(self._mocks) if m.matches(method, text)), None)
            if mock is not None and mock.times is not None:
                mock.times -= 1
            self.requests.append(
                {
                    "method": method,
                    "url": text,
                    "headers": dict(options.get("headers") or {}),
                    "body": options.get("body"),
                    "mocked": mock is not None,
                }
            )
        if mock is None:
            raise Fault("cortex.notFound.unspecified", reason=f"No http.mock answers {method} {text} (test callouts never reach the network).", path="url")
        return _response(mock.response)
