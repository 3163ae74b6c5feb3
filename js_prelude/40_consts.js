"use strict";
// consts: the platform's constant groups (scripting-core.md section 15; a prelude
// unit, see 00_bridge.js). Read-only: every group is frozen.
//
// The org's own groups (roles, serviceAccounts, objects) are asked of the host when a
// script first reads them (commands script.roles and script.objects, see
// cortex_runtime/modules/script.py), once per run; what a run got does not change
// during it. A run without an org (or without that host module) sees the built-ins.

const __cx_hex = __cx_unit("objectid").hex;

const __cx_id = function (n) {
  return new ObjectID("0000000000000000000000" + __cx_hex(n, 2));
};

const __cx_deepFreeze = function (value) {
  if (value && typeof value === "object" && !(value instanceof ObjectID) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) __cx_deepFreeze(value[key]);
  }
  return value;
};

// A host answer, or `fallback` when the host has no such command or no org. Limits are
// never swallowed.
const __cx_askHost = function (name, fallback) {
  try {
    return __cx_unit("codec").call(name, []);
  } catch (e) {
    __cx_c(e);
    return fallback;
  }
};

// ---- roles ---------------------------------------------------------------------

const __cx_builtinRoles = function () {
  const admin = __cx_id(4);
  const provider = __cx_id(5);
  const support = __cx_id(6);
  const developer = __cx_id(7);
  const codes = {};
  codes[String(admin)] = "administrator";
  codes[String(provider)] = "provider";
  codes[String(support)] = "support";
  codes[String(developer)] = "developer";
  const includes = {};
  includes[String(admin)] = [developer, support];
  return {
    roles: {
      administrator: admin,
      provider: provider,
      support: support,
      developer: developer,
      Administrator: admin,
      Provider: provider,
      Support: support,
      Developer: developer,
      admin: admin,
    },
    serviceAccounts: {},
    codes: codes,
    includes: includes,
  };
};

let __cx_orgRoles = null;
const __cx_roleInfo = function () {
  if (__cx_orgRoles === null) __cx_orgRoles = __cx_deepFreeze(__cx_askHost("script.roles", null) || __cx_builtinRoles());
  return __cx_orgRoles;
};

let __cx_orgObjects = null;
const __cx_objects = function () {
  if (__cx_orgObjects === null) __cx_orgObjects = __cx_deepFreeze(__cx_askHost("script.objects", null) || {});
  return __cx_orgObjects;
};

// A role (ObjectID, id string, code or name) as an id string; null when the org has none
// such. Built-in codes match in any case, as the platform's role lookup does.
const __cx_roleId = function (role) {
  if (role instanceof ObjectID) return String(role);
  if (typeof role !== "string" || !role) return null;
  if (ObjectID.isValid(role)) return role.toLowerCase();
  const roles = __cx_roleInfo().roles;
  if (__cx_hasOwn.call(roles, role)) return String(roles[role]);
  const lower = role.toLowerCase();
  return __cx_hasOwn.call(roles, lower) ? String(roles[lower]) : null;
};

// Role ids (ObjectIDs or strings) expanded through the org's includes, as id strings.
const __cx_expandRoles = function (roles) {
  const includes = __cx_roleInfo().includes;
  const out = [];
  const pending = __cx_isArray(roles) ? roles.slice() : [];
  while (pending.length) {
    const id = String(pending.pop());
    if (out.indexOf(id) !== -1) continue;
    out.push(id);
    if (__cx_hasOwn.call(includes, id)) {
      for (const included of includes[id]) pending.push(included);
    }
  }
  return out;
};

// The codes of roles (expanded), sorted; the id string where a role has no code.
const __cx_roleCodes = function (roles) {
  const codes = __cx_roleInfo().codes;
  return __cx_expandRoles(roles)
    .map(function (id) {
      return __cx_hasOwn.call(codes, id) ? codes[id] : id;
    })
    .sort();
};

// ---- the groups ------------------------------------------------------------------

const __cx_category = function (label) {
  return { label: label, subs: {} };
};

const __cx_static = {
  emptyId: __cx_id(0),
  connectionStates: { pending: 0, active: 1 },
  accountStates: { unverified: "unverified", verified: "verified" },
  audits: {
    operations: { set: 1, remove: 2, push: 3, pull: 4, delete: 5, access: 9 },
    // The category keys are the platform's; their labels are inferred, except user's "Custom".
    categories: {
      notifications: __cx_category("Notifications"),
      account: __cx_category("Account"),
      authentication: __cx_category("Authentication"),
      configuration: __cx_category("Configuration"),
      user: __cx_category("Custom"),
      deployment: __cx_category("Deployment"),
      export: __cx_category("Export"),
      room: __cx_category("Room"),
      developer: __cx_category("Developer"),
      support: __cx_category("Support"),
      metadata: __cx_category("Metadata"),
    },
  },
  logs: {
    sources: { logger: 0, api: 1, script: 2, request: 3, reserved: 4, deployment: 5, export: 6, notification: 7, policy: 8 },
    levels: { error: 0, warn: 1, info: 2, debug: 3, trace: 4 },
  },
  stats: {
    sources: { request: 0, fileStorage: 1, docStorage: 2, logins: 3, accounts: 4, scripts: 5, notifications: 6, cacheStorage: 7, roomUsage: 8 },
    locations: { medable: 1, s3: 2 },
  },
  media: { states: { pending: 0, processing: 1, ready: 2, error: 3, dead: 4 } },
  http: {
    methods: { GET: 0, POST: 1, PUT: 2, DELETE: 3, HEAD: 4, OPTIONS: 5, PATCH: 6 },
    methodsLookup: ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"],
  },
  accessTargets: { account: 1, role: 3 },
  accessPrincipals: { self: 2, creator: 3, owner: 4 },
  accessLevels: { public: 1, connected: 2, read: 4, share: 5, update: 6, delete: 7, script: 8 },
  accessTypes: { account: 1, self: 2, role: 3, owner: 4, access: 5 },
  events: {
    states: { scheduled: 0, pending: 1, processing: 2, completed: 3, failed: 4, skipped: 5 },
    retention: { never: 0, failed: 1, completed: 2, skipped: 4 },
  },
  principals: { anonymous: __cx_id(1), public: __cx_id(3) },
  notifications: {
    endpoints: {
      email: new ObjectID("456e64706f696e7420456d6c"),
      sms: new ObjectID("456e64706f696e7420536d73"),
      push: new ObjectID("456e64706f696e7420507368"),
    },
    states: { enabled: 0, disabled: 1, user: 2 },
    // No notification templates exist here yet, built-in or the org's.
    types: {},
  },
};
__cx_deepFreeze(__cx_static);

// The org's groups are getters on the frozen object: they cannot be replaced either.
const __cx_lazy = {
  objects: __cx_objects,
  roles: function () {
    return __cx_roleInfo().roles;
  },
  serviceAccounts: function () {
    return __cx_roleInfo().serviceAccounts;
  },
};

const consts = {};
const __cx_ORDER = [
  "emptyId", "connectionStates", "accountStates", "objects", "audits", "logs", "stats", "media", "http",
  "accessTargets", "accessPrincipals", "accessLevels", "accessTypes", "events", "roles", "serviceAccounts",
  "principals", "notifications",
];
for (const key of __cx_ORDER) {
  if (__cx_hasOwn.call(__cx_lazy, key)) Object.defineProperty(consts, key, { enumerable: true, get: __cx_lazy[key] });
  else Object.defineProperty(consts, key, { enumerable: true, value: __cx_static[key] });
}
Object.freeze(consts);

return { consts: consts, roleId: __cx_roleId, expandRoles: __cx_expandRoles, roleCodes: __cx_roleCodes };
