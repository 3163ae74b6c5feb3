"use strict";
// The pure modules' JS side (a prelude unit, see 00_bridge.js; modules.md sections 2, 8,
// 18-20, 33). load(name) gives the module a require(name) resolves to:
//   util           the aggregate: lazy getters id, ip, hex, paths, values
//   util.id        ObjectID helpers, pure JS (identity and in-place edits matter here)
//   util.paths     {to, accessor}; util.paths.to and util.paths.accessor are the functions
//   util.values    value helpers (isSet, rBool, rInt, ..., tryCatch, naturalCmp)
//   util.hex       encode(bytes) -> hex String, decode(hex) -> Buffer
//   crypto         the host's hashes, HMACs, randomBytes, aes and rsa (host calls
//                  crypto.*, see cortex_runtime/modules/crypto.py) plus version and incrementIV
//   base64         host calls base64.encode / base64.decode, with Buffers for decode(s, true)
// util.ip is the host module cortex_runtime/modules/util_ip.py; util.ip here requires it.
// Buffer: a Uint8Array with Node's from/alloc/toString (the codec carries it as binary).
//
// Work proportional to an argument's size is charged to the run's ops, as a compiled
// loop would be: one op per element, one per 16 bytes.

// The codec only when a module calls the host: util.paths, util.values and Buffer never do.
const __cx_call = function (name, args) {
  return __cx_unit("codec").call(name, args);
};
const __cx_requireModule = function (name) {
  return __cx_unit("modules").require(name, 1);
};

const __cx_spend = function (n) {
  __cx_r -= n;
  if (__cx_r < 0 || __cx_dead) __cx_x();
};

const __cx_invalid = function (reason) {
  return Fault.create("cortex.invalidArgument.unspecified", { reason: reason });
};

const __cx_isFunction = function (value) {
  return typeof value === "function";
};

const __cx_isPlainObject = function (value) {
  if (value === null || typeof value !== "object") return false;
  const proto = __cx_getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
};

// ---- UTF-8 and Buffer --------------------------------------------------------------

const __cx_utf8Encode = function (text) {
  __cx_spend(text.length >> 4);
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
};

const __cx_utf8Decode = function (bytes) {
  __cx_spend(bytes.length >> 4);
  let out = "";
  let chunk = [];
  const flush = function () {
    out += String.fromCharCode.apply(null, chunk);
    chunk = [];
  };
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let c = 0xfffd;
    let n = 1;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
      c = ((b & 31) << 6) | (bytes[i + 1] & 63);
      n = 2;
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
      c = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
      n = 3;
    } else if (b >= 0xf0 && b < 0xf5 && i + 3 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80 && (bytes[i + 3] & 0xc0) === 0x80) {
      c = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63);
      if (c < 0x10000 || c > 0x10ffff) c = 0xfffd;
      n = 4;
    }
    if (c >= 0x10000) {
      c -= 0x10000;
      chunk.push(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
    } else chunk.push(c);
    if (chunk.length >= 4096) flush();
    i += n;
  }
  flush();
  return out;
};

const __cx_HEX = "0123456789abcdef";

const __cx_hexEncode = function (bytes) {
  __cx_spend(bytes.length >> 4);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += __cx_HEX[bytes[i] >> 4] + __cx_HEX[bytes[i] & 15];
  return out;
};

const __cx_hexDecode = function (text) {
  __cx_spend(text.length >> 5);
  const out = [];
  for (let i = 0; i + 1 < text.length; i += 2) {
    const n = parseInt(text.substr(i, 2), 16);
    if (n !== n) break; // Node stops at the first pair that is not hex
    out.push(n);
  }
  return out;
};

class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === "string") {
      const enc = String(encodingOrOffset || "utf8").toLowerCase();
      if (enc === "utf8" || enc === "utf-8") return Buffer.from(__cx_utf8Encode(value));
      if (enc === "hex") return Buffer.from(__cx_hexDecode(value));
      if (enc === "base64") return __cx_asBuffer(__cx_call("base64.decode", [value, true]));
      if (enc === "latin1" || enc === "binary" || enc === "ascii") {
        const out = new Buffer(value.length);
        for (let i = 0; i < value.length; i++) out[i] = value.charCodeAt(i) & 255;
        return out;
      }
      throw new TypeError("Unknown encoding: " + enc);
    }
    if (value instanceof ArrayBuffer) return new Buffer(value, encodingOrOffset || 0, length === undefined ? value.byteLength - (encodingOrOffset || 0) : length);
    if (value instanceof Uint8Array) return new Buffer(value);
    if (__cx_isArray(value) || (value && typeof value.length === "number")) {
      __cx_spend(value.length >> 4);
      return new Buffer(Array.prototype.slice.call(value));
    }
    if (value && value.type === "Buffer" && __cx_isArray(value.data)) return Buffer.from(value.data);
    throw new TypeError("The first argument must be a string, Buffer, ArrayBuffer or array.");
  }

  static alloc(size, fill) {
    const out = new Buffer(size);
    if (fill !== undefined) out.fill(typeof fill === "string" ? fill.charCodeAt(0) & 255 : fill);
    return out;
  }

  static allocUnsafe(size) {
    return new Buffer(size);
  }

  static isBuffer(value) {
    return value instanceof Buffer;
  }

  static byteLength(value, encoding) {
    return typeof value === "string" ? Buffer.from(value, encoding).length : value.byteLength;
  }

  static concat(list, total) {
    let size = 0;
    for (const item of list) size += item.length;
    const out = new Buffer(total === undefined ? size : total);
    let at = 0;
    for (const item of list) {
      if (at >= out.length) break;
      out.set(item.length + at > out.length ? item.subarray(0, out.length - at) : item, at);
      at += item.length;
    }
    return out;
  }

  toString(encoding, start, end) {
    const bytes = start === undefined && end === undefined ? this : this.subarray(start || 0, end === undefined ? this.length : end);
    const enc = String(encoding || "utf8").toLowerCase();
    if (enc === "utf8" || enc === "utf-8") return __cx_utf8Decode(bytes);
    if (enc === "hex") return __cx_hexEncode(bytes);
    if (enc === "base64") return __cx_call("base64.encode", [bytes]);
    if (enc === "latin1" || enc === "binary" || enc === "ascii") {
      let out = "";
      for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(enc === "ascii" ? bytes[i] & 127 : bytes[i]);
      return out;
    }
    throw new TypeError("Unknown encoding: " + enc);
  }

  equals(other) {
    if (!(other instanceof Uint8Array) || other.length !== this.length) return false;
    for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
    return true;
  }

  toJSON() {
    return { type: "Buffer", data: Array.prototype.slice.call(this) };
  }
}
Object.freeze(Buffer.prototype);
Object.freeze(Buffer);

// Bytes from the host (a plain Uint8Array) as a Buffer over the same memory.
const __cx_asBuffer = function (bytes) {
  if (bytes instanceof Buffer) return bytes;
  if (bytes instanceof Uint8Array) return new Buffer(bytes.buffer, bytes.byteOffset, bytes.length);
  return bytes;
};

// ---- crypto ------------------------------------------------------------------------

const __cx_RSA_OUT = ["hex", "base64", "buffer", "binary"];
const __cx_RSA_IN = ["hex", "base64", "utf8"];
const __cx_RSA_DECRYPT_OUT = ["buffer", "json", "base64", "utf8", "hex", "binary"];

const __cx_checkEncoding = function (value, allowed) {
  if (allowed.indexOf(value) < 0) throw new TypeError("Invalid encoding. Expected " + allowed.join(", "));
};

const __cx_cryptoModule = function () {
  const hostCall = function (method) {
    return function () {
      return __cx_call("crypto." + method, Array.prototype.slice.call(arguments));
    };
  };
  const out = { version: "1.0.0" };
  for (const algo of ["md5", "sha1", "sha256", "sha512"]) {
    out[algo] = hostCall(algo);
    out[algo + "Hmac"] = hostCall(algo + "Hmac");
  }
  out.randomBytes = function randomBytes(size) {
    return __cx_asBuffer(__cx_call("crypto.randomBytes", [size]));
  };
  out.aes = Object.freeze({
    encrypt: function encrypt(key, iv, payload, options) {
      return __cx_asBuffer(__cx_call("crypto.aes.encrypt", [key, iv, payload, options]));
    },
    decrypt: function decrypt(key, iv, payload, options) {
      return __cx_asBuffer(__cx_call("crypto.aes.decrypt", [key, iv, payload, options]));
    },
  });
  out.rsa = Object.freeze({
    encrypt: function encrypt(apiKey, payload, outputEncoding, inputEncoding, options) {
      outputEncoding = outputEncoding === undefined ? "buffer" : outputEncoding;
      inputEncoding = inputEncoding === undefined ? "utf8" : inputEncoding;
      __cx_checkEncoding(outputEncoding, __cx_RSA_OUT);
      __cx_checkEncoding(inputEncoding, __cx_RSA_IN);
      const result = __cx_call("crypto.rsa.encrypt", [apiKey, payload, outputEncoding, inputEncoding, options]);
      if (result && typeof result === "object" && !(result instanceof Uint8Array)) {
        result.encrypted = __cx_asBuffer(result.encrypted);
        return result;
      }
      return __cx_asBuffer(result);
    },
    decrypt: function decrypt(apiKey, payload, outputEncoding, options) {
      outputEncoding = outputEncoding === undefined ? "utf8" : outputEncoding;
      __cx_checkEncoding(outputEncoding, __cx_RSA_DECRYPT_OUT);
      const result = __cx_call("crypto.rsa.decrypt", [apiKey, payload, outputEncoding, options]);
      if (options && options.extended && result && typeof result === "object") {
        result.decrypted = __cx_asBuffer(result.decrypted);
        return result;
      }
      return __cx_asBuffer(result);
    },
  });
  // Adds count to the IV as a big-endian 128-bit counter (chaining CTR chunks).
  out.incrementIV = function incrementIV(iv, count) {
    if (!(iv instanceof Uint8Array) || iv.length !== 16) throw __cx_invalid("Invalid initialization vector. Expected a 16-byte buffer.");
    count = count === undefined ? 0 : count;
    if (typeof count !== "number" || !(count >= 0) || count === Infinity) throw __cx_invalid("Invalid count.");
    const next = Buffer.from(iv);
    let rest = Math.floor(count);
    let carry = 0;
    for (let i = 15; i >= 0; i--) {
      const sum = next[i] + (rest % 256) + carry;
      rest = Math.floor(rest / 256);
      next[i] = sum & 255;
      carry = sum >> 8;
    }
    return next;
  };
  return Object.freeze(out);
};

// ---- base64 ------------------------------------------------------------------------

const __cx_base64Module = function () {
  return Object.freeze({
    encode: function encode(value) {
      return __cx_call("base64.encode", [value]);
    },
    decode: function decode(value, asBuffer) {
      const result = __cx_call("base64.decode", [value, !!asBuffer]);
      return asBuffer ? __cx_asBuffer(result) : result;
    },
  });
};

// ---- util.paths --------------------------------------------------------------------

const __cx_segments = function (path) {
  if (__cx_isArray(path)) return path.map(String);
  return String(path).split(".");
};

// to(obj, path): read by dotted path (undefined when a segment is missing or obj is null).
// to(obj, path, value, returnTopOnWrite): write, making missing or null segments {};
// returns the value written, or the top object when returnTopOnWrite is true.
const __cx_pathTo = function to(obj, path, value, returnTopOnWrite) {
  const parts = __cx_segments(path);
  __cx_spend(parts.length);
  if (arguments.length > 2) {
    if (obj === null || (typeof obj !== "object" && typeof obj !== "function")) return undefined;
    let target = obj;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = target[parts[i]];
      if (next === null || next === undefined) target[parts[i]] = {};
      else if (typeof next !== "object" && typeof next !== "function") return undefined;
      target = target[parts[i]];
    }
    target[parts[parts.length - 1]] = value;
    return returnTopOnWrite ? obj : value;
  }
  let current = obj;
  for (let i = 0; i < parts.length; i++) {
    if (current === null || current === undefined) return undefined;
    current = current[parts[i]];
  }
  return current;
};

// accessor(api, {getUndefinedKey = true, extra}) -> (key, val): api.get(), api.get(key),
// api.set(key, val) by the number of arguments; extra's members are copied onto it.
const __cx_pathAccessor = function accessor(api, options) {
  const opts = options || {};
  const getUndefinedKey = opts.getUndefinedKey === undefined ? true : !!opts.getUndefinedKey;
  const fn = function (key, val) {
    if (arguments.length === 0 || (key === undefined && arguments.length === 1 && !getUndefinedKey)) return api.get();
    if (arguments.length === 1) return api.get(key);
    return api.set(key, val);
  };
  if (opts.extra && typeof opts.extra === "object") Object.assign(fn, opts.extra);
  return fn;
};

// ---- util.id -----------------------------------------------------------------------

const __cx_idModule = function () {
  const ObjectID = __cx_unit("objectid").ObjectID;
  const OBJECT_ID_REGEXP = /^[0-9a-fA-F]{24}$/;
  const isId = function isId(value) {
    return value instanceof ObjectID;
  };
  const isIdFormat = function isIdFormat(value) {
    return typeof value === "string" && OBJECT_ID_REGEXP.test(value);
  };
  const couldBeId = function couldBeId(value) {
    return isId(value) || isIdFormat(value);
  };
  const key = function (value) {
    return isId(value) ? value.toString() : value.toLowerCase();
  };
  const getIdOrNull = function getIdOrNull(value, anyObject) {
    if (isId(value)) return value;
    if (isIdFormat(value)) return new ObjectID(value);
    if (anyObject && value !== null && typeof value === "object" && value._id !== undefined && value._id !== value) {
      return getIdOrNull(value._id, false);
    }
    return null;
  };
  const equalIds = function equalIds(first) {
    if (!couldBeId(first)) return false;
    const k = key(first);
    for (let i = 1; i < arguments.length; i++) {
      if (!couldBeId(arguments[i]) || key(arguments[i]) !== k) return false;
    }
    return true;
  };
  const indexOfId = function indexOfId(ids, id) {
    const wanted = getIdOrNull(id);
    if (!wanted || !__cx_isArray(ids)) return -1;
    __cx_spend(ids.length);
    const k = wanted.toString();
    for (let i = 0; i < ids.length; i++) if (couldBeId(ids[i]) && key(ids[i]) === k) return i;
    return -1;
  };
  // In place: entries that are not ids are removed, the rest become ObjectIDs (or strings).
  const getIdArray = function getIdArray(ids, convertToStrings, fnEach) {
    if (!__cx_isArray(ids)) ids = ids === null || ids === undefined ? [] : [ids];
    __cx_spend(ids.length);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = getIdOrNull(ids[i]);
      if (!id) continue;
      ids[at++] = convertToStrings ? id.toString() : id;
    }
    ids.length = at;
    if (__cx_isFunction(fnEach)) for (let i = 0; i < ids.length; i++) fnEach(ids[i], i);
    return ids;
  };
  const uniqueIdArray = function uniqueIdArray(ids) {
    const seen = Object.create(null);
    const out = [];
    for (const id of getIdArray(__cx_isArray(ids) ? ids.slice() : ids)) {
      const k = id.toString();
      if (!seen[k]) {
        seen[k] = true;
        out.push(id);
      }
    }
    return out;
  };
  const keySet = function (ids) {
    const set = Object.create(null);
    for (const id of uniqueIdArray(ids)) set[id.toString()] = true;
    return set;
  };
  const diffIdArrays = function diffIdArrays(first) {
    const others = Array.prototype.slice.call(arguments, 1).map(keySet);
    return uniqueIdArray(first).filter((id) => !others.some((set) => set[id.toString()]));
  };
  const intersectIdArrays = function intersectIdArrays(first) {
    const others = Array.prototype.slice.call(arguments, 1).map(keySet);
    return uniqueIdArray(first).filter((id) => others.every((set) => set[id.toString()]));
  };
  const lookupId = function lookupId(obj, id) {
    const wanted = getIdOrNull(id);
    if (!wanted || obj === null || typeof obj !== "object") return undefined;
    const k = wanted.toString();
    for (const name of Object.keys(obj)) if (isIdFormat(name) && name.toLowerCase() === k) return obj[name];
    return undefined;
  };
  const findIdPos = function findIdPos(array, path, id) {
    if (!__cx_isArray(array) || !getIdOrNull(id)) return -1;
    __cx_spend(array.length);
    for (let i = 0; i < array.length; i++) {
      const value = path === undefined || path === null || path === "" ? array[i] : __cx_pathTo(array[i], path);
      if (equalIds(id, value)) return i;
    }
    return -1;
  };
  const findIdInArray = function findIdInArray(array, path, id) {
    const at = findIdPos(array, path, id);
    return at < 0 ? undefined : array[at];
  };
  return Object.freeze({
    OBJECT_ID_REGEXP: OBJECT_ID_REGEXP,
    isId: isId,
    isIdFormat: isIdFormat,
    couldBeId: couldBeId,
    equalIds: equalIds,
    createId: function createId(value) {
      return new ObjectID(value === undefined ? null : value);
    },
    // t: ms since the epoch, a Date or a date string; the id's other bytes are zero.
    timestampToId: function timestampToId(timestamp) {
      const date = timestamp instanceof Date ? timestamp : new Date(typeof timestamp === "string" && /^\d+$/.test(timestamp) ? Number(timestamp) : timestamp);
      return new ObjectID(date);
    },
    // The id's getTimestamp() (seconds, as ObjectID's), 0 for a value that is not an id.
    idToTimestamp: function idToTimestamp(id) {
      const found = getIdOrNull(id);
      return found ? found.getTimestamp() : 0;
    },
    getIdOrNull: getIdOrNull,
    indexOfId: indexOfId,
    inIdArray: function inIdArray(ids, id) {
      return indexOfId(ids, id) > -1;
    },
    getIdArray: getIdArray,
    uniqueIdArray: uniqueIdArray,
    lookupId: lookupId,
    findIdPos: findIdPos,
    findIdInArray: findIdInArray,
    diffIdArrays: diffIdArrays,
    intersectIdArrays: intersectIdArrays,
  });
};

// ---- util.values -------------------------------------------------------------------

const __cx_valuesModule = function () {
  const isSet = function isSet(value) {
    return value !== null && value !== undefined;
  };
  const isInt = function isInt(value) {
    if (typeof value === "number") return Number.isInteger(value);
    return typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value);
  };
  const isNumeric = function isNumeric(value) {
    if (typeof value === "number") return isFinite(value);
    return typeof value === "string" && value.trim() !== "" && isFinite(Number(value));
  };
  const isValidDate = function isValidDate(value) {
    return value instanceof Date && value.getTime() === value.getTime();
  };
  // Chunks of digits compare as numbers, the rest as (case-insensitive) text.
  const naturalCmp = function naturalCmp(a, b) {
    const x = String(a === undefined || a === null ? "" : a).toLowerCase().match(/(\d+|\D+)/g) || [];
    const y = String(b === undefined || b === null ? "" : b).toLowerCase().match(/(\d+|\D+)/g) || [];
    __cx_spend(Math.min(x.length, y.length));
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const p = x[i];
      const q = y[i];
      if (p === q) continue;
      const pn = /^\d/.test(p);
      const qn = /^\d/.test(q);
      if (pn && qn) {
        const d = Number(p) - Number(q);
        if (d !== 0) return d < 0 ? -1 : 1;
        return p.length < q.length ? -1 : 1;
      }
      return p < q ? -1 : 1;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  };
  return Object.freeze({
    isSet: isSet,
    isFunction: __cx_isFunction,
    isPlainObject: __cx_isPlainObject,
    isInt: isInt,
    isInteger: isInt,
    isNumeric: isNumeric,
    isValidDate: isValidDate,
    // rBool(value, default): !!value, or the default when value is undefined.
    rBool: function rBool(value, defaultValue) {
      return value === undefined ? defaultValue : !!value;
    },
    rInt: function rInt(value, defaultValue) {
      return isInt(value) ? parseInt(value, 10) : defaultValue;
    },
    rNum: function rNum(value, defaultValue) {
      return isNumeric(value) ? parseFloat(value) : defaultValue;
    },
    rString: function rString(value, defaultValue) {
      return typeof value === "string" ? value : defaultValue;
    },
    rVal: function rVal(value, defaultValue) {
      return value === undefined ? defaultValue : value;
    },
    // array(value, wrap): an Array as is; anything else [] (or [value] when wrap and set).
    array: function array(value, wrap) {
      if (__cx_isArray(value)) return value;
      return wrap && isSet(value) ? [value] : [];
    },
    clamp: function clamp(value, min, max) {
      return Math.max(min, Math.min(max, value));
    },
    // option(options, name, default): options[name] unless that is undefined.
    option: function option(options, name, defaultValue) {
      const value = options !== null && typeof options === "object" ? options[name] : undefined;
      return value === undefined ? defaultValue : value;
    },
    // tryCatch(fn, callback): calls fn, hands (err, result) to callback; returns [err, result].
    tryCatch: function tryCatch(fn, callback) {
      let err;
      let result;
      try {
        if (__cx_isFunction(fn)) result = fn();
      } catch (e) {
        __cx_c(e);
        err = e;
      }
      if (__cx_isFunction(callback)) callback(err, result);
      return [err, result];
    },
    // matchesEnvironment(env, current = script.env.name): '*' matches every environment.
    matchesEnvironment: function matchesEnvironment(environment, current) {
      if (current === undefined) current = script.env && script.env.name;
      const wanted = __cx_isArray(environment) ? environment : [environment];
      return wanted.some((e) => e === "*" || e === current);
    },
    // getValidDate(value, default): a valid Date from a Date, a number (ms) or a date string.
    getValidDate: function getValidDate(value, defaultValue) {
      if (isValidDate(value)) return value;
      if (typeof value === "number" || typeof value === "string") {
        const date = new Date(value);
        if (isValidDate(date)) return date;
      }
      return defaultValue;
    },
    naturalCmp: naturalCmp,
    // compact(obj, ...values): removes the own keys whose value is one of values (default
    // undefined); returns obj, changed in place.
    compact: function compact(obj) {
      const values = arguments.length > 1 ? Array.prototype.slice.call(arguments, 1) : [undefined];
      if (obj === null || typeof obj !== "object") return obj;
      const keys = Object.keys(obj);
      __cx_spend(keys.length);
      for (const k of keys) if (values.indexOf(obj[k]) >= 0) delete obj[k];
      return obj;
    },
    // pad(value, size, char = '0'): left-padded to size characters.
    pad: function pad(value, size, char) {
      let s = String(value);
      const c = char === undefined ? "0" : String(char);
      if (!c) return s;
      const n = Math.min(Number(size) || 0, 1 << 20);
      while (s.length < n) s = c + s;
      return s;
    },
    escapeRegex: function escapeRegex(value) {
      return String(value).replace(/[-[\]{}()*+?.,\\^$|#\s]/g, "\\$&");
    },
  });
};

// ---- the modules -------------------------------------------------------------------

const __cx_built = Object.create(null);

const __cx_factories = {
  crypto: __cx_cryptoModule,
  base64: __cx_base64Module,
  "util.id": __cx_idModule,
  "util.values": __cx_valuesModule,
  "util.paths": function () {
    return Object.freeze({ to: __cx_pathTo, accessor: __cx_pathAccessor });
  },
  "util.paths.to": function () {
    return __cx_pathTo;
  },
  "util.paths.accessor": function () {
    return __cx_pathAccessor;
  },
  "util.hex": function () {
    return Object.freeze({
      encode: function encode(bytes) {
        if (typeof bytes === "string") bytes = __cx_utf8Encode(bytes);
        return __cx_hexEncode(bytes || []);
      },
      decode: function decode(text) {
        return Buffer.from(__cx_hexDecode(String(text)));
      },
    });
  },
  util: function () {
    const util = {};
    const members = { id: "util.id", ip: "util.ip", hex: "util.hex", paths: "util.paths", values: "util.values" };
    for (const name in members) {
      Object.defineProperty(util, name, {
        enumerable: true,
        get: function () {
          return __cx_load(members[name]) || __cx_requireModule(members[name]);
        },
      });
    }
    return Object.freeze(util);
  },
};

const __cx_load = function (name) {
  let module = __cx_built[name];
  if (module === undefined) {
    if (!__cx_hasOwn.call(__cx_factories, name)) return undefined;
    const factory = __cx_factories[name];
    module = __cx_built[name] = factory();
  }
  return module;
};

return { load: __cx_load, names: Object.keys(__cx_factories), Buffer: Buffer };
