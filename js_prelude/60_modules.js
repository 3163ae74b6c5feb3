"use strict";
// require(): CommonJS with a per-run module cache (a prelude unit, see 00_bridge.js;
// the global require in 90_run.js calls into it). Built-in globals resolve here;
// for anything else the host answers either {methods: [...]} (a module implemented
// in Python: each method becomes a host call) or {code} (decorators-*, npm
// libraries, org libraries by export name, compiled and metered by the host: a
// function expression `(function (require, exports, module) {...})` run once).

const __cx_call = __cx_unit("codec").call;

const __cx_moduleCache = Object.create(null);

const __cx_builtinModules = {
  script: function () {
    return script;
  },
  consts: function () {
    return consts;
  },
  console: function () {
    return console;
  },
  accounts: function () {
    return org.objects.accounts;
  },
  request: function () {
    return __cx_requestModule();
  },
  response: function () {
    return __cx_responseModule;
  },
};
// require('objects') is the legacy raw module (js_prelude/modules/objects.js, fidelity.md section 6),
// not org.objects.
// The util modules are plain JS (65_util.js): they act on the script's own values.
for (const name of ["util", "util.id", "util.paths", "util.paths.to", "util.paths.accessor", "util.values", "util.hex", "crypto", "base64"]) {
  __cx_builtinModules[name] = function () {
    return __cx_unit("util").load(name);
  };
}

// ---- require('response') ------------------------------------------------------
// The HTTP response of the request that started the run (modules.md section 13): status, headers,
// cookies and body chunks, handed to the host with the result (responseText). A layered route
// starts from what the earlier layers wrote (request.response). Once the body is started or
// the response ended, headers, status and cookies are fixed (script.error.headersWritten).
// Outside an HTTP request, and for other script types, every method does nothing and returns false.

const __cx_RESPONSE_TYPES = ["route", "policy", "transform", "trigger"];
const __cx_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const __cx_BLOCKED_HEADERS = [
  "access-control-allow-origin", "connection", "date", "proxy-authenticate", "public-key-pins", "server",
  "set-cookie", "strict-transport-security", "trailer", "tsv", "upgrade", "vary", "via", "warning",
];

let __cx_response = null;

// The response state, made on first use: null when the run has no response to write.
const __cx_responseState = function () {
  if (__cx_response) return __cx_response;
  const config = __cx_config();
  if (!config.request || __cx_RESPONSE_TYPES.indexOf(config.type) < 0) return null;
  const earlier = config.request.response || {};
  const headers = Object.assign({}, earlier.headers || {});
  let cookies = [];
  if (typeof headers["set-cookie"] === "string") {
    cookies = __cx_parse(headers["set-cookie"]);
    delete headers["set-cookie"];
  }
  __cx_response = {
    status: typeof earlier.status === "number" ? earlier.status : null,
    headers: headers,
    cookies: cookies,
    chunks: typeof earlier.body === "string" && earlier.body ? [earlier.body] : [],
    ended: false,
  };
  return __cx_response;
};

const __cx_headersOpen = function (state) {
  if (state.chunks.length || state.ended) {
    throw Fault.create("script.error.headersWritten", { reason: "The response headers have already been written." });
  }
};

const __cx_headerValue = function (value) {
  const text = __cx_isArray(value) ? value.map(String).join(", ") : String(value);
  if (/[\r\n\0]/.test(text)) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid response header value." });
  return text;
};

const __cx_reservedCookie = function (name) {
  const lowered = name.toLowerCase();
  return lowered.indexOf("md") === 0 || lowered.indexOf("medable") === 0;
};

// A cookie name as both modules check it.
const __cx_cookieName = function (name) {
  if (typeof name !== "string" || !name.trim()) throw Fault.create("kInvalidArgument", { reason: "Missing cookie name" });
  if (__cx_reservedCookie(name)) throw Fault.create("kAccessDenied", { reason: "md and medable cookies are reserved." });
  return name;
};

const __cx_responseModule = Object.freeze({
  setHeader: function setHeader(name, value) {
    const state = __cx_responseState();
    if (!state || value === undefined) return false;
    const key = typeof name === "string" ? name.trim().toLowerCase() : "";
    if (!key || !__cx_HEADER_NAME.test(key)) {
      throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid response header name: " + String(name) });
    }
    if (__cx_BLOCKED_HEADERS.indexOf(key) >= 0 || key.indexOf("medable-") === 0 || key.indexOf("md-") === 0) {
      throw Fault.create("cortex.accessDenied.unspecified", { reason: "Header " + key + " cannot be set." });
    }
    __cx_headersOpen(state);
    state.headers[key] = __cx_headerValue(value);
    return true;
  },
  // An object of name -> value, or an array of [name, value] pairs.
  setHeaders: function setHeaders(headers) {
    if (headers === null || typeof headers !== "object") {
      throw Fault.create("cortex.invalidArgument.unspecified", { reason: "setHeaders expects an object or an array of [name, value] pairs." });
    }
    const pairs = __cx_isArray(headers) ? headers : Object.keys(headers).map(function (name) { return [name, headers[name]]; });
    for (const pair of pairs) {
      if (!__cx_isArray(pair)) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "setHeaders expects [name, value] pairs." });
      __cx_responseModule.setHeader(pair[0], pair[1]);
    }
  },
  // An integer is clamped to 100-999; anything else is 200.
  setStatusCode: function setStatusCode(code) {
    const state = __cx_responseState();
    if (!state) return false;
    __cx_headersOpen(state);
    state.status = Number.isInteger(code) ? Math.min(999, Math.max(100, code)) : 200;
    return true;
  },
  write: function write(data) {
    const state = __cx_responseState();
    if (!state) return false;
    if (state.ended) throw Fault.create("script.error.headersWritten", { reason: "The response has ended." });
    const text = typeof data === "string" ? data : String(data);
    if (text) state.chunks.push(text);
    return true;
  },
  end: function end(data) {
    const state = __cx_responseState();
    if (!state || state.ended) return false;
    if (data !== undefined && data !== null) __cx_responseModule.write(data);
    state.ended = true;
    return true;
  },
  // The host answers once the script has finished, so there is nothing to continue: true.
  writeContinue: function writeContinue() {
    return !!__cx_responseState();
  },
  // Options: signed, secure, httpOnly (false), maxAge (ms; a session cookie without it).
  // The cookie's path is /<orgCode>; a null or undefined value clears it.
  setCookie: function setCookie(name, value, options) {
    const state = __cx_responseState();
    if (!state) return false;
    __cx_cookieName(name);
    __cx_headersOpen(state);
    const opts = options !== null && typeof options === "object" ? options : {};
    state.cookies.push({
      name: name.trim(),
      value: value === null || value === undefined ? null : String(value),
      path: "/" + __cx_config().org.code,
      maxAge: Number.isInteger(opts.maxAge) ? opts.maxAge : null,
      signed: opts.signed === true,
      secure: opts.secure === true,
      httpOnly: opts.httpOnly === true,
    });
    return true;
  },
  clearCookie: function clearCookie(name, options) {
    return __cx_responseModule.setCookie(name, null, options);
  },
  // redirect(url) or redirect(status, url[, body]): 302 by default; ends the response.
  redirect: function redirect(status, url, body) {
    if (typeof status !== "number") {
      body = url;
      url = status;
      status = 302;
    }
    if (typeof url !== "string" || !url) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "redirect expects a url." });
    if (!__cx_responseState()) return false;
    __cx_responseModule.setStatusCode(status);
    __cx_responseModule.setHeader("location", url);
    const method = (__cx_config().request || {}).method;
    __cx_responseModule.end(method === "HEAD" ? undefined : body);
  },
});

// The response as the host needs it, or "" when the script wrote none. Cookies travel as
// the JSON text of a set-cookie header, a name setHeader refuses (server/app.py reads it).
const __cx_responseText = function () {
  const r = __cx_response;
  if (!r) return "";
  if (r.status === null && !r.chunks.length && !r.ended && !r.cookies.length && !Object.keys(r.headers).length) return "";
  const headers = Object.assign({}, r.headers);
  if (r.cookies.length) headers["set-cookie"] = __cx_stringify(r.cookies);
  const body = r.chunks.length || r.ended ? r.chunks.join("") : null;
  return ',"res":' + __cx_stringify({ status: r.status, headers: headers, body: body });
};

// ---- require('request') -------------------------------------------------------
// The HTTP request that started the run (modules.md section 12), read-only; the host builds its
// fields (server/custom_routes.py script_request). A decorated route handler's req.body is
// the body accessor below; classic scripts get the parsed body.

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
      __cx_cookieName(name);
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

// require(name) with the number of arguments it was given.
const __cx_require = function (name, count) {
  if (typeof name !== "string" || count !== 1) {
    throw new Error("require expects a single string argument");
  }
  const cached = __cx_moduleCache[name];
  if (cached) return cached.exports;
  const builtin = Object.prototype.hasOwnProperty.call(__cx_builtinModules, name) ? __cx_builtinModules[name] : undefined;
  if (builtin) return builtin();

  // A preloaded factory saves the parse; the host still decides whether it may be required.
  const preloaded = __cx_preloaded[name];
  const found = __cx_call("require", preloaded === undefined ? [name] : [name, true]);
  if (found.methods) {
    // require('config') is also callable: config(key[, value]) (66_config.js).
    const hostModule = name === "config" ? __cx_unit("config").callable() : {};
    for (const method of found.methods) {
      const command = name + "." + method;
      // A dotted method (expressions' "pipeline.run") is a function of a nested object.
      const parts = method.split(".");
      let holder = hostModule;
      for (const part of parts.slice(0, -1)) holder = holder[part] || (holder[part] = {});
      holder[parts[parts.length - 1]] = function () {
        return __cx_call(command, Array.prototype.slice.call(arguments));
      };
    }
    for (const key of Object.keys(hostModule)) {
      if (typeof hostModule[key] === "object") Object.freeze(hostModule[key]);
    }
    __cx_moduleCache[name] = { exports: Object.freeze(hostModule) };
    return __cx_moduleCache[name].exports;
  }
  const code = found.code;
  const module = { id: name, exports: {}, loaded: false };
  // Cached before it runs, so circular requires see the partial exports.
  __cx_moduleCache[name] = module;
  try {
    const factory = found.preloaded ? preloaded : __cx_eval(code);
    factory.call(module.exports, require, module.exports, module);
    module.loaded = true;
  } catch (err) {
    delete __cx_moduleCache[name];
    throw err;
  }
  return module.exports;
};

({ require: __cx_require, responseText: __cx_responseText });
