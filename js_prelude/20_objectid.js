"use strict";
// ObjectID (alias ObjectId): a 12-byte BSON id shown as 24 lowercase hex characters
// (a prelude unit, see 00_bridge.js).

let __cx_oidCounter = Math.floor(Math.random() * 0xffffff);
const __cx_oidProcess = (function () {
  let hex = "";
  for (let i = 0; i < 5; i++) hex += ("0" + Math.floor(Math.random() * 256).toString(16)).slice(-2);
  return hex;
})();
const __cx_HEX24 = /^[0-9a-fA-F]{24}$/;

const __cx_hex = function (n, width) {
  const s = n.toString(16);
  return s.length >= width ? s.slice(-width) : "0".repeat(width - s.length) + s;
};

class ObjectID {
  #hex;

  constructor(value) {
    if ((value === undefined || value === null) && __cx_units.seed) {
      // A seeded run (22_seed.js): the host's id source makes it.
      const hex = __cx_unit("codec").call("objectid", []);
      if (typeof hex !== "string" || !__cx_HEX24.test(hex)) throw Fault.create("cortex.error.unspecified", { reason: "The host gave no ObjectID." });
      this.#hex = hex.toLowerCase();
    } else if (value === undefined || value === null) {
      __cx_oidCounter = (__cx_oidCounter + 1) % 0x1000000;
      this.#hex = __cx_hex(Math.floor(__cx_now() / 1000), 8) + __cx_oidProcess + __cx_hex(__cx_oidCounter, 6);
    } else if (value instanceof ObjectID) {
      this.#hex = value.toString();
    } else if (typeof value === "string" && __cx_HEX24.test(value)) {
      this.#hex = value.toLowerCase();
    } else if (value instanceof Date || (typeof value === "number" && isFinite(value))) {
      const ms = value instanceof Date ? value.getTime() : value;
      if (!(ms === ms) || ms < 0 || ms / 1000 > 0xffffffff) {
        throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid ObjectID date: " + String(value) });
      }
      this.#hex = __cx_hex(Math.floor(ms / 1000), 8) + "0000000000000000";
    } else {
      throw Fault.create("cortex.invalidArgument.unspecified", { reason: "Invalid ObjectID: " + String(value) });
    }
  }

  static isValid(value) {
    return value instanceof ObjectID || (typeof value === "string" && __cx_HEX24.test(value));
  }

  toString() {
    return this.#hex;
  }

  toJSON() {
    return this.#hex;
  }

  toHexString() {
    return this.#hex;
  }

  equals(other) {
    if (other instanceof ObjectID) return other.toString() === this.#hex;
    return typeof other === "string" && other.toLowerCase() === this.#hex;
  }

  getTimestamp() {
    return parseInt(this.#hex.slice(0, 8), 16);
  }

  toDate() {
    return new Date(this.getTimestamp() * 1000);
  }
}

Object.freeze(ObjectID.prototype);
Object.freeze(ObjectID);

return { ObjectID: ObjectID, ObjectId: ObjectID, hex: __cx_hex };
