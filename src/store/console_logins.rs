//! What the console's own uses of the IdP leave behind: the report of an admin's test login
//! and the one-time hand-over of an admin's console sign-in through the IdP. Both are written
//! with the answered request and the assertion ID in one transaction, so a response spent on a
//! test or a console sign-in can never also sign a user in, and never twice.

use sqlx::Row;

use super::{Result, Store, StoreError};

/// A test login's report as stored for the admin who started it.
#[derive(Debug, Clone)]
pub struct TestLoginResult {
    pub request_id: String,
    pub sso_id: i64,
    pub admin_id: i64,
    pub at: i64,
    /// `passed`, or the reason code of the refusal.
    pub outcome: String,
    /// JSON, see `login::test_login::Report`.
    pub report: String,
}

/// The answered request and the verified assertion a console use of the IdP consumes.
#[derive(Debug, Clone)]
pub struct SpentResponse<'a> {
    pub sso_id: i64,
    pub request_id: &'a str,
    /// `None` when the response was refused before its assertion was verified.
    pub assertion: Option<(&'a str, i64)>,
    pub now: i64,
}

impl Store {
    /// Consume the request (and the verified assertion's ID) and store the report. The request
    /// is consumed whatever the outcome; an assertion already used makes the whole write fail
    /// (`AssertionReplayed`) and the caller reports that instead.
    pub async fn save_test_login(
        &self,
        spent: &SpentResponse<'_>,
        result: &TestLoginResult,
        keep_secs: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        spend(&mut tx, spent).await?;
        sqlx::query(
            "INSERT INTO test_login_results (request_id, sso_id, admin_id, at, expires_at, outcome, report) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&result.request_id)
        .bind(result.sso_id)
        .bind(result.admin_id)
        .bind(result.at)
        .bind(result.at + keep_secs)
        .bind(&result.outcome)
        .bind(&result.report)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A test login's report, only for the admin who started it.
    pub async fn test_login_result(
        &self,
        request_id: &str,
        admin_id: i64,
        now: i64,
    ) -> Result<Option<TestLoginResult>> {
        let row = sqlx::query(
            "SELECT request_id, sso_id, admin_id, at, outcome, report FROM test_login_results \
             WHERE request_id = $1 AND admin_id = $2 AND expires_at > $3",
        )
        .bind(request_id)
        .bind(admin_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TestLoginResult {
            request_id: r.get("request_id"),
            sso_id: r.get("sso_id"),
            admin_id: r.get("admin_id"),
            at: r.get("at"),
            outcome: r.get("outcome"),
            report: r.get("report"),
        }))
    }

    /// A console sign-in through the IdP passed: consume the request and the assertion, and
    /// park the sign-in for the console's same-site hand-over page under `token_hash`.
    pub async fn park_admin_signin(
        &self,
        spent: &SpentResponse<'_>,
        token_hash: &str,
        admin_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        spend(&mut tx, spent).await?;
        sqlx::query(
            "INSERT INTO admin_sso_handovers (token_hash, admin_id, sso_id, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(admin_id)
        .bind(spent.sso_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Take a parked console sign-in (once): the admin and the configuration it came through.
    pub async fn take_admin_signin(&self, token_hash: &str, now: i64) -> Result<Option<(i64, i64)>> {
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "DELETE FROM admin_sso_handovers WHERE token_hash = $1 AND expires_at > $2 RETURNING admin_id, sso_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }
}

/// Mark the assertion used (if verified) and the request answered, refusing a replay or a
/// request that was already answered or has expired.
async fn spend(tx: &mut super::WriteTx, spent: &SpentResponse<'_>) -> Result<()> {
    if let Some((assertion_id, replay_until)) = spent.assertion {
        let inserted = sqlx::query(
            "INSERT INTO used_assertions (sso_id, assertion_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(spent.sso_id)
        .bind(assertion_id)
        .bind(replay_until)
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::AssertionReplayed);
        }
    }
    let consumed = sqlx::query(
        "UPDATE authn_requests SET consumed_at = $1 WHERE request_id = $2 AND sso_id = $3 AND consumed_at IS NULL AND expires_at > $4",
    )
    .bind(spent.now)
    .bind(spent.request_id)
    .bind(spent.sso_id)
    .bind(spent.now)
    .execute(&mut **tx)
    .await?;
    if consumed.rows_affected() == 0 {
        return Err(StoreError::RequestAlreadyUsed);
    }
    Ok(())
}
