//! /admin/sso: list and create configurations; View (what Keeper's "View" shows, plus a status
//! panel) and its actions. The Edit page is `sso_edit.rs`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, confirmed, now, AdminError, AdminResult, ConfirmForm};
use crate::ops::{self, OpsError};
use crate::store::{IdpSource, SsoConfig, ROOT_NODE_ID};
use crate::web::admin_pages::{fmt_time, KeyRow, NodeChoice, Refusal, SsoListPage, SsoRow, SsoViewPage, StatusLine};
use crate::web::admin_session::CurrentAdmin;
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sso", get(list).post(create))
        .route("/admin/sso/{sso_id}", get(view))
        .route("/admin/sso/{sso_id}/deactivate", post(deactivate))
        .route("/admin/sso/{sso_id}/activate", post(activate))
        .route("/admin/sso/{sso_id}/delete", post(delete))
        .route("/admin/sso/{sso_id}/keys/{step}", post(key_step))
}

/// Which field of a name / enterprise domain / node form (Create, or the Edit page's identity
/// form: the same input ids) a refused operation is about; failures that are not the admin's
/// input stay errors.
pub(super) fn identity_refusal(name: &str, e: OpsError) -> Result<Refusal, AdminError> {
    let field = match &e {
        // The name is checked first, by the same rule the operation applies.
        OpsError::Invalid(_) if ops::display_name(name, "configuration").is_err() => Some("name"),
        // A domain that is not one, or is taken.
        OpsError::Invalid(_) | OpsError::Conflict(_) => Some("domain"),
        // The node chosen is gone.
        OpsError::NotFound(_) => Some("node"),
        _ => None,
    };
    match field {
        Some(field) => Ok(Refusal::at(field, e.to_string())),
        None => Err(e.into()),
    }
}

async fn deactivate(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path(raw): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    confirmed(&form, "yes", "confirm that sign-ins through this configuration stop first")?;
    ops::sso::set_active(&svc, &actor(&admin), c.sso_id, false, now()).await?;
    Ok(Redirect::to(&format!("/admin/sso/{}?notice=deactivated", c.sso_id)).into_response())
}

async fn activate(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path(raw): Path<String>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    ops::sso::set_active(&svc, &actor(&admin), c.sso_id, true, now()).await?;
    Ok(Redirect::to(&format!("/admin/sso/{}?notice=activated", c.sso_id)).into_response())
}

async fn delete(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path(raw): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    confirmed(&form, &c.sso_id.to_string(), "confirm the deletion by typing the SSO ID first")?;
    ops::sso::delete(&svc, &actor(&admin), c.sso_id, now()).await?;
    Ok(Redirect::to("/admin/sso?notice=deleted").into_response())
}

async fn key_step(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path((raw, step)): Path<(String, String)>,
    Form(form): Form<ConfirmForm>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let step = match step.as_str() {
        "rollover" => ops::sso::RolloverStep::Begin,
        "activate" => {
            confirmed(&form, "yes", "confirm that every IdP has re-read the metadata first")?;
            ops::sso::RolloverStep::Activate
        }
        "retire" => {
            confirmed(&form, "yes", "confirm that no IdP encrypts to the old certificate any more first")?;
            ops::sso::RolloverStep::Retire
        }
        _ => return Err(AdminError::NotFound),
    };
    ops::sso::rollover(&svc, &actor(&admin), c.sso_id, step, None, now()).await?;
    Ok(Redirect::to(&format!("/admin/sso/{}?notice=keys#keys-title", c.sso_id)).into_response())
}

pub(super) async fn config(svc: &AppState, raw: &str) -> Result<SsoConfig, AdminError> {
    let sso_id = parse_id(raw).ok_or(AdminError::NotFound)?;
    Ok(ops::sso::get(svc, sso_id).await?)
}

#[derive(Deserialize, Default)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    domain: String,
    node: Option<i64>,
}

async fn list_page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    form: CreateForm,
    refusal: Refusal,
) -> Result<SsoListPage, AdminError> {
    let nodes = svc.store.list_nodes().await?;
    let label = |id: i64| nodes.iter().find(|n| n.node_id == id).map_or_else(|| id.to_string(), |n| n.name.clone());
    let configs = svc
        .store
        .list_sso()
        .await?
        .into_iter()
        .map(|c| SsoRow {
            node: label(c.node_id),
            idp: c.idp_entity_id.unwrap_or_else(|| "no metadata uploaded".into()),
            sso_id: c.sso_id,
            name: c.name,
            domain: c.domain,
            jit: c.jit,
        })
        .collect();
    // Keeper puts SSO beneath the root node, so a child node is the default choice when any exists.
    let default_node =
        form.node.or_else(|| nodes.iter().find(|n| n.parent_id.is_some()).map(|n| n.node_id)).unwrap_or(ROOT_NODE_ID);
    let nodes = nodes
        .iter()
        .map(|n| NodeChoice {
            node_id: n.node_id,
            label: if n.parent_id.is_none() { format!("{} (root)", n.name) } else { n.name.clone() },
            selected: n.node_id == default_node,
        })
        .collect();
    Ok(SsoListPage {
        chrome: chrome(svc, session, admin, "sso").await,
        configs,
        nodes,
        refusal,
        name: form.name,
        domain: form.domain,
    })
}

async fn list(State(svc): State<AppState>, Extension(admin): Extension<CurrentAdmin>, session: Session) -> AdminResult {
    let page = list_page(&svc, &session, &admin, CreateForm::default(), Refusal::default()).await?;
    Ok(Html(render(&page)).into_response())
}

async fn create(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Form(form): Form<CreateForm>,
) -> AdminResult {
    let node_id = form.node.unwrap_or(ROOT_NODE_ID);
    let new = ops::sso::NewSso { name: &form.name, domain: &form.domain, node_id };
    match ops::sso::create(&svc, &actor(&admin), new, now()).await {
        Ok(config) => Ok(Redirect::to(&format!("/admin/sso/{}?notice=created", config.sso_id)).into_response()),
        // The form comes back filled in, the field at fault marked.
        Err(e) => {
            let refusal = identity_refusal(&form.name, e)?;
            let form = CreateForm { name: form.name, domain: form.domain, node: Some(node_id) };
            let page = list_page(&svc, &session, &admin, form, refusal).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&page))).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
}

fn expiry_line(label: &'static str, not_after: Option<DateTime<Utc>>, at: DateTime<Utc>) -> StatusLine {
    match not_after {
        None => StatusLine { label, value: "none".into(), warn: label.starts_with("IdP") },
        Some(t) => {
            let days = (t - at).num_days();
            let value = match days {
                d if t <= at => format!("{} (expired {} days ago)", t.format("%Y-%m-%d"), -d),
                d => format!("{} ({d} days left)", t.format("%Y-%m-%d")),
            };
            StatusLine { label, value, warn: days < ops::sso::EXPIRY_WARNING_DAYS }
        }
    }
}

async fn view(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> AdminResult {
    let sso_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    let ops::sso::SsoStatus {
        config: c,
        idp_cert_expires,
        sp_cert_expires,
        last_success,
        last_failure,
        jit_while_scim,
    } = ops::sso::status(&svc, sso_id).await?;
    let urls = svc.urls(c.sso_id);
    let at = Utc::now();
    let mut status = vec![
        StatusLine {
            label: "IdP entity ID",
            warn: c.idp_entity_id.is_none(),
            value: c.idp_entity_id.clone().unwrap_or_else(|| "no IdP metadata uploaded yet".into()),
        },
        StatusLine { label: "IdP metadata uploaded", value: fmt_time(c.idp_imported_at), warn: false },
        expiry_line("IdP signing certificate expires", idp_cert_expires, at),
        expiry_line("SP certificate expires", sp_cert_expires, at),
        StatusLine {
            label: "Last successful login",
            value: last_success
                .map(|e| format!("{} ({})", fmt_time(Some(e.at)), e.email.unwrap_or_default()))
                .unwrap_or_else(|| "never".into()),
            warn: false,
        },
        StatusLine {
            label: "Last failed login",
            value: last_failure
                .map(|e| format!("{} ({})", fmt_time(Some(e.at)), e.reason_code.unwrap_or_default()))
                .unwrap_or_else(|| "never".into()),
            warn: false,
        },
    ];
    if jit_while_scim {
        status.push(StatusLine {
            label: "Provisioning",
            value: "JIT is on while SCIM provisions this node; Keeper recommends turning JIT off on the Edit page."
                .into(),
            warn: true,
        });
    }
    let on_off = |b: bool| if b { "on".to_string() } else { "off".to_string() };
    let settings = vec![
        ("Just-In-Time provisioning", on_off(c.jit)),
        ("IdP-initiated login", on_off(c.idp_initiated)),
        (
            "Sign out",
            match (c.logout_idp, c.idp_slo_url.is_some()) {
                (true, true) => "closes the vault and signs out of the IdP (Single Logout)".into(),
                (true, false) => "closes the vault (the IdP's metadata has no SingleLogoutService)".into(),
                (false, _) => "closes the vault only".into(),
            },
        ),
        ("Console sign-in through this IdP", on_off(c.admin_signin)),
        ("Clock skew allowance", format!("{} seconds", c.clock_skew_secs)),
        ("Attribute names", format!("{} / {} / {}", c.attr_email, c.attr_first, c.attr_last)),
        ("SHA-1 signatures", if c.allow_sha1 { "accepted (weak)".into() } else { "refused".into() }),
        (
            "Users outside the enterprise domain",
            if c.allow_other_domains { "accepted".into() } else { "refused".into() },
        ),
        ("Encrypted assertions need a signed Response", on_off(c.encrypted_requires_signed_response)),
        ("AES-GCM only", on_off(c.encrypted_gcm_only)),
        ("Keep responses for troubleshooting", on_off(c.debug_keep_responses)),
    ];
    let notice = match q.notice.as_deref() {
        Some("created") => {
            "Configuration created. Export the metadata for your IdP, then upload the IdP's metadata on the Edit page."
        }
        Some("saved") => "Settings saved.",
        Some("idp") => "IdP metadata uploaded.",
        Some("deactivated") => "Configuration turned off: its Login URL and ACS refuse every sign-in.",
        Some("activated") => "Configuration turned on: sign-ins work again.",
        Some("keys") => "SP keys changed; the metadata now publishes the certificates listed as published.",
        Some("idp-url") => "IdP metadata imported from its URL; it will be refreshed from there.",
        Some("refreshed") => "IdP metadata refreshed.",
        _ => "",
    };
    let keys = ops::sso::sp_key_views(&svc, c.sso_id).await?;
    let has = |role| keys.iter().any(|k| k.role == role);
    let (has_next, has_previous) = (has(crate::store::SpKeyRole::Next), has(crate::store::SpKeyRole::Previous));
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            role: k.role.as_str(),
            fingerprint: k.fingerprint,
            subject: k.subject,
            expires: k.not_after.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into()),
            source: k.source,
            created: fmt_time(Some(k.created_at)),
            activated: fmt_time(k.activated_at),
            published: k.published,
        })
        .collect();
    let source = ops::idp_refresh::source(&svc, sso_id).await?;
    if let Some(s) = &source {
        status.push(StatusLine {
            label: "IdP metadata source",
            value: match &s.url {
                Some(url) => format!(
                    "{url} (last refreshed {}, next refresh {})",
                    fmt_time(s.last_refresh_at),
                    fmt_time(s.next_refresh_at)
                ),
                None => "uploaded file (not refreshed)".into(),
            },
            warn: s.url.is_some() && s.last_error.is_some(),
        });
    }
    let page = SsoViewPage {
        idp_warning: refresh_warning(source.as_ref()),
        public_url_local: svc.settings.public_url_is_local().then(|| svc.settings.public_url.clone()),
        chrome: chrome(&svc, &session, &admin, "sso").await,
        sso_id: c.sso_id,
        name: c.name,
        domain: c.domain,
        entity_id: urls.entity_id,
        idp_initiated_login: urls.login,
        acs: urls.acs,
        slo: urls.slo,
        metadata_download: urls.metadata_download,
        cert_download: urls.cert_download,
        status,
        settings,
        notice: notice.to_string(),
        active: c.active,
        active_changed: fmt_time(c.active_changed_at),
        keys,
        has_next,
        has_previous,
    };
    let mut res = Html(render(&page)).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(super::COPY_SCRIPT_CSP),
    );
    Ok(res)
}

/// The banner of a configuration whose last metadata refresh failed; empty otherwise.
pub(super) fn refresh_warning(source: Option<&IdpSource>) -> String {
    match source {
        Some(s) if s.url.is_some() => match &s.last_error {
            Some(e) => format!(
                "The last IdP metadata refresh failed ({} at {}, {} time(s) in a row): {e}. The last good metadata \
                 stays in use; the next attempt is due {}.",
                s.url.as_deref().unwrap_or_default(),
                fmt_time(s.last_attempt_at),
                s.failures,
                fmt_time(s.next_refresh_at)
            ),
            None => String::new(),
        },
        _ => String::new(),
    }
}
