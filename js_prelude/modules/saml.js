// require('saml'): { ServiceProvider, IdentityProvider } (modules.md section 14). The classes only
// hold their options; every call ships the SP options, the IdP options and the call options to
// cortex_runtime/modules/saml.py (reached as require('saml.native')), which answers synchronously.

const host = require("saml.native");

const optionsOf = function (value, what) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw Fault.create("cortex.invalidArgument.unspecified", { reason: what + " options must be an object." });
  }
  return Object.assign({}, value);
};

const idpOptions = function (idp) {
  if (!(idp instanceof IdentityProvider)) {
    throw Fault.create("cortex.invalidArgument.unspecified", { reason: "an IdentityProvider is required." });
  }
  return idp.options;
};

class IdentityProvider {
  constructor(options) {
    Object.defineProperty(this, "options", { value: Object.freeze(optionsOf(options, "IdentityProvider")), enumerable: true });
  }
}

class ServiceProvider {
  constructor(options) {
    Object.defineProperty(this, "options", { value: Object.freeze(optionsOf(options, "ServiceProvider")), enumerable: true });
  }

  create_login_request_url(idp, options) {
    return host.create_login_request_url(this.options, idpOptions(idp), optionsOf(options, "call"));
  }

  create_logout_request_url(idp, options) {
    return host.create_logout_request_url(this.options, idpOptions(idp), optionsOf(options, "call"));
  }

  create_logout_response_url(idp, options) {
    return host.create_logout_response_url(this.options, idpOptions(idp), optionsOf(options, "call"));
  }

  create_metadata() {
    return host.create_metadata(this.options, {}, {});
  }

  post_assert(idp, options) {
    return host.post_assert(this.options, idpOptions(idp), optionsOf(options, "call"));
  }

  redirect_assert(idp, options) {
    return host.redirect_assert(this.options, idpOptions(idp), optionsOf(options, "call"));
  }
}

module.exports = Object.freeze({ ServiceProvider: ServiceProvider, IdentityProvider: IdentityProvider });
