//! PATCH (RFC 7644 §3.5.2) applied to a resource's JSON, including what real clients send:
//! Entra's capitalised `Replace`/`Add`/`Remove`, path-less value objects with dotted keys
//! (`name.givenName`), `Operations` as one object instead of an array (Keeper's own client),
//! `value` as an array of one such object, `emails[type eq "work"].value` paths, and the
//! Azure/JumpCloud member removal `{op: remove, path: members, value: [{value: id}]}`.
//!
//! The caller renders the resource, applies the operations here, then reads the result back
//! through the same validation as a PUT: one set of rules for both verbs.

use serde_json::{Map, Value};

use super::filter::{self, CompOp, Filter};
use super::{is_core_urn, strip_core_urn, ScimError};

pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Read a PatchOp body leniently (see the module doc) but refuse what has no meaning.
pub fn parse(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let ops = filter::get_ci(body, "Operations")
        .ok_or_else(|| ScimError::InvalidSyntax("PatchOp without Operations".into()))?;
    let list: Vec<&Value> = match ops {
        Value::Array(items) => items.iter().collect(),
        obj @ Value::Object(_) => vec![obj],
        _ => return Err(ScimError::InvalidSyntax("Operations must be an array".into())),
    };
    if list.len() > MAX_OPERATIONS {
        return Err(ScimError::InvalidValue(format!("more than {MAX_OPERATIONS} operations")));
    }
    list.into_iter()
        .map(|o| {
            let op = filter::get_ci(o, "op").and_then(Value::as_str).unwrap_or_default();
            let op = match op.to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "replace" => Op::Replace,
                "remove" => Op::Remove,
                other => return Err(ScimError::InvalidSyntax(format!("unknown PATCH op {other:?}"))),
            };
            let path = filter::get_ci(o, "path")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string);
            let value = filter::get_ci(o, "value").cloned();
            if op != Op::Remove && value.is_none() {
                return Err(ScimError::InvalidSyntax("add and replace need a value".into()));
            }
            if op == Op::Remove && path.is_none() {
                return Err(ScimError::NoTarget("remove needs a path".into()));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// Where an operation points: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub attr: String,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Longest PATCH path we read, in bytes.
pub const MAX_PATH_LEN: usize = 512;

/// A PATCH `path`; `None` for a path into a schema extension (accepted and ignored, like
/// Keeper). Every refusal is `InvalidPath`. Splits only at ASCII delimiters found by `find`, so
/// no slice falls inside a multi-byte character.
pub fn parse_path(raw: &str) -> Result<Option<Target>, ScimError> {
    let p = strip_core_urn(raw);
    if p.len() > MAX_PATH_LEN {
        return Err(ScimError::InvalidPath("path too long".into()));
    }
    if p.to_ascii_lowercase().starts_with("urn:") {
        return Ok(None);
    }
    let bad = || ScimError::InvalidPath(format!("bad path {raw:?}"));
    let (attr, filter, sub) = match p.find('[') {
        Some(open) => {
            let close = p.rfind(']').filter(|c| *c > open).ok_or_else(bad)?;
            let rest = &p[close + 1..];
            let sub = match rest.strip_prefix('.') {
                Some(s) => Some(s.to_string()),
                None if rest.is_empty() => None,
                None => return Err(bad()),
            };
            let inner = filter::parse(&p[open + 1..close]).map_err(|e| ScimError::InvalidPath(e.to_string()))?;
            (p[..open].to_string(), Some(inner), sub)
        }
        None => match p.split_once('.') {
            Some((a, s)) => (a.to_string(), None, Some(s.to_string())),
            None => (p.to_string(), None, None),
        },
    };
    let name_ok =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if !name_ok(&attr) || sub.as_deref().is_some_and(|s| !name_ok(s)) {
        return Err(bad());
    }
    Ok(Some(Target { attr, filter, sub }))
}

/// The existing key matching `name` case-insensitively, or `name` itself.
fn key(map: &Map<String, Value>, name: &str) -> String {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_string())
}

/// Two values of a multi-valued attribute are the same when their `value`s are (or, without
/// `value`, when they are equal).
fn same_item(a: &Value, b: &Value) -> bool {
    match (filter::get_ci(a, "value"), filter::get_ci(b, "value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn set_attr(doc: &mut Map<String, Value>, name: &str, value: Value, op: Op) {
    let k = key(doc, name);
    match (op, doc.get_mut(&k), value) {
        (Op::Add, Some(Value::Array(existing)), Value::Array(new)) => {
            for v in new {
                if !existing.iter().any(|e| same_item(e, &v)) {
                    existing.push(v);
                }
            }
        }
        (Op::Add, Some(Value::Array(existing)), v) => {
            if !existing.iter().any(|e| same_item(e, &v)) {
                existing.push(v);
            }
        }
        (_, Some(Value::Object(existing)), Value::Object(new)) => {
            for (nk, nv) in new {
                let ek = key(existing, &nk);
                existing.insert(ek, nv);
            }
        }
        (_, _, v) => {
            doc.insert(k, v);
        }
    }
}

fn set_sub(doc: &mut Map<String, Value>, attr: &str, sub: &str, value: Value) {
    let k = key(doc, attr);
    match doc.get_mut(&k) {
        Some(Value::Object(obj)) => {
            let sk = key(obj, sub);
            obj.insert(sk, value);
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                let sk = key(item, sub);
                item.insert(sk, value.clone());
            }
        }
        _ => {
            let mut obj = Map::new();
            obj.insert(sub.to_string(), value);
            doc.insert(k, Value::Object(obj));
        }
    }
}

/// The `attr eq "x"` terms of an and-chain: the element a filtered add/replace creates when
/// nothing matches (`emails[type eq "work"].value` on a user without a work email).
fn seed(f: &Filter, out: &mut Map<String, Value>) {
    match f {
        Filter::And(a, b) => {
            seed(a, out);
            seed(b, out);
        }
        Filter::Compare(attr, CompOp::Eq, v) if !attr.contains('.') => {
            out.insert(attr.clone(), v.clone());
        }
        _ => {}
    }
}

fn apply_pathless(doc: &mut Map<String, Value>, op: Op, value: Value) -> Result<(), ScimError> {
    match value {
        Value::Array(items) => items.into_iter().try_for_each(|v| apply_pathless(doc, op, v)),
        Value::Object(obj) => {
            for (k, v) in obj {
                if is_core_urn(&k) {
                    apply_pathless(doc, op, v)?;
                    continue;
                }
                let name = strip_core_urn(&k);
                if name.to_ascii_lowercase().starts_with("urn:") {
                    continue; // an extension block: accepted, ignored
                }
                match name.split_once('.') {
                    Some((attr, sub)) => set_sub(doc, attr, sub, v),
                    None => set_attr(doc, name, v, op),
                }
            }
            Ok(())
        }
        _ => Err(ScimError::InvalidValue("a PATCH without path needs an object value".into())),
    }
}

fn apply_one(doc: &mut Map<String, Value>, o: &Operation) -> Result<(), ScimError> {
    let Some(path) = &o.path else {
        return apply_pathless(doc, o.op, o.value.clone().unwrap_or(Value::Null));
    };
    let Some(t) = parse_path(path)? else { return Ok(()) };
    let value = o.value.clone().unwrap_or(Value::Null);
    match (&t.filter, o.op) {
        (None, Op::Add | Op::Replace) => {
            match &t.sub {
                Some(sub) => set_sub(doc, &t.attr, sub, value),
                None => set_attr(doc, &t.attr, value, o.op),
            }
            Ok(())
        }
        (None, Op::Remove) => {
            let k = key(doc, &t.attr);
            match (&t.sub, doc.get_mut(&k), value) {
                (Some(sub), Some(Value::Object(obj)), _) => {
                    let sk = key(obj, sub);
                    obj.remove(&sk);
                }
                (Some(sub), Some(Value::Array(items)), _) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        let sk = key(item, sub);
                        item.remove(&sk);
                    }
                }
                // Azure/JumpCloud: remove the listed members rather than the whole attribute.
                (None, Some(Value::Array(items)), Value::Array(gone)) => {
                    items.retain(|i| !gone.iter().any(|g| same_item(i, g)))
                }
                (None, Some(Value::Array(items)), v @ Value::Object(_)) => items.retain(|i| !same_item(i, &v)),
                (None, _, _) => {
                    doc.remove(&k);
                }
                _ => {}
            }
            Ok(())
        }
        (Some(f), op) => {
            let k = key(doc, &t.attr);
            let entry = doc.entry(k).or_insert_with(|| Value::Array(Vec::new()));
            if entry.is_null() {
                *entry = Value::Array(Vec::new());
            }
            let Value::Array(items) = entry else {
                return Err(ScimError::InvalidPath(format!("{} is not multi-valued", t.attr)));
            };
            let hits: Vec<usize> = items.iter().enumerate().filter(|(_, i)| f.matches(i)).map(|(n, _)| n).collect();
            match (op, &t.sub) {
                (Op::Remove, None) => {
                    let mut n = 0;
                    items.retain(|_| {
                        n += 1;
                        !hits.contains(&(n - 1))
                    });
                }
                (Op::Remove, Some(sub)) => {
                    for &h in &hits {
                        if let Some(obj) = items.get_mut(h).and_then(Value::as_object_mut) {
                            let sk = key(obj, sub);
                            obj.remove(&sk);
                        }
                    }
                }
                (_, sub) if hits.is_empty() => {
                    if op == Op::Replace && sub.is_none() && !value.is_object() {
                        return Err(ScimError::NoTarget(format!("nothing matches {path}")));
                    }
                    let mut obj = Map::new();
                    seed(f, &mut obj);
                    match (sub, value) {
                        (Some(sub), v) => {
                            obj.insert(sub.clone(), v);
                        }
                        (None, Value::Object(v)) => obj.extend(v),
                        (None, _) => {}
                    }
                    items.push(Value::Object(obj));
                }
                (_, Some(sub)) => {
                    for &h in &hits {
                        if let Some(obj) = items.get_mut(h).and_then(Value::as_object_mut) {
                            let sk = key(obj, sub);
                            obj.insert(sk, value.clone());
                        }
                    }
                }
                (_, None) => {
                    for &h in &hits {
                        if let (Some(Value::Object(obj)), Value::Object(v)) = (items.get_mut(h), &value) {
                            for (nk, nv) in v {
                                let ek = key(obj, nk);
                                obj.insert(ek, nv.clone());
                            }
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// Apply all operations in order; the first failure stops (the caller then stores nothing).
pub fn apply(doc: &mut Value, ops: &[Operation]) -> Result<(), ScimError> {
    let Value::Object(map) = doc else {
        return Err(ScimError::InvalidValue("resource is not an object".into()));
    };
    ops.iter().try_for_each(|o| apply_one(map, o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, body: Value) -> Value {
        let mut doc = doc;
        apply(&mut doc, &parse(&body).unwrap()).unwrap();
        doc
    }

    #[test]
    fn entra_capitalised_ops_and_string_booleans_pass_through() {
        let out = run(
            json!({"active": true}),
            json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        );
        assert_eq!(out["active"], "False");
    }

    #[test]
    fn pathless_dotted_keys_and_single_object_operations() {
        let body = json!({"Operations": {"op": "replace", "value": [{"name.givenName": "A", "name.familyName": "B", "displayName": "AB"}]}});
        let out = run(json!({"name": {"givenName": "x"}}), body);
        assert_eq!(out["name"], json!({"givenName": "A", "familyName": "B"}));
        assert_eq!(out["displayName"], "AB");
    }

    #[test]
    fn filtered_paths_update_or_create_the_element() {
        let body =
            json!({"Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "n@x.io"}]});
        let out = run(json!({"emails": [{"value": "o@x.io", "type": "work"}]}), body.clone());
        assert_eq!(out["emails"], json!([{"value": "n@x.io", "type": "work"}]));
        let out = run(json!({}), body);
        assert_eq!(out["emails"], json!([{"type": "work", "value": "n@x.io"}]));
    }

    #[test]
    fn member_add_is_idempotent_and_all_removal_forms_work() {
        let add =
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]});
        let doc = run(json!({"members": [{"value": "u1", "type": "User"}]}), add);
        assert_eq!(doc["members"].as_array().unwrap().len(), 2);
        let azure =
            run(doc.clone(), json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]}));
        assert_eq!(azure["members"], json!([{"value": "u2"}]));
        let rfc = run(doc, json!({"Operations": [{"op": "remove", "path": "members[value eq \"u2\"]"}]}));
        assert_eq!(rfc["members"], json!([{"value": "u1", "type": "User"}]));
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse(&json!({"Operations": [{"op": "remove"}]})), Err(ScimError::NoTarget(_))));
        assert!(matches!(
            parse(&json!({"Operations": [{"op": "move", "path": "a"}]})),
            Err(ScimError::InvalidSyntax(_))
        ));
        assert!(matches!(parse(&json!({"ops": []})), Err(ScimError::InvalidSyntax(_))));
        let mut doc = json!({});
        let ops = parse(&json!({"Operations": [{"op": "add", "path": "emails[type eq", "value": 1}]})).unwrap();
        assert!(matches!(apply(&mut doc, &ops), Err(ScimError::InvalidPath(_))));
    }

    #[test]
    fn extension_paths_are_ignored() {
        let body = json!({"Operations": [{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "x"},
                                          {"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "y"}}}]});
        assert_eq!(run(json!({"a": 1}), body), json!({"a": 1}));
    }
}
