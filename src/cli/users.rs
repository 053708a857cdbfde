//! `spconnect users …`: list, create, lock and unlock users.

use std::process::ExitCode;

use super::common::{cell, fmt_time, now, print_json, OrMessage, ACTOR};
use super::UsersCommand;
use crate::ops::{self, AccountRef};
use crate::services::Services;
use crate::store::User;

pub async fn users(svc: &Services, json: bool, cmd: UsersCommand) -> Result<ExitCode, String> {
    let user = match cmd {
        UsersCommand::List => return list(svc, json).await,
        UsersCommand::Create { email, first_name, last_name, node } => {
            let new = ops::users::NewManualUser {
                email: &email,
                first_name: &first_name,
                last_name: &last_name,
                node_id: node,
            };
            ops::users::create(svc, &ACTOR, new, now()).await
        }
        UsersCommand::Lock { user } => ops::users::lock(svc, &ACTOR, &AccountRef::parse(&user), now()).await,
        UsersCommand::Unlock { user } => ops::users::unlock(svc, &ACTOR, &AccountRef::parse(&user), now()).await,
    }
    .or_message()?;
    if json {
        print_json(&user);
    } else {
        println!("{} ({}): {}", cell(&user.email), user.user_id, user.status.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(svc: &Services, json: bool) -> Result<ExitCode, String> {
    let users: Vec<User> = svc.store.list_users().await.or_message()?;
    if json {
        print_json(&users);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<8} {:<36} {:<20} {:<8} {:<6} last login", "id", "email", "name", "status", "via");
    for u in users {
        println!(
            "{:<8} {:<36} {:<20} {:<8} {:<6} {}",
            u.user_id,
            cell(&u.email),
            cell(&format!("{} {}", u.first_name, u.last_name)),
            u.status.as_str(),
            u.provisioned_by,
            fmt_time(u.last_login_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}
