"use strict";
// The org placeholder, the lockdown of the global environment, and the run driver
// the host calls: __cx_begin (config + main), __cx_nextTimerDelay, __cx_tick,
// __cx_finish.

// The object API (70_objects.js) is kept as source and evaluated on first use: parsing it
// is most of what a fresh context costs, and many runs never use it.
let __cx_objectsModule = null;
const __cx_objects = function () {
  if (!__cx_objectsModule) __cx_objectsModule = __cx_eval(__cx_objectsSource)();
  return __cx_objectsModule;
};

const org = {};

// org is an instance of the org class; its prototype stands in for that class's until the
// object API is loaded.
const __cx_orgPrototype = new Proxy(Object.create(null), {
  get: function (target, key, receiver) {
    return Reflect.get(__cx_objects().orgPrototype, key, receiver);
  },
  has: function (target, key) {
    return key in __cx_objects().orgPrototype;
  },
  getPrototypeOf: function () {
    return Object.getPrototypeOf(__cx_objects().orgPrototype);
  },
});

const __cx_fillOrg = function (config) {
  Object.assign(org, { _id: config.org._id, code: config.org.code });
  Object.setPrototypeOf(org, __cx_orgPrototype);
  Object.defineProperty(org, "objects", {
    enumerable: false,
    get: function () {
      return __cx_objects().orgObjects;
    },
  });
  Object.freeze(org);
};

// Dynamic code would run unmetered, so eval and the Function constructors are closed.
(function lockdown() {
  const refuse = function Function() {
    throw new EvalError("Dynamic code evaluation is not allowed in scripts.");
  };
  const prototypes = [
    Function.prototype,
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function* () {}),
  ];
  for (const proto of prototypes) {
    Object.defineProperty(proto, "constructor", { value: refuse, writable: false, configurable: false });
  }
  refuse.prototype = Function.prototype;

  // Rejection handlers are where a promise-based script would swallow a limit error.
  const then = Promise.prototype.then;
  Object.defineProperty(Promise.prototype, "then", {
    configurable: false,
    writable: false,
    value: function (onFulfilled, onRejected) {
      const guarded =
        typeof onRejected === "function"
          ? function (e) {
              __cx_c(e);
              return onRejected(e);
            }
          : onRejected;
      return then.call(this, onFulfilled, guarded);
    },
  });

  const globals = {
    eval: refuse,
    Function: refuse,
    global: globalThis,
    ObjectID: ObjectID,
    ObjectId: ObjectID,
    Fault: Fault,
    console: console,
    consts: consts,
    script: script,
    org: org,
    require: require,
    getCurrentStackTrace: getCurrentStackTrace,
    setTimeout: setTimeout,
    setInterval: setInterval,
    setImmediate: setImmediate,
    clearTimeout: clearTimeout,
    clearInterval: clearInterval,
    clearImmediate: clearImmediate,
  };
  for (const name of Object.keys(globals)) {
    Object.defineProperty(globalThis, name, { value: globals[name], writable: false, enumerable: false, configurable: false });
  }
  Object.defineProperty(globalThis, "CortexObject", {
    enumerable: false,
    configurable: false,
    get: function () {
      return __cx_objects().CortexObject;
    },
  });
  Object.freeze(Object);
  Object.freeze(globalThis);
})();

// Outcome of the run so far: main's value (or the exit value) or a fault.
let __cx_outcome = null;

const __cx_settle = function (value) {
  // A returned cursor is read out within the run's limits: the caller gets its documents.
  if (__cx_objectsModule && value instanceof __cx_objectsModule.BufferedCursor) value = value.toArray();
  if (value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function") {
    __cx_outcome = { pending: true };
    value.then(
      function (v) {
        if (__cx_outcome && __cx_outcome.pending) __cx_outcome = { value: v };
      },
      function (e) {
        if (__cx_outcome && __cx_outcome.pending) __cx_outcome = { fault: e };
      }
    );
    return;
  }
  __cx_outcome = { value: value };
};

const __cx_fail = function (e) {
  if (e === __cx_EXIT) {
    __cx_outcome = { value: __cx_exitValue };
    return;
  }
  const kind = __cx_dead || __cx_limitKind(e);
  if (kind) {
    __cx_dead = kind;
    return;
  }
  if (!__cx_outcome || !__cx_outcome.fault) __cx_outcome = { fault: e };
};

// Runs main. `config` is the encoded run configuration.
const __cx_begin = function (configText, main) {
  const config = __cx_decode(configText);
  __cx_config = config;
  __cx_startedAt = config.startedAt;
  __cx_maxOps = config.limits.maxOps;
  __cx_r = config.limits.maxOps;
  __cx_fillOrg(config);
  __cx_fillScript(config);
  try {
    const module = { exports: {} };
    __cx_settle(main.call(undefined, require, module, module.exports));
  } catch (e) {
    __cx_fail(e);
  }
  return __cx_state();
};

// One pass of the event loop: fire due timers.
const __cx_tick = function () {
  try {
    __cx_fireTimers();
  } catch (e) {
    __cx_fail(e);
  }
  return __cx_state();
};

// Envelopes to the host are built as text from primitives: nothing a script does to
// prototypes can change their shape.
const __cx_envelope = function (dead, ok, opsUsed, extra) {
  return (
    '{"dead":' + (dead ? '"' + dead + '"' : "null") + ',"ok":' + (ok ? "true" : "false") +
    ',"opsUsed":' + (+opsUsed || 0) + (extra || "") + "}"
  );
};

// {dead, next, opsUsed}: what the host needs to drive the loop.
const __cx_state = function () {
  const failed = !!(__cx_outcome && __cx_outcome.fault);
  const next = __cx_dead || failed ? -1 : __cx_nextTimerDelay();
  return __cx_envelope(__cx_dead, false, __cx_maxOps - __cx_r, ',"next":' + (+next || 0));
};

// Triggers of one operation share a memo: it goes back to the host with the result.
const __cx_memoText = function () {
  const args = __cx_config && __cx_config.type === "trigger" ? __cx_config.arguments : null;
  if (!args || !args.memo || typeof args.memo !== "object") return "";
  try {
    return ',"memo":' + __cx_encode(args.memo);
  } catch (e) {
    __cx_c(e);
    return "";
  }
};

// The encoded result: {ok: true, v} or {ok: false, f: faultJson}.
const __cx_finish = function () {
  if (__cx_r < 0) __cx_dead = __cx_dead || "ops";
  const opsUsed = __cx_maxOps - __cx_r;
  if (__cx_dead) return __cx_envelope(__cx_dead, false, opsUsed);
  const outcome = __cx_outcome || { value: undefined };
  const failure = function (faultJson) {
    return __cx_envelope(null, false, opsUsed, ',"f":' + __cx_encode(faultJson) + __cx_responseText());
  };
  if (outcome.pending) {
    return failure(Fault.create("script.error.unspecified", { reason: "The promise returned by the script never settled." }).toJSON());
  }
  if (outcome.fault !== undefined) return failure(__cx_faultJson(outcome.fault));
  let encoded;
  try {
    encoded = __cx_encode(outcome.value);
  } catch (e) {
    __cx_c(e);
    return failure(Fault.create("script.error.marshalling", { reason: String(e && e.message) }).toJSON());
  }
  return __cx_envelope(null, true, opsUsed, ',"r":' + encoded + __cx_responseText() + __cx_memoText());
};
