//! The browser session after a login. Stored server-side (tower-sessions, SQL store) so any
//! instance can serve it; the cookie holds only the session id.
//!
//! Every login is also indexed in the database (`login_sessions`, by a random `login_sid` kept
//! in the session) with the NameID and SessionIndex the IdP gave it, so that the IdP's Single
//! Logout can end it from any instance: `current` asks the index on every request (there is no
//! per-process cache), and a session whose index row is gone is flushed and signed out.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::store::{LoginSessionRow, Store};

const KEY: &str = "login";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSession {
    pub user_id: i64,
    pub sso_id: i64,
    pub auth_at: i64,
    pub session_index: Option<String>,
    /// The login's id in the session index (set by `begin`).
    #[serde(default)]
    pub login_sid: Option<String>,
    /// The assertion's NameID and Format (a LogoutRequest names the subject with them).
    #[serde(default)]
    pub name_id: Option<String>,
    #[serde(default)]
    pub name_id_format: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error("session index: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// Start a session for a fresh login; a new id defeats session fixation. The session is saved
/// at once so its id can be indexed with the login.
pub async fn begin(
    session: &Session,
    store: &Store,
    mut login: LoginSession,
    absolute_secs: i64,
) -> Result<(), BeginError> {
    let login_sid = hex::encode(rand::random::<[u8; 16]>());
    login.login_sid = Some(login_sid.clone());
    session.cycle_id().await?;
    session.insert(KEY, login.clone()).await?;
    session.save().await?;
    let now = chrono::Utc::now().timestamp();
    store
        .insert_login_session(&LoginSessionRow {
            login_sid,
            session_id: session.id().map(|id| id.to_string()),
            user_id: login.user_id,
            sso_id: login.sso_id,
            name_id: login.name_id.clone(),
            name_id_format: login.name_id_format.clone(),
            session_index: login.session_index.clone(),
            created_at: now,
            expires_at: login.auth_at + absolute_secs,
        })
        .await?;
    Ok(())
}

/// The current login, if any, within the absolute lifetime, and not ended by a Single Logout
/// (on any instance). A database error reads as "not signed in" for this request only.
pub async fn current(session: &Session, store: &Store, now: i64, absolute_secs: i64) -> Option<LoginSession> {
    let login: LoginSession = session.get(KEY).await.ok().flatten()?;
    if now - login.auth_at > absolute_secs {
        let _ = session.flush().await;
        return None;
    }
    let alive = match login.login_sid.as_deref() {
        Some(sid) => store.login_session_alive(sid, now).await,
        // A session from before the index existed cannot be ended by Single Logout: signed out.
        None => Ok(false),
    };
    match alive {
        Ok(true) => Some(login),
        Ok(false) => {
            let _ = session.flush().await;
            None
        }
        // The database did not answer: not signed in for this request, but the session is kept.
        Err(_) => None,
    }
}

/// The login in the session without the checks of `current` (for signing out).
pub async fn peek(session: &Session) -> Option<LoginSession> {
    session.get(KEY).await.ok().flatten()
}

/// End this browser's session (and its index row).
pub async fn end(session: &Session, store: &Store) {
    if let Some(sid) = peek(session).await.and_then(|l| l.login_sid) {
        let _ = store.delete_login_session(&sid).await;
    }
    let _ = session.flush().await;
}
