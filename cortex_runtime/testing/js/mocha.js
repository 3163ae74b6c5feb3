// Mocha-style suites for `cortex-runtime test`: describe, it, before, after, beforeEach,
// afterEach. A test file is evaluated once to collect its suites, then every test runs in
// file order, awaited (async functions, returned promises and done callbacks), its hooks
// around it. Each outcome is reported to the host as it finishes (progress display) and the
// list of outcomes is the run's value.

const native = require("cortex-test.native");
const timers = require("cortextest__timers");

function Suite(title, parent) {
  this.title = title;
  this.parent = parent;
  this.children = []; // tests and suites, in declaration order
  this.hooks = { before: [], after: [], beforeEach: [], afterEach: [] };
  this.only = false;
  this.skip = parent ? parent.skip : false;
}

Suite.prototype.path = function () {
  const titles = [];
  for (let s = this; s && s.parent; s = s.parent) titles.unshift(s.title);
  return titles;
};

function callerLine() {
  // The test file's line of the declaration (the first frame that is not this library).
  const stack = String(new Error().stack || "").split("\n");
  for (const frame of stack) {
    const found = /eval_script:(\d+):\d+/.exec(frame);
    if (found) return Number(found[1]);
  }
  return null;
}

function settle(fn, self) {
  // Runs fn as mocha does: a done callback when it declares a parameter, else its value
  // (a promise is awaited).
  if (fn.length > 0) {
    return new Promise(function (resolve, reject) {
      fn.call(self, function (err) {
        if (err) reject(err);
        else resolve();
      });
    });
  }
  return Promise.resolve().then(function () {
    return fn.call(self);
  });
}

function describeError(e) {
  if (e === null || e === undefined || (typeof e !== "object" && typeof e !== "function")) {
    return { name: "Error", message: String(e) };
  }
  const out = {
    name: e.name || "Error",
    message: typeof e.message === "string" && e.message ? e.message : String(e.reason || e.errCode || e),
    stack: typeof e.stack === "string" ? e.stack : null,
  };
  // Every Error has an errCode here (script.error.unspecified); an assertion's is not news.
  if (e.errCode && e.name !== "AssertionError") out.errCode = e.errCode;
  if (e.reason !== undefined) out.reason = String(e.reason);
  if (typeof e.trace === "string") out.trace = e.trace;
  if (e.path !== undefined) out.path = String(e.path);
  if (e.actual !== undefined || e.expected !== undefined) {
    try {
      out.actual = JSON.stringify(e.actual);
      out.expected = JSON.stringify(e.expected);
    } catch (ignored) {
      out.actual = String(e.actual);
      out.expected = String(e.expected);
    }
  }
  return out;
}

function Harness() {
  this.root = new Suite("", null);
  this.current = this.root;
  this.results = [];
  this.grep = null;
  this.hasOnly = false;
}

Harness.prototype.globals = function () {
  const self = this;
  const describe = function describe(title, fn) {
    const suite = new Suite(String(title), self.current);
    suite.line = callerLine();
    self.current.children.push(suite);
    const outer = self.current;
    self.current = suite;
    try {
      fn.call(suite);
    } finally {
      self.current = outer;
    }
    return suite;
  };
  describe.skip = function (title, fn) {
    const suite = describe(title, function () {
      self.current.skip = true;
      fn.call(this);
    });
    return suite;
  };
  describe.only = function (title, fn) {
    const suite = describe(title, fn);
    suite.only = true;
    self.hasOnly = true;
    return suite;
  };
  const it = function it(title, options, fn) {
    if (typeof options === "function" || options === undefined) {
      fn = options;
      options = {};
    }
    const test = {
      title: String(title),
      fn: fn,
      options: options || {},
      suite: self.current,
      line: callerLine(),
      pending: typeof fn !== "function" || self.current.skip,
      only: false,
    };
    self.current.children.push(test);
    return test;
  };
  it.skip = function (title, options, fn) {
    const test = it(title, options, fn);
    test.pending = true;
    return test;
  };
  it.only = function (title, options, fn) {
    const test = it(title, options, fn);
    test.only = true;
    self.hasOnly = true;
    return test;
  };
  const hook = function (kind) {
    return function (title, fn) {
      if (typeof title === "function") fn = title;
      self.current.hooks[kind].push({ fn: fn, line: callerLine() });
    };
  };
  return {
    describe: describe,
    context: describe,
    it: it,
    specify: it,
    before: hook("before"),
    after: hook("after"),
    beforeEach: hook("beforeEach"),
    afterEach: hook("afterEach"),
  };
};

Harness.prototype.selected = function (test) {
  if (this.hasOnly) {
    let only = test.only;
    for (let s = test.suite; s && !only; s = s.parent) only = s.only;
    if (!only) return false;
  }
  if (this.grep) return this.grep.test(test.suite.path().concat([test.title]).join(" "));
  return true;
};

Harness.prototype.countSelected = function (suite) {
  let n = 0;
  for (const child of suite.children) {
    if (child instanceof Suite) n += this.countSelected(child);
    else if (this.selected(child)) n += 1;
  }
  return n;
};

Harness.prototype.record = function (test, state, ms, error, hookTitle) {
  const result = {
    suite: test.suite ? test.suite.path() : [],
    title: hookTitle || test.title,
    line: test.line,
    state: state,
    ms: ms,
  };
  if (error) result.error = error;
  this.results.push(result);
  native.report(result);
};

Harness.prototype.withPrincipal = async function (principal, fn) {
  if (!principal) return fn();
  native.asBegin(principal);
  try {
    return await fn();
  } finally {
    native.asEnd();
  }
};

Harness.prototype.runHooks = async function (suite, kind, context) {
  for (const h of suite.hooks[kind]) await settle(h.fn, context);
};

Harness.prototype.eachHooks = async function (suite, kind, context) {
  // beforeEach from the outermost suite in, afterEach from the innermost out.
  const chain = [];
  for (let s = suite; s; s = s.parent) chain.push(s);
  if (kind === "beforeEach") chain.reverse();
  for (const s of chain) await this.runHooks(s, kind, context);
};

Harness.prototype.runTest = async function (test) {
  native.begin({ suite: test.suite.path(), title: test.title, line: test.line });
  const started = native.elapsed();
  const context = { title: test.title, timeout: function () {}, slow: function () {} };
  let error = null;
  try {
    await this.eachHooks(test.suite, "beforeEach", context);
    await this.withPrincipal(test.options.principal, function () {
      return settle(test.fn, context);
    });
  } catch (e) {
    error = describeError(e);
  }
  try {
    await this.eachHooks(test.suite, "afterEach", context);
  } catch (e) {
    if (!error) error = describeError(e);
  }
  timers.clearAll();
  native.settle();
  this.record(test, error ? "failed" : "passed", native.elapsed() - started, error);
};

Harness.prototype.failSuite = function (suite, hookName, error) {
  // A failing before hook fails each selected test of its suite, as not run.
  const self = this;
  const walk = function (s) {
    for (const child of s.children) {
      if (child instanceof Suite) walk(child);
      else if (self.selected(child)) self.record(child, "failed", 0, Object.assign({ hook: hookName }, error));
    }
  };
  walk(suite);
};

Harness.prototype.runSuite = async function (suite) {
  if (this.countSelected(suite) === 0) return;
  const context = { title: suite.title, timeout: function () {} };
  try {
    await this.runHooks(suite, "before", context);
  } catch (e) {
    this.failSuite(suite, '"before all" hook', describeError(e));
    return;
  }
  for (const child of suite.children) {
    if (child instanceof Suite) await this.runSuite(child);
    else if (!this.selected(child)) continue;
    else if (child.pending) this.record(child, "pending", 0, null);
    else await this.runTest(child);
  }
  try {
    await this.runHooks(suite, "after", context);
  } catch (e) {
    this.results.push({ suite: suite.path(), title: '"after all" hook', line: null, state: "failed", ms: 0, error: describeError(e) });
    native.report(this.results[this.results.length - 1]);
  }
};

// With --seed, Math.random in a test file draws from the seeded generator (a run repeats exactly).
function seededMath() {
  const math = Object.create(Math);
  math.random = function random() {
    return native.random();
  };
  return Object.freeze(math);
}

// require() in a test file: 'cortex-test' and 'assert' are the harness's own modules.
function testRequire(name) {
  if (name === "cortex-test") return require("cortextest__api");
  if (name === "assert" || name === "assert/strict") return require("cortextest__assert");
  return require(name);
}

// Collects the file's suites (fileBody gets the globals) and runs them; the run's value is
// the list of outcomes.
exports.run = async function (options, fileBody) {
  const harness = new Harness();
  if (options && options.grep) harness.grep = new RegExp(options.grep);
  const g = harness.globals();
  const t = timers.api;
  fileBody(g.describe, g.it, g.before, g.after, g.beforeEach, g.afterEach, g.context, g.specify,
    t.setTimeout, t.setInterval, t.setImmediate, t.clearTimeout, t.clearInterval, t.clearImmediate, testRequire,
    options && options.seeded ? seededMath() : Math);
  native.planned(harness.countSelected(harness.root));
  await harness.runSuite(harness.root);
  return harness.results;
};
