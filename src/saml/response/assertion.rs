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
