//! Users: identified by email (case-insensitive), created by JIT, SCIM or an admin.

use super::{Result, Store};
use crate::users::lifecycle;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Invited,
    Active,
    Locked,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
        }
    }
    pub fn parse(s: &str) -> UserStatus {
        match s {
            "active" => UserStatus::Active,
            "invited" => UserStatus::Invited,
            // Anything unexpected reads as locked: fail closed.
            _ => UserStatus::Locked,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub user_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status: UserStatus,
    pub provisioned_by: String,
    pub node_id: i64,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// The SCIM resource id (a UUID; every user has one, JIT users too).
    pub scim_id: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub updated_at: Option<i64>,
    /// Set when SCIM deleted the user: it is then locked and gone from SCIM reads.
    pub scim_deleted_at: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub status: UserStatus,
    /// jit | scim | manual
    pub provisioned_by: &'a str,
    pub node_id: i64,
}

/// What the console's users table is narrowed to, and which slice of it (ordered by email).
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// Part of the email, or of the name as "first last", in any case.
    pub text: Option<String>,
    pub status: Option<UserStatus>,
    /// Matching users skipped before the first one returned.
    pub offset: i64,
    pub limit: i64,
}

/// A page of users, with the counts the console shows beside it.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    /// Users matching the search (all pages).
    pub matching: i64,
    /// Users in all.
    pub all: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    user_id: i64,
    email: String,
    first_name: String,
    last_name: String,
    status: String,
    provisioned_by: String,
    node_id: i64,
    created_at: i64,
    last_login_at: Option<i64>,
    scim_id: String,
    external_id: Option<String>,
    display_name: Option<String>,
    updated_at: Option<i64>,
    scim_deleted_at: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            user_id: r.user_id,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            status: UserStatus::parse(&r.status),
            provisioned_by: r.provisioned_by,
            node_id: r.node_id,
            created_at: r.created_at,
            last_login_at: r.last_login_at,
            scim_id: r.scim_id,
            external_id: r.external_id,
            display_name: r.display_name,
            updated_at: r.updated_at,
            scim_deleted_at: r.scim_deleted_at,
        }
    }
}

macro_rules! user_columns {
    () => {
        "user_id, email, first_name, last_name, status, provisioned_by, node_id, created_at, last_login_at, \
         COALESCE(scim_id, '') AS scim_id, external_id, display_name, updated_at, scim_deleted_at"
    };
}

/// The columns a `UserRow` is read from (after SELECT, or after RETURNING).
pub(super) const USER_COLUMNS: &str = user_columns!();

pub(super) const SELECT_USER: &str = concat!("SELECT ", user_columns!(), " FROM users");

impl Store {
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{SELECT_USER} WHERE email = $1"))
            .bind(super::email_key(email))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(User::from))
    }

    pub async fn get_user(&self, user_id: i64) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{SELECT_USER} WHERE user_id = $1"))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(User::from))
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!("{SELECT_USER} ORDER BY email")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// One page of the users `s` narrows to, by email, with how many match and how many there are.
    pub async fn search_users(&self, s: &UserSearch) -> Result<UserPage> {
        // Lower case on both sides where the engine can (PostgreSQL's lower() is Unicode-aware,
        // SQLite's only ASCII); the text as typed as well, so a name with non-ASCII letters is
        // still found on SQLite when typed in its own case.
        let typed = s.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let lowered = typed.map(|t| format!("%{}%", super::like_escaped(&t.to_lowercase())));
        let exact = typed.map(|t| format!("%{}%", super::like_escaped(t)));
        let status = s.status.map(UserStatus::as_str);
        const MATCHES: &str = "($1 IS NULL OR email LIKE $1 ESCAPE '\\' \
             OR lower(first_name || ' ' || last_name) LIKE $1 ESCAPE '\\' \
             OR (first_name || ' ' || last_name) LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR status = $3)";
        let (matching, all): (i64, i64) = sqlx::query_as(&format!(
            "SELECT COALESCE(SUM(CASE WHEN {MATCHES} THEN 1 ELSE 0 END), 0), COUNT(*) FROM users"
        ))
        .bind(&lowered)
        .bind(&exact)
        .bind(status)
        .fetch_one(&self.pool)
        .await?;
        let rows: Vec<UserRow> =
            sqlx::query_as(&format!("{SELECT_USER} WHERE {MATCHES} ORDER BY email, user_id LIMIT $4 OFFSET $5"))
                .bind(&lowered)
                .bind(&exact)
                .bind(status)
                .bind(s.limit)
                .bind(s.offset.max(0))
                .fetch_all(&self.pool)
                .await?;
        Ok(UserPage { users: rows.into_iter().map(User::from).collect(), matching, all })
    }

    /// Create a user directly (admin, SCIM); JIT creates users inside `commit_login`.
    pub async fn create_user(&self, new: &NewUser<'_>, now: i64) -> Result<User> {
        let NewUser { email, first_name: first, last_name: last, status, provisioned_by, node_id } = *new;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, first_name, last_name, status, provisioned_by, node_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING user_id",
        )
        .bind(super::email_key(email))
        .bind(first)
        .bind(last)
        .bind(status.as_str())
        .bind(provisioned_by)
        .bind(node_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            e if super::is_unique_violation(e) => super::StoreError::Conflict(format!("{email} already exists")),
            _ => e.into(),
        })?;
        self.get_user(id).await?.ok_or(super::StoreError::NotFound("user"))
    }

    pub async fn set_user_status(&self, email: &str, status: UserStatus) -> Result<()> {
        let res = sqlx::query("UPDATE users SET status = $1 WHERE email = $2")
            .bind(status.as_str())
            .bind(super::email_key(email))
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(super::StoreError::NotFound("user"));
        }
        Ok(())
    }
}

/// The user holding `email` (live or SCIM-deleted), as the lifecycle rules see it. `lock` is
/// appended to the query (`Store::for_update`, or nothing where the caller's transaction already
/// serialises the writers).
pub(super) async fn existing_user(
    tx: &mut sqlx::AnyConnection,
    email: &str,
    lock: &str,
) -> Result<Option<lifecycle::Existing>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        user_id: i64,
        node_id: i64,
        status: String,
        last_login_at: Option<i64>,
        scim_deleted_at: Option<i64>,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT user_id, node_id, status, last_login_at, scim_deleted_at FROM users WHERE email = $1{lock}"
    ))
    .bind(super::email_key(email))
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|r| lifecycle::Existing {
        user_id: r.user_id,
        node_id: r.node_id,
        status: UserStatus::parse(&r.status),
        has_logged_in: r.last_login_at.is_some(),
        scim_deleted: r.scim_deleted_at.is_some(),
    }))
}

/// A user's sign-ins through one configuration: its name, or the name it had when deleted.
#[derive(Debug, Clone)]
pub struct SsoAttachment {
    pub user_id: i64,
    pub sso_id: i64,
    pub name: Option<String>,
    pub deleted_name: Option<String>,
}

impl Store {
    /// Which configurations these users have signed in through (from the login record), with
    /// the name of each, or of the deleted configuration it was.
    pub async fn user_sso_attachments(&self, user_ids: &[i64]) -> Result<Vec<SsoAttachment>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (1..=user_ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT l.user_id, l.sso_id, s.name, d.name FROM user_sso_logins l \
             LEFT JOIN sso_configs s ON s.sso_id = l.sso_id \
             LEFT JOIN deleted_sso_configs d ON d.sso_id = l.sso_id \
             WHERE l.user_id IN ({placeholders}) ORDER BY l.user_id, l.first_at"
        );
        let mut query = sqlx::query_as::<_, (i64, i64, Option<String>, Option<String>)>(&sql);
        for id in user_ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, sso_id, name, deleted_name)| SsoAttachment { user_id, sso_id, name, deleted_name })
            .collect())
    }
}
