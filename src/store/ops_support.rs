//! Queries the operations layer (`ops/`) needs beyond the rest of the store: listing, changing
//! and deleting admin accounts, and revoking a SCIM token. Portable SQL with `$n` placeholders,
//! for SQLite and PostgreSQL alike. Emails are stored in lower case (`create_admin`).

use super::{AdminAccount, Result, Store};

/// The outcome of [`Store::delete_admin_unless_last`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminDeletion {
    Deleted,
    NotFound,
    /// Refused: it is the only admin account, and without one nobody can sign in to the console.
    LastAdmin,
}

impl Store {
    pub async fn list_admins(&self) -> Result<Vec<AdminAccount>> {
        Ok(sqlx::query_as(
            "SELECT admin_id, email, password_hash, created_at, last_login_at FROM admin_accounts ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replace an admin's password hash, in one transaction with what goes with it: the
    /// account's refused sign-ins and remembered devices are forgotten (a browser that knew the
    /// old password is no longer a known device) and the audit row is written. `None` when there
    /// is no such admin. The account as stored afterwards (its new hash marks the sessions that
    /// may go on, `web::admin_session`).
    pub async fn set_admin_password(
        &self,
        admin_id: i64,
        password_hash: &str,
        actor: &str,
        now: i64,
    ) -> Result<Option<AdminAccount>> {
        let mut tx = self.begin_write().await?;
        let account: Option<AdminAccount> = sqlx::query_as(
            "UPDATE admin_accounts SET password_hash = $1 WHERE admin_id = $2 \
             RETURNING admin_id, email, password_hash, created_at, last_login_at",
        )
        .bind(password_hash)
        .bind(admin_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(account) = account else { return Ok(None) };
        sqlx::query("DELETE FROM admin_signin_failures WHERE email = $1")
            .bind(&account.email)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM admin_devices WHERE admin_id = $1").bind(admin_id).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO admin_audit (at, admin_email, action, target, detail) VALUES ($1, $2, 'admin.reset_password', $3, '')",
        )
        .bind(now)
        .bind(actor)
        .bind(&account.email)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(account))
    }

    /// Delete an admin account unless it is the last one. The known-device rows go with it
    /// (`ON DELETE CASCADE`).
    pub async fn delete_admin_unless_last(&self, admin_id: i64) -> Result<AdminDeletion> {
        let mut tx = self.pool.begin().await?;
        // Take a write lock on every admin row first (a no-op UPDATE locks the rows in
        // PostgreSQL; in SQLite it takes the database's write lock). Two deletions at once then
        // run one after the other, and the second sees that the first left only its own target,
        // instead of both counting two accounts and leaving none.
        sqlx::query("UPDATE admin_accounts SET created_at = created_at").execute(&mut *tx).await?;
        let deleted =
            sqlx::query("DELETE FROM admin_accounts WHERE admin_id = $1").bind(admin_id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(AdminDeletion::NotFound);
        }
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin_accounts").fetch_one(&mut *tx).await?;
        if left == 0 {
            tx.rollback().await?;
            return Ok(AdminDeletion::LastAdmin);
        }
        tx.commit().await?;
        Ok(AdminDeletion::Deleted)
    }

    /// Remove a node's SCIM token (SCIM is then off for the node); `false` when it had none.
    pub async fn revoke_scim_token(&self, node_id: i64) -> Result<bool> {
        let res = sqlx::query("DELETE FROM scim_tokens WHERE node_id = $1").bind(node_id).execute(&self.pool).await?;
        Ok(res.rows_affected() > 0)
    }
}
