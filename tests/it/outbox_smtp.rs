//! Invitations queued by SCIM are delivered through a configured SMTP relay (here a minimal
//! SMTP sink on loopback) and marked sent in the outbox.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::mpsc;

/// Accept one SMTP session and hand back the envelope recipient and the message data.
pub(crate) fn smtp_sink() -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        let mut say = |s: &str| out.write_all(format!("{s}\r\n").as_bytes()).unwrap();
        say("220 sink ESMTP");
        let (mut rcpt, mut data) = (String::new(), String::new());
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            let cmd = line.trim_end().to_string();
            line.clear();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                say("250 sink");
            } else if upper.starts_with("RCPT TO:") {
                rcpt = cmd[8..].trim().to_string();
                say("250 ok");
            } else if upper == "DATA" {
                say("354 go on");
                while lines.read_line(&mut line).unwrap_or(0) > 0 && line != ".\r\n" {
                    data.push_str(&line);
                    line.clear();
                }
                line.clear();
                say("250 queued");
                tx.send((rcpt.clone(), data.clone())).unwrap();
            } else if upper == "QUIT" {
                say("221 bye");
                break;
            } else {
                say("250 ok");
            }
        }
    });
    (port, rx)
}

#[tokio::test]
async fn scim_invitations_are_delivered_over_smtp_and_marked_sent() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let out = crate::support::spconnect(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let token: serde_json::Value = serde_json::from_str(&cli(&["--json", "scim", "token", "1"])).unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    // SCIM creates users only in a domain its node manages (no SSO configuration here).
    assert!(cli(&["node", "set-domains", "1", "acme.example"]).contains("acme.example"));

    let (smtp_port, received) = smtp_sink();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    // Killed when the guard drops, also when an assertion below fails (an orphaned server would
    // otherwise outlive the test run).
    let server = crate::support::spconnect(dir.path())
        .args(["serve", "--http", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--smtp-url", &format!("smtp://127.0.0.1:{smtp_port}"), "--smtp-from", "Acme IT <it@acme.example>"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = KillOnDrop(server);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = client
        .post(format!("{base}/api/rest/scim/v2/1/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"erin@acme.example","name":{"givenName":"Erin","familyName":"Mail"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let (rcpt, data) =
        received.recv_timeout(std::time::Duration::from_secs(20)).expect("an invitation reached the relay");
    assert_eq!(rcpt, "<erin@acme.example>");
    assert!(
        data.contains("From: \"Acme IT\" <it@acme.example>") || data.contains("From: Acme IT <it@acme.example>"),
        "{data}"
    );
    assert!(data.contains("To: erin@acme.example"), "{data}");

    let mut sent = false;
    for _ in 0..50 {
        let outbox: serde_json::Value = serde_json::from_str(&cli(&["--json", "outbox", "list"])).unwrap();
        if outbox[0]["sent_at"].is_i64() {
            sent = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.stop();
    assert!(sent, "the outbox records the delivery");
}

struct KillOnDrop(std::process::Child);

impl KillOnDrop {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.stop();
    }
}
