"use strict";
// The one channel to the host, the lazily evaluated prelude units, and the run's
// limit state.
//
// Every binding here is lexical (const/let) and named __cx_*: compiled scripts may
// not use such identifiers, and lexical globals are not properties of globalThis,
// so script code can neither read nor replace them.

const __cx_host = globalThis.__cx_host_call;
const __cx_source = globalThis.__cx_prelude_unit;
delete globalThis.__cx_host_call;
delete globalThis.__cx_prelude_unit;
const __cx_eval = globalThis.eval;
const __cx_stringify = JSON.stringify;
const __cx_parse = JSON.parse;
const __cx_now = Date.now;
const __cx_hasOwn = Object.prototype.hasOwnProperty;
const __cx_isArray = Array.isArray;
const __cx_getPrototypeOf = Object.getPrototypeOf;
const __cx_apply = Reflect.apply;
const __cx_RangeError = RangeError;
const __cx_InternalError = InternalError;

// ---- prelude units -----------------------------------------------------------
// Most of the prelude is not evaluated when a context is built: parsing is what a
// fresh context costs, and most runs use little of it. Every other file is a unit,
// evaluated on first use. A unit's source is the body of a strict function that returns
// its exports; the host gives it wrapped as a function expression (__cx_source, captured
// above: name -> text, and takes note of which units a run used) and it is compiled through
// the evaluator captured above, which only the prelude holds. Its own bindings stay in its
// function, and it reaches the eager ones (00_bridge.js, 05_errors.js, 90_run.js) by name.
const __cx_units = Object.create(null);

// Units the host compiled into this context when it built it (the units recent runs used,
// sandbox.py ContextPool): name -> the unit's function, not yet called. Called on first use,
// as a unit compiled then would be, so nothing of a run is read before the run touches it.
const __cx_prepared = Object.create(null);

// npm library factories the host parsed into this context when it built it (the libraries
// recent runs required, sandbox.py RecentUse): name -> factory, run only if required.
const __cx_preloaded = Object.create(null);

const __cx_unit = function (name) {
  let unit = __cx_units[name];
  if (unit === undefined) {
    // Marked while it loads: a unit that needs itself gets null and fails.
    __cx_units[name] = null;
    try {
      const body = __cx_prepared[name];
      if (body === undefined) {
        unit = __cx_eval(__cx_source(name, true))();
      } else {
        __cx_source(name, false); // the host only takes note that the unit was used
        unit = body();
      }
    } finally {
      __cx_units[name] = unit;
    }
  }
  return unit;
};

// ---- limits ------------------------------------------------------------------

// Ops remaining in this run: metering points decrement it (see sandbox/meter.js).
let __cx_r = 1e15;
let __cx_maxOps = 1e15;
// Set once a limit is hit: 'ops' | 'memory' | 'stack'. Limits are terminal.
let __cx_dead = null;
// Thrown by script.exit(); caught only by the run driver.
const __cx_EXIT = Object.freeze({ exit: true });
const __cx_HOST_CALL_OPS = 10;

const __cx_limitKind = function (e) {
  // A value of no JS type: the engine lost the out-of-memory error it meant to throw.
  if (typeof e === "unknown") return "memory";
  if (e === null || (typeof e !== "object" && typeof e !== "function")) return null;
  const proto = __cx_getPrototypeOf(e);
  if (proto === __cx_InternalError.prototype && e.message === "out of memory") return "memory";
  if (proto === __cx_RangeError.prototype && e.message === "Maximum call stack size exceeded") return "stack";
  return e.__cx_limit || null;
};

const __cx_limitError = function (kind) {
  // Built lazily: after an out-of-memory error even this allocation may fail,
  // and then the original error keeps propagating, which is just as terminal.
  const err = new Error("limit");
  Object.defineProperty(err, "__cx_limit", { value: kind });
  return err;
};

// Ops exhausted.
const __cx_x = function () {
  __cx_dead = __cx_dead || "ops";
  throw __cx_limitError(__cx_dead);
};

// Loop iterations are counted in a local batch of __cx_BATCH (see sandbox/meter.js).
const __cx_BATCH = 4096;

// A loop's batch is used up: take it from the run's ops.
const __cx_b = function () {
  __cx_r -= __cx_BATCH;
  if (__cx_r < 0 || __cx_dead) __cx_x();
  return __cx_BATCH;
};

// A loop is left (normally, by break/return, or by an exception): settle its batch.
const __cx_e = function (left) {
  __cx_r -= __cx_BATCH - left;
  if (__cx_r < 0 || __cx_dead) __cx_x();
};

// On a full heap the engine may fail to build its own out-of-memory error, and any allocation
// after that can fail too. What it throws then, seen on this engine: null (no room for the
// error object), a value of no JS type (a lost error, which __cx_limitKind counts), an
// InternalError without its message, or an error of some other kind with an empty stack (no
// room for its backtrace). Scripts can throw null or such an error themselves, so these are the memory limit
// only when the heap is at least half full: a probe of half the heap's size fails. So that the
// probe and the unwinding have room, the prelude holds a reserve, dropped first and taken again
// when the heap was not full.
const __cx_RESERVE = 65536;
let __cx_reserve = new ArrayBuffer(__cx_RESERVE);
// The run's heap limit in bytes (0: none), set by __cx_begin.
let __cx_heapBytes = 0;
// Captured: a script may redefine Error.prototype.stack.
const __cx_stackOf = Object.getOwnPropertyDescriptor(Error.prototype, "stack").get;

const __cx_heapFull = function (e) {
  if (e !== null) {
    if (typeof e !== "object") return false;
    const proto = __cx_getPrototypeOf(e);
    if (proto !== __cx_InternalError.prototype) {
      if (proto !== TypeError.prototype && proto !== RangeError.prototype && proto !== Error.prototype) return false;
      try {
        if (__cx_apply(__cx_stackOf, e, [])) return false;
      } catch (x) {
        // no room even to read it
      }
    }
  }
  __cx_reserve = null;
  try {
    new ArrayBuffer(__cx_heapBytes > 4 * __cx_RESERVE ? __cx_heapBytes / 2 : 2 * __cx_RESERVE);
  } catch (x) {
    return true;
  }
  try {
    __cx_reserve = new ArrayBuffer(__cx_RESERVE);
  } catch (x) {
    // left without a reserve: only the next such error goes unexplained
  }
  return false;
};

// A metered loop is left by an exception (see sandbox/meter.js), which drops the reserve when
// the exception is null. A limit is recorded here, where the loop that hit it still holds its
// memory; the loop's own frame rethrows.
const __cx_l = function (e) {
  if (!__cx_dead) __cx_dead = __cx_limitKind(e) || (__cx_heapFull(e) ? "memory" : null);
};

// Top of every catch block.
const __cx_c = function (e) {
  if (e === __cx_EXIT) throw e;
  if (__cx_dead) throw e;
  const kind = __cx_limitKind(e) || (__cx_heapFull(e) ? "memory" : null);
  if (kind) {
    __cx_dead = kind;
    throw e;
  }
};

// Top of every finally block.
const __cx_f = function () {
  if (__cx_dead) throw __cx_limitError(__cx_dead);
};
