//! SSO configurations: create one (with the one rule for what an enterprise domain is), import
//! the IdP's metadata, change its settings, and read its status.

use chrono::{DateTime, Utc};

use super::{audit, display_name, Actor, OpsError, Result};
use crate::saml::idp_metadata::{self, asn1_to_utc, IdpDescriptor};
use crate::services::Services;
use crate::store::{LoginEvent, SsoConfig, SsoSettings};

/// The largest clock-skew allowance an admin may set (login refuses to use more either way).
pub const MAX_CLOCK_SKEW_SECS: i64 = 3600;
/// Certificates closer than this to expiry are flagged (the console's status panel, `sso status`).
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// Attribute names (`Email`, `First`, …, or URIs) longer than this are refused.
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 200;

/// An enterprise domain as users type it on the sign-in page, ASCII lower case, or the reason
/// it is not one. The one rule for the console, the command line and node domain lists:
/// letters, digits and `-` in dot-separated labels of 1–63 characters, at least two labels,
/// 253 characters at most, no trailing dot (the sign-in page compares the text after `@`), no
/// IP address, and ASCII only (an international domain in its `xn--` form), since Unicode case
/// folding would let two spellings name one domain.
pub fn domain(raw: &str) -> Result<String> {
    let d = raw.trim();
    let refuse = |why: &str| {
        OpsError::Invalid(format!(
            "\"{}\" is not a domain name: {why} (for example: example.com).",
            crate::logsafe::clip_to(d, 100)
        ))
    };
    if d.is_empty() {
        return Err(refuse("it is empty"));
    }
    if !d.is_ascii() {
        return Err(refuse("write an international domain in its ASCII form (xn--…)"));
    }
    let d = d.to_ascii_lowercase();
    if d.contains('@') {
        return Err(refuse("give only the part after the @"));
    }
    if d.len() > 253 {
        return Err(refuse("it is longer than 253 characters"));
    }
    if d.ends_with('.') {
        return Err(refuse("it ends with a dot"));
    }
    if d.parse::<std::net::IpAddr>().is_ok()
        || d.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(refuse("it is an IP address"));
    }
    if !d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
        return Err(refuse("use only letters, digits, '-' and '.'"));
    }
    if !d.contains('.') {
        return Err(refuse("it needs at least one dot"));
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err(refuse("it has an empty label"));
        }
        if label.len() > 63 {
            return Err(refuse("a label is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(refuse("a label starts or ends with '-'"));
        }
    }
    Ok(d)
}

/// The configuration `sso_id`, or `NotFound` with a message naming it.
pub async fn get(svc: &Services, sso_id: i64) -> Result<SsoConfig> {
    svc.store.get_sso(sso_id).await?.ok_or_else(|| OpsError::NotFound(format!("no SSO configuration {sso_id}")))
}

/// What a new configuration is made of.
#[derive(Debug, Clone, Copy)]
pub struct NewSso<'a> {
    pub name: &'a str,
    pub domain: &'a str,
    pub node_id: i64,
}

/// Create a configuration and its SP key pair (so its metadata can be exported at once).
pub async fn create(svc: &Services, actor: &Actor, new: NewSso<'_>, now: i64) -> Result<SsoConfig> {
    let name = display_name(new.name, "configuration")?;
    let domain = domain(new.domain)?;
    // The SP key pair is sealed under the deployment's key-encryption key: without the right
    // one, refuse before anything is written.
    svc.keys.kek(&svc.store).await.map_err(|e| OpsError::Internal(e.to_string()))?;
    if svc.store.get_node(new.node_id).await?.is_none() {
        return Err(OpsError::NotFound(format!("there is no node {}", new.node_id)));
    }
    let config = svc.store.create_sso(&name, &domain, new.node_id, now).await.map_err(|e| match OpsError::from(e) {
        OpsError::Conflict(m) => OpsError::Conflict(format!("{m}.")),
        other => other,
    })?;
    svc.sp_metadata(&config)
        .await
        .map_err(|e| OpsError::Internal(format!("SP key pair of SSO {}: {e}", config.sso_id)))?;
    let detail = format!("{name} ({domain}), node {}", new.node_id);
    audit(svc, actor, "sso.create", &config.sso_id.to_string(), &detail, now).await?;
    Ok(config)
}

/// Import the IdP's metadata (the bytes of the XML file) into a configuration, replacing what
/// was there. A copy is kept under `metadata/` for the admin to read.
pub async fn import_idp_metadata(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    file: &[u8],
    now: i64,
) -> Result<IdpDescriptor> {
    get(svc, sso_id).await?;
    let refuse = |why: String| {
        tracing::warn!(sso_id, reason = %why, "IdP metadata refused");
        OpsError::Invalid(format!("The metadata was not accepted: {why}."))
    };
    let xml =
        std::str::from_utf8(file).map_err(|_| refuse("the file is not UTF-8 text (is it the XML file?)".into()))?;
    if xml.trim().is_empty() {
        return Err(refuse("the file is empty".into()));
    }
    let idp = idp_metadata::parse(xml).map_err(|e| refuse(e.to_string()))?;
    svc.store.set_idp(sso_id, &idp, xml, now).await?;
    let copy = svc.settings.data_dir.idp_metadata_copy(sso_id);
    // Only a convenience copy: the database holds the metadata that is used.
    if let Err(e) = std::fs::write(&copy, xml) {
        tracing::warn!(sso_id, path = %copy.display(), error = %e, "could not write the IdP metadata copy");
    }
    let detail = format!("{} ({} signing certificate(s))", idp.entity_id, idp.signing_certs.len());
    audit(svc, actor, "idp.upload", &sso_id.to_string(), &detail, now).await?;
    Ok(idp)
}

/// The settings as they will be written (attribute names trimmed), or the first rule they break.
pub fn checked_settings(mut settings: SsoSettings) -> Result<SsoSettings> {
    if settings.clock_skew_secs.is_some_and(|s| !(0..=MAX_CLOCK_SKEW_SECS).contains(&s)) {
        return Err(OpsError::Invalid(format!(
            "The clock skew must be a whole number of seconds from 0 to {MAX_CLOCK_SKEW_SECS}."
        )));
    }
    for attr in [&mut settings.attr_email, &mut settings.attr_first, &mut settings.attr_last].into_iter().flatten() {
        *attr = attr.trim().to_string();
        if attr.is_empty() || attr.len() > MAX_ATTRIBUTE_NAME_LEN {
            return Err(OpsError::Invalid(format!(
                "Each attribute name must be filled in, with at most {MAX_ATTRIBUTE_NAME_LEN} characters."
            )));
        }
    }
    Ok(settings)
}

/// Change a configuration's switches; `None` fields stay as they are.
pub async fn change_settings(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    settings: SsoSettings,
    now: i64,
) -> Result<SsoConfig> {
    let settings = checked_settings(settings)?;
    get(svc, sso_id).await?;
    let c = svc.store.update_sso_settings(sso_id, &settings).await?;
    if c.allow_sha1 {
        tracing::warn!(sso_id, "SHA-1 signatures are accepted for this configuration");
    }
    if c.debug_keep_responses {
        tracing::warn!(
            sso_id,
            kept = crate::store::DEBUG_RESPONSES_KEPT,
            "redacted copies of posted responses are kept for this configuration"
        );
    }
    let detail = format!(
        "jit={} idp_initiated={} skew={} attributes={}/{}/{} sha1={} other_domains={} debug={} \
         encrypted_requires_signed_response={} gcm_only={} logout_idp={}",
        c.jit,
        c.idp_initiated,
        c.clock_skew_secs,
        c.attr_email,
        c.attr_first,
        c.attr_last,
        c.allow_sha1,
        c.allow_other_domains,
        c.debug_keep_responses,
        c.encrypted_requires_signed_response,
        c.encrypted_gcm_only,
        c.logout_idp
    );
    audit(svc, actor, "sso.settings", &sso_id.to_string(), &detail, now).await?;
    Ok(c)
}

/// Keeper recommends JIT off on a node that SCIM provisions: is `c` in that state?
pub async fn jit_while_scim_provisions(svc: &Services, c: &SsoConfig) -> Result<bool> {
    Ok(c.jit && svc.store.get_node(c.node_id).await?.is_some_and(|n| n.scim_enabled))
}

/// What an admin checks when logins fail: metadata, certificates, the last logins.
#[derive(Debug, Clone)]
pub struct SsoStatus {
    pub config: SsoConfig,
    /// The IdP signing certificate that expires first: the one that will break logins first.
    pub idp_cert_expires: Option<DateTime<Utc>>,
    pub sp_cert_expires: Option<DateTime<Utc>>,
    pub last_success: Option<LoginEvent>,
    pub last_failure: Option<LoginEvent>,
    /// JIT is on while SCIM provisions the configuration's node.
    pub jit_while_scim: bool,
}

pub async fn status(svc: &Services, sso_id: i64) -> Result<SsoStatus> {
    let config = get(svc, sso_id).await?;
    let sp_cert_expires = svc.sp_keys(sso_id).await.ok().and_then(|k| asn1_to_utc(k.cert.not_after()));
    let idp_cert_expires = config
        .idp_certs_der()
        .iter()
        .filter_map(|der| openssl::x509::X509::from_der(der).ok())
        .filter_map(|x| asn1_to_utc(x.not_after()))
        .min();
    let (last_success, last_failure) = svc.store.last_logins(sso_id).await?;
    let jit_while_scim = jit_while_scim_provisions(svc, &config).await?;
    Ok(SsoStatus { config, idp_cert_expires, sp_cert_expires, last_success, last_failure, jit_while_scim })
}

#[cfg(test)]
mod tests {
    use super::{checked_settings, domain, OpsError, SsoSettings};

    #[test]
    fn settings_are_checked_before_anything_is_written() {
        let skew = |s| SsoSettings { clock_skew_secs: Some(s), ..Default::default() };
        let email = |a: &str| SsoSettings { attr_email: Some(a.into()), ..Default::default() };
        for (settings, ok) in [
            (SsoSettings::default(), true),
            (skew(0), true),
            (skew(3600), true),
            (skew(-1), false),
            (skew(3601), false),
            (email("mail"), true),
            (email(&"a".repeat(200)), true),
            (email(&"a".repeat(201)), false),
            (email(""), false),
            (email("   "), false),
            (SsoSettings { attr_last: Some(String::new()), ..Default::default() }, false),
        ] {
            let result = checked_settings(settings.clone());
            assert_eq!(result.is_ok(), ok, "{settings:?}");
            assert!(result.is_ok() || matches!(result, Err(OpsError::Invalid(_))));
        }
        let trimmed = checked_settings(email("  mail ")).unwrap();
        assert_eq!(trimmed.attr_email.as_deref(), Some("mail"));
    }

    #[test]
    fn enterprise_domains_accepted_and_normalised() {
        let cases = [
            ("example.com", "example.com"),
            ("  Example.COM ", "example.com"),
            ("corp.example.co.uk", "corp.example.co.uk"),
            ("a-b.io", "a-b.io"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("1password.com", "1password.com"),
            ("x.y", "x.y"),
        ];
        for (raw, want) in cases {
            assert_eq!(domain(raw).unwrap(), want, "{raw:?}");
        }
        let longest_label = format!("{}.com", "a".repeat(63));
        assert_eq!(domain(&longest_label).unwrap(), longest_label);
        let longest = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(longest.len(), 253);
        assert_eq!(domain(&longest).unwrap(), longest);
    }

    #[test]
    fn what_is_not_an_enterprise_domain_is_refused_with_the_reason() {
        let too_long = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62));
        let long_label = format!("{}.com", "a".repeat(64));
        let cases: &[(&str, &str)] = &[
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("example.com.", "it ends with a dot"),
            ("bücher.example", "ASCII form"),
            ("exämple.com", "ASCII form"),
            ("example..com", "an empty label"),
            (".example.com", "an empty label"),
            (&too_long, "longer than 253"),
            (&long_label, "longer than 63"),
            ("127.0.0.1", "an IP address"),
            ("10.0.0.300", "an IP address"),
            ("::1", "an IP address"),
            ("[::1]", "only letters"),
            ("example", "at least one dot"),
            ("localhost", "at least one dot"),
            ("alice@example.com", "the part after the @"),
            ("exa mple.com", "only letters"),
            ("https://example.com", "only letters"),
            ("ex_ample.com", "only letters"),
            ("-example.com", "starts or ends with '-'"),
            ("example-.com", "starts or ends with '-'"),
        ];
        for (raw, why) in cases {
            let message = domain(raw).expect_err(raw).to_string();
            assert!(message.contains("is not a domain name") && message.contains(why), "{raw:?}: {message}");
        }
    }

    #[test]
    fn the_refusal_quotes_the_input_escaped_and_clipped() {
        let message = domain("evil\u{1b}[31m.com.").unwrap_err().to_string();
        assert!(!message.contains('\u{1b}'), "{message}");
        let long = format!("{}.", "a".repeat(500));
        assert!(domain(&long).unwrap_err().to_string().len() < 250);
    }
}
