//! The one place SCIM refusals become HTTP: RFC 7644 §3.12 error bodies, never HTML.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::scim::{ScimError, ERROR_URN};

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

pub fn status_of(err: &ScimError) -> StatusCode {
    match err {
        ScimError::InvalidSyntax(_)
        | ScimError::InvalidFilter(_)
        | ScimError::InvalidValue(_)
        | ScimError::InvalidPath(_)
        | ScimError::NoTarget(_)
        | ScimError::Mutability(_) => StatusCode::BAD_REQUEST,
        ScimError::Uniqueness(_) => StatusCode::CONFLICT,
        ScimError::NotFound(_) => StatusCode::NOT_FOUND,
        ScimError::Unauthorized => StatusCode::UNAUTHORIZED,
        ScimError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        ScimError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ScimError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ScimError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        // Keeper answers 428 when the licensed seats are used up.
        ScimError::SeatLimit(_) => StatusCode::PRECONDITION_REQUIRED,
        ScimError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        ScimError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A JSON body with the SCIM media type.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    res
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = status_of(&self);
        let retry_after = match &self {
            ScimError::TooManyRequests(secs) => Some(*secs),
            _ => None,
        };
        // Storage detail stays in the log (written by the caller); the client learns nothing.
        let mut body =
            json!({"schemas": [ERROR_URN], "status": status.as_u16().to_string(), "detail": self.to_string()});
        if let Some(t) = self.scim_type() {
            body["scimType"] = json!(t);
        }
        let mut res = scim_json(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"spconnect-scim\""));
        }
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
