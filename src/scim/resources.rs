//! What spconnect answers: User and Group representations, ListResponse, the discovery
//! documents (ServiceProviderConfig, ResourceTypes, Schemas) and `attributes` /
//! `excludedAttributes` projection.
//!
//! Only what is stored is published and echoed: userName (= email), name.givenName/familyName,
//! displayName, externalId, active, emails (derived from userName, hence readOnly) and groups;
//! teams have displayName, externalId and members. Anything else a client sends is ignored.

use serde_json::{json, Map, Value};

use super::filter::get_ci;
use super::{strip_core_urn, GROUP_URN, LIST_URN, USER_URN};
use crate::store::{Team, User, UserStatus};

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn meta(kind: &str, created: i64, modified: i64, location: String) -> Value {
    json!({"resourceType": kind, "created": rfc3339(created), "lastModified": rfc3339(modified), "location": location})
}

pub fn user_location(base: &str, u: &User) -> String {
    format!("{base}/Users/{}", u.scim_id)
}

pub fn group_location(base: &str, t: &Team) -> String {
    format!("{base}/Groups/{}", t.team_uid)
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub fn render_user(base: &str, u: &User, teams: &[Team]) -> Value {
    let mut v = Map::new();
    v.insert("schemas".into(), json!([USER_URN]));
    v.insert("id".into(), json!(u.scim_id));
    if let Some(x) = &u.external_id {
        v.insert("externalId".into(), json!(x));
    }
    v.insert("userName".into(), json!(u.email));
    let mut name = Map::new();
    if let Some(g) = non_empty(&u.first_name) {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = non_empty(&u.last_name) {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        v.insert("name".into(), Value::Object(name));
    }
    if let Some(d) = &u.display_name {
        v.insert("displayName".into(), json!(d));
    }
    v.insert("active".into(), json!(u.status != UserStatus::Locked));
    v.insert("emails".into(), json!([{"value": u.email, "type": "work", "primary": true}]));
    if !teams.is_empty() {
        let groups: Vec<Value> = teams
            .iter()
            .map(|t| json!({"value": t.team_uid, "$ref": group_location(base, t), "display": t.name, "type": "direct"}))
            .collect();
        v.insert("groups".into(), Value::Array(groups));
    }
    v.insert("meta".into(), meta("User", u.created_at, u.updated_at.unwrap_or(u.created_at), user_location(base, u)));
    Value::Object(v)
}

pub fn render_group(base: &str, t: &Team, members: &[User]) -> Value {
    let mut v = Map::new();
    v.insert("schemas".into(), json!([GROUP_URN]));
    v.insert("id".into(), json!(t.team_uid));
    if let Some(x) = &t.external_id {
        v.insert("externalId".into(), json!(x));
    }
    v.insert("displayName".into(), json!(t.name));
    if !members.is_empty() {
        let list: Vec<Value> = members
            .iter()
            .map(|u| json!({"value": u.scim_id, "$ref": user_location(base, u), "type": "User"}))
            .collect();
        v.insert("members".into(), Value::Array(list));
    }
    v.insert("meta".into(), meta("Group", t.created_at, t.updated_at, group_location(base, t)));
    Value::Object(v)
}

pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({"schemas": [LIST_URN], "totalResults": total, "startIndex": start_index, "itemsPerPage": resources.len(), "Resources": resources})
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5). `id` and `schemas` always stay.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        let split = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or_default()
                .split(',')
                .map(|a| strip_core_urn(a.trim()).trim().to_string())
                .filter(|a| !a.is_empty())
                .take(64)
                .collect()
        };
        Projection { attributes: split(attributes), excluded: split(excluded) }
    }

    pub fn apply(&self, v: &mut Value) {
        let Value::Object(map) = v else { return };
        if !self.attributes.is_empty() {
            let wanted = |key: &str| {
                self.attributes.iter().any(|a| a.split('.').next().is_some_and(|top| top.eq_ignore_ascii_case(key)))
            };
            map.retain(|k, _| k == "id" || k == "schemas" || wanted(k));
            // `name.givenName` keeps only that sub-attribute of `name`.
            for (k, val) in map.iter_mut() {
                let subs: Vec<&str> = self
                    .attributes
                    .iter()
                    .filter_map(|a| a.split_once('.').filter(|(top, _)| top.eq_ignore_ascii_case(k)).map(|(_, s)| s))
                    .collect();
                let whole = self.attributes.iter().any(|a| a.eq_ignore_ascii_case(k));
                if !subs.is_empty() && !whole {
                    keep_subs(val, &subs);
                }
            }
        }
        for ex in &self.excluded {
            match ex.split_once('.') {
                None if ex != "id" && ex != "schemas" => {
                    if let Some(k) = map.keys().find(|k| k.eq_ignore_ascii_case(ex)).cloned() {
                        map.remove(&k);
                    }
                }
                Some((top, sub)) => {
                    if let Some(val) = map.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(top)).map(|(_, v)| v) {
                        drop_sub(val, sub);
                    }
                }
                None => {}
            }
        }
    }
}

fn keep_subs(v: &mut Value, subs: &[&str]) {
    match v {
        Value::Object(m) => m.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k))),
        Value::Array(items) => items.iter_mut().for_each(|i| keep_subs(i, subs)),
        _ => {}
    }
}

fn drop_sub(v: &mut Value, sub: &str) {
    match v {
        Value::Object(m) => m.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
        Value::Array(items) => items.iter_mut().for_each(|i| drop_sub(i, sub)),
        _ => {}
    }
}

/// A string attribute of a request body, case-insensitively, trimmed; `""` reads as absent.
pub fn str_attr(body: &Value, name: &str) -> Option<String> {
    get_ci(body, name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

// ---- discovery -------------------------------------------------------------------------

fn attr(name: &str, kind: &str, multi: bool, required: bool, mutability: &str, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "mutability": mutability, "returned": "default", "uniqueness": "none",
    });
    if kind == "string" || kind == "reference" {
        a["caseExact"] = json!(false);
    }
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    a
}

fn user_schema() -> Value {
    let name_subs = json!([
        attr(
            "givenName",
            "string",
            false,
            false,
            "readWrite",
            json!({"description": "Given name; stored, not shown in the admin console (Keeper)."})
        ),
        attr(
            "familyName",
            "string",
            false,
            false,
            "readWrite",
            json!({"description": "Family name; stored, not shown in the admin console (Keeper)."})
        ),
    ]);
    let email_subs = json!([
        attr("value", "string", false, false, "readOnly", json!({})),
        attr("type", "string", false, false, "readOnly", json!({"canonicalValues": ["work"]})),
        attr("primary", "boolean", false, false, "readOnly", json!({})),
    ]);
    let group_subs = json!([
        attr("value", "string", false, false, "readOnly", json!({})),
        attr("$ref", "reference", false, false, "readOnly", json!({"referenceTypes": ["Group"]})),
        attr("display", "string", false, false, "readOnly", json!({})),
        attr("type", "string", false, false, "readOnly", json!({"canonicalValues": ["direct"]})),
    ]);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_URN, "name": "User", "description": "Keeper user: userName is the email address",
        "attributes": [
            attr("userName", "string", false, true, "readWrite", json!({"uniqueness": "server",
                "description": "The user's email address (Keeper: userName must equal the email). Case-insensitive."})),
            attr("name", "complex", false, false, "readWrite", json!({"subAttributes": name_subs})),
            attr("displayName", "string", false, false, "readWrite", json!({})),
            attr("active", "boolean", false, false, "readWrite", json!({"description": "false locks the user (Keeper never deletes); true unlocks."})),
            attr("emails", "complex", true, false, "readOnly", json!({"subAttributes": email_subs,
                "description": "Derived from userName. A primary email sent by a client must equal userName."})),
            attr("groups", "complex", true, false, "readOnly", json!({"subAttributes": group_subs,
                "description": "Teams of the user. Keeper's client also changes them by PATCH path \"groups\"."})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/Schemas/{USER_URN}")},
    })
}

fn group_schema() -> Value {
    let member_subs = json!([
        attr("value", "string", false, false, "immutable", json!({})),
        attr("$ref", "reference", false, false, "immutable", json!({"referenceTypes": ["User"]})),
        attr("type", "string", false, false, "immutable", json!({"canonicalValues": ["User"]})),
    ]);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_URN, "name": "Group", "description": "Keeper team; created pending until an admin approves it",
        "attributes": [
            attr("displayName", "string", false, true, "readWrite", json!({"description": "Team name."})),
            attr("members", "complex", true, false, "readWrite", json!({"subAttributes": member_subs,
                "description": "Users of the team (teams hold users only)."})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/Schemas/{GROUP_URN}")},
    })
}

/// The published schemas, with `meta.location` made absolute.
pub fn schemas(base: &str) -> Vec<Value> {
    let mut out = vec![user_schema(), group_schema()];
    for s in &mut out {
        let loc = format!("{base}{}", s["meta"]["location"].as_str().unwrap_or_default());
        s["meta"]["location"] = json!(loc);
    }
    out
}

pub fn resource_types(base: &str) -> Vec<Value> {
    let rt = |id: &str, endpoint: &str, schema: &str, desc: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": id, "name": id, "endpoint": endpoint, "description": desc, "schema": schema,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{id}")},
        })
    };
    vec![rt("User", "/Users", USER_URN, "Keeper users"), rt("Group", "/Groups", GROUP_URN, "Keeper teams")]
}

pub fn service_provider_config(base: &str, max_results: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "The node's provisioning token from `spconnect scim token <node_id>`", "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}
