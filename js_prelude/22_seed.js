"use strict";
// A seeded run (a Sandbox with seeding: the test harness's --seed, see sandbox/seeding.py).
// Before main, the host has start(seed) evaluated: Math.random then draws from a generator
// seeded with it, and new ObjectID() takes its ids from the host (20_objectid.js), so they
// come in creation order with the ids the host makes and carry the time of the host's clock.
// (A prelude unit, see 00_bridge.js; loaded only in seeded runs.)

const __cx_seedStart = function (seed) {
  let state = seed >>> 0 || 0x9e3779b9;
  // xorshift32: every non-zero state, period 2^32 - 1.
  const next = function () {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  // 53 random bits, as the engine's own Math.random gives.
  Math.random = function random() {
    return (next() * 0x200000 + (next() >>> 11)) / 0x20000000000000;
  };
};

return { start: __cx_seedStart };
