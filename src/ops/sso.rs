//! SSO configurations: create one (with the one rule for what an enterprise domain is), import
//! the IdP's metadata, change its settings, and read its status.

use chrono::{DateTime, Utc};

use super::{audit, display_name, Actor, OpsError, Result};
use crate::saml::idp_metadata::{asn1_to_utc, IdpDescriptor};
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
/// was there. A copy is kept under `metadata/` for the admin to read. The configuration stops
/// being refreshed from a URL; a pinned metadata-signing certificate stays in force (see
/// `ops::idp_refresh`).
pub async fn import_idp_metadata(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    file: &[u8],
    now: i64,
) -> Result<IdpDescriptor> {
    super::idp_refresh::import_file(svc, actor, sso_id, file, super::idp_refresh::PinChange::Keep, now).await
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

/// What may change about a configuration besides its switches; `None` leaves it.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub name: Option<String>,
    pub domain: Option<String>,
    pub node_id: Option<i64>,
}

/// Rename a configuration, change its enterprise domain or move it to another node (checked
/// with the same rules as `create`). Users already signed in keep their node; the next logins
/// are decided with the new values.
pub async fn change_identity(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    change: Identity,
    now: i64,
) -> Result<SsoConfig> {
    let before = get(svc, sso_id).await?;
    let name = change.name.as_deref().map(|n| display_name(n, "configuration")).transpose()?;
    let domain = change.domain.as_deref().map(domain).transpose()?;
    if let Some(node) = change.node_id {
        if svc.store.get_node(node).await?.is_none() {
            return Err(OpsError::NotFound(format!("there is no node {node}")));
        }
    }
    let after =
        svc.store.change_sso_identity(sso_id, name.as_deref(), domain.as_deref(), change.node_id).await.map_err(
            |e| match OpsError::from(e) {
                OpsError::Conflict(m) => OpsError::Conflict(format!("{m}.")),
                other => other,
            },
        )?;
    let mut changes = Vec::new();
    if after.name != before.name {
        changes.push(format!("name {:?} -> {:?}", before.name, after.name));
    }
    if after.domain != before.domain {
        changes.push(format!("domain {} -> {}", before.domain, after.domain));
    }
    if after.node_id != before.node_id {
        changes.push(format!("node {} -> {}", before.node_id, after.node_id));
    }
    if !changes.is_empty() {
        audit(svc, actor, "sso.identity", &sso_id.to_string(), &changes.join(", "), now).await?;
        if after.name != before.name {
            // The service name in the SP metadata copy follows the configuration's name.
            svc.sp_metadata(&after).await.map_err(|e| OpsError::Internal(e.to_string()))?;
        }
    }
    Ok(after)
}

/// Turn a configuration off (`active = false`: its Login URL and ACS refuse every sign-in
/// with `SSO_DEACTIVATED`) or on again. Turning it off twice is not an error.
pub async fn set_active(svc: &Services, actor: &Actor, sso_id: i64, active: bool, now: i64) -> Result<SsoConfig> {
    let before = get(svc, sso_id).await?;
    if svc.store.set_sso_active(sso_id, active, now).await? {
        let action = if active { "sso_integration_activate" } else { "sso_integration_deactivate" };
        audit(svc, actor, action, &sso_id.to_string(), &before.name, now).await?;
        tracing::warn!(sso_id, active, "SSO configuration turned {}", if active { "on" } else { "off" });
    }
    get(svc, sso_id).await
}

/// Delete a configuration and its SP keys. Its users stay (they are no longer attached to an
/// SSO configuration); its SSO ID is never given out again.
pub async fn delete(svc: &Services, actor: &Actor, sso_id: i64, now: i64) -> Result<SsoConfig> {
    let gone = svc.store.delete_sso(sso_id, now).await.map_err(|e| match OpsError::from(e) {
        OpsError::NotFound(_) => OpsError::NotFound(format!("no SSO configuration {sso_id}")),
        other => other,
    })?;
    svc.idp_keys.invalidate(sso_id);
    let dir = &svc.settings.data_dir;
    // Metadata copies, and the key files of a data directory from before keys moved into the
    // database (imported and sealed on first use, but left where they were).
    for copy in [dir.sp_metadata_copy(sso_id), dir.idp_metadata_copy(sso_id), dir.sp_key(sso_id), dir.sp_cert(sso_id)] {
        if let Err(e) = std::fs::remove_file(&copy) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(sso_id, path = %copy.display(), error = %e, "could not remove a metadata copy");
            }
        }
    }
    let detail = format!("{} ({})", gone.name, gone.domain);
    audit(svc, actor, "sso_integration_delete", &sso_id.to_string(), &detail, now).await?;
    tracing::warn!(sso_id, "SSO configuration deleted with its SP keys");
    Ok(gone)
}

/// One SP key pair as the admin sees it during a rollover.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpKeyView {
    pub role: crate::store::SpKeyRole,
    pub fingerprint: String,
    pub subject: String,
    pub not_after: Option<DateTime<Utc>>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub source: String,
    /// Listed in the SP metadata (active and next keys).
    pub published: bool,
}

/// The configuration's SP key pairs, active first.
pub async fn sp_key_views(svc: &Services, sso_id: i64) -> Result<Vec<SpKeyView>> {
    get(svc, sso_id).await?;
    let keys = svc.sp_keys(sso_id).await.map_err(|e| OpsError::Internal(format!("SP keys of SSO {sso_id}: {e}")))?;
    Ok(keys
        .pairs
        .iter()
        .map(|p| SpKeyView {
            role: p.role,
            fingerprint: p.fingerprint(),
            subject: p
                .cert
                .subject_name()
                .entries()
                .filter_map(|e| e.data().to_string().ok())
                .collect::<Vec<_>>()
                .join(", "),
            not_after: asn1_to_utc(p.cert.not_after()),
            created_at: p.created_at,
            activated_at: p.activated_at,
            source: p.source.clone(),
            published: p.role != crate::store::SpKeyRole::Previous,
        })
        .collect())
}

/// A step of an SP key rollover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloverStep {
    /// Make (or import) the next key pair and publish it beside the active one.
    Begin,
    /// The next key becomes the signing key; the old one still decrypts.
    Activate,
    /// The old key is removed.
    Retire,
}

/// Take one rollover step. `imported` (Begin only) is an admin's CA-issued pair, checked by
/// `crypto::import` (RSA-2048 or stronger, matching, valid now).
pub async fn rollover(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    step: RolloverStep,
    imported: Option<crate::crypto::import::Imported>,
    now: i64,
) -> Result<Vec<SpKeyView>> {
    get(svc, sso_id).await?;
    let conflict = |e: crate::crypto::CryptoError| match e {
        crate::crypto::CryptoError::Rollover(m) => OpsError::Conflict(format!("{m}.")),
        other => OpsError::Internal(other.to_string()),
    };
    let (action, detail) = match step {
        RolloverStep::Begin => {
            let source = if imported.is_some() { "imported" } else { "generated" };
            let cert =
                svc.keys.add_next(&svc.store, sso_id, imported.map(|i| (i.key, i.cert))).await.map_err(conflict)?;
            let fingerprint =
                crate::crypto::fingerprint(&cert.to_der().map_err(|e| OpsError::Internal(e.to_string()))?);
            ("sp_key_rollover", format!("next SP key {source}, SHA-256 {fingerprint}"))
        }
        RolloverStep::Activate => {
            svc.store.activate_next_sp_key(sso_id, now).await.map_err(rollover_conflict)?;
            ("sp_key_activate", "the next SP key signs from now on; the previous one still decrypts".to_string())
        }
        RolloverStep::Retire => {
            svc.store.retire_previous_sp_key(sso_id).await.map_err(rollover_conflict)?;
            ("sp_key_retire", "the previous SP key was removed".to_string())
        }
    };
    audit(svc, actor, action, &sso_id.to_string(), &detail, now).await?;
    tracing::warn!(sso_id, step = action, "{detail}");
    let config = get(svc, sso_id).await?;
    // Refresh the metadata copy under `metadata/` with what is published now.
    svc.sp_metadata(&config).await.map_err(|e| OpsError::Internal(e.to_string()))?;
    sp_key_views(svc, sso_id).await
}

fn rollover_conflict(e: crate::store::StoreError) -> OpsError {
    match e {
        crate::store::StoreError::Conflict(m) => OpsError::Conflict(format!("{m}.")),
        other => OpsError::from(other),
    }
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
