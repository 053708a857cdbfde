//! Single Logout state: the index of browser login sessions (so an IdP's LogoutRequest can end
//! them on every instance), the LogoutRequests we sent (one-time, expiring), and the IDs of the
//! LogoutRequests we accepted (one-time across instances, like assertion IDs).

use sqlx::Row;

use super::{NewFailure, Result, Store};

/// A browser login session as the index keeps it.
#[derive(Debug, Clone)]
pub struct LoginSessionRow {
    pub login_sid: String,
    pub session_id: Option<String>,
    pub user_id: i64,
    pub sso_id: i64,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What an accepted LogoutResponse answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutRequestState {
    Unknown,
    Used,
    Expired,
    /// Unanswered until now; consumed by this call.
    Taken,
}

impl Store {
    /// Index a new login session (its tower session id, when already known).
    pub async fn insert_login_session(&self, s: &LoginSessionRow) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO login_sessions (login_sid, session_id, user_id, sso_id, name_id, name_id_format, \
             session_index, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.login_sid)
        .bind(&s.session_id)
        .bind(s.user_id)
        .bind(s.sso_id)
        .bind(&s.name_id)
        .bind(&s.name_id_format)
        .bind(&s.session_index)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the login session is still alive (not ended by a logout on any instance).
    pub async fn login_session_alive(&self, login_sid: &str, now: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_sessions WHERE login_sid = $1 AND expires_at > $2")
            .bind(login_sid)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// End one login session (the browser's own "Sign out").
    pub async fn delete_login_session(&self, login_sid: &str) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM login_sessions WHERE login_sid = $1").bind(login_sid).execute(&self.pool).await?;
        Ok(())
    }

    /// Accept an IdP's LogoutRequest once and end the login sessions of its subject in this
    /// configuration: all of them, or only those whose SessionIndex is listed. One transaction:
    /// the request ID is marked used (until `replay_until`) together with the sessions ending,
    /// so a replay (on any instance) ends nothing, and a failure leaves neither done. Returns
    /// None for a replay, else the ended rows (their session records are deleted by the caller).
    pub async fn accept_logout_request(
        &self,
        sso_id: i64,
        request_id: &str,
        replay_until: i64,
        name_id: &str,
        session_indexes: &[String],
    ) -> Result<Option<Vec<LoginSessionRow>>> {
        let mut tx = self.begin_write().await?;
        let first = sqlx::query(
            "INSERT INTO used_logout_requests (sso_id, request_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(sso_id)
        .bind(request_id)
        .bind(replay_until)
        .execute(&mut *tx)
        .await?;
        if first.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let all = sqlx::query(
            "SELECT login_sid, session_id, user_id, sso_id, name_id, name_id_format, session_index, created_at, \
             expires_at FROM login_sessions WHERE sso_id = $1 AND name_id = $2",
        )
        .bind(sso_id)
        .bind(name_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut ended = Vec::new();
        for r in all {
            let row = LoginSessionRow {
                login_sid: r.get("login_sid"),
                session_id: r.get("session_id"),
                user_id: r.get("user_id"),
                sso_id: r.get("sso_id"),
                name_id: r.get("name_id"),
                name_id_format: r.get("name_id_format"),
                session_index: r.get("session_index"),
                created_at: r.get("created_at"),
                expires_at: r.get("expires_at"),
            };
            let matches = session_indexes.is_empty()
                || row.session_index.as_ref().is_some_and(|si| session_indexes.iter().any(|s| s == si));
            if matches {
                sqlx::query("DELETE FROM login_sessions WHERE login_sid = $1")
                    .bind(&row.login_sid)
                    .execute(&mut *tx)
                    .await?;
                ended.push(row);
            }
        }
        tx.commit().await?;
        Ok(Some(ended))
    }

    /// Remember a LogoutRequest we sent.
    pub async fn insert_logout_request(&self, request_id: &str, sso_id: i64, now: i64, expires_at: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("INSERT INTO logout_requests (request_id, sso_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(request_id)
            .bind(sso_id)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Consume the LogoutRequest a LogoutResponse answers: once, before it expires, and only
    /// for the configuration that sent it. The consuming UPDATE is conditional, so two instances
    /// receiving the same answer cannot both take it.
    pub async fn take_logout_request(&self, request_id: &str, sso_id: i64, now: i64) -> Result<LogoutRequestState> {
        let _turn = self.write_turn().await;
        let taken = sqlx::query(
            "UPDATE logout_requests SET consumed_at = $1 WHERE request_id = $2 AND sso_id = $3 \
             AND consumed_at IS NULL AND expires_at > $4",
        )
        .bind(now)
        .bind(request_id)
        .bind(sso_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(LogoutRequestState::Taken);
        }
        let row =
            sqlx::query("SELECT consumed_at, expires_at FROM logout_requests WHERE request_id = $1 AND sso_id = $2")
                .bind(request_id)
                .bind(sso_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            None => LogoutRequestState::Unknown,
            Some(r) if r.get::<Option<i64>, _>("consumed_at").is_some() => LogoutRequestState::Used,
            Some(_) => LogoutRequestState::Expired,
        })
    }

    /// Count of live indexed login sessions of a configuration (tests, diagnostics).
    pub async fn count_login_sessions(&self, sso_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM login_sessions WHERE sso_id = $1")
            .bind(sso_id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// A completed Single Logout in the login record (outcome success, reason code `SLO_LOGOUT`,
    /// no user: the record must not count as a sign-in).
    pub async fn record_logout_event(&self, e: &NewFailure) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO login_events (at, sso_id, outcome, reason_code, detail, issuer, name_id, client_addr, request_id) \
             VALUES ($1, $2, 'success', $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.at)
        .bind(e.sso_id)
        .bind(&e.reason_code)
        .bind(&e.detail)
        .bind(&e.issuer)
        .bind(&e.name_id)
        .bind(&e.client_addr)
        .bind(&e.request_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
