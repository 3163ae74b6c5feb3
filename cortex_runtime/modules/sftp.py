"""``require('sftp')``: an SFTP client (modules.md §25). The sandbox side is
``js_prelude/modules/sftp.js``; it calls ``sftp.native.create|clients|call|close`` here.

* ``create(options)`` connects and authenticates: ``host``, ``port`` (22), ``username``,
  ``password`` and/or ``privateKey`` (PEM or OpenSSH text) with ``passphrase``; ``hostHash``
  (``md5`` default, ``sha1``, ``sha256``) with ``hostFingerprint``: the expected hash of the
  server's host key in hex, colons ignored; a different key refuses the connection. Without a
  fingerprint any host key is accepted, as the platform's client does. ``algorithms``,
  ``localHostname`` and ``localUsername`` are accepted and ignored (hostbased auth is not offered).
* ``sftp.list()`` gives the run's open Clients; at most 2 are open at once (the platform's number
  is not known; inferred), past that ``too many open connections``.
* Client methods: ``list(path)`` → ``[{type, name, size, modifyTime, accessTime, rights, owner,
  group}]`` (``type`` ``d``, ``-`` or ``l``; times in ms), ``exists(path)`` → ``false`` or the type,
  ``stat(path)``, ``get(path)`` → Buffer, ``put(path, input)``, ``mkdir(path, recursive)``,
  ``delete(path)``, ``rename(path, to)``, ``chmod(path, mode)``, ``close()``.
* Port 22 and ports 80 to 65534 are allowed; the http module's host and address rules apply
  (``transfer.py``).
"""

from __future__ import annotations

import hashlib
import io
import socket
import stat as statmod
import time
from typing import Any

import paramiko

from ..faults import Fault
from ..sandbox import RunInfo
from .transfer import CONNECT_TIMEOUT_MS, TransferModule, invalid

__all__ = ["SftpModule"]

_KEY_TYPES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
_HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256}


def _path(value: Any, what: str = "path") -> str:
    if not isinstance(value, str) or not value or "\0" in value:
        raise invalid(f"{what} must be a non-empty String.")
    return value


def _private_key(text: Any, passphrase: Any) -> paramiko.PKey:
    data = bytes(text).decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else text
    if not isinstance(data, str) or not data.strip():
        raise invalid("privateKey must be a String.")
    password = passphrase if isinstance(passphrase, str) and passphrase else None
    for kind in _KEY_TYPES:
        try:
            return kind.from_private_key(io.StringIO(data), password=password)
        except paramiko.PasswordRequiredException:
            raise invalid("privateKey is encrypted: a passphrase is required.") from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise invalid("privateKey could not be read.")


def _kind(mode: int) -> str:
    if statmod.S_ISDIR(mode):
        return "d"
    if statmod.S_ISLNK(mode):
        return "l"
    return "-"


def _rights(mode: int) -> dict[str, str]:
    def part(shift: int) -> str:
        bits = (mode >> shift) & 7
        return ("r" if bits & 4 else "") + ("w" if bits & 2 else "") + ("x" if bits & 1 else "")

    return {"user": part(6), "group": part(3), "other": part(0)}


def _stat(attrs: paramiko.SFTPAttributes) -> dict[str, Any]:
    mode = attrs.st_mode or 0
    return {
        "mode": mode,
        "uid": attrs.st_uid,
        "gid": attrs.st_gid,
        "size": attrs.st_size or 0,
        "accessTime": int((attrs.st_atime or 0) * 1000),
        "modifyTime": int((attrs.st_mtime or 0) * 1000),
        "isDirectory": statmod.S_ISDIR(mode),
        "isFile": statmod.S_ISREG(mode),
        "isSymbolicLink": statmod.S_ISLNK(mode),
    }


class _Connection:
    """A transport and its SFTP session, closed together."""

    def __init__(self, transport: paramiko.Transport, sftp: paramiko.SFTPClient) -> None:
        self.transport = transport
        self.sftp = sftp

    def close(self) -> None:
        try:
            self.sftp.close()
        finally:
            self.transport.close()


class SftpModule(TransferModule):
    name = "sftp"
    setting = "enableSftpModule"
    default_port = 22
    max_connections = 2
    disabled_reason = "sftp module is disabled"

    def port_allowed(self, port: int) -> bool:
        return port == 22 or 80 <= port < 65535

    def open(self, run: RunInfo, options: dict[str, Any]) -> _Connection:
        host, address, port = self.address(run, options.get("host"), options.get("port"))
        username = options.get("username")
        if not isinstance(username, str) or not username:
            raise invalid("username is required.")
        password = options.get("password")
        key = _private_key(options["privateKey"], options.get("passphrase")) if options.get("privateKey") else None
        if key is None and not isinstance(password, str):
            raise invalid("password or privateKey is required.")
        hash_name = str(options.get("hostHash") or "md5").lower()
        if hash_name not in _HASHES:
            raise invalid(f"Unsupported hostHash ({hash_name}).")
        expected = options.get("hostFingerprint")
        timeout = self.timeout(run, CONNECT_TIMEOUT_MS)
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except (socket.timeout, TimeoutError):
            raise self.timed_out() from None
        except OSError as exc:
            raise Fault("cortex.error.unspecified", reason=f"sftp connection failed: {exc}") from None
        transport = paramiko.Transport(sock)
        began = time.monotonic()
        try:
            transport.banner_timeout = timeout
            transport.handshake_timeout = timeout
            transport.auth_timeout = timeout
            transport.start_client(timeout=timeout)
            if expected is not None:
                got = _HASHES[hash_name](transport.get_remote_server_key().asbytes()).hexdigest()
                if str(expected).replace(":", "").lower() != got:
                    raise Fault("cortex.accessDenied.unspecified", reason=f"host fingerprint mismatch ({host}).")
            if key is not None:
                transport.auth_publickey(username, key)
            else:
                transport.auth_password(username, password)
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise Fault("cortex.error.unspecified", reason="sftp session could not be opened.")
        except BaseException as exc:
            transport.close()
            # paramiko reports a handshake that ran out of time as a plain SSHException.
            if isinstance(exc, paramiko.SSHException) and time.monotonic() - began >= timeout * 0.9:
                raise self.timed_out() from None
            raise self._fault(exc) from None
        return _Connection(transport, sftp)

    def _fault(self, exc: BaseException) -> Fault:
        if isinstance(exc, Fault):
            return exc
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return self.timed_out()
        if isinstance(exc, paramiko.AuthenticationException):
            return Fault("cortex.accessDenied.unspecified", reason=f"sftp authentication failed: {exc}")
        if isinstance(exc, FileNotFoundError):
            return Fault("cortex.notFound.unspecified", reason=f"sftp: no such file ({exc.filename or exc})")
        if isinstance(exc, PermissionError):
            return Fault("cortex.accessDenied.unspecified", reason=f"sftp: permission denied ({exc.filename or exc})")
        if isinstance(exc, (paramiko.SSHException, OSError, EOFError)):
            return Fault("cortex.error.unspecified", reason=f"sftp error: {exc}")
        raise exc

    def operate(self, run: RunInfo, conn: _Connection, op: str, args: list[Any]) -> Any:
        if not conn.transport.is_active():
            raise Fault("cortex.error.unspecified", reason="connection closed or not found")
        channel = conn.sftp.get_channel()
        if channel is not None:
            channel.settimeout(self.timeout(run))
        sftp = conn.sftp
        arg = args[0] if args else None
        try:
            if op == "list":
                path = _path(arg if arg is not None else ".")
                return [
                    {"type": _kind(a.st_mode or 0), "name": a.filename, "size": a.st_size or 0,
                     "modifyTime": int((a.st_mtime or 0) * 1000), "accessTime": int((a.st_atime or 0) * 1000),
                     "rights": _rights(a.st_mode or 0), "owner": a.st_uid, "group": a.st_gid}
                    for a in sftp.listdir_attr(path)
                ]
            if op == "exists":
                try:
                    return _kind(sftp.lstat(_path(arg)).st_mode or 0)
                except FileNotFoundError:
                    return False
            if op == "stat":
                return _stat(sftp.stat(_path(arg)))
            if op == "get":
                return self._get(sftp, _path(arg))
            if op == "put":
                data = self.payload(args[1] if len(args) > 1 else None)
                with sftp.open(_path(arg), "wb") as f:
                    f.write(data)
                return True
            if op == "mkdir":
                self._mkdir(sftp, _path(arg), len(args) > 1 and args[1] is True)
                return True
            if op == "delete":
                sftp.remove(_path(arg))
                return True
            if op == "rename":
                sftp.rename(_path(arg), _path(args[1] if len(args) > 1 else None, "to"))
                return True
            if op == "chmod":
                sftp.chmod(_path(arg), self._mode(args[1] if len(args) > 1 else None))
                return True
        except BaseException as exc:
            raise self._fault(exc) from None
        raise Fault("script.invalidArgument.unknownCommand", path=f"sftp.{op}")

    @staticmethod
    def _mode(mode: Any) -> int:
        if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o7777:
            return mode
        if isinstance(mode, str) and mode and len(mode) <= 4 and all(c in "01234567" for c in mode):
            return int(mode, 8)
        raise invalid("mode must be a Number or an octal String.")

    def _get(self, sftp: paramiko.SFTPClient, path: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        with sftp.open(path, "rb") as f:
            while True:
                chunk = f.read(32768)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise self.too_large()
                chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _mkdir(sftp: paramiko.SFTPClient, path: str, recursive: bool) -> None:
        if not recursive:
            sftp.mkdir(path)
            return
        current = "/" if path.startswith("/") else ""
        for part in [p for p in path.split("/") if p]:
            current = f"{current}{part}"
            try:
                sftp.stat(current)
            except FileNotFoundError:
                sftp.mkdir(current)
            current += "/"
