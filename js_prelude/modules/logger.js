// require('logger'): error, warn, info, debug, trace (modules.md section 10). Each call that
// passes `logger.level` becomes one log record (src 0) written by the host
// (cortex_runtime/modules/logger.py): its arguments (at most 100, extra ones cut
// silently) and the stack trace of the call. Every method returns undefined.

const host = require("logger.native");

const LEVELS = ["error", "warn", "info", "debug", "trace"];
const MAX_ARGS = 100;
let threshold = 4;

function method(code) {
  return function () {
    if (code > threshold) return undefined;
    const count = Math.min(arguments.length, MAX_ARGS);
    const args = new Array(count);
    for (let i = 0; i < count; i++) args[i] = arguments[i];
    // The trace of the call, without this module's frame.
    const stack = getCurrentStackTrace();
    const trace = typeof stack === "string" ? stack.split("\n").slice(1).join("\n") : null;
    try {
      host.write(code, args, trace);
    } catch (e) {
      // Arguments the bridge cannot carry (a circular value) still leave a record.
      if (!e || e.errCode !== "script.error.marshalling") throw e;
      host.write(code, [String(e.reason || "logger arguments could not be serialised")], trace);
    }
    return undefined;
  };
}

const logger = {
  error: method(0),
  warn: method(1),
  info: method(2),
  debug: method(3),
  trace: method(4),
};

// logger.level: calls more verbose than it are dropped here; an unknown name is ignored.
Object.defineProperty(logger, "level", {
  enumerable: true,
  get: function () {
    return LEVELS[threshold];
  },
  set: function (name) {
    const index = LEVELS.indexOf(typeof name === "string" ? name.toLowerCase() : name);
    if (index !== -1) threshold = index;
  },
});

module.exports = Object.seal(logger);
