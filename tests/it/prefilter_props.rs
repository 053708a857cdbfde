//! Property tests for the intake pre-filter (saml/xml.rs): no input makes it panic, and a
//! refusal does not depend on whitespace or on which namespace prefixes the sender chose.

use proptest::prelude::*;
use spconnect::saml::xml::{self, AlgorithmPolicy};
use spconnect::saml::Rejection;

use crate::support::xmlsec::ResponseSpec;

fn intake(text: &str) -> Result<(), Rejection> {
    xml::scan(text)?;
    let doc = xml::parse(text)?;
    xml::check_response_shape(&doc, AlgorithmPolicy::default()).map(|_| ())
}

fn base_document() -> String {
    let mut spec =
        ResponseSpec::new("https://idp.test", "https://sp.test/e", "https://sp.test/acs", "alice@example.com");
    spec.sign_response = true;
    spec.template()
}

/// Hostile edits of a well-formed response, each refused by the intake.
fn hostile(doc: &str, which: usize) -> String {
    let assertion_start = doc.find("<saml:Assertion").expect("assertion");
    let assertion_end = doc.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
    let assertion = &doc[assertion_start..assertion_end];
    match which % 9 {
        0 => doc.replacen("<samlp:Response", "<!DOCTYPE samlp:Response><samlp:Response", 1),
        1 => doc.replacen("<samlp:Status>", "<?evil x?><samlp:Status>", 1),
        2 => doc.replacen(assertion, &format!("{assertion}{}", assertion.replace("ID=\"_a", "ID=\"_b")), 1),
        3 => doc.replacen("URI=\"#_r", "URI=\"http://127.0.0.1/#_r", 1),
        4 => doc.replacen(
            "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
            "http://www.w3.org/TR/1999/REC-xslt-19991116",
            1,
        ),
        5 => doc.replacen("alice@example.com</saml:NameID>", "alice@example.com<!---->.evil</saml:NameID>", 1),
        6 => doc.replacen(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            1,
        ),
        7 => doc.replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions>{assertion}</samlp:Extensions><samlp:Status>"),
            1,
        ),
        _ => doc.replacen("<ds:SignatureValue/>", "<ds:SignatureValue/><ds:Object/>", 1),
    }
}

/// Rename the three prefixes consistently, declarations included.
fn rename_prefixes(doc: &str, p: &str, a: &str, d: &str) -> String {
    doc.replace("xmlns:samlp=", &format!("xmlns:{p}="))
        .replace("<samlp:", &format!("<{p}:"))
        .replace("</samlp:", &format!("</{p}:"))
        .replace("xmlns:saml=", &format!("xmlns:{a}="))
        .replace("<saml:", &format!("<{a}:"))
        .replace("</saml:", &format!("</{a}:"))
        .replace("xmlns:ds=", &format!("xmlns:{d}="))
        .replace("<ds:", &format!("<{d}:"))
        .replace("</ds:", &format!("</{d}:"))
}

/// Add whitespace inside tags (before `/>` and `>` of start tags) where XML allows it.
fn add_whitespace(doc: &str, ws: &str) -> String {
    let body_start = doc.find("?>").map_or(0, |i| i + 2);
    let (decl, body) = doc.split_at(body_start);
    let mut out = String::from(decl);
    let mut in_tag = false;
    let mut prev = ' ';
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                if prev != '?' && prev != '-' {
                    if prev == '/' {
                        out.pop();
                        out.push_str(ws);
                        out.push('/');
                    } else {
                        out.push_str(ws);
                    }
                }
                in_tag = false;
            }
            _ => {}
        }
        out.push(c);
        prev = c;
    }
    out
}

fn prefix() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}".prop_filter("reserved", |p| !p.starts_with("xml") && p != "saml" && p != "samlp" && p != "ds")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,2000}") {
        let _ = intake(&text);
        let _ = xml::decode_form_value(&text);
    }

    #[test]
    fn mutated_documents_never_panic(cut in 0usize..4000, insert in "[<>&;!?\\[\\]\"'=/a-z: -]{0,12}") {
        let doc = base_document();
        let at = doc.char_indices().map(|(i, _)| i).nth(cut % doc.chars().count()).unwrap_or(0);
        let mutated = format!("{}{}{}", &doc[..at], insert, &doc[at..]);
        let _ = intake(&mutated);
    }

    #[test]
    fn refusals_survive_whitespace_and_prefix_renaming(
        which in 0usize..9,
        p in prefix(), a in prefix(), d in prefix(),
        ws in prop::sample::select(vec![" ", "  ", "\n", "\t", " \r\n "]),
    ) {
        prop_assume!(p != a && a != d && p != d);
        let doc = hostile(&base_document(), which);
        let refused = intake(&doc).expect_err("the hostile document is refused");
        let renamed = rename_prefixes(&doc, &p, &a, &d);
        prop_assert_eq!(intake(&renamed).map_err(|r| r.code()), Err(refused.code()));
        let spaced = add_whitespace(&renamed, ws);
        prop_assert_eq!(intake(&spaced).map_err(|r| r.code()), Err(refused.code()));
    }

    #[test]
    fn the_valid_base_stays_valid_under_renaming(p in prefix(), a in prefix(), d in prefix()) {
        prop_assume!(p != a && a != d && p != d);
        let doc = base_document();
        prop_assert!(intake(&doc).is_ok());
        prop_assert!(intake(&add_whitespace(&rename_prefixes(&doc, &p, &a, &d), " ")).is_ok());
    }
}
