//! Property tests for every SCIM input parser (issue 8, item 9): the filter, the PATCH path and
//! body, `attributes`/`excludedAttributes`, and the list query (`filter`, `startIndex`, `count`,
//! `sortBy`, `sortOrder`). Arbitrary Unicode never panics and is refused only with the parser's
//! own error kind; well-formed input reads back to what was written.

use proptest::prelude::*;
use serde_json::{json, Value};
use spconnect::scim::filter::{self, CompOp, Filter};
use spconnect::scim::patch::{self, Target};
use spconnect::scim::resources::Projection;
use spconnect::scim::service::{ListQuery, MAX_COUNT};
use spconnect::scim::{ScimError, USER_URN};

/// Strings that reach the byte offsets where parsers split: the core URN with a character cut
/// short, brackets, dots, quotes and multi-byte characters around them.
fn scim_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(USER_URN.to_string()),
        Just(USER_URN[..USER_URN.len() - 1].to_string()),
        Just(":".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(".".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just(" ".to_string()),
        Just("\u{3000}".to_string()),
        Just(" eq ".to_string()),
        Just(" and ".to_string()),
        Just("not (".to_string()),
        Just("userName".to_string()),
        Just("emails[type eq \"work\"]".to_string()),
        "[a-z]{1,6}",
        any::<char>().prop_map(String::from),
        "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("emails.value".to_string()),
        Just("name.givenName".to_string()),
        Just("externalId".to_string()),
        "[a-zA-Z][a-zA-Z0-9_$-]{0,8}(\\.[a-zA-Z][a-zA-Z0-9_-]{0,5})?",
    ]
}

fn comp_op() -> impl Strategy<Value = CompOp> {
    prop_oneof![
        Just(CompOp::Eq),
        Just(CompOp::Ne),
        Just(CompOp::Co),
        Just(CompOp::Sw),
        Just(CompOp::Ew),
        Just(CompOp::Gt),
        Just(CompOp::Ge),
        Just(CompOp::Lt),
        Just(CompOp::Le),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        any::<i64>().prop_map(|n| json!(n)),
        (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
    ]
}

/// Filters as an IdP could write them, up to a depth the parser accepts.
fn filter_ast() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        attr_name().prop_map(Filter::Present),
        (attr_name(), comp_op(), value()).prop_map(|(a, o, v)| Filter::Compare(a, o, v)),
    ];
    leaf.prop_recursive(5, 16, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Filter::Not(Box::new(a))),
            ("[a-zA-Z]{1,8}", inner).prop_map(|(a, f)| Filter::ValuePath(a, Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn filter_parser_never_panics_and_reads_back_what_it_accepts(s in scim_text()) {
        match filter::parse(&s) {
            Ok(f) => {
                // Accepted: its canonical text reads back to the same filter.
                let text = f.to_string();
                if text.len() <= filter::MAX_FILTER_LEN {
                    prop_assert_eq!(filter::parse(&text).ok(), Some(f), "{}", text);
                }
            }
            Err(e) => prop_assert!(matches!(e, ScimError::InvalidFilter(_)), "{:?}", e),
        }
    }

    #[test]
    fn filter_parser_on_any_unicode_string(s in any::<String>()) {
        let r = filter::parse(&s);
        prop_assert!(matches!(r, Ok(_) | Err(ScimError::InvalidFilter(_))), "{:?}", r);
    }

    #[test]
    fn written_filters_round_trip(f in filter_ast(), urn in any::<bool>()) {
        let text = f.to_string();
        prop_assume!(text.len() <= filter::MAX_FILTER_LEN && text.split_whitespace().count() < 120);
        prop_assert_eq!(filter::parse(&text).ok(), Some(f.clone()), "{}", text);
        // The core URN in front of a top-level attribute is the same attribute.
        if let (true, Filter::Present(a)) = (urn, &f) {
            prop_assert_eq!(filter::parse(&format!("{USER_URN}:{a} pr")).ok(), Some(f.clone()));
        }
    }

    #[test]
    fn patch_path_parser_never_panics(s in scim_text()) {
        let r = patch::parse_path(&s);
        prop_assert!(matches!(r, Ok(_) | Err(ScimError::InvalidPath(_))), "{:?}", r);
        if let Ok(Some(t)) = r {
            prop_assert!(!t.attr.is_empty() && t.attr.is_ascii(), "{:?}", t);
        }
    }

    #[test]
    fn patch_path_parser_on_any_unicode_string(s in any::<String>()) {
        let r = patch::parse_path(&s);
        prop_assert!(matches!(r, Ok(_) | Err(ScimError::InvalidPath(_))), "{:?}", r);
    }

    #[test]
    fn written_patch_paths_read_back(
        attr in "[a-zA-Z][a-zA-Z0-9]{0,10}",
        f in proptest::option::of(filter_ast()),
        sub in proptest::option::of("[a-zA-Z][a-zA-Z0-9]{0,10}"),
        urn in any::<bool>(),
    ) {
        let mut text = if urn { format!("{USER_URN}:{attr}") } else { attr.clone() };
        if let Some(f) = &f {
            text.push_str(&format!("[{f}]"));
        }
        if let Some(s) = &sub {
            text.push_str(&format!(".{s}"));
        }
        prop_assume!(text.len() <= patch::MAX_PATH_LEN && f.as_ref().is_none_or(|f| f.to_string().len() <= filter::MAX_FILTER_LEN));
        prop_assert_eq!(patch::parse_path(&text).unwrap(), Some(Target { attr, filter: f, sub }));
    }

    #[test]
    fn patch_bodies_with_any_paths_apply_or_refuse(
        ops in prop::collection::vec((prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("mové")], scim_text(), value()), 0..6),
    ) {
        let body = json!({"Operations": ops.iter().map(|(op, path, v)| json!({"op": op, "path": path, "value": v})).collect::<Vec<_>>()});
        let mut doc = json!({"userName": "a@example.com", "active": true, "emails": [{"value": "a@example.com", "type": "work"}], "name": {"givenName": "A"}});
        match patch::parse(&body) {
            Ok(parsed) => {
                let r = patch::apply(&mut doc, &parsed);
                prop_assert!(matches!(r, Ok(()) | Err(ScimError::InvalidPath(_) | ScimError::NoTarget(_) | ScimError::InvalidValue(_))), "{:?}", r);
                prop_assert!(doc.is_object());
            }
            Err(e) => prop_assert!(matches!(e, ScimError::InvalidSyntax(_) | ScimError::NoTarget(_) | ScimError::InvalidValue(_)), "{:?}", e),
        }
    }

    #[test]
    fn attribute_lists_never_panic_and_keep_what_was_named(raw in scim_text(), names in prop::collection::vec(attr_name(), 1..10)) {
        let p = Projection::parse(Some(&raw), Some(&raw));
        prop_assert!(p.attributes.len() <= 64 && p.attributes.iter().all(|a| !a.is_empty() && a.trim() == a));
        let mut v = json!({"id": "x", "schemas": [USER_URN], "userName": "a@example.com", "name": {"givenName": "A"}});
        p.apply(&mut v);
        prop_assert_eq!(&v["id"], "x", "id always stays");
        // A list of names, some with the core URN, reads back as those names.
        let written: Vec<String> = names.iter().enumerate().map(|(i, n)| if i % 2 == 0 { format!(" {USER_URN}:{n} ") } else { n.clone() }).collect();
        let p = Projection::parse(Some(&written.join(",")), None);
        prop_assert_eq!(p.attributes, names);
    }

    #[test]
    fn list_queries_never_panic_and_stay_bounded(
        filter in scim_text(), start in "\\PC{0,6}|-?[0-9]{1,20}", count in "\\PC{0,6}|-?[0-9]{1,20}",
        sort_by in scim_text(), order in "\\PC{0,12}", attrs in scim_text(),
    ) {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let query = format!(
            "filter={}&startIndex={}&count={}&sortBy={}&sortOrder={}&attributes={}&excludedAttributes={}",
            enc(&filter), enc(&start), enc(&count), enc(&sort_by), enc(&order), enc(&attrs), enc(&attrs)
        );
        match ListQuery::parse(Some(&query)) {
            Ok(q) => {
                prop_assert!(q.start_index >= 1 && q.count <= MAX_COUNT);
                if let Ok(n) = count.trim().parse::<i64>() {
                    prop_assert_eq!(q.count as i64, n.clamp(0, MAX_COUNT as i64));
                }
            }
            Err(e) => prop_assert!(matches!(e, ScimError::InvalidValue(_) | ScimError::InvalidFilter(_)), "{:?}", e),
        }
        // Raw, undecoded bytes in the query string too.
        let r = ListQuery::parse(Some(&format!("filter={filter}&sortBy={sort_by}&attributes={attrs}")));
        prop_assert!(matches!(r, Ok(_) | Err(ScimError::InvalidValue(_) | ScimError::InvalidFilter(_))), "{:?}", r);
    }
}

#[test]
fn the_review_inputs_are_refused_with_the_right_kind() {
    let cut = "urn:ietf:params:scim:schemas:core:2.0:Useé:userName";
    assert!(matches!(filter::parse(&format!("{cut} eq \"x\"")), Err(ScimError::InvalidFilter(_))));
    assert_eq!(patch::parse_path(cut).unwrap(), None, "an unknown schema's path is ignored");
    assert!(matches!(patch::parse_path("emails[typé eq \"work\"].value"), Err(ScimError::InvalidPath(_))));
    assert!(matches!(patch::parse_path("näme.givenName"), Err(ScimError::InvalidPath(_))));
    assert_eq!(Projection::parse(Some(cut), None).attributes, [cut]);
    // Unicode white space separates terms like a space.
    assert_eq!(
        filter::parse("userName\u{3000}eq\u{3000}\"a\"").unwrap(),
        Filter::Compare("userName".into(), CompOp::Eq, json!("a"))
    );
}
