//! The one place errors become HTTP. Users see a reason code, a plain sentence and the request
//! id; the detail (never the posted XML) goes to the log, which the caller already wrote.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::templates::{render, ErrorPage};
use crate::login::LoginError;
use crate::saml::Rejection;

#[derive(Debug)]
pub enum WebError {
    Login {
        err: LoginError,
        request_id: String,
    },
    NotFound {
        request_id: String,
    },
    /// The address exists, but not for this method (a GET on the ACS, a POST on a page).
    MethodNotAllowed {
        request_id: String,
    },
    NotSupported {
        what: &'static str,
        request_id: String,
    },
    /// The request body did not arrive (in time).
    BodyIncomplete {
        request_id: String,
    },
    /// The unsolicited-login continuation is missing, used or expired.
    ContinuationExpired {
        request_id: String,
    },
    /// A Single Logout message refused (or failed).
    Slo {
        err: crate::logout::SloError,
        request_id: String,
    },
    Internal {
        request_id: String,
    },
    /// The database did not answer: a temporary condition, said as such.
    Unavailable {
        request_id: String,
    },
}

impl WebError {
    /// A store failure as the browser should see it: "try again" while the database is down,
    /// else an internal error.
    pub fn from_store(e: &crate::store::StoreError, request_id: &str) -> WebError {
        let request_id = request_id.to_string();
        if e.is_unavailable() {
            WebError::Unavailable { request_id }
        } else {
            WebError::Internal { request_id }
        }
    }
}

impl WebError {
    fn parts(&self) -> (StatusCode, &'static str, String, &str) {
        match self {
            WebError::Login { err, request_id } => {
                let status = match err {
                    LoginError::Rejected(Rejection::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
                    LoginError::Rejected(r) if r.is_malformed_input() => StatusCode::BAD_REQUEST,
                    LoginError::Rejected(_)
                    | LoginError::NotProvisioned(_)
                    | LoginError::Locked(_)
                    | LoginError::DomainNotAllowed(_)
                    | LoginError::OutsideNode(_)
                    | LoginError::AdminSigninOff
                    | LoginError::NotAnAdmin(_) => StatusCode::FORBIDDEN,
                    LoginError::UnknownSso => StatusCode::NOT_FOUND,
                    LoginError::IdpNotConfigured | LoginError::Deactivated => StatusCode::CONFLICT,
                    LoginError::IdpCertificatesExpired(_) | LoginError::IdpCertificatesNotYetValid(_) => {
                        StatusCode::FORBIDDEN
                    }
                    LoginError::TooManyPending => StatusCode::TOO_MANY_REQUESTS,
                    LoginError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
                    LoginError::Store(_) | LoginError::Keys(_) | LoginError::Internal(_) => {
                        StatusCode::INTERNAL_SERVER_ERROR
                    }
                };
                (status, err.code(), user_message(err), request_id)
            }
            WebError::Slo { err, request_id } => {
                use crate::logout::SloError;
                let status = match err {
                    SloError::Refused(r) if r.is_malformed_input() => StatusCode::BAD_REQUEST,
                    SloError::Refused(crate::saml::logout::SloRefusal::NotConfigured(_)) => StatusCode::CONFLICT,
                    SloError::Refused(_) => StatusCode::FORBIDDEN,
                    SloError::UnknownSso => StatusCode::NOT_FOUND,
                    SloError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
                    SloError::Store(_) | SloError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                };
                let message = match err {
                    SloError::Refused(_) => "The sign-out message from your identity provider was refused.",
                    SloError::UnknownSso => "This sign-out link does not belong to any SSO configuration.",
                    _ => "Something went wrong on our side. Your administrator can find the details in the log.",
                };
                (status, err.code(), message.into(), request_id)
            }
            WebError::NotFound { request_id } => (
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "There is nothing at this address. Check the link, or start again from your identity provider or the \
                 sign-in page."
                    .into(),
                request_id,
            ),
            WebError::MethodNotAllowed { request_id } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "This address does not answer this kind of request. If a bookmark or the Back button brought you \
                 here, start again from your identity provider or the sign-in page."
                    .into(),
                request_id,
            ),
            WebError::NotSupported { what, request_id } => {
                (StatusCode::NOT_IMPLEMENTED, "NOT_SUPPORTED", format!("{what} is not supported yet."), request_id)
            }
            WebError::BodyIncomplete { request_id } => (
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_BODY_INCOMPLETE",
                "The sign-in message did not arrive completely. Try signing in again.".into(),
                request_id,
            ),
            WebError::ContinuationExpired { request_id } => (
                StatusCode::BAD_REQUEST,
                "LOGIN_CONTINUATION_EXPIRED",
                "This sign-in has expired or was already used. Start again from your identity provider or the Login URL.".into(),
                request_id,
            ),
            WebError::Unavailable { request_id } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "DATABASE_UNAVAILABLE",
                "This service is unavailable for a moment (it cannot reach its database). Try again in a minute.".into(),
                request_id,
            ),
            WebError::Internal { request_id } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "Something went wrong on our side. Your administrator can find the details in the log.".into(),
                request_id,
            ),
        }
    }
}

/// What the person in front of the browser is told. Deliberately short: the reason code and
/// request id let the admin find the rest.
fn user_message(err: &LoginError) -> String {
    match err {
        LoginError::NotProvisioned(_) => "Your account has not been set up for this service yet. Ask your administrator to provision it.".into(),
        LoginError::Locked(_) => "Your account is locked. Contact your administrator.".into(),
        LoginError::DomainNotAllowed(_) => "Your email address is not part of this organisation's enterprise domain.".into(),
        LoginError::OutsideNode(_) => "Your account belongs to another part of the organisation, which signs in through a different SSO configuration.".into(),
        LoginError::AdminSigninOff => "Signing in to the console through this identity provider is turned off. Sign in with your admin email and password.".into(),
        LoginError::NotAnAdmin(_) => "Your identity provider signed you in, but your email has no console admin account. Ask another admin to create one, or sign in with your password.".into(),
        LoginError::TooManyPending => "Too many sign-ins were started from your network without finishing. Wait a few minutes and try again.".into(),
        LoginError::UnknownSso => "This sign-in link does not belong to any SSO configuration.".into(),
        LoginError::Deactivated => "This sign-in method is turned off. Your administrator has deactivated single sign-on through this identity provider.".into(),
        LoginError::IdpCertificatesNotYetValid(_) => "The identity provider's signing certificate is not valid yet, so its sign-in messages cannot be trusted yet. Try again later, or ask your administrator.".into(),
        LoginError::IdpCertificatesExpired(_) => "The identity provider's signing certificate has expired, so its sign-in messages can no longer be trusted. Your administrator must upload its current metadata.".into(),
        LoginError::IdpNotConfigured => "Single sign-on is not finished for this configuration: the identity provider's metadata has not been uploaded.".into(),
        LoginError::Rejected(r) if r.is_malformed_input() => "The sign-in message from your identity provider could not be read.".into(),
        LoginError::Rejected(Rejection::Expired(_) | Rejection::NotYetValid(_) | Rejection::IssueInstant(_)) => {
            "The sign-in message from your identity provider is outside its validity period. Try signing in again; if it keeps happening, the clocks of the two systems may disagree.".into()
        }
        LoginError::Rejected(Rejection::Replayed(_) | Rejection::InResponseToUsed(_)) => {
            "This sign-in message was already used. Start a new sign-in.".into()
        }
        LoginError::Rejected(_) => "The sign-in message from your identity provider was refused.".into(),
        LoginError::Store(e) if e.is_unavailable() => {
            "Sign-in is unavailable for a moment (spconnect cannot reach its database). Try again in a minute.".into()
        }
        LoginError::Store(_) | LoginError::Keys(_) | LoginError::Internal(_) => {
            "Something went wrong on our side. Your administrator can find the details in the log.".into()
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, code, message, request_id) = self.parts();
        let page = ErrorPage { code, message: &message, request_id, status: status.as_u16() };
        (status, Html(render(&page))).into_response()
    }
}
