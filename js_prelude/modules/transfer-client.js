// The script side shared by require('ftp') and require('sftp'): create(options) -> Client, and
// list(). `host` is the module's native half (cortex_runtime/modules/ftp.py or sftp.py); a
// Client holds only the handle the host gave it.

module.exports = function transferModule(host, clientMethods) {
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

  return Object.freeze({
    create: function create(options) {
      return new Client(host.create(options === undefined ? {} : options));
    },
    list: function list() {
      return host.clients().map(function (handle) { return new Client(handle); });
    },
  });
};
