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
const org = { _id: __cx_orgConfig._id, code: __cx_orgConfig.code };
Object.setPrototypeOf(org, __cx_orgPrototype);
Object.defineProperty(org, "objects", {
  enumerable: false,
  get: function () {
    return __cx_unit("objects").orgObjects;
  },
});
Object.freeze(org);

({ org: org });
