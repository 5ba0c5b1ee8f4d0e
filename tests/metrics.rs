//! `/metrics` on `Server.MetricsListen`: scraped before and after a sign-in, a refused create
//! and a cross-site post, the right series moved by exactly as much. Its own test binary: the `metrics` facade
//! has one recorder per process, which other tests' apps would also move.

#[path = "app/harness.rs"]
mod harness;

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{JOHN, Options, TestApp, browser, emily_forges_a_create};

/// Every sample of a Prometheus text exposition, by series (name and labels as written).
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let address = app.metrics.expect("Server.MetricsListen is set");
    let response = reqwest::get(format!("http://{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn a_sign_in_and_a_refused_create_move_their_counters() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["Server"]["MetricsListen"] = json!("127.0.0.1:0");
    })
    .await;
    let before = scrape(&app).await;

    emily_forges_a_create(&app).await;
    // Refused by the browser guard, before routing: counted under its own name.
    let cross_site = reqwest::Client::new()
        .post(format!("{}/api/create_issue", app.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[("title", "Forged"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (status, _) = app
        .call(&john, "create_issue", &[("title", "Fine"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK);

    let after = scrape(&app).await;
    let moved = |series: &str| value(&after, series) - value(&before, series);
    for (series, by) in [
        (r#"sign_ins_total{outcome="ok",reason=""}"#, 2.0),
        (
            r#"authorization_decisions_total{permission="create_issue",outcome="refused",via="server_function"}"#,
            1.0,
        ),
        (
            r#"authorization_decisions_total{permission="create_issue",outcome="allowed",via="server_function"}"#,
            1.0,
        ),
        (r#"http_requests_total{route="/api/{*fn_name}",status="403"}"#, 1.0),
        (r#"http_requests_total{route="browser guard",status="403"}"#, 1.0),
        (r#"http_requests_total{route="/auth/callback",status="303"}"#, 2.0),
        (r#"identity_provider_calls_total{endpoint="token",outcome="ok"}"#, 2.0),
    ] {
        assert_eq!(moved(series), by, "{series}");
    }
    assert!(
        value(
            &after,
            r#"http_request_duration_seconds_count{route="/api/{*fn_name}"}"#
        ) >= 2.0,
        "{after:?}"
    );
    assert_eq!(value(&after, "sessions_active"), 2.0, "{after:?}");
    assert!(
        after.contains_key(r#"database_pool_connections{state="idle"}"#),
        "{after:?}"
    );
}
