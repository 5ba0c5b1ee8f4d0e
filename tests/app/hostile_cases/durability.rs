//! Durability: fifty concurrent creates make fifty rows, issues and sessions survive a restart,
//! and kill -9 during a burst loses no acknowledged issue.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, JOHN, SECRET, TestApp, bearer_get_json, browser, free_port};

#[tokio::test]
async fn fifty_concurrent_creates_make_fifty_rows() {
    let app = TestApp::spawn().await;
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for n in 0..50 {
        let request = client
            .post(app.url("/api/v1/issues"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("Concurrent {n}")}));
        tasks.push(tokio::spawn(async move { request.send().await.unwrap() }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.insert(response.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 50);
    assert_eq!(app.issue_count().await, 50);
}

#[tokio::test]
async fn issues_and_sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    app.call(
        &john,
        "create_issue",
        &[("title", "Before the restart"), ("description", "")],
    )
    .await;
    let app = app.restart().await;
    let (status, page) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK, "the session survived");
    assert_eq!(page["issues"][0]["title"], "Before the restart");
}

#[tokio::test]
async fn kill_9_during_a_burst_loses_no_acknowledged_issue() {
    let idp = dev_idp::start(dev_idp::Options::new(
        crate::harness::directory("http://127.0.0.1:9", &Default::default()),
        ([127, 0, 0, 1], 0).into(),
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("config.json");
    let mut text: Value =
        serde_json::from_str(&crate::harness::config_json(&idp.organization_url(), &base, dir.path())).unwrap();
    if let Some(url) = crate::harness::fresh_database_url().await {
        text["Server"]["DatabaseUrl"] = json!(url);
    }
    std::fs::write(&config, text.to_string()).unwrap();
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_issues-app"))
            .args(["--config", config.to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_ready = || async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut server = start();
    wait_ready().await;

    let token = reqwest::Client::new()
        .post(format!("{}/oauth2/token", idp.organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "john"),
            ("password", "john-dev-password"),
            ("scope", "issues:create issues:view"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, token, base, acknowledged) = (client.clone(), token.clone(), base.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..500 {
                let sent = client
                    .post(format!("{base}/api/v1/issues"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("burst {writer}-{n}")}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                        acknowledged.lock().unwrap().push(id);
                    }
                    // The server died mid-request: that write was never acknowledged.
                    _ => break,
                }
            }
        }));
    }
    // Kill once a good number of writes were acknowledged.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 100 {
        assert!(std::time::Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let mut server = start();
    wait_ready().await;
    let mut stored = std::collections::HashSet::new();
    let mut before: Option<i64> = None;
    loop {
        let mut url = format!("{base}/api/v1/issues?limit=100");
        if let Some(before) = before {
            url.push_str(&format!("&before={before}"));
        }
        let page = bearer_get_json(&client, &url, &token).await;
        for issue in page["issues"].as_array().unwrap() {
            stored.insert(issue["id"].as_i64().unwrap());
        }
        match page["next_before"].as_i64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let missing: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(acknowledged.len() >= 100);
}
