//! Delivery bookkeeping for the invitation outbox (the mailer sends, this records).

use super::{OutboxMessage, Result, Store};

/// After this many failed attempts a message stays unsent (visible in `outbox list`).
pub const MAX_DELIVERY_ATTEMPTS: i64 = 10;

impl Store {
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>> {
        Ok(sqlx::query_as(
            "SELECT id, created_at, node_id, user_id, kind, recipient, subject, body, sent_at, last_error \
             FROM outbox WHERE sent_at IS NULL AND attempts < $1 ORDER BY id LIMIT $2",
        )
        .bind(MAX_DELIVERY_ATTEMPTS)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn mark_outbox_sent(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_outbox_failed(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2")
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A message to queue with a certificate alert: (node, recipient, subject, body).
pub struct AlertMessage {
    pub node_id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

impl Store {
    /// Record that the alert for `fingerprint` at `threshold_days` is raised and queue its
    /// messages, once: whichever instance gets here first queues them; `false` when the alert
    /// was raised before.
    pub async fn raise_certificate_alert(
        &self,
        fingerprint: &str,
        threshold_days: i64,
        now: i64,
        messages: &[AlertMessage],
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let new = sqlx::query(
            "INSERT INTO certificate_alerts (fingerprint, threshold_days, sent_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(fingerprint)
        .bind(threshold_days)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if new {
            for m in messages {
                sqlx::query(
                    "INSERT INTO outbox (created_at, node_id, user_id, kind, recipient, subject, body) \
                     VALUES ($1, $2, NULL, 'certificate_alert', $3, $4, $5)",
                )
                .bind(now)
                .bind(m.node_id)
                .bind(&m.recipient)
                .bind(&m.subject)
                .bind(&m.body)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(new)
    }
}
