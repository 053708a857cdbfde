//! ext_login: issue a signed AuthnRequest, remember it server-side, and send the browser to
//! the IdP. Nothing from the request URL reaches the IdP URL except through our own values.

use chrono::{DateTime, Utc};

use super::{safe_relative_path, LoginError, DEFAULT_TARGET};
use crate::saml::authn_request::AuthnRequest;
use crate::services::Services;
use crate::store::{NewAuthnRequest, RequestPurpose, StoreError};

/// Who is starting the login: the browser's binding token (its cookie, see `login::binding`)
/// and its address, which bounds how many unanswered requests it can leave behind.
pub struct Starter<'a> {
    pub browser_binding: &'a str,
    pub client_addr: &'a str,
}

pub async fn start(
    svc: &Services,
    sso_id: i64,
    target: Option<&str>,
    who: Starter<'_>,
    now: DateTime<Utc>,
) -> Result<String, LoginError> {
    start_for(svc, sso_id, target, who, RequestPurpose::Login, None, now).await
}

/// `start` for any purpose: the console's test login and console sign-in (`admin_id`: the admin
/// a test login reports to). The purpose travels in RelayState (`super::relay_state`) and is
/// stored with the request, which is what the ACS trusts.
pub async fn start_for(
    svc: &Services,
    sso_id: i64,
    target: Option<&str>,
    who: Starter<'_>,
    purpose: RequestPurpose,
    admin_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<String, LoginError> {
    let config = svc.store.get_sso(sso_id).await?.ok_or(LoginError::UnknownSso)?;
    if !config.active {
        return Err(LoginError::Deactivated);
    }
    if purpose == RequestPurpose::Admin && !config.admin_signin {
        return Err(LoginError::AdminSigninOff);
    }
    let idp_url = config.idp_sso_url.as_deref().ok_or(LoginError::IdpNotConfigured)?;
    let urls = svc.urls(sso_id);
    let keys = svc.sp_keys_for(&config).await?;
    let request = AuthnRequest::new(idp_url, &urls.acs, &urls.entity_id, now);
    let target = target.and_then(safe_relative_path).unwrap_or_else(|| DEFAULT_TARGET.to_string());
    svc.store
        .insert_authn_request(&NewAuthnRequest {
            request_id: &request.id,
            sso_id,
            target: &target,
            browser_binding: &super::binding::hash(who.browser_binding),
            client_addr: who.client_addr,
            purpose,
            admin_id,
            now: now.timestamp(),
            expires_at: now.timestamp() + svc.settings.request_ttl_secs,
            max_per_client: svc.settings.pending_requests_per_client,
            max_per_sso: svc.settings.pending_requests_per_sso,
        })
        .await
        .map_err(|e| match e {
            StoreError::TooManyPending => LoginError::TooManyPending,
            other => LoginError::Store(other),
        })?;
    // RelayState is an opaque token (the request ID, marked with a console purpose): the
    // destination stays on our side.
    let relay = super::relay_state(purpose, &request.id);
    request.signed_redirect_url(&relay, &keys.key).map_err(|e| LoginError::Internal(e.to_string()))
}
