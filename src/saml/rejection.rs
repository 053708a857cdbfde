//! Why a SAML message was refused. Every variant has a stable reason code: tests, the error
//! page, the log and the admin's failure list all speak in these codes, so the wording of the
//! messages may change but a code never does.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("no SAMLResponse was posted")]
    Missing,
    #[error("the SAMLResponse is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the SAMLResponse is not valid base64")]
    Base64,
    #[error("the XML is not well-formed: {0}")]
    Malformed(String),
    #[error("the XML carries a DOCTYPE or entity declaration")]
    Dtd,
    #[error("the XML carries a processing instruction")]
    ProcessingInstruction,
    #[error("the XML carries a comment inside the message")]
    Comment,
    #[error("the XML is too deep or too large: {0}")]
    TooComplex(String),
    #[error("the document is not a single samlp:Response: {0}")]
    NotAResponse(String),
    #[error("the Response carries {0} assertions; exactly one is required")]
    AssertionCount(usize),
    #[error("duplicate or invalid ID attribute {0:?}")]
    DuplicateId(String),
    #[error("a ds:Reference points outside the document or to no element: {0:?}")]
    ReferenceForbidden(String),
    #[error("a signature uses a forbidden transform: {0}")]
    TransformForbidden(String),
    #[error("a signature carries ds:Object or ds:Manifest")]
    SignatureObjectForbidden,
    #[error("a signature uses a forbidden algorithm: {0}")]
    AlgorithmForbidden(String),
    #[error("neither the Response nor the Assertion is signed")]
    Unsigned,
    #[error("the signature does not verify against the IdP's certificates")]
    SignatureInvalid,
    #[error("the assertion consumed is not covered by a verified signature")]
    AssertionNotSigned,
    #[error("the encrypted assertion could not be decrypted: {0}")]
    DecryptionFailed(String),
    #[error("the encrypted assertion is refused by this configuration's encryption policy: {0}")]
    EncryptionPolicy(&'static str),
    #[error("the response answers a login that this browser did not start")]
    RequestNotFromThisBrowser,
    #[error("the assertion carries too many or too long attributes: {0}")]
    TooManyAttributes(String),
    #[error("the Response status is {0}")]
    StatusNotSuccess(String),
    #[error("Destination {found:?} is not our ACS {expected:?}")]
    DestinationMismatch { expected: String, found: String },
    #[error("Issuer {found:?} is not the IdP {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the assertion has no <Conditions> (Web SSO requires one, with an AudienceRestriction naming us)")]
    ConditionsMissing,
    #[error("the assertion is not addressed to our entity ID {expected:?} (audiences: {found:?})")]
    AudienceMismatch { expected: String, found: Vec<String> },
    #[error("no bearer SubjectConfirmation with NotOnOrAfter: {0}")]
    SubjectConfirmation(String),
    #[error("Recipient {found:?} is not our ACS {expected:?}")]
    RecipientMismatch { expected: String, found: String },
    #[error("the assertion expired at {0} (clock skew allowance included)")]
    Expired(String),
    #[error("the assertion is not valid before {0} (clock skew allowance included)")]
    NotYetValid(String),
    #[error("IssueInstant {0} is outside the allowed window")]
    IssueInstant(String),
    #[error("InResponseTo {0:?} is not a request this service issued")]
    InResponseToUnknown(String),
    #[error("InResponseTo {0:?} was already answered")]
    InResponseToUsed(String),
    #[error("InResponseTo {0:?} refers to an expired request")]
    InResponseToExpired(String),
    #[error("InResponseTo values disagree between Response and SubjectConfirmationData")]
    InResponseToMismatch,
    #[error("unsolicited (IdP-initiated) responses are not allowed for this configuration")]
    UnsolicitedNotAllowed,
    #[error("assertion {0:?} was already used")]
    Replayed(String),
    #[error("the assertion has no NameID")]
    NameIdMissing,
    #[error("the assertion carries no email (NameID or Email attribute)")]
    EmailMissing,
    #[error("the Email attribute {attribute:?} differs from the NameID {name_id:?}")]
    NameIdEmailMismatch { name_id: String, attribute: String },
}

impl Rejection {
    /// The stable reason code shown to users and admins.
    pub fn code(&self) -> &'static str {
        use Rejection::*;
        match self {
            Missing => "SAML_RESPONSE_MISSING",
            TooLarge { .. } => "SAML_RESPONSE_TOO_LARGE",
            Base64 => "SAML_BASE64_INVALID",
            Malformed(_) => "SAML_XML_MALFORMED",
            Dtd => "SAML_XML_DTD_FORBIDDEN",
            ProcessingInstruction => "SAML_XML_PI_FORBIDDEN",
            TooComplex(_) => "SAML_XML_TOO_COMPLEX",
            Comment => "SAML_XML_COMMENT_FORBIDDEN",
            NotAResponse(_) => "SAML_NOT_A_RESPONSE",
            AssertionCount(_) => "SAML_ASSERTION_COUNT",
            DuplicateId(_) => "SAML_DUPLICATE_ID",
            ReferenceForbidden(_) => "SAML_REFERENCE_FORBIDDEN",
            TransformForbidden(_) => "SAML_TRANSFORM_FORBIDDEN",
            SignatureObjectForbidden => "SAML_SIGNATURE_OBJECT_FORBIDDEN",
            AlgorithmForbidden(_) => "SAML_ALGORITHM_FORBIDDEN",
            Unsigned => "SAML_UNSIGNED",
            SignatureInvalid => "SAML_SIGNATURE_INVALID",
            AssertionNotSigned => "SAML_ASSERTION_NOT_SIGNED",
            DecryptionFailed(_) => "SAML_DECRYPTION_FAILED",
            EncryptionPolicy(_) => "SAML_ENCRYPTION_POLICY",
            RequestNotFromThisBrowser => "SAML_REQUEST_NOT_FROM_THIS_BROWSER",
            TooManyAttributes(_) => "SAML_TOO_MANY_ATTRIBUTES",
            StatusNotSuccess(_) => "SAML_STATUS_NOT_SUCCESS",
            DestinationMismatch { .. } => "SAML_DESTINATION_MISMATCH",
            IssuerMismatch { .. } => "SAML_ISSUER_MISMATCH",
            ConditionsMissing => "SAML_CONDITIONS_MISSING",
            AudienceMismatch { .. } => "SAML_AUDIENCE_MISMATCH",
            SubjectConfirmation(_) => "SAML_SUBJECT_CONFIRMATION_INVALID",
            RecipientMismatch { .. } => "SAML_RECIPIENT_MISMATCH",
            Expired(_) => "SAML_ASSERTION_EXPIRED",
            NotYetValid(_) => "SAML_ASSERTION_NOT_YET_VALID",
            IssueInstant(_) => "SAML_ISSUE_INSTANT_INVALID",
            InResponseToUnknown(_) => "SAML_IN_RESPONSE_TO_UNKNOWN",
            InResponseToUsed(_) => "SAML_IN_RESPONSE_TO_USED",
            InResponseToExpired(_) => "SAML_IN_RESPONSE_TO_EXPIRED",
            InResponseToMismatch => "SAML_IN_RESPONSE_TO_MISMATCH",
            UnsolicitedNotAllowed => "SAML_UNSOLICITED_NOT_ALLOWED",
            Replayed(_) => "SAML_ASSERTION_REPLAYED",
            NameIdMissing => "SAML_NAMEID_MISSING",
            EmailMissing => "SAML_EMAIL_MISSING",
            NameIdEmailMismatch { .. } => "SAML_NAMEID_EMAIL_MISMATCH",
        }
    }

    /// Input that could not even be read as a SAML message is a client error (400); everything
    /// after that is an authentication refusal (403).
    pub fn is_malformed_input(&self) -> bool {
        use Rejection::*;
        matches!(
            self,
            Missing
                | Base64
                | Malformed(_)
                | Dtd
                | ProcessingInstruction
                | Comment
                | TooComplex(_)
                | NotAResponse(_)
                | TooManyAttributes(_)
        )
    }
}
