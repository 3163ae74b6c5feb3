"""require('sftp') and require('ftp') (modules.md §25, §26; fact 79) against servers this test starts
on loopback: pyftpdlib with explicit TLS, asyncssh's SFTP server. Loopback is reached through
``Runtime.callout_allow``, as the http module's tests do; the modules are off until switched on."""

from __future__ import annotations

import asyncio
import gc
import datetime
import hashlib
import ipaddress
import socket
import threading
import time
from pathlib import Path

import asyncssh
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from cortex_runtime.cli import build_parser
from cortex_runtime.config import Limits
from cortex_runtime.modules.ftp import FtpModule
from cortex_runtime.modules.sftp import SftpModule
from cortex_runtime.runtime import Runtime

USER, PASSWORD = "cortex", "s3cret"


def self_signed(folder: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_text(pem)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path, pem


@pytest.fixture(scope="module")
def ftp_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ftp")
    root = folder / "root"
    root.mkdir()
    cert_path, key_path, pem = self_signed(folder)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")

    class Handler(TLS_FTPHandler):
        pass

    Handler.authorizer = authorizer
    Handler.certfile = str(cert_path)
    Handler.keyfile = str(key_path)
    Handler.tls_control_required = True
    Handler.tls_data_required = True
    Handler.passive_ports = None
    server = ThreadedFTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    yield {"port": server.address[1], "root": root, "ca": pem}
    server.close_all()


@pytest.fixture(scope="module")
def sftp_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("sftp")
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict = {}

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == USER and password == PASSWORD

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key) -> bool:
            return username == USER and key.public_data == client_key.public_data

    def sftp_factory(chan):
        return asyncssh.SFTPServer(chan, chroot=str(root).encode())

    async def start():
        box["server"] = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[host_key], server_factory=Server,
                                              sftp_factory=sftp_factory, allow_scp=False)
        box["port"] = box["server"].sockets[0].getsockname()[1]
        started.set()

    def main():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert started.wait(30)
    fingerprint = hashlib.md5(host_key.public_data).hexdigest()
    yield {
        "port": box["port"], "root": root, "fingerprint": ":".join(fingerprint[i:i + 2] for i in range(0, 32, 2)),
        "key": client_key.export_private_key("openssh", passphrase="pp").decode(),
    }

    async def stop():
        box["server"].close()
        await box["server"].wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def world():
    gc.collect()  # earlier tests' engines belong to this thread: free them here, not on a server's thread
    runtime = Runtime()
    runtime.callout_allow = ["127.0.0.1"]
    runtime.file_transfer = True
    org, admin = runtime.orgs.create("xfer")

    def run(source: str, arguments=None, **kwargs):
        return runtime.run(source, org=org, principal=admin, arguments=arguments or {}, **kwargs)

    yield runtime, run
    runtime.sandbox.release()
    gc.collect()


def module_of(runtime: Runtime, cls):
    return next(m for m in runtime.modules._modules if isinstance(m, cls))


def ok(result):
    assert result.ok, result.fault and result.fault.to_json()
    return result.plain()


def caught(run, body: str, arguments=None, **kwargs):
    source = f"const a = script.arguments; try {{ {body}; return null }} catch (e) {{ return {{errCode: e.errCode, code: e.code, status: e.statusCode, reason: e.reason}} }}"
    return ok(run(source, arguments, **kwargs))


def ftp_options(server, **extra):
    return {"host": "127.0.0.1", "port": server["port"], "username": USER, "password": PASSWORD, "secureOptions": {"ca": server["ca"]}, **extra}


def sftp_options(server, **extra):
    return {"host": "127.0.0.1", "port": server["port"], "username": USER, "password": PASSWORD, **extra}


# ---- the switch -----------------------------------------------------------------------------


def test_both_modules_are_off_by_default_and_say_so():
    gc.collect()
    runtime = Runtime()
    org, admin = runtime.orgs.create("off")
    try:
        run = lambda source, arguments=None, **kw: runtime.run(source, org=org, principal=admin, arguments=arguments or {}, **kw)  # noqa: E731
        got = caught(run, "require('ftp').create({host: 'ftp.example.com'})")
        assert got["errCode"] == "cortex.accessDenied.unspecified" and got["status"] == 403
        assert got["reason"].startswith("FTP Module must be enabled")
        got = caught(run, "require('sftp').create({host: 'sftp.example.com'})")
        assert got["errCode"] == "cortex.accessDenied.unspecified" and got["reason"] == "sftp module is disabled"
        # The org's own flag switches one module on (the platform's enableSftpModule / enableFtpModule).
        org.settings["enableFtpModule"] = True
        got = caught(run, "require('ftp').create({host: 'api.medable.com'})")
        assert got["reason"] == "access to host is prohibited (api.medable.com)"
        got = caught(run, "require('sftp').create({host: 'sftp.example.com'})")
        assert got["reason"] == "sftp module is disabled"
    finally:
        runtime.sandbox.release()
        gc.collect()


def test_serve_flag_switches_file_transfer_on():
    assert build_parser().parse_args(["serve", "--file-transfer"]).file_transfer is True
    assert build_parser().parse_args(["serve"]).file_transfer is False


# ---- host and port rules (fact 79) ----------------------------------------------------------


def test_fact_79_ftp_host_and_port_rules(world):
    _, run = world
    assert caught(run, "require('ftp').create({host: 'api.medable.com'})")["reason"] == "access to host is prohibited (api.medable.com)"
    assert caught(run, "require('ftp').create({host: 'app2.medable.com'})")["reason"] == "access to host is prohibited (app2.medable.com)"
    got = caught(run, "require('ftp').create({host: 'ftp.example.com', port: 22})")
    assert got["reason"] == "access to port is prohibited (22)" and got["errCode"] == "cortex.accessDenied.unspecified"
    for port in (20, 79, 65535):
        assert caught(run, f"require('ftp').create({{host: 'ftp.example.com', port: {port}}})")["reason"] == f"access to port is prohibited ({port})"
    # Loopback and private addresses are refused unless allowed.
    assert caught(run, "require('ftp').create({host: '10.0.0.5', port: 2121})")["reason"] == "invalid or prohibited host ip address (10.0.0.5)"
    assert caught(run, "require('ftp').create({host: 'nodots'})")["reason"] == "access to host is prohibited (nodots)"
    assert caught(run, "require('ftp').create({})")["errCode"] == "cortex.invalidArgument.unspecified"


def test_sftp_host_rules_and_addresses_after_dns(world):
    runtime, run = world
    module = module_of(runtime, SftpModule)
    module.resolve = lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.9", port))]
    assert caught(run, "require('sftp').create({host: 'api.medable.com', username: 'u', password: 'p'})")["reason"] == "access to host is prohibited (api.medable.com)"
    assert caught(run, "require('sftp').create({host: 'files.example.com', port: 23, username: 'u', password: 'p'})")["reason"] == "access to port is prohibited (23)"
    got = caught(run, "require('sftp').create({host: 'files.example.com', username: 'u', password: 'p'})")
    assert got["reason"] == "invalid or prohibited host ip address for host (files.example.com, 192.168.1.9)."
    runtime.callout_allow = []
    assert caught(run, "require('sftp').create({host: '127.0.0.1', port: 2222, username: 'u', password: 'p'})")["reason"] == "invalid or prohibited host ip address (127.0.0.1)"


def test_inline_triggers_may_not_transfer_files(world):
    _, run = world
    got = caught(run, "require('sftp').create({host: 'x.example.com'})", inline=True)
    assert got["reason"] == "sftp module is not available to inline triggers."
    assert caught(run, "require('ftp').create({host: 'x.example.com'})", inline=True)["reason"] == "ftp module is not available to inline triggers."


# ---- FTP against the loopback server --------------------------------------------------------


def test_ftp_round_trip(world, ftp_server):
    _, run = world
    out = ok(run("""
const ftp = require('ftp')
const c = ftp.create(script.arguments.options)
c.mkdir('/in/deep', true)
c.put('/in/deep/a.txt', 'hello ftp')
c.put('/in/b.bin', Buffer.from([0, 1, 2, 255]))
const listed = c.list('/in').map(e => e.name + ':' + e.type + (e.type === '-' ? ':' + e.size : '')).sort()
const text = c.get('/in/deep/a.txt')
const bin = c.get('/in/b.bin')
c.rename('/in/b.bin', '/in/c.bin')
c.chmod('/in/c.bin', '600')
c.delete('/in/deep/a.txt')
const open = ftp.list().length
c.close()
return {listed, text: text.toString(), isBuffer: Buffer.isBuffer(text), bin: Array.from(bin), open, after: ftp.list().length}
""", {"options": ftp_options(ftp_server)}))
    assert out["listed"] == ["b.bin:-:4", "deep:d"]
    assert out["text"] == "hello ftp" and out["isBuffer"] is True and out["bin"] == [0, 1, 2, 255]
    assert out["open"] == 1 and out["after"] == 0
    root = ftp_server["root"]
    assert (root / "in" / "c.bin").read_bytes() == bytes([0, 1, 2, 255])
    assert not (root / "in" / "deep" / "a.txt").exists()
    assert (root / "in" / "c.bin").stat().st_mode & 0o777 == 0o600


def test_ftp_one_connection_per_run_and_closed_at_run_end(world, ftp_server):
    runtime, run = world
    module = module_of(runtime, FtpModule)
    opened = []
    real_open = module.open

    def recording_open(run_info, options):
        conn = real_open(run_info, options)
        opened.append(conn)
        return conn

    module.open = recording_open
    got = caught(run, "const ftp = require('ftp'); ftp.create(a.options); ftp.create(a.options)", {"options": ftp_options(ftp_server)})
    assert got["reason"] == "too many open connections" and got["errCode"] == "cortex.accessDenied.unspecified"
    assert len(opened) == 1 and opened[0].sock is None  # closed when the run ended
    assert module._runs == {}
    # Closing frees the slot; a closed client is gone.
    got = caught(run, "const ftp = require('ftp'); const c = ftp.create(a.options); c.close(); ftp.create(a.options); c.list('/')", {"options": ftp_options(ftp_server)})
    assert got["reason"] == "connection closed or not found"
    assert all(conn.sock is None for conn in opened)
    # A run that fails still closes what it opened.
    result = run("require('ftp').create(script.arguments.options); throw new Error('boom')", {"options": ftp_options(ftp_server)})
    assert result.fault is not None and len(opened) == 4 and opened[-1].sock is None and module._runs == {}


def test_ftp_sizes_are_capped(world, ftp_server):
    runtime, run = world
    module = module_of(runtime, FtpModule)
    module.max_response_bytes = 4_000
    module.max_request_bytes = 1_000
    (ftp_server["root"] / "big.bin").write_bytes(b"z" * 5_000)
    got = caught(run, "require('ftp').create(a.options).get('/big.bin')", {"options": ftp_options(ftp_server)})
    assert got["reason"] == "Maximum callout response size exceeded." and got["errCode"] == "cortex.tooLarge.unspecified"
    got = caught(run, "require('ftp').create(a.options).put('/up.bin', 'x'.repeat(1001))", {"options": ftp_options(ftp_server)})
    assert got["reason"] == "ftp max callout request size exceeded."
    # The defaults are the platform's 524,288 bytes each way.
    assert FtpModule.max_response_bytes == FtpModule.max_request_bytes == 524_288


def test_ftp_faults_for_bad_login_bad_certificate_and_missing_files(world, ftp_server):
    _, run = world
    got = caught(run, "require('ftp').create(a.options)", {"options": ftp_options(ftp_server, password="wrong")})
    assert got["errCode"] == "cortex.accessDenied.unspecified" and "login failed" in got["reason"]
    got = caught(run, "require('ftp').create(a.options)", {"options": ftp_options(ftp_server, secureOptions={})})
    assert got["errCode"] == "cortex.error.unspecified" and "secure connection failed" in got["reason"]
    got = caught(run, "require('ftp').create(a.options).get('/no-such-file')", {"options": ftp_options(ftp_server)})
    assert got["errCode"] == "cortex.error.unspecified" and "550" in got["reason"]
    got = caught(run, "require('ftp').create(a.options).chmod('/', 'rwx')", {"options": ftp_options(ftp_server)})
    assert got["errCode"] == "cortex.invalidArgument.unspecified"


def test_a_silent_server_times_out_within_the_run(world):
    runtime, run = world
    runtime.callout_timeout_ms = 500  # each connect and operation waits at most this long
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        started = time.monotonic()
        got = caught(run, "require('ftp').create({host: '127.0.0.1', port: a.port})", {"port": port})
        assert got["errCode"] == "cortex.timeout.unspecified" and got["reason"] == "script timed out during ftp operation."
        got = caught(run, "require('sftp').create({host: '127.0.0.1', port: a.port, username: 'u', password: 'p'})", {"port": port})
        assert got["errCode"] == "cortex.timeout.unspecified" and got["reason"] == "script timed out during sftp operation."
        assert time.monotonic() - started < 30
        # Without that cap, the script's own time limit bounds the wait: the run ends in time.
        runtime.callout_timeout_ms = 30_000
        started = time.monotonic()
        result = run("require('ftp').create({host: '127.0.0.1', port: script.arguments.port})", {"port": port}, limits=Limits(timeout_ms=1500))
        assert result.fault is not None and result.fault.code == "kTimeout"
        assert time.monotonic() - started < 30
    finally:
        listener.close()


# ---- SFTP against the loopback server -------------------------------------------------------


def test_sftp_round_trip(world, sftp_server):
    _, run = world
    out = ok(run("""
const sftp = require('sftp')
const c = sftp.create(script.arguments.options)
c.mkdir('/up/deep', true)
c.put('/up/deep/a.txt', 'hello sftp')
c.put('/up/b.bin', Buffer.from([9, 8, 7]))
const listed = c.list('/up').map(e => e.name + ':' + e.type + (e.type === '-' ? ':' + e.size : '')).sort()
const stat = c.stat('/up/b.bin')
const exists = [c.exists('/up'), c.exists('/up/b.bin'), c.exists('/nope')]
const text = c.get('/up/deep/a.txt').toString()
c.rename('/up/b.bin', '/up/c.bin')
c.chmod('/up/c.bin', 0o640)
c.delete('/up/deep/a.txt')
const open = sftp.list().length
c.close()
return {listed, size: stat.size, isFile: stat.isFile, exists, text, open, after: sftp.list().length}
""", {"options": sftp_options(sftp_server, hostFingerprint=sftp_server["fingerprint"])}))
    assert out["listed"] == ["b.bin:-:3", "deep:d"]
    assert out["size"] == 3 and out["isFile"] is True and out["exists"] == ["d", "-", False]
    assert out["text"] == "hello sftp" and out["open"] == 1 and out["after"] == 0
    root = sftp_server["root"]
    assert (root / "up" / "c.bin").read_bytes() == bytes([9, 8, 7])
    assert (root / "up" / "c.bin").stat().st_mode & 0o777 == 0o640
    assert not (root / "up" / "deep" / "a.txt").exists()


def test_sftp_private_key_fingerprint_and_auth_faults(world, sftp_server):
    _, run = world
    got = ok(run("const c = require('sftp').create(script.arguments.options); return c.exists('/')",
                 {"options": {"host": "127.0.0.1", "port": sftp_server["port"], "username": USER, "privateKey": sftp_server["key"], "passphrase": "pp"}}))
    assert got == "d"
    got = caught(run, "require('sftp').create(a.options)", {"options": sftp_options(sftp_server, hostFingerprint="00" * 16)})
    assert got["errCode"] == "cortex.accessDenied.unspecified" and got["reason"] == "host fingerprint mismatch (127.0.0.1)."
    got = caught(run, "require('sftp').create(a.options)", {"options": sftp_options(sftp_server, password="bad")})
    assert got["errCode"] == "cortex.accessDenied.unspecified" and "authentication failed" in got["reason"]
    got = caught(run, "require('sftp').create(a.options).get('/missing.txt')", {"options": sftp_options(sftp_server)})
    assert got["errCode"] == "cortex.notFound.unspecified"
    got = caught(run, "require('sftp').create(a.options)", {"options": sftp_options(sftp_server, privateKey="not a key")})
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and got["reason"] == "privateKey could not be read."


def test_sftp_connection_count_sizes_and_closing(world, sftp_server):
    runtime, run = world
    module = module_of(runtime, SftpModule)
    module.max_response_bytes = 100
    module.max_request_bytes = 50
    opened = []
    real_open = module.open

    def recording_open(run_info, options):
        conn = real_open(run_info, options)
        opened.append(conn)
        return conn

    module.open = recording_open
    (sftp_server["root"] / "large.bin").write_bytes(b"q" * 101)
    out = ok(run("""
const sftp = require('sftp'), o = script.arguments.options, r = {}
const c = sftp.create(o)
const catchIt = f => { try { f(); return null } catch (e) { return e.reason } }
r.big = catchIt(() => c.get('/large.bin'))
r.put = catchIt(() => c.put('/x.bin', 'y'.repeat(51)))
sftp.create(o)
r.third = catchIt(() => sftp.create(o))
return r
""", {"options": sftp_options(sftp_server)}))
    assert out == {"big": "Maximum callout response size exceeded.", "put": "sftp max callout request size exceeded.", "third": "too many open connections"}
    assert len(opened) == 2 and not any(conn.transport.is_active() for conn in opened)
    assert module._runs == {}
