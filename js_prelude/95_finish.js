"use strict";
// The end of a run, past what 90_run.js does itself (a prelude unit, see 00_bridge.js):
// waiting for the promise main returned, and the final envelope when it is more than a
// plain value: a limit, a fault, a value that needs the codec, what the script wrote
// through require('response'), a trigger's memo.
//
// Envelopes are built as text from primitives: nothing a script does to prototypes
// can change their shape.

const __cx_encode = __cx_unit("codec").encode;

const __cx_envelope = function (ok, opsUsed, extra) {
  return '{"dead":null,"ok":' + ok + ',"opsUsed":' + (+opsUsed || 0) + extra + "}";
};

const __cx_responseText = function () {
  const response = __cx_units.response;
  return response ? response.responseText() : "";
};

// Triggers of one operation share a memo: it goes back to the host with the result.
// A script that never read its configuration cannot have changed it.
const __cx_memoText = function () {
  const config = __cx_configValue;
  const args = config && config.type === "trigger" ? config.arguments : null;
  if (!args || !args.memo || typeof args.memo !== "object") return "";
  try {
    return ',"memo":' + __cx_encode(args.memo);
  } catch (e) {
    __cx_c(e);
    return "";
  }
};

const __cx_failure = function (opsUsed, faultJson) {
  return __cx_envelope(false, opsUsed, ',"f":' + __cx_encode(faultJson) + __cx_responseText());
};

// {dead: null, ok, opsUsed} and the result {r: {v}} or the fault {f: {v}} (__cx_finish
// in 90_run.js has written a limit already).
const __cx_finishEnvelope = function () {
  const opsUsed = __cx_maxOps - __cx_r;
  if (__cx_outcome === "pending") {
    const fault = Fault.create("script.error.unspecified", { reason: "The promise returned by the script never settled." });
    return __cx_failure(opsUsed, fault.toJSON());
  }
  if (__cx_outcome === "fault" && __cx_value !== undefined) return __cx_failure(opsUsed, __cx_unit("faults").faultJson(__cx_value));
  let encoded;
  try {
    encoded = __cx_encode(__cx_outcome === "value" ? __cx_value : undefined);
  } catch (e) {
    __cx_c(e);
    return __cx_failure(opsUsed, __cx_unit("codec").marshallingFault(e).toJSON());
  }
  return __cx_envelope(true, opsUsed, ',"r":' + encoded + __cx_responseText() + __cx_memoText());
};

// What main returned, an object: a cursor is read out within the run's limits (the caller gets
// its documents); a promise's outcome is the run's, unless something fails first.
const __cx_returned = function (value) {
  const objects = __cx_units.objects;
  if (objects && value instanceof objects.BufferedCursor) __cx_value = value = value.toArray();
  if (typeof value.then === "function") {
    __cx_outcome = "pending";
    __cx_await(value);
  }
};

const __cx_await = function (promise) {
  promise.then(
    function (v) {
      if (__cx_outcome === "pending") {
        __cx_outcome = "value";
        __cx_value = v;
      }
    },
    function (e) {
      if (__cx_outcome === "pending") {
        __cx_outcome = "fault";
        __cx_value = e;
      }
    }
  );
};

return { finish: __cx_finishEnvelope, returned: __cx_returned };
