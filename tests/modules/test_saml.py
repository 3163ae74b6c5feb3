"""require('saml') (modules.md §14; facts 45, 46): the org as a Service Provider, against messages this
test signs as an IdP with its own self-signed keys (no outside IdP)."""

from __future__ import annotations

import base64
import gc
import datetime
import zlib
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from cortex_runtime.runtime import Runtime

SP_ENTITY = "https://api.example.org/acme/v2/routes/saml/metadata"
ACS = "https://api.example.org/acme/v2/routes/saml/acs"
IDP_ENTITY = "https://idp.example.com/metadata"
IDP_SSO = "https://idp.example.com/sso"
IDP_SLO = "https://idp.example.com/slo"


def key_pair(name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    return key_pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def keys():
    return {"sp": key_pair("sp"), "idp": key_pair("idp"), "other": key_pair("other"), "alt": key_pair("alt")}


@pytest.fixture(scope="module")
def run():
    gc.collect()  # earlier tests' engines belong to this thread: free them here
    runtime = Runtime()
    org, admin = runtime.orgs.create("samlorg")

    def go(body: str, arguments: dict):
        source = (
            "const { ServiceProvider, IdentityProvider } = require('saml'); const a = script.arguments;\n"
            "try { return {ok: (function () { " + body + " })()} }\n"
            "catch (e) { return {errCode: e.errCode, code: e.code, status: e.statusCode, reason: e.reason, path: e.path} }"
        )
        result = runtime.run(source, org=org, principal=admin, arguments=arguments)
        assert result.ok, result.fault and result.fault.to_json()
        return result.plain()

    yield go
    runtime.sandbox.release()
    gc.collect()


def sp_options(keys, **extra):
    key, cert = keys["sp"]
    return {"entity_id": SP_ENTITY, "private_key": key, "certificate": cert, "assert_endpoint": ACS, **extra}


def idp_options(keys, which="idp", **extra):
    return {"sso_login_url": IDP_SSO, "sso_logout_url": IDP_SLO, "certificates": [keys[which][1]], **extra}


def stamp(delta_minutes: float = 0) -> str:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=delta_minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def encrypt_assertion(xml: str, cert: str) -> bytes:
    """The response with its assertion encrypted to ``cert`` (AES-128-CBC, the key by RSA-OAEP)."""
    root = etree.fromstring(xml.encode())
    assertion = root.find(f"{{{C.NS_SAML}}}Assertion")
    wrapper = etree.Element(f"{{{C.NS_SAML}}}EncryptedAssertion")
    assertion.addprevious(wrapper)
    wrapper.append(assertion)
    data = xmlsec.template.encrypted_data_create(root, xmlsec.constants.TransformAes128Cbc, type=xmlsec.constants.TypeEncElement, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(data)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(data, ns="dsig")
    enc_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(enc_key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(cert.encode(), xmlsec.constants.KeyDataFormatCertPem, None))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 128, xmlsec.constants.KeyDataTypeSession)
    context.encrypt_xml(data, assertion)
    return etree.tostring(root)


def saml_response(keys, signer="idp", destination=ACS, audience=SP_ENTITY, not_on_or_after=10, issuer=IDP_ENTITY, encrypt_for=None) -> str:
    xml = f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp1" Version="2.0" IssueInstant="{stamp()}" Destination="{destination}" InResponseTo="_req1">
<saml:Issuer>{issuer}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
<saml:Assertion ID="_assert1" Version="2.0" IssueInstant="{stamp()}">
<saml:Issuer>{issuer}</saml:Issuer>
<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">user@example.com</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{stamp(not_on_or_after)}" Recipient="{destination}" InResponseTo="_req1"/></saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="{stamp(-5)}" NotOnOrAfter="{stamp(not_on_or_after)}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>
<saml:AuthnStatement AuthnInstant="{stamp()}" SessionIndex="_session7"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>user@example.com</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups"><saml:AttributeValue>a</saml:AttributeValue><saml:AttributeValue>b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
</saml:Assertion>
</samlp:Response>"""
    if encrypt_for is not None:
        xml = encrypt_assertion(xml, keys[encrypt_for][1]).decode()
    key, cert = keys[signer]
    signed = OneLogin_Saml2_Utils.add_sign(xml, key, cert, sign_algorithm=C.RSA_SHA256, digest_algorithm=C.SHA256)
    return base64.b64encode(signed if isinstance(signed, bytes) else signed.encode()).decode()


def post(run, keys, response: str, sp_extra=None, idp_extra=None, call_extra=None, which="idp"):
    return run("return new ServiceProvider(a.sp).post_assert(new IdentityProvider(a.idp), a.call)", {
        "sp": sp_options(keys, **(sp_extra or {})), "idp": idp_options(keys, which, **(idp_extra or {})),
        "call": {"request_body": {"SAMLResponse": response}, **(call_extra or {})},
    })


def inflate(value: str) -> str:
    return zlib.decompress(base64.b64decode(value), -15).decode()


# ---- metadata and requests ------------------------------------------------------------------


def test_fact_45_metadata_names_the_entity_and_the_assert_endpoint(run, keys):
    got = run("return new ServiceProvider(a.sp).create_metadata()", {"sp": sp_options(keys, alt_certs=[keys["alt"][1]])})["ok"]
    assert isinstance(got, str) and "<md:EntityDescriptor" in got
    assert f'entityID="{SP_ENTITY}"' in got and f'Location="{ACS}"' in got
    body = lambda pem: "".join(pem.strip().splitlines()[1:-1])  # noqa: E731
    assert body(keys["sp"][1]) in got and body(keys["alt"][1]) in got
    got = run("return new ServiceProvider({assert_endpoint: 'x'}).create_metadata()", {})
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and got["reason"] == "ServiceProvider entity_id is required."


def test_login_request_url_is_url_and_id(run, keys):
    got = run("return new ServiceProvider(a.sp).create_login_request_url(new IdentityProvider(a.idp), {relay_state: 'back/here'})",
              {"sp": sp_options(keys, force_authn=True), "idp": idp_options(keys)})["ok"]
    assert set(got) == {"url", "id"} and got["url"].startswith(IDP_SSO + "?")
    query = parse_qs(urlsplit(got["url"]).query)
    assert query["RelayState"] == ["back/here"] and "Signature" not in query
    xml = inflate(query["SAMLRequest"][0])
    assert f'ID="{got["id"]}"' in xml and f'AssertionConsumerServiceURL="{ACS}"' in xml and 'ForceAuthn="true"' in xml
    assert f"<saml:Issuer>{SP_ENTITY}</saml:Issuer>" in xml


def test_signed_login_request_verifies_with_the_sp_certificate(run, keys):
    got = run("return new ServiceProvider(a.sp).create_login_request_url(new IdentityProvider(a.idp), {})",
              {"sp": sp_options(keys, sign_get_request=True), "idp": idp_options(keys)})["ok"]
    raw = urlsplit(got["url"]).query
    parts = dict(p.split("=", 1) for p in raw.split("&"))
    query = parse_qs(raw)
    assert query["SigAlg"] == [C.RSA_SHA256]
    signed = f"SAMLRequest={parts['SAMLRequest']}&SigAlg={parts['SigAlg']}"
    assert OneLogin_Saml2_Utils.validate_binary_sign(signed, base64.b64decode(query["Signature"][0]), keys["sp"][1], C.RSA_SHA256)
    assert not OneLogin_Saml2_Utils.validate_binary_sign(signed, base64.b64decode(query["Signature"][0]), keys["other"][1], C.RSA_SHA256)


def test_logout_request_and_response_urls(run, keys):
    args = {"sp": sp_options(keys), "idp": idp_options(keys)}
    url = run("return new ServiceProvider(a.sp).create_logout_request_url(new IdentityProvider(a.idp), {name_id: 'user@example.com', session_index: '_session7'})", args)["ok"]
    assert isinstance(url, str) and url.startswith(IDP_SLO + "?")
    xml = inflate(parse_qs(urlsplit(url).query)["SAMLRequest"][0])
    assert "LogoutRequest" in xml and "user@example.com" in xml and "_session7" in xml
    url = run("return new ServiceProvider(a.sp).create_logout_response_url(new IdentityProvider(a.idp), {in_response_to: '_lr9', relay_state: 'r'})", args)["ok"]
    query = parse_qs(urlsplit(url).query)
    xml = inflate(query["SAMLResponse"][0])
    assert "LogoutResponse" in xml and 'InResponseTo="_lr9"' in xml and query["RelayState"] == ["r"]


# ---- assertions -----------------------------------------------------------------------------


def test_post_assert_reads_a_signed_response(run, keys):
    got = post(run, keys, saml_response(keys), sp_extra={"allow_unencrypted_assertion": True})["ok"]
    assert got["type"] == "authn_response"
    assert got["response_header"] == {"version": "2.0", "destination": ACS, "in_response_to": "_req1", "id": "_resp1"}
    user = got["user"]
    assert user["name_id"] == "user@example.com" and user["session_index"] == "_session7"
    assert user["attributes"] == {"email": ["user@example.com"], "groups": ["a", "b"]}
    # The IdP's issuer is checked when its options name it.
    got = post(run, keys, saml_response(keys), sp_extra={"allow_unencrypted_assertion": True}, idp_extra={"entity_id": IDP_ENTITY})
    assert got["ok"]["user"]["name_id"] == "user@example.com"
    got = post(run, keys, saml_response(keys), sp_extra={"allow_unencrypted_assertion": True}, idp_extra={"entity_id": "https://other-idp"})
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and "issuer" in got["reason"].lower()


def test_fact_46_a_response_signed_by_another_certificate_throws(run, keys):
    got = post(run, keys, saml_response(keys, signer="other"), sp_extra={"allow_unencrypted_assertion": True})
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and got["status"] == 400
    assert "signature" in got["reason"].lower()


def test_tampered_misaddressed_and_expired_responses_throw(run, keys):
    allow = {"allow_unencrypted_assertion": True}
    tampered = base64.b64encode(base64.b64decode(saml_response(keys)).replace(b"user@example.com</saml:NameID>", b"admin@example.com</saml:NameID>")).decode()
    assert "signature" in post(run, keys, tampered, sp_extra=allow)["reason"].lower()
    got = post(run, keys, saml_response(keys, destination="https://evil.example.com/acs"), sp_extra=allow)
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and "received at" in got["reason"]
    got = post(run, keys, saml_response(keys, audience="https://someone-else"), sp_extra=allow)
    assert "audience" in got["reason"].lower()
    got = post(run, keys, saml_response(keys, not_on_or_after=-2), sp_extra=allow)
    assert got["errCode"] == "cortex.invalidArgument.unspecified"
    got = post(run, keys, "bm90IHhtbA==", sp_extra=allow)
    assert got["errCode"] == "cortex.invalidArgument.unspecified"


def test_unencrypted_assertions_are_refused_unless_allowed(run, keys):
    got = post(run, keys, saml_response(keys))
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and "encrypted" in got["reason"].lower()
    assert post(run, keys, saml_response(keys), call_extra={"allow_unencrypted_assertion": True})["ok"]["type"] == "authn_response"
    assert post(run, keys, saml_response(keys), idp_extra={"allow_unencrypted_assertion": True})["ok"]["type"] == "authn_response"


def test_encrypted_assertions_are_decrypted_with_the_sp_key_or_an_alt_key(run, keys):
    got = post(run, keys, saml_response(keys, encrypt_for="sp"))["ok"]
    assert got["type"] == "authn_response" and got["user"]["name_id"] == "user@example.com"
    # Encrypted to a key being rolled in: found among alt_private_keys.
    got = post(run, keys, saml_response(keys, encrypt_for="alt"), sp_extra={"alt_private_keys": [keys["alt"][0]]})["ok"]
    assert got["user"]["session_index"] == "_session7"
    got = post(run, keys, saml_response(keys, encrypt_for="alt"))
    assert got["errCode"] == "cortex.invalidArgument.unspecified"


def test_redirect_assert_of_a_signed_logout_request(run, keys):
    xml = (f'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
           f'ID="_lr1" Version="2.0" IssueInstant="{stamp()}" Destination="{ACS}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>'
           f'<saml:NameID>user@example.com</saml:NameID><samlp:SessionIndex>_session7</samlp:SessionIndex></samlp:LogoutRequest>')
    message = OneLogin_Saml2_Utils.deflate_and_base64_encode(xml)

    def signed_body(signer: str) -> dict:
        query = f"SAMLRequest={quote_plus(message)}&RelayState={quote_plus('r1')}&SigAlg={quote_plus(C.RSA_SHA256)}"
        signature = base64.b64encode(OneLogin_Saml2_Utils.sign_binary(query, keys[signer][0])).decode()
        return {"SAMLRequest": message, "RelayState": "r1", "SigAlg": C.RSA_SHA256, "Signature": signature}

    script = "return new ServiceProvider(a.sp).redirect_assert(new IdentityProvider(a.idp), {request_body: a.body})"
    got = run(script, {"sp": sp_options(keys), "idp": idp_options(keys), "body": signed_body("idp")})["ok"]
    assert got["type"] == "logout_request" and got["user"] == {"name_id": "user@example.com", "session_index": "_session7"}
    assert got["response_header"]["id"] == "_lr1"
    got = run(script, {"sp": sp_options(keys), "idp": idp_options(keys), "body": signed_body("other")})
    assert got["errCode"] == "cortex.invalidArgument.unspecified" and "signature" in got["reason"].lower()
    # Unsigned, where the SP asks for signed messages.
    got = run(script, {"sp": sp_options(keys, sign_get_request=True), "idp": idp_options(keys), "body": {"SAMLRequest": message}})
    assert got["errCode"] == "cortex.invalidArgument.unspecified"


def test_bindings_python3_saml_does_not_take_are_not_implemented(run, keys):
    args = {"sp": sp_options(keys), "idp": idp_options(keys)}
    got = run("return new ServiceProvider(a.sp).post_assert(new IdentityProvider(a.idp), {request_body: {SAMLRequest: 'x'}})", args)
    assert got["code"] == "kNotImplemented" and got["path"] == "saml.post_assert"
    authn = OneLogin_Saml2_Utils.deflate_and_base64_encode("<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>")
    got = run("return new ServiceProvider(a.sp).redirect_assert(new IdentityProvider(a.idp), {request_body: {SAMLResponse: a.m}})", {**args, "m": authn})
    assert got["code"] == "kNotImplemented" and got["path"] == "saml.redirect_assert"


def test_bad_arguments_are_faults(run, keys):
    got = run("return new ServiceProvider(a.sp).post_assert({sso_login_url: 'x'}, {})", {"sp": sp_options(keys)})
    assert got["reason"] == "an IdentityProvider is required."
    got = run("return new ServiceProvider(a.sp).post_assert(new IdentityProvider(a.idp), {})", {"sp": sp_options(keys), "idp": idp_options(keys)})
    assert got["reason"] == "options.request_body is required."
    got = run("return new ServiceProvider('nope')", {})
    assert got["reason"] == "ServiceProvider options must be an object."
