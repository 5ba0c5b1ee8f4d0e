//! A webhook receiver for tests: it verifies each post's Standard Webhooks signature and keeps
//! what it accepted, in arrival order; it can be down (503), and refuses the first attempt at
//! every seventh change (so a later change of the same issue must wait for it). Shared by the
//! webhook tests and the two-instance test (`tests/scale_out.rs`).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use issues_app::server::delivery::webhooks::sign;
use issues_app::server::ops::config::signing_key;
use serde_json::{Value, json};

/// A secret as Standard Webhooks writes one.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwxxxxxxxxxxxx";

/// What the receiver got: each accepted post's id, change and issue, in arrival order; and
/// whether it is answering (else 503).
#[derive(Default)]
pub struct Received {
    pub up: bool,
    pub accepted: Vec<(String, i64, i64)>,
    pub refused: usize,
    pub bad_signatures: Vec<String>,
    /// Changes refused once while up (every seventh is, the first time): a later change of the
    /// same issue must wait for it.
    pub flaked: std::collections::HashSet<i64>,
}

pub type Receiver = Arc<Mutex<Received>>;

async fn receive(State(received): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let expected = sign(&signing_key(SECRET), &id, timestamp.parse().unwrap_or(0), &body);
    let mut received = received.lock().unwrap();
    if !received.up {
        received.refused += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if signature != expected || headers.get("content-type").is_none_or(|v| v != "application/json") {
        received.bad_signatures.push(id);
        return StatusCode::BAD_REQUEST;
    }
    let event: Value = serde_json::from_str(&body).unwrap();
    let seq = event["data"]["seq"].as_i64().unwrap();
    if seq % 7 == 0 && received.flaked.insert(seq) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    assert_eq!(id, format!("evt_{seq}"));
    assert_eq!(event["type"], event["data"]["kind"]);
    received
        .accepted
        .push((id, seq, event["data"]["issue_id"].as_i64().unwrap()));
    StatusCode::NO_CONTENT
}

/// A receiver on loopback; its URL.
pub async fn receiver(received: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(receive)).with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Waits until `done` holds of what was received (at most `within`).
pub async fn until(received: &Receiver, within: Duration, done: impl Fn(&Received) -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if done(&received.lock().unwrap()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not received in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes changes through the REST API at `base` with `token`: for each of `issues` new issues,
/// created, renamed, commented on, closed and commented on again (five changes each), eight
/// issues at once. Answers how many changes.
pub async fn change_run(base: &str, token: &str, issues: usize) -> usize {
    let client = reqwest::Client::new();
    let one = |n: usize| {
        let client = client.clone();
        async move {
            let send = |method: reqwest::Method, path: String, body: Value| {
                client
                    .request(method, format!("{base}{path}"))
                    .bearer_auth(token)
                    .header("If-Match", "*")
                    .json(&body)
                    .send()
            };
            let created = send(
                reqwest::Method::POST,
                "/api/v1/issues".into(),
                json!({"title": format!("Change run {n}")}),
            );
            let created: Value = created.await.unwrap().json().await.unwrap();
            let id = created["id"].as_i64().unwrap();
            for (method, path, body) in [
                (
                    reqwest::Method::PATCH,
                    format!("/api/v1/issues/{id}"),
                    json!({"title": format!("Change run {n}, renamed")}),
                ),
                (
                    reqwest::Method::POST,
                    format!("/api/v1/issues/{id}/comments"),
                    json!({"body": "first"}),
                ),
                (
                    reqwest::Method::PATCH,
                    format!("/api/v1/issues/{id}"),
                    json!({"status": "closed"}),
                ),
                (
                    reqwest::Method::POST,
                    format!("/api/v1/issues/{id}/comments"),
                    json!({"body": "second"}),
                ),
            ] {
                let answer = send(method, path, body).await.unwrap();
                assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
            }
        }
    };
    for start in (0..issues).step_by(8) {
        futures_util::future::join_all((start..(start + 8).min(issues)).map(one)).await;
    }
    issues * 5
}

/// The receiver accepted `made` changes, `settled` when first counted (nothing since), each
/// once, every signature good, and each issue's changes in order.
pub fn assert_each_once_in_order(received: &Receiver, made: usize, settled: usize) {
    let received = received.lock().unwrap();
    assert_eq!(received.accepted.len(), settled, "nothing arrived twice later");
    assert!(received.bad_signatures.is_empty(), "{:?}", received.bad_signatures);
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (id, ..) in &received.accepted {
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), made, "every change");
    assert!(seen.values().all(|&times| times == 1), "exactly once");
    let mut last: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for (_, seq, issue) in &received.accepted {
        if let Some(before) = last.insert(*issue, *seq) {
            assert!(before < *seq, "issue {issue}: change {seq} came after {before}");
        }
    }
}
