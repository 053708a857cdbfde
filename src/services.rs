//! The long-lived things every layer above storage needs, built once by `app` or the CLI.

use std::sync::Arc;

use crate::config::Settings;
use crate::crypto::sp_keys::SpKeyRing;
use crate::saml::response::signature::IdpKeyCache;
use crate::saml::sp_metadata::{self, SpUrls};
use crate::store::{SsoConfig, Store};

#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub keys: Arc<SpKeyRing>,
    /// Admin password checks running at once (argon2id holds ~19 MiB each).
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// IdP signing keys parsed once per configuration, until its stored certificates change.
    pub idp_keys: Arc<IdpKeyCache>,
}

impl Services {
    pub fn new(store: Store, settings: Settings) -> Services {
        let host = url::Url::parse(&settings.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "spconnect".into());
        let keys = Arc::new(SpKeyRing::new(settings.data_dir.clone(), &host));
        let password_checks = Arc::new(tokio::sync::Semaphore::new(settings.limits.max_concurrent_password_checks));
        let idp_keys = Arc::new(IdpKeyCache::default());
        Services { store, settings: Arc::new(settings), keys, password_checks, idp_keys }
    }

    /// The SP key pair of a configuration (see `SpKeyRing`).
    pub async fn sp_keys(
        &self,
        sso_id: i64,
    ) -> Result<Arc<crate::crypto::sp_keys::SpKeys>, crate::crypto::CryptoError> {
        self.keys.get(&self.store, sso_id).await
    }

    /// The SP keys of a configuration whose row the caller has just read (no extra round trip
    /// unless a rollover step moved its key version on).
    pub async fn sp_keys_for(
        &self,
        config: &SsoConfig,
    ) -> Result<Arc<crate::crypto::sp_keys::SpKeys>, crate::crypto::CryptoError> {
        self.keys.get_at(&self.store, config.sso_id, config.sp_keys_version).await
    }

    pub fn urls(&self, sso_id: i64) -> SpUrls {
        SpUrls::new(&self.settings.public_url, sso_id)
    }

    /// SP metadata for a configuration; also refreshes the copy under `metadata/`.
    pub async fn sp_metadata(&self, config: &SsoConfig) -> Result<String, crate::crypto::CryptoError> {
        let keys = self.sp_keys_for(config).await?;
        let xml = sp_metadata::render(
            &self.urls(config.sso_id),
            &keys.published_certs_b64(),
            &format!("spconnect: {}", config.name),
        );
        let copy = self.settings.data_dir.sp_metadata_copy(config.sso_id);
        if std::fs::read_to_string(&copy).ok().as_deref() != Some(xml.as_str()) {
            let _ = std::fs::write(&copy, &xml);
        }
        Ok(xml)
    }
}
