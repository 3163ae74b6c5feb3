"use strict";
// What every Error has as a Cortex fault: defaults on Error.prototype, and
// Error.create. They are in place before a script runs; what they do is in units
// loaded on first use (10_faults.js, 15_stacktrace.js). A block keeps its bindings
// out of the global scope.

{
  const define = function (values) {
    for (const key in values) {
      Object.defineProperty(Error.prototype, key, { value: values[key], writable: true, configurable: true });
    }
  };
  define({ object: "fault", name: "error", code: "kError", errCode: "script.error.unspecified", statusCode: 500 });
  Object.defineProperty(Error.prototype, "trace", {
    configurable: true,
    get: function () {
      return __cx_unit("stacktrace").traceOf(this.stack);
    },
    set: function (value) {
      Object.defineProperty(this, "trace", { value: value, writable: true, enumerable: false, configurable: true });
    },
  });
  define({
    toJSON: function toJSON() {
      return __cx_unit("faults").errorJSON(this);
    },
    add: function add(child) {
      return __cx_unit("faults").addChild(this, child);
    },
    getMessage: function getMessage() {
      return typeof this.message === "string" ? this.message : "";
    },
  });
  Error.create = function create(obj) {
    return __cx_unit("faults").createError(obj);
  };
}
