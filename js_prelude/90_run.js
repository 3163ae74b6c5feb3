"use strict";
// The lockdown of the global environment and the run driver the host calls:
// __cx_begin (ops limit, heap limit, main), __cx_step (once the promise jobs have run) and
// __cx_finish (the result); due timers run through the timers unit's tick.

// The run configuration, asked of the host when something first needs it: most runs
// never do. Not a script's host call: it costs no ops.
let __cx_configValue = null;
const __cx_config = function () {
  if (__cx_configValue === null) __cx_configValue = __cx_unit("codec").config();
  return __cx_configValue;
};

// Set by script.exit().
let __cx_exited = false;
let __cx_exitValue;

// Here, not in its unit, so that main is handed the global require without loading
// the module system.
const require = function require(name) {
  return __cx_unit("modules").require(name, arguments.length);
};

// The lockdown. Dynamic code would run unmetered, so eval and the Function constructors
// are closed. (A block, not a function: its bindings stay out of the global scope.)
{
  const refuse = function Function() {
    throw new EvalError("Dynamic code evaluation is not allowed in scripts.");
  };
  refuse.prototype = Function.prototype;
  for (const fn of [refuse, async function () {}, function* () {}, async function* () {}]) {
    Object.defineProperty(__cx_getPrototypeOf(fn), "constructor", { value: refuse, writable: false, configurable: false });
  }

  // Rejection handlers are where a promise-based script would swallow a limit error.
  // The original is applied through the captured Reflect.apply: a script that replaced
  // Function.prototype.call would otherwise be handed it.
  const then = Promise.prototype.then;
  Object.defineProperty(Promise.prototype, "then", {
    writable: false,
    configurable: false,
    value: function (onFulfilled, onRejected) {
      const guarded =
        typeof onRejected === "function"
          ? function (e) {
              __cx_c(e);
              return onRejected(e);
            }
          : onRejected;
      return __cx_apply(then, this, [onFulfilled, guarded]);
    },
  });

  // New properties are non-enumerable by default; freezing globalThis below makes
  // every global read-only and non-configurable.
  const globals = { eval: refuse, Function: refuse, global: globalThis, require: require };
  for (const name in globals) Object.defineProperty(globalThis, name, { value: globals[name], enumerable: false });
  // The rest are evaluated on first use: "unit global" pairs. Once globalThis is frozen the
  // accessor cannot be replaced, so it stays and returns the unit's value. A bound function
  // per global, not a closure: it is made without compiling anything.
  const lazy = function (unit, name) {
    return __cx_unit(unit)[name];
  };
  const pairs = (
    "objectid ObjectID objectid ObjectId util Buffer faults Fault stacktrace getCurrentStackTrace console console " +
    "consts consts script script timers setTimeout timers setInterval timers setImmediate timers clearTimeout " +
    "timers clearInterval timers clearImmediate objects CortexObject org org"
  ).split(" ");
  for (let i = 0; i < pairs.length; i += 2) {
    // enumerable is given because the engine's own console global is enumerable.
    Object.defineProperty(globalThis, pairs[i + 1], { enumerable: false, get: lazy.bind(null, pairs[i], pairs[i + 1]) });
  }
  Object.freeze(Object);
  Object.freeze(globalThis);
}

// How the run ends so far: "value" (__cx_value is main's value or the exit value),
// "pending" (main returned a promise) or "fault" (__cx_value is what was thrown).
let __cx_outcome = "value";
let __cx_value;

const __cx_fail = function (e) {
  if (e === __cx_EXIT) {
    __cx_outcome = "value";
    __cx_value = __cx_exitValue;
    return;
  }
  const kind = __cx_dead || __cx_limitKind(e);
  if (kind) {
    __cx_dead = kind;
  } else if (__cx_outcome !== "fault" || !__cx_value) {
    __cx_outcome = "fault";
    __cx_value = e;
  }
};

// Runs main with the run's ops limit (its heap limit is for telling a full heap, 00_bridge.js).
// True when a limit was hit. What main returned is the run's value; an object may be a cursor
// or a promise, which the finish unit sees to (95_finish.js).
const __cx_begin = function (maxOps, heapBytes, main) {
  __cx_maxOps = __cx_r = maxOps;
  __cx_heapBytes = heapBytes;
  try {
    const module = { exports: {} };
    const value = (__cx_value = main(require, module, module.exports));
    if (value !== null && (typeof value === "object" || typeof value === "function")) __cx_unit("finish").returned(value);
  } catch (e) {
    __cx_fail(e);
  }
  return __cx_dead !== null;
};

// Once the promise jobs have run: with timers, milliseconds until the next one is due (the
// host waits, then calls the timers unit's tick) or the final envelope (55_timers.js); else
// the final envelope.
const __cx_step = function () {
  const timers = __cx_units.timers;
  return timers ? timers.step() : __cx_finish();
};

// The final envelope as text: {dead, ok, opsUsed} and the result {r: {v}} or the fault
// {f: {v}}. A limit, and a primitive value with nothing else to report (no response
// written, no configuration read, so no memo changed), are written here: JSON has the
// same text for such a value as the codec. Everything else is 95_finish.js.
const __cx_finish = function () {
  if (__cx_r < 0) __cx_dead = __cx_dead || "ops";
  const ops = ',"opsUsed":' + (__cx_maxOps - __cx_r);
  if (__cx_dead) return '{"dead":"' + __cx_dead + '","ok":false' + ops + "}";
  const type = typeof __cx_value;
  const plain = __cx_value == null || type === "string" || type === "number" || type === "boolean";
  if (plain && __cx_outcome === "value" && !__cx_units.response && !__cx_configValue) {
    const text = __cx_value === undefined ? '{"$cx":"undefined"}' : __cx_stringify(__cx_value);
    return '{"dead":null,"ok":true' + ops + ',"r":{"v":' + text + "}}";
  }
  return __cx_unit("finish").finish();
};
