"use strict";
// The typed value codec and calls into the host (a prelude unit, see 00_bridge.js).
//
// Values cross the bridge as JSON text. Types JSON cannot carry are tagged as
// {"$cx": tag, "v": ...}: undefined, date, oid, bigint, binary, and "object"
// (an object that itself has a "$cx" key, sent as entries).

const __cx_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const __cx_bytesToBase64 = function (bytes) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += __cx_B64[(n >> 18) & 63] + __cx_B64[(n >> 12) & 63] + __cx_B64[(n >> 6) & 63] + __cx_B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    out += __cx_B64[(n >> 18) & 63] + __cx_B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? __cx_B64[(n >> 6) & 63] : "=";
    out += "=";
  }
  return out;
};

const __cx_base64ToBytes = function (text) {
  const clean = text.replace(/=+$/, "");
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | __cx_B64.indexOf(clean[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[j++] = (value >> bits) & 255;
    }
  }
  return bytes;
};

// Objects of our own that JSON.stringify or our lookups see have no prototype, so a
// script that pollutes Object.prototype (a toJSON, a "$cx") cannot reshape them.
const __cx_record = function (key, value) {
  const record = Object.create(null);
  record[key] = value;
  return record;
};

const __cx_tag = function (tag, value) {
  const record = __cx_record("$cx", tag);
  record.v = value;
  return record;
};

const __cx_lookupGetter = Object.prototype.__lookupGetter__;
const __cx_ObjectPrototype = Object.prototype;
const __cx_ArrayPrototype = Array.prototype;

// An object whose enumerable properties, own or inherited, include an accessor cannot be
// sent (fidelity.md section 12): reading it would run script code after the script ended.
// The replacer checks each property it is handed on its holder (own keys); objects with a
// prototype of their own also get their inherited enumerable keys checked, and the standard
// prototypes once per encoding. __lookupGetter__ finds an accessor without building descriptors.
const __cx_inheritsGetter = function (raw) {
  for (const key in raw) {
    if (!__cx_hasOwn.call(raw, key) && __cx_lookupGetter.call(raw, key) !== undefined) return true;
  }
  return false;
};

const __cx_prototypesHaveGetters = function () {
  for (const proto of [__cx_ObjectPrototype, __cx_ArrayPrototype]) {
    for (const key in proto) {
      if (__cx_lookupGetter.call(proto, key) !== undefined) return true;
    }
  }
  return false;
};

const __cx_GETTER = "A data object could not be converted for transport: it has an enumerable getter.";

const __cx_replacer = function (key, value) {
  if (__cx_lookupGetter.call(this, key) !== undefined) throw new TypeError(__cx_GETTER);
  const raw = this[key];
  if (raw === undefined) return __cx_record("$cx", "undefined");
  if (raw === null || typeof raw !== "object") {
    if (typeof raw === "bigint") return __cx_tag("bigint", raw.toString());
    return value;
  }
  if (raw instanceof Date) {
    const t = raw.getTime();
    return __cx_tag("date", t === t ? t : null);
  }
  // There is no ObjectID before its unit is loaded.
  const oid = __cx_units.objectid;
  if (oid && raw instanceof oid.ObjectID) return __cx_tag("oid", raw.toString());
  if (raw instanceof Uint8Array) return __cx_tag("binary", __cx_bytesToBase64(raw));
  if (raw instanceof ArrayBuffer) return __cx_tag("binary", __cx_bytesToBase64(new Uint8Array(raw)));
  if (value !== raw) return value; // a custom toJSON() result
  const proto = __cx_getPrototypeOf(raw);
  if (proto !== null && proto !== __cx_ObjectPrototype && proto !== __cx_ArrayPrototype && __cx_inheritsGetter(raw)) {
    throw new TypeError(__cx_GETTER);
  }
  if (!__cx_isArray(raw) && __cx_hasOwn.call(raw, "$cx")) return __cx_tag("object", Object.entries(raw));
  return value;
};

const __cx_encode = function (value) {
  if (value !== null && typeof value === "object" && __cx_prototypesHaveGetters()) throw new TypeError(__cx_GETTER);
  return __cx_stringify(__cx_record("v", value), __cx_replacer);
};

const __cx_UNDEFINED = Object.freeze({});
let __cx_undefinedSeen = 0;

const __cx_reviver = function (key, value) {
  if (value === null || typeof value !== "object") return value;
  if (__cx_undefinedSeen > 0) {
    for (const k of Object.keys(value)) {
      if (value[k] === __cx_UNDEFINED) {
        value[k] = undefined;
        __cx_undefinedSeen--;
      }
    }
  }
  if (__cx_isArray(value) || !__cx_hasOwn.call(value, "$cx") || typeof value.$cx !== "string") return value;
  switch (value.$cx) {
    case "undefined":
      __cx_undefinedSeen++;
      return __cx_UNDEFINED;
    case "date":
      return new Date(value.v === null ? NaN : value.v);
    case "oid":
      return new (__cx_unit("objectid").ObjectID)(value.v);
    case "bigint":
      return BigInt(value.v);
    case "binary":
      return __cx_base64ToBytes(value.v);
    case "object": {
      const out = {};
      for (const pair of value.v) out[pair[0]] = pair[1] === __cx_UNDEFINED ? undefined : pair[1];
      return out;
    }
  }
  return value;
};

const __cx_decode = function (text) {
  __cx_undefinedSeen = 0;
  const wrapper = __cx_parse(text, __cx_reviver);
  return wrapper.v === __cx_UNDEFINED ? undefined : wrapper.v;
};

// script.error.marshalling with the registry's message (fidelity.md section 12).
const __cx_marshallingFault = function (err) {
  return Fault.create("script.error.marshalling", {
    message:
      "Script marshalling error. A data object could not be converted for transport. It is possible a value may contain enumerable getters.",
    reason: String(err && err.message),
  });
};

// Calls a host function by name. Returns its decoded result or throws its fault.
const __cx_call = function (name, args) {
  if (__cx_dead) throw __cx_limitError(__cx_dead);
  __cx_r -= __cx_HOST_CALL_OPS;
  if (__cx_r < 0) __cx_x();
  let payload;
  try {
    payload = __cx_encode(args);
  } catch (err) {
    __cx_c(err);
    throw __cx_marshallingFault(err);
  }
  const reply = __cx_decode(__cx_host(name, payload, __cx_maxOps - __cx_r));
  if (__cx_hasOwn.call(reply, "f")) throw Fault.from(reply.f, true);
  return reply.v;
};

// The run configuration (see __cx_config in 90_run.js). Not a call the script makes,
// so it costs no ops.
const __cx_fetchConfig = function () {
  const reply = __cx_decode(__cx_host("config", "", __cx_maxOps - __cx_r));
  if (__cx_hasOwn.call(reply, "f")) throw Fault.from(reply.f, true);
  return reply.v;
};

return { encode: __cx_encode, decode: __cx_decode, call: __cx_call, config: __cx_fetchConfig, marshallingFault: __cx_marshallingFault };
