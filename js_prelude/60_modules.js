"use strict";
// require(): CommonJS with a per-run module cache. Built-in globals resolve here;
// for anything else the host answers either {methods: [...]} (a module implemented
// in Python: each method becomes a host call) or {code} (decorators-*, npm
// libraries, org libraries by export name, compiled and metered by the host: a
// function expression `(function (require, exports, module) {...})` run once).

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
};

// require('request'): the HTTP request that started the run (routes, the runner), read-only.
let __cx_request = null;
const __cx_requestModule = function () {
  if (__cx_request) return __cx_request;
  const source = (__cx_config && __cx_config.request) || {};
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
  });
  return __cx_request;
};

const require = function require(name) {
  if (typeof name !== "string" || arguments.length !== 1) {
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
