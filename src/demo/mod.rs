//! `spconnect demo`: the service plus a tiny demo IdP on loopback, wired together, so a newcomer
//! can click through both journeys in a minute. The demo IdP is our own code and signs with our
//! own signer; the test suite never trusts it as proof of anything (tests sign with xmlsec1 and
//! pysaml2).

pub mod idp;

use std::path::Path;
use std::process::ExitCode;

use crate::app::{self, Tls};
use crate::config::DataDir;
use crate::ops;

const DEMO_DOMAIN: &str = "demo.example";

pub async fn run(data_dir: &Path, port: u16) -> Result<ExitCode, String> {
    let dir = DataDir::new(data_dir).map_err(|e| e.to_string())?;
    let sp_listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("port {port}: {e}"))?;
    // Port 0 (tests) lets the system pick both ports.
    let idp_port = if port == 0 { 0 } else { port.saturating_add(1) };
    let idp_listener =
        std::net::TcpListener::bind(("127.0.0.1", idp_port)).map_err(|e| format!("port {idp_port}: {e}"))?;
    let sp_url = format!("http://127.0.0.1:{}", sp_listener.local_addr().map_err(|e| e.to_string())?.port());
    let idp_url = format!("http://127.0.0.1:{}", idp_listener.local_addr().map_err(|e| e.to_string())?.port());

    let svc = app::services(dir.clone(), &sp_url, false).await.map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp();
    // Set up through the operations layer, as `spconnect sso create` and `idp import` would.
    let actor = ops::Actor::Cli;
    let config = match svc.store.find_sso_by_domain(DEMO_DOMAIN).await.map_err(|e| e.to_string())? {
        Some(c) => c,
        None => {
            let new = ops::sso::NewSso { name: "Demo", domain: DEMO_DOMAIN, node_id: crate::store::ROOT_NODE_ID };
            ops::sso::create(&svc, &actor, new, now).await.map_err(|e| e.to_string())?
        }
    };
    let demo_idp = idp::DemoIdp::load_or_create(&dir, &idp_url, svc.urls(config.sso_id)).map_err(|e| e.to_string())?;
    ops::sso::import_idp_metadata(&svc, &actor, config.sso_id, demo_idp.metadata().as_bytes(), now)
        .await
        .map_err(|e| e.to_string())?;
    svc.sp_metadata(&config).await.map_err(|e| e.to_string())?;

    let urls = svc.urls(config.sso_id);
    println!("spconnect demo — SP {sp_url}, demo IdP {idp_url} (user alice@{DEMO_DOMAIN})");
    println!("  SP-initiated login:   {}", urls.login);
    println!("  IdP-initiated launch: {idp_url}/launch");
    println!("  then:                 {sp_url}/vault");
    println!("Stop with Ctrl-C.");

    let idp_task = tokio::spawn(crate::web::demo_idp::serve(demo_idp, idp_listener));
    let sp = app::serve(svc, sp_listener, Tls::Off);
    tokio::select! {
        r = sp => r.map_err(|e| e.to_string())?,
        r = idp_task => r.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}
