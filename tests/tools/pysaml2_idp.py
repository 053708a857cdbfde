#!/usr/bin/env python3
"""Independent SAML 2.0 test IdP built on pysaml2 (no spconnect code involved).

Two modes:

  serve  - a tiny HTTP IdP on 127.0.0.1 that verifies the SP's signed
           HTTP-Redirect AuthnRequests and answers with an auto-posting form
           carrying a pysaml2-built SAMLResponse.
  sign   - print one base64 SAMLResponse built and signed by pysaml2, for
           tests that POST it to the SP's ACS themselves.

See tests/tools/README.md for the full command lines and HTTP routes.

Algorithms (fixed here, not left to pysaml2 defaults):
  * XML signatures: RSA-SHA256 (xmldsig-more#rsa-sha256), SHA-256 digest,
    exclusive c14n (xml-exc-c14n#) for both SignedInfo and the reference
    transform, plus the enveloped-signature transform.  The signing
    certificate is embedded in ds:KeyInfo/ds:X509Data.
  * Encryption (--encrypt-assertion): key transport RSA-OAEP-MGF1P
    (xmlenc#rsa-oaep-mgf1p, i.e. SHA-1 digest + MGF1-SHA1, xmlsec1 default),
    data encryption AES-256-CBC (xmlenc#aes256-cbc) by default.  pysaml2's
    own default would be 3DES-CBC, so Server._encrypt_assertion is overridden
    below.  --data-enc / --key-transport pick other algorithms for negative
    tests.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import json
import logging
import os
import re
import zlib
import shutil
import signal
import sys
import tempfile
import threading
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import warnings

# pysaml2 7.5.5 touches cryptography's deprecated CFB mode at import time.
warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml, samlp
from saml2.attribute_converter import AttributeConverter
from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED
from saml2.server import Server
from saml2.sigver import get_pem_wrapped_unwrapped, pre_encryption_part
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

LOG = logging.getLogger("pysaml2_idp")

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

XMLENC = "http://www.w3.org/2001/04/xmlenc#"
XMLENC11 = "http://www.w3.org/2009/xmlenc11#"
# name -> (algorithm URI, xmlsec1 --session-key spec)
DATA_ENC_ALGS = {
    "aes256-cbc": (XMLENC + "aes256-cbc", "aes-256"),
    "aes128-cbc": (XMLENC + "aes128-cbc", "aes-128"),
    "aes256-gcm": (XMLENC11 + "aes256-gcm", "aes-256"),
    "aes128-gcm": (XMLENC11 + "aes128-gcm", "aes-128"),
    "tripledes-cbc": (XMLENC + "tripledes-cbc", "des-192"),
}
KEY_TRANSPORT_ALGS = {
    "rsa-oaep-mgf1p": XMLENC + "rsa-oaep-mgf1p",
    "rsa-1_5": XMLENC + "rsa-1_5",
}

REDIRECT_SIG_HASHES = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}

DEFAULT_USER = {"email": "alice@example.com", "first": "Alice", "last": "Example"}

# Allowed distance between an AuthnRequest's IssueInstant and our clock.
REQUEST_CLOCK_SKEW = 300


class ToolError(Exception):
    """An error with an HTTP status, reported as text to the caller."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def xmlsec_binary() -> str:
    path = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
    if not os.path.exists(path):
        raise SystemExit("xmlsec1 not found (apt-get install xmlsec1)")
    return path


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def fmt_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime(TIME_FORMAT)


def parse_time(value: str) -> dt.datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


# --------------------------------------------------------------------------
# Keys and certificates


def ensure_keypair(key_path: str, cert_path: str, common_name: str) -> None:
    """Create an RSA-2048 key and self-signed cert unless both already exist."""
    if os.path.exists(key_path) and os.path.exists(cert_path):
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    for path, data in ((key_path, key_pem), (cert_path, cert_pem)):
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)


def cert_from_metadata_b64(text: str) -> x509.Certificate:
    der = base64.b64decode("".join(text.split()))
    return x509.load_der_x509_certificate(der)


# --------------------------------------------------------------------------
# SP metadata source (file path or URL, re-read on every use)


def read_sp_metadata(source: str) -> str:
    if source.startswith("http://") or source.startswith("https://"):
        try:
            with urllib.request.urlopen(source, timeout=10) as resp:
                return resp.read().decode("utf-8")
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            raise ToolError(503, f"cannot fetch SP metadata from {source}: {exc}") from exc
    try:
        with open(source, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ToolError(503, f"cannot read SP metadata file {source}: {exc}") from exc


# --------------------------------------------------------------------------
# pysaml2 configuration and a Server subclass with our fixed choices


def attribute_converters():
    """Emit attributes named exactly Email/First/Last with NameFormat basic.

    pysaml2's stock maps would turn "email" into urn:oid:1.2.840.113549.1.9.1.
    """
    conv = AttributeConverter(NAME_FORMAT_BASIC)
    conv.from_dict(
        {
            "identifier": NAME_FORMAT_BASIC,
            "fro": {"Email": "Email", "First": "First", "Last": "Last"},
            "to": {"email": "Email", "first": "First", "last": "Last"},
        }
    )
    return [conv]


def build_config(
    entity_id: str,
    key_file: str,
    cert_file: str,
    sp_metadata_xml: str | None,
    base_url: str | None = None,
    want_authn_requests_signed: bool = True,
    lifetime: int = 300,
    slo_bindings: str = "both",
) -> IdPConfig:
    idp_service = {
        "name": "pysaml2 test IdP",
        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
        "want_authn_requests_signed": want_authn_requests_signed,
        "policy": {
            "default": {
                "lifetime": {"seconds": lifetime},
                "name_form": NAME_FORMAT_BASIC,
                "attribute_restrictions": None,
            }
        },
    }
    if base_url:
        idp_service["endpoints"] = {
            "single_sign_on_service": [
                (f"{base_url}/sso/redirect", BINDING_HTTP_REDIRECT),
                (f"{base_url}/sso/post", BINDING_HTTP_POST),
            ]
        }
        slo = []
        if slo_bindings in ("both", "redirect"):
            slo.append((f"{base_url}/slo/redirect", BINDING_HTTP_REDIRECT))
        if slo_bindings in ("both", "post"):
            slo.append((f"{base_url}/slo/post", BINDING_HTTP_POST))
        if slo:
            idp_service["endpoints"]["single_logout_service"] = slo
    conf = {
        "entityid": entity_id,
        "xmlsec_binary": xmlsec_binary(),
        "key_file": key_file,
        "cert_file": cert_file,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "accepted_time_diff": REQUEST_CLOCK_SKEW,
        "delete_tmpfiles": True,
        "service": {"idp": idp_service},
    }
    if sp_metadata_xml:
        conf["metadata"] = {"inline": [sp_metadata_xml]}
    cnf = IdPConfig().load(conf)
    cnf.attribute_converters = attribute_converters()
    return cnf


class ToolServer(Server):
    """pysaml2 IdP Server with exact timestamps and AES encryption."""

    def __init__(self, config, *, time_base=None, lifetime=300, audience=None,
                 data_enc="aes256-cbc", key_transport="rsa-oaep-mgf1p"):
        super().__init__(config=config)
        self.tool_time_base = time_base or utcnow()
        self.tool_lifetime = lifetime
        self.tool_audience = audience
        self.tool_data_enc = data_enc
        self.tool_key_transport = key_transport

    # Set every timestamp from one base instant (so --issue-instant-offset and
    # --not-on-or-after give exact, predictable values).  Runs before signing.
    def setup_assertion(self, *args, **kwargs):
        assertion = super().setup_assertion(*args, **kwargs)
        if not isinstance(assertion, saml.Assertion):
            return assertion
        base = self.tool_time_base
        until = fmt_time(base + dt.timedelta(seconds=self.tool_lifetime))
        assertion.issue_instant = fmt_time(base)
        if assertion.conditions is not None:
            assertion.conditions.not_before = fmt_time(base)
            assertion.conditions.not_on_or_after = until
            if self.tool_audience is not None:
                for restriction in assertion.conditions.audience_restriction:
                    for audience in restriction.audience:
                        audience.text = self.tool_audience
        if assertion.subject is not None:
            for conf in assertion.subject.subject_confirmation:
                if conf.subject_confirmation_data is not None:
                    conf.subject_confirmation_data.not_on_or_after = until
        for statement in assertion.authn_statement:
            statement.authn_instant = fmt_time(base)
        return assertion

    def _add_info(self, msg, **kwargs):
        super()._add_info(msg, **kwargs)
        if isinstance(msg, samlp.Response):
            msg.issue_instant = fmt_time(self.tool_time_base)

    # pysaml2 would use 3DES-CBC (template default + "des-192" session key).
    def _encrypt_assertion(self, encrypt_cert, sp_entity_id, response, node_xpath=None):
        if encrypt_cert:
            certs = [(None, encrypt_cert)]
        else:
            certs = self.metadata.certs(sp_entity_id, "any", "encryption")
        if not certs:
            raise ToolError(400, f"SP {sp_entity_id} has no encryption certificate in its metadata")
        msg_enc, session_key = DATA_ENC_ALGS[self.tool_data_enc]
        key_name, cert = certs[0]
        wrapped, unwrapped = get_pem_wrapped_unwrapped(cert)
        with tempfile.NamedTemporaryFile("w", suffix=".pem", prefix="spenc-") as fh:
            fh.write(wrapped)
            fh.flush()
            template = pre_encryption_part(
                msg_enc=msg_enc,
                key_enc=KEY_TRANSPORT_ALGS[self.tool_key_transport],
                key_name=key_name,
                encrypt_cert=unwrapped,
            )
            return self.sec.encrypt_assertion(
                response, fh.name, template, key_type=session_key, node_xpath=node_xpath
            )


def sp_entities(server: Server) -> list[str]:
    return [eid for eid, ent in server.metadata.items() if ent.get("spsso_descriptor")]


def pick_sp(server: Server, wanted: str | None) -> str:
    sps = sp_entities(server)
    if wanted:
        if wanted not in sps:
            raise ToolError(400, f"SP {wanted!r} not found in SP metadata (have {sps})")
        return wanted
    if len(sps) != 1:
        raise ToolError(400, f"expected exactly one SP in SP metadata, found {sps}")
    return sps[0]


def default_acs(server: Server, sp_entity_id: str) -> str:
    """The HTTP-POST ACS: isDefault="true" first, else lowest index, else first."""
    services = []
    for spsso in server.metadata[sp_entity_id]["spsso_descriptor"]:
        for acs in spsso.get("assertion_consumer_service", []):
            if acs.get("binding") == BINDING_HTTP_POST:
                services.append(acs)
    if not services:
        raise ToolError(400, f"SP {sp_entity_id} has no HTTP-POST AssertionConsumerService")

    def rank(acs):
        is_default = str(acs.get("is_default", "")).lower() == "true"
        try:
            index = int(acs.get("index", 0))
        except ValueError:
            index = 0
        return (0 if is_default else 1, index)

    return sorted(services, key=rank)[0]["location"]


def sp_signing_certs(server: Server, sp_entity_id: str) -> list[x509.Certificate]:
    certs = []
    for _name, text in server.metadata.certs(sp_entity_id, "spsso", "signing"):
        certs.append(cert_from_metadata_b64(text))
    return certs


def build_response_xml(
    server: ToolServer,
    *,
    sp_entity_id: str,
    acs_url: str,
    user: dict,
    in_response_to: str | None,
    sign_assertion: bool,
    sign_response: bool,
    encrypt_assertion: bool,
) -> str:
    identity = {}
    for attr, key in (("Email", "email"), ("First", "first"), ("Last", "last")):
        if user.get(key):
            identity[attr] = [user[key]]
    if encrypt_assertion and not server.metadata.certs(sp_entity_id, "any", "encryption"):
        # pysaml2 would silently skip encryption in this case.
        raise ToolError(400, f"--encrypt-assertion: SP {sp_entity_id} has no encryption certificate")
    name_id = saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user["email"])
    response = server.create_authn_response(
        identity,
        in_response_to,
        acs_url,
        sp_entity_id,
        name_id=name_id,
        authn={"class_ref": PASSWORDPROTECTEDTRANSPORT, "authn_auth": server.config.entityid},
        sign_assertion=sign_assertion,
        sign_response=sign_response,
        encrypt_assertion=encrypt_assertion,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
    )
    text = str(response)
    if "urn:oasis:names:tc:SAML:2.0:status:Success" not in text:
        raise ToolError(500, f"pysaml2 produced a non-success response: {text}")
    return text


def b64(xml_text: str) -> str:
    return base64.b64encode(xml_text.encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------
# sign mode


def cmd_sign(args) -> int:
    sp_md = read_sp_metadata(args.sp_metadata)
    cnf = build_config(args.idp_entity_id, args.idp_key, args.idp_cert, sp_md, lifetime=args.not_on_or_after)
    base = utcnow() + dt.timedelta(seconds=args.issue_instant_offset)
    server = ToolServer(
        cnf,
        time_base=base,
        lifetime=args.not_on_or_after,
        audience=args.audience,
        data_enc=args.data_enc,
        key_transport=args.key_transport,
    )
    sp = pick_sp(server, args.sp_entity_id)
    acs = args.acs or default_acs(server, sp)
    xml_text = build_response_xml(
        server,
        sp_entity_id=sp,
        acs_url=acs,
        user={"email": args.email, "first": args.first, "last": args.last},
        in_response_to=args.in_response_to,
        sign_assertion=args.sign_assertion,
        sign_response=args.sign_response,
        encrypt_assertion=args.encrypt_assertion,
    )
    if args.format == "xml":
        sys.stdout.write(xml_text.rstrip("\n") + "\n")
    else:
        sys.stdout.write(b64(xml_text) + "\n")
    sys.stdout.flush()
    return 0


# --------------------------------------------------------------------------
# serve mode


class IdPState:
    def __init__(self, args, base_url: str):
        self.args = args
        self.base_url = base_url
        self.entity_id = f"{base_url}/idp/metadata"
        self.key_file = os.path.join(args.workdir, "idp.key")
        self.cert_file = os.path.join(args.workdir, "idp.crt")
        self.metadata_file = os.path.join(args.workdir, "idp-metadata.xml")
        self.lock = threading.Lock()
        self.user = dict(DEFAULT_USER)
        self.last_request: dict | None = None
        # SLO: SessionIndex values issued per email, and the last logout message received.
        self.session_indexes: dict[str, list[str]] = {}
        self.last_logout: dict | None = None
        self.other_key_file = os.path.join(args.workdir, "other.key")
        self.other_cert_file = os.path.join(args.workdir, "other.crt")

    def current_user(self) -> dict:
        with self.lock:
            return dict(self.user)

    def server(self, check_request_signature: bool) -> ToolServer:
        sp_md = read_sp_metadata(self.args.sp_metadata)
        cnf = build_config(
            self.entity_id,
            self.key_file,
            self.cert_file,
            sp_md,
            base_url=self.base_url,
            want_authn_requests_signed=check_request_signature,
            lifetime=self.args.lifetime,
            slo_bindings=self.args.slo_binding,
        )
        try:
            return ToolServer(cnf, lifetime=self.args.lifetime, data_enc=self.args.data_enc,
                              key_transport=self.args.key_transport)
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ToolError(503, f"pysaml2 rejected the SP metadata: {exc!r}") from exc

    def write_idp_metadata(self) -> None:
        cnf = build_config(self.entity_id, self.key_file, self.cert_file, None, base_url=self.base_url,
                           slo_bindings=self.args.slo_binding)
        desc = entity_descriptor(cnf)
        text = str(desc)
        tmp = self.metadata_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self.metadata_file)


def raw_query_pairs(query: str) -> list[tuple[str, str]]:
    """(decoded name, still-URL-encoded value) in order of appearance."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((urllib.parse.unquote_plus(name), value))
    return pairs


def single_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in pairs:
        if name in out:
            raise ToolError(400, f"duplicate query parameter {name}")
        out[name] = raw
    return out


def verify_raw_redirect_signature(raw: dict[str, str], certs: list[x509.Certificate]) -> str | None:
    """Check the Redirect-binding signature over the octets exactly as received
    (SAML bindings 3.4.4.1).  Returns None if valid, else a reason."""
    sigalg = urllib.parse.unquote_plus(raw["SigAlg"])
    hash_cls = REDIRECT_SIG_HASHES.get(sigalg)
    if hash_cls is None:
        return f"unsupported SigAlg {sigalg}"
    signed = "&".join(f"{k}={raw[k]}" for k in ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg") if k in raw)
    try:
        signature = base64.b64decode(urllib.parse.unquote_plus(raw["Signature"]), validate=True)
    except ValueError as exc:
        return f"Signature is not valid base64: {exc}"
    if not certs:
        return "SP metadata has no signing certificate"
    for cert in certs:
        try:
            cert.public_key().verify(signature, signed.encode("ascii"), padding.PKCS1v15(), hash_cls())
            return None
        except (InvalidSignature, ValueError, TypeError):
            continue
    return "signature over the raw query string does not verify with any SP signing certificate"


def sp_slo_location(server: Server, sp: str, binding: str) -> str:
    """The SP's SingleLogoutService for this binding, from its metadata."""
    for spsso in server.metadata[sp]["spsso_descriptor"]:
        for slo in spsso.get("single_logout_service", []):
            if slo.get("binding") == binding:
                return slo["location"]
    raise ToolError(400, f"SP {sp} has no {binding} SingleLogoutService in its metadata")


def signed_redirect_url(destination: str, param: str, xml_text: str, relay_state: str | None, key_file: str) -> str:
    """HTTP-Redirect binding (SAML bindings 3.4.4.1): raw DEFLATE, base64, quote_plus, and an
    RSA-SHA256 signature over SAMLxxx=...&RelayState=...&SigAlg=... exactly as sent."""
    deflated = zlib.compress(xml_text.encode("utf-8"))[2:-4]
    query = f"{param}={urllib.parse.quote_plus(base64.b64encode(deflated).decode('ascii'))}"
    if relay_state:
        query += f"&RelayState={urllib.parse.quote_plus(relay_state)}"
    query += f"&SigAlg={urllib.parse.quote_plus(SIG_RSA_SHA256)}"
    with open(key_file, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    signature = key.sign(query.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    sep = "&" if "?" in destination else "?"
    return f"{destination}{sep}{query}&Signature={urllib.parse.quote_plus(base64.b64encode(signature).decode('ascii'))}"


def unsigned_redirect_url(destination: str, param: str, xml_text: str) -> str:
    deflated = zlib.compress(xml_text.encode("utf-8"))[2:-4]
    sep = "&" if "?" in destination else "?"
    return f"{destination}{sep}{param}={urllib.parse.quote_plus(base64.b64encode(deflated).decode('ascii'))}"


def auto_post_form(action: str, saml_response_b64: str, relay_state: str | None) -> str:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "<head><meta charset=\"utf-8\"><title>pysaml2 test IdP</title></head>",
        "<body>",
        f'<form id="saml-post" method="post" action="{html.escape(action, quote=True)}">',
        f'<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response_b64, quote=True)}"/>',
    ]
    if relay_state is not None:
        lines.append(f'<input type="hidden" name="RelayState" value="{html.escape(relay_state, quote=True)}"/>')
    lines += [
        '<noscript><button type="submit">Continue</button></noscript>',
        "</form>",
        "<script>document.getElementById('saml-post').submit();</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)


def summarize_request(req, binding: str, relay_state, sigalg) -> dict:
    msg = req.message
    policy = msg.name_id_policy
    return {
        "binding": binding,
        "id": msg.id,
        "issuer": msg.issuer.text.strip() if msg.issuer is not None else None,
        "issue_instant": msg.issue_instant,
        "destination": msg.destination,
        "assertion_consumer_service_url": msg.assertion_consumer_service_url,
        "assertion_consumer_service_index": msg.assertion_consumer_service_index,
        "protocol_binding": msg.protocol_binding,
        "name_id_policy_format": policy.format if policy is not None else None,
        "name_id_policy_allow_create": policy.allow_create if policy is not None else None,
        "force_authn": msg.force_authn,
        "is_passive": msg.is_passive,
        "relay_state": relay_state,
        "sig_alg": sigalg,
        "xml": req.xmlstr.decode("utf-8") if isinstance(req.xmlstr, bytes) else req.xmlstr,
    }


def check_authn_request(server: ToolServer, req) -> tuple[str, str]:
    """Extra checks pysaml2 does not enforce. Returns (sp_entity_id, acs_url)."""
    msg = req.message
    if not msg.id:
        raise ToolError(400, "AuthnRequest has no ID")
    if msg.issuer is None or not (msg.issuer.text or "").strip():
        raise ToolError(400, "AuthnRequest has no Issuer")
    sp = msg.issuer.text.strip()
    if sp not in sp_entities(server):
        raise ToolError(400, f"AuthnRequest Issuer {sp!r} is not an SP in the SP metadata")
    try:
        issued = parse_time(msg.issue_instant)
    except (TypeError, ValueError) as exc:
        raise ToolError(400, f"bad IssueInstant {msg.issue_instant!r}") from exc
    skew = abs((utcnow() - issued).total_seconds())
    if skew > REQUEST_CLOCK_SKEW:
        raise ToolError(400, f"AuthnRequest IssueInstant {msg.issue_instant} is {skew:.0f}s away from now")
    if not msg.destination:
        # pysaml2 checks Destination only when present; the SP contract says it is sent.
        raise ToolError(400, "AuthnRequest has no Destination")
    if msg.protocol_binding and msg.protocol_binding != BINDING_HTTP_POST:
        raise ToolError(400, f"unsupported ProtocolBinding {msg.protocol_binding}")
    policy = msg.name_id_policy
    if policy is not None and policy.format not in (None, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED):
        raise ToolError(400, f"unsupported NameIDPolicy Format {policy.format}")
    # pysaml2 7.5.5's Server.verify_assertion_consumer_service is broken (it
    # reads .text/.index on the metadata dicts), so match against the metadata here.
    post_acs = [
        acs
        for spsso in server.metadata[sp]["spsso_descriptor"]
        for acs in spsso.get("assertion_consumer_service", [])
        if acs.get("binding") == BINDING_HTTP_POST
    ]
    if msg.assertion_consumer_service_url:
        acs = msg.assertion_consumer_service_url
        if acs not in [a.get("location") for a in post_acs]:
            raise ToolError(400, f"AssertionConsumerServiceURL {acs!r} is not an HTTP-POST ACS of {sp} in its metadata")
    elif msg.assertion_consumer_service_index is not None:
        index = str(msg.assertion_consumer_service_index)
        match = [a.get("location") for a in post_acs if str(a.get("index")) == index]
        if not match:
            raise ToolError(400, f"AssertionConsumerServiceIndex {index} is not an HTTP-POST ACS of {sp}")
        acs = match[0]
    else:
        acs = default_acs(server, sp)
    return sp, acs


def make_handler(state: IdPState):
    args = state.args

    class Handler(BaseHTTPRequestHandler):
        server_version = "pysaml2-test-idp/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *fargs):  # noqa: A002 - stdlib signature
            sys.stderr.write("[idp] %s %s\n" % (self.address_string(), format % fargs))
            sys.stderr.flush()

        def _send(self, status: int, body: str, ctype: str = "text/plain; charset=utf-8", extra=None):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, routes):
            parts = urllib.parse.urlsplit(self.path)
            route = routes.get(parts.path)
            try:
                if route is None:
                    raise ToolError(404, f"no route {parts.path}")
                route(parts.query)
            except ToolError as exc:
                sys.stderr.write(f"[idp] error {exc.status} on {parts.path}: {exc.message}\n")
                sys.stderr.flush()
                self._send(exc.status, exc.message + "\n")
            except Exception as exc:  # noqa: BLE001
                sys.stderr.write(f"[idp] internal error on {parts.path}: {exc!r}\n{traceback.format_exc()}")
                sys.stderr.flush()
                self._send(500, f"internal error: {exc!r}\n")

        def do_GET(self):  # noqa: N802
            self._dispatch(
                {
                    "/slo/redirect": self.slo_redirect,
                    "/logout-initiate": self.logout_initiate,
                    "/logout-response": self.logout_response,
                    "/last-logout": self.last_logout_route,
                    "/set-user": self.set_user,
                    "/sso/redirect": self.sso_redirect,
                    "/launch": self.launch,
                    "/idp/metadata": self.metadata,
                    "/metadata": self.metadata,
                    "/last-request": self.last_request,
                    "/healthz": lambda _q: self._send(200, "ok\n"),
                }
            )

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            self._dispatch(
                {
                    "/sso/post": lambda _q: self.sso_post(body),
                    "/slo/post": lambda _q: self.slo_post(body),
                    "/reload-sp": lambda _q: self._send(200, "SP metadata is re-read on every request\n"),
                }
            )

        # -- routes ---------------------------------------------------------

        def metadata(self, _query):
            with open(state.metadata_file, encoding="utf-8") as fh:
                self._send(200, fh.read(), "application/samlmetadata+xml")

        def set_user(self, query):
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
            email = (params.get("email") or [""])[0]
            if not email:
                raise ToolError(400, "email is required")
            user = {"email": email, "first": (params.get("first") or [""])[0], "last": (params.get("last") or [""])[0]}
            with state.lock:
                state.user = user
            self._send(200, f"user set: {json.dumps(user)}\n")

        def last_request(self, _query):
            with state.lock:
                last = state.last_request
            if last is None:
                raise ToolError(404, "no AuthnRequest received yet")
            self._send(200, json.dumps(last, indent=2) + "\n", "application/json")

        def _answer(self, server, sp, acs, in_response_to, relay_state):
            user = state.current_user()
            xml_text = build_response_xml(
                server,
                sp_entity_id=sp,
                acs_url=acs,
                user=user,
                in_response_to=in_response_to,
                sign_assertion=args.sign_assertion,
                sign_response=args.sign_response,
                encrypt_assertion=args.encrypt_assertion,
            )
            if args.debug:
                sys.stderr.write(f"[idp] response XML:\n{xml_text}\n")
            for index in re.findall(r'SessionIndex="([^"]+)"', xml_text):
                with state.lock:
                    state.session_indexes.setdefault(user["email"], []).append(index)
            self._send(200, auto_post_form(acs, b64(xml_text), relay_state), "text/html; charset=utf-8")

        def _record(self, req, binding, relay_state, sigalg):
            summary = summarize_request(req, binding, relay_state, sigalg)
            with state.lock:
                state.last_request = summary
            brief = {k: v for k, v in summary.items() if k != "xml"}
            sys.stderr.write(f"[idp] AuthnRequest {json.dumps(brief)}\n")
            sys.stderr.flush()

        def _parse_redirect(self, server, saml_request, parse_args, hint):
            try:
                req = server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT, **parse_args)
            except Exception as exc:  # noqa: BLE001
                cause = exc.__cause__ or exc.__context__
                detail = f"{exc!r}" + (f" (cause: {cause!r})" if cause else "")
                raise ToolError(400, f"pysaml2 rejected the AuthnRequest: {detail}{hint}") from exc
            if req is None or req.message is None:
                raise ToolError(400, "pysaml2 could not parse the AuthnRequest")
            return req

        def sso_redirect(self, query):
            raw = single_params(raw_query_pairs(query))
            if "SAMLRequest" not in raw:
                raise ToolError(400, "missing SAMLRequest")
            if "Signature" not in raw or "SigAlg" not in raw:
                raise ToolError(400, "unsigned AuthnRequest: Signature and SigAlg are required")
            dec = {k: urllib.parse.unquote_plus(v) for k, v in raw.items()}
            sigalg = dec["SigAlg"]
            if args.require_sigalg != "any" and sigalg != args.require_sigalg:
                raise ToolError(400, f"SigAlg {sigalg} is not the required {args.require_sigalg}")
            mode = args.redirect_sig_check
            relay_state = dec.get("RelayState")
            parse_args = dict(relay_state=relay_state, sigalg=sigalg, signature=dec["Signature"])
            raw_ok = False
            if mode in ("both", "raw"):
                # Spec check first: signature over the query octets exactly as received.
                server = state.server(check_request_signature=False)
                req = self._parse_redirect(server, dec["SAMLRequest"], parse_args, "")
                issuer = req.message.issuer.text.strip() if req.message.issuer is not None else ""
                if issuer not in sp_entities(server):
                    raise ToolError(400, f"AuthnRequest Issuer {issuer!r} is not an SP in the SP metadata")
                reason = verify_raw_redirect_signature(raw, sp_signing_certs(server, issuer))
                if reason:
                    raise ToolError(400, f"redirect signature check failed: {reason}")
                raw_ok = True
            if mode in ("both", "pysaml2"):
                # pysaml2's own check (want_authn_requests_signed=True).
                server = state.server(check_request_signature=True)
                hint = ""
                if raw_ok:
                    hint = (" -- the signature IS valid over the raw query string, but pysaml2 re-encodes the "
                            "parameters with Python's urlencode (quote_plus: upper-case %XX, space as '+', only "
                            "A-Za-z0-9_.-~ unescaped) before verifying, so the SP's URL encoding differs; "
                            "see README (--redirect-sig-check raw)")
                req = self._parse_redirect(server, dec["SAMLRequest"], parse_args, hint)
            self._record(req, "redirect", relay_state, sigalg)
            sp, acs = check_authn_request(server, req)
            self._answer(server, sp, acs, req.message.id, relay_state)

        def sso_post(self, body):
            form = urllib.parse.parse_qs(body, keep_blank_values=True)
            saml_request = (form.get("SAMLRequest") or [None])[0]
            if not saml_request:
                raise ToolError(400, "missing SAMLRequest")
            relay_state = (form.get("RelayState") or [None])[0]
            server = state.server(check_request_signature=True)
            try:
                req = server.parse_authn_request(saml_request, BINDING_HTTP_POST)
            except Exception as exc:  # noqa: BLE001
                cause = exc.__cause__ or exc.__context__
                raise ToolError(400, f"pysaml2 rejected the AuthnRequest: {exc!r} (cause: {cause!r})") from exc
            if req is None or req.message is None:
                raise ToolError(400, "pysaml2 could not parse the AuthnRequest")
            self._record(req, "post", relay_state, None)
            sp, acs = check_authn_request(server, req)
            self._answer(server, sp, acs, req.message.id, relay_state)

        # -- Single Logout ----------------------------------------------------

        def _record_logout(self, summary):
            with state.lock:
                state.last_logout = summary
            sys.stderr.write(f"[idp] logout message {json.dumps({k: v for k, v in summary.items() if k != 'xml'})}\n")
            sys.stderr.flush()

        def last_logout_route(self, _query):
            with state.lock:
                last = state.last_logout
            if last is None:
                raise ToolError(404, "no logout message received yet")
            self._send(200, json.dumps(last, indent=2) + "\n", "application/json")

        def _logout_request_summary(self, req, binding):
            msg = req.message
            indexes = [si.text for si in (msg.session_index or [])]
            with state.lock:
                issued = [i for v in state.session_indexes.values() for i in v]
            return {
                "kind": "LogoutRequest",
                "binding": binding,
                "id": msg.id,
                "issuer": msg.issuer.text.strip() if msg.issuer is not None else None,
                "destination": msg.destination,
                "name_id": msg.name_id.text if msg.name_id is not None else None,
                "name_id_format": msg.name_id.format if msg.name_id is not None else None,
                "session_indexes": indexes,
                "session_index_issued_here": bool(indexes) and all(i in issued for i in indexes),
                "verified_by": "pysaml2",
                "xml": req.xmlstr.decode("utf-8") if isinstance(req.xmlstr, bytes) else req.xmlstr,
            }

        def _answer_logout_request(self, server, req, binding):
            """A signed LogoutResponse (Success) to the SP's SLO endpoint in `binding`."""
            sp = req.message.issuer.text.strip()
            destination = sp_slo_location(server, sp, binding)
            if binding == BINDING_HTTP_REDIRECT:
                response = server.create_logout_response(req.message, [binding], sign=False)
                response.destination = destination
                url = signed_redirect_url(destination, "SAMLResponse", str(response), None, state.key_file)
                self._send(302, f"see {url}\n", extra={"Location": url})
            else:
                response = server.create_logout_response(req.message, [binding], sign=False)
                response.destination = destination
                signed = server.sign(response, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
                self._send(200, auto_post_form(destination, b64(str(signed)), None),
                           "text/html; charset=utf-8")

        def slo_redirect(self, query):
            """The SP's LogoutRequest (SP-initiated) or its LogoutResponse (to ours), HTTP-Redirect."""
            raw = single_params(raw_query_pairs(query))
            if "Signature" not in raw or "SigAlg" not in raw:
                raise ToolError(400, "unsigned logout message: Signature and SigAlg are required")
            dec = {k: urllib.parse.unquote_plus(v) for k, v in raw.items()}
            if "SAMLRequest" in raw:
                # Spec check first (signature over the raw query octets), then pysaml2's own
                # (want_authn_requests_signed=True: it verifies the redirect signature too).
                server = state.server(check_request_signature=False)
                probe = server.parse_logout_request(dec["SAMLRequest"], BINDING_HTTP_REDIRECT)
                issuer = probe.message.issuer.text.strip() if probe and probe.message.issuer is not None else ""
                if issuer not in sp_entities(server):
                    raise ToolError(400, f"LogoutRequest Issuer {issuer!r} is not an SP in the SP metadata")
                reason = verify_raw_redirect_signature(raw, sp_signing_certs(server, issuer))
                if reason:
                    raise ToolError(400, f"redirect signature check failed: {reason}")
                server = state.server(check_request_signature=True)
                try:
                    req = server.parse_logout_request(
                        dec["SAMLRequest"], BINDING_HTTP_REDIRECT,
                        relay_state=dec.get("RelayState"), sigalg=dec["SigAlg"], signature=dec["Signature"],
                    )
                except Exception as exc:  # noqa: BLE001
                    raise ToolError(400, f"pysaml2 rejected the LogoutRequest: {exc!r}") from exc
                if req is None or req.message is None:
                    raise ToolError(400, "pysaml2 could not parse the LogoutRequest")
                if req.message.name_id is None or not req.message.name_id.text:
                    raise ToolError(400, "LogoutRequest without NameID")
                self._record_logout(self._logout_request_summary(req, "redirect"))
                self._answer_logout_request(server, req, BINDING_HTTP_REDIRECT)
            elif "SAMLResponse" in raw:
                server = state.server(check_request_signature=False)
                try:
                    resp = server.parse_logout_request_response(dec["SAMLResponse"], BINDING_HTTP_REDIRECT)
                except Exception as exc:  # noqa: BLE001
                    raise ToolError(400, f"pysaml2 rejected the LogoutResponse: {exc!r}") from exc
                issuer = resp.response.issuer.text.strip() if resp.response.issuer is not None else ""
                if issuer not in sp_entities(server):
                    raise ToolError(400, f"LogoutResponse Issuer {issuer!r} is not an SP in the SP metadata")
                reason = verify_raw_redirect_signature(raw, sp_signing_certs(server, issuer))
                if reason:
                    raise ToolError(400, f"redirect signature check failed: {reason}")
                self._record_logout({
                    "kind": "LogoutResponse",
                    "binding": "redirect",
                    "id": resp.response.id,
                    "issuer": issuer,
                    "in_response_to": resp.response.in_response_to,
                    "destination": resp.response.destination,
                    "status": resp.response.status.status_code.value,
                    "verified_by": "raw-query-signature",
                })
                self._send(200, "logout complete\n")
            else:
                raise ToolError(400, "missing SAMLRequest/SAMLResponse")

        def slo_post(self, body):
            form = urllib.parse.parse_qs(body, keep_blank_values=True)
            if form.get("SAMLRequest"):
                server = state.server(check_request_signature=True)
                try:
                    req = server.parse_logout_request(form["SAMLRequest"][0], BINDING_HTTP_POST)
                except Exception as exc:  # noqa: BLE001
                    raise ToolError(400, f"pysaml2 rejected the LogoutRequest: {exc!r}") from exc
                if req is None or req.message is None:
                    raise ToolError(400, "pysaml2 could not parse the LogoutRequest")
                if req.message.signature is None:
                    raise ToolError(400, "unsigned LogoutRequest")
                self._record_logout(self._logout_request_summary(req, "post"))
                self._answer_logout_request(server, req, BINDING_HTTP_POST)
            elif form.get("SAMLResponse"):
                server = state.server(check_request_signature=True)
                try:
                    resp = server.parse_logout_request_response(form["SAMLResponse"][0], BINDING_HTTP_POST)
                except Exception as exc:  # noqa: BLE001
                    raise ToolError(400, f"pysaml2 rejected the LogoutResponse: {exc!r}") from exc
                if resp.response.signature is None:
                    raise ToolError(400, "unsigned LogoutResponse")
                self._record_logout({
                    "kind": "LogoutResponse",
                    "binding": "post",
                    "id": resp.response.id,
                    "issuer": resp.response.issuer.text.strip() if resp.response.issuer is not None else None,
                    "in_response_to": resp.response.in_response_to,
                    "destination": resp.response.destination,
                    "status": resp.response.status.status_code.value,
                    "verified_by": "pysaml2",
                })
                self._send(200, "logout complete\n")
            else:
                raise ToolError(400, "missing SAMLRequest/SAMLResponse")

        def _other_key(self) -> str:
            ensure_keypair(state.other_key_file, state.other_cert_file, "not the pysaml2 test IdP")
            return state.other_key_file

        def logout_initiate(self, query):
            """IdP-initiated logout: answer JSON describing the signed LogoutRequest the browser
            is to carry to the SP (binding=redirect: {"url"}; binding=post: {"action", "SAMLRequest"}).

            email=        the NameID (default: the current user)
            session_index=last | none | a value   (default: last issued to that email)
            binding=redirect | post
            sign=1 | 0;  key=idp | other;  destination=, issuer= override the message fields
            id=           reuse a request ID (replay tests)
            """
            params = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
            server = state.server(check_request_signature=False)
            sp = pick_sp(server, params.get("sp"))
            email = params.get("email") or state.current_user()["email"]
            binding = BINDING_HTTP_POST if params.get("binding") == "post" else BINDING_HTTP_REDIRECT
            destination = params.get("destination") or sp_slo_location(server, sp, binding)
            wanted = params.get("session_index", "last")
            with state.lock:
                issued = list(state.session_indexes.get(email, []))
            if wanted == "none":
                indexes = None
            elif wanted == "last":
                if not issued:
                    raise ToolError(400, f"no SessionIndex was issued to {email}")
                indexes = [issued[-1]]
            else:
                indexes = [wanted]
            name_id = saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email)
            expire = fmt_time(utcnow() + dt.timedelta(minutes=5))
            req_id, req = server.create_logout_request(
                destination, sp, name_id=name_id, session_indexes=indexes, expire=expire, sign=False,
            )
            if params.get("id"):
                req.id = params["id"]
                req_id = req.id
            if params.get("issuer"):
                req.issuer.text = params["issuer"]
            sign = params.get("sign", "1") == "1"
            key_file = self._other_key() if params.get("key") == "other" else state.key_file
            if binding == BINDING_HTTP_REDIRECT:
                if sign:
                    url = signed_redirect_url(destination, "SAMLRequest", str(req), params.get("relay_state"), key_file)
                else:
                    url = unsigned_redirect_url(destination, "SAMLRequest", str(req))
                out = {"id": req_id, "url": url}
            else:
                if params.get("key") == "other":
                    raise ToolError(400, "key=other is only offered for the Redirect binding")
                text = str(server.sign(req, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)) if sign else str(req)
                out = {"id": req_id, "action": destination, "SAMLRequest": b64(text)}
            self._send(200, json.dumps(out) + "\n", "application/json")

        def logout_response(self, query):
            """A signed LogoutResponse (Redirect) to the SP answering in_response_to=, which the
            SP never sent (for refusal tests). JSON {"url"}."""
            params = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
            server = state.server(check_request_signature=False)
            sp = pick_sp(server, params.get("sp"))
            destination = sp_slo_location(server, sp, BINDING_HTTP_REDIRECT)
            response = samlp.LogoutResponse(
                id=f"_{os.urandom(16).hex()}",
                version="2.0",
                issue_instant=fmt_time(utcnow()),
                destination=destination,
                in_response_to=params.get("in_response_to", "_never_sent"),
                issuer=saml.Issuer(text=state.entity_id, format=saml.NAMEID_FORMAT_ENTITY),
                status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)),
            )
            url = signed_redirect_url(destination, "SAMLResponse", str(response), None, state.key_file)
            self._send(200, json.dumps({"url": url}) + "\n", "application/json")

        def launch(self, query):
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
            server = state.server(check_request_signature=False)
            sp = pick_sp(server, (params.get("sp") or [None])[0])
            relay_state = (params.get("relay_state") or [None])[0]
            acs = default_acs(server, sp)
            self._answer(server, sp, acs, None, relay_state)

    return Handler


def cmd_serve(args) -> int:
    os.makedirs(args.workdir, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), None)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    base_url = f"{'https' if args.tls else 'http'}://127.0.0.1:{port}"
    state = IdPState(args, base_url)
    ensure_keypair(state.key_file, state.cert_file, "pysaml2 test IdP")
    if args.tls:
        # As real IdPs are: a browser refuses to let an https page's form lead to http.
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(state.cert_file, state.key_file)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    state.write_idp_metadata()
    httpd.RequestHandlerClass = make_handler(state)

    def on_term(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    sys.stderr.write(
        f"[idp] entity {state.entity_id}, metadata {state.metadata_file}, SP metadata {args.sp_metadata}\n"
    )
    sys.stdout.write(f"READY {base_url}\n")
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        httpd.server_close()
        sys.stderr.write("[idp] stopped\n")
        sys.stderr.flush()
    return 0


# --------------------------------------------------------------------------
# CLI


def add_common_response_flags(p: argparse.ArgumentParser, sign_assertion_default: bool) -> None:
    p.add_argument("--sign-assertion", dest="sign_assertion", action="store_true",
                   default=sign_assertion_default, help="sign the Assertion")
    p.add_argument("--no-sign-assertion", dest="sign_assertion", action="store_false",
                   help="do not sign the Assertion")
    p.add_argument("--sign-response", dest="sign_response", action="store_true", default=False,
                   help="sign the Response")
    p.add_argument("--no-sign-response", dest="sign_response", action="store_false")
    p.add_argument("--encrypt-assertion", action="store_true", default=False,
                   help="encrypt the (signed) Assertion with the SP's encryption cert")
    p.add_argument("--data-enc", choices=sorted(DATA_ENC_ALGS), default="aes256-cbc",
                   help="block cipher for --encrypt-assertion (default aes256-cbc)")
    p.add_argument("--key-transport", choices=sorted(KEY_TRANSPORT_ALGS), default="rsa-oaep-mgf1p",
                   help="key transport for --encrypt-assertion (default rsa-oaep-mgf1p)")
    p.add_argument("--debug", action="store_true", help="verbose pysaml2 logging to stderr")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)

    ps = sub.add_parser("serve", help="run the test IdP over HTTP (or HTTPS with --tls) on 127.0.0.1")
    ps.add_argument("--port", type=int, default=0, help="0 = pick a free port (see the READY line)")
    ps.add_argument("--workdir", required=True, help="holds idp.key, idp.crt, idp-metadata.xml")
    ps.add_argument("--tls", action="store_true", help="serve HTTPS with the IdP's own (self-signed) certificate")
    ps.add_argument("--sp-metadata", required=True, help="SP metadata file path or http(s) URL (re-read per request)")
    ps.add_argument("--lifetime", type=int, default=300, help="assertion lifetime in seconds (default 300)")
    ps.add_argument("--redirect-sig-check", choices=("both", "raw", "pysaml2"), default="both",
                    help="how to verify HTTP-Redirect AuthnRequest signatures (default both)")
    ps.add_argument("--slo-binding", choices=("both", "redirect", "post", "none"), default="both",
                    help="SingleLogoutService bindings in the IdP metadata (default both)")
    ps.add_argument("--require-sigalg", default=SIG_RSA_SHA256,
                    help="SigAlg a redirect request must use ('any' to accept any RSA one)")
    add_common_response_flags(ps, sign_assertion_default=True)

    pg = sub.add_parser("sign", help="print one base64 SAMLResponse made by pysaml2")
    pg.add_argument("--idp-key", required=True)
    pg.add_argument("--idp-cert", required=True)
    pg.add_argument("--idp-entity-id", required=True)
    pg.add_argument("--sp-metadata", required=True, help="SP metadata file path or http(s) URL")
    pg.add_argument("--sp-entity-id", help="which SP, if the metadata holds several")
    pg.add_argument("--email", required=True)
    pg.add_argument("--first", default="")
    pg.add_argument("--last", default="")
    pg.add_argument("--in-response-to", default=None)
    pg.add_argument("--issue-instant-offset", type=int, default=0,
                    help="shift all timestamps by SECS (negative = in the past)")
    pg.add_argument("--not-on-or-after", type=int, default=300,
                    help="lifetime in SECS of Conditions and SubjectConfirmationData (default 300)")
    pg.add_argument("--acs", help="override Destination/Recipient (default: SP's HTTP-POST ACS)")
    pg.add_argument("--audience", help="override the Audience (default: SP entity ID)")
    pg.add_argument("--format", choices=("b64", "xml"), default="b64", help="output (default b64)")
    add_common_response_flags(pg, sign_assertion_default=False)

    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.debug else logging.WARNING,
                        format="[%(name)s] %(levelname)s %(message)s")
    try:
        if args.mode == "serve":
            return cmd_serve(args)
        return cmd_sign(args)
    except ToolError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
