//! Every reason code a login can fail with, explained for the admin in plain words with the
//! likely fix. One table, so a new code without an explanation shows up in one place (and in
//! the test below). Where the recorded detail holds a timestamp, the clock difference is
//! worked out for the admin instead of leaving them to do the arithmetic.

use chrono::{DateTime, Utc};

pub struct Help {
    pub meaning: String,
    pub fix: &'static str,
}

/// (code, what happened, what to do)
const TABLE: &[(&str, &str, &str)] = &[
    ("SAML_RESPONSE_MISSING", "The browser posted to the ACS without a SAMLResponse.", "Start the login from the Login URL or the IdP's tile; check that the IdP uses the HTTP-POST binding for the ACS."),
    ("SAML_RESPONSE_TOO_LARGE", "The posted SAMLResponse is larger than spconnect reads.", "Send fewer attributes or groups in the assertion."),
    ("SAML_BASE64_INVALID", "The SAMLResponse is not base64.", "Check that nothing between the IdP and spconnect rewrites the form (a proxy, a browser extension)."),
    ("SAML_XML_MALFORMED", "The response is not well-formed XML.", "Check the IdP's SAML application settings; capture the response and run spconnect check-response."),
    ("SAML_XML_DTD_FORBIDDEN", "The response carries a DOCTYPE or entity declaration, which spconnect never accepts.", "A real IdP does not send these; treat it as an attack attempt and check the client address."),
    ("SAML_XML_PI_FORBIDDEN", "The response carries an XML processing instruction inside the message.", "A real IdP does not send these; check the client address."),
    ("SAML_XML_COMMENT_FORBIDDEN", "The response carries an XML comment inside the message (a known trick to change a signed NameID).", "Treat it as an attack attempt and check the client address."),
    ("SAML_XML_TOO_COMPLEX", "The response is too deeply nested or has too many elements.", "Send fewer attributes or groups in the assertion."),
    ("SAML_NOT_A_RESPONSE", "The posted message is not a SAML Response.", "Check that the IdP posts its Response (not a LogoutRequest or other message) to the ACS endpoint."),
    ("SAML_ASSERTION_COUNT", "The Response does not carry exactly one assertion.", "Configure the IdP to send a single assertion."),
    ("SAML_DUPLICATE_ID", "Two elements in the response share an ID (a signature-wrapping pattern).", "Treat it as an attack attempt and check the client address."),
    ("SAML_REFERENCE_FORBIDDEN", "A signature points at something other than the Response or Assertion it sits in.", "Treat it as an attack attempt, or report the IdP's unusual signing to its vendor."),
    ("SAML_TRANSFORM_FORBIDDEN", "A signature uses a transform spconnect does not allow.", "Configure the IdP to sign with the standard enveloped-signature and exclusive canonicalisation transforms."),
    ("SAML_SIGNATURE_OBJECT_FORBIDDEN", "A signature carries ds:Object or ds:Manifest.", "Treat it as an attack attempt and check the client address."),
    ("SAML_ALGORITHM_FORBIDDEN", "The IdP signed with an algorithm that is not allowed (usually SHA-1).", "Switch the IdP to RSA-SHA256, or allow SHA-1 for this configuration if the IdP cannot."),
    ("SAML_UNSIGNED", "Neither the Response nor the Assertion is signed.", "Turn on signing in the IdP's SAML application (sign the assertion, the response, or both)."),
    ("SAML_SIGNATURE_INVALID", "The signature does not verify with the IdP certificates spconnect has; usually the IdP rotated its signing certificate.", "Download the IdP's current metadata and re-upload it on the configuration's Edit page."),
    ("SAML_ASSERTION_NOT_SIGNED", "The assertion that names the user is not covered by a verified signature.", "Configure the IdP to sign the assertion (or the whole response)."),
    ("SAML_DECRYPTION_FAILED", "The encrypted assertion could not be decrypted with this configuration's SP key.", "Give the IdP this configuration's current SP certificate (Export SP Cert) as its encryption certificate."),
    ("SAML_ENCRYPTION_POLICY", "The assertion is encrypted in a way this configuration does not accept (an unsigned Response around it, or AES-CBC where only AES-GCM is allowed).", "Have the IdP sign the whole Response and/or encrypt with AES-GCM, or relax the configuration's encryption policy."),
    ("SAML_REQUEST_NOT_FROM_THIS_BROWSER", "The response answers a sign-in that another browser started (or the browser lost the short-lived sign-in cookie); this is how login CSRF looks.", "Start the sign-in again from the Login URL in the same browser; if it persists, check that nothing strips the spconnect_binding cookie and that the service is reached over HTTPS."),
    ("SAML_TOO_MANY_ATTRIBUTES", "The assertion carries more attributes, or longer attribute values, than spconnect reads.", "Send only the attributes spconnect needs (Email, First, Last) and fewer groups."),
    ("SAML_STATUS_NOT_SUCCESS", "The IdP answered with an error status instead of a login.", "Look at the IdP's own log for this user: often the user is not assigned to the application."),
    ("SAML_DESTINATION_MISMATCH", "The response is addressed to another URL than this configuration's ACS.", "Set the IdP's ACS URL to the one on the configuration's View page."),
    ("SAML_ISSUER_MISMATCH", "The response comes from another IdP entity ID than the one in the uploaded metadata.", "Upload the metadata of the IdP that actually signs in these users."),
    ("SAML_CONDITIONS_MISSING", "The assertion has no Conditions, so it names no audience or validity period; SAML Web SSO requires both.", "Check the IdP's SAML application: it must send Conditions with an AudienceRestriction naming the Entity ID on the configuration's View page."),
    ("SAML_AUDIENCE_MISMATCH", "The assertion is meant for another service provider (its Audience is not our Entity ID).", "Set the IdP's SP Entity ID to the Entity ID on the configuration's View page."),
    ("SAML_SUBJECT_CONFIRMATION_INVALID", "The assertion has no usable bearer subject confirmation.", "Check the IdP's SAML application: it must send a bearer SubjectConfirmation with NotOnOrAfter."),
    ("SAML_RECIPIENT_MISMATCH", "The subject confirmation names another URL than this configuration's ACS.", "Set the IdP's ACS URL to the one on the configuration's View page."),
    ("SAML_ASSERTION_EXPIRED", "The assertion had expired when it arrived.", "Check NTP on the IdP and on this server; raise the clock skew only if the difference is expected."),
    ("SAML_ASSERTION_NOT_YET_VALID", "The assertion is not valid yet: the IdP's clock is ahead of this server's.", "Check NTP on the IdP and on this server; raise the clock skew only if the difference is expected."),
    ("SAML_ISSUE_INSTANT_INVALID", "The response's issue time is too far from this server's clock.", "Check NTP on the IdP and on this server."),
    ("SAML_IN_RESPONSE_TO_UNKNOWN", "The response answers a login request this service never issued.", "Ask the user to start again from the Login URL; if it persists, check that all instances share one database."),
    ("SAML_IN_RESPONSE_TO_USED", "The response answers a login request that was already answered (a back button or a double submit).", "Ask the user to start a new login."),
    ("SAML_IN_RESPONSE_TO_EXPIRED", "The user took longer than allowed at the IdP.", "Ask the user to start a new login."),
    ("SAML_IN_RESPONSE_TO_MISMATCH", "The response and its subject confirmation answer different requests.", "Treat it as an attack attempt, or report the IdP's behaviour to its vendor."),
    ("SAML_UNSOLICITED_NOT_ALLOWED", "An IdP-initiated (tile) login arrived, but IdP-initiated login is off for this configuration.", "Turn on IdP-initiated login on the Edit page, or have users start from the Login URL."),
    ("SAML_ASSERTION_REPLAYED", "This assertion was already used once.", "Ask the user to start a new login; repeated replays from one address suggest an attack."),
    ("SAML_NAMEID_MISSING", "The assertion does not name the user.", "Configure the IdP to send a NameID in the emailAddress format."),
    ("SAML_EMAIL_MISSING", "Neither the NameID nor the configured email attribute holds an email address.", "Send the user's email as the NameID (emailAddress format) or in the attribute named on the Edit page."),
    ("SAML_NAMEID_EMAIL_MISMATCH", "The NameID and the email attribute name different people.", "Map the same source field to both in the IdP's SAML application."),
    ("SSO_TOO_MANY_PENDING_LOGINS", "More sign-ins were started from one client address (or for this configuration) than are allowed to wait for the IdP's answer at once; new ones are refused until some finish or expire (10 minutes).", "Look for a client flooding the Login URL; behind a reverse proxy every user shares the proxy's address, so raise the cap or put the proxy's rate limiting in front."),
    ("SSO_NOT_FOUND", "The login went to an SSO ID that does not exist.", "Check the SSO ID in the IdP's Login URL, ACS and Entity ID against the View page."),
    ("SSO_DEACTIVATED", "The configuration is turned off: its Login URL and ACS refuse every sign-in.", "Turn it on again on the configuration's page (or spconnect sso activate), or remove the application at the IdP."),
    ("SSO_IDP_CERTIFICATE_EXPIRED", "Every signing certificate in the IdP's metadata has expired, so no response from it is trusted.", "Download the IdP's current metadata (with its new signing certificate) and upload it on the configuration's Edit page, or import it by URL so it stays current."),
    ("SSO_IDP_CERTIFICATE_NOT_YET_VALID", "No signing certificate in the IdP's metadata is valid yet (its notBefore is in the future), so no response from it is trusted.", "Check this host's clock (NTP); if it is right, the IdP published a certificate before its start date: upload metadata with the certificate in use now."),
    ("SSO_IDP_NOT_CONFIGURED", "The configuration has no IdP metadata yet.", "Upload the IdP's metadata on the configuration's Edit page."),
    ("USER_NOT_PROVISIONED", "The user is unknown and Just-In-Time provisioning is off.", "Provision the user over SCIM or turn JIT on for the configuration."),
    ("USER_LOCKED", "The user is locked.", "Unlock the user on the Users page (or re-activate them in the IdP if SCIM manages them)."),
    ("USER_OUTSIDE_SSO_NODE", "The user belongs to a node that is neither this configuration's node nor below it.", "Sign the user in through the SSO configuration of their own node, or move the user to this node."),
    ("USER_DOMAIN_NOT_ALLOWED", "The user's email is outside the configuration's enterprise domain.", "Fix the user's email in the IdP, or allow other domains for this configuration."),
    ("ADMIN_SSO_SIGNIN_OFF", "Someone tried to sign in to the console through a configuration that does not allow console sign-in.", "Turn on \"Console sign-in\" on the configuration's Edit page, or sign in with the local admin password."),
    ("ADMIN_NOT_FOUND", "The IdP signed in an email that has no console admin account.", "Create the admin with spconnect admin create --email (or sign in as an existing admin and add them); the IdP account's email must match."),
    ("INTERNAL_ERROR", "spconnect failed on its side.", "Look for the request ID in the server log."),
    ("SLO_LOGOUT", "A Single Logout completed (the detail says whether the IdP answered our LogoutRequest or asked us to end sessions, and how many).", "Nothing to do; this is a record, not a failure."),
    ("SLO_MESSAGE_MISSING", "Something reached the SLO endpoint without a SAMLRequest or SAMLResponse.", "Check that the IdP's Single Logout URL for this application is the SLO URL on the configuration's View page."),
    ("SLO_MESSAGE_TOO_LARGE", "The logout message (or its inflated XML) is larger than spconnect reads.", "A real logout message is a few KB; treat a large one as an attack attempt (a deflate bomb) and check the client address."),
    ("SLO_MESSAGE_MALFORMED", "The logout message could not be read (not base64, does not inflate, not well-formed XML, a DTD, the wrong message type, or no plain NameID).", "Check the IdP's Single Logout settings (HTTP-Redirect or HTTP-POST binding, unencrypted NameID); capture the message from the browser's developer tools."),
    ("SLO_UNSIGNED", "The logout message is not signed. spconnect acts only on signed logout messages, so nobody can sign users out (or fake the IdP's answer) with a crafted link.", "Turn on signing of logout requests and responses in the IdP's SAML application."),
    ("SLO_SIGNATURE_INVALID", "The logout message's signature does not verify with the IdP certificates from its metadata (or uses a forbidden algorithm, or does not cover the message read).", "If the IdP rotated its signing certificate, re-upload its current metadata on the Edit page; otherwise treat it as an attack attempt."),
    ("SLO_DESTINATION_MISMATCH", "The logout message is addressed to another URL than this configuration's SLO endpoint (or names none).", "Set the IdP's Single Logout URL to the SLO URL on the configuration's View page."),
    ("SLO_ISSUER_MISMATCH", "The logout message comes from another entity ID than the IdP in the uploaded metadata.", "Upload the metadata of the IdP that actually sends the logout messages."),
    ("SLO_UNKNOWN_IN_RESPONSE_TO", "The LogoutResponse answers no LogoutRequest that this configuration sent.", "Start the sign-out again from the vault; a LogoutResponse cannot be replayed or sent on its own."),
    ("SLO_REPLAYED", "This logout message was already used (each LogoutRequest ID, and each answer to ours, is accepted once on every instance).", "A browser going back and resubmitting does this harmlessly; otherwise treat it as a replay attempt."),
    ("SLO_EXPIRED", "The logout message is outside its validity period (IssueInstant too old or in the future, NotOnOrAfter passed, or it answers an expired LogoutRequest).", "Check that both clocks are synchronised (NTP); raise the configuration's clock skew allowance if they cannot be."),
    ("SLO_STATUS_NOT_SUCCESS", "The IdP answered our LogoutRequest with an error status: the vault session is closed, the IdP session may not be.", "Look at the IdP's own log; some IdPs need Single Logout switched on in the application before they accept LogoutRequests."),
    ("SLO_NOT_CONFIGURED", "A logout message arrived for a configuration whose IdP metadata is not uploaded (or its certificates do not parse).", "Upload the IdP's metadata on the configuration's Edit page."),
    (
        "DATABASE_UNAVAILABLE",
        "spconnect could not reach its database (stopped, restarting, unreachable, or every connection busy).",
        "Check that the database is up and reachable from this instance (/readyz says so); sign-ins resume by themselves once it answers.",
    ),
];

/// The explanation of a code; an unknown code still gets a sentence rather than nothing.
pub fn explain(code: &str, detail: Option<&str>, at: i64) -> Help {
    let Some((_, meaning, fix)) = TABLE.iter().find(|(c, _, _)| *c == code) else {
        return Help {
            meaning: "No explanation is recorded for this code.".into(),
            fix: "Look for the request ID in the server log.",
        };
    };
    let meaning = match (code, detail.and_then(timestamp_in)) {
        ("SAML_ASSERTION_NOT_YET_VALID", Some(t)) => {
            format!("The IdP's clock is about {} seconds ahead of this server's: the assertion is not valid before {t}.", (t.timestamp() - at).max(0))
        }
        ("SAML_ASSERTION_EXPIRED", Some(t)) => format!(
            "The assertion expired {} seconds before it arrived (at {t}): the IdP's clock is behind, or the login took too long.",
            (at - t.timestamp()).max(0)
        ),
        _ => meaning.to_string(),
    };
    Help { meaning, fix }
}

/// All codes, for the console's reference list.
pub fn all() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    TABLE.iter().copied()
}

fn timestamp_in(detail: &str) -> Option<DateTime<Utc>> {
    detail
        .split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '(' || c == ')')
        .find_map(|w| DateTime::parse_from_rfc3339(w).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::LoginError;
    use crate::saml::Rejection;

    #[test]
    fn every_reason_code_has_an_explanation() {
        let s = || String::new();
        let rejections = [
            Rejection::Missing,
            Rejection::TooLarge { limit: 1 },
            Rejection::Base64,
            Rejection::Malformed(s()),
            Rejection::Dtd,
            Rejection::ProcessingInstruction,
            Rejection::Comment,
            Rejection::TooComplex(s()),
            Rejection::NotAResponse(s()),
            Rejection::AssertionCount(2),
            Rejection::DuplicateId(s()),
            Rejection::ReferenceForbidden(s()),
            Rejection::TransformForbidden(s()),
            Rejection::SignatureObjectForbidden,
            Rejection::AlgorithmForbidden(s()),
            Rejection::Unsigned,
            Rejection::SignatureInvalid,
            Rejection::AssertionNotSigned,
            Rejection::DecryptionFailed(s()),
            Rejection::EncryptionPolicy("x"),
            Rejection::RequestNotFromThisBrowser,
            Rejection::TooManyAttributes(s()),
            Rejection::StatusNotSuccess(s()),
            Rejection::DestinationMismatch { expected: s(), found: s() },
            Rejection::IssuerMismatch { expected: s(), found: s() },
            Rejection::ConditionsMissing,
            Rejection::AudienceMismatch { expected: s(), found: vec![] },
            Rejection::SubjectConfirmation(s()),
            Rejection::RecipientMismatch { expected: s(), found: s() },
            Rejection::Expired(s()),
            Rejection::NotYetValid(s()),
            Rejection::IssueInstant(s()),
            Rejection::InResponseToUnknown(s()),
            Rejection::InResponseToUsed(s()),
            Rejection::InResponseToExpired(s()),
            Rejection::InResponseToMismatch,
            Rejection::UnsolicitedNotAllowed,
            Rejection::Replayed(s()),
            Rejection::NameIdMissing,
            Rejection::EmailMissing,
            Rejection::NameIdEmailMismatch { name_id: s(), attribute: s() },
        ];
        let others = [
            LoginError::UnknownSso,
            LoginError::IdpNotConfigured,
            LoginError::Deactivated,
            LoginError::IdpCertificatesExpired(s()),
            LoginError::IdpCertificatesNotYetValid(s()),
            LoginError::NotProvisioned(s()),
            LoginError::Locked(s()),
            LoginError::DomainNotAllowed(s()),
            LoginError::OutsideNode(s()),
            LoginError::TooManyPending,
            LoginError::AdminSigninOff,
            LoginError::NotAnAdmin(s()),
            LoginError::Internal(s()),
        ];
        use crate::saml::logout::SloRefusal;
        let slo = [
            SloRefusal::Missing,
            SloRefusal::TooLarge(s()),
            SloRefusal::Malformed(s()),
            SloRefusal::Unsigned,
            SloRefusal::SignatureInvalid(s()),
            SloRefusal::DestinationMismatch { expected: s(), found: s() },
            SloRefusal::IssuerMismatch { expected: s(), found: s() },
            SloRefusal::UnknownInResponseTo(s()),
            SloRefusal::Replayed(s()),
            SloRefusal::Expired(s()),
            SloRefusal::StatusNotSuccess(s()),
            SloRefusal::NotConfigured("x"),
        ];
        let codes = rejections
            .iter()
            .map(Rejection::code)
            .chain(others.iter().map(LoginError::code))
            .chain(slo.iter().map(SloRefusal::code))
            .chain(["SLO_LOGOUT"]);
        for code in codes {
            assert!(TABLE.iter().any(|(c, _, _)| *c == code), "{code} has no explanation in reason_help");
        }
    }

    #[test]
    fn clock_skew_is_worked_out_in_seconds() {
        let detail = "the assertion is not valid before 2026-01-01T00:05:00Z (clock skew allowance included)";
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("time").timestamp();
        let help = explain("SAML_ASSERTION_NOT_YET_VALID", Some(detail), at);
        assert!(help.meaning.contains("300 seconds ahead"), "{}", help.meaning);
        assert!(help.fix.contains("NTP"));
        assert!(explain("SAML_SIGNATURE_INVALID", None, 0).fix.contains("re-upload"));
    }
}
