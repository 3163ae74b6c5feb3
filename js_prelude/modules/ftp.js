// require('ftp'): create(options) -> Client (modules.md section 26). The host side is
// cortex_runtime/modules/ftp.py (reached as require('ftp.native')); a Client holds only its handle.

const host = require("ftp.native");

const clientMethods = ["list", "get", "put", "mkdir", "delete", "rename", "chmod"];

const Client = function Client(handle) {
  Object.defineProperty(this, "_handle", { value: handle });
};
for (const name of clientMethods) {
  Client.prototype[name] = function () {
    const value = host.call(this._handle, name, Array.prototype.slice.call(arguments));
    // Files come back as Buffers (the codec carries bytes as a Uint8Array).
    return name === "get" ? Buffer.from(value) : value;
  };
}
Client.prototype.close = function close() {
  return host.close(this._handle);
};
Object.freeze(Client.prototype);

module.exports = Object.freeze({
  create: function create(options) {
    return new Client(host.create(options === undefined ? {} : options));
  },
  list: function list() {
    return host.clients().map(function (handle) { return new Client(handle); });
  },
});
