"use strict";
// console: every call is captured into the run's log by the host, never printed
// (a prelude unit, see 00_bridge.js).

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
    __cx_consoleFull = __cx_call("console", [level, args, getCurrentStackTrace()]) === false;
  };
};

const console = Object.freeze({
  log: __cx_consoleMethod("log"),
  info: __cx_consoleMethod("info"),
  warn: __cx_consoleMethod("warn"),
  error: __cx_consoleMethod("error"),
  debug: __cx_consoleMethod("debug"),
  trace: __cx_consoleMethod("trace"),
});

({ console: console });
