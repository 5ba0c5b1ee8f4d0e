//! `Server.LogFormat: "json"`: the server (as a process) writes one JSON object per line, with a
//! line per answered request naming its request id, path, status, latency and the caller's
//! `sub`, and never the token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, JOHN, TestApp, config_json, free_port};

/// The server process, stopped when the test ends however it ends.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn json_logs_have_a_line_per_request_with_who_and_how_long() {
    let provider = TestApp::spawn().await;
    let token = provider.password_token(CLIENT_ID, JOHN).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let mut config: Value = serde_json::from_str(&config_json(&provider.organization_url, &base, dir.path())).unwrap();
    config["Server"]["LogFormat"] = json!("json");
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let mut server = Stopped(
        Command::new(env!("CARGO_BIN_EXE_issues-app"))
            .arg("--config")
            .arg(&path)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("RUST_LOG")
            .env_remove("LEPTOS_SITE_ADDR")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines, logged) = std::sync::mpsc::channel::<String>();
    let stderr = BufReader::new(server.0.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = client
        .get(format!("{base}/api/v1/issues"))
        .bearer_auth(&token)
        .header("x-request-id", "logs-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut seen = Vec::new();
    let answered = loop {
        let line = logged
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no request line among:\n{}", seen.join("\n")));
        let object: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not one JSON object per line: {line}"));
        assert!(!line.contains(&token), "a token in the logs: {line}");
        seen.push(line);
        if object["span"]["id"] == "logs-test-1" && object["message"] == "finished processing request" {
            break object;
        }
    };
    drop(server);
    assert_eq!(answered["level"], "INFO", "{answered}");
    assert_eq!(answered["status"], 200, "{answered}");
    assert!(answered["latency"].is_string(), "{answered}");
    assert_eq!(answered["span"]["path"], "/api/v1/issues", "{answered}");
    assert_eq!(answered["span"]["method"], "GET", "{answered}");
    let john = provider
        .idp()
        .directory()
        .user_by_username("john")
        .unwrap()
        .sub
        .to_string();
    assert_eq!(answered["span"]["sub"], json!(john), "{answered}");
}
