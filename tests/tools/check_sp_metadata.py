#!/usr/bin/env python3
"""Check SP metadata with pysaml2 (independent of spconnect's own code).

    python3 tests/tools/check_sp_metadata.py FILE [--entity-id ID] [--no-schema]

FILE may also be an http(s) URL.  The document is
  1. validated against the SAML 2.0 metadata XML schema bundled with pysaml2
     (skip with --no-schema),
  2. loaded with pysaml2's MetadataStore, exactly as a pysaml2 IdP would,
  3. required to contain exactly one entity with an SPSSODescriptor (or the
     one named by --entity-id) that has at least one AssertionConsumerService.

On success prints one JSON object on stdout and exits 0:
  {"entity_id", "acs", "acs_services", "slo", "name_id_formats",
   "signing_certs", "encryption_certs", "certs",
   "authn_requests_signed", "want_assertions_signed", "schema_valid"}
On failure prints "error: ..." on stderr and exits 1 (2 for usage errors).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
import urllib.request
import warnings

# pysaml2 7.5.5 touches cryptography's deprecated CFB mode at import time.
warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from saml2.attribute_converter import ac_factory  # noqa: E402
from saml2.config import Config  # noqa: E402
from saml2.mdstore import MetadataStore  # noqa: E402

MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"


class CheckError(Exception):
    pass


def read_source(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as resp:
            return resp.read()
    with open(source, "rb") as fh:
        return fh.read()


def schema_validate(data: bytes) -> None:
    """Validate against saml-schema-metadata-2.0.xsd using pysaml2's schema set."""
    from importlib.resources import files

    import saml2.data.schemas as schemas
    from saml2.xml import schema as pysaml2_schema

    md_xsd = str(files(schemas).joinpath("saml-schema-metadata-2.0.xsd"))
    # pysaml2 only exposes a protocol-schema validator; build the metadata one
    # with the same namespace locations.
    validator = pysaml2_schema._create_xml_schema_validator(md_xsd)  # noqa: SLF001
    try:
        pysaml2_schema.validate(data.decode("utf-8"), validator)
    except pysaml2_schema.XMLSchemaError as exc:
        cause = exc.__cause__
        reason = getattr(cause, "reason", None)
        if reason:
            err = f"{reason} (at {getattr(cause, 'path', '?')})"
        else:
            err = str(cause or exc).splitlines()[0]
        raise CheckError(f"schema validation failed: {err}") from exc


def is_true(value) -> bool:
    return str(value).strip().lower() in ("true", "1")


def cert_info(text: str, use: str | None) -> dict:
    der = base64.b64decode("".join(text.split()))
    cert = x509.load_der_x509_certificate(der)
    key = cert.public_key()
    return {
        "use": use,
        "subject": cert.subject.rfc4514_string(),
        "key_type": "RSA" if isinstance(key, rsa.RSAPublicKey) else type(key).__name__,
        "key_size": getattr(key, "key_size", None),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def check(source: str, entity_id: str | None, do_schema: bool) -> dict:
    data = read_source(source)
    if do_schema:
        schema_validate(data)

    conf = Config()
    xmlsec = shutil.which("xmlsec1")
    if xmlsec:
        conf.xmlsec_binary = xmlsec
    mds = MetadataStore(ac_factory(), conf)
    with tempfile.NamedTemporaryFile("wb", suffix=".xml") as fh:
        fh.write(data)
        fh.flush()
        try:
            mds.load("local", fh.name)
        except Exception as exc:  # noqa: BLE001
            cause = exc.__cause__
            raise CheckError(f"pysaml2 could not load the metadata: {exc!r}" + (f" ({cause!r})" if cause else "")) from exc

    sps = [eid for eid, ent in mds.items() if ent.get("spsso_descriptor")]
    if entity_id:
        if entity_id not in sps:
            raise CheckError(f"no SPSSODescriptor for entity {entity_id!r} (SP entities: {sps})")
        sp = entity_id
    else:
        if len(sps) != 1:
            raise CheckError(f"expected exactly one SP entity, found {sps}")
        sp = sps[0]

    spsso_list = mds[sp]["spsso_descriptor"]
    acs_services, slo, nid_formats, certs = [], [], [], []
    authn_requests_signed = want_assertions_signed = False
    for spsso in spsso_list:
        authn_requests_signed |= is_true(spsso.get("authn_requests_signed", "false"))
        want_assertions_signed |= is_true(spsso.get("want_assertions_signed", "false"))
        for acs in spsso.get("assertion_consumer_service", []):
            acs_services.append(
                {
                    "location": acs.get("location"),
                    "binding": acs.get("binding"),
                    "index": acs.get("index"),
                    "is_default": acs.get("is_default"),
                }
            )
        for svc in spsso.get("single_logout_service", []):
            slo.append({"location": svc.get("location"), "binding": svc.get("binding")})
        for nif in spsso.get("name_id_format", []):
            nid_formats.append(nif.get("text", "").strip())
        for kd in spsso.get("key_descriptor", []):
            key_info = kd.get("key_info") or {}
            for x509_data in key_info.get("x509_data", []):
                certs.append(cert_info(x509_data["x509_certificate"]["text"], kd.get("use")))

    if not acs_services:
        raise CheckError(f"SP {sp} has no AssertionConsumerService")

    # pysaml2's own view of usable certs (a KeyDescriptor without use counts for both).
    signing = mds.certs(sp, "spsso", "signing")
    encryption = mds.certs(sp, "spsso", "encryption")

    return {
        "entity_id": sp,
        "acs": [a["location"] for a in acs_services],
        "acs_services": acs_services,
        "slo": slo,
        "name_id_formats": nid_formats,
        "signing_certs": len(signing),
        "encryption_certs": len(encryption),
        "certs": certs,
        "authn_requests_signed": authn_requests_signed,
        "want_assertions_signed": want_assertions_signed,
        "schema_valid": True if do_schema else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="SP metadata file (or http(s) URL)")
    parser.add_argument("--entity-id", help="which SP entity to report, if the file holds several")
    parser.add_argument("--no-schema", action="store_true", help="skip XML schema validation")
    args = parser.parse_args(argv)
    try:
        result = check(args.file, args.entity_id, not args.no_schema)
    except (CheckError, OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
