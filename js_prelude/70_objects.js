"use strict";
// CortexObject, org.objects, cursors and operations (scripting-core.md section 5,
// cursors-operations.md; a prelude unit, see 00_bridge.js, loaded when a run first
// touches one of them). This file only builds plain option objects; the object
// layer in the host does the work. Host calls:
//   objects.resolve [name]                           -> {name} (canonical singular) | null
//   objects.cursor.open [options]                    -> {cursor, buffer, done}
//   objects.cursor.fetch [cursorId, count]           -> {buffer, done}
//   objects.cursor.close [cursorId]
//   objects.cursor.list [options]                    -> {object: 'list', data, hasMore}
//   objects.cursor.count [options]                   -> Number
//   objects.cursor.pathRead [options, path, {throwNotFound}]
//   objects.execute [options]                        -> the operation's result
// Cursor options carry operation 'cursor', 'aggregate' or 'bulk'; passthru() opens
// with `passthru: true` (the host keeps every document for the API to stream).
// The path writes of UpdateOperation execute as operation 'pathUpdate', 'pathPush',
// 'pathPatch' or 'pathDelete' with `match`, `path` and (except delete) `body`.

// ---- helpers ---------------------------------------------------------------

const __cx_call = __cx_unit("codec").call;

// Builder state lives here, out of the scripts' reach.
const __cx_states = new WeakMap();

const __cx_stateOf = function (self) {
  const state = __cx_states.get(self);
  if (!state) throw new TypeError("Illegal invocation");
  return state;
};

// Every builder method sets one option and returns its receiver.
const __cx_set = function (self, key, value) {
  __cx_stateOf(self).options[key] = value;
  return self;
};

const __cx_isSet = function (value) {
  return value !== null && value !== undefined;
};

// Copies the keys of `source` whose values are set into `into`.
const __cx_compact = function (source, into) {
  for (const key of Object.keys(source)) {
    if (__cx_isSet(source[key])) into[key] = source[key];
  }
  return into;
};

const __cx_clamp = function (value, min, max, fallback) {
  const n = Math.floor(Number(value));
  if (!Number.isFinite(n)) return fallback;
  return Math.min(max, Math.max(min, n));
};

// paths('a', 'b') and paths(['a', 'b']) are the same.
const __cx_flatten = function (args) {
  const out = [];
  for (const arg of args) {
    if (__cx_isArray(arg)) out.push(...arg);
    else if (__cx_isSet(arg)) out.push(arg);
  }
  return out;
};

const __cx_pathList = function (args) {
  const list = __cx_flatten(args).map(String);
  return list.length ? list : null;
};

const __cx_optionalString = function (value) {
  return __cx_isSet(value) ? String(value) : null;
};

// grant() takes a level number or its name in consts.accessLevels.
const __cx_grantLevel = function (level) {
  if (!__cx_isSet(level)) return null;
  if (typeof level === "string" && __cx_hasOwn.call(consts.accessLevels, level)) return consts.accessLevels[level];
  const n = Number(level);
  return Number.isFinite(n) ? n : level;
};

const __cx_maxTimeMS = function (ms) {
  return __cx_clamp(ms, 10, 30000, 10000);
};

const __cx_sameId = function (a, b) {
  return __cx_isSet(a) && __cx_isSet(b) && String(a) === String(b);
};

// Defines methods the way a class body does (non-enumerable).
const __cx_mixin = function (proto, methods) {
  for (const name of Object.keys(methods)) {
    Object.defineProperty(proto, name, { value: methods[name], writable: true, configurable: true, enumerable: false });
  }
};

// setOptions(user, privileged) calls the same-named methods: user options from
// either argument, privileged ones only from the second (cursors-operations.md section 5).
const __cx_USER_OPTIONS = [
  "passive", "dryRun", "locale", "document", "documents", "match", "update", "ops", "where", "pipeline",
  "paths", "include", "expand", "sort", "skip", "limit", "batchSize", "access", "maxTimeMS", "lean",
  "merge", "mergeDocuments", "path", "pathPrefix", "throwNotFound", "engine", "explain",
];
const __cx_PRIVILEGED_OPTIONS = [
  "grant", "roles", "skipAcl", "bypassCreateAcl", "isUnmanaged", "disableTriggers", "transform", "async",
  "crossOrg", "strict", "indexed", "through", "expressionPipeline", "nativePipeline",
];

const __cx_setOptions = function (self, user, privileged) {
  const apply = function (source, names) {
    if (!source || typeof source !== "object") return;
    for (const key of Object.keys(source)) {
      if (names.indexOf(key) !== -1 && typeof self[key] === "function") self[key](source[key]);
    }
  };
  apply(user, __cx_USER_OPTIONS);
  apply(privileged, __cx_USER_OPTIONS);
  apply(privileged, __cx_PRIVILEGED_OPTIONS);
  return self;
};

// ---- object names ----------------------------------------------------------

// Name as given (lower-cased) -> canonical object name, for this run.
const __cx_objectNames = new Map();

const __cx_resolveName = function (name) {
  if (typeof name !== "string" || name === "") {
    throw Fault.create("cortex.invalidArgument.object", {
      code: "kInvalidObject",
      message: "Invalid or unknown object.",
      path: String(name),
    });
  }
  const key = name.toLowerCase();
  if (!__cx_objectNames.has(key)) {
    const found = __cx_call("objects.resolve", [name]);
    const resolved = found && typeof found.name === "string" ? found.name : key;
    __cx_objectNames.set(key, resolved);
    if (found && typeof found.library === "string") __cx_objectLibraries.set(resolved, found.library);
  }
  return __cx_objectNames.get(key);
};

// Objects bound to a class with @object('name') in a library: that class is org.objects.<name>.
const __cx_objectLibraries = new Map();
const __cx_boundClass = function (objectName) {
  const library = __cx_objectLibraries.get(objectName);
  if (!library) return null;
  require(library);
  const cls = require("decorators").boundClass(objectName);
  if (!cls) return null;
  if (!(cls.prototype instanceof CortexObject)) {
    throw Fault.create("script.invalidArgument.unspecified", { reason: cls.name + " must extend CortexObject." });
  }
  __cx_classNames.set(cls, objectName);
  return cls;
};

// ---- cursors ---------------------------------------------------------------

const __cx_take = function (state, reply) {
  const docs = reply && __cx_isArray(reply.buffer) ? reply.buffer : [];
  for (const doc of docs) state.buffer.push(doc);
  if (reply && reply.done) {
    state.done = true;
  } else if (state.cursorId === null || docs.length === 0) {
    // Nothing more will come: free the server cursor instead of asking forever.
    __cx_closeServerCursor(state);
  }
};

const __cx_closeServerCursor = function (state) {
  if (state.opened && !state.done && state.cursorId !== null) __cx_call("objects.cursor.close", [state.cursorId]);
  state.done = true;
};

const __cx_openCursor = function (self, state, passthru) {
  const options = self.getOptions();
  if (passthru) options.passthru = true;
  const reply = __cx_call("objects.cursor.open", [options]);
  state.opened = true;
  state.cursorId = reply && __cx_isSet(reply.cursor) ? reply.cursor : null;
  if (passthru) state.done = !!(reply && reply.done);
  else __cx_take(state, reply);
};

const __cx_hasNext = function (self) {
  const state = __cx_stateOf(self);
  if (state.closed) return false;
  if (!state.opened) __cx_openCursor(self, state, false);
  while (state.buffer.length === 0 && !state.done) {
    const count = state.options.batchSize || 100;
    __cx_take(state, __cx_call("objects.cursor.fetch", [state.cursorId, count]));
  }
  return state.buffer.length > 0;
};

// A document as a CortexObject instance, for cursors with wrap().
const __cx_wrapDocument = function (doc, objectName) {
  if (!doc || typeof doc !== "object") return doc;
  const context = Object.assign({ object: objectName }, doc);
  return CortexObject.from(context);
};

// Iteration and output: what QueryCursor, AggregationCursor and BulkOperation share.
const __cx_BufferedCursor = class BufferedCursor {
  constructor(options) {
    __cx_states.set(this, {
      options: options,
      buffer: [],
      cursorId: null,
      opened: false,
      done: false,
      closed: false,
      wrap: false,
    });
  }

  hasNext() {
    return __cx_hasNext(this);
  }

  next() {
    if (!__cx_hasNext(this)) throw new RangeError("Iterator out of bounds.");
    const state = __cx_stateOf(this);
    const doc = state.buffer.shift();
    return state.wrap ? __cx_wrapDocument(doc, state.options.object) : doc;
  }

  [Symbol.iterator]() {
    const cursor = this;
    return {
      next: function () {
        return cursor.hasNext() ? { value: cursor.next(), done: false } : { done: true };
      },
      [Symbol.iterator]: function () {
        return this;
      },
    };
  }

  forEach(fn) {
    while (this.hasNext()) fn(this.next());
  }

  map(fn) {
    const out = [];
    while (this.hasNext()) out.push(fn(this.next()));
    return out;
  }

  reduce(fn, memo) {
    while (this.hasNext()) memo = fn(memo, this.next());
    return memo;
  }

  toArray() {
    return this.map(function (doc) {
      return doc;
    });
  }

  find(fn) {
    while (this.hasNext()) {
      const doc = this.next();
      if (fn(doc)) return doc;
    }
    return undefined;
  }

  filter(fn) {
    const out = [];
    while (this.hasNext()) {
      const doc = this.next();
      if (fn(doc)) out.push(doc);
    }
    return out;
  }

  // Opens the server cursor without reading from it; a route that returns this
  // descriptor has the API stream the results.
  passthru() {
    const state = __cx_stateOf(this);
    if (!state.opened) __cx_openCursor(this, state, true);
    return { object: "cursor", _id: state.cursorId };
  }

  // Writes the results as a JSON list straight into the route's response (section 4).
  stream(fnEach, fnMap) {
    const response = require("response");
    const each = typeof fnEach === "function" ? fnEach : null;
    const map = typeof fnMap === "function" ? fnMap : null;
    response.setHeader("Content-Type", "application/json");
    let chunk = '{ "data": [';
    let total = 0;
    try {
      let hasMore = false;
      while (this.hasNext()) {
        const item = this.next();
        const json = __cx_stringify(map ? map(item) : item);
        chunk += (total > 0 ? "," : "") + (json === undefined ? "null" : json);
        total++;
        if (chunk.length >= 100 * 1024) {
          response.write(chunk);
          chunk = "";
        }
        if (each && each(item, total) === false) {
          hasMore = this.hasNext();
          break;
        }
      }
      chunk += '], "object": "list", "hasMore": ' + (hasMore ? "true" : "false") + "}";
    } catch (err) {
      __cx_c(err);
      const e = err && typeof err === "object" ? err : { message: String(err) };
      chunk +=
        '], "object": "fault", "errCode": ' + __cx_stringify(String(e.errCode || "cortex.error.unspecified")) +
        ', "code": ' + __cx_stringify(String(e.code || "kError")) +
        ', "reason": ' + __cx_stringify(String(e.reason || e.message || "Error")) + "}";
    }
    this.close();
    response.write(chunk);
  }

  close() {
    const state = __cx_stateOf(this);
    __cx_closeServerCursor(state);
    state.closed = true;
    state.buffer = [];
    return this;
  }

  isClosed() {
    const state = __cx_stateOf(this);
    return state.closed || (state.opened && state.done && state.buffer.length === 0);
  }
};

// The query options QueryCursor and AggregationCursor share (section 1).
const __cx_Cursor = class Cursor extends __cx_BufferedCursor {
  constructor(object, operation, payload) {
    super(Object.assign({ object: object, operation: operation }, payload, { batchSize: 100, maxTimeMS: 10000 }));
  }

  object(name) {
    return __cx_set(this, "object", __cx_resolveName(name));
  }

  access(level) {
    return __cx_set(this, "access", __cx_clamp(level, 1, 8, 1));
  }

  accessLevel(level) {
    return this.access(level);
  }

  batchSize(size) {
    return __cx_set(this, "batchSize", __cx_clamp(size, 1, 100, 100));
  }

  grant(level = null) {
    return __cx_set(this, "grant", __cx_grantLevel(level));
  }

  skipAcl(v = true) {
    return __cx_set(this, "skipAcl", Boolean(v));
  }

  roles(...ids) {
    const list = __cx_flatten(ids);
    return __cx_set(this, "roles", list.length ? list : null);
  }

  maxTimeMS(ms) {
    return __cx_set(this, "maxTimeMS", __cx_maxTimeMS(ms));
  }

  maxTimeMs(ms) {
    return this.maxTimeMS(ms);
  }

  locale(identifier) {
    return __cx_set(this, "locale", __cx_optionalString(identifier));
  }

  pathPrefix(path = null) {
    return __cx_set(this, "pathPrefix", __cx_optionalString(path));
  }

  prefix(path = null) {
    return this.pathPrefix(path);
  }

  crossOrg(v = true) {
    return __cx_set(this, "crossOrg", Boolean(v));
  }

  strict(v = true) {
    return __cx_set(this, "strict", Boolean(v));
  }

  indexed(v = true) {
    return __cx_set(this, "unindexed", !v);
  }

  engine(v = "stable") {
    return __cx_set(this, "engine", v);
  }

  through(path) {
    return __cx_set(this, "through", __cx_optionalString(path));
  }

  transform(spec) {
    return __cx_set(this, "transform", spec);
  }

  expressionPipeline(v) {
    return __cx_set(this, "expressionPipeline", v);
  }

  getOptions() {
    return __cx_compact(__cx_stateOf(this).options, {});
  }

  setOptions(userOptions = {}, privilegedOptions = {}) {
    return __cx_setOptions(this, userOptions, privilegedOptions);
  }

  // A separate list request: one page of `limit` documents (the host applies the default of 10
  // and the list rules, so a pipeline's trailing $limit can stand in for an unset limit).
  toList() {
    const options = this.getOptions();
    return __cx_call("objects.cursor.list", [options]);
  }
};

const __cx_QueryCursor = class QueryCursor extends __cx_Cursor {
  constructor(object, where) {
    super(object, "cursor", { where: where });
  }

  where(filter) {
    return __cx_set(this, "where", filter);
  }

  passive(v = true) {
    return __cx_set(this, "passive", Boolean(v));
  }

  sort(spec) {
    return __cx_set(this, "sort", spec);
  }

  skip(count) {
    return __cx_set(this, "skip", count);
  }

  limit(count) {
    return __cx_set(this, "limit", count);
  }

  explain(v = true) {
    return __cx_set(this, "explain", Boolean(v));
  }

  wrap(v = true) {
    __cx_stateOf(this).wrap = Boolean(v);
    return this;
  }

  count() {
    return __cx_call("objects.cursor.count", [this.getOptions()]);
  }

  // The value at `path` in the first matching document.
  pathRead(path, options) {
    const throwNotFound = options && __cx_isSet(options.throwNotFound) ? Boolean(options.throwNotFound) : true;
    return __cx_call("objects.cursor.pathRead", [this.getOptions(), path, { throwNotFound: throwNotFound }]);
  }
};

const __cx_AggregationCursor = class AggregationCursor extends __cx_Cursor {
  constructor(object, pipeline) {
    super(object, "aggregate", { pipeline: __cx_isArray(pipeline) ? pipeline.slice() : [] });
  }

  // Stage methods append in call order: limit(5).sort(x) is not sort(x).limit(5).
  match(spec) {
    return __cx_addStage(this, "$match", spec);
  }

  project(spec) {
    return __cx_addStage(this, "$project", spec);
  }

  group(spec) {
    return __cx_addStage(this, "$group", spec);
  }

  sort(spec) {
    return __cx_addStage(this, "$sort", spec);
  }

  skip(count) {
    return __cx_addStage(this, "$skip", count);
  }

  limit(count) {
    if (count === false || count === undefined) return __cx_set(this, "limit", count);
    return __cx_addStage(this, "$limit", count);
  }

  unwind(prop) {
    return __cx_addStage(this, "$unwind", prop);
  }

  addFields(spec) {
    return __cx_addStage(this, "$addFields", spec);
  }

  pipeline(stages) {
    return __cx_set(this, "pipeline", __cx_isArray(stages) ? stages.slice() : []);
  }

  native(v) {
    return __cx_set(this, "nativePipeline", v);
  }

  nativePipeline(v) {
    return this.native(v);
  }
};

const __cx_addStage = function (cursor, name, value) {
  const stage = {};
  stage[name] = value;
  __cx_stateOf(cursor).options.pipeline.push(stage);
  return cursor;
};

// ---- operations ------------------------------------------------------------

// The options every operation has (section 5). BulkOperation gets them too.
const __cx_operationMethods = {
  object(name) {
    __cx_stateOf(this).object = __cx_resolveName(name);
    return this;
  },
  skipAcl(v = true) {
    return __cx_set(this, "skipAcl", Boolean(v));
  },
  grant(level = null) {
    return __cx_set(this, "grant", __cx_grantLevel(level));
  },
  roles(...ids) {
    const list = __cx_flatten(ids);
    return __cx_set(this, "roles", list.length ? list : null);
  },
  crossOrg(v = true) {
    return __cx_set(this, "crossOrg", Boolean(v));
  },
  dryRun(v = true) {
    return __cx_set(this, "dryRun", Boolean(v));
  },
  passive(v = true) {
    return __cx_set(this, "passive", Boolean(v));
  },
  locale(identifier) {
    return __cx_set(this, "locale", __cx_optionalString(identifier));
  },
  through(path = "") {
    return __cx_set(this, "through", path ? String(path) : null);
  },
  setOptions(userOptions = {}, privilegedOptions = {}) {
    return __cx_setOptions(this, userOptions, privilegedOptions);
  },
  execute() {
    return __cx_call("objects.execute", [this.getOptions()]);
  },
};

// State: the object name, the operation name, options (only set ones are sent)
// and the payload (document, documents, match, update, ops, where).
const __cx_Operation = class Operation {
  constructor(object, operation, payload) {
    __cx_states.set(this, { object: object, operation: operation, options: {}, payload: payload });
  }

  getOptions() {
    const state = __cx_stateOf(this);
    const out = __cx_compact(state.options, { object: state.object, operation: state.operation });
    return __cx_compact(state.payload, out);
  }
};
__cx_mixin(__cx_Operation.prototype, __cx_operationMethods);

const __cx_setPayload = function (self, key, value) {
  __cx_stateOf(self).payload[key] = value;
  return self;
};

const __cx_WriteOneOperation = class WriteOneOperation extends __cx_Operation {
  // Choosing what comes back means the document comes back, not just its _id.
  paths(...props) {
    __cx_set(this, "lean", false);
    return __cx_set(this, "paths", __cx_pathList(props));
  }

  include(...props) {
    __cx_set(this, "lean", false);
    return __cx_set(this, "include", __cx_pathList(props));
  }

  lean(v = true) {
    return __cx_set(this, "lean", v === "modified" ? "modified" : Boolean(v));
  }

  isUnmanaged(v = true) {
    return __cx_set(this, "isUnmanaged", Boolean(v));
  }

  disableTriggers(v = true) {
    return __cx_set(this, "disableTriggers", Boolean(v));
  }
};

const __cx_WriteManyOperation = class WriteManyOperation extends __cx_Operation {
  isUnmanaged(v = true) {
    return __cx_set(this, "isUnmanaged", Boolean(v));
  }

  disableTriggers(v = true) {
    return __cx_set(this, "disableTriggers", Boolean(v));
  }
};

const __cx_InsertOperation = class InsertOperation extends __cx_WriteOneOperation {
  constructor(object, document) {
    super(object, "insertOne", { document: document });
  }

  bypassCreateAcl(v = true) {
    return __cx_set(this, "bypassCreateAcl", Boolean(v));
  }

  document(doc) {
    return __cx_setPayload(this, "document", doc);
  }
};

const __cx_InsertManyOperation = class InsertManyOperation extends __cx_WriteManyOperation {
  constructor(object, documents) {
    super(object, "insertMany", { documents: [] });
    this.documents(documents);
  }

  bypassCreateAcl(v = true) {
    return __cx_set(this, "bypassCreateAcl", Boolean(v));
  }

  documents(docs) {
    const list = docs === undefined ? [] : __cx_isArray(docs) ? docs : [docs];
    return __cx_setPayload(this, "documents", list);
  }
};

// through() and a path prefix contradict each other (section 8).
const __cx_checkThroughAndPath = function (options) {
  if (__cx_isSet(options.through) && __cx_isSet(options.path)) {
    throw new TypeError("through() and pathPrefix cannot be used together.");
  }
  return options;
};

const __cx_setPathPrefix = function (self, path) {
  const value = __cx_optionalString(path);
  const options = __cx_stateOf(self).options;
  if (value !== null && !__cx_isSet(options.lean)) options.lean = false;
  return __cx_set(self, "path", value);
};

// pathUpdate/pathPush/pathPatch/pathDelete: an immediate write at a sub-path of the
// matched instance, below the operation's pathPrefix when it has one.
const __cx_pathWrite = function (self, operation, path, body, hasBody) {
  const options = self.getOptions();
  const parts = [options.path, __cx_optionalString(path)].filter(__cx_isSet);
  delete options.update;
  delete options.ops;
  delete options.path;
  options.operation = operation;
  if (parts.length) options.path = parts.join(".");
  if (hasBody) options.body = body;
  return __cx_call("objects.execute", [options]);
};

// Option methods several cursor and operation classes share (cursors-operations.md sections 2 and 8-12).
const __cx_sharedOperationMethods = {
  paths(...props) {
    return __cx_set(this, "paths", __cx_pathList(props));
  },
  include(...props) {
    return __cx_set(this, "include", __cx_pathList(props));
  },
  expand(...props) {
    return __cx_set(this, "expand", __cx_pathList(props));
  },
  match(m) {
    return __cx_setPayload(this, "match", m);
  },
  update(doc) {
    return __cx_setPayload(this, "update", doc);
  },
  ops(o) {
    return __cx_setPayload(this, "ops", o);
  },
  limit(v) {
    return __cx_set(this, "limit", v);
  },
  merge(v = true) {
    return __cx_set(this, "mergeDocuments", Boolean(v));
  },
  mergeDocuments(v = true) {
    return this.merge(v);
  },
  pathPrefix(path = null) {
    return __cx_setPathPrefix(this, path);
  },
  path(path = null) {
    return this.pathPrefix(path);
  },
};

const __cx_shareMethods = function (cls, names) {
  const methods = {};
  for (const name of names) methods[name] = __cx_sharedOperationMethods[name];
  __cx_mixin(cls.prototype, methods);
};

const __cx_UpdateOperation = class UpdateOperation extends __cx_WriteOneOperation {
  constructor(object, match, update) {
    super(object, "updateOne", { match: match, update: update });
  }

  pathUpdate(path = null, body = null) {
    if (typeof path !== "string") return __cx_pathWrite(this, "pathUpdate", null, path, true);
    return __cx_pathWrite(this, "pathUpdate", path, body, true);
  }

  pathPush(path = null, body = null) {
    if (typeof path !== "string") return __cx_pathWrite(this, "pathPush", null, path, true);
    return __cx_pathWrite(this, "pathPush", path, body, true);
  }

  pathPatch(path = null, body = null) {
    if (typeof path !== "string") return __cx_pathWrite(this, "pathPatch", null, path, true);
    return __cx_pathWrite(this, "pathPatch", path, body, true);
  }

  pathDelete(path = null) {
    return __cx_pathWrite(this, "pathDelete", path, undefined, false);
  }

  getOptions() {
    return __cx_checkThroughAndPath(super.getOptions());
  }
};

const __cx_UpdateManyOperation = class UpdateManyOperation extends __cx_WriteManyOperation {
  constructor(object, match, update) {
    super(object, "updateMany", { match: match, update: update });
  }
};

const __cx_PatchOperation = class PatchOperation extends __cx_WriteOneOperation {
  constructor(object, match, ops) {
    super(object, "patchOne", { match: match, ops: ops });
  }

  getOptions() {
    return __cx_checkThroughAndPath(super.getOptions());
  }
};

const __cx_PatchManyOperation = class PatchManyOperation extends __cx_WriteManyOperation {
  constructor(object, match, ops) {
    super(object, "patchMany", { match: match, ops: ops });
  }
};
__cx_shareMethods(__cx_UpdateOperation, ["match", "update", "merge", "mergeDocuments", "pathPrefix", "path"]);
__cx_shareMethods(__cx_UpdateManyOperation, ["match", "update", "limit", "merge", "mergeDocuments"]);
__cx_shareMethods(__cx_PatchOperation, ["match", "ops", "merge", "mergeDocuments", "pathPrefix", "path"]);
__cx_shareMethods(__cx_PatchManyOperation, ["match", "ops", "limit", "merge"]);

const __cx_DeleteOperation = class DeleteOperation extends __cx_Operation {
  constructor(object, match, operation = "deleteOne") {
    super(object, operation, { match: match });
  }

  match(m) {
    return __cx_setPayload(this, "match", m);
  }

  disableTriggers(v = true) {
    return __cx_set(this, "disableTriggers", Boolean(v));
  }
};

const __cx_DeleteManyOperation = class DeleteManyOperation extends __cx_DeleteOperation {
  constructor(object, match) {
    super(object, match, "deleteMany");
  }

  limit(v) {
    return __cx_set(this, "limit", v);
  }
};

const __cx_ReadOneOperation = class ReadOneOperation extends __cx_Operation {
  constructor(object, where) {
    super(object, "readOne", { where: where });
  }

  where(filter) {
    return __cx_setPayload(this, "where", filter);
  }

  sort(spec) {
    return __cx_set(this, "sort", spec);
  }

  path(v = "") {
    return __cx_set(this, "path", v ? String(v) : null);
  }

  throwNotFound(v = true) {
    return __cx_set(this, "throwNotFound", Boolean(v));
  }

  engine(v = "stable") {
    return __cx_set(this, "engine", v);
  }

  explain(v = true) {
    return __cx_set(this, "explain", Boolean(v));
  }

  maxTimeMS(ms) {
    return __cx_set(this, "maxTimeMS", __cx_maxTimeMS(ms));
  }

  maxTimeMs(ms) {
    return this.maxTimeMS(ms);
  }
};
__cx_shareMethods(__cx_QueryCursor, ["paths", "include", "expand"]);
__cx_shareMethods(__cx_ReadOneOperation, ["paths", "include", "expand"]);

// A batch of operations; its results are read like a cursor (section 13).
const __cx_BulkOperation = class BulkOperation extends __cx_BufferedCursor {
  constructor(object) {
    super({ batchSize: 100 });
    const state = __cx_stateOf(this);
    state.object = object;
    state.operation = "bulk";
    state.entries = [];
  }

  // `operation`: an operation or cursor; `options`: the wrapper options for it.
  add(operation, options) {
    const wrapper = {};
    if (options && typeof options === "object") {
      for (const key of ["name", "halt", "wrap", "output", "as"]) wrapper[key] = options[key];
    }
    __cx_stateOf(this).entries.push({ operation: operation, wrapper: wrapper });
    return this;
  }

  // Plain option objects ({operation, object, ...}) as operations.
  ops(ops, ...more) {
    for (const options of __cx_flatten([ops].concat(more))) {
      __cx_stateOf(this).entries.push({ options: options, wrapper: {} });
    }
    return this;
  }

  transform(v) {
    return __cx_set(this, "transform", v);
  }

  async(options) {
    return __cx_set(this, "async", options);
  }

  getOptions() {
    const state = __cx_stateOf(this);
    const ops = state.entries.map(function (entry) {
      const body = entry.operation ? entry.operation.getOptions() : Object.assign({}, entry.options);
      if (!__cx_isSet(body.object) && __cx_isSet(state.object)) body.object = state.object;
      return Object.assign(__cx_compact(entry.wrapper, {}), body);
    });
    const out = {};
    if (__cx_isSet(state.object)) out.object = state.object;
    out.operation = "bulk";
    __cx_compact(state.options, out);
    out.ops = ops;
    return out;
  }
};
__cx_mixin(__cx_BulkOperation.prototype, __cx_operationMethods);

const __cx_bulk = function bulk(name = null) {
  return new __cx_BulkOperation(__cx_isSet(name) ? __cx_resolveName(name) : null);
};

// ---- CortexObject ----------------------------------------------------------

// Classes made by as(), per receiver: base class -> Map(objectName -> class).
const __cx_classes = new WeakMap();
const __cx_classNames = new WeakMap();

// Account instance methods. Roles resolve through consts.roles (the org's codes and names,
// built-in codes in any case) and the org's includes (40_consts.js).
const __cx_accountMethods = {
  hasRole(role) {
    const id = __cx_unit("consts").roleId(role);
    return id !== null && __cx_unit("consts").expandRoles(this.roles).indexOf(id) !== -1;
  },
  isAnonymous() {
    return __cx_sameId(this._id, consts.principals.anonymous);
  },
  isPublic() {
    return __cx_sameId(this._id, consts.principals.public);
  },
  isAuthenticated() {
    return !this.isAnonymous() && !this.isPublic();
  },
  isOrgAdmin() {
    return this.hasRole(consts.roles.administrator);
  },
  isDeveloper() {
    return this.hasRole(consts.roles.developer);
  },
  isSupport() {
    return this.hasRole(consts.roles.support);
  },
};

// Statics of the accounts class (scripting-core section 6) live in 71_accounts.js.

// The class for a canonical object name, extending `base`; one per (base, name).
const __cx_classFor = function (base, objectName) {
  let byName = __cx_classes.get(base);
  if (!byName) {
    byName = new Map();
    __cx_classes.set(base, byName);
  }
  let cls = byName.get(objectName);
  if (!cls) {
    cls = class extends base {};
    Object.defineProperty(cls, "name", { value: objectName });
    __cx_classNames.set(cls, objectName);
    if (objectName === "account") {
      __cx_mixin(cls.prototype, __cx_accountMethods);
      __cx_mixin(cls.prototype, __cx_unit("accounts").methods);
      __cx_mixin(cls, __cx_unit("accounts").statics);
    }
    byName.set(objectName, cls);
  }
  return cls;
};

// A class made by as() (or extending one) has that name; any other subclass is
// named by its class name: `class c_widget extends CortexObject`.
const __cx_objectNameOf = function (cls) {
  for (let c = cls; typeof c === "function" && c !== CortexObject; c = __cx_getPrototypeOf(c)) {
    const name = __cx_classNames.get(c);
    if (name) return name;
  }
  return __cx_resolveName(cls.name);
};

const __cx_idOf = function (id) {
  return __cx_isSet(id) ? new ObjectID(id) : null;
};

const __cx_setOwner = function (objectName, id, to) {
  return __cx_call("objects.execute", [{ object: objectName, operation: "setOwner", _id: id, to: to }]);
};

// An operation on one instance, with the caller's options applied.
const __cx_instanceOperation = function (instance, Operation, options, payload) {
  const objectName = __cx_objectNameOf(instance.constructor);
  const operation = new Operation(objectName, { _id: instance._id }, payload);
  return operation.setOptions(options, options);
};

class CortexObject {
  constructor(context) {
    const source = context && typeof context === "object" ? context : {};
    Object.defineProperty(this, "_id", { value: __cx_isSet(source._id) ? source._id : null, enumerable: true });
    Object.defineProperty(this, "object", { value: __cx_objectNameOf(new.target), enumerable: true });
    for (const key of Object.keys(source)) {
      if (key !== "_id" && key !== "object") Object.defineProperty(this, key, { value: source[key], enumerable: true });
    }
  }

  static get objectName() {
    return __cx_objectNameOf(this);
  }

  static as(objectName) {
    return __cx_classFor(this, __cx_resolveName(objectName));
  }

  // {_id, object, ...} -> an instance of as(object); on a named class, an id is enough.
  static from(context) {
    if (context instanceof ObjectID || typeof context === "string") context = { _id: context };
    if (!context || typeof context !== "object") {
      throw Fault.create("cortex.invalidArgument.unspecified", { reason: "from() expects an object with an _id." });
    }
    let cls = this;
    if (typeof context.object === "string" && (this === CortexObject || __cx_resolveName(context.object) !== this.objectName)) {
      cls = this.as(context.object);
    }
    return new cls(Object.assign({}, context, { _id: __cx_idOf(context._id) }));
  }

  static find(where) {
    return new __cx_QueryCursor(this.objectName, where);
  }

  static aggregate(pipeline = []) {
    return new __cx_AggregationCursor(this.objectName, pipeline);
  }

  static count(where) {
    const options = { object: this.objectName, operation: "count" };
    if (__cx_isSet(where)) options.where = where;
    return __cx_call("objects.execute", [options]);
  }

  static readOne(where) {
    return new __cx_ReadOneOperation(this.objectName, where);
  }

  static insertOne(document) {
    return new __cx_InsertOperation(this.objectName, document);
  }

  static insertMany(documents = []) {
    return new __cx_InsertManyOperation(this.objectName, documents);
  }

  static updateOne(match, update) {
    return new __cx_UpdateOperation(this.objectName, match, update);
  }

  // updateMany(update) alone updates everything: match {}.
  static updateMany(match, update) {
    if (arguments.length < 2) return new __cx_UpdateManyOperation(this.objectName, {}, match);
    return new __cx_UpdateManyOperation(this.objectName, match, update);
  }

  static patchOne(match, ops) {
    return new __cx_PatchOperation(this.objectName, match, ops);
  }

  static patchMany(match, ops) {
    if (arguments.length < 2) return new __cx_PatchManyOperation(this.objectName, {}, match);
    return new __cx_PatchManyOperation(this.objectName, match, ops);
  }

  static deleteOne(match = {}) {
    return new __cx_DeleteOperation(this.objectName, match);
  }

  static deleteMany(match) {
    return new __cx_DeleteManyOperation(this.objectName, match);
  }

  static setOwner(id, to) {
    return __cx_setOwner(this.objectName, id, to);
  }

  read(path, options) {
    if (typeof path !== "string") return __cx_instanceOperation(this, __cx_ReadOneOperation, path).execute();
    return __cx_instanceOperation(this, __cx_ReadOneOperation, options).path(path).execute();
  }

  update(path, body, options) {
    // inst.update(body) is one patch `set` of body on the platform, so a plain body is a $set.
    if (typeof path !== "string") {
      const plain = path && typeof path === "object" && !Object.keys(path).some((k) => k.charAt(0) === "$");
      return __cx_instanceOperation(this, __cx_UpdateOperation, body, plain ? { $set: path } : path).execute();
    }
    return __cx_instanceOperation(this, __cx_UpdateOperation, options).pathUpdate(path, body);
  }

  push(path, body, options) {
    if (typeof path !== "string") return __cx_instanceOperation(this, __cx_UpdateOperation, body, { $push: path }).execute();
    return __cx_instanceOperation(this, __cx_UpdateOperation, options).pathPush(path, body);
  }

  delete(path, options) {
    if (typeof path !== "string") return __cx_instanceOperation(this, __cx_DeleteOperation, path).execute();
    return __cx_instanceOperation(this, __cx_UpdateOperation, options).pathDelete(path);
  }

  patch(ops, options) {
    return __cx_instanceOperation(this, __cx_PatchOperation, options, ops).execute();
  }

  setOwner(to) {
    return __cx_setOwner(__cx_objectNameOf(this.constructor), this._id, to);
  }
}
// Sealed as on the platform; the methods stay writable so subclasses can assign their own.
Object.seal(CortexObject.prototype);
Object.seal(CortexObject);

// script.principal: the run's principal as an account instance.
const __cx_principalInstance = function (principal) {
  if (!principal || typeof principal !== "object" || !__cx_isSet(principal._id)) return principal;
  const Account = __cx_classFor(CortexObject, "account");
  return new Account(Object.assign({}, principal, { _id: __cx_idOf(principal._id) }));
};

// org.objects.<name>, org.objects[name], in any case or number -> the class.
const __cx_orgObjects = new Proxy(Object.freeze({}), {
  get: function (target, name) {
    if (name === "bulk") return __cx_bulk;
    if (typeof name !== "string" || name in target) return Reflect.get(target, name);
    const objectName = __cx_resolveName(name);
    return __cx_boundClass(objectName) || __cx_classFor(CortexObject, objectName);
  },
});

return {
  CortexObject: CortexObject,
  orgObjects: __cx_orgObjects,
  principalInstance: __cx_principalInstance,
  orgPrototype: __cx_classFor(CortexObject, "org").prototype,
  BufferedCursor: __cx_BufferedCursor,
};
