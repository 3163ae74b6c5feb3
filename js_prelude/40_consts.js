"use strict";
// consts: the platform's constant groups (scripting-core.md section 15; a prelude
// unit, see 00_bridge.js).

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

const consts = __cx_deepFreeze({
  emptyId: __cx_id(0),
  connectionStates: { pending: 0, active: 1 },
  accountStates: { unverified: "unverified", verified: "verified" },
  objects: {},
  audits: {
    operations: { set: 1, remove: 2, push: 3, pull: 4, delete: 5, access: 9 },
    categories: {},
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
  roles: {
    administrator: __cx_id(4),
    Administrator: __cx_id(4),
    admin: __cx_id(4),
    provider: __cx_id(5),
    Provider: __cx_id(5),
    support: __cx_id(6),
    Support: __cx_id(6),
    developer: __cx_id(7),
    Developer: __cx_id(7),
  },
  serviceAccounts: {},
  principals: { anonymous: __cx_id(1), public: __cx_id(3) },
  notifications: {
    endpoints: {
      email: new ObjectID("456e64706f696e7420456d6c"),
      sms: new ObjectID("456e64706f696e7420536d73"),
      push: new ObjectID("456e64706f696e7420507368"),
    },
    states: { enabled: 0, disabled: 1, user: 2 },
    types: {},
  },
});

({ consts: consts });
