"use strict";
// The script global (a prelude unit, see 00_bridge.js), made from the run
// configuration (__cx_config in 90_run.js) when a script first touches it.

const __cx_call = __cx_unit("codec").call;

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

// script.fire(event, ...params): runs the @on listeners of an event in this script,
// heaviest first, as handler(...params, runtime), synchronously (events.md 3.3).
const __cx_fire = function fire(event) {
  const params = Array.prototype.slice.call(arguments, 1);
  const listeners = __cx_call("script.listeners", [event]);
  for (const listener of listeners) {
    require(listener.export);
    require("decorators").listener(listener.signature).apply(undefined, params.concat([listener.runtime]));
  }
};

// script.fire.async(event, ...params): queues an Event {type: 'script', event, principal,
// param: [params]} for later processing and returns the insert's result. The handler then
// gets the params array as its one argument (the platform's quirk, events.md 3.3).
Object.defineProperty(__cx_fire, "async", {
  value: function async(event) {
    const params = Array.prototype.slice.call(arguments, 1);
    const principal = script.principal;
    const doc = { type: "script", event: event, principal: principal ? principal._id : null, param: params };
    return org.objects.events.insertOne(doc).skipAcl().bypassCreateAcl().grant("update").execute();
  },
});
Object.freeze(__cx_fire);

// A count the host keeps for the run, or `fallback` when this host keeps none.
const __cx_count = function (command, fallback) {
  try {
    return __cx_call(command, []);
  } catch (e) {
    __cx_c(e);
    return fallback;
  }
};

// script.principal: an account instance. `roles` holds every role held (expanded through
// the org's includes by the host); `roleCodes` the same roles as codes, sorted, the id
// where a role has no code (fidelity.md 7). Read on first use: it needs the org's roles.
const __cx_principal = function (data) {
  const instance = __cx_unit("objects").principalInstance(data);
  if (!instance || typeof instance !== "object") return instance;
  let codes;
  Object.defineProperty(instance, "roleCodes", {
    enumerable: true,
    get: function () {
      if (codes === undefined) codes = Object.freeze(__cx_unit("consts").roleCodes(instance.roles));
      return codes;
    },
  });
  return instance;
};

// The script global for this run, made once, when the unit loads. Its properties are
// defined (a literal, defineProperty), never assigned: the script may have changed
// Object.prototype by then.
const __cx_makeScript = function (config) {
  const limits = config.limits;
  const script = {
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
    fire: __cx_fire,
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
      return __cx_now() - config.startedAt;
    },
    getTimeLeft: function getTimeLeft() {
      return Math.max(0, limits.timeoutMs - (__cx_now() - config.startedAt));
    },
    // Counted by the host (the http and notifications modules); a host without these
    // commands has used none. Callouts are never allowed in inline triggers.
    getCalloutsRemaining: function getCalloutsRemaining() {
      return config.inline ? 0 : __cx_count("script.callouts", limits.callouts);
    },
    getNotificationsRemaining: function getNotificationsRemaining() {
      return __cx_count("script.notifications", limits.notifications);
    },
  };
  // The principal and the subject are CortexObject instances, made on first use: most runs
  // never touch them, and the object API is loaded only when something needs it.
  let principal;
  let context;
  Object.defineProperty(script, "principal", {
    enumerable: true,
    get: function () {
      if (principal === undefined) principal = __cx_principal(config.principal);
      return principal;
    },
  });
  Object.defineProperty(script, "context", {
    enumerable: true,
    get: function () {
      if (context === undefined && config.subject) context = __cx_unit("objects").CortexObject.from(config.subject);
      return context;
    },
  });
  Object.defineProperty(script, "exited", {
    enumerable: true,
    get: function () {
      return __cx_exited;
    },
  });
  return Object.freeze(script);
};

// A before-trigger's script.context is the document being written (scripting-core.md section 2.5):
// its update, push and delete change the pending write, as script.arguments.new's do (a
// create.before has no stored instance to update yet). The
//  instance's data properties keep the values the trigger started with.
const __cx_wireContext = function (script) {
  const args = script.type === "trigger" && String(script.event).slice(-7) === ".before" ? script.arguments : null;
  const pending = args && args.new;
  if (!pending || typeof pending.update !== "function") return script;
  const context = script.context;
  if (!context || typeof context !== "object" || !Object.isExtensible(context)) return script;
  Object.defineProperties(context, {
    update: {
      value: function update(path, value, options) {
        pending.update(path, value, options);
      },
    },
    push: {
      value: function push(path, value, options) {
        pending.push(path, value, options);
      },
    },
    delete: {
      value: function (path, options) {
        pending.delete(path, options);
      },
    },
  });
  return script;
};

return { script: __cx_wireContext(__cx_makeScript(__cx_config())) };
