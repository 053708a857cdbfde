//! A configuration's Edit page: IdP metadata (file or URL), name, domain and node, and every
//! switch. A refused form comes back with what was typed and the field at fault marked.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::sso::{config, identity_refusal, refresh_warning};
use super::{actor, chrome, now, AdminResult};
use crate::ops::{self, OpsError};
use crate::store::{SsoConfig, SsoSettings};
use crate::web::admin_pages::{NodeChoice, Refusal, SsoEditPage};
use crate::web::admin_session::CurrentAdmin;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sso/{sso_id}/edit", get(edit))
        .route("/admin/sso/{sso_id}/settings", post(save_settings))
        .route("/admin/sso/{sso_id}/idp", post(upload_idp))
        .route("/admin/sso/{sso_id}/identity", post(save_identity))
        .route("/admin/sso/{sso_id}/idp-url", post(import_idp_url))
        .route("/admin/sso/{sso_id}/idp-refresh", post(refresh_idp))
}

/// The Edit page showing `c` as stored; a refused form's handler then puts back what was typed.
async fn edit_page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    c: SsoConfig,
    refusal: Refusal,
) -> SsoEditPage {
    let nodes = svc
        .store
        .list_nodes()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|n| NodeChoice {
            node_id: n.node_id,
            label: if n.parent_id.is_none() { format!("{} (root)", n.name) } else { n.name.clone() },
            selected: n.node_id == c.node_id,
        })
        .collect();
    let source = ops::idp_refresh::source(svc, c.sso_id).await.ok().flatten();
    let pinned = source
        .as_ref()
        .and_then(|s| s.pin_cert.as_deref())
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
        .map(|der| ops::idp_refresh::fingerprint(&der))
        .unwrap_or_default();
    SsoEditPage {
        idp_warning: refresh_warning(source.as_ref()),
        idp_url: source.as_ref().and_then(|s| s.url.clone()).unwrap_or_default(),
        idp_allow_http: source.as_ref().is_some_and(|s| s.allow_http),
        idp_allow_private: source.as_ref().is_some_and(|s| s.allow_private),
        pinned,
        chrome: chrome(svc, session, admin, "sso").await,
        sso_id: c.sso_id,
        domain: c.domain,
        nodes,
        allow_sha1: c.allow_sha1,
        allow_other_domains: c.allow_other_domains,
        debug_keep_responses: c.debug_keep_responses,
        encrypted_requires_signed_response: c.encrypted_requires_signed_response,
        encrypted_gcm_only: c.encrypted_gcm_only,
        heading: c.name.clone(),
        name: c.name,
        jit: c.jit,
        idp_initiated: c.idp_initiated,
        logout_idp: c.logout_idp,
        admin_signin: c.admin_signin,
        idp_has_slo: c.idp_slo_url.is_some(),
        clock_skew: c.clock_skew_secs.to_string(),
        attr_email: c.attr_email,
        attr_first: c.attr_first,
        attr_last: c.attr_last,
        idp_entity_id: c.idp_entity_id.unwrap_or_default(),
        refusal,
    }
}

/// The page with a refusal, answered 422.
fn refused(page: SsoEditPage) -> AdminResult {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&page))).into_response())
}

async fn edit(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    Ok(Html(render(&edit_page(&svc, &session, &admin, c, Refusal::default()).await)).into_response())
}

#[derive(Deserialize)]
struct IdentityForm {
    name: String,
    domain: String,
    node: i64,
}

async fn save_identity(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    Form(f): Form<IdentityForm>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let change =
        ops::sso::Identity { name: Some(f.name.clone()), domain: Some(f.domain.clone()), node_id: Some(f.node) };
    match ops::sso::change_identity(&svc, &actor(&admin), c.sso_id, change, now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/sso/{}?notice=saved", c.sso_id)).into_response()),
        Err(e) => {
            let refusal = identity_refusal(&f.name, e)?;
            let mut page = edit_page(&svc, &session, &admin, c, refusal).await;
            page.name = f.name;
            page.domain = f.domain;
            for n in &mut page.nodes {
                n.selected = n.node_id == f.node;
            }
            refused(page)
        }
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    /// Checkboxes are absent when unticked.
    jit: Option<String>,
    idp_initiated: Option<String>,
    logout_idp: Option<String>,
    admin_signin: Option<String>,
    clock_skew: String,
    attr_email: String,
    attr_first: String,
    attr_last: String,
    allow_sha1: Option<String>,
    allow_other_domains: Option<String>,
    debug_responses: Option<String>,
    encrypted_requires_signed_response: Option<String>,
    encrypted_gcm_only: Option<String>,
}

impl SettingsForm {
    /// The settings as typed, or the refusal of the clock skew when it is not a number.
    fn settings(&self) -> Result<SsoSettings, Refusal> {
        let skew = self.clock_skew.trim().parse::<i64>().map_err(|_| {
            Refusal::at(
                "clock_skew",
                format!(
                    "The clock skew must be a whole number of seconds from 0 to {}.",
                    ops::sso::MAX_CLOCK_SKEW_SECS
                ),
            )
        })?;
        Ok(SsoSettings {
            jit: Some(self.jit.is_some()),
            idp_initiated: Some(self.idp_initiated.is_some()),
            logout_idp: Some(self.logout_idp.is_some()),
            admin_signin: Some(self.admin_signin.is_some()),
            clock_skew_secs: Some(skew),
            attr_email: Some(self.attr_email.clone()),
            attr_first: Some(self.attr_first.clone()),
            attr_last: Some(self.attr_last.clone()),
            allow_sha1: Some(self.allow_sha1.is_some()),
            allow_other_domains: Some(self.allow_other_domains.is_some()),
            debug_keep_responses: Some(self.debug_responses.is_some()),
            encrypted_requires_signed_response: Some(self.encrypted_requires_signed_response.is_some()),
            encrypted_gcm_only: Some(self.encrypted_gcm_only.is_some()),
        })
    }

    /// The first field that breaks the settings' rules (`ops::sso::checked_settings`, asked
    /// one field at a time).
    fn field_at_fault(&self, settings: &SsoSettings) -> &'static str {
        let breaks = |one: SsoSettings| ops::sso::checked_settings(one).is_err();
        if breaks(SsoSettings { clock_skew_secs: settings.clock_skew_secs, ..Default::default() }) {
            return "clock_skew";
        }
        [("attr_email", &self.attr_email), ("attr_first", &self.attr_first), ("attr_last", &self.attr_last)]
            .into_iter()
            .find(|(_, v)| breaks(SsoSettings { attr_email: Some(v.to_string()), ..Default::default() }))
            .map_or("", |(field, _)| field)
    }

    /// Put what was typed back on the page.
    fn refill(self, page: &mut SsoEditPage) {
        page.jit = self.jit.is_some();
        page.idp_initiated = self.idp_initiated.is_some();
        page.logout_idp = self.logout_idp.is_some();
        page.admin_signin = self.admin_signin.is_some();
        page.clock_skew = self.clock_skew;
        page.attr_email = self.attr_email;
        page.attr_first = self.attr_first;
        page.attr_last = self.attr_last;
        page.allow_sha1 = self.allow_sha1.is_some();
        page.allow_other_domains = self.allow_other_domains.is_some();
        page.debug_keep_responses = self.debug_responses.is_some();
        page.encrypted_requires_signed_response = self.encrypted_requires_signed_response.is_some();
        page.encrypted_gcm_only = self.encrypted_gcm_only.is_some();
    }
}

async fn save_settings(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    Form(f): Form<SettingsForm>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let refusal = match f.settings() {
        Err(refusal) => refusal,
        Ok(settings) => {
            match ops::sso::change_settings(&svc, &actor(&admin), c.sso_id, settings.clone(), now()).await {
                Ok(_) => return Ok(Redirect::to(&format!("/admin/sso/{}?notice=saved", c.sso_id)).into_response()),
                Err(OpsError::Invalid(message)) => Refusal::at(f.field_at_fault(&settings), message),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut page = edit_page(&svc, &session, &admin, c, refusal).await;
    f.refill(&mut page);
    refused(page)
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
        // A file input cannot be filled in again: the admin chooses the file anew.
        Err(OpsError::Invalid(message)) => {
            refused(edit_page(&svc, &session, &admin, c, Refusal::at("metadata", message)).await)
        }
        Err(e) => Err(e.into()),
    }
}

async fn import_idp_url(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    mut form: Multipart,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let (mut url, mut allow_http, mut allow_private, mut unpin) = (String::new(), false, false, false);
    let mut pin_file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        // Field sizes are bounded by the console's body limit.
        let Ok(bytes) = field.bytes().await else { continue };
        match name.as_str() {
            "url" => url = String::from_utf8_lossy(&bytes).into_owned(),
            "allow_http" => allow_http = true,
            "allow_private" => allow_private = true,
            "unpin" => unpin = true,
            "pin_cert" if !bytes.is_empty() => pin_file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let pin = match (pin_file, unpin) {
        (Some(bytes), _) => ops::idp_refresh::read_pin_cert(&bytes).map(ops::idp_refresh::PinChange::Set),
        (None, true) => Ok(ops::idp_refresh::PinChange::Remove),
        (None, false) => Ok(ops::idp_refresh::PinChange::Keep),
    };
    let result = match pin {
        Err(OpsError::Invalid(message)) => Err(Refusal::at("pin_cert", message)),
        Err(e) => return Err(e.into()),
        Ok(pin) => {
            let imp = ops::idp_refresh::UrlImport { url: &url, allow_http, allow_private };
            match ops::idp_refresh::import_from_url(&svc, &actor(&admin), c.sso_id, imp, pin, now()).await {
                Ok(_) => Ok(()),
                Err(OpsError::Invalid(message)) => Err(Refusal::at("metadata_url", message)),
                Err(e) => return Err(e.into()),
            }
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/sso/{}?notice=idp-url", c.sso_id)).into_response()),
        Err(refusal) => {
            let mut page = edit_page(&svc, &session, &admin, c, refusal).await;
            (page.idp_url, page.idp_allow_http, page.idp_allow_private) = (url, allow_http, allow_private);
            refused(page)
        }
    }
}

/// "Refresh metadata now": the same refresh the schedule runs, in this instance.
async fn refresh_idp(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let c = config(&svc, &raw).await?;
    let who = actor(&admin);
    match ops::idp_refresh::refresh(&svc, who.audit_name(), c.sso_id, now()).await {
        Ok(ops::idp_refresh::Refreshed::Stored { .. }) => {
            Ok(Redirect::to(&format!("/admin/sso/{}?notice=refreshed", c.sso_id)).into_response())
        }
        // The page shows the banner with the reason.
        Ok(ops::idp_refresh::Refreshed::Failed { .. }) => {
            let refusal = Refusal::of_form("The metadata refresh failed.");
            let page = edit_page(&svc, &session, &admin, c, refusal).await;
            Ok((StatusCode::BAD_GATEWAY, Html(render(&page))).into_response())
        }
        Err(OpsError::Invalid(message)) => {
            refused(edit_page(&svc, &session, &admin, c, Refusal::of_form(message)).await)
        }
        Err(e) => Err(e.into()),
    }
}
