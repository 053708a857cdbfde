//! The one place that verifies XML signatures. samael (libxmlsec1) does the cryptography and
//! returns the document reduced to what the signatures cover; callers read values only from that
//! reduced document. The intake in `saml::xml` has already refused every reference, transform
//! and algorithm xmlsec should never be asked to process, so xmlsec sees only enveloped,
//! same-document, exclusive-c14n signatures.

use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};

use crate::saml::xml::AlgorithmPolicy;
use crate::saml::Rejection;

const STRONG: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Verify every signature in `xml` against the IdP certificates and return the signed content
/// only (unsigned elements and attributes removed). Fails closed: no certificate, no signature,
/// or any signature that does not verify is a rejection.
pub fn verify_and_reduce(xml: &str, idp_certs_der: &[Vec<u8>], policy: AlgorithmPolicy) -> Result<String, Rejection> {
    if idp_certs_der.is_empty() {
        // samael would skip verification entirely without certificates (deps.md §5, gap 1).
        return Err(Rejection::SignatureInvalid);
    }
    let certs: Vec<CertificateDer> = idp_certs_der.iter().cloned().map(CertificateDer::from).collect();
    // SHA-1 is not in samael's enum; when an admin allowed it, the intake has already enforced
    // the exact allow-list, so samael is told not to filter further.
    let allowed = if policy.allow_sha1 { None } else { Some(STRONG) };
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(xml, &certs, ReduceMode::ValidateAndMarkNoAncestors, allowed)
        .map_err(|e| {
            tracing::debug!(error = %e, "xmlsec verification failed");
            Rejection::SignatureInvalid
        })
}
