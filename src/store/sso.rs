//! SSO configurations: one per IdP connection, identified by a random 12-digit SSO ID.

use base64::Engine;
use rand::Rng;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, is_unique_violation, violates, Result, Store, StoreError};
use crate::saml::idp_metadata::IdpDescriptor;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SsoConfig {
    pub sso_id: i64,
    pub node_id: i64,
    pub name: String,
    pub domain: String,
    pub jit: bool,
    pub idp_initiated: bool,
    pub clock_skew_secs: i64,
    pub allow_sha1: bool,
    pub allow_other_domains: bool,
    pub attr_email: String,
    pub attr_first: String,
    pub attr_last: String,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    pub idp_slo_url: Option<String>,
    /// The binding of the IdP's SingleLogoutService (`saml::BINDING_REDIRECT` or `BINDING_POST`).
    pub idp_slo_binding: Option<String>,
    /// On "Sign out", also end the IdP session (Single Logout); off = close the vault only.
    pub logout_idp: bool,
    #[serde(skip)]
    pub idp_certs: Option<String>,
    #[serde(skip)]
    pub idp_metadata: Option<String>,
    pub idp_imported_at: Option<i64>,
    pub created_at: i64,
    /// Keep the last few posted responses, redacted, for the admin (`debug-responses`).
    pub debug_keep_responses: bool,
    /// Refuse encrypted assertions unless the Response around them is signed.
    pub encrypted_requires_signed_response: bool,
    /// Refuse AES-CBC encrypted assertions (AES-GCM only).
    pub encrypted_gcm_only: bool,
    /// Off: logins through this configuration are refused until it is turned on again.
    pub active: bool,
    /// When it was last turned off or on.
    pub active_changed_at: Option<i64>,
    /// Moves on with every SP key rollover step (see `store::sp_keys`).
    pub sp_keys_version: i64,
    /// Admins whose email is in this configuration's domain may sign in to the console through
    /// its IdP (local admin passwords keep working as the break-glass way in).
    pub admin_signin: bool,
}

impl sqlx::FromRow<'_, AnyRow> for SsoConfig {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(SsoConfig {
            sso_id: r.try_get("sso_id")?,
            node_id: r.try_get("node_id")?,
            name: r.try_get("name")?,
            domain: r.try_get("domain")?,
            jit: flag(r, "jit")?,
            idp_initiated: flag(r, "idp_initiated")?,
            clock_skew_secs: r.try_get("clock_skew_secs")?,
            allow_sha1: flag(r, "allow_sha1")?,
            allow_other_domains: flag(r, "allow_other_domains")?,
            attr_email: r.try_get("attr_email")?,
            attr_first: r.try_get("attr_first")?,
            attr_last: r.try_get("attr_last")?,
            idp_entity_id: r.try_get("idp_entity_id")?,
            idp_sso_url: r.try_get("idp_sso_url")?,
            idp_slo_url: r.try_get("idp_slo_url")?,
            idp_slo_binding: r.try_get("idp_slo_binding")?,
            logout_idp: flag(r, "logout_idp")?,
            idp_certs: r.try_get("idp_certs")?,
            idp_metadata: r.try_get("idp_metadata")?,
            idp_imported_at: r.try_get("idp_imported_at")?,
            created_at: r.try_get("created_at")?,
            debug_keep_responses: flag(r, "debug_keep_responses")?,
            encrypted_requires_signed_response: flag(r, "encrypted_requires_signed_response")?,
            encrypted_gcm_only: flag(r, "encrypted_gcm_only")?,
            active: flag(r, "active")?,
            active_changed_at: r.try_get("active_changed_at")?,
            sp_keys_version: r.try_get("sp_keys_version")?,
            admin_signin: flag(r, "admin_signin")?,
        })
    }
}

impl SsoConfig {
    /// The IdP's signing certificates (DER), as imported from its metadata.
    pub fn idp_certs_der(&self) -> Vec<Vec<u8>> {
        let list: Vec<String> =
            self.idp_certs.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        list.iter().filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()).collect()
    }
}

/// Admin-changeable switches; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct SsoSettings {
    pub jit: Option<bool>,
    pub idp_initiated: Option<bool>,
    pub clock_skew_secs: Option<i64>,
    pub allow_sha1: Option<bool>,
    pub allow_other_domains: Option<bool>,
    pub attr_email: Option<String>,
    pub attr_first: Option<String>,
    pub attr_last: Option<String>,
    pub debug_keep_responses: Option<bool>,
    pub encrypted_requires_signed_response: Option<bool>,
    pub encrypted_gcm_only: Option<bool>,
    pub logout_idp: Option<bool>,
    pub admin_signin: Option<bool>,
}

const SELECT: &str = "SELECT sso_id, node_id, name, domain, jit, idp_initiated, clock_skew_secs, allow_sha1, \
     allow_other_domains, attr_email, attr_first, attr_last, idp_entity_id, idp_sso_url, idp_slo_url, \
     idp_certs, idp_metadata, idp_imported_at, created_at, debug_keep_responses, \
     encrypted_requires_signed_response, encrypted_gcm_only, active, active_changed_at, sp_keys_version, \
     idp_slo_binding, logout_idp, admin_signin FROM sso_configs";

impl Store {
    pub async fn create_sso(&self, name: &str, domain: &str, node_id: i64, now: i64) -> Result<SsoConfig> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT node_id FROM nodes WHERE node_id = $1")
            .bind(node_id)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("node"));
        }
        for _ in 0..8 {
            let sso_id = rand::rng().random_range(100_000_000_000i64..1_000_000_000_000i64);
            let deleted: Option<i64> = sqlx::query_scalar("SELECT sso_id FROM deleted_sso_configs WHERE sso_id = $1")
                .bind(sso_id)
                .fetch_optional(&self.pool)
                .await?;
            if deleted.is_some() {
                continue;
            }
            let res = sqlx::query(
                "INSERT INTO sso_configs (sso_id, node_id, name, domain, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(sso_id)
            .bind(node_id)
            .bind(name)
            .bind(domain.to_ascii_lowercase())
            .bind(now)
            .execute(&self.pool)
            .await;
            match res {
                Ok(_) => return self.get_sso(sso_id).await?.ok_or(StoreError::NotFound("sso configuration")),
                Err(e) if violates(&e, "sso_configs_domain") => {
                    return Err(StoreError::Conflict(format!(
                        "the enterprise domain {domain} already has an SSO configuration"
                    )));
                }
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict("could not allocate an SSO ID".into()))
    }

    pub async fn get_sso(&self, sso_id: i64) -> Result<Option<SsoConfig>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE sso_id = $1")).bind(sso_id).fetch_optional(&self.pool).await?)
    }

    pub async fn list_sso(&self) -> Result<Vec<SsoConfig>> {
        Ok(sqlx::query_as(&format!("{SELECT} ORDER BY created_at, sso_id")).fetch_all(&self.pool).await?)
    }

    pub async fn find_sso_by_domain(&self, domain: &str) -> Result<Option<SsoConfig>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE lower(domain) = lower($1)"))
            .bind(domain)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn update_sso_settings(&self, sso_id: i64, s: &SsoSettings) -> Result<SsoConfig> {
        let res = sqlx::query(
            "UPDATE sso_configs SET jit = COALESCE($1, jit), idp_initiated = COALESCE($2, idp_initiated), \
             clock_skew_secs = COALESCE($3, clock_skew_secs), allow_sha1 = COALESCE($4, allow_sha1), \
             allow_other_domains = COALESCE($5, allow_other_domains), attr_email = COALESCE($6, attr_email), \
             attr_first = COALESCE($7, attr_first), attr_last = COALESCE($8, attr_last), \
             debug_keep_responses = COALESCE($9, debug_keep_responses), \
             encrypted_requires_signed_response = COALESCE($10, encrypted_requires_signed_response), \
             encrypted_gcm_only = COALESCE($11, encrypted_gcm_only), logout_idp = COALESCE($12, logout_idp), \
             admin_signin = COALESCE($13, admin_signin) WHERE sso_id = $14",
        )
        .bind(s.jit.map(i64::from))
        .bind(s.idp_initiated.map(i64::from))
        .bind(s.clock_skew_secs)
        .bind(s.allow_sha1.map(i64::from))
        .bind(s.allow_other_domains.map(i64::from))
        .bind(&s.attr_email)
        .bind(&s.attr_first)
        .bind(&s.attr_last)
        .bind(s.debug_keep_responses.map(i64::from))
        .bind(s.encrypted_requires_signed_response.map(i64::from))
        .bind(s.encrypted_gcm_only.map(i64::from))
        .bind(s.logout_idp.map(i64::from))
        .bind(s.admin_signin.map(i64::from))
        .bind(sso_id)
        .execute(&self.pool)
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("sso configuration"));
        }
        self.get_sso(sso_id).await?.ok_or(StoreError::NotFound("sso configuration"))
    }

    pub async fn set_idp(&self, sso_id: i64, idp: &IdpDescriptor, raw_xml: &str, now: i64) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        write_idp(&mut conn, sso_id, idp, raw_xml, now).await
    }

    /// `set_idp` for a scheduled or requested refresh from `url`: stored only if the
    /// configuration is still refreshed from that URL with that pin (`pin_cert`, base64 DER).
    /// An admin's import or pin change made while the fetch was under way wins; `false` then.
    pub async fn set_idp_if_source(
        &self,
        sso_id: i64,
        idp: &IdpDescriptor,
        raw_xml: &str,
        now: i64,
        url: &str,
        pin_cert: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin_serialized(super::WriteLock::SsoLifecycle).await?;
        let current: Option<(Option<String>, Option<String>)> = sqlx::query_as(&format!(
            "SELECT url, pin_cert FROM idp_metadata_sources WHERE sso_id = $1{}",
            self.for_update()
        ))
        .bind(sso_id)
        .fetch_optional(&mut *tx)
        .await?;
        if current != Some((Some(url.to_string()), pin_cert.map(str::to_string))) {
            return Ok(false);
        }
        write_idp(&mut tx, sso_id, idp, raw_xml, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn write_idp(
    conn: &mut sqlx::AnyConnection,
    sso_id: i64,
    idp: &IdpDescriptor,
    raw_xml: &str,
    now: i64,
) -> Result<()> {
    {
        let certs: Vec<String> =
            idp.signing_certs.iter().map(|c| base64::engine::general_purpose::STANDARD.encode(&c.der)).collect();
        let res = sqlx::query(
            "UPDATE sso_configs SET idp_entity_id = $1, idp_sso_url = $2, idp_slo_url = $3, idp_certs = $4, \
             idp_metadata = $5, idp_imported_at = $6, idp_slo_binding = $7 WHERE sso_id = $8",
        )
        .bind(&idp.entity_id)
        .bind(&idp.sso_redirect_url)
        .bind(&idp.slo_url)
        .bind(serde_json::to_string(&certs).unwrap_or_else(|_| "[]".into()))
        .bind(raw_xml)
        .bind(now)
        .bind(&idp.slo_binding)
        .bind(sso_id)
        .execute(&mut *conn)
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("sso configuration"));
        }
        Ok(())
    }
}

impl Store {
    /// Turn a configuration off (logins refused) or on again. `false` when it already was.
    pub async fn set_sso_active(&self, sso_id: i64, active: bool, now: i64) -> Result<bool> {
        if self.get_sso(sso_id).await?.is_none() {
            return Err(StoreError::NotFound("sso configuration"));
        }
        let changed = sqlx::query(
            "UPDATE sso_configs SET active = $1, active_changed_at = $2 WHERE sso_id = $3 AND active <> $1",
        )
        .bind(i64::from(active))
        .bind(now)
        .bind(sso_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Delete a configuration with its SP keys, pending sign-ins and debug copies, in one
    /// transaction. Users, their login history and the audit trail stay; the SSO ID is recorded
    /// so it is never given out again.
    pub async fn delete_sso(&self, sso_id: i64, now: i64) -> Result<SsoConfig> {
        let mut tx = self.begin_serialized(super::WriteLock::SsoLifecycle).await?;
        let config: SsoConfig = sqlx::query_as(&format!("{SELECT} WHERE sso_id = $1{}", self.for_update()))
            .bind(sso_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("sso configuration"))?;
        sqlx::query("INSERT INTO deleted_sso_configs (sso_id, name, domain, deleted_at) VALUES ($1, $2, $3, $4)")
            .bind(sso_id)
            .bind(&config.name)
            .bind(&config.domain)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // The SLO tables too: a deleted configuration's login sessions end with it.
        for table in [
            "sp_keys",
            "authn_requests",
            "pending_logins",
            "debug_responses",
            "login_sessions",
            "logout_requests",
            "used_logout_requests",
            "idp_metadata_sources",
            "test_login_results",
            "admin_sso_handovers",
            "sso_configs",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE sso_id = $1")).bind(sso_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(config)
    }

    /// A deleted configuration's name, for pages that still refer to it.
    pub async fn deleted_sso(&self, sso_id: i64) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as("SELECT name, deleted_at FROM deleted_sso_configs WHERE sso_id = $1")
            .bind(sso_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Rename a configuration, change its enterprise domain or move it to another node; `None`
    /// leaves a value as it is. A domain another configuration has, or another node lists for its
    /// SCIM, is refused: one domain, one node.
    pub async fn change_sso_identity(
        &self,
        sso_id: i64,
        name: Option<&str>,
        domain: Option<&str>,
        node_id: Option<i64>,
    ) -> Result<SsoConfig> {
        let mut tx = self.begin_serialized(super::WriteLock::Provisioning).await?;
        let current: SsoConfig = sqlx::query_as(&format!("{SELECT} WHERE sso_id = $1{}", self.for_update()))
            .bind(sso_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("sso configuration"))?;
        let domain = domain.map(str::to_ascii_lowercase).unwrap_or(current.domain);
        let node_id = node_id.unwrap_or(current.node_id);
        let node: Option<i64> = sqlx::query_scalar("SELECT node_id FROM nodes WHERE node_id = $1")
            .bind(node_id)
            .fetch_optional(&mut *tx)
            .await?;
        if node.is_none() {
            return Err(StoreError::NotFound("node"));
        }
        let listed: Option<i64> =
            sqlx::query_scalar("SELECT node_id FROM node_domains WHERE lower(domain) = $1 AND node_id != $2 LIMIT 1")
                .bind(&domain)
                .bind(node_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(other) = listed {
            return Err(StoreError::Conflict(format!(
                "the domain {domain} is listed for node {other} (spconnect node set-domains); remove it there first"
            )));
        }
        let res = sqlx::query("UPDATE sso_configs SET name = $1, domain = $2, node_id = $3 WHERE sso_id = $4")
            .bind(name.unwrap_or(&current.name))
            .bind(&domain)
            .bind(node_id)
            .bind(sso_id)
            .execute(&mut *tx)
            .await;
        match res {
            Ok(_) => {}
            Err(e) if violates(&e, "sso_configs_domain") => {
                return Err(StoreError::Conflict(format!(
                    "the enterprise domain {domain} already has an SSO configuration"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        self.get_sso(sso_id).await?.ok_or(StoreError::NotFound("sso configuration"))
    }
}
