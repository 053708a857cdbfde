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
