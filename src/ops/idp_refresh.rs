//! IdP metadata that stays current: import by URL (or file), an optional pinned certificate
//! whose key must sign the metadata, and the refresh — on demand (`spconnect idp refresh`, the
//! console's button) and on a schedule inside `serve`. A refresh that fails or yields metadata
//! we refuse keeps the last good copy, records why (console banner, `idp refresh` output), logs
//! a warning and counts it in `/metrics`. A refresh that changes the signing certificates is
//! audited with the old and new SHA-256 fingerprints; a certificate the IdP adds (rollover) is
//! trusted for logins from then on.

use std::time::Duration;

use base64::Engine;

use super::sso::get;
use super::{audit, Actor, OpsError, Result};
use crate::saml::idp_metadata::{self, IdpDescriptor, Validity};
use crate::saml::metadata_fetch::{self, FetchPolicy};
use crate::services::Services;
use crate::store::IdpSource;

/// Bounds of the refresh interval. The metadata's `cacheDuration` and `validUntil` choose
/// within them; a failed refresh is retried after `min_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshBounds {
    pub min_secs: i64,
    pub max_secs: i64,
}

impl Default for RefreshBounds {
    fn default() -> Self {
        RefreshBounds { min_secs: 3_600, max_secs: 86_400 }
    }
}

/// The audit action of a refresh or import that changed the IdP's signing certificates.
pub const CERTS_CHANGED: &str = "idp.metadata.certificates_changed";
/// The audit actor of the scheduled refresh inside `serve`.
pub const SCHEDULER: &str = "scheduler";

/// When to refresh metadata fetched at `now`: after its `cacheDuration`, or halfway to its
/// `validUntil` if that comes first (so a failure still leaves time for retries), never sooner
/// than `bounds.min_secs` and never later than `bounds.max_secs`.
pub fn next_refresh_at(now: i64, validity: Validity, bounds: RefreshBounds) -> i64 {
    let min = bounds.min_secs.max(1);
    let max = bounds.max_secs.max(min);
    let mut wait = max;
    if let Some(cache) = validity.cache_duration {
        wait = wait.min(cache);
    }
    if let Some(until) = validity.valid_until {
        wait = wait.min((until - now) / 2);
    }
    now + wait.clamp(min, max)
}

/// What an import does to the pinned metadata-signing certificate.
#[derive(Debug, Clone, Default)]
pub enum PinChange {
    /// Keep the pin there is (if any): the new metadata must satisfy it.
    #[default]
    Keep,
    /// Pin this certificate (DER) from now on; the new metadata must be signed with its key.
    Set(Vec<u8>),
    /// Remove the pin.
    Remove,
}

/// A certificate file's contents (PEM or DER) as DER, or why it is not one.
pub fn read_pin_cert(bytes: &[u8]) -> Result<Vec<u8>> {
    let cert = openssl::x509::X509::from_pem(bytes)
        .or_else(|_| openssl::x509::X509::from_der(bytes))
        .map_err(|_| OpsError::Invalid("The pinned certificate is not a PEM or DER X.509 certificate.".into()))?;
    cert.to_der().map_err(|e| OpsError::Internal(e.to_string()))
}

/// SHA-256 fingerprint of a certificate, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(der))
}

/// Where to fetch from and what the admin explicitly allowed.
#[derive(Debug, Clone, Copy)]
pub struct UrlImport<'a> {
    pub url: &'a str,
    /// `http://` (for loopback tests).
    pub allow_http: bool,
    /// Loopback, private and link-local addresses.
    pub allow_private: bool,
}

fn policy(allow_http: bool, allow_private: bool) -> FetchPolicy {
    FetchPolicy { allow_http, allow_private, ..FetchPolicy::default() }
}

/// The checks every metadata document passes before it is stored: UTF-8, the parser, an
/// unexpired `validUntil`, and the pinned certificate's signature when there is a pin.
fn accept(
    bytes: &[u8],
    pin: Option<&[u8]>,
    now: i64,
) -> std::result::Result<(IdpDescriptor, Validity, String), String> {
    let xml =
        std::str::from_utf8(bytes).map_err(|_| "the document is not UTF-8 text (is it the XML file?)".to_string())?;
    if xml.trim().is_empty() {
        return Err("the document is empty".into());
    }
    let idp = idp_metadata::parse(xml).map_err(|e| e.to_string())?;
    let validity = idp_metadata::validity(xml, now).map_err(|e| e.to_string())?;
    if let Some(pin) = pin {
        idp_metadata::verify_pinned_signature(xml, pin).map_err(|e| e.to_string())?;
    }
    Ok((idp, validity, xml.to_string()))
}

fn refused(sso_id: i64, why: &str) -> OpsError {
    tracing::warn!(sso_id, reason = %crate::logsafe::clip(why), "IdP metadata refused");
    OpsError::Invalid(format!("The metadata was not accepted: {why}."))
}

/// The pin in force after `change`, as DER.
fn pin_after(source: Option<&IdpSource>, change: &PinChange) -> Option<Vec<u8>> {
    match change {
        PinChange::Set(der) => Some(der.clone()),
        PinChange::Remove => None,
        PinChange::Keep => source
            .and_then(|s| s.pin_cert.as_deref())
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()),
    }
}

/// Where accepted metadata came from: an admin's import (always stored), or a refresh from a
/// URL with a pin (stored only if the configuration still has that source).
enum Origin<'a> {
    Import,
    Refresh { url: &'a str, pin_cert: Option<&'a str> },
}

/// Store accepted metadata, keep the admin's copy, and audit a change of signing certificates.
/// `false` when a refresh lost to an import or pin change made meanwhile (nothing stored).
async fn store(
    svc: &Services,
    who: &str,
    sso_id: i64,
    idp: &IdpDescriptor,
    xml: &str,
    now: i64,
    origin: Origin<'_>,
) -> Result<bool> {
    let old: Vec<String> = get(svc, sso_id).await?.idp_certs_der().iter().map(|d| fingerprint(d)).collect();
    match origin {
        Origin::Import => svc.store.set_idp(sso_id, idp, xml, now).await?,
        Origin::Refresh { url, pin_cert } => {
            if !svc.store.set_idp_if_source(sso_id, idp, xml, now, url, pin_cert).await? {
                return Ok(false);
            }
        }
    }
    let copy = svc.settings.data_dir.idp_metadata_copy(sso_id);
    // Only a convenience copy: the database holds the metadata that is used.
    if let Err(e) = std::fs::write(&copy, xml) {
        tracing::warn!(sso_id, path = %copy.display(), error = %e, "could not write the IdP metadata copy");
    }
    let new: Vec<String> = idp.signing_certs.iter().map(|c| fingerprint(&c.der)).collect();
    let same = old.len() == new.len() && old.iter().all(|f| new.contains(f));
    if !old.is_empty() && !same {
        let detail = format!("old SHA-256: {}; new SHA-256: {}", old.join(", "), new.join(", "));
        tracing::info!(sso_id, %detail, "the IdP's signing certificates changed");
        svc.store.audit(who, CERTS_CHANGED, &sso_id.to_string(), &detail, now).await?;
    }
    Ok(true)
}

/// Import metadata from a file's bytes. The configuration stops being URL-backed; the pin is
/// changed as asked, and a pin in force must be satisfied.
pub async fn import_file(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    file: &[u8],
    pin: PinChange,
    now: i64,
) -> Result<IdpDescriptor> {
    get(svc, sso_id).await?;
    let source = svc.store.get_idp_source(sso_id).await?;
    let pin_der = pin_after(source.as_ref(), &pin);
    let (idp, _, xml) = accept(file, pin_der.as_deref(), now).map_err(|why| refused(sso_id, &why))?;
    // The source first: a refresh under way then finds it changed and stores nothing.
    svc.store.set_idp_source(sso_id, None, false, false, None, now).await?;
    apply_pin(svc, actor, sso_id, &pin, now).await?;
    store(svc, actor.audit_name(), sso_id, &idp, &xml, now, Origin::Import).await?;
    let detail = format!("{} ({} signing certificate(s))", idp.entity_id, idp.signing_certs.len());
    audit(svc, actor, "idp.upload", &sso_id.to_string(), &detail, now).await?;
    Ok(idp)
}

async fn apply_pin(svc: &Services, actor: &Actor, sso_id: i64, pin: &PinChange, now: i64) -> Result<()> {
    match pin {
        PinChange::Keep => {}
        PinChange::Set(der) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            svc.store.set_idp_pin(sso_id, Some(&b64)).await?;
            audit(svc, actor, "idp.metadata.pin", &sso_id.to_string(), &format!("SHA-256 {}", fingerprint(der)), now)
                .await?;
        }
        PinChange::Remove => {
            svc.store.set_idp_pin(sso_id, None).await?;
            audit(svc, actor, "idp.metadata.unpin", &sso_id.to_string(), "", now).await?;
        }
    }
    Ok(())
}

/// Fetch the metadata at `imp.url`, check it as a file import would, store it and remember the
/// URL (and the allowances) for the scheduled refresh. Nothing is stored when anything fails.
pub async fn import_from_url(
    svc: &Services,
    actor: &Actor,
    sso_id: i64,
    imp: UrlImport<'_>,
    pin: PinChange,
    now: i64,
) -> Result<IdpDescriptor> {
    get(svc, sso_id).await?;
    let url = imp.url.trim();
    if url.is_empty() {
        return Err(OpsError::Invalid("Give the URL of the IdP's metadata.".into()));
    }
    if url.len() > 2048 {
        return Err(OpsError::Invalid("The metadata URL is longer than 2048 characters.".into()));
    }
    let source = svc.store.get_idp_source(sso_id).await?;
    let pin_der = pin_after(source.as_ref(), &pin);
    let body = metadata_fetch::fetch(url, &policy(imp.allow_http, imp.allow_private))
        .await
        .map_err(|e| refused(sso_id, &e.to_string()))?;
    let (idp, validity, xml) = accept(&body, pin_der.as_deref(), now).map_err(|why| refused(sso_id, &why))?;
    let next = next_refresh_at(now, validity, svc.settings.idp_refresh);
    // The source first: a refresh under way then finds it changed and stores nothing.
    svc.store.set_idp_source(sso_id, Some(url), imp.allow_http, imp.allow_private, Some(next), now).await?;
    apply_pin(svc, actor, sso_id, &pin, now).await?;
    store(svc, actor.audit_name(), sso_id, &idp, &xml, now, Origin::Import).await?;
    let detail = format!(
        "{} from {} ({} signing certificate(s))",
        idp.entity_id,
        crate::logsafe::clip_to(url, 300),
        idp.signing_certs.len()
    );
    audit(svc, actor, "idp.import_url", &sso_id.to_string(), &detail, now).await?;
    Ok(idp)
}

/// What one refresh did.
#[derive(Debug, Clone)]
pub enum Refreshed {
    /// Fresh metadata stored; `certificates_changed` when the signing certificates differ.
    Stored { idp: IdpDescriptor, certificates_changed: bool, next_refresh_at: i64 },
    /// Refused or unreachable: the last good copy stays in use.
    Failed { reason: String, next_refresh_at: i64 },
}

/// Refresh a URL-backed configuration now (`who`: the admin, `cli` or the scheduler).
pub async fn refresh(svc: &Services, who: &str, sso_id: i64, now: i64) -> Result<Refreshed> {
    let config = get(svc, sso_id).await?;
    let source = svc.store.get_idp_source(sso_id).await?;
    let Some((source, url)) = source.and_then(|s| s.url.clone().map(|u| (s, u))) else {
        return Err(OpsError::Invalid(format!(
            "SSO {sso_id} has no metadata URL to refresh from; import with `spconnect idp import {sso_id} --url https://…`."
        )));
    };
    let bounds = svc.settings.idp_refresh;
    let pin = pin_after(Some(&source), &PinChange::Keep);
    let fetched = metadata_fetch::fetch(&url, &policy(source.allow_http, source.allow_private)).await;
    let outcome = match fetched {
        Err(e) => Err(e.to_string()),
        Ok(body) => accept(&body, pin.as_deref(), now),
    };
    match outcome {
        Ok((idp, validity, xml)) => {
            let before = config.idp_certs_der();
            let origin = Origin::Refresh { url: &url, pin_cert: source.pin_cert.as_deref() };
            if !store(svc, who, sso_id, &idp, &xml, now, origin).await? {
                let reason = "the configuration's metadata source or pin changed while this refresh was under way; \
                              nothing was stored"
                    .to_string();
                tracing::info!(sso_id, "{reason}");
                return Ok(Refreshed::Failed { reason, next_refresh_at: now });
            }
            let next = next_refresh_at(now, validity, bounds);
            svc.store.record_idp_refresh_ok(sso_id, now, next).await?;
            let certificates_changed =
                before.len() != idp.signing_certs.len() || !idp.signing_certs.iter().all(|c| before.contains(&c.der));
            tracing::info!(sso_id, next_refresh_at = next, certificates_changed, "IdP metadata refreshed");
            Ok(Refreshed::Stored { idp, certificates_changed, next_refresh_at: next })
        }
        Err(reason) => {
            let next = now + bounds.min_secs.max(1);
            let reason = crate::logsafe::clip_to(&reason, 500);
            tracing::warn!(
                sso_id,
                reason = %reason,
                "IdP metadata refresh failed; the last good metadata stays in use"
            );
            crate::metrics::idp_refresh_failure(sso_id);
            svc.store.record_idp_refresh_failure(sso_id, now, next, &reason).await?;
            Ok(Refreshed::Failed { reason, next_refresh_at: next })
        }
    }
}

/// Refresh every URL-backed configuration that is due and that this instance claims first.
/// Returns how many it refreshed (successfully or not).
pub async fn refresh_due(svc: &Services, now: i64) -> usize {
    let sources = match svc.store.list_idp_url_sources().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "IdP metadata refresh: the sources cannot be read");
            return 0;
        }
    };
    let bounds = svc.settings.idp_refresh;
    let mut done = 0;
    for s in sources {
        // The lease: if this instance dies mid-refresh, another takes over after min_secs.
        let lease_until = now + bounds.min_secs.max(1);
        match svc.store.claim_idp_refresh(s.sso_id, now, now - bounds.max_secs.max(1), lease_until).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(sso_id = s.sso_id, error = %e, "IdP metadata refresh: cannot claim");
                continue;
            }
        }
        done += 1;
        if let Err(e) = refresh(svc, SCHEDULER, s.sso_id, now).await {
            tracing::warn!(sso_id = s.sso_id, error = %e, "IdP metadata refresh failed");
        }
    }
    done
}

/// How often the schedule looks for due refreshes.
pub fn tick(bounds: RefreshBounds) -> Duration {
    Duration::from_secs(u64::try_from((bounds.min_secs / 4).clamp(1, 60)).unwrap_or(60))
}

/// The schedule inside `serve`: look for due refreshes every [`tick`] until `stop`.
pub async fn run_schedule(svc: Services, stop: tokio_util::sync::CancellationToken) {
    let every = tick(svc.settings.idp_refresh);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        refresh_due(&svc, chrono::Utc::now().timestamp()).await;
    }
}

/// The refresh record of a configuration (`None`: metadata never imported through these paths).
pub async fn source(svc: &Services, sso_id: i64) -> Result<Option<IdpSource>> {
    Ok(svc.store.get_idp_source(sso_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_refresh_honours_the_metadata_within_the_bounds() {
        let b = RefreshBounds::default();
        let now = 1_000_000;
        let v = |cache: Option<i64>, until: Option<i64>| Validity { cache_duration: cache, valid_until: until };
        for (validity, bounds, want) in [
            // Nothing said: the longest interval.
            (v(None, None), b, 86_400),
            // cacheDuration within the bounds is honoured.
            (v(Some(6 * 3_600), None), b, 6 * 3_600),
            // Too short or too long: clamped.
            (v(Some(60), None), b, 3_600),
            (v(Some(7 * 86_400), None), b, 86_400),
            (v(Some(0), None), b, 3_600),
            // validUntil: halfway there, if that comes first.
            (v(None, Some(now + 10 * 3_600)), b, 5 * 3_600),
            (v(Some(2 * 3_600), Some(now + 10 * 3_600)), b, 2 * 3_600),
            (v(None, Some(now + 30 * 86_400)), b, 86_400),
            (v(None, Some(now + 600)), b, 3_600),
            // Shortened bounds (tests, or an operator's choice).
            (v(None, None), RefreshBounds { min_secs: 1, max_secs: 2 }, 2),
            (v(Some(3_600), None), RefreshBounds { min_secs: 1, max_secs: 2 }, 2),
            // Inverted or zero bounds never give a busy loop.
            (v(None, None), RefreshBounds { min_secs: 0, max_secs: 0 }, 1),
            (v(None, None), RefreshBounds { min_secs: 100, max_secs: 10 }, 100),
        ] {
            assert_eq!(next_refresh_at(now, validity, bounds) - now, want, "{validity:?} {bounds:?}");
        }
    }

    #[test]
    fn the_schedule_ticks_often_enough_for_its_bounds() {
        assert_eq!(tick(RefreshBounds::default()), Duration::from_secs(60));
        assert_eq!(tick(RefreshBounds { min_secs: 1, max_secs: 2 }), Duration::from_secs(1));
        assert_eq!(tick(RefreshBounds { min_secs: 20, max_secs: 40 }), Duration::from_secs(5));
    }
}
