"use strict";
// require(): CommonJS with a per-run module cache (a prelude unit, see 00_bridge.js;
// the global require in 90_run.js calls into it). Built-in globals resolve here;
// for anything else the host answers either {methods: [...]} (a module implemented
// in Python: each method becomes a host call) or {code} (decorators-*, npm
// libraries, org libraries by export name, compiled and metered by the host: a
// function expression `(function (require, exports, module) {...})` run once).
// require('request') and require('response') are units of their own (61_response.js,
// 62_request.js): most scripts require neither, and compiling them is most of what this
// unit would cost.

const __cx_call = function (name, args) {
  return __cx_unit("codec").call(name, args);
};

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
    return __cx_unit("request").module();
  },
  response: function () {
    return __cx_unit("response").module;
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

return { require: __cx_require };
