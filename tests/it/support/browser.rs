//! Headless Chromium (Debian's `chromium` + `chromium-driver`) driven over the W3C WebDriver
//! protocol with plain JSON on reqwest: a dozen commands are all the journeys need, so no
//! WebDriver crate. Each browser gets a fresh profile and download folder, default cookie
//! rules, and is quit (and its chromedriver killed) on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(20);

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    pub downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

fn binary(name: &str, fallback: &str) -> String {
    for candidate in [name, fallback] {
        if Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!("{name} is missing: apt-get install chromium chromium-driver (see .ci/run)");
}

impl Browser {
    pub async fn start() -> Browser {
        let chromedriver = binary("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");
        let chromium = binary("/usr/bin/chromium", "/usr/lib/chromium/chromium");
        let mut driver = Command::new(chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut out = BufReader::new(driver.stdout.take().expect("stdout"));
        let mut port = None;
        let mut line = String::new();
        while port.is_none() && out.read_line(&mut line).expect("chromedriver output") > 0 {
            port = line
                .split("successfully on port ")
                .nth(1)
                .and_then(|p| p.trim().trim_end_matches('.').parse::<u16>().ok());
            line.clear();
        }
        let port = port.expect("chromedriver did not report its port");
        // Keep draining its stdout so a chatty driver never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let (downloads, profile) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1100",
            // acceptInsecureCerts covers the first tab only; a tab a target=_blank form opens
            // (the console's Test login) meets the self-signed certificate too.
            "--ignore-certificate-errors",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // `spconnect serve` starts with a self-signed certificate; a newcomer clicks through
            // the browser's warning (the README says so), the first-run journey does the same.
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            },
        }}});
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser { driver, base, session: String::new(), http, downloads, _profile: profile };
        let created = browser.cmd(reqwest::Method::POST, "/session", Some(caps)).await;
        browser.session = created["sessionId"].as_str().expect("sessionId").to_string();
        browser
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let v: Value = res.json().await.expect("WebDriver JSON");
        assert!(status.is_success(), "{method} {path} -> {status}: {v}");
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, &self.s("/url"), Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, &self.s("/url"), None).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, &self.s("/source"), None).await.as_str().unwrap_or_default().to_string()
    }

    /// Wait until `css` matches an element (pages load, IdP forms auto-submit).
    pub async fn find(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            let res = self
                .http
                .post(format!("{}{}", self.base, self.s("/element")))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("find element");
            if res.status().is_success() {
                let v: Value = res.json().await.expect("json");
                return v["value"][ELEMENT_KEY].as_str().expect("element id").to_string();
            }
            if start.elapsed() > WAIT {
                panic!("no element {css:?} at {} after {WAIT:?}:\n{}", self.url().await, self.source().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::POST, &self.s(&format!("/element/{el}/click")), Some(json!({}))).await;
    }

    /// Type into a field; for a file input the text is the path of the file to upload.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::POST, &self.s(&format!("/element/{el}/clear")), Some(json!({}))).await;
        self.cmd(reqwest::Method::POST, &self.s(&format!("/element/{el}/value")), Some(json!({"text": text}))).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::GET, &self.s(&format!("/element/{el}/text")), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Press a key in the focused element (`\u{E004}` Tab, `\u{E007}` Enter).
    pub async fn keys(&self, keys: &str) {
        let actions = keys
            .chars()
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect::<Vec<_>>();
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(reqwest::Method::POST, &self.s("/actions"), Some(body)).await;
    }

    /// The id attribute of the focused element.
    pub async fn focused_id(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, &self.s("/element/active"), None).await;
        let el = v[ELEMENT_KEY].as_str().expect("active element").to_string();
        let id = self.cmd(reqwest::Method::GET, &self.s(&format!("/element/{el}/attribute/id")), None).await;
        id.as_str().unwrap_or_default().to_string()
    }

    /// Switch to the tab a `target=_blank` link or form opened (waits for it).
    pub async fn switch_to_new_tab(&self) {
        let current = self.cmd(reqwest::Method::GET, &self.s("/window"), None).await;
        let start = Instant::now();
        loop {
            let handles = self.cmd(reqwest::Method::GET, &self.s("/window/handles"), None).await;
            let other = handles.as_array().into_iter().flatten().find(|h| **h != current).cloned();
            if let Some(handle) = other {
                self.cmd(reqwest::Method::POST, &self.s("/window"), Some(json!({"handle": handle}))).await;
                return;
            }
            assert!(start.elapsed() < WAIT, "no new tab opened");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.cmd(reqwest::Method::POST, &self.s("/window/rect"), Some(json!({"width": width, "height": height}))).await;
    }

    /// The page's scroll width in CSS pixels: wider than the window means sideways scrolling.
    /// The serious and critical accessibility violations axe-core (tests/tools/node_modules, from
    /// `npm ci --prefix tests/tools`) finds on the current page, one line each: rule, impact,
    /// what it checks, and up to three offending elements.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = super::repo_root().join("tests/tools/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `npm ci --prefix tests/tools`)", path.display()));
        let post = reqwest::Method::POST;
        let script = format!("{axe}\nreturn typeof window.axe;");
        let loaded =
            self.cmd(post.clone(), &self.s("/execute/sync"), Some(json!({"script": script, "args": []}))).await;
        assert_eq!(loaded, "object", "axe-core loaded into the page");
        let run = r#"
            const done = arguments[arguments.length - 1];
            window.axe.run(document, { resultTypes: ["violations"] })
              .then(r => done(r.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => v.id + " (" + v.impact + "): " + v.help + " at " +
                     v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "))))
              .catch(e => done(["axe-core failed: " + e]));"#;
        let found = self.cmd(post, &self.s("/execute/async"), Some(json!({"script": run, "args": []}))).await;
        found.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    /// Run `script` in the page (WebDriver execute/sync); its return value.
    pub async fn execute(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, &self.s("/execute/sync"), Some(json!({"script": script, "args": []}))).await
    }

    pub async fn scroll_width(&self) -> i64 {
        let v = self
            .cmd(
                reqwest::Method::POST,
                &self.s("/execute/sync"),
                Some(json!({"script": "return document.documentElement.scrollWidth", "args": []})),
            )
            .await;
        v.as_i64().unwrap_or_default()
    }

    /// Save a PNG of the page under target/journey-screenshots/ (a test artifact).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.cmd(reqwest::Method::GET, &self.s("/screenshot"), None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().expect("base64")).expect("png");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = super::repo_root().join("target/journey-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Wait for a finished download (Chromium writes `*.crdownload` until it is complete).
    pub async fn downloaded(&self, file_name: &str) -> PathBuf {
        let path = self.downloads.path().join(file_name);
        let start = Instant::now();
        while !path.exists() {
            let present: Vec<_> =
                std::fs::read_dir(self.downloads.path()).expect("downloads").flatten().map(|e| e.file_name()).collect();
            assert!(start.elapsed() < WAIT, "{file_name} not downloaded; the folder holds {present:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        path
    }
}

impl Drop for Browser {
    /// Quit the browser through chromedriver (a bare kill of the driver would leave Chromium
    /// running), with a blocking request since drop cannot await.
    fn drop(&mut self) {
        let mut quit = false;
        if !self.session.is_empty() {
            let addr = self.base.trim_start_matches("http://").to_string();
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let req = format!(
                    "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session
                );
                let mut answer = Vec::new();
                if s.write_all(req.as_bytes()).is_ok() {
                    let _ = s.read_to_end(&mut answer);
                }
                quit = answer.starts_with(b"HTTP/1.1 200");
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if !quit {
            // A hung page kept chromedriver from quitting Chromium, which would outlive the
            // test: end the processes of this browser's own profile directory, by PID.
            let profile = format!("--user-data-dir={}", self._profile.path().display());
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if cmdline.split(|b| *b == 0).any(|arg| arg == profile.as_bytes()) {
                    let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
                }
            }
        }
    }
}
