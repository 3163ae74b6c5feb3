"use strict";
// The script global and the run's timers. Both read the run configuration the
// host hands to __cx_begin() before main runs.

let __cx_config = null;
let __cx_startedAt = 0;
let __cx_exited = false;
let __cx_exitValue;

const __cx_timers = [];
let __cx_timerSeq = 0;

const __cx_addTimer = function (fn, delay, args, repeat) {
  if (typeof fn !== "function") throw new TypeError("callback must be a function");
  delay = Number(delay);
  if (!(delay >= 1)) delay = 1;
  const timer = { id: ++__cx_timerSeq, fn: fn, args: args, delay: delay, due: __cx_now() + delay, repeat: repeat };
  __cx_timers.push(timer);
  return timer.id;
};

const __cx_clearTimer = function (id) {
  for (let i = 0; i < __cx_timers.length; i++) {
    if (__cx_timers[i].id === id) {
      __cx_timers.splice(i, 1);
      return;
    }
  }
};

const setTimeout = function setTimeout(fn, delay) {
  return __cx_addTimer(fn, delay, Array.prototype.slice.call(arguments, 2), false);
};
const setInterval = function setInterval(fn, delay) {
  return __cx_addTimer(fn, delay, Array.prototype.slice.call(arguments, 2), true);
};
const setImmediate = function setImmediate(fn) {
  return __cx_addTimer(fn, 0, Array.prototype.slice.call(arguments, 1), false);
};
const clearTimeout = __cx_clearTimer;
const clearInterval = __cx_clearTimer;
const clearImmediate = __cx_clearTimer;

// Milliseconds until the next timer is due, or -1 when none is left.
const __cx_nextTimerDelay = function () {
  if (__cx_exited || __cx_timers.length === 0) return -1;
  let due = Infinity;
  for (const t of __cx_timers) if (t.due < due) due = t.due;
  return Math.max(0, due - __cx_now());
};

// Runs at most ten due timers, earliest first (the platform's pass size).
const __cx_fireTimers = function () {
  const now = __cx_now();
  const due = __cx_timers
    .filter(function (t) {
      return t.due <= now;
    })
    .sort(function (a, b) {
      return a.due - b.due || a.id - b.id;
    })
    .slice(0, 10);
  for (const timer of due) {
    if (__cx_exited) return;
    if (__cx_timers.indexOf(timer) === -1) continue;
    if (timer.repeat) timer.due = __cx_now() + timer.delay;
    else __cx_clearTimer(timer.id);
    timer.fn.apply(undefined, timer.args);
  }
};

const script = {};

// Trigger arguments: `new` carries write helpers that change the pending write, in
// the host (which validates and stores it) and in this copy, so later reads see them.
const __cx_triggerArguments = function (args) {
  const pending = args && args.new;
  if (!pending || typeof pending !== "object") return args;
  const pathOf = function (path) {
    if (typeof path !== "string" || !path) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "A string property path is required." });
    return path;
  };
  const setLocal = function (path, value) {
    const parts = path.split(".");
    let target = pending;
    for (let i = 0; i < parts.length - 1; i++) {
      if (target[parts[i]] === null || typeof target[parts[i]] !== "object") target[parts[i]] = {};
      target = target[parts[i]];
    }
    if (value === undefined) delete target[parts[parts.length - 1]];
    else target[parts[parts.length - 1]] = value;
  };
  const apply = function (operator, path, value, options) {
    if (path && typeof path === "object") {
      for (const key of Object.keys(path)) apply(operator, key, path[key], value);
      return;
    }
    const name = pathOf(path);
    const result = __cx_call("trigger.write", [operator, name, value, options || {}]);
    setLocal(name, operator === "$unset" ? undefined : result);
  };
  Object.defineProperties(pending, {
    update: { value: function update(path, value, options) { apply("$set", path, value, options); } },
    push: { value: function push(path, value, options) { apply("$push", path, value, options); } },
    delete: { value: function (path, options) { apply("$unset", pathOf(path), 1, options); } },
  });
  return args;
};

// Fills the script global for this run; called once, before main.
const __cx_fillScript = function (config) {
  const limits = config.limits;
  Object.assign(script, {
    _id: config.scriptId === null ? undefined : config.scriptId,
    label: config.label,
    type: config.type,
    depth: config.depth,
    arguments: config.type === "trigger" ? __cx_triggerArguments(config.arguments) : config.arguments,
    event: config.event,
    env: Object.freeze(config.env),
    org: org,
    originalPrincipal: config.principal ? config.principal._id : undefined,
    inline: !!config.inline,
    config: Object.freeze({ query: Object.freeze({ defaultMaxTimeMS: 10000, minTimeMS: 10, maxTimeMS: 30000 }) }),
    // Runs fn as another principal (id, email or account instance); see modules/script.py.
    as: function as(principal, options, fn) {
      if (typeof options === "function") {
        fn = options;
        options = {};
      }
      if (typeof fn !== "function") throw Fault.create("cortex.invalidArgument.unspecified", { reason: "script.as expects a function." });
      __cx_call("script.as.begin", [principal && principal._id ? principal._id : principal, options || {}]);
      try {
        return fn();
      } finally {
        __cx_call("script.as.end", []);
      }
    },
    // Runs the system object's triggers for a custom event (<c_name>...before|after).
    trigger: function trigger(event, args) {
      __cx_call("script.trigger", [event, args === undefined ? null : args]);
    },
    // Runs the @on listeners of an event in this script, heaviest first: handler(...params, runtime).
    fire: function fire(event) {
      const params = Array.prototype.slice.call(arguments, 1);
      const listeners = __cx_call("script.listeners", [event]);
      for (const listener of listeners) {
        require(listener.export);
        require("decorators").listener(listener.signature).apply(undefined, params.concat([listener.runtime]));
      }
    },
    exit: function exit(value) {
      __cx_exited = true;
      __cx_exitValue = value;
      throw __cx_EXIT;
    },
    // Each of these is a call, so two consecutive readings always differ.
    getOpsUsed: function getOpsUsed() {
      __cx_r--;
      return Math.min(__cx_maxOps, __cx_maxOps - __cx_r);
    },
    getOpsRemaining: function getOpsRemaining() {
      __cx_r--;
      return Math.max(0, __cx_r);
    },
    getElapsedTime: function getElapsedTime() {
      return __cx_now() - __cx_startedAt;
    },
    getTimeLeft: function getTimeLeft() {
      return Math.max(0, limits.timeoutMs - (__cx_now() - __cx_startedAt));
    },
    getCalloutsRemaining: function getCalloutsRemaining() {
      return config.inline ? 0 : limits.callouts;
    },
    getNotificationsRemaining: function getNotificationsRemaining() {
      return limits.notifications;
    },
  });
  // The principal and the subject are CortexObject instances, made on first use: most runs
  // never touch them, and the object API is loaded only when something needs it.
  let principal;
  let context;
  Object.defineProperty(script, "principal", {
    enumerable: true,
    get: function () {
      if (principal === undefined) principal = __cx_objects().principalInstance(config.principal);
      return principal;
    },
  });
  Object.defineProperty(script, "context", {
    enumerable: true,
    get: function () {
      if (context === undefined && config.subject) context = __cx_objects().CortexObject.from(config.subject);
      return context;
    },
  });
  Object.defineProperty(script, "exited", {
    enumerable: true,
    get: function () {
      return __cx_exited;
    },
  });
  Object.freeze(script);
};
