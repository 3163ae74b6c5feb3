"use strict";
// setTimeout, setInterval, setImmediate and their clear* (a prelude unit, see
// 00_bridge.js). Callbacks run only after main has returned: the host drives the
// event loop with __cx_step (90_run.js), this unit's step, and its tick.

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

// Once the promise jobs have run (__cx_step in 90_run.js): milliseconds until the next timer is
// due, or the run's final envelope when none is left or the run has ended.
const __cx_timerStep = function () {
  if (!__cx_dead && !(__cx_outcome === "fault" && __cx_value)) {
    const next = +__cx_nextTimerDelay();
    if (next >= 0) return next;
  }
  return __cx_finish();
};

// One pass of the event loop (the host calls it once a timer is due): true when a limit was hit.
const __cx_tick = function () {
  try {
    __cx_fireTimers();
  } catch (e) {
    __cx_fail(e);
  }
  return __cx_dead !== null;
};

return {
  setTimeout: setTimeout,
  setInterval: setInterval,
  setImmediate: setImmediate,
  clearTimeout: clearTimeout,
  clearInterval: clearInterval,
  clearImmediate: clearImmediate,
  step: __cx_timerStep,
  tick: __cx_tick,
};
