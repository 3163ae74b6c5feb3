// require('decorators'): Cortex's static and runtime decorators.
//
// Static decorators (@route, @trigger, @job, @on, @object, @policy, @transform, @env) are
// read from the library source when it is deployed; at run time they only record which
// class and method carry them, so the host can call the right handler. Runtime
// decorators (@log, @as, @acl, @profile) wrap the method they decorate.

const handlers = {};
const objectClasses = {};

function isDescriptor(value) {
  return value !== null && typeof value === "object" && ("value" in value || "get" in value || "initializer" in value);
}

function record(kind, target, key, descriptor) {
  if (!descriptor || typeof descriptor.value !== "function") {
    throw new TypeError("@" + kind + " can only be used on class methods");
  }
  const cls = typeof target === "function" ? target : target.constructor;
  handlers[cls.name + "." + key] = { cls: cls, key: key, isStatic: typeof target === "function" };
  return descriptor;
}

// A static method decorator usable bare (@route) or called (@route('GET x', {...})).
function methodDecorator(kind) {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    if (args.length === 3 && typeof args[1] === "string" && isDescriptor(args[2])) {
      return record(kind, args[0], args[1], args[2]);
    }
    return function (target, key, descriptor) {
      return record(kind, target, key, descriptor);
    };
  };
}

// A class decorator usable bare or called: the class is returned unchanged.
function classDecorator() {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    if (args.length === 1 && typeof args[0] === "function") return args[0];
    return function (cls) {
      return cls;
    };
  };
}

// A property decorator (@env, expressions.expression, expressions.pipeline): nothing to do at
// run time (the host registers them when the library is saved).
function propertyDecorator() {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    if (args.length === 3 && isDescriptor(args[2])) return args[2];
    return function (target, key, descriptor) {
      return descriptor;
    };
  };
}

// Wraps a method, bare or called with options: wrap(original, options, key, className) ->
// replacement. Anything but a method is a SyntaxError naming the decorator.
function wrapping(name, wrap, what) {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    const apply = function (options) {
      return function (target, key, descriptor) {
        const original = descriptor ? descriptor.value : undefined;
        if (typeof original !== "function") throw new SyntaxError("@" + name + " can only be used on " + (what || "class functions"));
        const cls = typeof target === "function" ? target : target && target.constructor;
        descriptor.value = wrap(original, options, key, cls && cls.name ? cls.name : "", callerLine());
        return descriptor;
      };
    };
    if (args.length === 3 && typeof args[1] === "string" && isDescriptor(args[2])) return apply([])(args[0], args[1], args[2]);
    return apply(args);
  };
}

// The line a decorator is applied on, as well as the stack shows it: the first frame
// after the decorator helper's (null when it cannot be read).
function callerLine() {
  const trace = typeof getCurrentStackTrace === "function" ? getCurrentStackTrace() : null;
  if (typeof trace !== "string") return null;
  const lines = trace.split("\n");
  let index = -1;
  for (let i = 0; i < lines.length; i++) if (lines[i].indexOf("_applyDecoratedDescriptor") !== -1) index = i;
  const line = lines[index === -1 ? Math.min(3, lines.length - 1) : Math.min(index + 1, lines.length - 1)] || "";
  const found = /:(\d+):\d+\)?\s*$/.exec(line);
  return found ? Number(found[1]) : null;
}

// The exit of script.exit() passing through a wrapped method (not an error).
function isExit(e) {
  return e !== null && typeof e === "object" && e.exit === true && Object.isFrozen(e) && Object.keys(e).length === 1;
}

function hasAnyRole(principal, roles) {
  const list = Array.isArray(roles) ? roles : [roles];
  for (const role of list) {
    if (role === "*") return true;
    if (principal && typeof principal.hasRole === "function" && principal.hasRole(role)) return true;
  }
  return false;
}

// ---- @log (decorators-expressions.md section 2.3) --------------------------------

const LOG_DEFAULTS = {
  environment: "*",
  target: "console",
  roles: ["*"],
  level: "info",
  traceError: false,
  traceOnlyErrors: false,
  traceResult: false,
  format: null,
};
const CONSOLE_LEVELS = ["warn", "error", "info"];
const LOGGER_LEVELS = ["warn", "error", "info", "debug", "trace"];

function environmentMatches(environment) {
  if (environment === undefined || environment === null || environment === "*") return true;
  const current = script.env && script.env.name;
  const wanted = Array.isArray(environment) ? environment : String(environment).split(",");
  for (const name of wanted) {
    const trimmed = String(name).trim();
    if (trimmed === "*" || trimmed === current) return true;
  }
  return false;
}

function errorJson(err) {
  try {
    if (err && typeof err.toJSON === "function") return err.toJSON();
    return Fault.from(err).toJSON();
  } catch (e) {
    return { message: String(err) };
  }
}

const log = wrapping("log", function (original, args, key, className, lineNumber) {
  const options = Object.assign({}, LOG_DEFAULTS, args[0] !== null && typeof args[0] === "object" ? args[0] : {});
  if (!environmentMatches(options.environment)) return original;
  const emit = function (self, record, params) {
    try {
      const input = typeof options.format === "function" ? options.format(record) : record;
      if (typeof options.target === "function") {
        options.target.apply(self, [input, options.level].concat(params));
      } else if (options.target === "logger") {
        const level = LOGGER_LEVELS.indexOf(options.level) !== -1 ? options.level : "info";
        require("logger")[level](input);
      } else {
        const level = CONSOLE_LEVELS.indexOf(options.level) !== -1 ? options.level : "info";
        console[level](input);
      }
    } catch (e) {
      // Logging never changes what the method does.
    }
  };
  return function () {
    const params = Array.prototype.slice.call(arguments);
    const wanted = hasAnyRole(script.principal, options.roles);
    const started = Date.now();
    let result;
    try {
      result = original.apply(this, arguments);
    } catch (err) {
      if (wanted) {
        const record = { className: className, methodName: key, lineNumber: lineNumber, ms: Date.now() - started };
        if (isExit(err)) {
          if (!options.traceOnlyErrors) emit(this, record, params);
        } else {
          if (options.traceError) record.err = errorJson(err);
          emit(this, record, params);
        }
      }
      throw err;
    }
    if (wanted && !options.traceOnlyErrors) {
      const record = { className: className, methodName: key, lineNumber: lineNumber, ms: Date.now() - started };
      if (options.traceResult) record.result = result;
      emit(this, record, params);
    }
    return result;
  };
});

// ---- @as (section 2.2) ---------------------------------------------------------

const as = wrapping("as", function (original, options) {
  return function () {
    const self = this;
    const args = arguments;
    return script.as(options[0], options[1] || {}, function () {
      return original.apply(self, args);
    });
  };
});

// ---- @acl (section 2.1) --------------------------------------------------------
// @acl('role', x, 'account', y, 'assert', fn, ...): the caller passes if any pair does;
// stacked @acl decorators must all pass. The pairs are checked when the decorator is
// applied (a bad type or a non-function assert fails as the class is defined) and the
// access on every call.

function roleAllowed(principal, roles) {
  if (hasAnyRole(principal, roles)) return true;
  // Custom role codes, and roles a held custom role includes, are known to the host.
  try {
    return require("api.native").hasRole(roles) === true;
  } catch (e) {
    if (e && e.errCode === "script.invalidArgument.acl") throw e;
    return false;
  }
}

function accountAllowed(principal, accounts) {
  if (!principal) return false;
  const list = Array.isArray(accounts) ? accounts : [accounts];
  const email = typeof principal.email === "string" ? principal.email.toLowerCase() : null;
  for (const account of list) {
    if (account === null || account === undefined) continue;
    if (typeof account === "string" && account.indexOf("@") !== -1) {
      if (email !== null && account.toLowerCase() === email) return true;
    } else if (String(account._id || account) === String(principal._id)) {
      return true;
    }
  }
  return false;
}

const acl = wrapping("acl", function (original, options) {
  const pairs = [];
  if (options.length === 0) {
    throw Fault.create("script.invalidArgument.acl", { message: "Invalid acl arguments.", reason: "Unsupported or missing decorator acl type argument (undefined)" });
  }
  for (let i = 0; i < options.length; i += 2) {
    const type = options[i];
    const option = options[i + 1];
    if (type === "assert" && typeof option !== "function") throw new SyntaxError("@acl assert requires a function");
    if (type !== "role" && type !== "account" && type !== "assert") {
      throw Fault.create("script.invalidArgument.acl", { message: "Invalid acl arguments.", reason: "Unsupported or missing decorator acl type argument (" + String(type) + ")" });
    }
    pairs.push({ type: type, option: option });
  }
  return function () {
    const principal = script.principal;
    const args = Array.prototype.slice.call(arguments);
    for (const pair of pairs) {
      if (pair.type === "role" && roleAllowed(principal, pair.option)) return original.apply(this, arguments);
      if (pair.type === "account" && accountAllowed(principal, pair.option)) return original.apply(this, arguments);
      if (pair.type === "assert" && pair.option.apply(this, [principal].concat(args))) return original.apply(this, arguments);
    }
    // The registry's message (the sandbox's Fault table only knows the generic kAccessDenied one).
    throw Fault.create("script.accessDenied.acl", { message: "Insufficient script access." });
  };
});

// ---- @profile (section 2.4) ----------------------------------------------------
// A no-op unless require('util').profiler is there and enabled; then the method runs
// inside profiler.profile("<ClassName>.<methodName>" or the given prefix, fn).

function enabledProfiler() {
  try {
    const util = require("util");
    const profiler = util && util.profiler;
    return profiler && profiler.enabled && typeof profiler.profile === "function" ? profiler : null;
  } catch (e) {
    return null;
  }
}

const profile = wrapping(
  "profile",
  function (original, options, key, className) {
    const profiler = enabledProfiler();
    if (!profiler) return original;
    const prefix = typeof options[0] === "string" && options[0] ? options[0] : className + "." + key;
    return function () {
      const self = this;
      const args = arguments;
      return profiler.profile(prefix, function () {
        return original.apply(self, args);
      });
    };
  },
  "functions"
);

module.exports = {
  route: methodDecorator("route"),
  trigger: methodDecorator("trigger"),
  job: methodDecorator("job"),
  on: methodDecorator("on"),
  policy: methodDecorator("policy"),
  transform: classDecorator(),
  // @object('c_name'): the class becomes org.objects.c_name (it must extend CortexObject).
  object: function object(name) {
    return function (cls) {
      if (typeof name === "string") objectClasses[name.toLowerCase()] = cls;
      return cls;
    };
  },
  boundClass: function boundClass(name) {
    return objectClasses[String(name).toLowerCase()] || null;
  },
  env: propertyDecorator(),
  expressions: { expression: propertyDecorator(), pipeline: propertyDecorator() },
  log: log,
  as: as,
  acl: acl,
  profile: profile,
  // script.fire: the @on handler registered as Class.method, called with positional params.
  listener: function listener(signature) {
    const found = handlers[signature];
    if (!found) throw Fault.create("cortex.notFound.script", { reason: "No decorated handler " + signature + "." });
    return function () {
      const target = found.isStatic ? found.cls : new found.cls();
      return target[found.key].apply(target, arguments);
    };
  },
  // Used by the host's generated dispatch script: the handler registered as Class.method.
  handler: function handler(signature) {
    const found = handlers[signature];
    if (!found) throw Fault.create("cortex.notFound.script", { reason: "No decorated handler " + signature + "." });
    return function (argument) {
      if (found.isStatic) return found.cls[found.key](argument);
      const instance = new found.cls();
      return instance[found.key](argument);
    };
  },
};
