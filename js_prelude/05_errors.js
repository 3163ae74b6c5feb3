"use strict";
// What every Error has as a Cortex fault: defaults on Error.prototype, and
// Error.create. They are in place before a script runs; what they do is in the faults
// unit (10_faults.js), loaded on first use. A block keeps its bindings out of the global scope.
{
  const proto = Error.prototype;
  const defaults = { object: "fault", name: "error", code: "kError", errCode: "script.error.unspecified", statusCode: 500 };
  for (const key in defaults) Object.defineProperty(proto, key, { value: defaults[key], writable: true, configurable: true });
  // The methods are closures made here rather than written out one by one (compiling is most
  // of what a fresh context costs): each calls the faults unit's function of its name with
  // (this, argument). Named __cx_*, their frames stay out of traces.
  const method = function (name) {
    return function __cx_method(arg) {
      return __cx_unit("faults")[name](this, arg);
    };
  };
  for (const name of ["toJSON", "add", "getMessage"]) Object.defineProperty(proto, name, { value: method(name), writable: true, configurable: true });
  Object.defineProperty(proto, "trace", { configurable: true, get: method("getTrace"), set: method("setTrace") });
  Error.create = method("create");
}
