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

// A property decorator (@env, expressions.expression): nothing to do at run time.
function propertyDecorator() {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    if (args.length === 3 && isDescriptor(args[2])) return args[2];
    return function (target, key, descriptor) {
      return descriptor;
    };
  };
}

// Wraps a method, bare or called with options: wrap(original, options) -> replacement.
function wrapping(wrap) {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    const apply = function (options) {
      return function (target, key, descriptor) {
        const original = descriptor.value;
        if (typeof original !== "function") throw new TypeError("This decorator can only be used on class methods");
        descriptor.value = wrap(original, options, key);
        return descriptor;
      };
    };
    if (args.length === 3 && typeof args[1] === "string" && isDescriptor(args[2])) return apply([])(args[0], args[1], args[2]);
    return apply(args);
  };
}

const log = wrapping(function (original, options, key) {
  return function () {
    const started = Date.now();
    try {
      return original.apply(this, arguments);
    } finally {
      console.log("@log " + key, { ms: Date.now() - started });
    }
  };
});

const as = wrapping(function (original, options) {
  return function () {
    const self = this;
    const args = arguments;
    return script.as(options[0], options[1] || {}, function () {
      return original.apply(self, args);
    });
  };
});

// @acl('role', 'administrator', 'account', '<id>', ...): the caller must match one pair.
const acl = wrapping(function (original, options) {
  return function () {
    const principal = script.principal;
    let allowed = options.length === 0;
    for (let i = 0; i + 1 < options.length; i += 2) {
      const type = options[i];
      const value = options[i + 1];
      if (type === "role" && principal && principal.hasRole && principal.hasRole(value)) allowed = true;
      if (type === "account" && principal && (String(principal._id) === String(value) || principal.email === value)) allowed = true;
    }
    if (!allowed) throw Fault.create("cortex.accessDenied.unspecified", { reason: "Access denied by @acl." });
    return original.apply(this, arguments);
  };
});

const profile = wrapping(function (original) {
  return original;
});

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
  expressions: { expression: propertyDecorator() },
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
