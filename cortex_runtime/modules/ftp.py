"""``require('ftp')``: an FTP client over explicit TLS (modules.md §26). The sandbox side is
``js_prelude/modules/ftp.js``; it calls ``ftp.native.create|clients|call|close`` here.

* ``create(options)`` connects and logs in: ``host``, ``port`` (21), ``username``, ``password``,
  ``secureOptions`` (``ca``, ``cert``, ``key``, ``passphrase``, ``ciphers``, ``minVersion``,
  ``maxVersion``, ``rejectUnauthorized`` default true), ``connTimeout``, ``pasvTimeout``
  (``keepalive`` is accepted and ignored: a run is short). The connection is always secure
  (``AUTH TLS``, then a protected data channel), as the platform's.
* At most one open connection per run (``too many open connections``).
* Client methods: ``list(path)`` → ``[{name, type, size, date}]`` (``type`` ``d``, ``-`` or ``l``;
  read with ``MLSD``), ``get(path)`` → Buffer, ``put(path, input)``, ``mkdir(path, recursive)``,
  ``delete(path)``, ``rename(path, to)``, ``chmod(path, mode)`` (``SITE CHMOD``), ``close()``.
* Ports 1-20, 22-79 and 65535 up are refused (``access to port is prohibited (22)``); other host
  and address rules are the http module's (``transfer.py``).
* Data connections go to the control connection's peer, never to the address a ``PASV`` reply
  names, so a server cannot point them elsewhere.
"""

from __future__ import annotations

import ftplib
import os
import socket
import ssl
import tempfile
from typing import Any

from ..faults import Fault
from ..sandbox import RunInfo
from .transfer import CONNECT_TIMEOUT_MS, TransferModule, invalid

__all__ = ["FtpModule"]

_TLS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
_TYPES = {"dir": "d", "cdir": "d", "pdir": "d", "file": "-", "os.unix=symlink": "l"}


def _text(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) and value else None


def _path(value: Any, what: str = "path") -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\0"):
        raise invalid(f"{what} must be a non-empty String.")
    return value


def tls_context(secure: Any) -> ssl.SSLContext:
    """The TLS context of ``secureOptions`` (Node's tls options, the ones Python has)."""
    opts = secure if isinstance(secure, dict) else {}
    try:
        ca = _text(opts.get("ca"))
        context = ssl.create_default_context(cadata=ca) if ca else ssl.create_default_context()
        if opts.get("rejectUnauthorized", True) is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        ciphers = opts.get("ciphers")
        if isinstance(ciphers, str) and ciphers:
            context.set_ciphers(ciphers)
        for key, attr in (("minVersion", "minimum_version"), ("maxVersion", "maximum_version")):
            version = _TLS.get(str(opts.get(key) or "").lower())
            if version is not None:
                setattr(context, attr, version)
        cert, key = _text(opts.get("cert")), _text(opts.get("key"))
        if cert:
            with tempfile.TemporaryDirectory() as folder:
                cert_path = os.path.join(folder, "cert.pem")
                with open(cert_path, "w", encoding="utf-8") as f:
                    f.write(cert)
                key_path = None
                if key:
                    key_path = os.path.join(folder, "key.pem")
                    with open(key_path, "w", encoding="utf-8") as f:
                        f.write(key)
                passphrase = opts.get("passphrase")
                context.load_cert_chain(cert_path, key_path, password=passphrase if isinstance(passphrase, str) else None)
        return context
    except (ssl.SSLError, ValueError, TypeError, OSError) as exc:
        raise invalid(f"Invalid secureOptions: {exc}") from None


class _Client(ftplib.FTP_TLS):
    # Data connections go to the control connection's peer (see the module docstring).
    trust_server_pasv_ipv4_address = False


class FtpModule(TransferModule):
    name = "ftp"
    setting = "enableFtpModule"
    default_port = 21
    max_connections = 1
    disabled_reason = "FTP Module must be enabled, contact the server's administrator to enable the module."

    def port_allowed(self, port: int) -> bool:
        return port == 21 or 80 <= port < 65535

    def open(self, run: RunInfo, options: dict[str, Any]) -> ftplib.FTP_TLS:
        host, address, port = self.address(run, options.get("host"), options.get("port"))
        context = tls_context(options.get("secureOptions"))
        wanted = options.get("connTimeout")
        cap = wanted if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0 else CONNECT_TIMEOUT_MS
        timeout = self.timeout(run, min(cap, CONNECT_TIMEOUT_MS))
        client = _Client(context=context, timeout=timeout)
        try:
            client.connect(address, port, timeout=timeout)
            client.host = host  # the name the certificate must match
            client.auth()
            username = options.get("username")
            password = options.get("password")
            client.login(str(username) if username is not None else "anonymous", str(password) if password is not None else "")
            client.prot_p()
        except BaseException as exc:
            client.close()
            raise self._fault(exc) from None
        return client

    def _fault(self, exc: BaseException) -> Fault:
        if isinstance(exc, Fault):
            return exc
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return self.timed_out()
        if isinstance(exc, ftplib.error_perm):
            text = str(exc)
            if text.startswith("530"):
                return Fault("cortex.accessDenied.unspecified", reason=f"ftp login failed: {text}")
            return Fault("cortex.error.unspecified", reason=f"ftp error: {text}")
        if isinstance(exc, ssl.SSLError):
            return Fault("cortex.error.unspecified", reason=f"ftp secure connection failed: {exc}")
        if isinstance(exc, (ftplib.Error, OSError, EOFError)):
            return Fault("cortex.error.unspecified", reason=f"ftp error: {exc}")
        raise exc

    def operate(self, run: RunInfo, conn: ftplib.FTP_TLS, op: str, args: list[Any]) -> Any:
        timeout = self.timeout(run)
        conn.timeout = timeout
        if conn.sock is None:
            raise Fault("cortex.error.unspecified", reason="connection closed or not found")
        conn.sock.settimeout(timeout)
        arg = args[0] if args else None
        try:
            if op == "list":
                return self._list(conn, arg if arg is not None else ".")
            if op == "get":
                conn.voidcmd("TYPE I")
                return self._retrieve(conn, f"RETR {_path(arg)}")
            if op == "put":
                data = self.payload(args[1] if len(args) > 1 else None)
                conn.voidcmd("TYPE I")
                with conn.transfercmd(f"STOR {_path(arg)}") as data_conn:
                    data_conn.sendall(data)
                    if isinstance(data_conn, ssl.SSLSocket):
                        data_conn.unwrap()
                conn.voidresp()
                return True
            if op == "mkdir":
                self._mkdir(conn, _path(arg), len(args) > 1 and args[1] is True)
                return True
            if op == "delete":
                conn.delete(_path(arg))
                return True
            if op == "rename":
                conn.rename(_path(arg), _path(args[1] if len(args) > 1 else None, "to"))
                return True
            if op == "chmod":
                conn.voidcmd(f"SITE CHMOD {self._mode(args[1] if len(args) > 1 else None)} {_path(arg)}")
                return True
        except BaseException as exc:
            raise self._fault(exc) from None
        raise Fault("script.invalidArgument.unknownCommand", path=f"ftp.{op}")

    @staticmethod
    def _mode(mode: Any) -> str:
        if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o7777:
            return format(mode, "o")
        if isinstance(mode, str) and mode and len(mode) <= 4 and all(c in "01234567" for c in mode):
            return mode
        raise invalid("mode must be a Number or an octal String.")

    def _retrieve(self, conn: ftplib.FTP_TLS, command: str) -> bytes:
        """The bytes a data command sends, refused past ``max_response_bytes``."""
        chunks: list[bytes] = []
        size = 0
        with conn.transfercmd(command) as data_conn:
            while True:
                chunk = data_conn.recv(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_response_bytes:
                    data_conn.close()
                    try:
                        conn.voidresp()
                    except ftplib.Error:
                        pass
                    raise self.too_large()
                chunks.append(chunk)
            if isinstance(data_conn, ssl.SSLSocket):
                try:
                    data_conn.unwrap()
                except (ssl.SSLError, OSError):
                    pass
        conn.voidresp()
        return b"".join(chunks)

    def _list(self, conn: ftplib.FTP_TLS, path: Any) -> list[dict[str, Any]]:
        conn.voidcmd("TYPE A")
        text = self._retrieve(conn, f"MLSD {_path(path)}").decode("utf-8", "replace")
        out: list[dict[str, Any]] = []
        for line in text.splitlines():
            facts_text, _, name = line.partition(" ")
            if not name:
                continue
            facts = {}
            for fact in facts_text.rstrip(";").split(";"):
                key, _, value = fact.partition("=")
                facts[key.lower()] = value
            kind = _TYPES.get(facts.get("type", "").lower(), "-")
            if facts.get("type", "").lower() in ("cdir", "pdir"):
                continue
            size = facts.get("size")
            out.append({"name": name, "type": kind, "size": int(size) if size and size.isdigit() else 0, "date": facts.get("modify")})
        return out

    @staticmethod
    def _mkdir(conn: ftplib.FTP_TLS, path: str, recursive: bool) -> None:
        if not recursive:
            conn.mkd(path)
            return
        parts = [p for p in path.split("/") if p]
        current = "/" if path.startswith("/") else ""
        for part in parts:
            current = f"{current}{part}"
            try:
                conn.mkd(current)
            except ftplib.error_perm as exc:
                if not str(exc).startswith("550"):
                    raise
            current += "/"
