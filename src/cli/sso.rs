//! `spconnect sso …`, `idp import`, `metadata`, `cert`, `check-response`, `debug-responses`
//! and `logins`: SSO configurations and what their logins left behind.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::common::{cell, fmt_time, jit_with_scim_warning, now, on_off, print_json, print_records, OrMessage, ACTOR};
use super::{IdpCommand, SsoCommand};
use crate::login::finish;
use crate::ops;
use crate::ops::idp_refresh::PinChange;
use crate::services::Services;
use crate::store::SsoSettings;

pub async fn sso(svc: &Services, json: bool, cmd: SsoCommand) -> Result<ExitCode, String> {
    match cmd {
        SsoCommand::Create { name, domain, node } => {
            let new = ops::sso::NewSso { name: &name, domain: &domain, node_id: node };
            let config = ops::sso::create(svc, &ACTOR, new, now()).await.or_message()?;
            if json {
                print_json(&serde_json::json!({"sso_id": config.sso_id}));
            } else {
                println!("{}", config.sso_id);
            }
        }
        SsoCommand::List => list(svc, json).await?,
        SsoCommand::Deactivate { sso_id } | SsoCommand::Activate { sso_id } => {
            let on = matches!(cmd, SsoCommand::Activate { .. });
            let c = ops::sso::set_active(svc, &ACTOR, sso_id, on, now()).await.or_message()?;
            if json {
                print_json(&c);
            } else if on {
                println!("{sso_id} is on: its Login URL and ACS accept sign-ins again");
            } else {
                println!(
                    "{sso_id} is off: its Login URL and ACS refuse every sign-in (SSO_DEACTIVATED) until \
                     `spconnect sso activate {sso_id}`"
                );
            }
        }
        SsoCommand::Delete { sso_id, yes } => {
            if !yes {
                let c = ops::sso::get(svc, sso_id).await.or_message()?;
                return Err(format!(
                    "deleting {sso_id} ({}, {}) removes its SP keys: the IdP's application stops working and cannot \
                     be brought back by re-creating it. Users stay. Run again with --yes to delete, or use \
                     `spconnect sso deactivate {sso_id}` to turn it off instead",
                    c.name, c.domain
                ));
            }
            let gone = ops::sso::delete(svc, &ACTOR, sso_id, now()).await.or_message()?;
            if json {
                print_json(&serde_json::json!({"deleted": gone.sso_id}));
            } else {
                println!(
                    "{sso_id} ({}) deleted with its SP keys; its users stay, no longer attached to an SSO configuration. \
                     Remove the application at the IdP too.",
                    gone.name
                );
            }
        }
        SsoCommand::Rollover { sso_id, activate, retire, cert, key, pkcs12, password_file } => {
            let step = match (activate, retire) {
                (true, _) => ops::sso::RolloverStep::Activate,
                (_, true) => ops::sso::RolloverStep::Retire,
                _ => ops::sso::RolloverStep::Begin,
            };
            let imported = match (cert, key, pkcs12) {
                (Some(c), Some(k), _) => Some(read_pem_pair(&c, &k, crate::crypto::import::Purpose::SpKey)?),
                (_, _, Some(p)) => {
                    Some(read_pkcs12(&p, password_file.as_deref(), crate::crypto::import::Purpose::SpKey)?)
                }
                _ => None,
            };
            let keys = ops::sso::rollover(svc, &ACTOR, sso_id, step, imported, now()).await.or_message()?;
            if json {
                print_json(&keys);
            } else {
                print_keys(&keys);
                match step {
                    ops::sso::RolloverStep::Begin => println!(
                        "The next certificate is published in the SP metadata beside the current one. Once every IdP \
                         has re-read the metadata (or has the new certificate uploaded), run \
                         `spconnect sso rollover {sso_id} --activate`."
                    ),
                    ops::sso::RolloverStep::Activate => println!(
                        "The new key signs from now on; the previous key still decrypts. When no IdP encrypts to the \
                         old certificate any more, run `spconnect sso rollover {sso_id} --retire`."
                    ),
                    ops::sso::RolloverStep::Retire => println!("The previous key is removed."),
                }
            }
        }
        SsoCommand::Keys { sso_id } => {
            let keys = ops::sso::sp_key_views(svc, sso_id).await.or_message()?;
            if json {
                print_json(&keys);
            } else {
                print_keys(&keys);
            }
        }
        SsoCommand::Status { sso_id } => status(svc, json, sso_id).await?,
        SsoCommand::Set {
            sso_id,
            name,
            domain,
            node,
            jit,
            idp_initiated,
            clock_skew,
            allow_sha1,
            allow_other_domains,
            attr_email,
            attr_first,
            attr_last,
            debug_responses,
            encrypted_requires_signed_response,
            encrypted_gcm_only,
            logout_idp,
            admin_signin,
        } => {
            let settings = SsoSettings {
                jit: jit.map(Into::into),
                idp_initiated: idp_initiated.map(Into::into),
                clock_skew_secs: clock_skew,
                allow_sha1: allow_sha1.map(Into::into),
                allow_other_domains: allow_other_domains.map(Into::into),
                attr_email,
                attr_first,
                attr_last,
                debug_keep_responses: debug_responses.map(Into::into),
                encrypted_requires_signed_response: encrypted_requires_signed_response.map(Into::into),
                encrypted_gcm_only: encrypted_gcm_only.map(Into::into),
                logout_idp: logout_idp.map(Into::into),
                admin_signin: admin_signin.map(Into::into),
            };
            if name.is_some() || domain.is_some() || node.is_some() {
                let change = ops::sso::Identity { name, domain, node_id: node };
                ops::sso::change_identity(svc, &ACTOR, sso_id, change, now()).await.or_message()?;
            }
            let c = ops::sso::change_settings(svc, &ACTOR, sso_id, settings, now()).await.or_message()?;
            if let Some(w) = jit_with_scim_warning(svc, &c).await {
                eprintln!("warning: {w}");
            }
            if json {
                print_json(&c);
            } else {
                println!(
                    "{} updated: jit={} idp_initiated={} skew={}s sha1={} logout_idp={} admin_signin={}",
                    c.sso_id,
                    on_off(c.jit),
                    on_off(c.idp_initiated),
                    c.clock_skew_secs,
                    on_off(c.allow_sha1),
                    on_off(c.logout_idp),
                    on_off(c.admin_signin)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_keys(keys: &[ops::sso::SpKeyView]) {
    for k in keys {
        println!(
            "{:<8} {}  expires {}  {}  created {}{}{}",
            k.role.as_str(),
            k.fingerprint,
            k.not_after.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into()),
            k.source,
            fmt_time(Some(k.created_at)),
            k.activated_at.map(|t| format!("  activated {}", fmt_time(Some(t)))).unwrap_or_default(),
            if k.published { "  (in the metadata)" } else { "  (decrypts only)" }
        );
    }
}

/// Certificates, keys and PKCS#12 bundles are small; anything larger is not one.
const MAX_KEY_FILE: u64 = 1024 * 1024;

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(format!("the {what} {} is larger than 1 MiB; it is not a certificate or key", path.display()));
    }
    Ok(bytes)
}

fn read_pem_pair(
    cert: &Path,
    key: &Path,
    purpose: crate::crypto::import::Purpose,
) -> Result<crate::crypto::import::Imported, String> {
    let (c, k) = (read_file(cert, "certificate")?, read_file(key, "key")?);
    crate::crypto::import::from_pem(&c, &k, purpose, now()).map_err(|e| format!("refused: {e}"))
}

/// A PKCS#12 bundle; its password from the file (first line) or one line of standard input.
fn read_pkcs12(
    path: &Path,
    password_file: Option<&Path>,
    purpose: crate::crypto::import::Purpose,
) -> Result<crate::crypto::import::Imported, String> {
    let der = read_file(path, "PKCS#12 bundle")?;
    let password = match password_file {
        Some(f) => String::from_utf8(read_file(f, "password file")?).map_err(|_| "the password file is not text")?,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
            line
        }
    };
    let password = password.lines().next().unwrap_or("");
    crate::crypto::import::from_pkcs12(&der, password, purpose, now()).map_err(|e| format!("refused: {e}"))
}

/// `spconnect tls import`: no database needed, only the data directory.
pub fn tls(dir: &Path, cmd: super::TlsCommand) -> Result<ExitCode, String> {
    let super::TlsCommand::Import { cert, key, pkcs12, password_file } = cmd;
    let purpose = crate::crypto::import::Purpose::Tls;
    let pair = match (cert, key, pkcs12) {
        (Some(c), Some(k), _) => read_pem_pair(&c, &k, purpose)?,
        (_, _, Some(p)) => read_pkcs12(&p, password_file.as_deref(), purpose)?,
        _ => return Err("give --cert and --key, or --pkcs12".into()),
    };
    let data = crate::config::DataDir::new(dir).map_err(|e| e.to_string())?;
    let (cert_path, key_path) = crate::crypto::tls::install(&data, &pair).map_err(|e| e.to_string())?;
    println!(
        "HTTPS certificate installed: {} and {} (mode 0600), SHA-256 {}. Restart serve to use it.",
        cert_path.display(),
        key_path.display(),
        crate::crypto::fingerprint(&pair.cert.to_der().map_err(|e| e.to_string())?)
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(svc: &Services, json: bool) -> Result<(), String> {
    let configs = svc.store.list_sso().await.or_message()?;
    let mut warnings = Vec::new();
    for c in &configs {
        warnings.push(jit_with_scim_warning(svc, c).await);
    }
    if json {
        let rows: Vec<_> = configs
            .iter()
            .zip(&warnings)
            .map(|(c, w)| serde_json::json!({"config": c, "urls": url_json(svc, c.sso_id), "warnings": w.iter().collect::<Vec<_>>()}))
            .collect();
        print_json(&rows);
        return Ok(());
    }
    for (c, warning) in configs.iter().zip(&warnings) {
        println!(
            "{}  {:<24} {:<24} node={} jit={} idp_initiated={} skew={}s idp={}",
            c.sso_id,
            c.name,
            c.domain,
            c.node_id,
            on_off(c.jit),
            on_off(c.idp_initiated),
            c.clock_skew_secs,
            c.idp_entity_id.as_deref().unwrap_or("(no IdP metadata)")
        );
        if c.allow_sha1 {
            println!("    warning: SHA-1 signatures are accepted for this configuration");
        }
        if let Some(w) = warning {
            println!("    warning: {w}");
        }
    }
    Ok(())
}

/// The console's status panel, on the command line.
async fn status(svc: &Services, json: bool, sso_id: i64) -> Result<(), String> {
    let s = ops::sso::status(svc, sso_id).await.or_message()?;
    let at = chrono::Utc::now();
    let date = |t: Option<chrono::DateTime<chrono::Utc>>| match t {
        None => "-".to_string(),
        Some(t) => {
            let days = (t - at).num_days();
            let soon = if days < ops::sso::EXPIRY_WARNING_DAYS { "; warning: renew it" } else { "" };
            format!("{} ({days} days left{soon})", t.format("%Y-%m-%d"))
        }
    };
    let login = |e: &Option<crate::store::LoginEvent>| {
        e.as_ref().map(|e| {
            let who = e.email.as_deref().or(e.reason_code.as_deref()).unwrap_or("");
            format!("{} ({})", fmt_time(Some(e.at)), cell(who))
        })
    };
    if json {
        print_json(&serde_json::json!({
            "sso_id": s.config.sso_id,
            "idp_entity_id": s.config.idp_entity_id,
            "idp_metadata_imported_at": s.config.idp_imported_at,
            "idp_certificate_expires": s.idp_cert_expires.map(|t| t.to_rfc3339()),
            "sp_certificate_expires": s.sp_cert_expires.map(|t| t.to_rfc3339()),
            "last_success": s.last_success,
            "last_failure": s.last_failure,
            "jit_while_scim_provisions": s.jit_while_scim,
        }));
        return Ok(());
    }
    println!("SSO {} \"{}\" ({})", s.config.sso_id, s.config.name, s.config.domain);
    println!("  IdP entity ID:                   {}", s.config.idp_entity_id.as_deref().unwrap_or("(no IdP metadata)"));
    println!("  IdP metadata imported:           {}", fmt_time(s.config.idp_imported_at));
    println!("  IdP signing certificate expires: {}", date(s.idp_cert_expires));
    println!("  SP certificate expires:          {}", date(s.sp_cert_expires));
    println!("  last successful login:           {}", login(&s.last_success).unwrap_or_else(|| "never".into()));
    println!("  last failed login:               {}", login(&s.last_failure).unwrap_or_else(|| "never".into()));
    if let Some(w) = jit_with_scim_warning(svc, &s.config).await {
        println!("  warning: {w}");
    }
    Ok(())
}

/// `spconnect idp …`: import (file or URL), refresh now, status.
pub async fn idp(svc: &Services, json: bool, cmd: IdpCommand) -> Result<ExitCode, String> {
    match cmd {
        IdpCommand::Import { sso_id, file, file_opt, url, allow_http, allow_private, pin_cert, unpin } => {
            let pin = match (pin_cert, unpin) {
                (Some(path), _) => {
                    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    PinChange::Set(
                        ops::idp_refresh::read_pin_cert(&bytes).map_err(|e| format!("{}: {e}", path.display()))?,
                    )
                }
                (None, true) => PinChange::Remove,
                (None, false) => PinChange::Keep,
            };
            match (file.or(file_opt), url) {
                (Some(file), _) => import_idp(svc, json, sso_id, &file, pin).await,
                (None, Some(url)) => {
                    let imp = ops::idp_refresh::UrlImport { url: &url, allow_http, allow_private };
                    let idp =
                        ops::idp_refresh::import_from_url(svc, &ACTOR, sso_id, imp, pin, now()).await.map_err(|e| {
                            match e {
                                ops::OpsError::Invalid(m) => format!("{}: {m}", crate::logsafe::clip_to(&url, 200)),
                                other => other.to_string(),
                            }
                        })?;
                    print_imported(json, sso_id, &idp);
                    if !json {
                        let source = ops::idp_refresh::source(svc, sso_id).await.or_message()?;
                        if let Some(next) = source.and_then(|s| s.next_refresh_at) {
                            println!(
                                "  refreshed from {} by `serve`; next refresh due {}",
                                url.trim(),
                                fmt_time(Some(next))
                            );
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                (None, None) => Err("give the metadata FILE, --file FILE or --url https://…".into()),
            }
        }
        IdpCommand::Refresh { sso_id } => {
            let outcome = ops::idp_refresh::refresh(svc, ACTOR.audit_name(), sso_id, now()).await.or_message()?;
            match outcome {
                ops::idp_refresh::Refreshed::Stored { idp, certificates_changed, next_refresh_at } => {
                    if json {
                        print_json(&serde_json::json!({
                            "sso_id": sso_id, "refreshed": true, "idp_entity_id": idp.entity_id,
                            "signing_certificates": idp.signing_certs.len(),
                            "certificates_changed": certificates_changed, "next_refresh_at": next_refresh_at,
                        }));
                    } else {
                        println!("refreshed IdP {} for SSO {sso_id}", idp.entity_id);
                        if certificates_changed {
                            println!("  the signing certificates changed (recorded in the audit trail)");
                        }
                        for c in &idp.signing_certs {
                            println!(
                                "  signing certificate: {} (expires {})",
                                c.subject,
                                c.not_after.format("%Y-%m-%d")
                            );
                        }
                        println!("  next refresh due {}", fmt_time(Some(next_refresh_at)));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                ops::idp_refresh::Refreshed::Failed { reason, next_refresh_at } => {
                    if json {
                        print_json(&serde_json::json!({
                            "sso_id": sso_id, "refreshed": false, "error": reason, "next_refresh_at": next_refresh_at,
                        }));
                    }
                    Err(format!(
                        "SSO {sso_id}: the metadata refresh failed, the last good metadata stays in use: {reason}"
                    ))
                }
            }
        }
        IdpCommand::Status { sso_id } => {
            let config = ops::sso::get(svc, sso_id).await.or_message()?;
            let source = ops::idp_refresh::source(svc, sso_id).await.or_message()?;
            let pinned = source
                .as_ref()
                .and_then(|s| s.pin_cert.as_deref())
                .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
                .map(|der| ops::idp_refresh::fingerprint(&der));
            if json {
                print_json(&serde_json::json!({
                    "sso_id": sso_id, "idp_entity_id": config.idp_entity_id, "source": source,
                    "pinned_certificate_sha256": pinned,
                }));
                return Ok(ExitCode::SUCCESS);
            }
            println!("SSO {sso_id}: IdP {}", config.idp_entity_id.as_deref().unwrap_or("(no IdP metadata)"));
            match source.as_ref().and_then(|s| s.url.as_deref()) {
                None => println!("  metadata from: a file (not refreshed)"),
                Some(url) => println!("  metadata from: {}", cell(url)),
            }
            if let Some(s) = &source {
                println!("  last refresh:  {}", fmt_time(s.last_refresh_at));
                println!("  next refresh:  {}", fmt_time(s.next_refresh_at));
                if let Some(e) = &s.last_error {
                    println!("  warning: the last refresh failed ({} time(s) in a row): {}", s.failures, cell(e));
                }
            }
            println!("  pinned metadata certificate: {}", pinned.as_deref().unwrap_or("none"));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_imported(json: bool, sso_id: i64, idp: &crate::saml::idp_metadata::IdpDescriptor) {
    if json {
        print_json(&serde_json::json!({
            "sso_id": sso_id, "idp_entity_id": idp.entity_id, "sso_url": idp.sso_redirect_url,
            "signing_certificates": idp.signing_certs.len(),
        }));
    } else {
        println!("imported IdP {} for SSO {sso_id}", idp.entity_id);
        println!("  SSO URL: {}", idp.sso_redirect_url);
        for c in &idp.signing_certs {
            println!("  signing certificate: {} (expires {})", c.subject, c.not_after.format("%Y-%m-%d"));
        }
    }
}

async fn import_idp(svc: &Services, json: bool, sso_id: i64, file: &Path, pin: PinChange) -> Result<ExitCode, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let idp = ops::idp_refresh::import_file(svc, &ACTOR, sso_id, &bytes, pin, now()).await.map_err(|e| match e {
        // What is wrong is in the file: name it.
        ops::OpsError::Invalid(m) => format!("{}: {m}", file.display()),
        other => other.to_string(),
    })?;
    print_imported(json, sso_id, &idp);
    Ok(ExitCode::SUCCESS)
}

/// The SP metadata of a configuration (same bytes as the download).
pub async fn metadata(svc: &Services, sso_id: i64) -> Result<ExitCode, String> {
    let c = ops::sso::get(svc, sso_id).await.or_message()?;
    print!("{}", svc.sp_metadata(&c).await.or_message()?);
    Ok(ExitCode::SUCCESS)
}

/// The SP certificate of a configuration (PEM).
pub async fn cert(svc: &Services, sso_id: i64) -> Result<ExitCode, String> {
    ops::sso::get(svc, sso_id).await.or_message()?;
    print!("{}", svc.sp_keys(sso_id).await.or_message()?.cert_pem);
    Ok(ExitCode::SUCCESS)
}

pub async fn logins(svc: &Services, json: bool, failed: bool, limit: i64) -> Result<ExitCode, String> {
    let events = svc.store.list_login_events(failed, limit).await.or_message()?;
    print_records(json, &events, |e| {
        format!(
            "{}  sso={} {:<8} {:<32} {} issuer={} name_id={} client={} request={}",
            fmt_time(Some(e.at)),
            e.sso_id.map(|s| s.to_string()).unwrap_or_default(),
            e.outcome,
            e.reason_code.as_deref().unwrap_or("-"),
            // Unverified NameIDs and issuers of refused posts: escaped, so a "\r\n" in them
            // cannot print a fake row.
            cell(e.email.as_deref().unwrap_or("")),
            cell(e.issuer.as_deref().unwrap_or("-")),
            cell(e.name_id.as_deref().unwrap_or("-")),
            cell(e.client_addr.as_deref().unwrap_or("-")),
            cell(&e.request_id)
        )
    });
    Ok(ExitCode::SUCCESS)
}

pub async fn debug_responses(svc: &Services, json: bool, sso_id: i64) -> Result<ExitCode, String> {
    let kept = svc.store.list_debug_responses(sso_id).await.or_message()?;
    print_records(json, &kept, |k| {
        let header = format!(
            "--- {} {} {} request={}",
            fmt_time(Some(k.at)),
            k.outcome,
            k.reason_code.as_deref().unwrap_or("OK"),
            cell(&k.request_id)
        );
        // Attacker-posted XML: every line indented and escaped, so nothing in it can pass for a
        // "---" header or carry terminal control sequences.
        let body = k.xml.lines().map(|line| format!("\n  {}", crate::logsafe::clip_to(line, 64 * 1024)));
        std::iter::once(header).chain(body).collect()
    });
    Ok(ExitCode::SUCCESS)
}

fn url_json(svc: &Services, sso_id: i64) -> serde_json::Value {
    let u = svc.urls(sso_id);
    serde_json::json!({"entity_id": u.entity_id, "acs": u.acs, "slo": u.slo, "login": u.login, "metadata": u.metadata_download, "cert": u.cert_download})
}

/// Diagnose base64 SAMLResponses offline; nothing is consumed or created.
pub async fn check_responses(
    svc: &Services,
    sso_id: i64,
    files: &[PathBuf],
    at: Option<String>,
    json: bool,
) -> Result<ExitCode, String> {
    let now = match at {
        Some(t) => {
            chrono::DateTime::parse_from_rfc3339(&t).map_err(|e| format!("--at {t}: {e}"))?.with_timezone(&chrono::Utc)
        }
        None => chrono::Utc::now(),
    };
    let mut all_ok = true;
    let mut rows = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (verdict, code, detail, user) = match finish::evaluate(svc, sso_id, text.trim(), now).await {
            Ok(e) => ("accept", "OK".to_string(), format!("{:?}", e.action), Some(e.profile.email)),
            Err(e) => {
                all_ok = false;
                ("refuse", e.code().to_string(), e.to_string(), None)
            }
        };
        if json {
            rows.push(serde_json::json!({"file": file.display().to_string(), "verdict": verdict, "reason_code": code, "detail": detail, "user": user}));
        } else {
            println!(
                "{}: {verdict} {code} {}",
                file.display(),
                user.map(|u| format!("{u} ({detail})")).unwrap_or(detail)
            );
        }
    }
    if json {
        print_json(&rows);
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
