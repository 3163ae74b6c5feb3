"use strict";
// console: every call is captured into the run's log by the host, never printed.

const __cx_consoleMethod = function (level) {
  return function () {
    const args = Array.prototype.slice.call(arguments);
    __cx_call("console", [level, args, getCurrentStackTrace()]);
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
