// Fake timers for a test file: setTimeout and setInterval in a test are due on the test
// clock (require('cortex-test').clock), so they fire when clock.advance passes them, in
// due order, between the cron jobs due in the same stretch. setImmediate runs after the
// current promise jobs, as nothing else in a test moves time.

const native = require("cortex-test.native");

let timers = [];
let seq = 0;

function add(fn, delay, args, repeat) {
  if (typeof fn !== "function") throw new TypeError("callback must be a function");
  delay = Number(delay);
  if (!(delay >= 1)) delay = 1;
  const timer = { id: ++seq, fn: fn, args: args, delay: delay, due: native.now() + delay, repeat: repeat };
  timers.push(timer);
  return timer.id;
}

function clear(id) {
  timers = timers.filter(function (t) {
    return t.id !== id;
  });
}

// The earliest due time (epoch ms), or null.
exports.nextDue = function () {
  let due = null;
  for (const t of timers) if (due === null || t.due < due) due = t.due;
  return due;
};

// Fires the timers due at `at` or earlier, earliest first; an interval is due again a
// delay later.
exports.fireDue = function (at) {
  const due = timers
    .filter(function (t) {
      return t.due <= at;
    })
    .sort(function (a, b) {
      return a.due - b.due || a.id - b.id;
    });
  for (const timer of due) {
    if (timers.indexOf(timer) === -1) continue;
    if (timer.repeat) timer.due += timer.delay;
    else clear(timer.id);
    timer.fn.apply(undefined, timer.args);
  }
};

// Timers left by a test do not outlive it.
exports.clearAll = function () {
  timers = [];
};

exports.api = {
  setTimeout: function setTimeout(fn, delay) {
    return add(fn, delay, Array.prototype.slice.call(arguments, 2), false);
  },
  setInterval: function setInterval(fn, delay) {
    return add(fn, delay, Array.prototype.slice.call(arguments, 2), true);
  },
  setImmediate: function setImmediate(fn) {
    const args = Array.prototype.slice.call(arguments, 1);
    Promise.resolve().then(function () {
      fn.apply(undefined, args);
    });
    return 0;
  },
  clearTimeout: clear,
  clearInterval: clear,
  clearImmediate: function () {},
};
