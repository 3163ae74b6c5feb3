"""What ``require('sftp')`` and ``require('ftp')`` share (modules.md §25, §26): the switch, the host,
port and address rules, the per-run connection table, deadlines and size caps.

* Off by default: on for every org with ``Runtime.file_transfer`` (``serve --file-transfer``), or
  for one org with its ``enableSftpModule`` / ``enableFtpModule`` setting (the platform's flags).
* Refused in inline triggers, as callouts are.
* Hosts follow the http module's rules (same messages): names without a dot, the platform's own
  hosts (``api*.medable.com``, ``app*.medable.com``), IP literals and resolved addresses in the
  reserved ranges (loopback, private, link-local, ...) are refused unless ``Runtime.callout_allow``
  (``serve --callout-allow HOST[:PORT]``) names the host. The connection goes to the address that
  was checked, so a second lookup cannot move it.
* Each protocol has its own port rule (``port_allowed``).
* Every connection is closed when the run ends (``RunContext.closers``), or by ``close()``.
* Connect timeout: min(20 s, the script's time left); every later operation gets at most the
  script's time left (and 30 s, the callout cap), so no call outlives the run.
* Connections and transfers do not use the http module's callout budget (the platform's rule is
  not known; inferred); their time is added to the run's callout time (``RunInfo.callouts_ms``).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo
from .http import BLOCKED_NAMES, MAX_CALLOUT_BYTES, MAX_CALLOUT_TIMEOUT_MS, check_ip_literal, parse_allow, resolve_address

__all__ = ["CONNECT_TIMEOUT_MS", "Connections", "TransferModule", "denied", "invalid"]

CONNECT_TIMEOUT_MS = 20_000


def denied(reason: str) -> Fault:
    return Fault("cortex.accessDenied.unspecified", reason=reason)


def invalid(reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason)


class Connections:
    """The open connections of one run, by handle; all closed when the run ends."""

    def __init__(self) -> None:
        self.open: dict[int, Any] = {}
        self.next_id = 1

    def close_all(self) -> None:
        for conn in list(self.open.values()):
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is closed all the same
                pass
        self.open.clear()


class TransferModule:
    """Base of the sftp and ftp host modules: ``<name>.native.<method>``."""

    name = ""
    setting = ""
    default_port = 0
    max_connections = 1
    disabled_reason = ""
    needs_runtime = True
    # Per instance, so a test can lower them (modules.md §0.5: 524,288 bytes each way).
    max_request_bytes = MAX_CALLOUT_BYTES
    max_response_bytes = MAX_CALLOUT_BYTES

    def __init__(self, runtime: Any = None) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._runs: dict[int, Connections] = {}
        # getaddrinfo unless set (tests give names addresses without DNS).
        self.resolve: Any = None

    @property
    def prefix(self) -> str:
        return f"{self.name}.native."

    @property
    def require_name(self) -> str:
        return f"{self.name}.native"

    # ---- the switch and the rules -----------------------------------------------------

    def enabled(self, run: RunInfo) -> bool:
        if getattr(self._runtime, "file_transfer", False):
            return True
        settings = getattr(getattr(run.context, "org", None), "settings", None)
        return bool(isinstance(settings, dict) and settings.get(self.setting) is True)

    def check_allowed(self, run: RunInfo) -> None:
        if not self.enabled(run):
            raise denied(self.disabled_reason)
        if getattr(run, "inline", False):
            raise denied(f"{self.name} module is not available to inline triggers.")

    def port_allowed(self, port: int) -> bool:
        raise NotImplementedError

    def _allowed(self, host: str, port: int) -> bool:
        entries = parse_allow(list(getattr(self._runtime, "callout_allow", None) or ()))
        return any(h == host and (p is None or p == port) for h, p in entries)

    def address(self, run: RunInfo, host_value: Any, port_value: Any) -> tuple[str, str, int]:
        """(host, checked address, port) for the options' ``host`` and ``port``."""
        host = host_value.strip().lower() if isinstance(host_value, str) else ""
        if not host:
            raise invalid("host is required.")
        if port_value is None:
            port = self.default_port
        elif isinstance(port_value, int) and not isinstance(port_value, bool):
            port = port_value
        elif isinstance(port_value, str) and port_value.isdigit():
            port = int(port_value)
        else:
            raise invalid(f"Invalid port ({port_value}).")
        allowed = self._allowed(host, port)
        try:
            literal: Any = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if not allowed and literal is None:
            blocked = (
                "." not in host
                or host in BLOCKED_NAMES
                or (host.endswith(".medable.com") and (host.startswith("api") or host.startswith("app")))
            )
            if blocked:
                raise denied(f"access to host is prohibited ({host})")
        if not self.port_allowed(port):
            raise denied(f"access to port is prohibited ({port})")
        if literal is not None:
            if not allowed:
                check_ip_literal(literal, host)
            return host, str(literal), port
        return host, resolve_address(self.resolve, host, port, allowed), port

    # ---- time and size ----------------------------------------------------------------

    def timeout(self, run: RunInfo, cap_ms: int = MAX_CALLOUT_TIMEOUT_MS) -> float:
        """Seconds an operation may take: the script's time left, at most ``cap_ms``."""
        runtime_cap = int(getattr(self._runtime, "callout_timeout_ms", MAX_CALLOUT_TIMEOUT_MS) or MAX_CALLOUT_TIMEOUT_MS)
        left = run.time_left()
        if left <= 0:
            raise self.timed_out()
        return max(0.001, min(left, cap_ms / 1000, runtime_cap / 1000))

    def timed_out(self) -> Fault:
        return Fault("cortex.timeout.unspecified", reason=f"script timed out during {self.name} operation.")

    def payload(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray)):
            data = bytes(value)
        elif isinstance(value, str):
            data = value.encode("utf-8")
        else:
            raise invalid("put expects a Buffer or a String.")
        if len(data) > self.max_request_bytes:
            raise Fault("cortex.tooLarge.unspecified", reason=f"{self.name} max callout request size exceeded.")
        return data

    def too_large(self) -> Fault:
        return Fault("cortex.tooLarge.unspecified", reason="Maximum callout response size exceeded.")

    # ---- connections of a run ---------------------------------------------------------

    def connections(self, run: RunInfo) -> Connections:
        context = run.context
        key = id(context)
        with self._lock:
            conns = self._runs.get(key)
            if conns is None:
                conns = self._runs[key] = Connections()

                def closer() -> None:
                    with self._lock:
                        self._runs.pop(key, None)
                    conns.close_all()

                closers = getattr(context, "closers", None)
                if closers is not None:
                    closers.append(closer)
            return conns

    def add(self, run: RunInfo, opener: Callable[[], Any]) -> int:
        conns = self.connections(run)
        if len(conns.open) >= self.max_connections:
            raise denied("too many open connections")
        conn = opener()
        handle = conns.next_id
        conns.next_id += 1
        conns.open[handle] = conn
        return handle

    def get(self, run: RunInfo, handle: Any) -> Any:
        conn = self.connections(run).open.get(handle) if isinstance(handle, int) else None
        if conn is None:
            raise Fault("cortex.error.unspecified", reason="connection closed or not found")
        return conn

    def close(self, run: RunInfo, handle: Any) -> bool:
        conn = self.connections(run).open.pop(handle, None) if isinstance(handle, int) else None
        if conn is None:
            return False
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection still closes it
            pass
        return True

    # ---- dispatch -----------------------------------------------------------------------

    methods = ("create", "clients", "call", "close")

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix):]
        self.check_allowed(run)
        if method == "create":
            options = args[0] if args else None
            if not isinstance(options, dict):
                raise invalid("options must be an object.")
            started = time.monotonic()
            try:
                return self.add(run, lambda: self.open(run, options))
            finally:
                run.callouts_ms = getattr(run, "callouts_ms", 0.0) + (time.monotonic() - started) * 1000
        if method == "clients":
            return sorted(self.connections(run).open)
        if method == "close":
            return self.close(run, args[0] if args else None)
        if method == "call":
            handle = args[0] if args else None
            op = args[1] if len(args) > 1 else None
            op_args = args[2] if len(args) > 2 and isinstance(args[2], list) else []
            conn = self.get(run, handle)
            started = time.monotonic()
            try:
                return self.operate(run, conn, str(op), op_args)
            finally:
                run.callouts_ms = getattr(run, "callouts_ms", 0.0) + (time.monotonic() - started) * 1000
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    def open(self, run: RunInfo, options: dict[str, Any]) -> Any:
        raise NotImplementedError

    def operate(self, run: RunInfo, conn: Any, op: str, args: list[Any]) -> Any:
        raise NotImplementedError
