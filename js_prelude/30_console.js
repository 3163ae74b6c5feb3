"use strict";
// console: every call is captured into the run's log by the host, never printed
// (a prelude unit, see 00_bridge.js).
//
// As the platform has it (modules.md section 5, src): log, info, warn and error are persisted,
// each with its level and the stack trace of the call; table, assert, count, time,
// timeEnd, group, groupEnd and groupCollapsed are accepted and do nothing (deprecated).
// Every method is variadic, returns undefined and never throws: a value the bridge
// cannot carry drops the call, like a call the host finds too large (about 8 KB).
// Only a limit (ops, memory, stack) still ends the script.

const __cx_call = __cx_unit("codec").call;

// The host caps a run's console output; once it says the log is full, calls stop
// crossing the bridge (they still cost their ops).
let __cx_consoleFull = false;

const __cx_consoleMethod = function (level) {
  return function () {
    if (__cx_consoleFull) {
      __cx_r -= __cx_HOST_CALL_OPS;
      if (__cx_r < 0) __cx_x();
      return;
    }
    const args = Array.prototype.slice.call(arguments);
    try {
      __cx_consoleFull = __cx_call("console", [level, args, getCurrentStackTrace()]) === false;
    } catch (e) {
      if (__cx_dead || __cx_limitKind(e)) throw e;
    }
  };
};

const __cx_consoleNothing = function () {};

const console = Object.freeze({
  log: __cx_consoleMethod("log"),
  info: __cx_consoleMethod("info"),
  warn: __cx_consoleMethod("warn"),
  error: __cx_consoleMethod("error"),
  table: __cx_consoleNothing,
  assert: __cx_consoleNothing,
  count: __cx_consoleNothing,
  time: __cx_consoleNothing,
  timeEnd: __cx_consoleNothing,
  group: __cx_consoleNothing,
  groupEnd: __cx_consoleNothing,
  groupCollapsed: __cx_consoleNothing,
});

return { console: console };
