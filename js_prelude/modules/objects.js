// require('objects'): the legacy raw objects module (fidelity.md section 6) that old scripts
// use next to the ES6 classes: objects.read('accounts', id, {paths: 'email'}), list, count,
// create, createMany, update, push, patch, patchMany, delete, deleteMany, transfer.
// Every member builds the same operation org.objects.<name> would, so the object layer
// checks the caller's ACL and script.as restrictions exactly as for the classes. Options go
// in as both user and privileged options (grant, skipAcl and roles are honoured unless a
// script.as blacklist removes them). A string match '<id>.<path>' is split: the first segment
// is the _id, the rest a property path.

const HEX_ID = /^[0-9a-fA-F]{24}$/;

function invalidObject(name) {
  return Fault.create("cortex.invalidArgument.object", {
    code: "kInvalidObject",
    message: "Invalid or unknown object.",
    path: String(name),
  });
}

// The object's class: the name trimmed, lower-cased, leading underscores stripped.
function objectClass(name) {
  const key = typeof name === "string" ? name.trim().toLowerCase().replace(/^_+/, "") : "";
  if (!key) throw invalidObject(name);
  return org.objects[key];
}

function optionsOf(options) {
  return options !== null && typeof options === "object" && !Array.isArray(options) ? options : {};
}

function isId(value) {
  return value instanceof ObjectID || (typeof value === "string" && HEX_ID.test(value));
}

// '<id>' -> {id}; '<id>.<path>' -> {id, path}; anything else -> null.
function splitIdPath(value) {
  if (isId(value)) return { id: String(value), path: null };
  if (typeof value !== "string") return null;
  const dot = value.indexOf(".");
  if (dot < 0 || !HEX_ID.test(value.slice(0, dot))) return null;
  const path = value.slice(dot + 1).trim();
  return { id: value.slice(0, dot), path: path || null };
}

function missingWhere() {
  return Fault.create("cortex.invalidArgument.unspecified", { reason: "Missing where clause." });
}

// The where document and path of a read: an id, '<id>.<path>', a JSON string, or a where object.
function readTarget(where, options) {
  let path = null;
  if (typeof where === "string" || where instanceof ObjectID) {
    const split = splitIdPath(where);
    if (split) {
      path = split.path;
      where = { _id: split.id };
    } else if (typeof where === "string" && where.trim().charAt(0) === "{") {
      try {
        where = JSON.parse(where);
      } catch (err) {
        throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid JSON where clause." });
      }
    } else {
      // Unique-key lookups ('<value>[.<path>]') need the object's uniqueKey; none is kept here.
      throw missingWhere();
    }
  }
  if (where === null || typeof where !== "object" || Array.isArray(where)) throw missingWhere();
  const given = typeof options.path === "string" && options.path ? options.path : null;
  if (path && given && path !== given) {
    throw Fault.create("cortex.invalidArgument.db", { reason: "Conflicting path searches between path and where clauses." });
  }
  return { where: where, path: path || given };
}

// The match of a write: an id, '<id>.<path>', or a match document.
function writeTarget(match, expected) {
  const split = splitIdPath(match);
  if (split) return { match: { _id: split.id }, path: split.path };
  if (match !== null && typeof match === "object" && !Array.isArray(match) && !(match instanceof ObjectID)) {
    return { match: match, path: null };
  }
  throw expected();
}

function matchExpected() {
  return Fault.create("cortex.invalidArgument.matchExpected", { reason: "Expected a match document or identifier." });
}

function valueExpected() {
  return Fault.create("cortex.invalidArgument.valueExpectedForPatchValue", { reason: "Patch value expected." });
}

function list(name, options) {
  const opts = optionsOf(options);
  return objectClass(name).find(opts.where).setOptions(opts, opts).toList();
}

function read(name, where, options) {
  const opts = optionsOf(options);
  const target = readTarget(where, opts);
  const operation = objectClass(name).readOne(target.where).setOptions(opts, opts);
  if (target.path) operation.path(target.path);
  return operation.execute();
}

function count(name, where, options) {
  const opts = optionsOf(options);
  const cursor = objectClass(name).find(where === undefined || where === null ? opts.where : where);
  return cursor.setOptions(opts, opts).count();
}

// The full document, read back (lean defaults to false here).
function create(name, document, options) {
  const opts = optionsOf(options);
  const doc = document !== null && typeof document === "object" && !Array.isArray(document) ? document : {};
  const operation = objectClass(name).insertOne(doc).setOptions(opts, opts);
  if (!("lean" in opts)) operation.lean(false);
  return operation.execute();
}

function createMany(name, documents, options) {
  const opts = optionsOf(options);
  return objectClass(name).insertMany(Array.isArray(documents) ? documents : []).setOptions(opts, opts).execute();
}

// update and push: one patch op at the match's path, or on the instance.
function write(op, name, match, value, options) {
  const opts = optionsOf(options);
  if (match === undefined || match === null) throw value === undefined ? valueExpected() : matchExpected();
  const target = writeTarget(match, matchExpected);
  if (value === undefined) throw valueExpected();
  const operation = objectClass(name).updateOne(target.match).setOptions(opts, opts);
  if (target.path) return op === "set" ? operation.pathUpdate(target.path, value) : operation.pathPush(target.path, value);
  operation.update(op === "set" ? { $set: value } : { $push: value });
  if (!("lean" in opts)) operation.lean(false);
  return operation.execute();
}

function update(name, match, value, options) {
  return write("set", name, match, value, options);
}

function push(name, match, value, options) {
  return write("push", name, match, value, options);
}

function patch(name, match, ops, options) {
  const opts = optionsOf(options);
  const target = writeTarget(match, matchExpected);
  const operation = objectClass(name).patchOne(target.match, ops).setOptions(opts, opts);
  if (target.path) return operation.pathPatch(target.path, ops);
  if (!("lean" in opts)) operation.lean(false);
  return operation.execute();
}

function patchMany(name, match, ops, options) {
  const opts = optionsOf(options);
  return objectClass(name).patchMany(match || {}, ops).setOptions(opts, opts).execute();
}

// A bare id deletes the instance (true); '<id>.<path>' removes the value at that path (for a
// primitive array '<id>.c_arr.<value>' pulls the value) and answers whether it was there.
function del(name, match, options) {
  const opts = optionsOf(options);
  if (match === undefined || match === null) throw matchExpected();
  const target = writeTarget(match, matchExpected);
  const cls = objectClass(name);
  if (!target.path) return cls.deleteOne(target.match).setOptions(opts, opts).execute();
  const before = cls.readOne(target.match).setOptions(opts, opts).execute();
  const dot = target.path.lastIndexOf(".");
  const parent = dot > 0 ? target.path.slice(0, dot) : null;
  if (parent && Array.isArray(valueAt(before, parent))) {
    // A value (or element _id) of an array: pulled from it.
    const remove = {};
    remove[parent] = [target.path.slice(dot + 1)];
    cls.updateOne(target.match, { $remove: remove }).setOptions(opts, opts).execute();
  } else {
    cls.updateOne(target.match).setOptions(opts, opts).pathDelete(target.path);
  }
  const after = cls.readOne(target.match).setOptions(opts, opts).execute();
  return JSON.stringify(before) !== JSON.stringify(after);
}

function valueAt(doc, path) {
  let current = doc;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = current[part];
  }
  return current;
}

function deleteMany(name, match, options) {
  const opts = optionsOf(options);
  return objectClass(name).deleteMany(match || {}).setOptions(opts, opts).execute();
}

function transfer(name, id, account) {
  return objectClass(name).setOwner(id, account);
}

function notImplemented(method) {
  return function () {
    throw Fault.create("kNotImplemented", { reason: "objects." + method + " is not implemented.", path: "objects." + method });
  };
}

module.exports = Object.freeze({
  list: list,
  read: read,
  count: count,
  create: create,
  createMany: createMany,
  update: update,
  push: push,
  patch: patch,
  patchMany: patchMany,
  delete: del,
  deleteMany: deleteMany,
  transfer: transfer,
  getAccessContext: notImplemented("getAccessContext"),
});
