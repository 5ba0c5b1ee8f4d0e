//! Webhooks: a receiver here verifies every signature and gets every change of a run of 1,000
//! exactly once and in order per issue, though it is down for part of the run and the app
//! restarts in the middle; a webhook may not reach a private address it is not allowed, and
//! the delivery log shows a failure that an auditor posts again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ALEX, CLIENT_ID, JOHN, Options, TestApp, bearer_get_json, browser};
use crate::webhook_receiver::{Received, Receiver, SECRET, assert_each_once_in_order, change_run, receiver, until};

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

/// Makes changes through the REST API as John (see [`change_run`]).
async fn changes(app: &TestApp, issues: usize) -> usize {
    let token = app
        .password_token_for(
            CLIENT_ID,
            JOHN,
            "issues:view issues:create issues:comment issues:edit issues:close",
        )
        .await;
    change_run(&app.url(""), &token, issues).await
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

    assert_each_once_in_order(&received, made, settled);
    assert!(received.lock().unwrap().refused > 0, "the outage was seen");

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
