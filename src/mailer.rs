//! Optional SMTP delivery of the outbox (invitations to SCIM-created users). Without an SMTP
//! relay configured, messages simply stay queued for `spconnect outbox list`. Delivery runs in
//! the background so a slow relay never slows a SCIM call.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::store::{OutboxMessage, Store};

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS) or `smtps://host`;
    /// credentials as `smtp://user:pass@host` (never logged: a `Secret`).
    pub url: crate::config::Secret,
    pub from: String,
}

const POLL: Duration = Duration::from_secs(2);

/// Deliver queued messages until `stop` is cancelled (a message being sent is finished first).
/// Configuration errors are logged once and stop delivery.
pub async fn run(store: Store, config: SmtpConfig, stop: tokio_util::sync::CancellationToken) {
    let from: Mailbox = match config.from.parse() {
        Ok(m) => m,
        Err(e) => return tracing::error!(error = %e, "invalid --smtp-from address; outbox delivery disabled"),
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.expose()) {
        Ok(b) => b.timeout(Some(Duration::from_secs(20))).build(),
        Err(e) => return tracing::error!(error = %e, "invalid --smtp-url; outbox delivery disabled"),
    };
    loop {
        match store.pending_outbox(50).await {
            Ok(batch) => {
                for message in batch {
                    if stop.is_cancelled() {
                        return;
                    }
                    deliver(&store, &transport, &from, &message).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the outbox"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

async fn deliver(store: &Store, transport: &AsyncSmtpTransport<Tokio1Executor>, from: &Mailbox, m: &OutboxMessage) {
    let outcome = async {
        let to: Mailbox = m.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
        let email = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(m.subject.clone())
            .body(m.body.clone())
            .map_err(|e| format!("message: {e}"))?;
        transport.send(email).await.map_err(|e| format!("smtp: {e}"))
    }
    .await;
    let now = chrono::Utc::now().timestamp();
    let recorded = match &outcome {
        Ok(_) => {
            tracing::info!(outbox_id = m.id, recipient = %m.recipient, kind = %m.kind, "outbox message sent");
            store.mark_outbox_sent(m.id, now).await
        }
        Err(e) => {
            tracing::warn!(outbox_id = m.id, recipient = %m.recipient, error = %e, "outbox delivery failed; will retry");
            store.mark_outbox_failed(m.id, e).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(outbox_id = m.id, error = %e, "could not record the delivery outcome");
    }
}
