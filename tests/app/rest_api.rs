//! The bearer REST API (`/api/v1/issues`): scopes, refused tokens (expired, wrong audience or
//! issuer, unsigned), introspection mode and its rate limit, and 503 without the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{self, CLIENT_ID, EMILY, JOHN, OTHER_CLIENT, Options, TestApp, browser, sign_in_rows};
use crate::sealer;

async fn rest(
    app: &TestApp,
    method: reqwest::Method,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, app.url("/api/v1/issues"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

/// With the database gone, writes are answered 503 with a readable body (never 500), on the
/// server functions and the REST API alike.
#[tokio::test]
async fn without_the_database_writes_get_503() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let token = app.password_token(CLIENT_ID, JOHN).await;
    issues_app::on_db!(&app.state.db, |pool| pool.close().await);

    let (status, body) = app
        .call(&john, "create_issue", &[("title", "Lost?"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, json!("Unavailable"), "the error the page shows");

    let (status, _, body) = rest(
        &app,
        reqwest::Method::POST,
        Some(&token),
        Some(json!({"title": "Lost?"})),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

#[tokio::test]
async fn the_rest_api_honours_scopes() {
    let app = TestApp::spawn().await;
    let john = app.password_token(CLIENT_ID, JOHN).await;
    let emily = app.password_token(CLIENT_ID, EMILY).await;

    let (status, headers, body) = rest(
        &app,
        reqwest::Method::POST,
        Some(&john),
        Some(json!({"title": "Via API"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["title"], "Via API");
    assert!(headers.contains_key("location"));

    let (status, _, body) = rest(&app, reqwest::Method::GET, Some(&emily), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issues"][0]["title"], "Via API");

    let (status, headers, body) = rest(
        &app,
        reqwest::Method::POST,
        Some(&emily),
        Some(json!({"title": "Nope"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_scope");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"") && challenge.contains("issues:create"),
        "{challenge}"
    );
    assert_eq!(app.issue_count().await, 1);

    let (status, headers, _) = rest(&app, reqwest::Method::GET, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));

    // Bad bodies from an authorized caller.
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&john)
        .header("content-type", "text/plain")
        .body("title")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, body) = rest(&app, reqwest::Method::POST, Some(&john), Some(json!({"title": " "}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&john)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Tokens in the query string are refused.
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/issues?access_token={john}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_rest_api_refuses_bad_tokens_with_401() {
    let app = TestApp::spawn().await;

    // Expired: issued by an IdP whose clock is two hours behind.
    app.idp().shift_clock(-7200);
    let expired = app.password_token(CLIENT_ID, JOHN).await;
    app.idp().shift_clock(7200);

    // Wrong audience: a token for another application.
    let other_audience = app.password_token(OTHER_CLIENT, JOHN).await;

    // Unsigned.
    let valid = app.password_token(CLIENT_ID, JOHN).await;
    let payload = valid.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let unsigned = format!("{header}.{payload}.");
    let mut corrupted = valid.clone();
    corrupted.pop();
    corrupted.push(if valid.ends_with('A') { 'B' } else { 'A' });

    for (name, token) in [
        ("expired", expired.as_str()),
        ("wrong audience", other_audience.as_str()),
        ("unsigned", unsigned.as_str()),
        ("corrupted signature", corrupted.as_str()),
        ("not a JWT", "hello"),
    ] {
        let (status, headers, body) = rest(&app, reqwest::Method::GET, Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["error"], "invalid_token", "{name}");
        assert!(
            headers["www-authenticate"].to_str().unwrap().contains("invalid_token"),
            "{name}"
        );
    }
    // The audience refusal names the token's `aud` and what this API accepts.
    let (_, _, body) = rest(&app, reqwest::Method::GET, Some(&other_audience), None).await;
    let said = body["error_description"].as_str().unwrap();
    assert!(
        said.starts_with(&format!(
            "the access token is for another audience: its `aud` is `{OTHER_CLIENT}`"
        )) && said.contains(&format!("this API accepts `{CLIENT_ID}`")),
        "{said}"
    );
    let (status, _, _) = rest(&app, reqwest::Method::GET, Some(&valid), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_rest_api_refuses_tokens_from_another_issuer() {
    // Two IdPs sharing one signing key: the signature checks out, the issuer does not.
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("keys.json");
    let app = TestApp::spawn_with(Options {
        key_file: Some(key_file.clone()),
        ..Options::default()
    })
    .await;
    let mut options = dev_idp::Options::new(
        harness::directory(&app.base, &Options::default()),
        ([127, 0, 0, 1], 0).into(),
    );
    options.key_file = Some(key_file);
    let stranger = dev_idp::start(options).await.unwrap();
    assert_eq!(stranger.current_kid(), app.idp().current_kid());
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", stranger.organization_url()))
        .basic_auth(CLIENT_ID, Some(harness::SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "john"),
            ("password", "john-dev-password"),
            ("scope", "issues:view"),
        ])
        .send()
        .await
        .unwrap();
    let token: Value = response.json().await.unwrap();
    let (status, _, body) = rest(&app, reqwest::Method::GET, token["access_token"].as_str(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_description"], "the access token comes from another issuer");
}

#[tokio::test]
async fn introspection_mode_asks_the_idp() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["AuthorizationConfig"]["TokenValidation"] = json!("introspection")
    })
    .await;
    let john = app.password_token(CLIENT_ID, JOHN).await;
    let (status, _, _) = rest(&app, reqwest::Method::GET, Some(&john), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = rest(&app, reqwest::Method::GET, Some("not-a-token-the-idp-knows"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Revoked at the IdP before first use: introspection says inactive.
    let revoked = app.password_token(CLIENT_ID, EMILY).await;
    harness::idp_post(&app, "/oauth2/revoke", &[("token", &revoked)]).await;
    let (status, _, body) = rest(&app, reqwest::Method::GET, Some(&revoked), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_description"], "the access token is not active");

    // Active at the IdP, but not an access token for this API: refused.
    let other_client = app.password_token(OTHER_CLIENT, JOHN).await;
    let (status, _, body) = rest(&app, reqwest::Method::GET, Some(&other_client), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let said = body["error_description"].as_str().unwrap();
    assert!(
        said.starts_with("the access token is for another audience: its `aud` is `") && said.contains(OTHER_CLIENT),
        "{said}"
    );
    let browser = browser();
    app.sign_in(&browser, JOHN, "/").await;
    let tokens = sign_in_rows(&app).await.remove(0).tokens(&sealer()).unwrap();
    let refresh_token = tokens.refresh_token.expect("a refresh token");
    let (status, _, body) = rest(&app, reqwest::Method::GET, Some(&refresh_token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_description"], "the token is not an access token");

    // A refused token is refused again from memory: the IdP is not asked twice.
    let asked = app.state.tokens.introspector().calls();
    let (status, _, _) = rest(&app, reqwest::Method::GET, Some(&refresh_token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.state.tokens.introspector().calls(), asked);
}

#[tokio::test]
async fn introspection_calls_are_rate_limited_per_client_address() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["AuthorizationConfig"]["TokenValidation"] = json!("introspection")
    })
    .await;
    let mut statuses = Vec::new();
    for n in 0..40 {
        let (status, headers, _) = rest(&app, reqwest::Method::GET, Some(&format!("garbage-{n}")), None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=10).contains(&retry), "{retry}");
        }
        statuses.push(status);
    }
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(limited >= 10, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    assert!(app.state.tokens.introspector().calls() <= 30);
}
