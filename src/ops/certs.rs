//! Certificate expiry, before it breaks logins: every SP certificate in use (the active key and
//! a published next one) and every IdP signing certificate that expires within 30, 7 or 1 days
//! — or has expired — raises a warning: a log line, a banner on every console page, the
//! `spconnect_certificate_warnings` metric, and (when SMTP is configured) one email per
//! certificate and threshold to every admin through the outbox.

use chrono::{DateTime, Utc};

use super::Result;
use crate::services::Services;
use crate::store::{AlertMessage, SpKeyRole};

/// At most this many certificates are emailed about per hourly check (the most urgent first);
/// the rest wait for the next check, and the banner and the log show all of them.
pub const MAX_ALERTS_PER_CHECK: usize = 10;

/// Days before expiry at which a warning is raised, widest first.
pub const THRESHOLDS: [i64; 3] = [30, 7, 1];

/// How close a certificate is to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Expires within this many days (one of `THRESHOLDS`, the smallest that applies).
    Within(i64),
    Expired,
}

impl Urgency {
    /// The alert key of this urgency (an expired certificate is threshold 0).
    pub fn threshold_days(self) -> i64 {
        match self {
            Urgency::Within(d) => d,
            Urgency::Expired => 0,
        }
    }
}

/// The urgency of a certificate that ends at `not_after`, seen at `now`; `None` while it has
/// more than 30 days left.
pub fn urgency(not_after: i64, now: i64) -> Option<Urgency> {
    if not_after <= now {
        return Some(Urgency::Expired);
    }
    let left = not_after - now;
    THRESHOLDS.iter().rev().find(|d| left <= **d * 86_400).map(|d| Urgency::Within(*d))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CertKind {
    /// Ours: IdPs verify our AuthnRequests and encrypt to it.
    Sp,
    /// The IdP's signing certificate: we verify its responses with it.
    Idp,
}

#[derive(Debug, Clone)]
pub struct CertWarning {
    pub sso_id: i64,
    pub node_id: i64,
    pub sso_name: String,
    pub kind: CertKind,
    pub fingerprint: String,
    pub not_after: DateTime<Utc>,
    pub urgency: Urgency,
}

impl CertWarning {
    /// One line for the banner, the log and the email subject.
    pub fn message(&self) -> String {
        let what = match self.kind {
            CertKind::Sp => "The SP certificate",
            CertKind::Idp => "The IdP signing certificate",
        };
        let when = self.not_after.format("%Y-%m-%d %H:%M UTC");
        match self.urgency {
            Urgency::Expired => match self.kind {
                CertKind::Idp => format!(
                    "{what} of \"{}\" ({}) expired on {when}: responses signed with it are refused",
                    self.sso_name, self.sso_id
                ),
                CertKind::Sp => format!(
                    "{what} of \"{}\" ({}) expired on {when}: IdPs may refuse its requests",
                    self.sso_name, self.sso_id
                ),
            },
            Urgency::Within(d) => format!(
                "{what} of \"{}\" ({}) expires on {when} (within {d} day{})",
                self.sso_name,
                self.sso_id,
                if d == 1 { "" } else { "s" }
            ),
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self.kind {
            CertKind::Sp => {
                "Roll the SP key over: spconnect sso rollover <sso_id> (or the console's Keys section), let the IdPs \
                 re-read the metadata, then --activate and --retire."
            }
            CertKind::Idp => {
                "Upload the IdP's current metadata with its new signing certificate (or import it by URL so it is \
                 refreshed automatically)."
            }
        }
    }
}

/// Every warning at `now`, most urgent first.
pub async fn warnings(svc: &Services, now: i64) -> Result<Vec<CertWarning>> {
    let mut out = Vec::new();
    for config in svc.store.list_sso().await? {
        let mut push = |kind, der: &[u8]| {
            let Some(not_after) = openssl::x509::X509::from_der(der)
                .ok()
                .and_then(|c| crate::saml::idp_metadata::asn1_to_utc(c.not_after()))
            else {
                return;
            };
            if let Some(urgency) = urgency(not_after.timestamp(), now) {
                out.push(CertWarning {
                    sso_id: config.sso_id,
                    node_id: config.node_id,
                    sso_name: config.name.clone(),
                    kind,
                    fingerprint: crate::crypto::fingerprint(der),
                    not_after,
                    urgency,
                });
            }
        };
        match svc.sp_keys_for(&config).await {
            Ok(keys) => {
                for pair in keys.pairs.iter().filter(|p| p.role != SpKeyRole::Previous) {
                    if let Ok(der) = pair.cert.to_der() {
                        push(CertKind::Sp, &der);
                    }
                }
            }
            Err(e) => tracing::warn!(sso_id = config.sso_id, error = %e, "SP certificate not readable for its expiry"),
        }
        for der in config.idp_certs_der() {
            push(CertKind::Idp, &der);
        }
    }
    out.sort_by_key(|w| (w.urgency.threshold_days(), w.not_after));
    Ok(out)
}

/// Log every warning and, when SMTP is configured, email each new one (per certificate and
/// threshold, across instances) to every admin. Returns the warnings.
pub async fn alert(svc: &Services, now: i64) -> Result<Vec<CertWarning>> {
    let found = warnings(svc, now).await?;
    let mut emailed = 0;
    let admins = if svc.settings.smtp.is_some() { svc.store.list_admins().await? } else { Vec::new() };
    for w in &found {
        tracing::warn!(
            sso_id = w.sso_id,
            kind = ?w.kind,
            fingerprint = %w.fingerprint,
            not_after = %w.not_after.to_rfc3339(),
            "certificate expiry: {}",
            w.message()
        );
        // Bounded mail per check, however many certificates metadata brought in.
        if admins.is_empty() || emailed >= MAX_ALERTS_PER_CHECK {
            continue;
        }
        let subject = format!("spconnect: {}", w.message());
        let body = format!(
            "{}.\n\nSHA-256 fingerprint: {}\n\nWhat to do: {}\n\nConsole: {}/admin/sso/{}\n",
            w.message(),
            w.fingerprint,
            w.fix(),
            svc.settings.public_url,
            w.sso_id
        );
        let messages: Vec<AlertMessage> = admins
            .iter()
            .map(|a| AlertMessage {
                node_id: w.node_id,
                recipient: a.email.clone(),
                subject: subject.clone(),
                body: body.clone(),
            })
            .collect();
        if svc.store.raise_certificate_alert(&w.fingerprint, w.urgency.threshold_days(), now, &messages).await? {
            emailed += 1;
            tracing::info!(sso_id = w.sso_id, recipients = messages.len(), "certificate expiry alert queued");
        }
    }
    ::metrics::gauge!(crate::metrics::CERTIFICATE_WARNINGS).set(found.len() as f64);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::{urgency, Urgency};

    #[test]
    fn urgency_at_each_boundary_to_the_second() {
        let now = 1_800_000_000;
        let day = 86_400;
        for (left, want) in [
            (31 * day, None),
            (30 * day + 1, None),
            (30 * day, Some(Urgency::Within(30))),
            (7 * day + 1, Some(Urgency::Within(30))),
            (7 * day, Some(Urgency::Within(7))),
            (day + 1, Some(Urgency::Within(7))),
            (day, Some(Urgency::Within(1))),
            (1, Some(Urgency::Within(1))),
            (0, Some(Urgency::Expired)),
            (-5 * day, Some(Urgency::Expired)),
        ] {
            assert_eq!(urgency(now + left, now), want, "{left} seconds left");
        }
    }
}
