// require('assert') in a test file: the common subset of node's assert module.

function AssertionError(options) {
  const err = new Error(options.message);
  err.name = "AssertionError";
  err.actual = options.actual;
  err.expected = options.expected;
  err.operator = options.operator;
  return err;
}

function show(value) {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch (ignored) {
    return String(value);
  }
}

function fail(actual, expected, message, operator, fallback) {
  if (message instanceof Error) throw message;
  throw AssertionError({ message: message || fallback, actual: actual, expected: expected, operator: operator });
}

function isObject(v) {
  return v !== null && typeof v === "object";
}

function deepEqual(a, b, strict) {
  if (strict ? Object.is(a, b) : a == b) return true; // eslint-disable-line eqeqeq
  if (!isObject(a) || !isObject(b)) return false;
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (typeof a.toHexString === "function" && typeof b.toHexString === "function") return a.toHexString() === b.toHexString();
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k], strict)) return false;
  }
  return true;
}

function matches(err, expected) {
  if (expected === undefined) return true;
  if (typeof expected === "function") {
    // An error class, else a validation function (as node's assert reads it).
    if (expected.prototype !== undefined && err instanceof expected) return true;
    if (expected === Error || Error.isPrototypeOf(expected)) return false;
    return expected(err) === true;
  }
  if (expected instanceof RegExp) return expected.test(String(err && err.message));
  if (isObject(expected)) {
    return Object.keys(expected).every(function (k) {
      return expected[k] instanceof RegExp ? expected[k].test(String(err[k])) : deepEqual(err[k], expected[k], true);
    });
  }
  return false;
}

function assert(value, message) {
  if (!value) fail(value, true, message, "==", "The expression evaluated to a falsy value: " + show(value));
}

assert.ok = assert;
assert.AssertionError = AssertionError;
assert.fail = function (message) {
  fail(undefined, undefined, message, "fail", "Failed");
};
assert.equal = function (a, b, message) {
  if (a != b) fail(a, b, message, "==", show(a) + " == " + show(b)); // eslint-disable-line eqeqeq
};
assert.notEqual = function (a, b, message) {
  if (a == b) fail(a, b, message, "!=", show(a) + " != " + show(b)); // eslint-disable-line eqeqeq
};
assert.strictEqual = function (a, b, message) {
  if (!Object.is(a, b)) fail(a, b, message, "strictEqual", "Expected values to be strictly equal: " + show(a) + " !== " + show(b));
};
assert.notStrictEqual = function (a, b, message) {
  if (Object.is(a, b)) fail(a, b, message, "notStrictEqual", "Expected " + show(a) + " not to be strictly equal to " + show(b));
};
assert.deepEqual = function (a, b, message) {
  if (!deepEqual(a, b, false)) fail(a, b, message, "deepEqual", "Expected values to be loosely deep-equal: " + show(a) + " vs " + show(b));
};
assert.deepStrictEqual = function (a, b, message) {
  if (!deepEqual(a, b, true)) fail(a, b, message, "deepStrictEqual", "Expected values to be strictly deep-equal: " + show(a) + " vs " + show(b));
};
assert.notDeepStrictEqual = function (a, b, message) {
  if (deepEqual(a, b, true)) fail(a, b, message, "notDeepStrictEqual", "Expected " + show(a) + " not to be strictly deep-equal to " + show(b));
};
assert.notDeepEqual = function (a, b, message) {
  if (deepEqual(a, b, false)) fail(a, b, message, "notDeepEqual", "Expected " + show(a) + " not to be loosely deep-equal to " + show(b));
};
assert.match = function (text, re, message) {
  if (!re.test(String(text))) fail(text, re, message, "match", "The input did not match " + String(re) + ": " + show(text));
};
assert.throws = function (fn, expected, message) {
  if (typeof expected === "string") {
    message = expected;
    expected = undefined;
  }
  let threw = false;
  let err;
  try {
    fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  if (!threw) fail(undefined, expected, message, "throws", "Missing expected exception.");
  if (!matches(err, expected)) throw err;
};
assert.rejects = async function (promiseOrFn, expected, message) {
  if (typeof expected === "string") {
    message = expected;
    expected = undefined;
  }
  let err;
  let threw = false;
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    threw = true;
    err = e;
  }
  if (!threw) fail(undefined, expected, message, "rejects", "Missing expected rejection.");
  if (!matches(err, expected)) throw err;
};
assert.strict = assert;

module.exports = assert;
