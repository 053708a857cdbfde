//! Single Logout, HTTP-free: the vault's "Sign out" towards the IdP (SP-initiated), and what
//! arrives at `/api/rest/sso/saml/slo/{sso_id}` (the IdP's LogoutResponse to ours, or its own
//! LogoutRequest). Pure SAML is in `saml::logout` and `saml::redirect`; state in `store::slo`.
//!
//! Sessions: every browser login is indexed (`login_sessions`) by a random id kept inside the
//! tower session (`web::session`). An IdP's LogoutRequest deletes the index rows of the subject
//! (and their session records); `web::session::current` asks the database on every request,
//! so a session ended on one instance is gone on every instance at its next request.

use chrono::{DateTime, Duration, Utc};

use crate::logsafe::{self, Clipped};
use crate::saml::logout::{
    self, Expectations, LogoutRequest, LogoutResponse, Message, Received, RequestFields, SloRefusal,
};
use crate::saml::redirect::{self, Param};
use crate::saml::xml::AlgorithmPolicy;
use crate::saml::{BINDING_POST, STATUS_SUCCESS};
use crate::services::Services;
use crate::store::{LogoutRequestState, NewFailure, SsoConfig, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SloError {
    #[error("{0}")]
    Refused(#[from] SloRefusal),
    #[error("unknown SSO configuration")]
    UnknownSso,
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl SloError {
    pub fn code(&self) -> &'static str {
        match self {
            SloError::Refused(r) => r.code(),
            SloError::UnknownSso => "SSO_NOT_FOUND",
            SloError::Store(e) if e.is_unavailable() => "DATABASE_UNAVAILABLE",
            SloError::Store(_) | SloError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// A message for the IdP, as the browser must carry it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// HTTP-Redirect: the whole signed URL.
    Redirect(String),
    /// HTTP-POST: an auto-submitting form with this field (the XML carries its signature), and
    /// the RelayState the IdP sent with its request, returned as the bindings require.
    Post { action: String, field: &'static str, value: String, relay_state: Option<String> },
}

/// The login being signed out of, as the session recorded it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub sso_id: i64,
    pub name_id: Option<&'a str>,
    pub name_id_format: Option<&'a str>,
    pub session_index: Option<&'a str>,
}

/// Build what carries `xml` to the IdP's SLO endpoint in the binding its metadata names.
/// `relay_state` is the IdP's own (saml-bindings §3.4.3: a responder returns it); it only ever
/// goes back to the IdP's SLO URL from its metadata, never decides where the browser goes.
fn outbound(
    config: &SsoConfig,
    url: &str,
    param: Param,
    xml: &str,
    relay_state: Option<&str>,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
) -> Result<Outbound, SloError> {
    if config.idp_slo_binding.as_deref() == Some(BINDING_POST) {
        let signed = logout::sign_enveloped(xml, key).map_err(SloError::Internal)?;
        use base64::Engine;
        Ok(Outbound::Post {
            action: url.to_string(),
            field: param.name(),
            value: base64::engine::general_purpose::STANDARD.encode(signed),
            relay_state: relay_state.map(str::to_string),
        })
    } else {
        redirect::signed_url(url, param, xml, relay_state, key)
            .map(Outbound::Redirect)
            .map_err(|e| SloError::Internal(e.to_string()))
    }
}

/// SP-initiated: after the vault session was ended, the signed LogoutRequest for the IdP, if
/// this configuration logs out of the IdP too and the IdP has a SingleLogoutService (else None:
/// the vault alone was closed). The request ID is remembered for the LogoutResponse.
pub async fn start(svc: &Services, subject: Subject<'_>, now: DateTime<Utc>) -> Result<Option<Outbound>, SloError> {
    let Some(config) = svc.store.get_sso(subject.sso_id).await? else { return Ok(None) };
    let (true, Some(url), Some(name_id)) = (config.logout_idp, config.idp_slo_url.as_deref(), subject.name_id) else {
        return Ok(None);
    };
    let keys = svc.sp_keys(config.sso_id).await.map_err(|e| SloError::Internal(e.to_string()))?;
    let urls = svc.urls(config.sso_id);
    let ttl = svc.settings.request_ttl_secs;
    let request = LogoutRequest {
        id: logout::new_id(),
        issue_instant: now,
        not_on_or_after: now + Duration::seconds(ttl),
        destination: url.to_string(),
        issuer: urls.entity_id.clone(),
        name_id: name_id.to_string(),
        name_id_format: subject.name_id_format.map(str::to_string),
        session_index: subject.session_index.map(str::to_string),
    };
    svc.store.insert_logout_request(&request.id, config.sso_id, now.timestamp(), now.timestamp() + ttl).await?;
    let out = outbound(&config, url, Param::Request, &request.to_xml(), None, &keys.key)?;
    tracing::info!(sso_id = config.sso_id, request = %request.id, "SP-initiated logout sent to the IdP");
    Ok(Some(out))
}

/// What arrived at the SLO endpoint.
pub struct Arrival {
    pub sso_id: i64,
    /// Redirect binding: the raw query string as received (not decoded).
    pub raw_query: Option<String>,
    /// POST binding: the form's SAMLRequest / SAMLResponse and RelayState.
    pub form: Option<(Param, String, Option<String>)>,
    pub client_addr: Option<String>,
    pub request_id: String,
    pub now: DateTime<Utc>,
}

/// What the endpoint does next.
#[derive(Debug)]
pub enum Handled {
    /// The IdP answered our LogoutRequest: show "signed out".
    SignedOut,
    /// The IdP asked us to log a subject out: done; this answer goes back to the IdP (None when
    /// the IdP has no SingleLogoutService to answer to).
    Answered { ended: usize, answer: Option<Outbound> },
}

pub async fn receive(svc: &Services, arrival: Arrival) -> Result<Handled, SloError> {
    let result = handle(svc, &arrival).await;
    match &result {
        Err(err) => record_failure(svc, &arrival, err).await,
        Ok(handled) => {
            let detail = match handled {
                Handled::SignedOut => "SP-initiated logout completed by the IdP".to_string(),
                Handled::Answered { ended, .. } => format!("IdP-initiated logout: {ended} session(s) ended"),
            };
            tracing::info!(request_id = %arrival.request_id, sso_id = arrival.sso_id, %detail, "single logout");
            let event = NewFailure {
                sso_id: Some(arrival.sso_id),
                reason_code: "SLO_LOGOUT".into(),
                detail,
                issuer: None,
                name_id: None,
                client_addr: arrival.client_addr.clone(),
                request_id: arrival.request_id.clone(),
                at: arrival.now.timestamp(),
            };
            if let Err(e) = svc.store.record_logout_event(&event).await {
                tracing::error!(request_id = %arrival.request_id, error = %e, "could not record the logout");
            }
        }
    }
    result
}

async fn handle(svc: &Services, arrival: &Arrival) -> Result<Handled, SloError> {
    let config = svc.store.get_sso(arrival.sso_id).await?.ok_or(SloError::UnknownSso)?;
    let idp_entity_id =
        config.idp_entity_id.clone().ok_or(SloRefusal::NotConfigured("the IdP metadata is not uploaded"))?;
    let keys = svc
        .idp_keys
        .get(config.sso_id, config.idp_certs.as_deref().unwrap_or(""), || config.idp_certs_der())
        .map_err(|_| SloRefusal::NotConfigured("the IdP certificates do not parse"))?;
    let policy = AlgorithmPolicy { allow_sha1: config.allow_sha1 };
    let received: Received = match (&arrival.raw_query, &arrival.form) {
        (_, Some((param, value, relay))) => logout::receive_post(*param, value, relay.clone(), &keys, policy)?,
        (Some(query), None) => logout::receive_redirect(query, &keys, policy)?,
        (None, None) => return Err(SloRefusal::Missing.into()),
    };
    let urls = svc.urls(config.sso_id);
    let skew = Duration::seconds(config.clock_skew_secs.clamp(0, 3600));
    let exp = Expectations { idp_entity_id: &idp_entity_id, slo_url: &urls.slo, clock_skew: skew };
    logout::check(&received.message, &exp, arrival.now)?;
    match received.message {
        Message::Response(fields) => {
            let irt = fields.in_response_to.clone().unwrap_or_default();
            match svc.store.take_logout_request(&irt, config.sso_id, arrival.now.timestamp()).await? {
                LogoutRequestState::Taken => {}
                LogoutRequestState::Unknown => return Err(SloRefusal::UnknownInResponseTo(clip(&irt)).into()),
                LogoutRequestState::Used => {
                    return Err(SloRefusal::Replayed(format!("the LogoutResponse to {}", clip(&irt))).into())
                }
                LogoutRequestState::Expired => {
                    return Err(SloRefusal::Expired(format!("the LogoutRequest {} expired", clip(&irt))).into())
                }
            }
            if !logout::is_success(&fields) {
                return Err(SloRefusal::StatusNotSuccess(clip(&fields.status)).into());
            }
            Ok(Handled::SignedOut)
        }
        Message::Request(fields) => {
            let ended = end_sessions(svc, &config, &fields, skew, arrival).await?;
            let answer = match config.idp_slo_url.as_deref() {
                Some(url) => {
                    let response = LogoutResponse {
                        id: logout::new_id(),
                        issue_instant: arrival.now,
                        destination: url.to_string(),
                        issuer: urls.entity_id.clone(),
                        in_response_to: fields.id.clone(),
                        // Success whether or not a session was found: the subject is logged out
                        // here either way, and the answer does not tell who has sessions.
                        status: STATUS_SUCCESS,
                    };
                    let sp = svc.sp_keys(config.sso_id).await.map_err(|e| SloError::Internal(e.to_string()))?;
                    Some(outbound(
                        &config,
                        url,
                        Param::Response,
                        &response.to_xml(),
                        received.relay_state.as_deref(),
                        &sp.key,
                    )?)
                }
                None => None,
            };
            Ok(Handled::Answered { ended, answer })
        }
    }
}

/// Accept the LogoutRequest ID once (across instances) and end the subject's sessions, together.
async fn end_sessions(
    svc: &Services,
    config: &SsoConfig,
    fields: &RequestFields,
    skew: Duration,
    arrival: &Arrival,
) -> Result<usize, SloError> {
    let horizon = logout::replay_horizon(fields, skew, arrival.now).timestamp();
    let ended = svc
        .store
        .accept_logout_request(config.sso_id, &fields.id, horizon, &fields.name_id, &fields.session_indexes)
        .await?
        .ok_or_else(|| SloRefusal::Replayed(format!("LogoutRequest {}", clip(&fields.id))))?;
    for row in &ended {
        if let Some(id) = &row.session_id {
            if let Err(e) = svc.store.delete_session_record(id).await {
                // The index row is gone, which already ends the session everywhere.
                tracing::warn!(request_id = %arrival.request_id, error = %e, "could not delete a session record");
            }
        }
    }
    tracing::info!(
        request_id = %arrival.request_id,
        sso_id = config.sso_id,
        name_id = %Clipped(&fields.name_id),
        session_indexes = fields.session_indexes.len(),
        ended = ended.len(),
        "IdP-initiated logout"
    );
    Ok(ended.len())
}

async fn record_failure(svc: &Services, arrival: &Arrival, err: &SloError) {
    let detail = logsafe::clip(&err.to_string());
    tracing::warn!(
        request_id = %arrival.request_id,
        sso_id = arrival.sso_id,
        reason = err.code(),
        detail = %detail,
        client = arrival.client_addr.as_deref().unwrap_or("-"),
        "single logout refused"
    );
    if matches!(err, SloError::UnknownSso) {
        return;
    }
    let failure = NewFailure {
        sso_id: Some(arrival.sso_id),
        reason_code: err.code().to_string(),
        detail,
        issuer: None,
        name_id: None,
        client_addr: arrival.client_addr.clone(),
        request_id: arrival.request_id.clone(),
        at: arrival.now.timestamp(),
    };
    if let Err(e) = svc.store.record_login_failure(&failure).await {
        tracing::error!(request_id = %arrival.request_id, error = %e, "could not record the logout failure");
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
