//! /api/rest/scim/v2/{node_id}/…: the SCIM 2.0 server (Users, Groups, discovery). Handlers only
//! authenticate, read the body, call `scim::service` and record the audit event; Keeper's rules
//! are in `scim/`. Bodies are capped at `MAX_BODY_BYTES` on these routes: past it the rest of the
//! body is read and thrown away (up to `DRAIN_MAX_BYTES`) so that the client reads a 413 SCIM
//! error instead of a reset connection. Refused bearer tokens are counted per client address
//! (`scim::throttle`): past the limit the answer is 429 without checking the token.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, RawPathParams, RawQuery, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Router};
use serde_json::Value;

use super::parse_id;
use crate::scim::resources::{self, Projection};
use crate::scim::service::{events, Audit, ListQuery, Scim, MAX_COUNT};
use crate::scim::throttle::{Counted, TokenThrottle};
use crate::scim::{clip, tokens, ScimError, MAX_BODY_BYTES, SCIM_PREFIX};
use crate::services::Services;
use crate::store::NewProvisioningEvent;
use crate::web::request_id::RequestId;
use crate::web::scim_error::scim_json;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    let inner = Router::new()
        .route("/{node_id}/ServiceProviderConfig", get(service_provider_config).fallback(not_allowed))
        .route("/{node_id}/ResourceTypes", get(resource_types).fallback(not_allowed))
        .route("/{node_id}/ResourceTypes/{id}", get(resource_type).fallback(not_allowed))
        .route("/{node_id}/Schemas", get(schemas).fallback(not_allowed))
        .route("/{node_id}/Schemas/{id}", get(schema).fallback(not_allowed))
        .route("/{node_id}/Users", get(list_users).post(create_user).fallback(not_allowed))
        .route(
            "/{node_id}/Users/{id}",
            get(get_user).put(replace_user).patch(patch_user).delete(delete_user).fallback(not_allowed),
        )
        .route("/{node_id}/Groups", get(list_groups).post(create_group).fallback(not_allowed))
        .route(
            "/{node_id}/Groups/{id}",
            get(get_group).put(replace_group).patch(patch_group).delete(delete_group).fallback(not_allowed),
        )
        .route(
            "/{node_id}/.search",
            any(|| async { ScimError::NotImplemented("searching across resource types is not supported".into()) }),
        )
        .route(
            "/{node_id}/Bulk",
            any(|| async { ScimError::NotImplemented("bulk operations are not supported".into()) }),
        )
        .fallback(|| async { ScimError::NotFound("no such SCIM endpoint".into()) })
        .layer(Extension(Arc::new(TokenThrottle::default())))
        .layer(axum::middleware::from_fn(count_request));
    Router::new().nest(SCIM_PREFIX, inner)
}

/// Count every SCIM request by resource, operation and status (`spconnect_scim_requests_total`).
async fn count_request(req: Request, next: axum::middleware::Next) -> Response {
    let template = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    let (resource, has_id) = scim_resource(template.as_deref());
    let operation = match (req.method().clone(), has_id) {
        (Method::GET, false) => "list",
        (Method::GET, true) => "get",
        (Method::POST, _) => "create",
        (Method::PUT, _) => "replace",
        (Method::PATCH, _) => "patch",
        (Method::DELETE, _) => "delete",
        _ => "other",
    };
    let res = next.run(req).await;
    crate::metrics::scim_request(resource, operation, res.status().as_u16());
    res
}

/// The resource a matched route template names (`…/{node_id}/Users/{id}` → `Users`, with an id),
/// from a fixed list: metric labels never hold what the client typed.
fn scim_resource(template: Option<&str>) -> (&'static str, bool) {
    let Some(template) = template else { return ("unmatched", false) };
    let mut rest = template.split("/{node_id}/").nth(1).unwrap_or_default().split('/');
    let resource = match rest.next().unwrap_or_default() {
        "Users" => "Users",
        "Groups" => "Groups",
        "ServiceProviderConfig" => "ServiceProviderConfig",
        "ResourceTypes" => "ResourceTypes",
        "Schemas" => "Schemas",
        ".search" => ".search",
        "Bulk" => "Bulk",
        _ => "unmatched",
    };
    (resource, rest.next().is_some())
}

async fn not_allowed() -> ScimError {
    ScimError::MethodNotAllowed
}

/// An authenticated SCIM caller: the node from the URL and a bearer token that matches that
/// node's stored hash. Tokens are never logged.
pub struct ScimCtx {
    svc: Services,
    node_id: i64,
    request_id: String,
    client_addr: Option<String>,
    method: Method,
}

impl FromRequestParts<AppState> for ScimCtx {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, svc: &AppState) -> Result<Self, Self::Rejection> {
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| crate::web::client_addr::client_ip(c.0.ip(), &parts.headers, &svc.settings.trusted_proxies));
        let client_addr = client_ip.map(|ip| ip.to_string());
        let throttle = parts.extensions.get::<Arc<TokenThrottle>>().cloned();
        // Too many refused tokens from this address: answer before looking at the token, the
        // node or the database, and without logging each request again.
        if let (Some(t), Some(ip)) = (&throttle, client_ip) {
            if let Some(secs) = t.blocked(ip, Instant::now()) {
                return Err(ScimError::TooManyRequests(secs));
            }
        }
        let params = RawPathParams::from_request_parts(parts, svc)
            .await
            .map_err(|_| ScimError::NotFound("no such node".into()))?;
        let node_id = params
            .iter()
            .find(|(k, _)| *k == "node_id")
            .and_then(|(_, v)| parse_id(v))
            .ok_or_else(|| ScimError::NotFound("no such node".into()))?;
        let presented =
            parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(tokens::from_authorization);
        let stored = svc.store.scim_token_hash(node_id).await.map_err(ScimError::from)?;
        let ok = matches!((presented, &stored), (Some(p), Some(s)) if tokens::verify(p, s));
        if !ok {
            let why = match (presented, stored) {
                (None, _) => "no bearer token",
                (Some(_), None) => "SCIM is not enabled for this node",
                (Some(_), Some(_)) => "wrong bearer token",
            };
            let path = clip(parts.uri.path(), 200);
            tracing::warn!(%request_id, node_id, client = client_addr.as_deref().unwrap_or("-"), path = path.as_ref(), reason = why, "SCIM request refused: 401");
            if let (Some(t), Some(ip)) = (&throttle, client_ip) {
                if t.record_failure(ip, Instant::now()) == Counted::NowBlocked {
                    tracing::warn!(%request_id, client = client_addr.as_deref().unwrap_or("-"),
                        "too many refused SCIM tokens from this address: answering 429 for a while");
                }
            }
            return Err(ScimError::Unauthorized);
        }
        let _ = svc.store.touch_scim_token(node_id, chrono::Utc::now().timestamp()).await;
        Ok(ScimCtx { svc: svc.clone(), node_id, request_id, client_addr, method: parts.method.clone() })
    }
}

impl ScimCtx {
    fn base(&self) -> String {
        crate::ops::nodes::scim_base_url(&self.svc.settings.public_url, self.node_id)
    }

    fn scim(&self) -> Scim<'_> {
        Scim {
            store: &self.svc.store,
            node_id: self.node_id,
            base: self.base(),
            public_url: &self.svc.settings.public_url,
            now: chrono::Utc::now().timestamp(),
        }
    }

    /// Record the provisioning event, log the call, and answer.
    async fn finish(&self, audit: Audit, result: Result<(StatusCode, Option<Value>), ScimError>) -> Response {
        // Targets and details can carry what the client sent: clipped for the log and the table.
        let (success, reason, detail) = match &result {
            Ok(_) => (true, None, audit.note.as_deref().map(|n| clip(n, 500).into_owned())),
            Err(e) => (false, Some(e.reason()), Some(clip(&e.to_string(), 500).into_owned())),
        };
        let target = audit.target.as_deref().map(|t| clip(t, 256).into_owned());
        if let Err(ScimError::Store(e)) = &result {
            tracing::error!(request_id = %self.request_id, node_id = self.node_id, error = %e, "SCIM call failed in storage");
        }
        tracing::info!(request_id = %self.request_id, node_id = self.node_id, event = audit.event, target = target.as_deref().unwrap_or("-"),
            outcome = if success { "success" } else { "failure" }, reason = reason.unwrap_or("-"), "SCIM");
        let event = NewProvisioningEvent {
            at: chrono::Utc::now().timestamp(),
            node_id: self.node_id,
            event: audit.event,
            method: self.method.as_str(),
            target: target.as_deref(),
            success,
            reason,
            detail: detail.as_deref(),
            request_id: &self.request_id,
            client_addr: self.client_addr.as_deref(),
        };
        if let Err(e) = self.svc.store.record_provisioning_event(&event).await {
            tracing::error!(request_id = %self.request_id, error = %e, "could not record the provisioning event");
        }
        respond(result)
    }
}

fn respond(result: Result<(StatusCode, Option<Value>), ScimError>) -> Response {
    match result {
        Ok((status, Some(v))) => {
            let location = v
                .get("meta")
                .and_then(|m| m.get("location"))
                .and_then(Value::as_str)
                .and_then(|l| HeaderValue::from_str(l).ok());
            let mut res = scim_json(status, &v);
            if let (StatusCode::CREATED, Some(l)) = (status, location) {
                res.headers_mut().insert(header::LOCATION, l);
            }
            res
        }
        Ok((status, None)) => status.into_response(),
        Err(e) => e.into_response(),
    }
}

/// How much of an oversized body is still read (and thrown away) so that the client, which is
/// still sending, reads the 413 instead of a reset; past it the connection is closed.
pub const DRAIN_MAX_BYTES: usize = 16 * 1024 * 1024;
/// How long reading a body (and draining an oversized one) may take in all.
const BODY_DEADLINE: Duration = Duration::from_secs(30);

/// A SCIM request body, read up to `MAX_BODY_BYTES`. Never rejects: handlers turn a failure into
/// a SCIM error (with an audit record) themselves.
pub struct ScimBody {
    bytes: Result<Bytes, ScimError>,
    /// The connection must close after the answer (an oversized body was not read to its end).
    close: bool,
}

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = Infallible;

    async fn from_request(req: Request, _: &S) -> Result<Self, Infallible> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = req.into_body();
        let read = tokio::time::timeout(BODY_DEADLINE, read_limited(body, declared)).await;
        Ok(match read {
            Ok(b) => b,
            Err(_) => ScimBody {
                bytes: Err(ScimError::InvalidSyntax("the request body was not received in time".into())),
                close: true,
            },
        })
    }
}

async fn next_frame(body: &mut Body) -> Option<Result<Bytes, ()>> {
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await? {
            Ok(frame) => match frame.into_data() {
                Ok(data) => return Some(Ok(data)),
                Err(_trailers) => continue,
            },
            Err(_) => return Some(Err(())),
        }
    }
}

async fn read_limited(mut body: Body, declared: Option<u64>) -> ScimBody {
    let too_large = |close| ScimBody { bytes: Err(ScimError::TooLarge(MAX_BODY_BYTES)), close };
    if declared.is_some_and(|n| n > DRAIN_MAX_BYTES as u64) {
        // Not worth reading: answer at once and close.
        return too_large(true);
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = next_frame(&mut body).await {
        let Ok(chunk) = chunk else {
            return ScimBody {
                bytes: Err(ScimError::InvalidSyntax("the request body could not be read".into())),
                close: true,
            };
        };
        total = total.saturating_add(chunk.len());
        if total > DRAIN_MAX_BYTES {
            return too_large(true);
        }
        if total <= MAX_BODY_BYTES {
            buf.extend_from_slice(&chunk);
        } else if !buf.is_empty() {
            buf = Vec::new(); // over the limit: keep reading, keep nothing
        }
    }
    if total > MAX_BODY_BYTES {
        return too_large(false);
    }
    ScimBody { bytes: Ok(Bytes::from(buf)), close: false }
}

impl ScimBody {
    /// `Connection: close` on the answer when the body was not read to its end.
    fn closing(&self, mut res: Response) -> Response {
        if self.close {
            res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// The JSON object of a request body; 413 past the limit, 400 for anything not a JSON object.
fn json_body(body: &ScimBody) -> Result<Value, ScimError> {
    let bytes = match &body.bytes {
        Ok(b) => b,
        Err(ScimError::TooLarge(n)) => return Err(ScimError::TooLarge(*n)),
        Err(e) => return Err(ScimError::InvalidSyntax(e.to_string())),
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ScimError::InvalidSyntax("the request body must be a JSON object".into())),
        Err(e) => Err(ScimError::InvalidSyntax(format!("malformed JSON: {e}"))),
    }
}

fn projection(q: Option<&str>) -> Projection {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    Projection::parse(get("attributes"), get("excludedAttributes"))
}

const OK: StatusCode = StatusCode::OK;

// ---- discovery ---------------------------------------------------------------------------

async fn service_provider_config(ctx: ScimCtx) -> Response {
    scim_json(OK, &resources::service_provider_config(&ctx.base(), MAX_COUNT))
}

async fn resource_types(ctx: ScimCtx) -> Response {
    let all = resources::resource_types(&ctx.base());
    let n = all.len();
    scim_json(OK, &resources::list_response(all, n, 1))
}

async fn resource_type(ctx: ScimCtx, Path((_, id)): Path<(String, String)>) -> Response {
    match resources::resource_types(&ctx.base()).into_iter().find(|r| r["id"] == id.as_str()) {
        Some(r) => scim_json(OK, &r),
        None => ScimError::NotFound(format!("ResourceType {id} not found")).into_response(),
    }
}

async fn schemas(ctx: ScimCtx) -> Response {
    let all = resources::schemas(&ctx.base());
    let n = all.len();
    scim_json(OK, &resources::list_response(all, n, 1))
}

async fn schema(ctx: ScimCtx, Path((_, id)): Path<(String, String)>) -> Response {
    match resources::schemas(&ctx.base())
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&id)))
    {
        Some(s) => scim_json(OK, &s),
        None => ScimError::NotFound(format!("Schema {id} not found")).into_response(),
    }
}

// ---- Users -------------------------------------------------------------------------------

async fn list_users(ctx: ScimCtx, RawQuery(q): RawQuery) -> Response {
    let mut audit = Audit::new(events::USER_LOOKUP);
    let res = match ListQuery::parse(q.as_deref()) {
        Ok(q) => ctx.scim().list_users(&q, &mut audit).await,
        Err(e) => Err(e),
    };
    ctx.finish(audit, res.map(|v| (OK, Some(v)))).await
}

async fn get_user(ctx: ScimCtx, Path((_, id)): Path<(String, String)>, RawQuery(q): RawQuery) -> Response {
    let mut audit = Audit::new(events::USER_LOOKUP);
    let res = ctx.scim().get_user(&id, &projection(q.as_deref()), &mut audit).await;
    ctx.finish(audit, res.map(|v| (OK, Some(v)))).await
}

async fn create_user(ctx: ScimCtx, body: ScimBody) -> Response {
    let mut audit = Audit::new(events::USER_CREATE);
    let res = match json_body(&body) {
        Ok(v) => ctx.scim().create_user(&v, &mut audit).await,
        Err(e) => Err(e),
    };
    body.closing(ctx.finish(audit, res.map(|v| (StatusCode::CREATED, Some(v)))).await)
}

async fn replace_user(ctx: ScimCtx, Path((_, id)): Path<(String, String)>, body: ScimBody) -> Response {
    let mut audit = Audit::new(events::USER_UPDATE);
    let res = match json_body(&body) {
        Ok(v) => ctx.scim().replace_user(&id, &v, &mut audit).await,
        Err(e) => Err(e),
    };
    body.closing(ctx.finish(audit, res.map(|v| (OK, Some(v)))).await)
}

async fn patch_user(ctx: ScimCtx, Path((_, id)): Path<(String, String)>, body: ScimBody) -> Response {
    let mut audit = Audit::new(events::USER_UPDATE);
    let res = match json_body(&body) {
        Ok(v) => ctx.scim().patch_user(&id, &v, &mut audit).await,
        Err(e) => Err(e),
    };
    body.closing(ctx.finish(audit, res.map(|v| (OK, Some(v)))).await)
}

async fn delete_user(ctx: ScimCtx, Path((_, id)): Path<(String, String)>) -> Response {
    let mut audit = Audit::new(events::USER_DELETE);
    let res = ctx.scim().delete_user(&id, &mut audit).await;
    ctx.finish(audit, res.map(|_| (StatusCode::NO_CONTENT, None))).await
}

// ---- Groups ------------------------------------------------------------------------------

async fn list_groups(ctx: ScimCtx, RawQuery(q): RawQuery) -> Response {
    let mut audit = Audit::new(events::GROUP_LOOKUP);
    let res = match ListQuery::parse(q.as_deref()) {
        Ok(q) => ctx.scim().list_groups(&q, &mut audit).await,
        Err(e) => Err(e),
    };
    ctx.finish(audit, res.map(|v| (OK, Some(v)))).await
}

async fn get_group(ctx: ScimCtx, Path((_, id)): Path<(String, String)>, RawQuery(q): RawQuery) -> Response {
    let mut audit = Audit::new(events::GROUP_LOOKUP);
    let res = ctx.scim().get_group(&id, &projection(q.as_deref()), &mut audit).await;
    ctx.finish(audit, res.map(|v| (OK, Some(v)))).await
}

async fn create_group(ctx: ScimCtx, body: ScimBody) -> Response {
    let mut audit = Audit::new(events::GROUP_CREATE);
    let res = match json_body(&body) {
        Ok(v) => ctx.scim().create_group(&v, &mut audit).await,
        Err(e) => Err(e),
    };
    body.closing(ctx.finish(audit, res.map(|v| (StatusCode::CREATED, Some(v)))).await)
}

async fn replace_group(ctx: ScimCtx, Path((_, id)): Path<(String, String)>, body: ScimBody) -> Response {
    let mut audit = Audit::new(events::GROUP_UPDATE);
    let res = match json_body(&body) {
        Ok(v) => ctx.scim().replace_group(&id, &v, &mut audit).await,
        Err(e) => Err(e),
    };
    body.closing(ctx.finish(audit, res.map(|v| (OK, Some(v)))).await)
}

async fn patch_group(ctx: ScimCtx, Path((_, id)): Path<(String, String)>, body: ScimBody) -> Response {
    let mut audit = Audit::new(events::GROUP_UPDATE);
    let res = match json_body(&body) {
        Ok(v) => ctx.scim().patch_group(&id, &v, &mut audit).await,
        Err(e) => Err(e),
    };
    body.closing(ctx.finish(audit, res.map(|v| (OK, Some(v)))).await)
}

async fn delete_group(ctx: ScimCtx, Path((_, id)): Path<(String, String)>) -> Response {
    let mut audit = Audit::new(events::GROUP_DELETE);
    let res = ctx.scim().delete_group(&id, &mut audit).await;
    ctx.finish(audit, res.map(|_| (StatusCode::NO_CONTENT, None))).await
}
