//! The browser session after a login. Stored server-side (tower-sessions, SQL store) so any
//! instance can serve it; the cookie holds only the session id.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const KEY: &str = "login";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSession {
    pub user_id: i64,
    pub sso_id: i64,
    pub auth_at: i64,
    pub session_index: Option<String>,
}

/// Start a session for a fresh login; a new id defeats session fixation.
pub async fn begin(session: &Session, login: LoginSession) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(KEY, login).await
}

/// The current login, if any and within the absolute lifetime.
pub async fn current(session: &Session, now: i64, absolute_secs: i64) -> Option<LoginSession> {
    let login: LoginSession = session.get(KEY).await.ok().flatten()?;
    if now - login.auth_at > absolute_secs {
        let _ = session.flush().await;
        return None;
    }
    Some(login)
}

pub async fn end(session: &Session) {
    let _ = session.flush().await;
}
