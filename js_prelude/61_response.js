"use strict";
// require('response'): a prelude unit (see 00_bridge.js), loaded by the first require of it
// (60_modules.js). The run's final envelope carries what it holds (95_finish.js, responseText);
// a run that never loaded it wrote no response.
// The HTTP response of the request that started the run (modules.md section 13): status, headers,
// cookies and body chunks, handed to the host with the result (responseText). A layered route
// starts from what the earlier layers wrote (request.response). Once the body is started or
// the response ended, headers, status and cookies are fixed (script.error.headersWritten).
// Outside an HTTP request, and for other script types, every method does nothing and returns false.

const __cx_RESPONSE_TYPES = ["route", "policy", "transform", "trigger"];
const __cx_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const __cx_BLOCKED_HEADERS = [
  "access-control-allow-origin", "connection", "date", "proxy-authenticate", "public-key-pins", "server",
  "set-cookie", "strict-transport-security", "trailer", "tsv", "upgrade", "vary", "via", "warning",
];

let __cx_response = null;

// The response state, made on first use: null when the run has no response to write.
const __cx_responseState = function () {
  if (__cx_response) return __cx_response;
  const config = __cx_config();
  if (!config.request || __cx_RESPONSE_TYPES.indexOf(config.type) < 0) return null;
  const earlier = config.request.response || {};
  const headers = Object.assign({}, earlier.headers || {});
  let cookies = [];
  if (typeof headers["set-cookie"] === "string") {
    cookies = __cx_parse(headers["set-cookie"]);
    delete headers["set-cookie"];
  }
  __cx_response = {
    status: typeof earlier.status === "number" ? earlier.status : null,
    headers: headers,
    cookies: cookies,
    chunks: typeof earlier.body === "string" && earlier.body ? [earlier.body] : [],
    ended: false,
  };
  return __cx_response;
};

const __cx_headersOpen = function (state) {
  if (state.chunks.length || state.ended) {
    throw Fault.create("script.error.headersWritten", { reason: "The response headers have already been written." });
  }
};

const __cx_headerValue = function (value) {
  const text = __cx_isArray(value) ? value.map(String).join(", ") : String(value);
  if (/[\r\n\0]/.test(text)) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid response header value." });
  return text;
};

const __cx_reservedCookie = function (name) {
  const lowered = name.toLowerCase();
  return lowered.indexOf("md") === 0 || lowered.indexOf("medable") === 0;
};

// A cookie name as both modules check it.
const __cx_cookieName = function (name) {
  if (typeof name !== "string" || !name.trim()) throw Fault.create("kInvalidArgument", { reason: "Missing cookie name" });
  if (__cx_reservedCookie(name)) throw Fault.create("kAccessDenied", { reason: "md and medable cookies are reserved." });
  return name;
};

const __cx_responseModule = Object.freeze({
  setHeader: function setHeader(name, value) {
    const state = __cx_responseState();
    if (!state || value === undefined) return false;
    const key = typeof name === "string" ? name.trim().toLowerCase() : "";
    if (!key || !__cx_HEADER_NAME.test(key)) {
      throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid response header name: " + String(name) });
    }
    if (__cx_BLOCKED_HEADERS.indexOf(key) >= 0 || key.indexOf("medable-") === 0 || key.indexOf("md-") === 0) {
      throw Fault.create("cortex.accessDenied.unspecified", { reason: "Header " + key + " cannot be set." });
    }
    __cx_headersOpen(state);
    state.headers[key] = __cx_headerValue(value);
    return true;
  },
  // An object of name -> value, or an array of [name, value] pairs.
  setHeaders: function setHeaders(headers) {
    if (headers === null || typeof headers !== "object") {
      throw Fault.create("cortex.invalidArgument.unspecified", { reason: "setHeaders expects an object or an array of [name, value] pairs." });
    }
    const pairs = __cx_isArray(headers) ? headers : Object.keys(headers).map(function (name) { return [name, headers[name]]; });
    for (const pair of pairs) {
      if (!__cx_isArray(pair)) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "setHeaders expects [name, value] pairs." });
      __cx_responseModule.setHeader(pair[0], pair[1]);
    }
  },
  // An integer is clamped to 100-999; anything else is 200.
  setStatusCode: function setStatusCode(code) {
    const state = __cx_responseState();
    if (!state) return false;
    __cx_headersOpen(state);
    state.status = Number.isInteger(code) ? Math.min(999, Math.max(100, code)) : 200;
    return true;
  },
  write: function write(data) {
    const state = __cx_responseState();
    if (!state) return false;
    if (state.ended) throw Fault.create("script.error.headersWritten", { reason: "The response has ended." });
    const text = typeof data === "string" ? data : String(data);
    if (text) state.chunks.push(text);
    return true;
  },
  end: function end(data) {
    const state = __cx_responseState();
    if (!state || state.ended) return false;
    if (data !== undefined && data !== null) __cx_responseModule.write(data);
    state.ended = true;
    return true;
  },
  // The host answers once the script has finished, so there is nothing to continue: true.
  writeContinue: function writeContinue() {
    return !!__cx_responseState();
  },
  // Options: signed, secure, httpOnly (false), maxAge (ms; a session cookie without it).
  // The cookie's path is /<orgCode>; a null or undefined value clears it.
  setCookie: function setCookie(name, value, options) {
    const state = __cx_responseState();
    if (!state) return false;
    __cx_cookieName(name);
    __cx_headersOpen(state);
    const opts = options !== null && typeof options === "object" ? options : {};
    state.cookies.push({
      name: name.trim(),
      value: value === null || value === undefined ? null : String(value),
      path: "/" + __cx_config().org.code,
      maxAge: Number.isInteger(opts.maxAge) ? opts.maxAge : null,
      signed: opts.signed === true,
      secure: opts.secure === true,
      httpOnly: opts.httpOnly === true,
    });
    return true;
  },
  clearCookie: function clearCookie(name, options) {
    return __cx_responseModule.setCookie(name, null, options);
  },
  // redirect(url) or redirect(status, url[, body]): 302 by default; ends the response.
  redirect: function redirect(status, url, body) {
    if (typeof status !== "number") {
      body = url;
      url = status;
      status = 302;
    }
    if (typeof url !== "string" || !url) throw Fault.create("cortex.invalidArgument.unspecified", { reason: "redirect expects a url." });
    if (!__cx_responseState()) return false;
    __cx_responseModule.setStatusCode(status);
    __cx_responseModule.setHeader("location", url);
    const method = (__cx_config().request || {}).method;
    __cx_responseModule.end(method === "HEAD" ? undefined : body);
  },
});

// The response as the host needs it, or "" when the script wrote none. Cookies travel as
// the JSON text of a set-cookie header, a name setHeader refuses (server/app.py reads it).
const __cx_responseText = function () {
  const r = __cx_response;
  if (!r) return "";
  if (r.status === null && !r.chunks.length && !r.ended && !r.cookies.length && !Object.keys(r.headers).length) return "";
  const headers = Object.assign({}, r.headers);
  if (r.cookies.length) headers["set-cookie"] = __cx_stringify(r.cookies);
  const body = r.chunks.length || r.ended ? r.chunks.join("") : null;
  return ',"res":' + __cx_stringify({ status: r.status, headers: headers, body: body });
};

return { module: __cx_responseModule, responseText: __cx_responseText, cookieName: __cx_cookieName };
