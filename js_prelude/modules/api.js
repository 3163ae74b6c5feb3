// require('api'): logs(options), stats(options), principal.create(principal) (modules.md section 1).
// The host side is cortex_runtime/modules/api.py (reached as require('api.native')).

const host = require("api.native");

module.exports = Object.freeze({
  logs: function logs(options) {
    return host.logs(options === undefined ? {} : options);
  },
  stats: function stats(options) {
    return host.stats(options === undefined ? {} : options);
  },
  principal: Object.freeze({
    create: function create(principal) {
      return host.principal(principal);
    },
  }),
  version: "2",
});
