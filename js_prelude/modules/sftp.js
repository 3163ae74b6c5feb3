// require('sftp'): create(options) -> Client (modules.md section 25). The host side is
// cortex_runtime/modules/sftp.py (reached as require('sftp.native')).

module.exports = require("transfer-client")(
  require("sftp.native"),
  ["list", "exists", "stat", "get", "put", "mkdir", "delete", "rename", "chmod"]
);
