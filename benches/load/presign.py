#!/usr/bin/env python3
"""Pre-sign N distinct IdP-initiated SAML responses for the ACS load test.

Independent of spconnect's code: lxml (libxml2) does the exclusive canonicalisation and
`cryptography` the RSA-SHA256 signature, as an IdP would. Each response names its own user
(load<i>@<domain>) and its own assertion ID, so every post is a real first login (JIT),
never a replay. Output: one urlencoded form body per line (`SAMLResponse=...`).

usage: presign.py KEY.pem CERT.pem IDP_ENTITY SP_ENTITY ACS DOMAIN COUNT OUT
"""
import base64
import hashlib
import sys
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

NS = {
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def c14n(el):
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def main():
    key_pem, _cert_pem, idp, sp, acs, domain, count, out = sys.argv[1:9]
    key = serialization.load_pem_private_key(open(key_pem, "rb").read(), password=None)
    now = datetime.now(timezone.utc)
    fmt = lambda d: (now + d).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(out, "w") as f:
        for i in range(int(count)):
            aid = "_a" + uuid.uuid4().hex
            email = f"load{i}@{domain}"
            xml = f"""<samlp:Response xmlns:samlp="{NS['samlp']}" ID="_r{uuid.uuid4().hex}" Version="2.0" IssueInstant="{fmt(timedelta())}" Destination="{acs}"><saml:Issuer xmlns:saml="{NS['saml']}">{idp}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion xmlns:saml="{NS['saml']}" ID="{aid}" Version="2.0" IssueInstant="{fmt(timedelta())}"><saml:Issuer>{idp}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{fmt(timedelta(minutes=55))}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{fmt(timedelta(seconds=-60))}" NotOnOrAfter="{fmt(timedelta(minutes=55))}"><saml:AudienceRestriction><saml:Audience>{sp}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{fmt(timedelta())}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="Email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="First"><saml:AttributeValue>Load</saml:AttributeValue></saml:Attribute><saml:Attribute Name="Last"><saml:AttributeValue>User {i}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"""
            doc = etree.fromstring(xml.encode())
            assertion = doc.find("saml:Assertion", NS)
            digest = base64.b64encode(hashlib.sha256(c14n(assertion)).digest()).decode()
            sig = etree.fromstring(
                f"""<ds:Signature xmlns:ds="{NS['ds']}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{aid}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>""".encode()
            )
            # Enveloped signature: right after the assertion's Issuer.
            assertion.insert(1, sig)
            signed_info = sig.find("ds:SignedInfo", NS)
            value = key.sign(c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
            sig.find("ds:SignatureValue", NS).text = base64.b64encode(value).decode()
            body = base64.b64encode(etree.tostring(doc)).decode()
            f.write("SAMLResponse=" + urllib.parse.quote(body, safe="") + "\n")


if __name__ == "__main__":
    main()
