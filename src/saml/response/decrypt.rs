//! EncryptedAssertion → the assertion's bytes exactly as decrypted, wrapped in an element that
//! declares the namespaces in scope where the EncryptedAssertion stood. The wrapper only
//! re-supplies the context the IdP's serializer relied on; nothing inside the decrypted bytes is
//! re-serialized or re-prefixed, so an inner signature verifies over exactly what was signed.
//!
//! Key transport: RSA-OAEP only (rsa-oaep-mgf1p and xmlenc11#rsa-oaep); RSA PKCS#1 v1.5 is
//! refused (Bleichenbacher). Content: AES-128/256 in CBC or GCM.

use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

use crate::saml::{child, xml_escape, Rejection, NS_DS, NS_XENC, NS_XENC11};

const MAX_CIPHERTEXT: usize = 256 * 1024;

/// `sp_keys` are tried in order (a key rollover publishes two certificates); the first key that
/// unwraps the content key and decrypts the content wins. Every failure is the same refusal.
pub fn decrypt_assertion(
    encrypted_assertion: roxmltree::Node,
    sp_keys: &[&PKey<Private>],
) -> Result<String, Rejection> {
    let fail = |m: &str| Rejection::DecryptionFailed(m.to_string());
    let data = child(encrypted_assertion, NS_XENC, "EncryptedData").ok_or_else(|| fail("no EncryptedData"))?;
    let data_alg = child(data, NS_XENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| fail("no data EncryptionMethod"))?;
    // The EncryptedKey sits in the EncryptedData's KeyInfo or, as some IdPs emit it, beside the
    // EncryptedData inside the EncryptedAssertion. RetrievalMethod URIs are never dereferenced.
    let encrypted_key = child(data, NS_DS, "KeyInfo")
        .and_then(|ki| child(ki, NS_XENC, "EncryptedKey"))
        .or_else(|| child(encrypted_assertion, NS_XENC, "EncryptedKey"))
        .ok_or_else(|| fail("no EncryptedKey"))?;
    let ciphertext = cipher_value(data)?;
    let mut outcome = Err(fail("no SP key"));
    for sp_key in sp_keys {
        outcome = unwrap_key(encrypted_key, sp_key).and_then(|key| decrypt_content(data_alg, &key, &ciphertext));
        if outcome.is_ok() {
            break;
        }
    }
    let plain = outcome?;
    let text = String::from_utf8(plain).map_err(|_| fail("plaintext is not UTF-8"))?;
    Ok(wrap_in_scope(encrypted_assertion, &text))
}

/// Whether the EncryptedData declares AES-GCM (authenticated) content encryption.
pub fn uses_gcm(encrypted_assertion: roxmltree::Node) -> bool {
    child(encrypted_assertion, NS_XENC, "EncryptedData")
        .and_then(|d| child(d, NS_XENC, "EncryptionMethod"))
        .and_then(|m| m.attribute("Algorithm"))
        .is_some_and(|a| {
            a == "http://www.w3.org/2009/xmlenc11#aes128-gcm" || a == "http://www.w3.org/2009/xmlenc11#aes256-gcm"
        })
}

fn cipher_value(node: roxmltree::Node) -> Result<Vec<u8>, Rejection> {
    let value = child(node, NS_XENC, "CipherData")
        .and_then(|cd| child(cd, NS_XENC, "CipherValue"))
        .map(crate::saml::text_content)
        .ok_or_else(|| Rejection::DecryptionFailed("no CipherValue".into()))?;
    let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.len() > MAX_CIPHERTEXT {
        return Err(Rejection::TooLarge { limit: MAX_CIPHERTEXT });
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| Rejection::DecryptionFailed("CipherValue is not base64".into()))
}

fn digest_of(alg: Option<&str>) -> Result<MessageDigest, Rejection> {
    Ok(match alg {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => MessageDigest::sha1(),
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => MessageDigest::sha256(),
        Some("http://www.w3.org/2001/04/xmldsig-more#sha384") => MessageDigest::sha384(),
        Some("http://www.w3.org/2001/04/xmlenc#sha512") => MessageDigest::sha512(),
        Some(other) => return Err(Rejection::DecryptionFailed(format!("OAEP digest {other}"))),
    })
}

fn unwrap_key(encrypted_key: roxmltree::Node, sp_key: &PKey<Private>) -> Result<Vec<u8>, Rejection> {
    let method = child(encrypted_key, NS_XENC, "EncryptionMethod")
        .ok_or_else(|| Rejection::DecryptionFailed("no key EncryptionMethod".into()))?;
    let alg = method.attribute("Algorithm").unwrap_or("");
    let oaep_digest = digest_of(child(method, NS_DS, "DigestMethod").and_then(|d| d.attribute("Algorithm")))?;
    let mgf1_digest = match alg {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" => MessageDigest::sha1(),
        "http://www.w3.org/2009/xmlenc11#rsa-oaep" => {
            let mgf = child(method, NS_XENC11, "MGF").and_then(|m| m.attribute("Algorithm"));
            match mgf {
                None | Some("http://www.w3.org/2009/xmlenc11#mgf1sha1") => MessageDigest::sha1(),
                Some("http://www.w3.org/2009/xmlenc11#mgf1sha256") => MessageDigest::sha256(),
                Some("http://www.w3.org/2009/xmlenc11#mgf1sha384") => MessageDigest::sha384(),
                Some("http://www.w3.org/2009/xmlenc11#mgf1sha512") => MessageDigest::sha512(),
                Some(other) => return Err(Rejection::DecryptionFailed(format!("MGF {other}"))),
            }
        }
        other => return Err(Rejection::DecryptionFailed(format!("key transport {other} is not allowed"))),
    };
    let wrapped = cipher_value(encrypted_key)?;
    let openssl_err = |_| Rejection::DecryptionFailed("key transport failed".into());
    let mut ctx = PkeyCtx::new(sp_key).map_err(openssl_err)?;
    ctx.decrypt_init().map_err(openssl_err)?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).map_err(openssl_err)?;
    ctx.set_rsa_oaep_md(
        openssl::md::Md::from_nid(oaep_digest.type_()).ok_or(Rejection::DecryptionFailed("md".into()))?,
    )
    .map_err(openssl_err)?;
    ctx.set_rsa_mgf1_md(
        openssl::md::Md::from_nid(mgf1_digest.type_()).ok_or(Rejection::DecryptionFailed("md".into()))?,
    )
    .map_err(openssl_err)?;
    let mut out = Vec::new();
    ctx.decrypt_to_vec(&wrapped, &mut out).map_err(openssl_err)?;
    Ok(out)
}

fn decrypt_content(alg: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Rejection> {
    let fail = |m: &str| Rejection::DecryptionFailed(m.to_string());
    let (cipher, gcm) = match alg {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => (Cipher::aes_128_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => (Cipher::aes_256_cbc(), false),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => (Cipher::aes_128_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => (Cipher::aes_256_gcm(), true),
        other => return Err(Rejection::DecryptionFailed(format!("content encryption {other} is not allowed"))),
    };
    if key.len() != cipher.key_len() {
        return Err(fail("key length does not match the algorithm"));
    }
    let openssl_err = |_| fail("content decryption failed");
    if gcm {
        const IV: usize = 12;
        const TAG: usize = 16;
        if data.len() < IV + TAG {
            return Err(fail("ciphertext too short"));
        }
        let (iv, rest) = data.split_at(IV);
        let (ct, tag) = rest.split_at(rest.len() - TAG);
        return openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ct, tag).map_err(openssl_err);
    }
    const BLOCK: usize = 16;
    if data.len() < 2 * BLOCK || !data.len().is_multiple_of(BLOCK) {
        return Err(fail("ciphertext length is not a whole number of blocks"));
    }
    let (iv, ct) = data.split_at(BLOCK);
    // XML Encryption pads with arbitrary bytes and a final length byte (not PKCS#7), so the
    // padding is removed here rather than by OpenSSL.
    let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(openssl_err)?;
    crypter.pad(false);
    let mut out = vec![0u8; ct.len() + BLOCK];
    let mut n = crypter.update(ct, &mut out).map_err(openssl_err)?;
    n += crypter.finalize(&mut out[n..]).map_err(openssl_err)?;
    out.truncate(n);
    let pad = usize::from(*out.last().ok_or_else(|| fail("empty plaintext"))?);
    if pad == 0 || pad > BLOCK || pad > out.len() {
        return Err(fail("bad padding"));
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

/// `<spconnect-decrypted xmlns:p="…" …>DECRYPTED</spconnect-decrypted>` with every namespace
/// in scope at the EncryptedAssertion, so prefixes the decrypted bytes use keep their meaning.
fn wrap_in_scope(encrypted_assertion: roxmltree::Node, decrypted: &str) -> String {
    let mut out = String::from("<spconnect-decrypted");
    for ns in encrypted_assertion.namespaces() {
        if ns.name() == Some("xml") {
            continue;
        }
        match ns.name() {
            Some(prefix) => out.push_str(&format!(" xmlns:{}=\"{}\"", prefix, xml_escape(ns.uri()))),
            None => out.push_str(&format!(" xmlns=\"{}\"", xml_escape(ns.uri()))),
        }
    }
    out.push('>');
    let body = decrypted.trim_start_matches('\u{feff}');
    // An XML declaration belongs to the serialized document, not to the element; inside the
    // wrapper it would read as a processing instruction.
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(body, |(_, after)| after),
        None => body,
    };
    out.push_str(body);
    out.push_str("</spconnect-decrypted>");
    out
}
