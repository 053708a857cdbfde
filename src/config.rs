//! Where things live on disk. The data directory defaults to the current directory so that
//! `cargo run -- serve` in the repository uses its `certs/` and `metadata/` folders.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<DataDir> {
        let dir = DataDir { root: root.into() };
        std::fs::create_dir_all(dir.certs())?;
        std::fs::create_dir_all(dir.metadata())?;
        Ok(dir)
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn certs(&self) -> PathBuf {
        self.root.join("certs")
    }
    pub fn metadata(&self) -> PathBuf {
        self.root.join("metadata")
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("spconnect.db")
    }
    pub fn sp_key(&self, sso_id: i64) -> PathBuf {
        self.certs().join(format!("sp-{sso_id}.key"))
    }
    pub fn sp_cert(&self, sso_id: i64) -> PathBuf {
        self.certs().join(format!("sp-{sso_id}.crt"))
    }
    pub fn tls_key(&self) -> PathBuf {
        self.certs().join("tls.key")
    }
    pub fn tls_cert(&self) -> PathBuf {
        self.certs().join("tls.crt")
    }
    pub fn sp_metadata_copy(&self, sso_id: i64) -> PathBuf {
        self.metadata().join(format!("sp-{sso_id}.xml"))
    }
    pub fn idp_metadata_copy(&self, sso_id: i64) -> PathBuf {
        self.metadata().join(format!("idp-{sso_id}.xml"))
    }
}

/// Settings of a running service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL browsers and IdPs use to reach us (no trailing slash).
    pub public_url: String,
    pub data_dir: DataDir,
    /// Session cookies get `Secure` when we are served over HTTPS.
    pub secure_cookies: bool,
    /// Absolute session lifetime, whatever the activity.
    pub session_absolute_secs: i64,
    /// Idle timeout of a session.
    pub session_idle_secs: i64,
    /// How long an issued AuthnRequest may be answered.
    pub request_ttl_secs: i64,
    /// Deliver the outbox over SMTP when set.
    pub smtp: Option<crate::mailer::SmtpConfig>,
}

impl Settings {
    pub fn new(public_url: &str, data_dir: DataDir, secure_cookies: bool) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            data_dir,
            secure_cookies,
            session_absolute_secs: 12 * 3600,
            session_idle_secs: 3600,
            request_ttl_secs: 600,
            smtp: None,
        }
    }
}
