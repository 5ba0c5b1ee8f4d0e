//! A discovery document naming another issuer, or plain-http endpoints elsewhere, stops sign-in.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::browser;
use crate::hostile::HostileOp;

use super::app_against;

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_stops_sign_in_with_503() {
    let op = HostileOp::start().await;
    op.set(|b| b.discovery_issuer = Some("https://evil.example/oauth2/token".into()));
    let app = app_against(&op).await;
    let response = browser().get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains("Sign-in is unavailable"));
    assert_eq!(op.hits("/oauth2/authorize"), 0);
}

#[tokio::test]
async fn a_discovery_document_naming_plain_http_endpoints_elsewhere_stops_sign_in() {
    let op = HostileOp::start().await;
    op.set(|b| {
        b.discovery_edit = Some(Arc::new(|document: &mut Value| {
            document["token_endpoint"] = json!("http://idp.example.com/oauth2/token");
        }))
    });
    let app = app_against(&op).await;
    let response = browser().get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(op.hits("/oauth2/authorize"), 0);
}

/// `issues-app check` flags a plain-http token endpoint off this machine, and does not send the
/// client secret there to probe it.
#[tokio::test]
async fn check_sends_no_secret_to_a_plain_http_token_endpoint_it_flags() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    op.set(|b| {
        b.discovery_edit = Some(Arc::new(|document: &mut Value| {
            document["token_endpoint"] = json!("http://idp.example.com/oauth2/token");
        }))
    });
    let overrides = issues_app::server::ops::config::Overrides {
        listen: Some(app.base.trim_start_matches("http://").to_string()),
        ..Default::default()
    };
    let report = issues_app::server::ops::check::check(&app.dir.path().join("config.json"), &overrides).await;
    let said: Vec<&str> = report.findings.iter().map(|finding| finding.message.as_str()).collect();
    assert!(
        said.iter().any(|message| message
            .starts_with("`token_endpoint` is `http://idp.example.com/oauth2/token`: not an https URL")),
        "{report}"
    );
    assert!(
        !said
            .iter()
            .any(|message| message.starts_with("token endpoint http://idp.example.com")
                || message.contains("and its secret")
                || message.contains("credentials probe")),
        "the secret was sent to probe it:\n{report}"
    );
}
