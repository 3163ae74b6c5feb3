"use strict";
// getCurrentStackTrace and the trace every Error has (a prelude unit, see 00_bridge.js):
// the stack without the blank lines and the prelude's own frames.

const __cx_traceOf = function (stack) {
  if (typeof stack !== "string") return undefined;
  return stack
    .split("\n")
    .filter(function (line) {
      return line.trim() !== "" && line.indexOf("__cx_") === -1;
    })
    .join("\n");
};

const getCurrentStackTrace = function getCurrentStackTrace() {
  const stack = new Error().stack || "";
  return __cx_traceOf(stack.split("\n").slice(1).join("\n"));
};

return { traceOf: __cx_traceOf, getCurrentStackTrace: getCurrentStackTrace };
