"use strict";
// require('config') is callable (a prelude unit, see 00_bridge.js; spec modules.md section 23):
// config(key) is config.get(key), config(key, value) is config.set(key, value), and
// config() is undefined. 60_modules.js asks this unit for the function and then puts the
// host methods (get, set, keys) on it, as on any Python module.

return {
  callable: function () {
    const config = function config(key, value) {
      if (arguments.length === 0) return undefined;
      return arguments.length > 1 ? config.set(key, value) : config.get(key);
    };
    return config;
  },
};
