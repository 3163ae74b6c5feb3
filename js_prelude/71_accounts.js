"use strict";
// The accounts class (scripting-core.md section 6, modules/accounts.py): its statics (sign-in,
// registration, provisioning and auth tokens) and the principal's inAuthScope. Mixed into the
// account class by 70_objects.js.
const __cx_call = __cx_unit("codec").call;
const idOf = function (value) {
  return value !== null && typeof value === "object" && value._id !== undefined ? value._id : value;
};
const text = function (value) {
  if (value === undefined || value === null) return null;
  return typeof value === "object" && typeof value.message === "string" ? value.message : String(value);
};
const methods = {
  // script.principal.inAuthScope(scope, matchPrefix = true): against the running principal's
  // token scope; a principal without one (no token) has every scope.
  inAuthScope(scopeString, matchPrefix) {
    return __cx_call("accounts.principalInAuthScope", [this._id, scopeString, matchPrefix === undefined ? true : !!matchPrefix]);
  },
};
const statics = {
  failAuth(email, err) {
    __cx_call("accounts.failAuth", [email, text(err)]);
  },
  preAuth(email) {
    return __cx_call("accounts.preAuth", [email]);
  },
  login(payload, options) {
    return __cx_call("accounts.login", [payload, options || {}]);
  },
  register(payload, options) {
    return __cx_call("accounts.register", [payload, options || {}]);
  },
  provision(payload, options) {
    return __cx_call("accounts.provision", [payload, options || {}]);
  },
  createAuthToken(apiKey, subject, options) {
    return __cx_call("accounts.createAuthToken", [apiKey, idOf(subject), options || {}]);
  },
  decodeAuthToken(token) {
    return __cx_call("accounts.decodeAuthToken", [token]);
  },
  authorizeToken(token) {
    return __cx_call("accounts.authorizeToken", [token]);
  },
  revokeAuthToken(tokenOrId) {
    return __cx_call("accounts.revokeAuthToken", [tokenOrId]);
  },
  getSubjectTokens(apiKey, subject) {
    return __cx_call("accounts.getSubjectTokens", [apiKey, idOf(subject)]);
  },
  revokeSubjectTokens(apiKey, subject) {
    return __cx_call("accounts.revokeSubjectTokens", [apiKey, idOf(subject)]);
  },
  compileAuthScope(scopes) {
    return __cx_call("accounts.compileAuthScope", [scopes]);
  },
  optimizeAuthScope(scopes) {
    return __cx_call("accounts.optimizeAuthScope", [scopes]);
  },
  logout() {
    return __cx_call("accounts.logout", []);
  },
  attemptAuth() {
    return __cx_call("accounts.attemptAuth", []);
  },
  createPasswordResetToken() {
    return __cx_call("accounts.createPasswordResetToken", []);
  },
  inAuthScope(compiledScope, scopeString, matchPrefix) {
    return __cx_call("accounts.inAuthScope", [compiledScope === undefined ? null : compiledScope, scopeString, matchPrefix === undefined ? true : !!matchPrefix]);
  },
};
return { statics: statics, methods: methods };
