"""The pure modules as scripts see them: base64, crypto, qs, util (id, ip, paths, values, hex).

Acceptance facts of spec modules.md are named in the test names (``fact_4`` ...). The JS side
of the modules lives in js_prelude/65_util.js (60_modules.js routes the names to it; 90_run.js
defines the ``Buffer`` global from it).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from bson import ObjectId

from cortex_runtime import Fault
from cortex_runtime.modules import base64 as b64mod
from cortex_runtime.modules import crypto as cryptomod
from cortex_runtime.modules import qs as qsmod
from cortex_runtime.runtime import Runtime
from cortex_runtime.sandbox import UNDEFINED
from cortex_runtime.sandbox.prelude import load_prelude

@pytest.fixture(scope="module")
def runtime():
    rt = Runtime()
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def org(runtime):
    org, admin = runtime.orgs.create("puremods")
    runtime.store.orgs.update_one(
        {"_id": org._id}, {"$push": {"apps": {"name": "c_app", "key": "appkey123", "secret": "s", "enabled": True}}}
    )
    runtime.store.orgs.update_one({"_id": org._id}, {"$push": {"apps": {"name": "c_other", "key": "otherkey", "enabled": True}}})
    return org, admin


def run(runtime, org, source: str) -> Any:
    o, admin = org
    result = runtime.run(source, org=o, principal=admin)
    assert result.fault is None, result.fault.to_json()
    return result.value


def fault_of(runtime, org, source: str) -> dict[str, Any]:
    """The fault a script throws, as the script sees it (errCode, reason, name)."""
    return run(
        runtime,
        org,
        "try { (function () { " + source + " })(); return null } catch (e) "
        "{ return {errCode: e.errCode, code: e.code, reason: e.reason, name: e.name, message: e.message, type: e instanceof TypeError} }",
    )


# ---- base64 -----------------------------------------------------------------------------


def test_fact_4_base64_encode_hello(runtime, org):
    assert run(runtime, org, "return require('base64').encode('hello')") == "aGVsbG8="


def test_fact_5_base64_decode_to_string_and_to_buffer(runtime, org):
    value = run(
        runtime,
        org,
        """const base64 = require('base64');
        const b = base64.decode('aGVsbG8=', true);
        return [base64.decode('aGVsbG8='), b instanceof Uint8Array, Buffer.isBuffer(b), b.length, b.toString()]""",
    )
    assert value == ["hello", True, True, 5, "hello"]


def test_fact_67_base64_round_trips_a_sentence_as_string_and_buffer(runtime, org):
    value = run(
        runtime,
        org,
        """import base64 from 'base64';
        const s = 'The quick brown fox jumps over the lazy dog, 1234567890!';
        const e = base64.encode(s);
        return [base64.decode(e) === s, base64.decode(e, true).toString() === s, e]""",
    )
    assert value[:2] == [True, True]
    assert value[2] == "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZywgMTIzNDU2Nzg5MCE="


def test_base64_utf8_buffers_lenient_decoding_and_bad_arguments(runtime, org):
    value = run(
        runtime,
        org,
        """const base64 = require('base64');
        return [base64.encode('h\\u00e9llo \\u2603'), base64.decode(base64.encode('h\\u00e9llo \\u2603')),
                base64.encode(Buffer.from([0, 255, 1])), base64.decode('aGVs bG8'), base64.decode('_-8'),
                base64.decode('aGVsbG8=', 1).length]""",
    )
    assert value == ["aMOpbGxvIOKYgw==", "h\u00e9llo \u2603", "AP8B", "hello", base64_url_bytes(), 5]
    bad = fault_of(runtime, org, "require('base64').encode(5)")
    assert bad["errCode"] == "cortex.invalidArgument.unspecified"
    assert fault_of(runtime, org, "require('base64').decode({})")["errCode"] == "cortex.invalidArgument.unspecified"


def base64_url_bytes() -> str:
    # '_-8' is '/+8' in the standard alphabet: bytes ff ef, read as UTF-8 (bad bytes -> U+FFFD).
    return "\ufffd\ufffd"


def test_base64_inputs_are_bounded():
    with pytest.raises(Fault) as caught:
        b64mod.encode("x" * (b64mod.MAX_INPUT_CHARS + 1))
    assert caught.value.errCode == "cortex.tooLarge.unspecified"


# ---- crypto: hashes, hmacs, randomBytes ---------------------------------------------------------


def test_crypto_hashes_known_values(runtime, org):
    value = run(
        runtime,
        org,
        "const c = require('crypto'); return [c.version, c.md5('hello'), c.sha1('abc'), c.sha256('abc'), c.sha512('abc').slice(0, 16)]",
    )
    assert value == [
        "1.0.0",
        "5d41402abc4b2a76b9719d911017c592",
        "a9993e364706816aba3e25717850c26c9cd0d89d",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ddaf35a193617aba",
    ]


def test_crypto_hmacs_take_the_key_first(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto'); const fox = 'The quick brown fox jumps over the lazy dog';
        return [c.sha256Hmac('key', fox), c.md5Hmac('key', fox), c.sha1Hmac('key', fox)]""",
    )
    assert value == [
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
        "80070713463e7749b90c2dc24911e275",
        "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9",
    ]


def test_fact_77_crypto_hashes_are_deterministic_short_and_long_and_refuse_non_strings(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto');
        const long = 'abcdefghij'.repeat(1000);  // > 8,192 characters
        const out = {};
        for (const algo of ['md5', 'sha1', 'sha256', 'sha512']) {
          let threw = null;
          try { c[algo](123) } catch (e) { threw = e.errCode + ': ' + e.reason }
          out[algo] = {
            short: c[algo]('short') === c[algo]('short'),
            long: c[algo](long) === c[algo](long) && c[algo](long) !== c[algo](long + 'x'),
            threw: threw,
            hmac: c[algo + 'Hmac']('secret', 'x') === c[algo + 'Hmac']('secret', 'x'),
            differs: c[algo + 'Hmac']('secret', 'x') !== c[algo + 'Hmac']('not it', 'x'),
            long_hex: c[algo](long),
          };
        }
        return out""",
    )
    import hashlib

    for algo, checks in value.items():
        assert checks["short"] and checks["long"] and checks["hmac"] and checks["differs"], algo
        assert checks["threw"] == "cortex.invalidArgument.unspecified: String expected for hashing function.", algo
        assert checks["long_hex"] == hashlib.new(algo, b"abcdefghij" * 1000).hexdigest()
    assert fault_of(runtime, org, "require('crypto').sha1Hmac('k', {})")["reason"] == "Strings expected for hmac function."


def test_crypto_random_bytes_is_a_bounded_buffer(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto'); const a = c.randomBytes(16), b = c.randomBytes('32');
        return [Buffer.isBuffer(a), a.length, b.length, a.toString('hex') !== c.randomBytes(16).toString('hex'), c.randomBytes(8192).length]""",
    )
    assert value == [True, 16, 32, True, 8192]
    assert fault_of(runtime, org, "require('crypto').randomBytes(0)")["reason"] == "Size must be > 0"
    assert fault_of(runtime, org, "require('crypto').randomBytes('x')")["reason"] == "Size must be > 0"
    assert fault_of(runtime, org, "require('crypto').randomBytes(8193)")["reason"] == "Size must be <= 8192"


# ---- crypto: aes -------------------------------------------------------------------------------


def test_crypto_aes_cbc_matches_the_aes_js_vector_of_fact_93(runtime, org):
    # aes-js (fact 93): CBC, key 1..16, IV 21..36, 'TextMustBe16Byte' -> 104fb073f9a131f2cab49184bb864ca2.
    # Node's cipher pads with PKCS#7, so a whole 16-byte block is followed by a padding block.
    value = run(
        runtime,
        org,
        """const c = require('crypto');
        const key = Buffer.from([1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]);
        const iv = Buffer.from([21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36]);
        const enc = c.aes.encrypt(key, iv, 'TextMustBe16Byte', {algo: 'AES-128-CBC'});
        return [Buffer.isBuffer(enc), enc.length, enc.toString('hex'), c.aes.decrypt(key, iv, enc, {algo: 'aes-128-cbc'}).toString()]""",
    )
    assert value[0:2] == [True, 32]
    assert value[2].startswith("104fb073f9a131f2cab49184bb864ca2")
    assert value[3] == "TextMustBe16Byte"


def test_crypto_aes_ctr_nist_vector_and_256_bit_round_trips(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto'); const hex = require('util.hex');
        const key = hex.decode('2b7e151628aed2a6abf7158809cf4f3c');
        const ctr = hex.decode('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
        const nist = c.aes.encrypt(key, ctr, hex.decode('6bc1bee22e409f96e93d7e117393172a'), {algo: 'aes-128-ctr'}).toString('hex');
        const k256 = '0123456789abcdef0123456789abcdef', iv = 'abcdefghijklmnop';
        const text = 'any length at all: \\u2603';
        const cbc = c.aes.encrypt(k256, iv, text);
        const ctr256 = c.aes.encrypt(k256, iv, text, {algo: 'aes-256-ctr'});
        return [nist, c.aes.decrypt(k256, iv, cbc).toString(), cbc.length % 16,
                c.aes.decrypt(k256, iv, ctr256, {algo: 'aes-256-ctr'}).toString(), ctr256.length]""",
    )
    assert value == ["874d6191b620e3261bef6864990db6ce", "any length at all: \u2603", 0, "any length at all: \u2603", 22]


@pytest.mark.parametrize(
    "call, reason",
    [
        ("c.aes.encrypt('short', iv, 'x')", "Invalid key. Expected a 32-byte string or buffer."),
        ("c.aes.encrypt(k, 'short', 'x')", "Invalid initialization vector. Expected a 16-byte string or buffer."),
        ("c.aes.encrypt(k, iv, 12)", "Invalid payload. Expected a string or buffer."),
        ("c.aes.encrypt(k, iv, 'x', {algo: 'des-256-cbc'})", "Invalid algorithm. Only AES is current supported"),
        ("c.aes.encrypt(k, iv, 'x', {algo: 'aes-192-cbc'})", "Invalid algorithm. Only 128/256 bit keys are currently supported"),
        ("c.aes.encrypt(k, iv, 'x', {algo: 'aes-256-gcm'})", "Invalid algorithm. Only CTR/CBC mode is currently supported"),
        ("c.aes.encrypt(k, iv, 'x', {algo: 'aes-128-cbc'})", "Invalid key. Expected a 16-byte string or buffer."),
        ("c.aes.decrypt(k, iv, c.aes.encrypt(k, iv, 'x'), {})" + ".length; c.aes.decrypt('0123456789abcdef0123456789abcdeX', iv, c.aes.encrypt(k, iv, 'secret text'))", "Decryption failed (bad decrypt)."),
    ],
)
def test_crypto_aes_bad_arguments_are_invalid_argument_faults(runtime, org, call, reason):
    fault = fault_of(runtime, org, f"const c = require('crypto'); const k = '0123456789abcdef0123456789abcdef', iv = 'abcdefghijklmnop'; {call}")
    assert fault is not None and fault["errCode"] == "cortex.invalidArgument.unspecified", fault
    assert fault["reason"] == reason


def test_crypto_increment_iv_is_a_128_bit_big_endian_counter(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto');
        const ones = Buffer.alloc(16, 255);
        const low = Buffer.alloc(16); low[15] = 255;
        return [c.incrementIV(ones, 1).toString('hex'), c.incrementIV(low, 1).toString('hex'),
                c.incrementIV(low).toString('hex'), c.incrementIV(Buffer.alloc(16), 65536 * 256 + 2).toString('hex'),
                ones[0]]""",
    )
    assert value == ["0" * 32, "0" * 28 + "0100", "0" * 30 + "ff", "0" * 24 + "01000002", 255]
    assert fault_of(runtime, org, "require('crypto').incrementIV('abcdefghijklmnop', 1)")["reason"] == (
        "Invalid initialization vector. Expected a 16-byte buffer."
    )
    assert fault_of(runtime, org, "require('crypto').incrementIV(Buffer.alloc(16), -1)")["reason"] == "Invalid count."


def test_crypto_aes_ctr_chunks_chain_with_increment_iv(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto'); const k = '0123456789abcdef', iv = Buffer.from('abcdefghijklmnop');
        const o = {algo: 'aes-128-ctr'};
        const whole = c.aes.encrypt(k, iv, 'A'.repeat(48), o).toString('hex');
        const first = c.aes.encrypt(k, iv, 'A'.repeat(32), o).toString('hex');
        const rest = c.aes.encrypt(k, c.incrementIV(iv, 2), 'A'.repeat(16), o).toString('hex');
        return whole === first + rest""",
    )
    assert value is True


# ---- crypto: rsa ------------------------------------------------------------------------------


def test_crypto_rsa_round_trips_with_the_app_key_pair_kept_on_the_org(runtime, org):
    value = run(
        runtime,
        org,
        """const c = require('crypto');
        const enc = c.rsa.encrypt('c_app', 'the secret');
        const ext = c.rsa.encrypt('appkey123', {a: 1}, 'base64', 'utf8', {extended: true});
        return [Buffer.isBuffer(enc), enc.length, c.rsa.decrypt('c_app', enc), typeof ext.kid, typeof ext.encrypted,
                c.rsa.decrypt('appkey123', ext.encrypted, 'json'), c.rsa.decrypt('c_app', enc, 'utf8', {extended: true, kid: ext.kid}).decrypted,
                c.rsa.decrypt('c_app', enc, 'utf8', {kid: '*'}), c.rsa.decrypt('c_app', enc, 'hex'),
                c.rsa.encrypt('c_app', '74657374', 'hex', 'hex').length]""",
    )
    assert value[:5] == [True, 256, "the secret", "number", "string"]
    assert value[5] == {"a": 1}
    assert value[6:8] == ["the secret", "the secret"]
    assert value[8] == b"the secret".hex()
    assert value[9] == 512
    o, _ = org
    apps = runtime.store.orgs.find_one({"_id": o._id})["apps"]
    app = next(a for a in apps if a["name"] == "c_app")
    assert app["rsaPrivate"].startswith("-----BEGIN PRIVATE KEY-----") and isinstance(app["rsaKid"], int)
    # The pair is made once: a later run decrypts what an earlier one encrypted.
    hex_value = run(runtime, org, "return require('crypto').rsa.encrypt('c_app', 'again', 'hex')")
    assert run(runtime, org, f"return require('crypto').rsa.decrypt('c_app', Buffer.from('{hex_value}', 'hex'))") == "again"
    assert runtime.store.orgs.find_one({"_id": o._id})["apps"][0]["rsaPrivate"] == app["rsaPrivate"]


def test_crypto_rsa_faults(runtime, org):
    assert fault_of(runtime, org, "require('crypto').rsa.encrypt('nope', 'x')") == {
        "errCode": "cortex.notFound.unspecified", "code": "kNotFound", "reason": "ApiKey nope not found.",
        **{k: v for k, v in fault_of(runtime, org, "require('crypto').rsa.encrypt('nope', 'x')").items() if k in ("name", "message", "type")},
    }
    enc_type = fault_of(runtime, org, "require('crypto').rsa.encrypt('c_app', 'x', 'latin2')")
    assert enc_type["type"] is True and enc_type["message"] == "Invalid encoding. Expected hex, base64, buffer, binary"
    dec_type = fault_of(runtime, org, "require('crypto').rsa.decrypt('c_app', 'x', 'ucs2')")
    assert dec_type["type"] is True and dec_type["message"] == "Invalid encoding. Expected buffer, json, base64, utf8, hex, binary"
    kid = fault_of(runtime, org, "const c = require('crypto'); c.rsa.decrypt('c_app', c.rsa.encrypt('c_app', 'x'), 'utf8', {kid: 1})")
    assert kid["errCode"] == "cortex.notFound.unspecified" and kid["reason"] == "ApiKey c_app kid not found."
    other = fault_of(runtime, org, "const c = require('crypto'); c.rsa.decrypt('c_other', c.rsa.encrypt('c_app', 'x'))")
    assert other["errCode"] == "cortex.invalidArgument.unspecified", other
    too_long = fault_of(runtime, org, "require('crypto').rsa.encrypt('c_app', 'x'.repeat(215))")
    assert too_long["errCode"] == "cortex.invalidArgument.unspecified"


# ---- qs ---------------------------------------------------------------------------------------


def test_fact_86_qs_round_trips_through_escape_and_unescape(runtime, org):
    value = run(
        runtime,
        org,
        """const qs = require('qs'); const obj = {foo: 'bar', arr: ['a', 'b', 'c']};
        const s = qs.stringify(obj);
        return [s, qs.escape(s), JSON.stringify(qs.parse(qs.unescape(qs.escape(qs.stringify(obj))))) === JSON.stringify(obj)]""",
    )
    assert value == ["foo=bar&arr=a&arr=b&arr=c", "foo%3Dbar%26arr%3Da%26arr%3Db%26arr%3Dc", True]


def test_qs_node_querystring_semantics(runtime, org):
    value = run(
        runtime,
        org,
        """const qs = require('qs');
        return [
          qs.stringify({a: [1, 2], b: null, c: true, d: 'x y/&', e: {}, f: NaN, g: undefined}),
          qs.stringify({a: 1, b: 2}, ';', ':'),
          qs.stringify('nope'),
          qs.parse('a:1;b:2', ';', ':'),
          qs.parse('a+b=c%20d&a+b=e&&=z&flag&x=%zz'),
          qs.escape("a b&c/d!'()*~\\u00e9"),
          qs.unescape('%41+%zz%e2%98%83'),
          Object.keys(qs.parse('a=1&b=2&c=3', null, null, {maxKeys: 2})),
          qs.parse(''),
        ]""",
    )
    assert value == [
        "a=1&a=2&b=&c=true&d=x%20y%2F%26&e=&f=&g=",
        "a:1;b:2",
        "",
        {"a": "1", "b": "2"},
        {"a b": ["c d", "e"], "": "z", "flag": "", "x": "%zz"},
        "a%20b%26c%2Fd!'()*~%C3%A9",
        "A+%zz\u2603",
        ["a", "b"],
        {},
    ]
    assert fault_of(runtime, org, "require('qs').escape('\\ud800')")["errCode"] == "cortex.invalidArgument.unspecified"


def test_qs_inputs_are_bounded():
    with pytest.raises(Fault) as caught:
        qsmod.parse("a" * (qsmod.MAX_INPUT_CHARS + 1))
    assert caught.value.errCode == "cortex.tooLarge.unspecified"
    assert len(qsmod.parse("&".join(f"k{i}=1" for i in range(5000)))) == qsmod.DEFAULT_MAX_KEYS


# ---- util.id ----------------------------------------------------------------------------------

HEX = "4a232bca18759fcbdef24855"


def test_fact_48_to_51_util_id_and_object_id(runtime, org):
    value = run(
        runtime,
        org,
        f"""import {{ id }} from 'util';
        const s = '{HEX}';
        return [id.isIdFormat(s), id.isIdFormat(new ObjectID(s)), id.couldBeId(new ObjectID()), id.couldBeId('xyz'),
                id.equalIds(s, new ObjectID(s)), new ObjectID(s).getTimestamp(), id.isIdFormat('xyz'),
                require('util.id') === id]""",
    )
    assert value == [True, False, True, False, True, 1243818954, False, True]


def test_util_id_helpers(runtime, org):
    a, b, c = "000000000000000000000001", "000000000000000000000002", "000000000000000000000003"
    value = run(
        runtime,
        org,
        f"""const id = require('util.id');
        const a = '{a}', b = '{b}', c = '{c}';
        const list = [a, 'junk', new ObjectID(b), null, a.toUpperCase()];
        const same = id.getIdArray(list, true);
        const seen = [];
        id.getIdArray([a, b], false, (x) => seen.push(x instanceof ObjectID));
        const docs = [{{_id: new ObjectID(a), n: 1}}, {{x: {{y: b}}, n: 2}}];
        return [
          same === list, list, id.uniqueIdArray([a, a.toUpperCase(), b]).map(String), seen,
          id.equalIds(a, a, new ObjectID(a)), id.equalIds(a, b), id.equalIds('nope', 'nope'), id.equalIds(a, 'nope'),
          id.indexOfId([b, a], new ObjectID(a)), id.inIdArray([b], a), id.inIdArray([b], 'junk'),
          id.diffIdArrays([a, b, c], [b], [c]).map(String), id.intersectIdArrays([a, b, c], [b, c], [c, a]).map(String),
          id.lookupId({{[a]: 'A', [b]: 'B'}}, new ObjectID(b)), id.findIdPos(docs, 'x.y', b), id.findIdPos(docs, '_id', c),
          id.findIdInArray(docs, '_id', a) === docs[0], id.getIdOrNull({{_id: a}}, true) instanceof ObjectID,
          id.getIdOrNull({{_id: a}}), id.getIdOrNull(5), id.isId(new ObjectID()), id.isId(a),
          id.idToTimestamp('{HEX}'), id.idToTimestamp('junk'), id.timestampToId(1456870660000).toString(),
          id.timestampToId(new Date('2016-03-01T22:17:40.000Z')).toString(), id.createId('{HEX}').toString(), id.createId() instanceof ObjectID,
          id.OBJECT_ID_REGEXP.test('{HEX}'),
        ]""",
    )
    assert value == [
        True, [a, b, a], [a, b], [True, True],
        True, False, False, False,
        1, False, False,
        [a], [c],
        "B", 1, -1,
        True, True,
        None, None, True, False,
        1243818954, 0, "56d615040000000000000000",
        "56d615040000000000000000", HEX, True,
        True,
    ]


# ---- util.ip ----------------------------------------------------------------------------------


def test_util_ip(runtime, org):
    value = run(
        runtime,
        org,
        """const ip = require('util.ip');
        return [
          ip.is_ipv4('192.168.0.1'), ip.is_ipv4('01.2.3.4'), ip.is_ipv4('256.1.1.1'), ip.is_ipv4('1.2.3'), ip.is_ipv4(12),
          ip.is_cidr('10.0.0.0/8'), ip.is_cidr('10.0.0.0/33'), ip.is_cidr('10.0.0.0'),
          ip.contains_ip(['10.0.0.0/8', '1.2.3.4'], '10.2.3.4'), ip.contains_ip(['10.0.0.0/8', '1.2.3.4'], '1.2.3.4'),
          ip.contains_ip('1.2.3.0/24', '1.2.3.99'), ip.contains_ip(['10.0.0.0/8'], '11.0.0.1'), ip.contains_ip(['x'], 'y'),
          ip.ip4toint('1.2.3.4'), ip.ip4toint('255.255.255.255'), ip.ip4toint('nope'),
          ip.inttoip4(16909060), ip.inttoip4(-1), ip.inttoip4('x'),
          ip.ip4incidr('192.168.1.7', '192.168.0.0/16'), ip.ip4incidr('192.169.1.7', '192.168.0.0/16'),
          ip.ip4incidr('8.8.8.8', '0.0.0.0/0'), ip.ip4incidr('bad', '0.0.0.0/0'),
          require('util').ip.is_ipv4('127.0.0.1'),
        ]""",
    )
    assert value == [
        True, False, False, False, False,
        True, False, False,
        True, True,
        True, False, False,
        16909060, 4294967295, 0,
        "1.2.3.4", "255.255.255.255", "0.0.0.0",
        True, False,
        True, False,
        True,
    ]


# ---- util.paths -------------------------------------------------------------------------------


def test_fact_52_paths_to_reads(runtime, org):
    value = run(
        runtime,
        org,
        """import { paths } from 'util';
        return [paths.to({a: {b: {c: 3}}}, 'a.b.c'), paths.to({}, 'a.b') === undefined, paths.to({a: {b: [5]}}, 'a.b.0'),
                paths.to(null, 'a') === undefined, paths.to({a: null}, 'a'), paths.to({a: null}, 'a.b') === undefined]""",
    )
    assert value == [3, True, 5, True, None, True]


def test_paths_to_writes_in_place(runtime, org):
    value = run(
        runtime,
        org,
        """const to = require('util.paths.to');
        const obj = {a: null};
        const written = to(obj, 'a.b.c', 7);
        const top = to(obj, 'x.y', 1, true);
        const { accessor } = require('util').paths;
        const store = {};
        const api = { get: (k) => (k === undefined ? store : to(store, k)), set: (k, v) => to(store, k, v) };
        const acc = accessor(api, { extra: { keys: () => Object.keys(store) } });
        acc('p.q', 2);
        return [written, top === obj, obj, acc('p.q'), acc(), acc.keys(), require('util.paths').to === to]""",
    )
    assert value == [7, True, {"a": {"b": {"c": 7}}, "x": {"y": 1}}, 2, {"p": {"q": 2}}, ["p"], True]


# ---- util.values, util.hex, util ---------------------------------------------------------------


def test_util_values(runtime, org):
    value = run(
        runtime,
        org,
        """const v = require('util.values');
        let seen = null;
        const ok = v.tryCatch(() => 5, (err, result) => { seen = [err === undefined, result] });
        const bad = v.tryCatch(() => { throw Fault.create('kInvalidArgument', {reason: 'no'}) });
        const obj = {a: 1, b: undefined, c: null};
        return [
          v.isSet(0), v.isSet(null), v.isSet(undefined), v.rBool(undefined, true), v.rBool(0, true), v.rBool('x'),
          v.rInt('12', 0), v.rInt('1.5', 9), v.rInt(3.5, 9), v.rNum('1.5', 0), v.rNum('x', -1),
          v.rString(5, 'd'), v.rString('s', 'd'), v.rVal(undefined, 'd'), v.rVal(null, 'd'),
          v.array('x'), v.array('x', true), v.array(null, true), v.array([1]),
          v.clamp(15, 1, 10), v.clamp(-5, 1, 10), v.option({a: 1}, 'a', 2), v.option(null, 'a', 2),
          ok, seen, bad[0].reason, bad[1] === undefined,
          v.isFunction(() => 1), v.isFunction({}), v.isValidDate(new Date()), v.isValidDate(new Date('x')),
          v.getValidDate('2020-01-02T00:00:00.000Z').getTime(), v.getValidDate('garbage', 'd'),
          ['a10', 'a2', 'A1', 'b', 'a2b'].sort(v.naturalCmp),
          v.compact(obj), v.compact({a: 1, b: null}, null), v.pad(7, 3), v.escapeRegex('a.b*c'),
          v.matchesEnvironment('*'), v.matchesEnvironment('prod', 'prod'), v.matchesEnvironment('dev', 'prod'),
          require('util').values === v, require('util.hex').encode(require('util.hex').decode('00ff10')),
        ]""",
    )
    assert value == [
        True, False, False, True, False, True,
        12, 9, 9, 1.5, -1,
        "d", "s", "d", None,
        [], ["x"], [], [1],
        10, 1, 1, 2,
        [UNDEFINED, 5], [True, 5], "no", True,
        True, False, True, False,
        1577923200000, "d",
        ["A1", "a2", "a2b", "a10", "b"],
        {"a": 1, "c": None}, {"a": 1}, "007", "a\\.b\\*c",
        True, True, False,
        True, "00ff10",
    ]


def test_util_aggregate_is_frozen_and_lazy(runtime, org):
    value = run(
        runtime,
        org,
        """const util = require('util');
        let changed = true;
        try { util.id = 1 } catch (e) { changed = false }
        return [Object.keys(util), Object.isFrozen(util), changed, util.id === require('util.id'), require('util') === util,
                require('crypto') === require('crypto')]""",
    )
    assert value == [["id", "ip", "hex", "paths", "values"], True, False, True, True, True]


def test_buffers_as_results_and_json(runtime, org):
    value = run(
        runtime,
        org,
        """const b = Buffer.from('hi');
        return [JSON.stringify(b), b.toString('base64'), Buffer.from('aGk=', 'base64').toString(), b.slice(1) instanceof Buffer,
                Buffer.concat([b, Buffer.from('!')]).toString(), Buffer.from('\\u00e9\\ud83d\\ude00').toString('hex'),
                Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0xff]).toString()]""",
    )
    assert value == ['{"type":"Buffer","data":[104,105]}', "aGk=", "hi", True, "hi!", "c3a9f09f9880", "\U0001F600\ufffd"]


def test_the_util_unit_defines_every_name_60_modules_routes_to_it():
    loaded = load_prelude()
    names = re.search(r"const __cx_factories = \{(.*?)\n\};", loaded.units["util"], re.S)
    assert names is not None
    found = re.findall(r'^  "?([\w.]+)"?: ', names.group(1), re.M)
    routed = re.search(r'for \(const name of (\[[^\]]*\])\) \{\n  __cx_builtinModules\[name\]', loaded.units["modules"])
    assert routed is not None
    assert sorted(found) == sorted(json.loads(routed.group(1)))


def test_python_side_faults_never_leak_tracebacks():
    module = cryptomod.CryptoModule(runtime=None)  # type: ignore[arg-type]
    for name, args in [
        ("crypto.sha256", [None]),
        ("crypto.aes.encrypt", [None, None, None, "not options"]),
        ("crypto.randomBytes", [float("nan")]),
        ("crypto.nothing", []),
    ]:
        with pytest.raises(Fault):
            module.call(None, name, args)  # type: ignore[arg-type]
    assert ObjectId.is_valid(HEX)


def test_fact_93_aes_js_vectors_and_agreement_with_crypto_aes(runtime, org):
    value = run(
        runtime,
        org,
        """const aesjs = require('aes-js'); const c = require('crypto');
        const key = [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16], iv = [21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36];
        const cbc = new aesjs.ModeOfOperation.cbc(key, iv);
        const hex = aesjs.utils.hex.fromBytes(cbc.encrypt(aesjs.utils.utf8.toBytes('TextMustBe16Byte')));
        const text = 'Text may be any length you wish, no padding is required.';
        const k16 = aesjs.utils.utf8.toBytes('0123456789abcdef');
        const enc = new aesjs.ModeOfOperation.ctr(k16, new aesjs.Counter(5)).encrypt(aesjs.utils.utf8.toBytes(text));
        const dec = aesjs.utils.utf8.fromBytes(new aesjs.ModeOfOperation.ctr(k16, new aesjs.Counter(5)).decrypt(enc));
        const counter = Buffer.alloc(16); counter[15] = 5;
        const ours = c.aes.encrypt('0123456789abcdef', counter, text, {algo: 'aes-128-ctr'}).toString('hex');
        return [hex, dec === text, ours === aesjs.utils.hex.fromBytes(enc)]""",
    )
    assert value == ["104fb073f9a131f2cab49184bb864ca2", True, True]


def test_work_in_the_js_unit_is_charged_to_the_run_ops(runtime, org):
    from cortex_runtime.config import limits_for

    o, admin = org
    limits = limits_for("route").with_overrides(max_ops=50_000)
    source = "const big = new Array(200000).fill('x'); return require('util.id').getIdArray(big).length"
    result = runtime.run(source, org=o, principal=admin, limits=limits)
    assert result.fault is not None and result.fault.errCode == "script.error.ops", result.value
    small = runtime.run(source.replace("200000", "1000"), org=o, principal=admin, limits=limits)
    assert small.value == 0, small.fault


def test_runs_without_an_org_hash_but_cannot_use_rsa(runtime):
    result = runtime.sandbox.run("return require('crypto').md5('hello')")
    # A bare sandbox run has no Python modules' context: hashes need none.
    assert result.value == "5d41402abc4b2a76b9719d911017c592", result.fault
    refused = runtime.sandbox.run("return require('crypto').rsa.encrypt('c_app', 'x')")
    assert refused.fault is not None and refused.fault.code == "kNotImplemented"
