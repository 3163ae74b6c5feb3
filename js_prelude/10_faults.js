"use strict";
// The global Fault class, as scripts see them (a prelude unit, see 00_bridge.js; the
// defaults every Error has are in 05_errors.js).
//
// The sandbox's own table: a k-code maps to script.<category>.unspecified and a
// dotted errCode to its category's k-code. Faults raised by the host arrive with
// their registry code already set and keep it.

const __cx_CATEGORIES = {
  invalidArgument: ["kInvalidArgument", 400, "Invalid Argument", "error"],
  validation: ["kValidationError", 400, "Validation error", "validation"],
  accessDenied: ["kAccessDenied", 403, "Access to this resource is denied", "error"],
  notFound: ["kNotFound", 404, "Resource not found", "error"],
  timeout: ["kTimeout", 408, "Timeout", "error"],
  conflict: ["kExists", 409, "Resource already exists", "error"],
  expired: ["kExpired", 410, "Resource expired.", "error"],
  tooLarge: ["kRequestTooLarge", 413, "Request too large", "error"],
  throttled: ["kThrottled", 429, "Request throttled", "error"],
  tooBusy: ["kTooBusy", 429, "Server too busy", "error"],
  error: ["kError", 500, "Error", "error"],
  notImplemented: ["kNotImplemented", 501, "Not implemented", "error"],
  unsupportedOperation: ["kUnsupportedOperation", 501, "Unsupported Operation", "error"],
};

// k-code -> [category, status, message, name]
const __cx_CODES = {};
for (const category of Object.keys(__cx_CATEGORIES)) {
  const row = __cx_CATEGORIES[category];
  __cx_CODES[row[0]] = [category, row[1], row[2], row[3]];
}

// Error.prototype.toJSON (see 05_errors.js and the exports below).
const __cx_errorJSON = function (error) {
  const out = {
    object: "fault",
    name: error.name || "error",
    errCode: error.errCode || "script.error.unspecified",
    code: error.code || "kError",
    message: typeof error.message === "string" ? error.message : "",
    status: error.statusCode || error.status || 500,
  };
  if (error.trace !== undefined) out.trace = error.trace;
  if (error.path !== undefined) out.path = error.path;
  if (error.reason !== undefined) out.reason = error.reason;
  if (error.resource !== undefined) out.resource = error.resource;
  if (typeof error.index === "number" && error.index >= 0) out.index = error.index;
  if (Array.isArray(error.faults) && error.faults.length) {
    out.faults = error.faults.map(function (child) {
      return Fault.from(child, true).toJSON();
    });
  }
  return out;
};

// Error.prototype.add and Error.create (see 05_errors.js).
const __cx_addChild = function (error, child) {
  if (!Array.isArray(error.faults)) error.faults = [];
  error.faults.push(child instanceof Error ? child : Error.create(child));
  return error;
};

const __cx_createError = function (obj) {
  obj = obj || {};
  const err = new Error(typeof obj.message === "string" ? obj.message : "");
  if (obj.code) err.code = obj.code;
  if (obj.name) err.name = obj.name;
  if (obj.statusCode || obj.status) err.statusCode = obj.statusCode || obj.status;
  return err;
};

class Fault extends Error {
  constructor(code, message, statusCode, name, reason, path, index, resource) {
    super(typeof message === "string" ? message : "");
    this.errCode = undefined;
    this.code = code;
    this.statusCode = statusCode;
    this.name = name;
    if (reason !== undefined) this.reason = reason;
    if (path !== undefined) this.path = path;
    if (index !== undefined) this.index = index;
    if (resource !== undefined) this.resource = resource;
    this.faults = [];
  }

  static create(code, msg, statusCode, name, reason, path, faults, index, resource) {
    let options = {};
    if (code instanceof Error) {
      options = code;
      code = code.errCode || code.code;
    } else if (code && typeof code === "object") {
      options = code;
      code = code.errCode || code.code;
    }
    if (msg && typeof msg === "object") {
      options = Object.assign({}, options, msg);
      msg = undefined;
    }
    code = typeof code === "string" && code ? code : "kError";

    let errCode;
    let kcode;
    if (Fault.isErrCode(code)) {
      errCode = code;
      kcode = options.code && !Fault.isErrCode(options.code) ? options.code : Fault.errCodeToCode(code);
    } else {
      kcode = code;
      errCode = options.errCode || Fault.codeToErrCode(code);
    }
    const known = __cx_CODES[kcode];
    const message =
      typeof msg === "string" ? msg : typeof options.message === "string" && options.message ? options.message : known ? known[2] : "";
    const status = statusCode || options.statusCode || options.status || (known ? known[1] : 500);
    const fname = name || (options.name && options.name !== "Error" ? options.name : known ? known[3] : "fault");

    const fault = new Fault(kcode, message, status, fname);
    fault.errCode = errCode;
    const r = reason !== undefined ? reason : options.reason;
    const p = path !== undefined ? path : options.path;
    const i = index !== undefined ? index : options.index;
    const res = resource !== undefined ? resource : options.resource;
    if (r !== undefined) fault.reason = r;
    if (p !== undefined) fault.path = p;
    if (i !== undefined) fault.index = i;
    if (res !== undefined) fault.resource = res;
    if (options.trace !== undefined) fault.trace = options.trace;
    const children = faults || options.faults;
    if (Array.isArray(children)) {
      for (const child of children) fault.add(Fault.from(child, true));
    }
    return fault;
  }

  static from(err, forceError) {
    if (err instanceof Fault) return err;
    if (err && typeof err === "object" && err.object === "fault" && !(err instanceof Error)) return Fault.create(err);
    if (err instanceof Error) {
      const fault = Fault.create(err.errCode || err.code || "kError", {
        message: err.message,
        statusCode: err.statusCode || err.status,
        name: err.name,
        reason: err.reason,
        path: err.path,
        index: err.index,
        resource: err.resource,
        faults: err.faults,
      });
      fault.trace = err.trace;
      return fault;
    }
    if (forceError) {
      if (typeof err === "string") return Fault.create("kError", err);
      if (err && typeof err === "object") return Fault.create(err.code || "kError", err);
      return Fault.create("kError", String(err));
    }
    return null;
  }

  static validationError(code, msg, statusCode, name, reason, path, index, resource) {
    const fault = Fault.create("cortex.invalidArgument.validation", { index: index, resource: resource });
    fault.add(Fault.create(code || "kValidationError", msg, statusCode, name, reason, path));
    return fault;
  }

  static addCode(code, name, statusCode, message, errCode) {
    const category = Fault.isErrCode(errCode || "") ? errCode.split(".")[1] : "error";
    __cx_CODES[code] = [category, statusCode || 500, message === undefined ? "Error" : message, name || "error"];
  }

  static isFault(x) {
    return x instanceof Fault;
  }

  static isErrCode(s) {
    return typeof s === "string" && s.indexOf(".") !== -1;
  }

  static errCodeToCode(errCode) {
    const category = String(errCode).split(".")[1];
    const row = __cx_CATEGORIES[category];
    return row ? row[0] : "kError";
  }

  static codeToErrCode(code, ns, detail) {
    const known = __cx_CODES[code || "kError"];
    return (ns || "script") + "." + (known ? known[0] : "error") + "." + (detail || "unspecified");
  }

  static lookupStatusCode(code) {
    const known = __cx_CODES[code];
    return known ? known[1] : 500;
  }

  static lookupMessage(code) {
    const known = __cx_CODES[code];
    return known ? known[2] : "";
  }

  static findRegisteredError(code) {
    const known = __cx_CODES[code];
    return known ? { code: code, statusCode: known[1], message: known[2], name: known[3] } : undefined;
  }

  getMessage() {
    return this.message || Fault.lookupMessage(this.code);
  }

  toString() {
    const message = this.getMessage();
    return this.name + " " + this.code + (message ? ": " + message : "");
  }
}

// The fault JSON of anything a script threw (decisions.md "Thrown non-Error values"):
// Errors as they are; an object with object: 'fault' as a fault; any other value a
// kError whose message is the string, or the object's message.
const __cx_faultJson = function (e) {
  try {
    if (e instanceof Error) return e.toJSON();
    if (e && typeof e === "object" && e.object === "fault") return Fault.from(e).toJSON();
    if (e && typeof e === "object") {
      return Fault.create("kError", {
        message: typeof e.message === "string" ? e.message : "",
        reason: e.reason,
        faults: e.faults,
      }).toJSON();
    }
    return Fault.create("kError", String(e)).toJSON();
  } catch (err) {
    __cx_c(err);
    return { object: "fault", errCode: "script.error.unspecified", code: "kError", status: 500, message: String(e) };
  }
};

return {
  Fault: Fault,
  faultJson: __cx_faultJson,
  // What Error.prototype's methods and Error.create call with (this, argument) (05_errors.js).
  toJSON: __cx_errorJSON,
  add: __cx_addChild,
  getMessage: function (error) {
    return typeof error.message === "string" ? error.message : "";
  },
  getTrace: function (error) {
    return __cx_unit("stacktrace").traceOf(error.stack);
  },
  setTrace: function (error, value) {
    Object.defineProperty(error, "trace", { value: value, writable: true, enumerable: false, configurable: true });
  },
  create: function (constructor, obj) {
    return __cx_createError(obj);
  },
};
