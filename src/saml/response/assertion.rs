//! Read the values spconnect consumes out of a *verified* assertion element. Nothing here
//! decides; `conditions.rs` does. Times that do not parse are kept as errors so the checks can
//! refuse them with the right reason code.

use chrono::{DateTime, Utc};

use crate::saml::{child, children, is, text_content, Rejection, NS_SAML};

#[derive(Debug, Clone, Default)]
pub struct SubjectConfirmation {
    pub method: String,
    pub recipient: Option<String>,
    pub not_on_or_after: Option<String>,
    pub not_before: Option<String>,
    pub in_response_to: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AssertionFields {
    pub id: String,
    pub issue_instant: String,
    pub issuer: String,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub confirmations: Vec<SubjectConfirmation>,
    pub has_conditions: bool,
    pub not_before: Option<String>,
    pub not_on_or_after: Option<String>,
    /// One inner Vec per AudienceRestriction: each restriction must name us.
    pub audience_restrictions: Vec<Vec<String>>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub session_index: Option<String>,
}

pub fn read(assertion: roxmltree::Node) -> Result<AssertionFields, Rejection> {
    if !is(assertion, NS_SAML, "Assertion") {
        return Err(Rejection::AssertionNotSigned);
    }
    let mut f = AssertionFields {
        id: assertion.attribute("ID").unwrap_or_default().to_string(),
        issue_instant: assertion.attribute("IssueInstant").unwrap_or_default().to_string(),
        issuer: child(assertion, NS_SAML, "Issuer").map(text_content).unwrap_or_default().trim().to_string(),
        ..Default::default()
    };
    if let Some(subject) = child(assertion, NS_SAML, "Subject") {
        if let Some(name_id) = child(subject, NS_SAML, "NameID") {
            let value = text_content(name_id).trim().to_string();
            f.name_id = (!value.is_empty()).then_some(value);
            f.name_id_format = name_id.attribute("Format").map(str::to_string);
        }
        for sc in children(subject, NS_SAML, "SubjectConfirmation") {
            let data = child(sc, NS_SAML, "SubjectConfirmationData");
            let attr = |name: &str| data.and_then(|d| d.attribute(name)).map(str::to_string);
            f.confirmations.push(SubjectConfirmation {
                method: sc.attribute("Method").unwrap_or_default().to_string(),
                recipient: attr("Recipient"),
                not_on_or_after: attr("NotOnOrAfter"),
                not_before: attr("NotBefore"),
                in_response_to: attr("InResponseTo"),
            });
        }
    }
    if let Some(conditions) = child(assertion, NS_SAML, "Conditions") {
        f.has_conditions = true;
        f.not_before = conditions.attribute("NotBefore").map(str::to_string);
        f.not_on_or_after = conditions.attribute("NotOnOrAfter").map(str::to_string);
        for restriction in children(conditions, NS_SAML, "AudienceRestriction") {
            f.audience_restrictions
                .push(children(restriction, NS_SAML, "Audience").map(|a| text_content(a).trim().to_string()).collect());
        }
    }
    for statement in children(assertion, NS_SAML, "AttributeStatement") {
        for attribute in children(statement, NS_SAML, "Attribute") {
            let name = attribute.attribute("Name").unwrap_or_default().to_string();
            let values =
                children(attribute, NS_SAML, "AttributeValue").map(|v| text_content(v).trim().to_string()).collect();
            f.attributes.push((name, values));
        }
    }
    f.session_index =
        child(assertion, NS_SAML, "AuthnStatement").and_then(|s| s.attribute("SessionIndex")).map(str::to_string);
    Ok(f)
}

/// SAML times are xs:dateTime in UTC; anything unparseable is treated as invalid by callers.
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.trim()).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:x="urn:example:other" ID="_a1" IssueInstant="2026-12-02T10:00:00Z">
  <saml:Issuer> https://idp.example </saml:Issuer>
  <saml:Subject>
    <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"> alice@example.com </saml:NameID>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <saml:SubjectConfirmationData Recipient="https://sp.example/acs" NotOnOrAfter="2026-12-02T10:05:00Z" InResponseTo="_r1"/>
    </saml:SubjectConfirmation>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"/>
  </saml:Subject>
  <x:Conditions NotBefore="1999-01-01T00:00:00Z"><saml:AudienceRestriction><saml:Audience>https://evil.example</saml:Audience></saml:AudienceRestriction></x:Conditions>
  <saml:Conditions NotBefore="2026-12-02T09:59:00Z" NotOnOrAfter="2026-12-02T10:05:00Z">
    <saml:AudienceRestriction><saml:Audience> https://sp.example/e </saml:Audience><x:Audience>https://evil.example</x:Audience></saml:AudienceRestriction>
    <saml:AudienceRestriction><saml:Audience>https://sp.example/e</saml:Audience><saml:Audience>https://other.example</saml:Audience></saml:AudienceRestriction>
  </saml:Conditions>
  <saml:AuthnStatement SessionIndex="_s1"/>
  <saml:AttributeStatement>
    <saml:Attribute Name="Email"><saml:AttributeValue> alice@example.com </saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="groups"><saml:AttributeValue>a</saml:AttributeValue><saml:AttributeValue>b</saml:AttributeValue><x:AttributeValue>c</x:AttributeValue></saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>"#;

    #[test]
    fn values_are_read_from_saml_namespaced_elements_only_and_trimmed() {
        let doc = roxmltree::Document::parse(A).unwrap();
        let f = read(doc.root_element()).unwrap();
        assert_eq!(
            (f.id.as_str(), f.issue_instant.as_str(), f.issuer.as_str()),
            ("_a1", "2026-12-02T10:00:00Z", "https://idp.example")
        );
        assert_eq!(f.name_id.as_deref(), Some("alice@example.com"));
        assert_eq!(f.name_id_format.as_deref(), Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"));
        assert_eq!(f.confirmations.len(), 2);
        let bearer = &f.confirmations[0];
        assert_eq!(bearer.recipient.as_deref(), Some("https://sp.example/acs"));
        assert_eq!(bearer.in_response_to.as_deref(), Some("_r1"));
        assert_eq!(f.confirmations[1].recipient, None, "no SubjectConfirmationData, no values");
        // The look-alike <x:Conditions> (another namespace) is not the assertion's Conditions.
        assert!(f.has_conditions);
        assert_eq!(f.not_before.as_deref(), Some("2026-12-02T09:59:00Z"));
        assert_eq!(
            f.audience_restrictions,
            vec![
                vec!["https://sp.example/e".to_string()],
                vec!["https://sp.example/e".into(), "https://other.example".into()]
            ]
        );
        assert_eq!(f.attributes[0], ("Email".to_string(), vec!["alice@example.com".to_string()]));
        assert_eq!(f.attributes[1], ("groups".to_string(), vec!["a".to_string(), "b".to_string()]));
        assert_eq!(f.session_index.as_deref(), Some("_s1"));
    }

    #[test]
    fn an_empty_name_id_is_none_and_a_non_assertion_is_refused() {
        let xml = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a"><saml:Subject><saml:NameID>  </saml:NameID></saml:Subject></saml:Assertion>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let f = read(doc.root_element()).unwrap();
        assert_eq!(f.name_id, None);
        assert!(!f.has_conditions && f.audience_restrictions.is_empty());
        for other in [
            r#"<x:Assertion xmlns:x="urn:example:other" ID="_a"/>"#,
            r#"<saml:Response xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a"/>"#,
        ] {
            let doc = roxmltree::Document::parse(other).unwrap();
            assert_eq!(read(doc.root_element()).unwrap_err().code(), "SAML_ASSERTION_NOT_SIGNED", "{other}");
        }
    }

    #[test]
    fn times_are_rfc3339_with_a_zone() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let cases = [
            ("2026-12-02T10:00:00Z", Some(utc("2026-12-02T10:00:00Z"))),
            (" 2026-12-02T10:00:00Z ", Some(utc("2026-12-02T10:00:00Z"))),
            ("2026-12-02T11:00:00+01:00", Some(utc("2026-12-02T10:00:00Z"))),
            ("2026-12-02T10:00:00.123Z", Some(utc("2026-12-02T10:00:00.123Z"))),
            ("2026-12-02T10:00:00", None),
            ("2026-13-02T10:00:00Z", None),
            ("yesterday", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_time(input), want, "{input:?}");
        }
    }
}
