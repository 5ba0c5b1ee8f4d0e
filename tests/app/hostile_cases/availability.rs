//! Availability: the app starts while the IdP is down and recovers when it returns, and a request
//! over the time limit is answered 503 while the server goes on.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{JOHN, TestApp, browser, free_port};
use crate::hostile::{HostileOp, TokenAnswer};

use super::{app_against_configured, attempt, signed_in_count};

#[tokio::test]
async fn the_app_starts_while_the_idp_is_down_and_recovers() {
    let idp_port = free_port();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_base = format!("http://{}", listener.local_addr().unwrap());
    let organization = format!("http://127.0.0.1:{idp_port}/t/dev");
    let app = TestApp::spawn_against(listener, None, &organization, |_| {}, tempfile::tempdir().unwrap()).await;

    let response = browser().get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains("Sign-in is unavailable"));
    assert_eq!(
        browser().get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        browser().get(app.url("/readyz")).send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    let directory = crate::harness::directory(&app_base, &Default::default());
    let idp = dev_idp::start(dev_idp::Options::new(directory, ([127, 0, 0, 1], idp_port).into()))
        .await
        .unwrap();
    // Discovery is retried at most every 2 s: poll, bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = browser().get(app.url("/auth/login")).send().await.unwrap();
        if response.status() == StatusCode::SEE_OTHER {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "sign-in did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let john = browser();
    assert_eq!(app.sign_in(&john, JOHN, "/issues").await, "/issues");
    drop(idp);
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_503_and_the_server_goes_on() {
    let op = HostileOp::start().await;
    // The provider takes 4 s to answer the code exchange; the app may take 1 s per request.
    op.set(|b| b.token = TokenAnswer::Slow(Duration::from_secs(4)));
    let app = app_against_configured(&op, |config| {
        config["Server"]["IdentityProviderTimeoutSeconds"] = json!(10);
        config["Server"]["RequestTimeoutSeconds"] = json!(1);
    })
    .await;
    let started = Instant::now();
    let (status, body, _) = attempt(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("took too long"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered before the provider did"
    );
    assert_eq!(signed_in_count(&app).await, 0);
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
