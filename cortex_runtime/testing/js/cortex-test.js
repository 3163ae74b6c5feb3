// require('cortex-test') in a test file: the test clock, accounts, HTTP mocks, the outbox,
// log records, fixtures and `as` (run a function as another principal). The host side is
// cortex_runtime/testing/module.py (require('cortex-test.native')).

const native = require("cortex-test.native");
const timers = require("cortextest__timers");

const clock = {
  // The test clock's time, a Date (cron jobs and log records use it).
  now: function () {
    return new Date(native.now());
  },
  // Moves the clock by ms or a duration ('90s', '2h', '1d', '1w'), firing due cron jobs,
  // queued events and the test's own timers in time order. Returns the new time.
  advance: function (duration) {
    const target = native.now() + native.duration(duration);
    for (;;) {
      const timer = timers.nextDue();
      const job = native.nextDue(target);
      const timerNext = timer !== null && timer <= target;
      if (!timerNext && job === null) break;
      if (timerNext && (job === null || timer <= job)) {
        native.setNow(timer);
        timers.fireDue(timer);
      } else {
        native.runDue(job);
      }
    }
    native.setNow(target);
    native.settle();
    return new Date(target);
  },
};

const accounts = {
  // A new account of the org: {email, password?, name?, roles?: [codes or ids], ...}.
  create: function (doc) {
    return native.accountsCreate(doc || {});
  },
};

const http = {
  // Answers callouts to a URL (exact, a '*' wildcard pattern or a RegExp) with a response:
  // {statusCode, headers, body} (a body that is not a string is sent as JSON).
  mock: function (url, response, options) {
    const pattern = url instanceof RegExp ? { regexp: url.source, flags: url.flags } : { url: String(url) };
    native.httpMock(pattern, response || {}, options || {});
    return http;
  },
  // The callouts answered by mocks: [{method, url, headers, body}].
  requests: function () {
    return native.httpRequests();
  },
  reset: function () {
    native.httpReset();
  },
};

const outbox = {
  // The notifications sent (email, sms, push), oldest first.
  list: function (options) {
    return native.outbox(options || {});
  },
};

const routes = {
  // Runs a custom route in-process as /routes/<path> would: {status, headers, body}.
  // options: body, query, headers, principal (email or id; default the administrator).
  call: function (method, path, options) {
    return native.routeCall(String(method), String(path), options || {});
  },
};

module.exports = {
  clock: clock,
  routes: routes,
  accounts: accounts,
  http: http,
  outbox: outbox,
  // Log records of the org (script runs and require('logger')), oldest first.
  logs: function (options) {
    return native.logs(options || {});
  },
  fixtures: {
    // Inserts documents into an object as the administrator, bypassing create ACLs;
    // returns their ids.
    load: function (object, docs) {
      return native.fixturesLoad(String(object), Array.isArray(docs) ? docs : [docs]);
    },
  },
  // Runs fn as another principal (email or id); fn may be async.
  as: async function (principal, fn) {
    native.asBegin(principal);
    try {
      return await fn();
    } finally {
      native.asEnd();
    }
  },
  // The run's seeded random numbers (--seed), in [0, 1).
  random: function () {
    return native.random();
  },
};
