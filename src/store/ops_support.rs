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

    /// Replace an admin's password hash; `false` when there is no such admin.
    pub async fn set_admin_password(&self, admin_id: i64, password_hash: &str) -> Result<bool> {
        let res = sqlx::query("UPDATE admin_accounts SET password_hash = $1 WHERE admin_id = $2")
            .bind(password_hash)
            .bind(admin_id)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() > 0)
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
