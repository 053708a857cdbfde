//! SP key pairs: the certificate in the clear, the private key sealed by the caller under the
//! key-encryption key (this module never sees it unsealed).

use super::{Result, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSpKey {
    pub sso_id: i64,
    pub cert_pem: String,
    /// base64(nonce ‖ ciphertext ‖ tag), AES-256-GCM.
    pub key_sealed: String,
    /// Which key-encryption key sealed it (a fingerprint, never the key).
    pub kek_id: String,
    pub created_at: i64,
}

impl Store {
    pub async fn get_sp_key(&self, sso_id: i64) -> Result<Option<StoredSpKey>> {
        Ok(sqlx::query_as("SELECT sso_id, cert_pem, key_sealed, kek_id, created_at FROM sp_keys WHERE sso_id = $1")
            .bind(sso_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The fingerprints of the key-encryption keys the stored SP keys are sealed with.
    pub async fn sp_key_kek_ids(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT kek_id FROM sp_keys ORDER BY kek_id").fetch_all(&self.pool).await?)
    }

    /// Store a configuration's first key pair unless one is there already (another instance
    /// may have made one a moment ago); the caller reads back whichever won.
    pub async fn insert_sp_key_if_absent(&self, k: &StoredSpKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO sp_keys (sso_id, cert_pem, key_sealed, kek_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(k.sso_id)
        .bind(&k.cert_pem)
        .bind(&k.key_sealed)
        .bind(&k.kek_id)
        .bind(k.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
