//! `spconnect sso …`, `idp import`, `metadata`, `cert`, `check-response`, `debug-responses`
//! and `logins`: SSO configurations and what their logins left behind.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::common::{cell, fmt_time, jit_with_scim_warning, now, on_off, print_json, print_records, OrMessage, ACTOR};
use super::SsoCommand;
use crate::login::finish;
use crate::ops;
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
        SsoCommand::Status { sso_id } => status(svc, json, sso_id).await?,
        SsoCommand::Set {
            sso_id,
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
            };
            let c = ops::sso::change_settings(svc, &ACTOR, sso_id, settings, now()).await.or_message()?;
            if let Some(w) = jit_with_scim_warning(svc, &c).await {
                eprintln!("warning: {w}");
            }
            if json {
                print_json(&c);
            } else {
                println!(
                    "{} updated: jit={} idp_initiated={} skew={}s sha1={} logout_idp={}",
                    c.sso_id,
                    on_off(c.jit),
                    on_off(c.idp_initiated),
                    c.clock_skew_secs,
                    on_off(c.allow_sha1),
                    on_off(c.logout_idp)
                );
            }
        }
    }
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

pub async fn import_idp(svc: &Services, json: bool, sso_id: i64, file: &Path) -> Result<ExitCode, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let idp = ops::sso::import_idp_metadata(svc, &ACTOR, sso_id, &bytes, now()).await.map_err(|e| match e {
        // What is wrong is in the file: name it.
        ops::OpsError::Invalid(m) => format!("{}: {m}", file.display()),
        other => other.to_string(),
    })?;
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
