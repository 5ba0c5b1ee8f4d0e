//! config.json changed while the app serves: scopes apply within seconds, a broken edit changes
//! nothing, settings that need a restart are named.

use std::time::{Duration, Instant};

use issues_app::server::ops::live::Reloaded;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{CLIENT_ID, JOHN, OTHER_CLIENT, TestApp, browser, edit_config, next_reload};

#[tokio::test]
async fn a_changed_create_scope_applies_within_seconds_and_a_broken_edit_changes_nothing() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (status, _) = app
        .call(&john, "create_issue", &[("title", "Before"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK);

    // The create scope becomes one John's role does not carry.
    let before = app.state.config.reload_attempts();
    let changed_at = Instant::now();
    edit_config(&app, |config| {
        config["Features"]["Issues"]["scopes"]["create"] = json!(["issues:admin"]);
    });
    match next_reload(&app, before).await {
        Reloaded::Applied { needs_restart } => assert!(needs_restart.is_empty(), "{needs_restart:?}"),
        refused => panic!("{refused:?}"),
    }
    assert!(
        changed_at.elapsed() < Duration::from_secs(5),
        "{:?}",
        changed_at.elapsed()
    );
    let (status, body) = app
        .call(&john, "create_issue", &[("title", "After"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, info) = app.call(&john, "session_info", &[]).await;
    assert_eq!(info["permissions"]["create_issue"], json!(false));
    let html = john.get(app.url("/issues")).send().await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("id=\"create-issue\""),
        "the page no longer offers the form"
    );
    assert!(html.contains("Before"), "{html}");

    // A broken edit: the error names the field, and the app serves on as it was.
    let before = app.state.config.reload_attempts();
    edit_config(&app, |config| {
        config["Features"]["Issues"]["scopes"]["create"] = json!(["issues:create", "has space"]);
    });
    match next_reload(&app, before).await {
        Reloaded::Refused(error) => assert!(error.contains("`Features.Issues.scopes.create[1]`"), "{error}"),
        applied => panic!("{applied:?}"),
    }
    let (status, _) = app
        .call(
            &john,
            "create_issue",
            &[("title", "Still refused"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["issues"][0]["title"], "Before");

    // Not JSON at all: the same.
    let before = app.state.config.reload_attempts();
    std::fs::write(app.dir.path().join("config.json"), "{ \"AuthorizationConfig\": ").unwrap();
    assert!(matches!(next_reload(&app, before).await, Reloaded::Refused(_)));
    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn settings_that_need_a_restart_are_named_and_kept() {
    let app = TestApp::spawn().await;
    let pool_size = app.state.config.load().database_max_connections;
    // A token for another application: not an accepted audience yet.
    let token = app.password_token(OTHER_CLIENT, JOHN).await;
    let issues = |token: String| {
        let url = app.url("/api/v1/issues");
        async move { browser().get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(issues(token.clone()).await, StatusCode::UNAUTHORIZED);
    let before = app.state.config.reload_attempts();
    edit_config(&app, |config| {
        config["Server"]["DatabaseMaxConnections"] = json!(pool_size + 1);
        config["ApplicationConfig"]["ClientId"] = json!("renamed-client");
        config["Server"]["RequestTimeoutSeconds"] = json!(7);
        config["AuthorizationConfig"]["Audiences"] = json!(["issues-api", OTHER_CLIENT]);
    });
    match next_reload(&app, before).await {
        Reloaded::Applied { needs_restart } => assert_eq!(
            needs_restart,
            ["ApplicationConfig.ClientId", "Server.DatabaseMaxConnections"]
        ),
        refused => panic!("{refused:?}"),
    }
    let config = app.state.config.load();
    assert_eq!(
        config.database_max_connections, pool_size,
        "the pool size waits for a restart"
    );
    assert_eq!(config.limits.request_timeout, Duration::from_secs(7));
    assert!(config.audiences.contains(&"issues-api".to_string()));
    // The client id waits for a restart, and so does its place among the audiences.
    assert_eq!(config.client_id, CLIENT_ID);
    assert_eq!(config.audiences[0], CLIENT_ID);
    assert_eq!(issues(token).await, StatusCode::OK, "the audience added is accepted");
    // The app still answers where it was.
    let status = browser().get(app.url("/healthz")).send().await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
}
