//! The app against a provider that lies, and against hostile clients: each case shows the
//! app's exact behaviour. A refused sign-in means: an error page with the stated status, no
//! sign-in stored, an anonymous session, and no further call to the provider (no userinfo).

mod authorization;
mod availability;
mod bearer_tokens;
mod discovery;
mod durability;
mod id_tokens;
mod jwks;
mod sign_out;
mod token_endpoint;

use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, TestApp, browser, location};
use crate::hostile::{HostileOp, now};

async fn app_against(op: &HostileOp) -> TestApp {
    app_against_configured(op, |_| {}).await
}

/// The app against `op`, with 2 s for each provider call unless `tweak` says otherwise.
async fn app_against_configured(op: &HostileOp, tweak: impl FnOnce(&mut Value)) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let configure = |config: &mut Value| {
        config["Server"]["IdentityProviderTimeoutSeconds"] = json!(2);
        tweak(config);
    };
    TestApp::spawn_against(
        listener,
        None,
        &op.organization_url(),
        configure,
        tempfile::tempdir().unwrap(),
    )
    .await
}

/// Runs a whole sign-in against the hostile OP; returns the callback's status and page.
async fn attempt(app: &TestApp) -> (StatusCode, String, reqwest::Client) {
    let client = browser();
    let start = client.get(app.url("/auth/login")).send().await.unwrap();
    if start.status() != StatusCode::SEE_OTHER {
        let status = start.status();
        return (status, start.text().await.unwrap(), client);
    }
    let at_op = client.get(location(&start)).send().await.unwrap();
    assert_eq!(at_op.status(), StatusCode::SEE_OTHER);
    let callback = client.get(location(&at_op)).send().await.unwrap();
    let status = callback.status();
    (status, callback.text().await.unwrap(), client)
}

async fn signed_in_count(app: &TestApp) -> usize {
    crate::harness::sign_in_rows(app).await.len()
}

async fn assert_refused(app: &TestApp, op: &HostileOp, case: &str, status: StatusCode, text: &str) {
    let (got, page, client) = attempt(app).await;
    assert_eq!(got, status, "{case}: {page}");
    assert!(page.contains(text), "{case}: expected `{text}` in {page}");
    assert_eq!(signed_in_count(app).await, 0, "{case}: nothing stored");
    let (_, info) = app.call(&client, "session_info", &[]).await;
    assert!(info["user"].is_null(), "{case}: session stays anonymous");
    assert_eq!(op.hits("/oauth2/userinfo"), 0, "{case}: no userinfo call");
    assert_eq!(op.hits("/elsewhere"), 0, "{case}: nothing fetched elsewhere");
}

async fn assert_signed_in(app: &TestApp, case: &str) {
    let (status, page, client) = attempt(app).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{case}: {page}");
    let (_, info) = app.call(&client, "session_info", &[]).await;
    assert_eq!(info["user"]["name"], "Mallory", "{case}");
}

fn access_claims(op: &HostileOp, scope: &str) -> Value {
    json!({
        "iss": op.issuer, "sub": "client-program", "aud": [CLIENT_ID, "https://issues-app.local/api"],
        "client_id": CLIENT_ID, "scope": scope, "iat": now(), "nbf": now(), "exp": now() + 300, "jti": "j1",
    })
}

fn at_jwt(op: &HostileOp, key: usize, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(
        kid.map(str::to_string)
            .unwrap_or_else(|| op.keys[key].kid().to_string()),
    );
    op.keys[key].sign_with(&header, claims).unwrap()
}
