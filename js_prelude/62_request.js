"use strict";
// require('request'): a prelude unit (see 00_bridge.js), loaded by the first require of it
// (60_modules.js). The HTTP request that started the run (modules.md section 12), read-only;
// the host builds its fields (server/custom_routes.py script_request). A decorated route
// handler's req.body is the body accessor below; classic scripts get the parsed body.

const __cx_call = __cx_unit("codec").call;

// The value at a dotted path: undefined where there is none, null past a prototype name.
const __cx_readPath = function (root, path) {
  if (typeof path !== "string" || !path.trim()) {
    throw Fault.create("cortex.invalidArgument.unspecified", { reason: "A string property path is required." });
  }
  let current = root;
  for (const part of path.trim().split(".")) {
    if (part === "__proto__" || part === "constructor" || part === "prototype") return null;
    if (current === null || typeof current !== "object" || !__cx_hasOwn.call(current, part)) return undefined;
    current = current[part];
  }
  return current;
};

// body() the whole body, body(path) a value, body(path, value) a write the later layers of the
// request see (kept by the host, modules/route.py); helpers getLength, getSize, typeOf, isArray.
const __cx_bodyAccessor = function (source) {
  const at = function (path) {
    return path === undefined ? source.body : __cx_readPath(source.body, path);
  };
  const body = function body(path, value) {
    if (arguments.length === 0) return source.body;
    if (arguments.length === 1) return __cx_readPath(source.body, path);
    source.body = __cx_call("route.body", [path, value]);
    return __cx_readPath(source.body, path);
  };
  body.getLength = function getLength(path) {
    const value = at(path);
    return typeof value === "string" || __cx_isArray(value) ? value.length : 0;
  };
  body.getSize = function getSize() {
    return source.body === undefined ? 0 : unescape(encodeURIComponent(__cx_stringify(source.body))).length;
  };
  body.typeOf = function typeOf(path) {
    const value = at(path);
    return value === null ? "null" : __cx_isArray(value) ? "array" : typeof value;
  };
  body.isArray = function isArray(path) {
    return __cx_isArray(at(path));
  };
  return Object.freeze(body);
};

let __cx_request = null;
const __cx_requestModule = function () {
  if (__cx_request) return __cx_request;
  const source = __cx_config().request || {};
  const headers = Object.freeze(Object.assign({}, source.headers || {}));
  const cookies = source.cookies || {};
  const signedCookies = source.signedCookies || {};
  __cx_request = Object.freeze({
    _id: source._id,
    method: source.method,
    path: source.path,
    url: source.url,
    host: source.host,
    ip: source.ip,
    ipv4: source.ipv4,
    locale: source.locale,
    object: source.object,
    client: source.client ? Object.freeze(Object.assign({}, source.client)) : source.client,
    params: Object.freeze(Object.assign({}, source.params || {})),
    query: Object.freeze(Object.assign({}, source.query || {})),
    headers: headers,
    body: source.runtime ? __cx_bodyAccessor(source) : source.body,
    getHeader: function getHeader(name) {
      return headers[String(name).toLowerCase()];
    },
    // A plain cookie, else a signed one, else null (null too without an HTTP request).
    getCookie: function getCookie(name) {
      if (!__cx_config().request) return null;
      __cx_unit("response").cookieName(name);
      if (__cx_hasOwn.call(cookies, name)) return cookies[name];
      if (__cx_hasOwn.call(signedCookies, name)) return signedCookies[name];
      return null;
    },
    // The request's scratch store, shared by the routes that handle it: memo(path) reads,
    // memo(path, value) writes, memo() is all of it.
    memo: function memo(path, value) {
      return __cx_call("route.memo", Array.prototype.slice.call(arguments, 0, 2));
    },
    // Passes the request to the next matching route and ends this script.
    next: function next(err) {
      if (err) throw err;
      __cx_call("route.next", []);
      script.exit(undefined);
    },
  });
  return __cx_request;
};

return { module: __cx_requestModule };
