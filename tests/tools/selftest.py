#!/usr/bin/env python3
"""Self-test of the pysaml2 test tooling, without spconnect.

    python3 tests/tools/selftest.py [--keep]

Makes a throwaway SP (key, cert, metadata shaped like spconnect's) in a temp
directory outside the repo, then exercises check_sp_metadata.py, every flag
combination of `pysaml2_idp.py sign` (verified with the xmlsec1 CLI and with a
pysaml2 SP client) and `pysaml2_idp.py serve` driven by a pysaml2 Saml2Client
(signed HTTP-Redirect and HTTP-POST AuthnRequests, tampered/unsigned requests,
IdP-initiated launch, encryption, SIGTERM).  Ends with "N passed, N failed".
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import itertools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
import urllib.error
import urllib.parse
import urllib.request
import warnings

warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS  # noqa: E402
from saml2.xmldsig import SIG_RSA_SHA1, SIG_RSA_SHA256  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
IDP = os.path.join(HERE, "pysaml2_idp.py")
CHECK = os.path.join(HERE, "check_sp_metadata.py")
PY = sys.executable
XMLSEC = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"

SSO_ID = "123456789012"
SP_BASE = "http://127.0.0.1:18080"
SP_ENTITY = f"{SP_BASE}/api/rest/sso/saml/{SSO_ID}"
SP_ACS = f"{SP_BASE}/api/rest/sso/saml/sso/{SSO_ID}"
SP_SLO = f"{SP_BASE}/api/rest/sso/saml/slo/{SSO_ID}"

ID_ATTRS = [
    "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
]
XP_RESPONSE_SIG = "/*[local-name()='Response']/*[local-name()='Signature']"
XP_ASSERTION_SIG = "//*[local-name()='Assertion']/*[local-name()='Signature']"

RESULTS = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def make_keypair(dirpath, stem, cn):
    key_path = os.path.join(dirpath, f"{stem}.key")
    cert_path = os.path.join(dirpath, f"{stem}.crt")
    res = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key_path,
               "-out", cert_path, "-days", "30", "-subj", f"/CN={cn}"])
    assert res.returncode == 0, res.stderr
    return key_path, cert_path


def cert_b64(cert_path):
    with open(cert_path) as fh:
        return "".join(line.strip() for line in fh if "-----" not in line)


def write_sp_metadata(path, cert_path):
    cert = cert_b64(cert_path)
    kd = ('<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
          + cert + "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{SP_ENTITY}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {kd.format(use="signing")}
    {kd.format(use="encryption")}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SP_SLO}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{SP_ACS}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""
    with open(path, "w") as fh:
        fh.write(xml)


def sp_client(tmp, sp_key, sp_crt, idp_metadata, *, want_assertions_signed=False, want_response_signed=False):
    conf = {
        "entityid": SP_ENTITY,
        "xmlsec_binary": XMLSEC,
        "key_file": sp_key,
        "cert_file": sp_crt,
        "encryption_keypairs": [{"key_file": sp_key, "cert_file": sp_crt}],
        "metadata": {"local": [idp_metadata]},
        "allow_unknown_attributes": True,
        "accepted_time_diff": 60,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(SP_ACS, BINDING_HTTP_POST)],
                    "single_logout_service": [(SP_SLO, BINDING_HTTP_REDIRECT)],
                },
                "authn_requests_signed": True,
                "want_assertions_signed": want_assertions_signed,
                "want_response_signed": want_response_signed,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": True,
                "name_id_format": NAMEID_FORMAT_EMAILADDRESS,
                "signing_algorithm": SIG_RSA_SHA256,
            }
        },
    }
    return Saml2Client(config=SPConfig().load(conf))


def idp_metadata_for_cert(path, entity_id, cert_path):
    """Minimal IdP metadata so a Saml2Client can verify sign-mode output."""
    cert = cert_b64(cert_path)
    with open(path, "w") as fh:
        fh.write(f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://idp.invalid/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>
""")


def xmlsec_verify(xml_path, cert_path, xpath):
    res = run([XMLSEC, "--verify", "--pubkey-cert-pem", cert_path, *ID_ATTRS, "--node-xpath", xpath, xml_path])
    return res.returncode == 0, res.stderr[-400:]


def xmlsec_decrypt(xml_path, key_path, out_path):
    res = run([XMLSEC, "--decrypt", "--privkey-pem", key_path, "--output", out_path, xml_path])
    return res.returncode == 0, res.stderr[-400:]


def attr(xml, local, name):
    m = re.search(rf"<[\w]+:{local}\b[^>]*\b{name}=\"([^\"]*)\"", xml)
    return m.group(1) if m else None


def parse_time(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------


def test_check_metadata(tmp, sp_md):
    res = run([PY, CHECK, sp_md])
    check("check_sp_metadata accepts SP metadata", res.returncode == 0, res.stderr)
    if res.returncode == 0:
        out = json.loads(res.stdout)
        check("check_sp_metadata JSON fields",
              out["entity_id"] == SP_ENTITY and out["acs"] == [SP_ACS] and out["signing_certs"] == 1
              and out["encryption_certs"] == 1 and out["authn_requests_signed"] is True
              and out["want_assertions_signed"] is True, out)
    bad = os.path.join(tmp, "bad-md.xml")
    with open(sp_md) as fh, open(bad, "w") as out_fh:
        out_fh.write(re.sub(r"<md:AssertionConsumerService[^>]*/>", "", fh.read()))
    res = run([PY, CHECK, bad])
    check("check_sp_metadata rejects metadata without ACS", res.returncode != 0 and "error" in res.stderr, res.stderr)


def test_sign_mode(tmp, sp_md, sp_key, sp_crt, idp_key, idp_crt):
    idp_eid = "http://idp.example.test/metadata"
    idp_md = os.path.join(tmp, "sign-idp-md.xml")
    idp_metadata_for_cert(idp_md, idp_eid, idp_crt)
    base = [PY, IDP, "sign", "--idp-key", idp_key, "--idp-cert", idp_crt, "--idp-entity-id", idp_eid,
            "--sp-metadata", sp_md, "--email", "bob@example.com", "--first", "Bob", "--last", "Builder"]
    for sa, sr, enc in itertools.product((True, False), repeat=3):
        label = f"sign sa={int(sa)} sr={int(sr)} enc={int(enc)}"
        cmd = list(base) + ["--in-response-to", "_req123"]
        cmd += ["--sign-assertion"] if sa else []
        cmd += ["--sign-response"] if sr else []
        cmd += ["--encrypt-assertion"] if enc else []
        res = run(cmd)
        if res.returncode != 0 or len(res.stdout.strip().splitlines()) != 1:
            check(label, False, res.stderr)
            continue
        b64 = res.stdout.strip()
        xml = base64.b64decode(b64).decode()
        path = os.path.join(tmp, f"resp-{int(sa)}{int(sr)}{int(enc)}.xml")
        with open(path, "w") as fh:
            fh.write(xml)
        ok = True
        problems = []
        if sr:
            good, err = xmlsec_verify(path, idp_crt, XP_RESPONSE_SIG)
            ok &= good
            problems += [] if good else [f"response sig: {err}"]
        inner_path, inner = path, xml
        if enc:
            ok &= "EncryptedAssertion" in xml and "aes256-cbc" in xml and "rsa-oaep-mgf1p" in xml
            inner_path = path + ".dec"
            good, err = xmlsec_decrypt(path, sp_key, inner_path)
            ok &= good
            problems += [] if good else [f"decrypt: {err}"]
            inner = open(inner_path).read() if good else ""
        if sa:
            good, err = xmlsec_verify(inner_path, idp_crt, XP_ASSERTION_SIG)
            ok &= good
            problems += [] if good else [f"assertion sig: {err}"]
        n_sigs = inner.count(":SignatureValue>") // 2  # the decrypted doc holds every signature
        ok &= n_sigs == int(sa) + int(sr)
        ok &= attr(inner, "SubjectConfirmationData", "Recipient") == SP_ACS
        ok &= attr(inner, "SubjectConfirmationData", "InResponseTo") == "_req123"
        ok &= attr(xml, "Response", "InResponseTo") == "_req123"
        ok &= attr(xml, "Response", "Destination") == SP_ACS
        ok &= f">{SP_ENTITY}</" in inner and "Audience" in inner
        ok &= 'Name="Email"' in inner and 'Name="First"' in inner and 'Name="Last"' in inner
        ok &= "emailAddress\">bob@example.com<" in inner
        # A pysaml2 SP must accept every signed variant and reject the unsigned one.
        client = sp_client(tmp, sp_key, sp_crt, idp_md)
        try:
            resp = client.parse_authn_request_response(b64, BINDING_HTTP_POST, outstanding={"_req123": "/"})
            accepted = resp is not None and resp.ava.get("Email") == ["bob@example.com"]
        except Exception as exc:  # noqa: BLE001
            accepted = False
            problems.append(f"pysaml2 SP: {exc!r}")
        if sa or sr:
            ok &= accepted
        else:
            ok &= not accepted
        check(label, ok, "; ".join(problems))

    # timestamps
    res = run(base + ["--sign-assertion", "--issue-instant-offset", "-600", "--not-on-or-after", "60",
                      "--format", "xml"])
    now = dt.datetime.now(dt.timezone.utc)
    ok = res.returncode == 0
    if ok:
        xml = res.stdout
        issue = parse_time(attr(xml, "Assertion", "IssueInstant"))
        nooa = parse_time(attr(xml, "Conditions", "NotOnOrAfter"))
        scd = parse_time(attr(xml, "SubjectConfirmationData", "NotOnOrAfter"))
        ok = abs((now - issue).total_seconds() - 600) < 5 and (nooa - issue).total_seconds() == 60 and scd == nooa
        ok &= attr(xml, "Response", "IssueInstant") == attr(xml, "Assertion", "IssueInstant")
        ok &= attr(xml, "SubjectConfirmationData", "InResponseTo") is None
        ok &= attr(xml, "Response", "InResponseTo") is None
    check("sign --issue-instant-offset/--not-on-or-after, unsolicited", ok, res.stderr)

    for data_enc in ("aes128-cbc", "aes256-gcm"):
        res = run(base + ["--sign-assertion", "--encrypt-assertion", "--data-enc", data_enc, "--format", "xml"])
        ok = res.returncode == 0 and data_enc in res.stdout
        if ok:
            path = os.path.join(tmp, f"resp-{data_enc}.xml")
            with open(path, "w") as fh:
                fh.write(res.stdout)
            good, _ = xmlsec_decrypt(path, sp_key, path + ".dec")
            ok = good and xmlsec_verify(path + ".dec", idp_crt, XP_ASSERTION_SIG)[0]
        check(f"sign --data-enc {data_enc}", ok, res.stderr[-300:])


class Idp:
    def __init__(self, tmp, name, sp_md, *extra):
        self.workdir = os.path.join(tmp, name)
        self.proc = subprocess.Popen(
            [PY, IDP, "serve", "--port", "0", "--workdir", self.workdir, "--sp-metadata", sp_md, *extra],
            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, f"{name}.stderr"), "w"), text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY http://127.0.0.1:"):
            raise RuntimeError(f"no READY line: {line!r}")
        self.base = line.split()[1]
        self.metadata = os.path.join(self.workdir, "idp-metadata.xml")
        self.entity_id = f"{self.base}/idp/metadata"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def http_post(url, fields):
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


FORM_ACTION = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]*)"')
FORM_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"/>')


def scrape(body):
    action = FORM_ACTION.search(body)
    inputs = {m.group(1): html.unescape(m.group(2)) for m in FORM_INPUT.finditer(body)}
    return (html.unescape(action.group(1)) if action else None), inputs


def signed_redirect_url(client, idp, relay_state, sigalg=SIG_RSA_SHA256, **kwargs):
    reqid, info = client.prepare_for_authenticate(
        entityid=idp.entity_id, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT,
        sigalg=sigalg, nameid_format=NAMEID_FORMAT_EMAILADDRESS, **kwargs)
    return reqid, dict(info["headers"])["Location"]


def resign(url, key_path, encode, sigalg=SIG_RSA_SHA256):
    """Rebuild a redirect URL from its decoded parts with `encode` and sign it."""
    base, query = url.split("?", 1)
    params = dict(urllib.parse.parse_qsl(query))
    parts = [f"SAMLRequest={encode(params['SAMLRequest'])}"]
    if "RelayState" in params:
        parts.append(f"RelayState={encode(params['RelayState'])}")
    parts.append(f"SigAlg={encode(sigalg)}")
    signed = "&".join(parts)
    with open(key_path, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    sig = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{base}?{signed}&Signature={encode(base64.b64encode(sig).decode())}"


def lower_hex(value):
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(value, safe=""))


def test_serve_mode(tmp, sp_md, sp_key, sp_crt):
    idp = Idp(tmp, "idp1", sp_md)
    try:
        check("serve READY line + metadata written", os.path.exists(idp.metadata))
        md = open(idp.metadata).read()
        check("IdP metadata shape",
              f'entityID="{idp.entity_id}"' in md and 'use="signing"' in md
              and f'Location="{idp.base}/sso/redirect"' in md and f'Location="{idp.base}/sso/post"' in md
              and "nameid-format:emailAddress" in md, md[:300])
        status, body = http_get(idp.entity_id)
        check("GET entity ID serves metadata", status == 200 and "IDPSSODescriptor" in body)

        client = sp_client(tmp, sp_key, sp_crt, idp.metadata, want_assertions_signed=True)
        status, _ = http_get(f"{idp.base}/set-user?email=dave%40example.com&first=Dave&last=O%27Brien")
        check("set-user", status == 200)

        relay = "/app/dash?x=1&y=<z>"
        reqid, url = signed_redirect_url(client, idp, relay)
        status, body = http_get(url)
        action, inputs = scrape(body)
        ok = status == 200 and action == SP_ACS and set(inputs) == {"SAMLResponse", "RelayState"}
        ok &= inputs.get("RelayState") == relay and ".submit()" in body
        check("signed redirect AuthnRequest accepted, auto-post form", ok, f"{status} {body[:300]}")
        if ok:
            resp = client.parse_authn_request_response(inputs["SAMLResponse"], BINDING_HTTP_POST,
                                                       outstanding={reqid: "/"})
            xml = base64.b64decode(inputs["SAMLResponse"]).decode()
            check("pysaml2 SP accepts the IdP response",
                  resp is not None and resp.ava == {"Email": ["dave@example.com"], "First": ["Dave"],
                                                    "Last": ["O'Brien"]}
                  and resp.name_id.text == "dave@example.com" and resp.name_id.format == NAMEID_FORMAT_EMAILADDRESS
                  and attr(xml, "SubjectConfirmationData", "InResponseTo") == reqid
                  and xml.count(":SignatureValue>") == 2, xml[:400])
        status, body = http_get(f"{idp.base}/last-request")
        last = json.loads(body) if status == 200 else {}
        check("last-request JSON", last.get("id") == reqid and last.get("issuer") == SP_ENTITY
              and last.get("sig_alg") == SIG_RSA_SHA256 and last.get("relay_state") == relay, body[:300])

        # Negative cases
        unsigned = re.sub(r"&(SigAlg|Signature)=[^&]*", "", url)
        status, body = http_get(unsigned)
        check("unsigned redirect request rejected (400)", status == 400 and "unsigned" in body, body)
        tampered_rs = url.replace(urllib.parse.quote_plus(relay), urllib.parse.quote_plus(relay + "evil"))
        status, body = http_get(tampered_rs)
        check("tampered RelayState rejected (400)", status == 400, body)
        m = re.search(r"Signature=([^&]*)", url)
        sig = urllib.parse.unquote(m.group(1))
        flipped = ("B" if sig[10] != "B" else "C")
        bad_sig = sig[:10] + flipped + sig[11:]
        status, body = http_get(url.replace(m.group(1), urllib.parse.quote(bad_sig, safe="")))
        check("tampered Signature rejected (400)", status == 400, body)
        other_key, _ = make_keypair(tmp, "other", "other")
        status, body = http_get(resign(url, other_key, lambda v: urllib.parse.quote(v, safe="")))
        check("request signed by a key not in SP metadata rejected (400)", status == 400, body)
        _, url_sha1 = signed_redirect_url(client, idp, "x", sigalg=SIG_RSA_SHA1)
        status, body = http_get(url_sha1)
        check("rsa-sha1 SigAlg rejected by default (400)", status == 400 and "SigAlg" in body, body)

        # Encoding variants: the same signed octets re-encoded differently.
        status, body = http_get(resign(url, sp_key, lambda v: urllib.parse.quote(v, safe="")))
        check("upper-case %XX encoding, signed: accepted by both checks", status == 200, body[:300])
        lower_url = resign(url, sp_key, lower_hex)
        status, body = http_get(lower_url)
        check("lower-case %xx encoding: rejected in 'both' mode (pysaml2 re-encodes)",
              status == 400 and "urlencode" in body, body[:300])

        _, bad_acs_url = signed_redirect_url(client, idp, "x", assertion_consumer_service_url="http://evil.test/acs")
        status, body = http_get(bad_acs_url)
        check("ACS URL not in SP metadata rejected (400)", status == 400 and "AssertionConsumerServiceURL" in body, body)

        # HTTP-POST binding with an XML-signed AuthnRequest
        reqid2, req = client.create_authn_request(
            f"{idp.base}/sso/post", binding=BINDING_HTTP_POST, nameid_format=NAMEID_FORMAT_EMAILADDRESS,
            sign=True, sign_alg=SIG_RSA_SHA256)
        status, body = http_post(f"{idp.base}/sso/post",
                                 {"SAMLRequest": base64.b64encode(str(req).encode()).decode(), "RelayState": "p"})
        action, inputs = scrape(body)
        check("signed POST AuthnRequest accepted", status == 200 and action == SP_ACS
              and inputs.get("RelayState") == "p", body[:300])

        # IdP-initiated
        status, body = http_get(f"{idp.base}/launch?sp={urllib.parse.quote(SP_ENTITY)}&relay_state=%2Fhome")
        action, inputs = scrape(body)
        ok = status == 200 and action == SP_ACS and inputs.get("RelayState") == "/home"
        if ok:
            xml = base64.b64decode(inputs["SAMLResponse"]).decode()
            resp = client.parse_authn_request_response(inputs["SAMLResponse"], BINDING_HTTP_POST, outstanding={})
            ok = resp is not None and "InResponseTo" not in xml and resp.ava["Email"] == ["dave@example.com"]
        check("IdP-initiated /launch", ok, body[:300])
        status, body = http_get(f"{idp.base}/launch?sp=urn:nope")
        check("/launch unknown SP rejected (400)", status == 400, body)
        status, body = http_get(f"{idp.base}/launch?sp={urllib.parse.quote(SP_ENTITY)}")
        _, inputs = scrape(body)
        check("/launch without relay_state omits RelayState", status == 200 and "RelayState" not in inputs)
    finally:
        rc = idp.stop()
        check("serve exits 0 on SIGTERM", rc == 0, rc)

    # raw-only mode accepts an SP's own (lower-case hex) encoding
    idp2 = Idp(tmp, "idp2", sp_md, "--redirect-sig-check", "raw", "--encrypt-assertion", "--sign-response")
    try:
        client = sp_client(tmp, sp_key, sp_crt, idp2.metadata, want_assertions_signed=True,
                           want_response_signed=True)
        reqid, url = signed_redirect_url(client, idp2, "/r")
        status, body = http_get(resign(url, sp_key, lower_hex))
        check("--redirect-sig-check raw accepts lower-case %xx encoding", status == 200, body[:300])
        status, body = http_get(url)
        action, inputs = scrape(body)
        ok = status == 200 and action == SP_ACS
        if ok:
            xml = base64.b64decode(inputs["SAMLResponse"]).decode()
            resp = client.parse_authn_request_response(inputs["SAMLResponse"], BINDING_HTTP_POST,
                                                       outstanding={reqid: "/"})
            ok = ("EncryptedAssertion" in xml and "aes256-cbc" in xml and resp is not None
                  and resp.ava["Email"] == ["alice@example.com"])
        check("serve --encrypt-assertion --sign-response: pysaml2 SP decrypts and accepts", ok, body[:300])
        tampered = re.sub(r"(SAMLRequest=)([^&]{20})", lambda m: m.group(1) + m.group(2)[::-1], url)
        status, body = http_get(tampered)
        check("raw mode still rejects a tampered SAMLRequest (400)", status == 400, body)
    finally:
        rc = idp2.stop()
        check("serve (2) exits 0 on SIGTERM", rc == 0, rc)


def test_pysaml2_only_mode(tmp, sp_md, sp_key, sp_crt):
    idp = Idp(tmp, "idp3", sp_md, "--redirect-sig-check", "pysaml2", "--no-sign-assertion", "--sign-response")
    try:
        client = sp_client(tmp, sp_key, sp_crt, idp.metadata, want_response_signed=True)
        reqid, url = signed_redirect_url(client, idp, "/p")
        status, body = http_get(url)
        _, inputs = scrape(body)
        ok = status == 200
        if ok:
            xml = base64.b64decode(inputs["SAMLResponse"]).decode()
            resp = client.parse_authn_request_response(inputs["SAMLResponse"], BINDING_HTTP_POST,
                                                       outstanding={reqid: "/"})
            ok = resp is not None and xml.count(":SignatureValue>") == 2  # one signature (open+close tag)
        check("--redirect-sig-check pysaml2 accepts; --no-sign-assertion --sign-response", ok, body[:300])
        status, body = http_get(url.replace("RelayState=%2Fp", "RelayState=%2Fq"))
        check("--redirect-sig-check pysaml2 rejects tampered RelayState (400)",
              status == 400 and "IncorrectlySigned" in body, body)
    finally:
        check("serve (3) exits 0 on SIGTERM", idp.stop() == 0)


def main():
    # pysaml2 logs expected rejections (unsigned responses) at ERROR; keep output readable.
    logging.getLogger("saml2").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="spconnect-pysaml2-selftest-")
    try:
        sp_key, sp_crt = make_keypair(tmp, "sp", "throwaway SP")
        idp_key, idp_crt = make_keypair(tmp, "idp", "throwaway IdP")
        sp_md = os.path.join(tmp, "sp-metadata.xml")
        write_sp_metadata(sp_md, sp_crt)
        for test in (lambda: test_check_metadata(tmp, sp_md),
                     lambda: test_sign_mode(tmp, sp_md, sp_key, sp_crt, idp_key, idp_crt),
                     lambda: test_serve_mode(tmp, sp_md, sp_key, sp_crt),
                     lambda: test_pysaml2_only_mode(tmp, sp_md, sp_key, sp_crt)):
            try:
                test()
            except Exception:  # noqa: BLE001
                check("unexpected exception", False, traceback.format_exc())
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
