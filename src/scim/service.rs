//! The SCIM operations with Keeper's rules, over the store. Values in, JSON values out; the
//! caller (`web/routes/scim.rs`) owns HTTP and writes the audit event this fills in.
//!
//! Keeper's rules, each enforced here once:
//! * `userName` is the email; a primary email that differs is refused (400 invalidValue).
//! * a new user is `invited` and an invitation is queued; `active: false` creates it locked.
//! * `active=false` (PUT or PATCH) and DELETE lock; DELETE also hides the user (404 after).
//! * teams created over SCIM are `pending`; membership is recorded and shown meanwhile.
//! * only attributes we store are read; everything else (Enterprise extension too) is ignored.

use std::collections::HashMap;

use serde_json::Value;

use super::filter::{self, get_ci};
use super::patch;
use super::resources::{self, str_attr, Projection};
use super::ScimError;
use crate::store::{Invitation, ScimUserWrite, Store, Team, TeamWrite, User, UserStatus};

pub const DEFAULT_COUNT: usize = 100;
pub const MAX_COUNT: usize = 1000;
const MAX_NAME_LEN: usize = 256;

/// JumpCloud Directory Insights event names, plus `group_lookup_provision` by analogy.
pub mod events {
    pub const USER_CREATE: &str = "user_create_provision";
    pub const USER_UPDATE: &str = "user_update_provision";
    pub const USER_DEPROVISION: &str = "user_deprovision";
    pub const USER_DELETE: &str = "user_delete_provision";
    pub const USER_LOOKUP: &str = "user_lookup_provision";
    pub const GROUP_CREATE: &str = "group_create_provision";
    pub const GROUP_UPDATE: &str = "group_update_provision";
    pub const GROUP_DELETE: &str = "group_delete_provision";
    pub const GROUP_LOOKUP: &str = "group_lookup_provision";
}

/// What the audit trail records about one call; the service refines the event and target.
#[derive(Debug, Clone)]
pub struct Audit {
    pub event: &'static str,
    pub target: Option<String>,
    pub note: Option<String>,
}

impl Audit {
    pub fn new(event: &'static str) -> Audit {
        Audit { event, target: None, note: None }
    }
}

/// `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes` of a list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<filter::Filter>,
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

impl ListQuery {
    pub fn parse(raw_query: Option<&str>) -> Result<ListQuery, ScimError> {
        let params: HashMap<String, String> = url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            params
                .get(&name.to_ascii_lowercase())
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| ScimError::InvalidValue(format!("{name} must be an integer")))
                })
                .transpose()
        };
        let filter = match params.get("filter").map(|f| f.trim()).filter(|f| !f.is_empty()) {
            Some(f) => Some(filter::parse(f)?),
            None => None,
        };
        Ok(ListQuery {
            filter,
            start_index: number("startIndex")?.unwrap_or(1).max(1) as usize,
            count: number("count")?.unwrap_or(DEFAULT_COUNT as i64).clamp(0, MAX_COUNT as i64) as usize,
            projection: Projection::parse(
                params.get("attributes").map(String::as_str),
                params.get("excludedattributes").map(String::as_str),
            ),
        })
    }
}

/// One node's SCIM service.
pub struct Scim<'a> {
    pub store: &'a Store,
    pub node_id: i64,
    /// `<public-url>/api/rest/scim/v2/<node_id>`
    pub base: String,
    pub public_url: &'a str,
    pub now: i64,
}

/// A user as SCIM wrote it, before team ids are resolved.
struct UserInput {
    email: String,
    first: String,
    last: String,
    display: Option<String>,
    external_id: Option<String>,
    active: Option<bool>,
    groups: Option<Vec<String>>,
}

fn bounded(name: &str, v: Option<String>) -> Result<Option<String>, ScimError> {
    match v {
        Some(s) if s.chars().count() > MAX_NAME_LEN => {
            Err(ScimError::InvalidValue(format!("{name} is longer than {MAX_NAME_LEN} characters")))
        }
        other => Ok(other),
    }
}

fn read_active(body: &Value) -> Result<Option<bool>, ScimError> {
    match get_ci(body, "active") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        // Entra sends "True"/"False" strings.
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(ScimError::InvalidValue(format!("active must be a boolean, not {other}"))),
    }
}

/// Values of a multi-valued reference attribute (`members`, `groups`): `value`, else the last
/// segment of `$ref`, else a bare string.
fn ref_values(v: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(one) => vec![one],
    };
    items
        .into_iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            obj => str_attr(obj, "value")
                .or_else(|| str_attr(obj, "$ref").and_then(|r| r.rsplit('/').next().map(str::to_string)))
                .ok_or_else(|| ScimError::InvalidValue("a member or group without value".into())),
        })
        .collect()
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Keeper: userName must be an email and equal the primary email (if any is sent).
fn read_user(body: &Value, groups_when_absent: Option<Vec<String>>) -> Result<UserInput, ScimError> {
    let email = str_attr(body, "userName").ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
    if !crate::users::is_email(&email) {
        return Err(ScimError::InvalidValue(format!("userName must be the user's email address, got {email:?}")));
    }
    if let Some(emails) = get_ci(body, "emails").filter(|v| !v.is_null()) {
        let list: Vec<&Value> = match emails {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        let primary = list.iter().find(|e| is_true(get_ci(e, "primary"))).or_else(|| list.first());
        if let Some(p) = primary {
            let value = str_attr(p, "value").unwrap_or_default();
            if !value.eq_ignore_ascii_case(&email) {
                return Err(ScimError::InvalidValue(format!(
                    "userName {email:?} differs from the primary email {value:?}"
                )));
            }
        }
    }
    let name = get_ci(body, "name").cloned().unwrap_or(Value::Null);
    let groups = match get_ci(body, "groups") {
        Some(v) if !v.is_null() => Some(ref_values(Some(v))?),
        _ => groups_when_absent,
    };
    Ok(UserInput {
        email,
        first: bounded("name.givenName", str_attr(&name, "givenName"))?.unwrap_or_default(),
        last: bounded("name.familyName", str_attr(&name, "familyName"))?.unwrap_or_default(),
        display: bounded("displayName", str_attr(body, "displayName"))?,
        external_id: bounded("externalId", str_attr(body, "externalId"))?,
        active: read_active(body)?,
        groups,
    })
}

struct GroupInput {
    name: String,
    external_id: Option<String>,
    members: Option<Vec<String>>,
}

fn read_group(body: &Value, members_when_absent: Option<Vec<String>>) -> Result<GroupInput, ScimError> {
    let name = bounded("displayName", str_attr(body, "displayName"))?
        .ok_or_else(|| ScimError::InvalidValue("displayName is required".into()))?;
    let members = match get_ci(body, "members") {
        Some(v) if !v.is_null() => Some(ref_values(Some(v))?),
        _ => members_when_absent,
    };
    Ok(GroupInput { name, external_id: bounded("externalId", str_attr(body, "externalId"))?, members })
}

/// A patch document: the resource without what PATCH cannot write.
fn patch_doc(mut v: Value, drop: &[&str]) -> Value {
    if let Value::Object(m) = &mut v {
        for k in drop {
            m.remove(*k);
        }
    }
    v
}

fn page(mut all: Vec<Value>, q: &ListQuery) -> Value {
    let total = all.len();
    let start = q.start_index.saturating_sub(1).min(total);
    let mut items: Vec<Value> = all.drain(start..).take(q.count).collect();
    items.iter_mut().for_each(|v| q.projection.apply(v));
    resources::list_response(items, total, q.start_index)
}

impl Scim<'_> {
    fn invitation(&self, email: &str) -> Invitation {
        Invitation {
            subject: "You are invited to Keeper (spconnect)".into(),
            body: format!(
                "Your administrator has provisioned an account for {email}.\n\
                 Sign in with your organisation's single sign-on at {}/vault to set up your vault.\n",
                self.public_url
            ),
        }
    }

    async fn user(&self, id: &str) -> Result<User, ScimError> {
        self.store
            .find_node_user_by_scim_id(self.node_id, id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("User {id} not found")))
    }

    async fn team(&self, id: &str) -> Result<Team, ScimError> {
        self.store
            .find_team_by_uid(self.node_id, id)
            .await?
            .ok_or_else(|| ScimError::NotFound(format!("Group {id} not found")))
    }

    async fn user_teams(&self, user_id: i64) -> Result<Vec<Team>, ScimError> {
        Ok(self.store.node_user_teams(self.node_id).await?.remove(&user_id).unwrap_or_default())
    }

    async fn render_user(&self, u: &User) -> Result<Value, ScimError> {
        Ok(resources::render_user(&self.base, u, &self.user_teams(u.user_id).await?))
    }

    async fn render_group(&self, t: &Team) -> Result<Value, ScimError> {
        Ok(resources::render_group(&self.base, t, &self.store.team_members(t.team_id).await?))
    }

    /// Team UIDs → team ids; Keeper: teams must be in the same node (404 otherwise).
    async fn resolve_teams(&self, uids: &[String]) -> Result<Vec<i64>, ScimError> {
        let mut ids = Vec::new();
        for uid in uids {
            ids.push(self.team(uid).await?.team_id);
        }
        Ok(ids)
    }

    /// Member ids → user ids of this node (404 otherwise).
    async fn resolve_members(&self, ids: &[String]) -> Result<Vec<i64>, ScimError> {
        let mut out = Vec::new();
        for id in ids {
            let uid = self.user(id).await?.user_id;
            if !out.contains(&uid) {
                out.push(uid);
            }
        }
        Ok(out)
    }

    async fn write(&self, input: &UserInput) -> Result<ScimUserWrite, ScimError> {
        let teams = match &input.groups {
            Some(uids) => Some(self.resolve_teams(uids).await?),
            None => None,
        };
        Ok(ScimUserWrite {
            email: input.email.clone(),
            first_name: input.first.clone(),
            last_name: input.last.clone(),
            display_name: input.display.clone(),
            external_id: input.external_id.clone(),
            active: input.active,
            teams,
        })
    }

    // ---- Users ---------------------------------------------------------------------------

    pub async fn list_users(&self, q: &ListQuery, audit: &mut Audit) -> Result<Value, ScimError> {
        let users = match q.filter.as_ref().and_then(|f| f.as_user_name_eq()) {
            Some(name) => {
                audit.target = Some(name.to_string());
                let u = self.store.find_user_by_email(name).await?;
                u.into_iter().filter(|u| u.node_id == self.node_id && u.scim_deleted_at.is_none()).collect()
            }
            None => self.store.list_node_users(self.node_id).await?,
        };
        let mut teams = self.store.node_user_teams(self.node_id).await?;
        let all: Vec<Value> = users
            .iter()
            .map(|u| resources::render_user(&self.base, u, &teams.remove(&u.user_id).unwrap_or_default()))
            .filter(|v| q.filter.as_ref().is_none_or(|f| f.matches(v)))
            .collect();
        audit.note = Some(format!("{} found", all.len()));
        Ok(page(all, q))
    }

    pub async fn get_user(&self, id: &str, projection: &Projection, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(id.to_string());
        let u = self.user(id).await?;
        audit.target = Some(u.email.clone());
        let mut v = self.render_user(&u).await?;
        projection.apply(&mut v);
        Ok(v)
    }

    /// Keeper: a SCIM node provisions its own users. Here that means the domains the node
    /// manages (`Store::node_managed_domains`): its SSO configurations' enterprise domains and
    /// the list an admin set. Checked before anything is looked up, so the answer for an address
    /// outside them says nothing about whether it exists (issue 8, items 2 and 12).
    async fn check_domain(&self, emails: &[&str], what: &str) -> Result<(), ScimError> {
        let domains = self.store.node_managed_domains(self.node_id).await?;
        if domains.is_empty() {
            return Err(ScimError::InvalidValue(format!(
                "node {} manages no domain, so its SCIM cannot {what} users: attach an SSO configuration to the node \
                 or list its domains with `spconnect node set-domains {} DOMAIN...`",
                self.node_id, self.node_id
            )));
        }
        for email in emails {
            let domain = crate::users::email_domain(email);
            if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
                return Err(ScimError::InvalidValue(format!(
                    "cannot {what} users in the domain {domain:?}: node {} manages only {}",
                    self.node_id,
                    domains.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// A userName change (PUT or PATCH) moves an identity: both the old and the new address must
    /// be in a domain this node manages, and the user must not have signed in through an SSO
    /// configuration of another node (whose IdP vouches for that identity).
    async fn check_rename(&self, current: &User, new_email: &str) -> Result<(), ScimError> {
        if current.email.eq_ignore_ascii_case(new_email) {
            return Ok(());
        }
        self.check_domain(&[&current.email, new_email], "rename").await?;
        if self.store.user_signed_in_outside_node(current.user_id, self.node_id).await? {
            return Err(ScimError::Mutability(
                "userName cannot be changed: the user signs in through an SSO configuration of another node".into(),
            ));
        }
        Ok(())
    }

    pub async fn create_user(&self, body: &Value, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = str_attr(body, "userName");
        let input = read_user(body, None)?;
        self.check_domain(&[&input.email], "create").await?;
        let write = self.write(&input).await?;
        let created =
            self.store.scim_create_user(self.node_id, &write, &self.invitation(&input.email), self.now).await?;
        audit.note = Some(format!(
            "{}{}",
            created.user.status.as_str(),
            if created.invited { ", invitation queued" } else { "" }
        ));
        self.render_user(&created.user).await
    }

    async fn update_user(&self, current: &User, input: UserInput, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(input.email.clone());
        self.check_rename(current, &input.email).await?;
        let write = self.write(&input).await?;
        let updated = self.store.scim_replace_user(current.user_id, &write, self.now).await?;
        if current.status != UserStatus::Locked && updated.status == UserStatus::Locked {
            audit.event = events::USER_DEPROVISION;
            audit.note = Some("locked".into());
        } else if current.status == UserStatus::Locked && updated.status != UserStatus::Locked {
            audit.note = Some(format!("unlocked ({})", updated.status.as_str()));
        }
        self.render_user(&updated).await
    }

    pub async fn replace_user(&self, id: &str, body: &Value, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(id.to_string());
        let current = self.user(id).await?;
        // `groups` is read-only for PUT (RFC 7643); membership changes go through PATCH.
        let mut input = read_user(body, None)?;
        input.groups = None;
        self.update_user(&current, input, audit).await
    }

    pub async fn patch_user(&self, id: &str, body: &Value, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(id.to_string());
        let ops = patch::parse(body)?;
        let current = self.user(id).await?;
        audit.target = Some(current.email.clone());
        let rendered = self.render_user(&current).await?;
        // emails are derived from userName: left out so that a userName change alone is
        // consistent, and checked against userName when a client does send them.
        let mut doc = patch_doc(rendered, &["schemas", "id", "meta", "emails"]);
        patch::apply(&mut doc, &ops)?;
        if get_ci(&doc, "active").is_none_or(Value::is_null) {
            return Err(ScimError::InvalidValue(
                "active cannot be removed: a Keeper user is either locked or not".into(),
            ));
        }
        let input = read_user(&doc, Some(Vec::new()))?;
        self.update_user(&current, input, audit).await
    }

    pub async fn delete_user(&self, id: &str, audit: &mut Audit) -> Result<(), ScimError> {
        audit.target = Some(id.to_string());
        let u = self.user(id).await?;
        audit.target = Some(u.email.clone());
        self.store.scim_delete_user(u.user_id, self.now).await?;
        audit.note = Some("locked and removed from SCIM".into());
        Ok(())
    }

    // ---- Groups (teams) ------------------------------------------------------------------

    pub async fn list_groups(&self, q: &ListQuery, audit: &mut Audit) -> Result<Value, ScimError> {
        let mut members = self.store.node_team_members(self.node_id).await?;
        let all: Vec<Value> = self
            .store
            .list_teams(Some(self.node_id))
            .await?
            .iter()
            .map(|t| resources::render_group(&self.base, t, &members.remove(&t.team_id).unwrap_or_default()))
            .filter(|v| q.filter.as_ref().is_none_or(|f| f.matches(v)))
            .collect();
        audit.note = Some(format!("{} found", all.len()));
        Ok(page(all, q))
    }

    pub async fn get_group(&self, id: &str, projection: &Projection, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(id.to_string());
        let t = self.team(id).await?;
        audit.target = Some(t.name.clone());
        let mut v = self.render_group(&t).await?;
        projection.apply(&mut v);
        Ok(v)
    }

    async fn team_write(&self, input: GroupInput) -> Result<TeamWrite, ScimError> {
        let members = match &input.members {
            Some(ids) => Some(self.resolve_members(ids).await?),
            None => None,
        };
        Ok(TeamWrite { name: input.name, external_id: input.external_id, members })
    }

    pub async fn create_group(&self, body: &Value, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = str_attr(body, "displayName");
        let write = self.team_write(read_group(body, None)?).await?;
        let team = self.store.create_team(self.node_id, &write, self.now).await?;
        audit.note = Some("pending approval".into());
        self.render_group(&team).await
    }

    pub async fn replace_group(&self, id: &str, body: &Value, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(id.to_string());
        let team = self.team(id).await?;
        let write = self.team_write(read_group(body, Some(Vec::new()))?).await?;
        audit.target = Some(write.name.clone());
        let team = self.store.replace_team(team.team_id, &write, self.now).await?;
        self.render_group(&team).await
    }

    pub async fn patch_group(&self, id: &str, body: &Value, audit: &mut Audit) -> Result<Value, ScimError> {
        audit.target = Some(id.to_string());
        let ops = patch::parse(body)?;
        let team = self.team(id).await?;
        audit.target = Some(team.name.clone());
        let mut doc = patch_doc(self.render_group(&team).await?, &["schemas", "id", "meta"]);
        patch::apply(&mut doc, &ops)?;
        let write = self.team_write(read_group(&doc, Some(Vec::new()))?).await?;
        let team = self.store.replace_team(team.team_id, &write, self.now).await?;
        if team.status == "pending" {
            audit.note = Some("team pending approval; membership recorded".into());
        }
        self.render_group(&team).await
    }

    pub async fn delete_group(&self, id: &str, audit: &mut Audit) -> Result<(), ScimError> {
        audit.target = Some(id.to_string());
        let team = self.team(id).await?;
        audit.target = Some(team.name.clone());
        self.store.delete_team(team.team_id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_name_must_be_the_primary_email() {
        let ok = json!({"userName": "A@x.io", "emails": [{"value": "b@x.io"}, {"value": "a@x.io", "primary": "True"}]});
        assert_eq!(read_user(&ok, None).unwrap().email, "A@x.io");
        for bad in [
            json!({"userName": "alice"}),
            json!({"userName": "a@x.io", "emails": [{"value": "b@x.io", "primary": true}]}),
            json!({"emails": [{"value": "a@x.io"}]}),
            json!({"userName": "a@x.io", "active": "maybe"}),
        ] {
            assert!(matches!(read_user(&bad, None), Err(ScimError::InvalidValue(_))), "{bad}");
        }
    }

    #[test]
    fn list_query_bounds() {
        let q = ListQuery::parse(Some("startIndex=0&count=5000&filter=userName%20eq%20%22a%40b.c%22")).unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_COUNT));
        assert!(q.filter.is_some());
        assert_eq!(ListQuery::parse(None).unwrap().count, DEFAULT_COUNT);
        assert_eq!(ListQuery::parse(Some("count=-3")).unwrap().count, 0);
        assert!(matches!(ListQuery::parse(Some("count=abc")), Err(ScimError::InvalidValue(_))));
        assert!(matches!(ListQuery::parse(Some("filter=userName%20eq")), Err(ScimError::InvalidFilter(_))));
    }
}
