//! SP metadata and certificate: GET on the entity ID (inline) and the two downloads an admin
//! uploads to the IdP ("Export Metadata", "Export SP Cert").

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use super::parse_id;
use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::AppState;

const METADATA_TYPE: &str = "application/samlmetadata+xml";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rest/sso/saml/{sso_id}", get(entity_id))
        .route("/api/rest/sso/saml/{sso_id}/metadata", get(metadata_download))
        .route("/api/rest/sso/saml/{sso_id}/cert", get(cert_download))
}

async fn metadata_xml(svc: &AppState, raw: &str, request_id: &str) -> Result<(i64, String), WebError> {
    let not_found = || WebError::NotFound { request_id: request_id.to_string() };
    let sso_id = parse_id(raw).ok_or_else(not_found)?;
    let config =
        svc.store.get_sso(sso_id).await.map_err(|e| WebError::from_store(&e, request_id))?.ok_or_else(not_found)?;
    let xml = svc.sp_metadata(&config).await.map_err(|e| {
        tracing::error!(%request_id, error = %e, "SP metadata unavailable");
        WebError::Internal { request_id: request_id.to_string() }
    })?;
    Ok((sso_id, xml))
}

async fn entity_id(
    State(svc): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let (_, xml) = metadata_xml(&svc, &raw, &rid).await?;
    Ok(([(header::CONTENT_TYPE, METADATA_TYPE)], xml).into_response())
}

async fn metadata_download(
    State(svc): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let (sso_id, xml) = metadata_xml(&svc, &raw, &rid).await?;
    let disposition = format!("attachment; filename=\"spconnect-{sso_id}-metadata.xml\"");
    Ok(([(header::CONTENT_TYPE, METADATA_TYPE.to_string()), (header::CONTENT_DISPOSITION, disposition)], xml)
        .into_response())
}

async fn cert_download(
    State(svc): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let not_found = || WebError::NotFound { request_id: rid.clone() };
    let sso_id = parse_id(&raw).ok_or_else(not_found)?;
    svc.store.get_sso(sso_id).await.map_err(|e| WebError::from_store(&e, &rid))?.ok_or_else(not_found)?;
    let keys = svc.sp_keys(sso_id).await.map_err(|_| WebError::Internal { request_id: rid.clone() })?;
    let disposition = format!("attachment; filename=\"spconnect-{sso_id}-sp.crt\"");
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        keys.cert_pem.clone(),
    )
        .into_response())
}
