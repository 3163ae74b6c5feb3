"""``require('crypto')``: the host side of Cortex's crypto module (spec modules.md §8).

Not Node's crypto: a fixed API (src: cortex/lib/modules/sandbox/apis/module/crypto.js).

* ``md5``/``sha1``/``sha256``/``sha512`` ``(value)``: lower-case hex digest of a String's UTF-8 bytes.
* ``md5Hmac``/... ``(secret, value)``: hex HMAC, the **key first**.
* ``randomBytes(size)``: a Buffer of 1..8,192 bytes.
* ``aes.encrypt``/``aes.decrypt`` ``(key, iv, payload, options)``: AES-128/256 in CBC (PKCS#7
  padding, as Node's cipher does by default) or CTR mode; the result is a Buffer.
* ``rsa.encrypt``/``rsa.decrypt``: with the key pair of one of the org's **app clients**,
  named by app name or client key (the source's behaviour; the brief's "org key pair" is read
  as the pair of the app the script names). The pair lives on the app's entry in the org
  document (``orgs``, ``apps[].rsaPrivate``: the same PKCS#8 PEM the app's JWTs are signed
  with, created on first use) with its creation time in ms as ``rsaKid``; retired pairs, if
  any, in ``apps[].rsaRotated: [{kid, rsaPrivate}]`` (newest first). Padding is node-rsa's
  default, PKCS#1 OAEP with SHA-1. There is no ``sign``/``verify``: the platform has none, and
  a script that works here must work there.

The JS half (``js_prelude/65_util.js``) gives the module its shape (``aes``/``rsa`` namespaces,
``version``, ``incrementIV``), checks the RSA encodings (TypeError, as node-rsa throws) and turns
returned bytes into Buffers. Here every argument is checked again: bad ones are
``cortex.invalidArgument.unspecified`` faults with the platform's reasons, never a traceback.

Limits: a value to hash or encrypt is at most ``MAX_INPUT_BYTES`` (8 MiB, more than a run's
20 MB sandbox can build twice over) or ``cortex.tooLarge.unspecified``; RSA payloads are
bounded by the key size (OAEP: 214 bytes for a 2048-bit key), as on the platform.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7

from ..faults import Fault
from ..objects.store import map_store_errors
from ..sandbox import RunInfo
from ..sandbox.codec import Undefined

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["CryptoModule", "utf8"]

VERSION = "1.0.0"
MAX_INPUT_BYTES = 8 * 1024 * 1024
MAX_RANDOM_BYTES = 8192
RSA_KEY_BITS = 2048
HASHES = ("md5", "sha1", "sha256", "sha512")
RSA_OUTPUT_ENCODINGS = ("hex", "base64", "buffer", "binary")
RSA_INPUT_ENCODINGS = ("hex", "base64", "utf8")
RSA_DECRYPT_ENCODINGS = ("buffer", "json", "base64", "utf8", "hex", "binary")
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


def _invalid(reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason)


def utf8(text: str) -> bytes:
    """A JS string's UTF-8 bytes; a lone surrogate becomes U+FFFD, as V8's encoder does."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _bounded(data: bytes) -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        raise Fault("cortex.tooLarge.unspecified", reason=f"Input exceeds {MAX_INPUT_BYTES} bytes.")
    return data


def _arg(args: list[Any], index: int) -> Any:
    value = args[index] if len(args) > index else None
    return None if isinstance(value, Undefined) else value


def _bytes_of(value: Any) -> bytes | None:
    """A String as UTF-8 or a Buffer as is; None for anything else."""
    if isinstance(value, str):
        return _bounded(utf8(value))
    if isinstance(value, (bytes, bytearray)):
        return _bounded(bytes(value))
    return None


# ---- hashes -------------------------------------------------------------------------


def digest(algo: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("String expected for hashing function.")
    return hashlib.new(algo, _bounded(utf8(value))).hexdigest()


def hmac_digest(algo: str, secret: Any, value: Any) -> str:
    if not isinstance(secret, str) or not isinstance(value, str):
        raise _invalid("Strings expected for hmac function.")
    return hmac.new(_bounded(utf8(secret)), _bounded(utf8(value)), algo).hexdigest()


def random_bytes(size: Any, seeding: Any = None) -> bytes:
    """``size`` random bytes; from ``seeding`` (a seeded run, sandbox/seeding.py) when given."""
    try:
        count = int(float(size)) if not isinstance(size, bool) else int(size)
    except (TypeError, ValueError, OverflowError):
        count = 0  # NaN and friends coerce to 0, as the platform's parseInt does
    if count <= 0:
        raise _invalid("Size must be > 0")
    if count > MAX_RANDOM_BYTES:
        raise _invalid(f"Size must be <= {MAX_RANDOM_BYTES}")
    return seeding.random_bytes(count) if seeding is not None else os.urandom(count)


# ---- aes ------------------------------------------------------------------------------


def _aes_algo(options: Any) -> tuple[int, str]:
    algo = options.get("algo") if isinstance(options, dict) else None
    algo = "aes-256-cbc" if algo is None or isinstance(algo, Undefined) else str(algo)
    parts = algo.lower().split("-")
    if len(parts) != 3 or parts[0] != "aes":
        raise _invalid("Invalid algorithm. Only AES is current supported")
    if parts[1] not in ("128", "256"):
        raise _invalid("Invalid algorithm. Only 128/256 bit keys are currently supported")
    if parts[2] not in ("cbc", "ctr"):
        raise _invalid("Invalid algorithm. Only CTR/CBC mode is currently supported")
    return int(parts[1]), parts[2]


def aes(encrypt: bool, key: Any, iv: Any, payload: Any, options: Any) -> bytes:
    bits, mode = _aes_algo(options)
    key_bytes = _bytes_of(key)
    if key_bytes is None or len(key_bytes) != bits // 8:
        raise _invalid(f"Invalid key. Expected a {bits // 8}-byte string or buffer.")
    iv_bytes = _bytes_of(iv)
    if iv_bytes is None or len(iv_bytes) != 16:
        raise _invalid("Invalid initialization vector. Expected a 16-byte string or buffer.")
    data = _bytes_of(payload)
    if data is None:
        raise _invalid("Invalid payload. Expected a string or buffer.")
    cipher = Cipher(algorithms.AES(key_bytes), modes.CBC(iv_bytes) if mode == "cbc" else modes.CTR(iv_bytes))
    if mode == "ctr":
        worker = cipher.encryptor() if encrypt else cipher.decryptor()
        return worker.update(data) + worker.finalize()
    if encrypt:
        padder = PKCS7(128).padder()
        padded = padder.update(data) + padder.finalize()
        encryptor = cipher.encryptor()
        return encryptor.update(padded) + encryptor.finalize()
    if len(data) % 16:
        # Node: "wrong final block length" (inferred: reported as a bad argument).
        raise _invalid("Invalid payload. The ciphertext length is not a multiple of the block size.")
    decryptor = cipher.decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        # Node: "bad decrypt" (the wrong key or iv).
        raise _invalid("Decryption failed (bad decrypt).") from exc


# ---- rsa ------------------------------------------------------------------------------


def _rsa_input(payload: Any, encoding: str) -> bytes:
    """node-rsa: Buffers as they are, Strings in ``encoding``, other values as JSON."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        try:
            if encoding == "hex":
                return bytes.fromhex(payload)
            if encoding == "base64":
                return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except ValueError as exc:
            raise _invalid(f"Invalid payload. Expected a {encoding} string.") from exc
        return utf8(payload)
    if payload is None:
        raise _invalid("Invalid payload.")
    try:
        return utf8(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str))
    except (TypeError, ValueError) as exc:
        raise _invalid("Invalid payload.") from exc


def _rsa_output(data: bytes, encoding: str) -> Any:
    if encoding == "buffer":
        return data
    if encoding == "hex":
        return data.hex()
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii")
    if encoding == "binary":
        return data.decode("latin-1")
    text = data.decode("utf-8", "replace")
    if encoding == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _invalid("Decrypted value is not JSON.") from exc
    return text


def _encoding(value: Any, default: str, allowed: tuple[str, ...]) -> str:
    if value is None or isinstance(value, Undefined):
        return default
    if not isinstance(value, str) or value not in allowed:
        raise _invalid(f"Invalid encoding. Expected {', '.join(allowed)}")
    return value


def _kid(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CryptoModule:
    """Host calls ``crypto.<hash>``, ``crypto.<hash>Hmac``, ``crypto.randomBytes``,
    ``crypto.aes.encrypt|decrypt`` and ``crypto.rsa.encrypt|decrypt``."""

    require_name = "crypto"
    prefix = "crypto."
    needs_context = False  # hashes and AES need no org; RSA checks for one itself
    needs_runtime = True
    # What a plain host require exposes; the JS unit adds aes, rsa, version and incrementIV.
    methods = (*HASHES, *(h + "Hmac" for h in HASHES), "randomBytes")

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix):]
        if method in HASHES:
            return digest(method, _arg(args, 0))
        if method.endswith("Hmac") and method[:-4] in HASHES:
            return hmac_digest(method[:-4], _arg(args, 0), _arg(args, 1))
        if method == "randomBytes":
            return random_bytes(_arg(args, 0), getattr(getattr(self._runtime, "sandbox", None), "seeding", None))
        if method in ("aes.encrypt", "aes.decrypt"):
            return aes(method == "aes.encrypt", _arg(args, 0), _arg(args, 1), _arg(args, 2), _arg(args, 3))
        if method == "rsa.encrypt":
            return self._rsa_encrypt(run, args)
        if method == "rsa.decrypt":
            return self._rsa_decrypt(run, args)
        raise Fault("script.invalidArgument.unknownCommand", path=name)

    # ---- rsa ------------------------------------------------------------------------

    def _keys(self, run: RunInfo, api_key: Any) -> list[tuple[int, str]]:
        """The app's key pairs as (kid, private PEM), the current one first; made on first use."""
        if run.context is None:
            raise Fault("kNotImplemented", reason="This run has no org.")
        if not isinstance(api_key, str) or not api_key:
            raise Fault("cortex.notFound.unspecified", reason="Invalid ApiKey.")
        org_id = run.context.org._id
        orgs = self._runtime.store.orgs
        with map_store_errors():
            doc = orgs.find_one({"_id": org_id}, {"apps": 1}) or {}
        app = next((a for a in doc.get("apps") or [] if api_key in (a.get("key"), a.get("name"))), None)
        if app is None:
            raise Fault("cortex.notFound.unspecified", reason=f"ApiKey {api_key} not found.")
        pem, kid = app.get("rsaPrivate"), _kid(app.get("rsaKid"))
        if not pem or kid is None:
            if not pem:
                key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
                pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
            kid = int(time.time() * 1000)
            with map_store_errors():
                # Only where no pair was made meanwhile; then read what is stored.
                updated = orgs.update_one(
                    {"_id": org_id, "apps": {"$elemMatch": {"key": app["key"], "rsaKid": None}}},
                    {"$set": {"apps.$.rsaPrivate": pem, "apps.$.rsaKid": kid}} if not app.get("rsaPrivate") else {"$set": {"apps.$.rsaKid": kid}},
                )
                if not updated.modified_count:
                    doc = orgs.find_one({"_id": org_id}, {"apps": 1}) or {}
                    app = next(a for a in doc.get("apps") or [] if a.get("key") == app["key"])
                    pem, kid = app.get("rsaPrivate"), _kid(app.get("rsaKid"))
        if not pem or kid is None:
            raise Fault("cortex.notFound.unspecified", reason=f"ApiKey {api_key} does not have a valid RSA key pair.")
        keys = [(kid, str(pem))]
        for old in app.get("rsaRotated") or []:
            if isinstance(old, dict) and old.get("rsaPrivate") and _kid(old.get("kid")) is not None:
                keys.append((_kid(old["kid"]), str(old["rsaPrivate"])))  # type: ignore[arg-type]
        return keys

    @staticmethod
    def _private(pem: str) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    def _rsa_encrypt(self, run: RunInfo, args: list[Any]) -> Any:
        api_key, payload = _arg(args, 0), _arg(args, 1)
        output = _encoding(_arg(args, 2), "buffer", RSA_OUTPUT_ENCODINGS)
        source = _encoding(_arg(args, 3), "utf8", RSA_INPUT_ENCODINGS)
        options = _arg(args, 4) if isinstance(_arg(args, 4), dict) else {}
        kid, pem = self._keys(run, api_key)[0]
        data = _bounded(_rsa_input(payload, source))
        public = self._private(pem).public_key()
        limit = public.key_size // 8 - 42  # OAEP with SHA-1
        if len(data) > limit:
            raise _invalid(f"Invalid payload. At most {limit} bytes can be encrypted with this key.")
        encrypted = _rsa_output(public.encrypt(data, _OAEP), output)
        return {"kid": kid, "encrypted": encrypted} if options.get("extended") else encrypted

    def _rsa_decrypt(self, run: RunInfo, args: list[Any]) -> Any:
        api_key, payload = _arg(args, 0), _arg(args, 1)
        output = _encoding(_arg(args, 2), "utf8", RSA_DECRYPT_ENCODINGS)
        options = _arg(args, 3) if isinstance(_arg(args, 3), dict) else {}
        keys = self._keys(run, api_key)
        # node-rsa: a String to decrypt is base64.
        data = _bounded(_rsa_input(payload, "base64") if isinstance(payload, str) else _bytes_of(payload) or b"")
        if not data:
            raise _invalid("Invalid payload. Expected a base64 string or buffer.")
        wanted = options.get("kid")
        if wanted is None or isinstance(wanted, Undefined):
            keys = keys[:1]
        elif wanted != "*":
            keys = [k for k in keys if k[0] == _kid(wanted)]
            if not keys:
                raise Fault("cortex.notFound.unspecified", reason=f"ApiKey {api_key} kid not found.")
        failure: Fault | None = None
        for kid, pem in keys:
            try:
                decrypted = self._private(pem).decrypt(data, _OAEP)
            except ValueError:
                failure = _invalid("Error during decryption (probably incorrect key).")
                continue
            value = _rsa_output(decrypted, output)
            return {"kid": kid, "decrypted": value} if options.get("extended") else value
        assert failure is not None
        raise failure
