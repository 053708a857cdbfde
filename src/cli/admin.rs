//! The admin commands that work on the data directory directly (the server may be running).

use std::path::Path;
use std::process::ExitCode;

pub(super) use super::print_json;
use super::{AdminCommand, Command, IdpCommand, SsoCommand, UsersCommand};
use crate::config::DataDir;
use crate::login::finish;
use crate::saml::idp_metadata;
use crate::services::Services;
use crate::store::SsoSettings;

const DEFAULT_PUBLIC_URL: &str = "https://127.0.0.1:8443";

async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Services, String> {
    let dir = DataDir::new(data_dir)
        .map_err(|e| format!("data directory {}: {e}", data_dir.display()))?
        .with_database_url(database_url);
    let store = crate::store::Store::open(dir.database_url(), &dir.database()).await.map_err(|e| e.to_string())?;
    let public_url = store
        .get_setting(super::serve::PUBLIC_URL_KEY)
        .await
        .map_err(|e| e.to_string())?
        .or_else(|| std::env::var("SPCONNECT_PUBLIC_URL").ok())
        .unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_string());
    Ok(Services::new(store, crate::config::Settings::new(&public_url, dir, true)))
}

pub(super) fn fmt_time(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

pub async fn run(
    data_dir: &Path,
    database_url: Option<&str>,
    json: bool,
    command: Command,
) -> Result<ExitCode, String> {
    let svc = open(data_dir, database_url).await?;
    let now = chrono::Utc::now();
    match command {
        Command::Sso(SsoCommand::Create { name, domain, node }) => {
            let domain = domain.trim().to_ascii_lowercase();
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return Err(format!("{domain:?} is not a domain name"));
            }
            let config =
                svc.store.create_sso(name.trim(), &domain, node, now.timestamp()).await.map_err(|e| e.to_string())?;
            // Generate the SP key pair now so the metadata can be exported right away.
            svc.sp_metadata(&config).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&serde_json::json!({"sso_id": config.sso_id}));
            } else {
                println!("{}", config.sso_id);
            }
        }
        Command::Sso(SsoCommand::List) => {
            let configs = svc.store.list_sso().await.map_err(|e| e.to_string())?;
            let mut warnings = Vec::new();
            for c in &configs {
                warnings.push(super::scim::jit_with_scim_warning(&svc, c).await);
            }
            if json {
                let rows: Vec<_> = configs
                    .iter()
                    .zip(&warnings)
                    .map(|(c, w)| serde_json::json!({"config": c, "urls": url_json(&svc, c.sso_id), "warnings": w.iter().collect::<Vec<_>>()}))
                    .collect();
                print_json(&rows);
            } else {
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
            }
        }
        Command::Sso(SsoCommand::Set {
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
        }) => {
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
            };
            let c = svc.store.update_sso_settings(sso_id, &settings).await.map_err(|e| e.to_string())?;
            if c.allow_sha1 {
                tracing::warn!(sso_id, "SHA-1 signatures are now accepted for this configuration");
            }
            if c.debug_keep_responses {
                tracing::warn!(
                    sso_id,
                    kept = crate::store::DEBUG_RESPONSES_KEPT,
                    "redacted copies of posted responses are kept for this configuration"
                );
            }
            if let Some(w) = super::scim::jit_with_scim_warning(&svc, &c).await {
                eprintln!("warning: {w}");
            }
            if json {
                print_json(&c);
            } else {
                println!(
                    "{} updated: jit={} idp_initiated={} skew={}s sha1={}",
                    c.sso_id,
                    on_off(c.jit),
                    on_off(c.idp_initiated),
                    c.clock_skew_secs,
                    on_off(c.allow_sha1)
                );
            }
        }
        Command::Idp(IdpCommand::Import { sso_id, file }) => {
            svc.store
                .get_sso(sso_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no SSO configuration {sso_id}"))?;
            let xml = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let idp = idp_metadata::parse(&xml).map_err(|e| format!("{}: {e}", file.display()))?;
            svc.store.set_idp(sso_id, &idp, &xml, now.timestamp()).await.map_err(|e| e.to_string())?;
            let _ = std::fs::write(svc.settings.data_dir.idp_metadata_copy(sso_id), &xml);
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
        Command::Metadata { sso_id } => {
            let c = svc
                .store
                .get_sso(sso_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no SSO configuration {sso_id}"))?;
            print!("{}", svc.sp_metadata(&c).await.map_err(|e| e.to_string())?);
        }
        Command::Cert { sso_id } => {
            svc.store
                .get_sso(sso_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no SSO configuration {sso_id}"))?;
            print!("{}", svc.sp_keys(sso_id).await.map_err(|e| e.to_string())?.cert_pem);
        }
        Command::CheckResponse { sso_id, files, at } => return check_responses(&svc, sso_id, &files, at, json).await,
        Command::Users(UsersCommand::List) => {
            let users = svc.store.list_users().await.map_err(|e| e.to_string())?;
            if json {
                print_json(&users);
            } else {
                println!("{:<36} {:<20} {:<8} {:<6} last login", "email", "name", "status", "via");
                for u in users {
                    println!(
                        "{:<36} {:<20} {:<8} {:<6} {}",
                        cell(&u.email),
                        cell(&format!("{} {}", u.first_name, u.last_name)),
                        u.status.as_str(),
                        u.provisioned_by,
                        fmt_time(u.last_login_at)
                    );
                }
            }
        }
        Command::Logins { failed, limit } => {
            let events = svc.store.list_login_events(failed, limit).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&events);
            } else {
                for e in events {
                    println!(
                        "{}  sso={} {:<8} {:<32} {} issuer={} name_id={} client={} request={}",
                        fmt_time(Some(e.at)),
                        e.sso_id.map(|s| s.to_string()).unwrap_or_default(),
                        e.outcome,
                        e.reason_code.as_deref().unwrap_or("-"),
                        // Unverified NameIDs and issuers of refused posts: escaped, so a
                        // "\r\n" in them cannot print a fake row.
                        cell(e.email.as_deref().unwrap_or("")),
                        cell(e.issuer.as_deref().unwrap_or("-")),
                        cell(e.name_id.as_deref().unwrap_or("-")),
                        cell(e.client_addr.as_deref().unwrap_or("-")),
                        cell(&e.request_id)
                    );
                }
            }
        }
        Command::DebugResponses { sso_id } => {
            let kept = svc.store.list_debug_responses(sso_id).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&kept);
            } else {
                for k in kept {
                    println!(
                        "--- {} {} {} request={}",
                        fmt_time(Some(k.at)),
                        k.outcome,
                        k.reason_code.as_deref().unwrap_or("OK"),
                        cell(&k.request_id)
                    );
                    // Attacker-posted XML: every line indented and escaped, so nothing in it can
                    // pass for a "---" header or carry terminal control sequences.
                    for line in k.xml.lines() {
                        println!("  {}", crate::logsafe::clip_to(line, 64 * 1024));
                    }
                }
            }
        }
        Command::Node(cmd) => return super::scim::node(&svc, json, cmd).await,
        Command::Scim(cmd) => return super::scim::scim(&svc, json, cmd).await,
        Command::Outbox(cmd) => return super::scim::outbox(&svc, json, cmd).await,
        Command::Teams(cmd) => return super::scim::teams(&svc, json, cmd).await,
        Command::Events { since, limit } => return super::scim::events(&svc, json, since, limit).await,
        Command::Admin(AdminCommand::Create { email }) => {
            let (password, generated) = match read_password_from_stdin()? {
                Some(p) => (p, false),
                None => (crate::admins::generate_password(), true),
            };
            let account = crate::admins::create(&svc.store, &email, password.clone(), now.timestamp()).await?;
            if json {
                let mut v = serde_json::json!({"admin_id": account.admin_id, "email": account.email});
                if generated {
                    v["password"] = password.into();
                }
                print_json(&v);
            } else {
                println!("created admin {}", account.email);
                if generated {
                    // Shown this once; only the argon2 hash is stored.
                    println!("password: {password}");
                }
            }
        }
        Command::Serve(_) | Command::Demo { .. } | Command::Migrate | Command::Backup { .. } | Command::Db(_) => {
            unreachable!("handled by cli::run")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn url_json(svc: &Services, sso_id: i64) -> serde_json::Value {
    let u = svc.urls(sso_id);
    serde_json::json!({"entity_id": u.entity_id, "acs": u.acs, "slo": u.slo, "login": u.login, "metadata": u.metadata_download, "cert": u.cert_download})
}

async fn check_responses(
    svc: &Services,
    sso_id: i64,
    files: &[std::path::PathBuf],
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

/// One line from a pipe or file; `None` when stdin is a terminal (nobody should type a
/// password that echoes) or empty.
fn read_password_from_stdin() -> Result<Option<String>, String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(|e| format!("reading the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    Ok(Some(password).filter(|p| !p.is_empty()))
}

/// A table cell from stored, possibly attacker-supplied text: control characters escaped.
fn cell(value: &str) -> String {
    crate::logsafe::clip(value)
}
