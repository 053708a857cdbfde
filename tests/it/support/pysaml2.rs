//! The independent IdP (pysaml2 + xmlsec1, tests/tools/pysaml2_idp.py): one-shot signing and a
//! live server process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::keys::KeyPair;
use super::repo_root;

fn script() -> std::path::PathBuf {
    repo_root().join("tests/tools/pysaml2_idp.py")
}

pub struct SignOptions<'a> {
    pub email: &'a str,
    pub in_response_to: Option<&'a str>,
    pub sign_assertion: bool,
    pub sign_response: bool,
    pub encrypt: bool,
    pub data_enc: Option<&'a str>,
    /// Key transport for --encrypt-assertion (default rsa-oaep-mgf1p).
    pub key_transport: Option<&'a str>,
}

/// A base64 SAMLResponse made and signed by pysaml2.
pub fn sign(key: &KeyPair, idp_entity_id: &str, sp_metadata: &Path, o: &SignOptions) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg(script())
        .arg("sign")
        .arg("--idp-key")
        .arg(&key.key_path)
        .arg("--idp-cert")
        .arg(&key.cert_path)
        .args(["--idp-entity-id", idp_entity_id])
        .arg("--sp-metadata")
        .arg(sp_metadata)
        .args(["--email", o.email, "--first", "Alice", "--last", "Example"]);
    if let Some(irt) = o.in_response_to {
        cmd.args(["--in-response-to", irt]);
    }
    if o.sign_assertion {
        cmd.arg("--sign-assertion");
    }
    if o.sign_response {
        cmd.arg("--sign-response");
    }
    if o.encrypt {
        cmd.arg("--encrypt-assertion");
    }
    if let Some(kt) = o.key_transport {
        cmd.args(["--key-transport", kt]);
    }
    if let Some(enc) = o.data_enc {
        cmd.args(["--data-enc", enc]);
    }
    let out = cmd.output().expect("python3 with pysaml2 (pip install -r tests/tools/requirements.txt)");
    assert!(out.status.success(), "pysaml2 sign failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_string()
}

/// A live pysaml2 IdP on loopback; killed on drop.
pub struct LiveIdp {
    child: Child,
    pub base: String,
    pub workdir: tempfile::TempDir,
}

impl LiveIdp {
    pub fn start(sp_metadata_url: &str, extra: &[&str]) -> LiveIdp {
        let workdir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(workdir.path().join("idp.log")).expect("log");
        let mut child = Command::new("python3")
            .arg(script())
            .args(["serve", "--port", "0", "--workdir"])
            .arg(workdir.path())
            .args(["--sp-metadata", sp_metadata_url])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start pysaml2 IdP");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("READY line");
        let base =
            line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("IdP did not start: {line:?}")).to_string();
        LiveIdp { child, base, workdir }
    }

    pub fn metadata(&self) -> String {
        std::fs::read_to_string(self.workdir.path().join("idp-metadata.xml")).expect("idp metadata")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.workdir.path().join("idp.log")).unwrap_or_default()
    }
}

impl Drop for LiveIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The auto-post form an IdP answered with: (action, SAMLResponse, RelayState).
pub fn scrape_form(html: &str) -> (String, String, Option<String>) {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    };
    let action = html.split("action=\"").nth(1).and_then(|s| s.split('"').next()).expect("form action");
    let input = |name: &str| {
        html.split(&format!("name=\"{name}\" value=\"")).nth(1).and_then(|s| s.split('"').next()).map(unescape)
    };
    (unescape(action), input("SAMLResponse").expect("SAMLResponse input"), input("RelayState"))
}
