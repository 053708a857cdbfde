//! SP key pairs: the certificate in the clear, the private key sealed by the caller under the
//! key-encryption key (this module never sees it unsealed). A configuration has one `active`
//! key; during a rollover also a `next` one (published, decrypts) or, after activation, the
//! `previous` one (decrypts until retired). Every change bumps the configuration's
//! `sp_keys_version`, which instances compare with what they cached.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Result, Store, StoreError, WriteLock};

/// A key pair's part in a rollover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpKeyRole {
    /// Signs AuthnRequests, decrypts, published in the metadata.
    Active,
    /// Made by `sso rollover`: published beside the active key and decrypts, signs nothing yet.
    Next,
    /// The active key before `--activate`: still decrypts (IdPs that have not re-read the
    /// metadata encrypt to it), no longer published; removed by `--retire`.
    Previous,
}

impl SpKeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SpKeyRole::Active => "active",
            SpKeyRole::Next => "next",
            SpKeyRole::Previous => "previous",
        }
    }

    fn parse(s: &str) -> Option<SpKeyRole> {
        match s {
            "active" => Some(SpKeyRole::Active),
            "next" => Some(SpKeyRole::Next),
            "previous" => Some(SpKeyRole::Previous),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredSpKey {
    pub sso_id: i64,
    pub role: SpKeyRole,
    pub cert_pem: String,
    /// base64(nonce ‖ ciphertext ‖ tag), AES-256-GCM.
    pub key_sealed: String,
    /// Which key-encryption key sealed it (a fingerprint, never the key).
    pub kek_id: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    /// `generated` here, or `imported` (an admin's CA-issued certificate and key).
    pub source: String,
}

impl sqlx::FromRow<'_, AnyRow> for StoredSpKey {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        let role: String = r.try_get("role")?;
        Ok(StoredSpKey {
            sso_id: r.try_get("sso_id")?,
            role: SpKeyRole::parse(&role)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown SP key role {role:?}").into()))?,
            cert_pem: r.try_get("cert_pem")?,
            key_sealed: r.try_get("key_sealed")?,
            kek_id: r.try_get("kek_id")?,
            created_at: r.try_get("created_at")?,
            activated_at: r.try_get("activated_at")?,
            source: r.try_get("source")?,
        })
    }
}

const SELECT: &str = "SELECT sso_id, role, cert_pem, key_sealed, kek_id, created_at, activated_at, source FROM sp_keys";

impl Store {
    /// The key pairs of a configuration: active first, then next, then previous.
    pub async fn sp_keys_of(&self, sso_id: i64) -> Result<Vec<StoredSpKey>> {
        let mut keys: Vec<StoredSpKey> =
            sqlx::query_as(&format!("{SELECT} WHERE sso_id = $1")).bind(sso_id).fetch_all(&self.pool).await?;
        keys.sort_by_key(|k| match k.role {
            SpKeyRole::Active => 0,
            SpKeyRole::Next => 1,
            SpKeyRole::Previous => 2,
        });
        Ok(keys)
    }

    /// The configuration's SP key version (see the module comment); `None` for no configuration.
    pub async fn sp_keys_version(&self, sso_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT sp_keys_version FROM sso_configs WHERE sso_id = $1")
            .bind(sso_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The fingerprints of the key-encryption keys the stored SP keys are sealed with.
    pub async fn sp_key_kek_ids(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT kek_id FROM sp_keys ORDER BY kek_id").fetch_all(&self.pool).await?)
    }

    /// Store a configuration's first (active) key pair unless it has one already (another
    /// instance may have made one a moment ago); the caller reads back whichever won.
    pub async fn insert_sp_key_if_absent(&self, k: &StoredSpKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO sp_keys (sso_id, role, cert_pem, key_sealed, kek_id, created_at, activated_at, source) \
             VALUES ($1, 'active', $2, $3, $4, $5, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(k.sso_id)
        .bind(&k.cert_pem)
        .bind(&k.key_sealed)
        .bind(&k.kek_id)
        .bind(k.created_at)
        .bind(&k.source)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rollover, step 1: add the `next` key pair. Refused while a rollover is under way (a
    /// next key exists, or a previous one is not retired yet).
    pub async fn add_next_sp_key(&self, k: &StoredSpKey) -> Result<()> {
        let mut tx = self.begin_serialized(WriteLock::SsoLifecycle).await?;
        let roles: Vec<String> =
            sqlx::query_scalar("SELECT role FROM sp_keys WHERE sso_id = $1").bind(k.sso_id).fetch_all(&mut *tx).await?;
        if !roles.iter().any(|r| r == "active") {
            return Err(StoreError::NotFound("active SP key"));
        }
        if roles.iter().any(|r| r == "next") {
            return Err(StoreError::Conflict(
                "a next SP key already exists: activate it (--activate) or retire the rollover first".into(),
            ));
        }
        if roles.iter().any(|r| r == "previous") {
            return Err(StoreError::Conflict(
                "the previous SP key is not retired yet: retire it (--retire) before the next rollover".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO sp_keys (sso_id, role, cert_pem, key_sealed, kek_id, created_at, source) \
             VALUES ($1, 'next', $2, $3, $4, $5, $6)",
        )
        .bind(k.sso_id)
        .bind(&k.cert_pem)
        .bind(&k.key_sealed)
        .bind(&k.kek_id)
        .bind(k.created_at)
        .bind(&k.source)
        .execute(&mut *tx)
        .await?;
        bump_version(&mut tx, k.sso_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rollover, step 2: the next key becomes the active (signing) key; the active one stays
    /// as `previous` for decryption.
    pub async fn activate_next_sp_key(&self, sso_id: i64, now: i64) -> Result<()> {
        let mut tx = self.begin_serialized(WriteLock::SsoLifecycle).await?;
        let roles: Vec<String> =
            sqlx::query_scalar("SELECT role FROM sp_keys WHERE sso_id = $1").bind(sso_id).fetch_all(&mut *tx).await?;
        if !roles.iter().any(|r| r == "next") {
            return Err(StoreError::Conflict("there is no next SP key to activate: start with a rollover".into()));
        }
        if roles.iter().any(|r| r == "previous") {
            return Err(StoreError::Conflict(
                "the previous SP key is not retired yet: retire it (--retire) first".into(),
            ));
        }
        sqlx::query("UPDATE sp_keys SET role = 'previous' WHERE sso_id = $1 AND role = 'active'")
            .bind(sso_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sp_keys SET role = 'active', activated_at = $1 WHERE sso_id = $2 AND role = 'next'")
            .bind(now)
            .bind(sso_id)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, sso_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rollover, step 3: remove the previous key pair (it decrypts nothing from now on).
    pub async fn retire_previous_sp_key(&self, sso_id: i64) -> Result<()> {
        let mut tx = self.begin_serialized(WriteLock::SsoLifecycle).await?;
        let gone = sqlx::query("DELETE FROM sp_keys WHERE sso_id = $1 AND role = 'previous'")
            .bind(sso_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(StoreError::Conflict(
                "there is no previous SP key to retire: activate the next one first".into(),
            ));
        }
        bump_version(&mut tx, sso_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn bump_version(conn: &mut sqlx::AnyConnection, sso_id: i64) -> Result<()> {
    let n = sqlx::query("UPDATE sso_configs SET sp_keys_version = sp_keys_version + 1 WHERE sso_id = $1")
        .bind(sso_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound("sso configuration"));
    }
    Ok(())
}
