// require('ftp'): create(options) -> Client (modules.md section 26). The host side is
// cortex_runtime/modules/ftp.py (reached as require('ftp.native')).

module.exports = require("transfer-client")(require("ftp.native"), ["list", "get", "put", "mkdir", "delete", "rename", "chmod"]);
