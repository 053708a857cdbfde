//! `spconnect admin …` (console admin accounts) and `spconnect audit` (what admins, and the
//! command line, changed).

use std::process::ExitCode;

use super::common::{cell, fmt_time, now, print_json, print_records, OrMessage, ACTOR};
use super::AdminCommand;
use crate::ops::{self, AccountRef};
use crate::services::Services;

pub async fn admin(svc: &Services, json: bool, cmd: AdminCommand) -> Result<ExitCode, String> {
    match cmd {
        AdminCommand::Create { email } => {
            let (password, generated) = password_from_stdin_or_generated()?;
            let account = ops::admins::create(svc, &ACTOR, &email, password.clone(), now()).await.or_message()?;
            report(json, &account, &format!("created admin {}", account.email), generated.then_some(&password));
        }
        AdminCommand::List => {
            let admins = ops::admins::list(svc).await.or_message()?;
            if json {
                print_json(&admins);
            } else {
                println!("{:<6} {:<40} {:<20} last sign-in", "id", "email", "created");
                for a in admins {
                    println!(
                        "{:<6} {:<40} {:<20} {}",
                        a.admin_id,
                        cell(&a.email),
                        fmt_time(Some(a.created_at)),
                        fmt_time(a.last_login_at)
                    );
                }
            }
        }
        AdminCommand::ResetPassword { admin } => {
            let who = AccountRef::parse(&admin);
            // Look the account up before a password is generated and printed for nobody.
            ops::admins::get(svc, &who).await.or_message()?;
            let (password, generated) = password_from_stdin_or_generated()?;
            let account = ops::admins::reset_password(svc, &ACTOR, &who, password.clone(), now()).await.or_message()?;
            report(json, &account, &format!("new password set for {}", account.email), generated.then_some(&password));
        }
        AdminCommand::Delete { admin } => {
            let account = ops::admins::delete(svc, &ACTOR, &AccountRef::parse(&admin), now()).await.or_message()?;
            report(json, &account, &format!("deleted admin {}", account.email), None);
        }
        AdminCommand::Unlock { admin } => {
            let account = ops::admins::unlock(svc, &ACTOR, &AccountRef::parse(&admin), now()).await.or_message()?;
            report(json, &account, &format!("refused sign-ins of {} forgotten", account.email), None);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One account and what happened to it; a generated password is printed this once (only its
/// argon2 hash is stored).
fn report(json: bool, account: &ops::admins::AdminSummary, done: &str, generated: Option<&String>) {
    if json {
        let mut v = serde_json::json!({"admin_id": account.admin_id, "email": account.email});
        if let Some(p) = generated {
            v["password"] = p.as_str().into();
        }
        print_json(&v);
    } else {
        println!("{done}");
        if let Some(p) = generated {
            println!("password: {p}");
        }
    }
}

/// The password from standard input (one line), or a generated one (`true`) when standard
/// input is a terminal (nobody should type a password that echoes) or empty.
fn password_from_stdin_or_generated() -> Result<(String, bool), String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let mut line = String::new();
    if !stdin.is_terminal() {
        stdin.lock().read_line(&mut line).map_err(|e| format!("reading the password from stdin: {e}"))?;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    Ok(if password.is_empty() { (crate::admins::generate_password(), true) } else { (password.to_string(), false) })
}

/// `spconnect audit`: the admin audit trail, newest first.
pub async fn audit(svc: &Services, json: bool, action: Option<String>, limit: i64) -> Result<ExitCode, String> {
    let events = svc.store.list_audit(action.as_deref(), limit).await.or_message()?;
    print_records(json, &events, |e| {
        format!(
            "{}  {:<32} {:<22} {:<32} {}",
            fmt_time(Some(e.at)),
            cell(&e.admin_email),
            e.action,
            cell(&e.target),
            cell(&e.detail)
        )
    });
    Ok(ExitCode::SUCCESS)
}
