//! Webhooks: a receiver here verifies every signature and gets every change of a run of 1,000
//! exactly once and in order per issue, though it is down for part of the run and the app
//! restarts in the middle; a webhook may not reach a private address it is not allowed, and
//! the delivery log shows a failure that an auditor posts again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use issues_app::server::delivery::webhooks::sign;
use issues_app::server::ops::config::signing_key;
use serde_json::{Value, json};

use crate::harness::{ALEX, CLIENT_ID, JOHN, Options, TestApp, bearer_get_json, browser};

/// A secret as Standard Webhooks writes one.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwxxxxxxxxxxxx";

/// What the receiver got: each accepted post's id, change and issue, in arrival order; and
/// whether it is answering (else 503).
#[derive(Default)]
struct Received {
    up: bool,
    accepted: Vec<(String, i64, i64)>,
    refused: usize,
    bad_signatures: Vec<String>,
    /// Changes refused once while up (every seventh is, the first time): a later change of the
    /// same issue must wait for it.
    flaked: std::collections::HashSet<i64>,
}

type Receiver = Arc<Mutex<Received>>;

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
async fn receiver(received: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(receive)).with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The app with one webhook to `url`, retried after a second, its secret in a file.
async fn app_posting_to(url: &str, allow_private: bool) -> TestApp {
    let url = url.to_string();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let secret = secret.display().to_string();
    let app = TestApp::spawn_configured(Options::default(), move |config| {
        config["Webhooks"] = json!([{ "Url": url, "SecretFile": secret, "AllowPrivateAddress": allow_private }]);
        config["Server"]["WebhookFirstRetrySeconds"] = json!(1);
    })
    .await;
    // The secret's directory lives as long as the test (the app read it already).
    std::mem::forget(dir);
    app
}

/// Waits until `done` holds of what was received (at most `within`).
async fn until(received: &Receiver, within: Duration, done: impl Fn(&Received) -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if done(&received.lock().unwrap()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not received in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes changes through the REST API: for each of `issues` new issues, created, renamed,
/// commented on, closed and commented on again (five changes each), several issues at once.
async fn changes(app: &TestApp, issues: usize) -> usize {
    let token = app
        .password_token_for(
            CLIENT_ID,
            JOHN,
            "issues:view issues:create issues:comment issues:edit issues:close",
        )
        .await;
    let client = reqwest::Client::new();
    let one = |n: usize| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let send = |method: reqwest::Method, path: String, body: Value| {
                client
                    .request(method, app.url(&path))
                    .bearer_auth(&token)
                    .header("If-Match", "*")
                    .json(&body)
                    .send()
            };
            let created: Value = send(
                reqwest::Method::POST,
                "/api/v1/issues".into(),
                json!({"title": format!("Change run {n}")}),
            )
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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

#[tokio::test]
async fn a_receiver_gets_every_change_once_in_order_per_issue_signed_across_a_restart_and_an_outage() {
    let received: Receiver = Arc::new(Mutex::new(Received {
        up: true,
        ..Received::default()
    }));
    let url = receiver(received.clone()).await;
    let mut app = app_posting_to(&url, true).await;

    let mut made = changes(&app, 60).await;
    // The receiver goes down: deliveries are refused and tried again.
    received.lock().unwrap().up = false;
    made += changes(&app, 40).await;
    until(&received, Duration::from_secs(30), |r| r.refused > 0).await;
    // The app restarts in the middle of it all.
    app = app.restart().await;
    made += changes(&app, 60).await;
    received.lock().unwrap().up = true;
    made += changes(&app, 40).await;
    assert_eq!(made, 1000);
    until(&received, Duration::from_secs(60), |r| r.accepted.len() >= made).await;
    // A moment more: nothing arrives twice.
    let settled = received.lock().unwrap().accepted.len();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let received = received.lock().unwrap();
    assert_eq!(received.accepted.len(), settled);
    assert!(received.bad_signatures.is_empty(), "{:?}", received.bad_signatures);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (id, ..) in &received.accepted {
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), made, "every change");
    assert!(seen.values().all(|&times| times == 1), "exactly once");
    let mut last: HashMap<i64, i64> = HashMap::new();
    for (_, seq, issue) in &received.accepted {
        if let Some(before) = last.insert(*issue, *seq) {
            assert!(before < *seq, "issue {issue}: change {seq} came after {before}");
        }
    }
    assert!(received.refused > 0, "the outage was seen");
    drop(received);

    // The log says so.
    let token = app.password_token_for(CLIENT_ID, ALEX, "issues:view audit:view").await;
    let delivered = bearer_get_json(
        &reqwest::Client::new(),
        &app.url("/api/v1/webhooks/deliveries?state=delivered&limit=500"),
        &token,
    )
    .await;
    assert_eq!(delivered.as_array().unwrap().len(), 500);
    let retried = delivered
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["attempts"].as_i64().unwrap() > 1)
        .count();
    assert!(retried > 0, "some were tried more than once: {delivered}");
}

#[tokio::test]
async fn a_webhook_does_not_reach_a_private_address_it_is_not_allowed_and_an_auditor_posts_it_again() {
    let received: Receiver = Arc::new(Mutex::new(Received {
        up: true,
        ..Received::default()
    }));
    let url = receiver(received.clone()).await;
    // Loopback over https, not allowed a private address: refused before anything is sent.
    let https = url.replace("http://", "https://");
    let app = app_posting_to(&https, false).await;
    changes(&app, 1).await;
    let token = app.password_token_for(CLIENT_ID, ALEX, "issues:view audit:view").await;
    let client = reqwest::Client::new();
    let log = |state: &'static str| {
        let (client, token, url) = (
            client.clone(),
            token.clone(),
            app.url(&format!("/api/v1/webhooks/deliveries?state={state}")),
        );
        async move { bearer_get_json(&client, &url, &token).await }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let pending = loop {
        let pending = log("pending").await;
        if pending
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["attempts"].as_i64().unwrap() > 0)
        {
            break pending;
        }
        assert!(tokio::time::Instant::now() < deadline, "no attempt: {pending}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let tried = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["attempts"].as_i64().unwrap() > 0)
        .unwrap();
    assert!(
        tried["last_error"]
            .as_str()
            .unwrap()
            .contains("private or loopback address"),
        "{tried}"
    );
    assert_eq!(received.lock().unwrap().accepted.len(), 0);
    assert_eq!(received.lock().unwrap().refused, 0, "nothing reached it");

    // Only a failed delivery is posted again; a pending one is 404, a bad id 400.
    let id = tried["id"].as_i64().unwrap();
    let again = client
        .post(app.url(&format!("/api/v1/webhooks/deliveries/{id}/redeliver")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let bad = client
        .post(app.url("/api/v1/webhooks/deliveries/x/redeliver"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // Without audit:view: refused.
    let john = app.password_token(CLIENT_ID, JOHN).await;
    let refused = client
        .get(app.url("/api/v1/webhooks/deliveries"))
        .bearer_auth(&john)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A day has passed (as the database sees it): given up. An auditor posts it again.
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed', done_at = next_at, lease_until = NULL WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(drop))
    .unwrap();
    let again = client
        .post(app.url(&format!("/api/v1/webhooks/deliveries/{id}/redeliver")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["state"].as_str(), again["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    let trail = bearer_get_json(&client, &app.url("/api/v1/audit"), &token).await;
    assert_eq!(trail["events"][0]["event"], "webhook_redelivered", "{trail}");

    // The audit page's log, and its Redeliver (a plain form over a server function).
    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    let page = app.page_text(&alex, "/audit/webhooks").await;
    assert!(
        page.contains(&https) && page.contains(&format!("data-delivery-id=\"{id}\"")),
        "{page}"
    );
    assert!(!page.contains("Redeliver"), "none has failed");
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed' WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(drop))
    .unwrap();
    let page = app.page_text(&alex, "/audit/webhooks").await;
    assert!(page.contains("Redeliver"), "{page}");
    let (status, body) = app.call(&alex, "redeliver_webhook", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.call(&alex, "redeliver_webhook", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only a failed one");
    let emily = browser();
    app.sign_in(&emily, crate::harness::EMILY, "/").await;
    assert_eq!(
        emily.get(app.url("/audit/webhooks")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}
