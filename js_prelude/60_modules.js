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
  objects: function () {
    return org.objects;
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

// require('response'): status, headers and body chunks a route writes itself. Once the
// body is started, headers and status are fixed (script.error.headersWritten).
const __cx_response = { status: null, headers: {}, chunks: [] };
const __cx_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const __cx_headersOpen = function () {
  if (__cx_response.chunks.length) throw Fault.create("script.error.headersWritten", { reason: "The response body has been started." });
};
const __cx_responseModule = Object.freeze({
  setHeader: function setHeader(name, value) {
    __cx_headersOpen();
    if (typeof name !== "string" || !__cx_HEADER_NAME.test(name)) {
      throw Fault.create("kInvalidArgument", { reason: "Invalid header name.", path: String(name) });
    }
    __cx_response.headers[name.toLowerCase()] = String(value);
  },
  setStatusCode: function setStatusCode(code) {
    __cx_headersOpen();
    if (!Number.isInteger(code) || code < 100 || code > 599) throw Fault.create("kInvalidArgument", { reason: "Invalid status code." });
    __cx_response.status = code;
  },
  write: function write(chunk) {
    __cx_response.chunks.push(typeof chunk === "string" ? chunk : JSON.stringify(chunk));
  },
});

// The response as the host needs it, or "" when the script wrote none.
const __cx_responseText = function () {
  const r = __cx_response;
  if (r.status === null && !r.chunks.length && !Object.keys(r.headers).length) return "";
  return ',"res":' + __cx_stringify({ status: r.status, headers: r.headers, body: r.chunks.length ? r.chunks.join("") : null });
};

// require('request'): the HTTP request that started the run (routes, the runner), read-only.
let __cx_request = null;
const __cx_requestModule = function () {
  if (__cx_request) return __cx_request;
  const source = __cx_config().request || {};
  const headers = source.headers || {};
  __cx_request = Object.freeze({
    method: source.method,
    path: source.path,
    url: source.url,
    params: Object.freeze(source.params || {}),
    query: Object.freeze(source.query || {}),
    headers: Object.freeze(headers),
    body: source.body,
    getHeader: function getHeader(name) {
      return headers[String(name).toLowerCase()];
    },
    // Shared by the routes that handle one request.
    memo: function memo(key, value) {
      return __cx_call("route.memo", arguments.length > 1 ? [key, value] : [key]);
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
  const builtin = __cx_builtinModules[name];
  if (builtin) return builtin();

  const found = __cx_call("require", [name]);
  if (found.methods) {
    const hostModule = {};
    for (const method of found.methods) {
      const command = name + "." + method;
      hostModule[method] = function () {
        return __cx_call(command, Array.prototype.slice.call(arguments));
      };
    }
    __cx_moduleCache[name] = { exports: Object.freeze(hostModule) };
    return __cx_moduleCache[name].exports;
  }
  const code = found.code;
  const module = { id: name, exports: {}, loaded: false };
  // Cached before it runs, so circular requires see the partial exports.
  __cx_moduleCache[name] = module;
  try {
    const factory = __cx_eval(code);
    factory.call(module.exports, require, module.exports, module);
    module.loaded = true;
  } catch (err) {
    delete __cx_moduleCache[name];
    throw err;
  }
  return module.exports;
};

({ require: __cx_require, responseText: __cx_responseText });
