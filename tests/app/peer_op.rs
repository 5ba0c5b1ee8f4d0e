//! The app against an OpenID Provider we did not write: panva's `oidc-provider` (OpenID
//! Certified), configured like Asgardeo in `tests/peer-op/server.mjs`. The test starts it with
//! Node and stops it when done.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    CLIENT_ID, EMILY, JOHN, SECRET, SESSION_KEY, TestApp, allowed, bearer_get_json, browser, hidden, location, query_of,
};

const API: &str = "https://issues-app.local/api";
const JOHN_SUB: &str = "0b4d7f64-3a0e-4c1b-9f58-6a2e8d1c7b01";
const EMILY_SUB: &str = "7c9e2a15-5d3f-4b6a-8e21-0f4c9b3d2a02";

struct PeerOp {
    child: Child,
    base: String,
}

impl PeerOp {
    fn start(app_base: &str, access_token_seconds: u32) -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peer-op");
        assert!(
            std::path::Path::new(dir).join("node_modules/oidc-provider").exists(),
            "tests/peer-op needs its npm packages: run scripts/setup --test"
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(dir)
            .env("REDIRECT_URI", format!("{app_base}/auth/callback"))
            .env("POST_LOGOUT_REDIRECT_URI", format!("{app_base}/"))
            .env("ACCESS_TOKEN_TTL", access_token_seconds.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // Keep reading, or the provider dies of EPIPE on its next log line.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let base = line
            .trim()
            .strip_prefix("listening ")
            .expect("the peer OP started")
            .to_string();
        Self { child, base }
    }
}

impl Drop for PeerOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app_against_peer(access_token_seconds: u32) -> (TestApp, PeerOp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let peer = PeerOp::start(&base, access_token_seconds);
    // Its access tokens are for the API resource, as with Asgardeo API resources.
    let app = TestApp::spawn_against(
        listener,
        None,
        &peer.base,
        |config| config["AuthorizationConfig"]["Audiences"] = json!([API]),
        tempfile::tempdir().unwrap(),
    )
    .await;
    (app, peer)
}

/// The IdP tokens the app holds for `sub` (unsealed with the test's session key).
async fn tokens(app: &TestApp, sub: &str) -> issues_app::server::storage::sign_ins::Tokens {
    let rows = crate::harness::sign_in_rows(app).await;
    let row = rows
        .into_iter()
        .find(|row| row.sub == sub)
        .expect("a sign-in for this user");
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SESSION_KEY);
    row.tokens(&issues_app::server::support::seal::Sealer::from_base64(&key).unwrap())
        .unwrap()
}

async fn introspect(peer: &PeerOp, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", peer.base))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn peer_op_john_and_emily_get_their_role_scopes_in_app_and_api() {
    let (app, _peer) = app_against_peer(3600).await;

    let john = browser();
    assert_eq!(app.sign_in(&john, JOHN, "/issues").await, "/issues");
    let (_, info) = app.call(&john, "session_info", &[]).await;
    assert_eq!(info["user"]["name"], "John Manager");
    // The peer's roles know only the demo's two scopes: the others are silently dropped.
    assert_eq!(allowed(&info), ["create_issue", "view_issues"]);
    let (status, _) = app
        .call(
            &john,
            "create_issue",
            &[("title", "From the peer OP"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let john_token = tokens(&app, JOHN_SUB).await.access_token;

    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(allowed(&info), ["view_issues"]);
    let (status, _) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let emily_token = tokens(&app, EMILY_SUB).await.access_token;

    // Its JWT access tokens work on the REST API, with the same scope decision.
    let header = jsonwebtoken::decode_header(&john_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let client = reqwest::Client::new();
    let created = app
        .post_issue(&client, &john_token, &json!({"title": "Via the API with a peer token"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let refused = app.post_issue(&client, &emily_token, &json!({"title": "nope"})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let listed = bearer_get_json(&client, &app.url("/api/v1/issues"), &emily_token).await;
    assert_eq!(listed["issues"].as_array().unwrap().len(), 2);
    assert_eq!(app.issue_count().await, 2);
}

#[tokio::test]
async fn peer_op_refresh_revocation_and_logout() {
    // 30-second access tokens: always inside the app's refresh margin.
    let (app, peer) = app_against_peer(30).await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let first = tokens(&app, JOHN_SUB).await;
    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let second = tokens(&app, JOHN_SUB).await;
    assert_ne!(first.access_token, second.access_token, "refreshed at the peer OP");
    let refresh_token = second.refresh_token.clone().unwrap();
    assert_eq!(introspect(&peer, &refresh_token).await["active"], true);

    let response = john.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert!(
        end_session.starts_with(&format!("{}/oidc/logout", peer.base)),
        "{end_session}"
    );
    assert_eq!(
        introspect(&peer, &refresh_token).await["active"],
        false,
        "revoked at sign-out"
    );
    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // RP-initiated logout at the peer: it asks, we confirm, it returns to the app with state.
    let page = john.get(&end_session).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let action_start = html.find("action=\"").unwrap() + 8;
    let action = &html[action_start..action_start + html[action_start..].find('"').unwrap()];
    let confirm = john
        .post(url::Url::parse(&end_session).unwrap().join(action).unwrap())
        .form(&[("xsrf", hidden(&html, "xsrf")), ("logout", "yes".into())])
        .send()
        .await
        .unwrap();
    assert!(confirm.status().is_redirection(), "{}", confirm.status());
    let back = location(&confirm);
    assert!(back.starts_with(&app.url("/")), "{back}");
    assert_eq!(query_of(&back)["state"], query_of(&end_session)["state"]);
}

#[tokio::test]
async fn peer_op_passes_every_check() {
    let (app, _peer) = app_against_peer(3600).await;
    // The app's own file, with a database of its own (the running app holds its file).
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(app.dir.path().join("config.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    config["Server"]["DataDir"] = json!(dir.path());
    config["Server"].as_object_mut().unwrap().remove("DatabaseUrl");
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let overrides = issues_app::server::ops::config::Overrides {
        listen: Some(app.base.trim_start_matches("http://").to_string()),
        ..Default::default()
    };
    let report = issues_app::server::ops::check::check(&path, &overrides).await;
    assert!(!report.has_problems(), "{report}");
    let text = report.to_string();
    for expected in [
        "client `issues-app-dev-client` and its secret are accepted",
        "/auth/callback` is registered",
        "RS256 signing key(s)",
    ] {
        assert!(text.contains(expected), "no `{expected}`:\n{text}");
    }
}
