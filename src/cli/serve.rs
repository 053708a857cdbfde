//! `spconnect serve` and `spconnect demo`.

use std::path::Path;
use std::process::ExitCode;

use super::ServeArgs;
use crate::app::{self, Tls};
use crate::config::DataDir;

pub const PUBLIC_URL_KEY: &str = "public_url";

pub async fn serve(data_dir: &Path, args: ServeArgs) -> Result<ExitCode, String> {
    let dir = DataDir::new(data_dir).map_err(|e| format!("data directory {}: {e}", data_dir.display()))?;
    let listener = std::net::TcpListener::bind(&args.listen).map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if args.http { "http" } else { "https" };
    let host = if local.ip().is_unspecified() { "localhost".to_string() } else { local.ip().to_string() };
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{host}:{}", local.port()));
    let svc = app::services(dir, &public_url, !args.http).await.map_err(|e| e.to_string())?;
    svc.store.put_setting(PUBLIC_URL_KEY, &svc.settings.public_url).await.map_err(|e| e.to_string())?;
    print_banner(&svc, local).await;
    let tls = if args.http { Tls::Off } else { Tls::On { cert: args.tls_cert, key: args.tls_key } };
    app::serve(svc, listener, tls).await.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn print_banner(svc: &crate::services::Services, local: std::net::SocketAddr) {
    println!("spconnect listening on {local}, public URL {}", svc.settings.public_url);
    println!("data directory: {}", svc.settings.data_dir.root().display());
    let configs = svc.store.list_sso().await.unwrap_or_default();
    if configs.is_empty() {
        println!("no SSO configuration yet: run `spconnect sso create --name NAME --domain example.com`");
    }
    for c in configs {
        let urls = svc.urls(c.sso_id);
        println!("SSO {} \"{}\" ({}):", c.sso_id, c.name, c.domain);
        println!("  Login URL (SP-initiated):  {}", urls.login);
        println!("  SP entity ID:              {}", urls.entity_id);
        println!("  ACS (HTTP-POST):           {}", urls.acs);
        println!("  SP metadata download:      {}", urls.metadata_download);
        println!("  SP certificate download:   {}", urls.cert_download);
        if c.idp_entity_id.is_none() {
            println!("  IdP metadata missing:      spconnect idp import {} FILE.xml", c.sso_id);
        }
    }
    println!("vault page: {}/vault", svc.settings.public_url);
}

pub async fn demo(data_dir: &Path, port: u16) -> Result<ExitCode, String> {
    crate::demo::run(data_dir, port).await
}
