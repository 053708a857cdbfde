//! Nodes (Keeper's organisational units), their seat limits and their SCIM bearer tokens.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, Result, Store, StoreError, WriteLock};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Node {
    pub node_id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    /// Licensed seats; `None` = unlimited.
    pub seats: Option<i64>,
    pub created_at: i64,
    /// A SCIM token exists for this node (SCIM provisioning is on).
    pub scim_enabled: bool,
    /// When the node's SCIM token was last accepted (Keeper shows "Pending" until then).
    pub scim_last_used_at: Option<i64>,
}

const SELECT_NODE: &str = "SELECT n.node_id, n.name, n.parent_id, n.seats, n.created_at, \
     CASE WHEN t.node_id IS NULL THEN 0 ELSE 1 END AS scim_enabled, t.last_used_at AS scim_last_used_at \
     FROM nodes n LEFT JOIN scim_tokens t ON t.node_id = n.node_id";

impl sqlx::FromRow<'_, AnyRow> for Node {
    fn from_row(r: &AnyRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(Node {
            node_id: r.try_get("node_id")?,
            name: r.try_get("name")?,
            parent_id: r.try_get("parent_id")?,
            seats: r.try_get("seats")?,
            created_at: r.try_get("created_at")?,
            scim_enabled: flag(r, "scim_enabled")?,
            scim_last_used_at: r.try_get("scim_last_used_at")?,
        })
    }
}

impl Store {
    pub async fn create_node(&self, name: &str, parent_id: i64, now: i64) -> Result<Node> {
        if self.get_node(parent_id).await?.is_none() {
            return Err(StoreError::NotFound("parent node"));
        }
        let id: i64 =
            sqlx::query_scalar("INSERT INTO nodes (name, parent_id, created_at) VALUES ($1, $2, $3) RETURNING node_id")
                .bind(name)
                .bind(parent_id)
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
        self.get_node(id).await?.ok_or(StoreError::NotFound("node"))
    }

    pub async fn get_node(&self, node_id: i64) -> Result<Option<Node>> {
        Ok(sqlx::query_as(&format!("{SELECT_NODE} WHERE n.node_id = $1"))
            .bind(node_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn list_nodes(&self) -> Result<Vec<Node>> {
        Ok(sqlx::query_as(&format!("{SELECT_NODE} ORDER BY n.node_id")).fetch_all(&self.pool).await?)
    }

    /// Set (or with `None` remove) the seat limit of a node.
    pub async fn set_node_seats(&self, node_id: i64, seats: Option<i64>) -> Result<Node> {
        let res = sqlx::query("UPDATE nodes SET seats = $1 WHERE node_id = $2")
            .bind(seats)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("node"));
        }
        self.get_node(node_id).await?.ok_or(StoreError::NotFound("node"))
    }

    /// Store the SHA-256 of a node's new SCIM token, replacing the old one in the same statement.
    pub async fn put_scim_token(&self, node_id: i64, token_sha256_hex: &str, now: i64) -> Result<()> {
        if self.get_node(node_id).await?.is_none() {
            return Err(StoreError::NotFound("node"));
        }
        sqlx::query(
            "INSERT INTO scim_tokens (node_id, token_sha256, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (node_id) DO UPDATE SET token_sha256 = excluded.token_sha256, \
             created_at = excluded.created_at, last_used_at = NULL",
        )
        .bind(node_id)
        .bind(token_sha256_hex)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored token hash of a node, if SCIM is on there.
    pub async fn scim_token_hash(&self, node_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT token_sha256 FROM scim_tokens WHERE node_id = $1")
            .bind(node_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn touch_scim_token(&self, node_id: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE scim_tokens SET last_used_at = $1 WHERE node_id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(node_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The domains a node's SCIM may create and rename users in: the enterprise domains of the
    /// SSO configurations attached to the node and the domains an admin listed for it, ASCII
    /// lower case, sorted, without duplicates. `allow_other_domains` on a configuration widens
    /// SSO login only, never SCIM (else any node could provision any address).
    pub async fn node_managed_domains(&self, node_id: i64) -> Result<Vec<String>> {
        let mut domains: Vec<String> = sqlx::query_scalar(
            "SELECT lower(domain) FROM sso_configs WHERE node_id = $1 UNION SELECT lower(domain) FROM node_domains WHERE node_id = $2",
        )
        .bind(node_id)
        .bind(node_id)
        .fetch_all(&self.pool)
        .await?;
        domains.sort();
        domains.dedup();
        Ok(domains)
    }

    /// The domains an admin listed for a node (without those of its SSO configurations).
    pub async fn node_listed_domains(&self, node_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT domain FROM node_domains WHERE node_id = $1 ORDER BY domain")
            .bind(node_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Replace the domains an admin listed for a node. A domain that an SSO configuration or the
    /// list of another node holds is refused: one domain, one node that may provision it.
    pub async fn set_node_domains(&self, node_id: i64, domains: &[String]) -> Result<Vec<String>> {
        let mut tx = self.begin_serialized(WriteLock::Provisioning).await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT node_id FROM nodes WHERE node_id = $1")
            .bind(node_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("node"));
        }
        sqlx::query("DELETE FROM node_domains WHERE node_id = $1").bind(node_id).execute(&mut *tx).await?;
        for d in domains {
            let d = super::email_key(d);
            let holder: Option<i64> = sqlx::query_scalar(
                "SELECT node_id FROM sso_configs WHERE lower(domain) = $1 AND node_id != $2 \
                 UNION SELECT node_id FROM node_domains WHERE lower(domain) = $3 AND node_id != $4 LIMIT 1",
            )
            .bind(&d)
            .bind(node_id)
            .bind(&d)
            .bind(node_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = holder {
                return Err(StoreError::Conflict(format!("the domain {d} is already managed by node {other}")));
            }
            sqlx::query("INSERT INTO node_domains (node_id, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(node_id)
                .bind(&d)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.node_listed_domains(node_id).await
    }

    /// Has the user signed in through an SSO configuration of another node than `node_id`,
    /// by the node recorded at the sign-in or the configuration's node now? Such a user's
    /// identity is vouched for by that node's IdP, so `node_id`'s SCIM may not rename it; the
    /// record outlives the configuration's deletion or move to another node.
    pub async fn user_signed_in_outside_node(&self, user_id: i64, node_id: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_sso_logins l LEFT JOIN sso_configs s ON s.sso_id = l.sso_id \
             WHERE l.user_id = $1 AND (l.node_id != $2 OR s.node_id != $3)",
        )
        .bind(user_id)
        .bind(node_id)
        .bind(node_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}
