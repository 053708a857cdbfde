//! Where a configuration's IdP metadata comes from (a URL refreshed on a schedule, or a file),
//! the pinned metadata-signing certificate, and the refresh bookkeeping shared by every
//! instance on the database. A due refresh is claimed with one conditional UPDATE, so of
//! several instances exactly one fetches.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, Result, Store};

#[derive(Debug, Clone, serde::Serialize)]
pub struct IdpSource {
    pub sso_id: i64,
    /// `None`: the metadata came from a file (nothing to refresh).
    pub url: Option<String>,
    pub allow_http: bool,
    pub allow_private: bool,
    /// The pinned metadata-signing certificate (base64 DER).
    #[serde(skip)]
    pub pin_cert: Option<String>,
    pub next_refresh_at: Option<i64>,
    /// The last refresh (or URL import) that stored metadata.
    pub last_refresh_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// Why the last attempt failed; `None` after a success.
    pub last_error: Option<String>,
    /// Failed attempts since the last success.
    pub failures: i64,
}

impl sqlx::FromRow<'_, AnyRow> for IdpSource {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(IdpSource {
            sso_id: r.try_get("sso_id")?,
            url: r.try_get("url")?,
            allow_http: flag(r, "allow_http")?,
            allow_private: flag(r, "allow_private")?,
            pin_cert: r.try_get("pin_cert")?,
            next_refresh_at: r.try_get("next_refresh_at")?,
            last_refresh_at: r.try_get("last_refresh_at")?,
            last_attempt_at: r.try_get("last_attempt_at")?,
            last_error: r.try_get("last_error")?,
            failures: r.try_get("failures")?,
        })
    }
}

const SELECT: &str = "SELECT sso_id, url, allow_http, allow_private, pin_cert, next_refresh_at, last_refresh_at, \
     last_attempt_at, last_error, failures FROM idp_metadata_sources";

impl Store {
    pub async fn get_idp_source(&self, sso_id: i64) -> Result<Option<IdpSource>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE sso_id = $1")).bind(sso_id).fetch_optional(&self.pool).await?)
    }

    /// Configurations whose metadata comes from a URL.
    pub async fn list_idp_url_sources(&self) -> Result<Vec<IdpSource>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE url IS NOT NULL ORDER BY sso_id")).fetch_all(&self.pool).await?)
    }

    /// After an import: the metadata now comes from `url` (or a file, `None`), fetched with
    /// these allowances; the failure record is cleared. The pin is left as it is.
    pub async fn set_idp_source(
        &self,
        sso_id: i64,
        url: Option<&str>,
        allow_http: bool,
        allow_private: bool,
        next_refresh_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO idp_metadata_sources (sso_id, url, allow_http, allow_private, next_refresh_at, \
             last_refresh_at, last_attempt_at, last_error, failures) VALUES ($1, $2, $3, $4, $5, $6, $6, NULL, 0) \
             ON CONFLICT (sso_id) DO UPDATE SET url = $2, allow_http = $3, allow_private = $4, \
             next_refresh_at = $5, last_refresh_at = $6, last_attempt_at = $6, last_error = NULL, failures = 0",
        )
        .bind(sso_id)
        .bind(url)
        .bind(i64::from(allow_http))
        .bind(i64::from(allow_private))
        .bind(next_refresh_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Pin (base64 DER) or unpin (`None`) the metadata-signing certificate.
    pub async fn set_idp_pin(&self, sso_id: i64, pin_cert: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO idp_metadata_sources (sso_id, pin_cert) VALUES ($1, $2) \
             ON CONFLICT (sso_id) DO UPDATE SET pin_cert = $2",
        )
        .bind(sso_id)
        .bind(pin_cert)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claim the refresh of `sso_id` if it is due: its scheduled time has come (`now`), or its
    /// last attempt is older than `stale_before` (this instance's longest interval). The claim
    /// moves `next_refresh_at` to `lease_until` and records the attempt, in one statement, so
    /// another instance asking at the same moment gets `false`.
    pub async fn claim_idp_refresh(&self, sso_id: i64, now: i64, stale_before: i64, lease_until: i64) -> Result<bool> {
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE idp_metadata_sources SET next_refresh_at = $4, last_attempt_at = $2 \
             WHERE sso_id = $1 AND url IS NOT NULL \
             AND (next_refresh_at IS NULL OR next_refresh_at <= $2 OR COALESCE(last_attempt_at, 0) <= $3) \
             RETURNING sso_id",
        )
        .bind(sso_id)
        .bind(now)
        .bind(stale_before)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed.is_some())
    }

    /// A refresh stored fresh metadata.
    pub async fn record_idp_refresh_ok(&self, sso_id: i64, now: i64, next_refresh_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE idp_metadata_sources SET last_refresh_at = $2, last_attempt_at = $2, next_refresh_at = $3, \
             last_error = NULL, failures = 0 WHERE sso_id = $1",
        )
        .bind(sso_id)
        .bind(now)
        .bind(next_refresh_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A refresh failed: the stored metadata stays; the reason is kept for the console.
    pub async fn record_idp_refresh_failure(
        &self,
        sso_id: i64,
        now: i64,
        next_refresh_at: i64,
        error: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idp_metadata_sources SET last_attempt_at = $2, next_refresh_at = $3, last_error = $4, \
             failures = failures + 1 WHERE sso_id = $1",
        )
        .bind(sso_id)
        .bind(now)
        .bind(next_refresh_at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// URL-backed configurations whose last refresh failed (their metadata is stale).
    pub async fn count_stale_idp_sources(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM idp_metadata_sources WHERE url IS NOT NULL AND last_error IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
