//! /admin/sso: list and create configurations; View (what Keeper's "View" shows, plus a status
//! panel); Edit (switches, attribute names, IdP metadata upload).

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, now, AdminError, AdminResult};
use crate::ops::{self, OpsError};
use crate::store::{SsoConfig, SsoSettings, ROOT_NODE_ID};
use crate::web::admin_pages::{fmt_time, NodeChoice, SsoEditPage, SsoListPage, SsoRow, SsoViewPage, StatusLine};
use crate::web::admin_session::CurrentAdmin;
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sso", get(list).post(create))
        .route("/admin/sso/{sso_id}", get(view))
        .route("/admin/sso/{sso_id}/edit", get(edit))
        .route("/admin/sso/{sso_id}/settings", post(save_settings))
        .route("/admin/sso/{sso_id}/idp", post(upload_idp))
}

async fn config(svc: &AppState, raw: &str) -> Result<SsoConfig, AdminError> {
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
    message: String,
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
        chrome: chrome(session, admin, "sso").await,
        configs,
        nodes,
        message,
        name: form.name,
        domain: form.domain,
    })
}

async fn list(State(svc): State<AppState>, Extension(admin): Extension<CurrentAdmin>, session: Session) -> AdminResult {
    let page = list_page(&svc, &session, &admin, CreateForm::default(), String::new()).await?;
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
        // The form comes back filled in, with the reason.
        Err(OpsError::Invalid(message) | OpsError::Conflict(message) | OpsError::NotFound(message)) => {
            let form = CreateForm { name: form.name.trim().to_string(), domain: form.domain, node: Some(node_id) };
            let page = list_page(&svc, &session, &admin, form, message).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&page))).into_response())
        }
        Err(e) => Err(e.into()),
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
        ("Clock skew allowance", format!("{} seconds", c.clock_skew_secs)),
        ("Attribute names", format!("{} / {} / {}", c.attr_email, c.attr_first, c.attr_last)),
        ("SHA-1 signatures", if c.allow_sha1 { "accepted (weak)".into() } else { "refused".into() }),
    ];
    let notice = match q.notice.as_deref() {
        Some("created") => {
            "Configuration created. Export the metadata for your IdP, then upload the IdP's metadata on the Edit page."
        }
        Some("saved") => "Settings saved.",
        Some("idp") => "IdP metadata uploaded.",
        _ => "",
    };
    let page = SsoViewPage {
        chrome: chrome(&session, &admin, "sso").await,
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
    };
    Ok(Html(render(&page)).into_response())
}

async fn edit_page(session: &Session, admin: &CurrentAdmin, c: SsoConfig, error: String) -> SsoEditPage {
    SsoEditPage {
        chrome: chrome(session, admin, "sso").await,
        sso_id: c.sso_id,
        name: c.name,
        jit: c.jit,
        idp_initiated: c.idp_initiated,
        logout_idp: c.logout_idp,
        idp_has_slo: c.idp_slo_url.is_some(),
        clock_skew_secs: c.clock_skew_secs,
        attr_email: c.attr_email,
        attr_first: c.attr_first,
        attr_last: c.attr_last,
        idp_entity_id: c.idp_entity_id.unwrap_or_default(),
        error,
    }
}

async fn edit(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    Ok(Html(render(&edit_page(&session, &admin, c, String::new()).await)).into_response())
}

#[derive(Deserialize)]
struct SettingsForm {
    /// Checkboxes are absent when unticked.
    jit: Option<String>,
    idp_initiated: Option<String>,
    logout_idp: Option<String>,
    clock_skew: String,
    attr_email: String,
    attr_first: String,
    attr_last: String,
}

async fn save_settings(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    Form(f): Form<SettingsForm>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let result = match f.clock_skew.trim().parse::<i64>() {
        Err(_) => Err(OpsError::Invalid(format!(
            "The clock skew must be a whole number of seconds from 0 to {}.",
            ops::sso::MAX_CLOCK_SKEW_SECS
        ))),
        Ok(skew) => {
            let settings = SsoSettings {
                jit: Some(f.jit.is_some()),
                idp_initiated: Some(f.idp_initiated.is_some()),
                logout_idp: Some(f.logout_idp.is_some()),
                clock_skew_secs: Some(skew),
                attr_email: Some(f.attr_email),
                attr_first: Some(f.attr_first),
                attr_last: Some(f.attr_last),
                ..Default::default()
            };
            ops::sso::change_settings(&svc, &actor(&admin), c.sso_id, settings, now()).await
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/sso/{}?notice=saved", c.sso_id)).into_response()),
        Err(OpsError::Invalid(message)) => {
            let page = edit_page(&session, &admin, c, message).await;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&page))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn upload_idp(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    mut form: Multipart,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let mut file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("metadata") {
            file = field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    let result = match file.filter(|f| !f.is_empty()) {
        None => Err(OpsError::Invalid("Choose the IdP's metadata file to upload.".into())),
        Some(bytes) => ops::sso::import_idp_metadata(&svc, &actor(&admin), c.sso_id, &bytes, now()).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/sso/{}?notice=idp", c.sso_id)).into_response()),
        Err(OpsError::Invalid(message)) => {
            let page = edit_page(&session, &admin, c, message).await;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&page))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
