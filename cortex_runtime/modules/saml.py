"""``require('saml')``: the org as a SAML 2.0 Service Provider (modules.md §14). The sandbox side is
``js_prelude/modules/saml.js`` (``ServiceProvider``, ``IdentityProvider``: option holders, as the
platform's); every call ships the SP options, the IdP options and the call options here, and a
fresh python3-saml settings object is built per call (stateless, as the platform's saml2-js).

* ``create_login_request_url(idp, {relay_state})`` → ``{url, id}`` (HTTP-Redirect binding).
* ``create_logout_request_url(idp, {name_id, session_index, relay_state})`` → URL String.
* ``create_logout_response_url(idp, {in_response_to, relay_state})`` → URL String.
* ``create_metadata()`` → the SP's metadata XML (``entity_id``, ``assert_endpoint`` as the
  assertion consumer and logout service, ``certificate`` and ``alt_certs`` as key descriptors).
* ``post_assert(idp, {request_body: {SAMLResponse}})`` → ``{response_header: {version,
  destination, in_response_to, id}, type: 'authn_response', user: {name_id, session_index,
  session_not_on_or_after, attributes}}``. The response or its assertion must be signed by one
  of ``idp.certificates``; the destination must be ``assert_endpoint`` and the audience the
  SP's ``entity_id``; times are checked. An unencrypted assertion is refused unless
  ``allow_unencrypted_assertion`` (SP, IdP or call option) is true, as in saml2-js; encrypted
  ones are decrypted with ``private_key``, then each of ``alt_private_keys``.
* ``redirect_assert(idp, {request_body: {SAMLRequest | SAMLResponse, RelayState, SigAlg,
  Signature}})`` → ``{type: 'logout_request', user: {name_id, session_index}, response_header}``
  or ``{type: 'logout_response', response_header}``; a signature, when present, is checked
  against ``idp.certificates`` (required when the SP or IdP sets ``sign_get_request``).
  ``post_assert`` of a logout message and ``redirect_assert`` of an authn response are
  ``kNotImplemented`` (python3-saml does not take those bindings).
* The IdP's issuer is checked when the IdP options carry ``entity_id`` (an option saml2-js does
  not have; without it, as there, the issuer is not checked).
* A message the library refuses gives ``cortex.invalidArgument.unspecified`` with its reason
  (inferred: the platform passes saml2-js errors on as faults).
"""

from __future__ import annotations

import binascii
import copy
from typing import Any
from urllib.parse import urlencode, urlsplit

import xmlsec
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from ..faults import Fault
from ..sandbox import RunInfo

__all__ = ["SamlModule"]

METHODS = (
    "create_login_request_url",
    "create_logout_request_url",
    "create_logout_response_url",
    "create_metadata",
    "post_assert",
    "redirect_assert",
)
# Stands in for an IdP entity id the options do not give (python3-saml needs one).
_NO_ISSUER = "urn:cortex:saml:idp-issuer-not-checked"
MAX_MESSAGE_CHARS = 1_000_000


def _invalid(reason: str) -> Fault:
    return Fault("cortex.invalidArgument.unspecified", reason=reason)


def _text(options: dict[str, Any], key: str) -> str | None:
    value = options.get(key)
    return value if isinstance(value, str) and value else None


def _texts(options: dict[str, Any], key: str) -> list[str]:
    value = options.get(key)
    if isinstance(value, str):
        value = [value]
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _flag(*sources: dict[str, Any], key: str) -> bool:
    return any(source.get(key) is True for source in sources)


def _settings(sp: dict[str, Any], idp: dict[str, Any], call: dict[str, Any], *, idp_entity: str | None = None,
              private_key: str | None = None) -> OneLogin_Saml2_Settings:
    entity_id, endpoint = _text(sp, "entity_id"), _text(sp, "assert_endpoint")
    if not entity_id:
        raise _invalid("ServiceProvider entity_id is required.")
    if not endpoint:
        raise _invalid("ServiceProvider assert_endpoint is required.")
    signed = _flag(sp, idp, key="sign_get_request")
    auth_context = _text(sp, "auth_context")
    certificates = _texts(idp, "certificates")
    sp_data: dict[str, Any] = {
        "entityId": entity_id,
        "assertionConsumerService": {"url": endpoint, "binding": C.BINDING_HTTP_POST},
        "singleLogoutService": {"url": endpoint, "binding": C.BINDING_HTTP_REDIRECT},
        "NameIDFormat": _text(sp, "nameid_format") or C.NAMEID_UNSPECIFIED,
        "x509cert": _text(sp, "certificate") or "",
        "privateKey": private_key if private_key is not None else (_text(sp, "private_key") or ""),
    }
    idp_data: dict[str, Any] = {
        "entityId": idp_entity or _text(idp, "entity_id") or _NO_ISSUER,
        "singleSignOnService": {"url": _text(idp, "sso_login_url") or "", "binding": C.BINDING_HTTP_REDIRECT},
        "singleLogoutService": {"url": _text(idp, "sso_logout_url") or "", "binding": C.BINDING_HTTP_REDIRECT},
    }
    if certificates:
        idp_data["x509certMulti"] = {"signing": certificates, "encryption": certificates[:1]}
    settings = {
        "strict": True,
        "debug": False,
        "sp": sp_data,
        "idp": idp_data,
        "security": {
            "authnRequestsSigned": signed,
            "logoutRequestSigned": signed,
            "logoutResponseSigned": signed,
            "wantMessagesSigned": signed,
            "wantAssertionsSigned": False,
            "wantAssertionsEncrypted": not _flag(sp, idp, call, key="allow_unencrypted_assertion"),
            "wantAttributeStatement": False,
            "requestedAuthnContext": [auth_context] if auth_context else False,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
        },
    }
    try:
        return OneLogin_Saml2_Settings(settings, sp_validation_only=not (idp_data["singleSignOnService"]["url"] or certificates))
    except OneLogin_Saml2_Error as exc:
        raise _invalid(f"Invalid SAML options: {exc}") from None


def _request_data(sp: dict[str, Any], get: dict[str, Any] | None = None, post: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request python3-saml checks destinations against: the SP's assert endpoint."""
    parts = urlsplit(_text(sp, "assert_endpoint") or "")
    https = parts.scheme == "https"
    return {
        "https": "on" if https else "off",
        "http_host": parts.netloc.rpartition("@")[2],
        "script_name": parts.path or "/",
        "get_data": get or {},
        "post_data": post or {},
    }


def _root(xml: Any) -> Any:
    return OneLogin_Saml2_XML.to_etree(xml)


def _redirect(base: str | None, params: dict[str, str]) -> str:
    if not base:
        raise _invalid("IdentityProvider URL is required.")
    return base + ("&" if "?" in base else "?") + urlencode(params)


class SamlModule:
    require_name = "saml.native"
    prefix = "saml.native."
    methods = METHODS
    needs_context = False

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        method = name[len(self.prefix):]
        if method not in METHODS:
            raise Fault("script.invalidArgument.unknownCommand", path=name)
        sp, idp, options = (copy.deepcopy(a) if isinstance(a, dict) else {} for a in (list(args) + [None, None, None])[:3])
        try:
            return getattr(self, method)(sp, idp, options)
        except (OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError) as exc:
            raise _invalid(str(exc)) from None
        except (etree.XMLSyntaxError, xmlsec.Error, binascii.Error, ValueError, TypeError) as exc:
            raise _invalid(f"Invalid SAML message: {exc}") from None

    # ---- requests the SP sends --------------------------------------------------------

    def _signed(self, settings: OneLogin_Saml2_Settings, sp: dict[str, Any], params: dict[str, str], kind: str) -> dict[str, str]:
        if not settings.get_security_data().get("authnRequestsSigned"):
            return params
        if not _text(sp, "private_key"):
            raise _invalid("sign_get_request needs the ServiceProvider private_key.")
        auth = OneLogin_Saml2_Auth(_request_data(sp), settings)
        if kind == "SAMLRequest":
            auth.add_request_signature(params, C.RSA_SHA256)
        else:
            auth.add_response_signature(params, C.RSA_SHA256)
        return params

    def create_login_request_url(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        settings = _settings(sp, idp, options)
        request = OneLogin_Saml2_Authn_Request(settings, force_authn=_flag(sp, idp, key="force_authn"))
        params = {"SAMLRequest": request.get_request()}
        if _text(options, "relay_state"):
            params["RelayState"] = options["relay_state"]
        params = self._signed(settings, sp, params, "SAMLRequest")
        return {"url": _redirect(_text(idp, "sso_login_url"), params), "id": request.get_id()}

    def create_logout_request_url(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any]) -> str:
        settings = _settings(sp, idp, options)
        request = OneLogin_Saml2_Logout_Request(settings, name_id=_text(options, "name_id"), session_index=_text(options, "session_index"),
                                                name_id_format=_text(sp, "nameid_format"))
        params = {"SAMLRequest": request.get_request()}
        if _text(options, "relay_state"):
            params["RelayState"] = options["relay_state"]
        return _redirect(_text(idp, "sso_logout_url"), self._signed(settings, sp, params, "SAMLRequest"))

    def create_logout_response_url(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any]) -> str:
        settings = _settings(sp, idp, options)
        response = OneLogin_Saml2_Logout_Response(settings)
        response.build(_text(options, "in_response_to"))
        params = {"SAMLResponse": response.get_response()}
        if _text(options, "relay_state"):
            params["RelayState"] = options["relay_state"]
        return _redirect(_text(idp, "sso_logout_url"), self._signed(settings, sp, params, "SAMLResponse"))

    def create_metadata(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any]) -> str:
        settings = _settings(sp, {}, options)
        metadata = settings.get_sp_metadata()
        for cert in _texts(sp, "alt_certs"):
            metadata = OneLogin_Saml2_Metadata.add_x509_key_descriptors(metadata, cert, True)
        return metadata.decode("utf-8") if isinstance(metadata, bytes) else metadata

    # ---- messages the IdP sends ---------------------------------------------------------

    @staticmethod
    def _body(options: dict[str, Any]) -> dict[str, Any]:
        body = options.get("request_body")
        if not isinstance(body, dict):
            raise _invalid("options.request_body is required.")
        for key, value in body.items():
            if isinstance(value, str) and len(value) > MAX_MESSAGE_CHARS:
                raise Fault("cortex.tooLarge.unspecified", reason=f"request_body.{key} is too large.")
        return body

    def post_assert(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        body = self._body(options)
        message = body.get("SAMLResponse")
        if not isinstance(message, str) or not message:
            if isinstance(body.get("SAMLRequest"), str):
                raise Fault("cortex.notImplemented.unspecified", reason="saml post_assert of a logout request is not implemented.", path="saml.post_assert")
            raise _invalid("request_body.SAMLResponse is required.")
        keys = [_text(sp, "private_key") or ""] + _texts(sp, "alt_private_keys")
        last: Exception | None = None
        for key in keys:
            try:
                return self._authn_response(sp, idp, options, message, key)
            except (OneLogin_Saml2_Error, xmlsec.Error) as exc:
                # Another key may decrypt it (key rollover); other faults are final.
                if "decrypt" not in str(exc).lower():
                    raise
                last = exc
        raise _invalid(f"The encrypted assertion could not be decrypted with the ServiceProvider's keys ({last}).")

    def _authn_response(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any], message: str, key: str) -> dict[str, Any]:
        settings = _settings(sp, idp, options, private_key=key)
        issuer = _text(idp, "entity_id")
        if issuer is None:
            probe = OneLogin_Saml2_Response(settings, message)
            issuers = probe.get_issuers()
            issuer = issuers[0] if issuers else _NO_ISSUER
            settings = _settings(sp, idp, options, private_key=key, idp_entity=issuer)
        response = OneLogin_Saml2_Response(settings, message)
        if not response.is_valid(_request_data(sp, post={"SAMLResponse": message}), raise_exceptions=True):
            raise _invalid(response.get_error() or "Invalid SAML response.")
        session_index = response.get_session_index()
        if session_index is None and options.get("require_session_index", True) is not False:
            raise _invalid("The assertion has no SessionIndex.")
        document = response.document
        expires = response.get_session_not_on_or_after()
        return {
            "response_header": {
                "version": document.get("Version"),
                "destination": document.get("Destination"),
                "in_response_to": document.get("InResponseTo"),
                "id": document.get("ID"),
            },
            "type": "authn_response",
            "user": {
                "name_id": response.get_nameid(),
                "session_index": session_index,
                "session_not_on_or_after": OneLogin_Saml2_Utils.parse_time_to_SAML(expires) if expires else None,
                "attributes": response.get_attributes(),
            },
        }

    def redirect_assert(self, sp: dict[str, Any], idp: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        body = self._body(options)
        kind = "SAMLRequest" if isinstance(body.get("SAMLRequest"), str) else "SAMLResponse" if isinstance(body.get("SAMLResponse"), str) else None
        if kind is None:
            raise _invalid("request_body.SAMLRequest or request_body.SAMLResponse is required.")
        get = {k: v for k, v in body.items() if k in (kind, "RelayState", "SigAlg", "Signature") and isinstance(v, str)}
        settings = _settings(sp, idp, options, idp_entity=_text(idp, "entity_id"))
        try:
            xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(get[kind])
        except Exception:  # noqa: BLE001 - any decoding failure is the same bad input
            raise _invalid(f"request_body.{kind} is not a deflated SAML message.") from None
        if b"AuthnRequest" not in xml and b"LogoutRequest" not in xml and b"LogoutResponse" not in xml:
            raise Fault("cortex.notImplemented.unspecified", reason="saml redirect_assert of an authn response is not implemented.", path="saml.redirect_assert")
        if _text(idp, "entity_id") is None:
            issuer = self._issuer(xml)
            settings = _settings(sp, idp, options, idp_entity=issuer or _NO_ISSUER)
        request_data = _request_data(sp, get=get)
        if "Signature" in get or settings.get_security_data().get("wantMessagesSigned"):
            auth = OneLogin_Saml2_Auth(request_data, settings)
            check = auth.validate_request_signature if kind == "SAMLRequest" else auth.validate_response_signature
            if not check(get):
                raise _invalid(auth.get_last_error_reason() or "Signature validation failed.")
        if kind == "SAMLRequest":
            request = OneLogin_Saml2_Logout_Request(settings, get[kind])
            if not request.is_valid(request_data, raise_exceptions=True):
                raise _invalid(request.get_error() or "Invalid SAML logout request.")
            xml_text = request.get_xml()
            root = _root(xml_text)
            return {
                "response_header": {"version": root.get("Version"), "destination": root.get("Destination"), "id": root.get("ID")},
                "type": "logout_request",
                "user": {
                    "name_id": OneLogin_Saml2_Logout_Request.get_nameid(xml_text),
                    "session_index": (OneLogin_Saml2_Logout_Request.get_session_indexes(xml_text) or [None])[0],
                },
            }
        response = OneLogin_Saml2_Logout_Response(settings, get[kind])
        if not response.is_valid(request_data, raise_exceptions=True):
            raise _invalid(response.get_error() or "Invalid SAML logout response.")
        root = response.document
        return {
            "response_header": {"version": root.get("Version"), "destination": root.get("Destination"),
                                "in_response_to": root.get("InResponseTo"), "id": root.get("ID")},
            "type": "logout_response",
        }

    @staticmethod
    def _issuer(xml: bytes) -> str | None:
        root = _root(xml)
        found = root.find(f"{{{C.NS_SAML}}}Issuer")
        return found.text.strip() if found is not None and found.text else None

