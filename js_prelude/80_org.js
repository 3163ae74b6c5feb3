"use strict";
// org: the run's org (a prelude unit, see 00_bridge.js). It is an instance of the org
// class; its prototype stands in for that class's until the object API is loaded.

const __cx_orgPrototype = new Proxy(Object.create(null), {
  get: function (target, key, receiver) {
    return Reflect.get(__cx_unit("objects").orgPrototype, key, receiver);
  },
  has: function (target, key) {
    return key in __cx_unit("objects").orgPrototype;
  },
  getPrototypeOf: function () {
    return Object.getPrototypeOf(__cx_unit("objects").orgPrototype);
  },
});

// Defined, not assigned: the script may have changed Object.prototype by now.
const __cx_orgConfig = __cx_config().org;
// Only {_id, code, object}: org.configuration and the rest stay undefined until read with
// org.read(...) (fidelity.md section 7).
const org = { _id: __cx_orgConfig._id, code: __cx_orgConfig.code, object: "org" };
Object.setPrototypeOf(org, __cx_orgPrototype);
Object.defineProperty(org, "objects", {
  enumerable: false,
  get: function () {
    return __cx_unit("objects").orgObjects;
  },
});
// org.scripts.<name>: the org's libraries by export, the same cached module require(name)
// gives (fidelity.md section 11). Other names throw a plain Error, as on the platform: only
// errCode and reason are set, so code and status stay the Error defaults (kError, 500).
const __cx_orgScripts = new Proxy(Object.freeze({}), {
  get: function (target, name) {
    if (typeof name !== "string") return Reflect.get(target, name);
    if (name.indexOf("c_") === 0 || name.indexOf("__") > 0) return require(name);
    const err = new Error("Resource not found");
    err.errCode = "script.notFound.unspecified";
    err.reason = "library script (" + name + ") not found.";
    throw err;
  },
});
Object.defineProperty(org, "scripts", {
  enumerable: false,
  get: function () {
    return __cx_orgScripts;
  },
});
Object.freeze(org);

return { org: org };
