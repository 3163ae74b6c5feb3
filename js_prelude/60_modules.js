"use strict";
// require(): CommonJS with a per-run module cache. Built-in globals resolve here;
// everything else (decorators-*, npm libraries, org libraries by export name) is
// compiled and metered by the host, which returns a function expression
// `(function (require, exports, module) {...})` evaluated once per run.

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
};

const require = function require(name) {
  if (typeof name !== "string" || arguments.length !== 1) {
    throw new Error("require expects a single string argument");
  }
  const cached = __cx_moduleCache[name];
  if (cached) return cached.exports;
  const builtin = __cx_builtinModules[name];
  if (builtin) return builtin();

  const code = __cx_call("require", [name]);
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
