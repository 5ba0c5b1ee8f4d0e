//! The provider over real HTTP: discovery, the browser login with PKCE, every grant, errors as
//! RFC 6749 says, introspection, revocation, logout, key rotation and persistence, and role
//! changes made while it runs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dev_idp::directory::AccessTokenFormat;
use dev_idp::{DEFAULT_DIRECTORY_JSON, Directory, DirectoryFile, Options, RunningIdp};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT_ID: &str = "issues-app-dev-client";
const SECRET: &str = "issues-app-dev-secret-change-me";
const REDIRECT: &str = "http://127.0.0.1:1/auth/callback";
const POST_LOGOUT: &str = "http://127.0.0.1:1/";
const NO_ROTATION_ID: &str = "no-rotation-client";
const OPAQUE_ID: &str = "opaque-client";
const API: &str = "https://issues-app.local/api";
const SCOPES: &str = "openid profile email issues:view issues:create";

/// The shipped directory with test redirect URIs and two more applications: one without
/// refresh-token rotation, one with opaque access tokens.
fn directory(back_channel: Option<&str>) -> Directory {
    let mut description = DirectoryFile::from_json(DEFAULT_DIRECTORY_JSON, "test directory").unwrap();
    let app = &mut description.applications[0];
    app.redirect_uris = vec![REDIRECT.into()];
    app.post_logout_redirect_uris = vec![POST_LOGOUT.into()];
    if let Some(url) = back_channel {
        app.back_channel_logout_url = Some(url.into());
    }
    let mut no_rotation = app.clone();
    no_rotation.client_id = NO_ROTATION_ID.into();
    no_rotation.name = "No Rotation".into();
    no_rotation.refresh_token_rotation = false;
    no_rotation.back_channel_logout_url = None;
    let mut opaque = no_rotation.clone();
    opaque.client_id = OPAQUE_ID.into();
    opaque.name = "Opaque".into();
    opaque.access_token_format = AccessTokenFormat::Opaque;
    description.applications.extend([no_rotation, opaque]);
    Directory::from_description(description, "test directory").unwrap()
}

async fn spawn_with(options: Options) -> RunningIdp {
    dev_idp::start(options).await.unwrap()
}

async fn spawn() -> RunningIdp {
    spawn_with(Options::new(directory(None), ([127, 0, 0, 1], 0).into())).await
}

/// A browser: keeps cookies, never follows redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

struct Authorization {
    client_id: String,
    scope: String,
    challenge: Option<(String, String)>,
    extra: Vec<(String, String)>,
}

impl Authorization {
    fn new(scope: &str) -> Self {
        let (verifier, challenge) = pkce_pair();
        Self {
            client_id: CLIENT_ID.into(),
            scope: scope.into(),
            challenge: Some((challenge, "S256".into())),
            extra: vec![("__verifier".into(), verifier)],
        }
    }

    fn verifier(&self) -> String {
        self.extra.iter().find(|(k, _)| k == "__verifier").unwrap().1.clone()
    }

    fn url(&self, idp: &RunningIdp) -> String {
        let mut url = url::Url::parse(&format!("{}/oauth2/authorize", idp.organization_url())).unwrap();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("scope", &self.scope)
                .append_pair("state", "state-123")
                .append_pair("nonce", "nonce-456");
            if let Some((challenge, method)) = &self.challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", method);
            }
            for (name, value) in &self.extra {
                if !name.starts_with("__") {
                    query.append_pair(name, value);
                }
            }
        }
        url.to_string()
    }
}

/// Opens the authorize URL, fills in the sign-in form, returns the final redirect's query.
async fn sign_in(
    browser: &reqwest::Client,
    idp: &RunningIdp,
    auth: &Authorization,
    username: &str,
    password: &str,
) -> HashMap<String, String> {
    let page = browser.get(auth.url(idp)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form"), "expected the sign-in form: {html}");
    let response = browser
        .post(format!("{}/commonauth", idp.organization_url()))
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", username.into()),
            ("password", password.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let location = location(&response);
    assert!(location.starts_with(REDIRECT), "{location}");
    query_of(&location)
}

async fn token_request(idp: &RunningIdp, client_id: &str, secret: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", idp.organization_url()))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn exchange(idp: &RunningIdp, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_request(
        idp,
        CLIENT_ID,
        SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn jwks(idp: &RunningIdp) -> JwkSet {
    reqwest::get(format!("{}/oauth2/jwks", idp.organization_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies a token the way a resource server would: jsonwebtoken with the published JWKS,
/// RS256 pinned, issuer exact, audience containing `audience`.
fn verify(jwks: &JwkSet, token: &str, audience: &str, issuer: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("kid in JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

fn scopes_of(value: &Value) -> Vec<String> {
    value.as_str().unwrap().split(' ').map(str::to_string).collect()
}

async fn introspect(idp: &RunningIdp, token: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", idp.organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Signs in as `username` with the default scopes and exchanges the code.
async fn tokens_for(idp: &RunningIdp, username: &str, password: &str) -> Value {
    let auth = Authorization::new(SCOPES);
    let query = sign_in(&browser(), idp, &auth, username, password).await;
    let (status, body) = exchange(idp, &query["code"], &auth.verifier()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn discovery_and_jwks_are_valid_and_consistent() {
    let idp = spawn().await;
    let discovery: Value = reqwest::get(format!(
        "{}/oauth2/token/.well-known/openid-configuration",
        idp.organization_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let org = idp.organization_url();
    assert_eq!(discovery["issuer"], format!("{org}/oauth2/token"));
    assert_eq!(discovery["issuer"], idp.issuer());
    for (key, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("jwks_uri", "/oauth2/jwks"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oidc/logout"),
    ] {
        assert_eq!(discovery[key], format!("{org}{path}"), "{key}");
    }
    assert_eq!(discovery["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(discovery["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(discovery["authorization_response_iss_parameter_supported"], json!(true));

    let keys = jwks(&idp).await;
    assert_eq!(keys.keys.len(), 1);
    let key = &keys.keys[0];
    assert_eq!(key.common.key_id.as_deref(), Some(idp.current_kid().as_str()));
    assert_eq!(serde_json::to_value(key).unwrap()["alg"], "RS256");
    assert_eq!(serde_json::to_value(key).unwrap()["use"], "sig");

    let tokens = tokens_for(&idp, "john", "john-dev-password").await;
    let header = jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), key.common.key_id.as_deref());
    idp.shutdown().await;
}

#[tokio::test]
async fn john_signs_in_with_code_and_pkce_and_gets_create_and_view() {
    let idp = spawn().await;
    let auth = Authorization::new(SCOPES);
    let query = sign_in(&browser(), &idp, &auth, "john", "john-dev-password").await;
    assert_eq!(query["state"], "state-123");
    assert_eq!(query["iss"], idp.issuer(), "RFC 9207 iss parameter");
    let (status, tokens) = exchange(&idp, &query["code"], &auth.verifier()).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    assert!(tokens["refresh_token"].is_string());
    let granted = scopes_of(&tokens["scope"]);
    for scope in ["openid", "profile", "email", "issues:view", "issues:create"] {
        assert!(granted.contains(&scope.to_string()), "{scope} in {granted:?}");
    }

    let keys = jwks(&idp).await;
    let access = tokens["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let claims = verify(&keys, access, API, idp.issuer());
    assert_eq!(claims["sub"], "0b4d7f64-3a0e-4c1b-9f58-6a2e8d1c7b01");
    assert_eq!(claims["aut"], "APPLICATION_USER");
    assert_eq!(claims["aud"], json!([CLIENT_ID, API]));
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["org_name"], "dev");
    for claim in ["iat", "nbf", "exp", "jti", "org_id"] {
        assert!(!claims[claim].is_null(), "{claim}");
    }
    assert!(scopes_of(&claims["scope"]).contains(&"issues:create".to_string()));

    let id_token = tokens["id_token"].as_str().unwrap();
    let id = verify(&keys, id_token, CLIENT_ID, idp.issuer());
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["azp"], CLIENT_ID);
    assert_eq!(id["given_name"], "John");
    assert_eq!(id["email"], "john@dev.example");
    assert!(id["sid"].is_string() && id["auth_time"].is_i64() && id["amr"].is_array());
    let expected_at_hash = URL_SAFE_NO_PAD.encode(&digest::digest(&digest::SHA256, access.as_bytes()).as_ref()[..16]);
    assert_eq!(id["at_hash"], expected_at_hash);

    let userinfo: Value = reqwest::Client::new()
        .get(format!("{}/oauth2/userinfo", idp.organization_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], claims["sub"]);
    assert_eq!(userinfo["name"], "John Manager");
}

#[tokio::test]
async fn emily_never_gets_create_even_when_she_asks() {
    let idp = spawn().await;
    let tokens = tokens_for(&idp, "emily", "emily-dev-password").await;
    let granted = scopes_of(&tokens["scope"]);
    assert!(granted.contains(&"issues:view".to_string()));
    assert!(!granted.contains(&"issues:create".to_string()), "{granted:?}");
    let claims = verify(
        &jwks(&idp).await,
        tokens["access_token"].as_str().unwrap(),
        CLIENT_ID,
        idp.issuer(),
    );
    assert!(!scopes_of(&claims["scope"]).contains(&"issues:create".to_string()));
    // Unknown scopes are dropped silently, not refused.
    let auth = Authorization::new("openid issues:view issues:delete made-up");
    let query = sign_in(&browser(), &idp, &auth, "emily", "emily-dev-password").await;
    let (_, tokens) = exchange(&idp, &query["code"], &auth.verifier()).await;
    assert_eq!(tokens["scope"], "openid issues:view");
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_with_an_error() {
    let idp = spawn().await;
    let browser = browser();
    let auth = Authorization::new(SCOPES);
    let html = browser.get(auth.url(&idp)).send().await.unwrap().text().await.unwrap();
    let response = browser
        .post(format!("{}/commonauth", idp.organization_url()))
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", "john".into()),
            ("password", "wrong".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong username or password"));
    // A form post without the token from the page is refused (CSRF).
    let forged = browser
        .post(format!("{}/commonauth", idp.organization_url()))
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", "forged".into()),
            ("username", "john".into()),
            ("password", "john-dev-password".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    // A browser that never opened the form cannot post it either.
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = other
        .post(format!("{}/commonauth", idp.organization_url()))
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", "john".into()),
            ("password", "john-dev-password".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn idp_session_skips_the_form_and_prompt_is_honoured() {
    let idp = spawn().await;
    let browser = browser();
    sign_in(&browser, &idp, &Authorization::new(SCOPES), "john", "john-dev-password").await;

    let again = Authorization::new(SCOPES);
    let response = browser.get(again.url(&idp)).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "second sign-in skips the form"
    );
    let query = query_of(&location(&response));
    let (status, _) = exchange(&idp, &query["code"], &again.verifier()).await;
    assert_eq!(status, StatusCode::OK);

    let mut login = Authorization::new(SCOPES);
    login.extra.push(("prompt".into(), "login".into()));
    let response = browser.get(login.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "prompt=login shows the form");

    let mut none = Authorization::new(SCOPES);
    none.extra.push(("prompt".into(), "none".into()));
    let response = crate::browser().get(none.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let query = query_of(&location(&response));
    assert_eq!(query["error"], "login_required");
    assert_eq!(query["state"], "state-123");
}

#[tokio::test]
async fn authorization_requests_are_checked() {
    let idp = spawn().await;
    // Untrusted redirect: an error page at the provider, never a redirect.
    let mut evil = url::Url::parse(&Authorization::new(SCOPES).url(&idp)).unwrap();
    let pairs: Vec<(String, String)> = evil
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "redirect_uri" {
                "https://evil.example/cb".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    evil.query_pairs_mut().clear().extend_pairs(pairs);
    let response = browser().get(evil).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());

    // plain PKCE is refused with a redirect carrying the error.
    let mut plain = Authorization::new(SCOPES);
    plain.challenge = Some(("a".repeat(43), "plain".into()));
    let response = browser().get(plain.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let query = query_of(&location(&response));
    assert_eq!(query["error"], "invalid_request");
    assert_eq!(query["iss"], idp.issuer());

    // PKCE is mandatory for this application.
    let mut missing = Authorization::new(SCOPES);
    missing.challenge = None;
    let response = browser().get(missing.url(&idp)).send().await.unwrap();
    assert_eq!(query_of(&location(&response))["error"], "invalid_request");

    // Repeated parameters are refused.
    let repeated = format!("{}&scope=openid", Authorization::new(SCOPES).url(&idp));
    assert_eq!(
        browser().get(repeated).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn code_exchange_refuses_what_rfc_6749_and_7636_refuse() {
    let idp = spawn().await;
    // A fresh browser each time, so every code comes through the sign-in form.
    let code_for = |auth: Authorization| {
        let idp = &idp;
        async move {
            let query = sign_in(&browser(), idp, &auth, "john", "john-dev-password").await;
            (query["code"].clone(), auth.verifier())
        }
    };

    let (code, _) = code_for(Authorization::new(SCOPES)).await;
    let (status, body) = exchange(&idp, &code, &"x".repeat(50)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "wrong verifier"
    );

    let (code, _) = code_for(Authorization::new(SCOPES)).await;
    let (status, body) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "missing verifier"
    );

    let (code, verifier) = code_for(Authorization::new(SCOPES)).await;
    let (status, body) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "mismatched redirect_uri"
    );

    let (code, verifier) = code_for(Authorization::new(SCOPES)).await;
    let (status, body) = token_request(
        &idp,
        CLIENT_ID,
        "not-the-secret-at-all",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "wrong secret"
    );

    // Reuse: refused, and what the first exchange issued is revoked.
    let (code, verifier) = code_for(Authorization::new(SCOPES)).await;
    let (status, first) = exchange(&idp, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        introspect(&idp, first["access_token"].as_str().unwrap()).await["active"],
        true
    );
    let (status, body) = exchange(&idp, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "reused code"
    );
    assert_eq!(
        introspect(&idp, first["access_token"].as_str().unwrap()).await["active"],
        false
    );
    assert_eq!(
        introspect(&idp, first["refresh_token"].as_str().unwrap()).await["active"],
        false
    );

    // Expired: codes live 60 seconds.
    let (code, verifier) = code_for(Authorization::new(SCOPES)).await;
    idp.shift_clock(61);
    let (status, body) = exchange(&idp, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "expired code"
    );

    // Unsupported grant and non-form bodies.
    let (status, body) = token_request(&idp, CLIENT_ID, SECRET, &[("grant_type", "implicit")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", idp.organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn refresh_rotates_when_configured_and_not_otherwise() {
    let idp = spawn().await;
    let tokens = tokens_for(&idp, "john", "john-dev-password").await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", first)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let second = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(first, second, "rotation issues a new refresh token");
    assert!(scopes_of(&refreshed["scope"]).contains(&"issues:create".to_string()));
    assert!(refreshed["id_token"].is_string());
    let (status, body) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", first)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "old one is spent"
    );
    let (status, _) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", second)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Without rotation the same refresh token keeps working.
    let (status, tokens) = token_request(
        &idp,
        NO_ROTATION_ID,
        SECRET,
        &[
            ("grant_type", "password"),
            ("username", "emily"),
            ("password", "emily-dev-password"),
            ("scope", "openid issues:view"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = token_request(
            &idp,
            NO_ROTATION_ID,
            SECRET,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["refresh_token"], refresh);
    }
    // Another client cannot use it.
    let (status, body) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn revoked_tokens_introspect_inactive() {
    let idp = spawn().await;
    let tokens = tokens_for(&idp, "john", "john-dev-password").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let active = introspect(&idp, access).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["username"], "john");
    assert!(scopes_of(&active["scope"]).contains(&"issues:create".to_string()));
    assert_eq!(introspect(&idp, "no-such-token").await["active"], false);

    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/revoke", idp.organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspect(&idp, refresh).await, json!({"active": false}));
    assert_eq!(
        introspect(&idp, access).await,
        json!({"active": false}),
        "revoking the refresh token revokes its grant"
    );
    let (status, body) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Introspection needs client authentication.
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", idp.organization_url()))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn client_credentials_get_app_authorized_scopes_only() {
    let idp = spawn().await;
    let (status, tokens) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "issues:view issues:create issues:archive openid"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "issues:view issues:create");
    assert!(tokens.get("refresh_token").is_none() && tokens.get("id_token").is_none());
    let claims = verify(
        &jwks(&idp).await,
        tokens["access_token"].as_str().unwrap(),
        API,
        idp.issuer(),
    );
    assert_eq!(claims["aut"], "APPLICATION");
    assert_eq!(claims["sub"], CLIENT_ID);

    // client_secret_post works as well.
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", idp.organization_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", "issues:view"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_grant_applies_rbac() {
    let idp = spawn().await;
    let grant = |username: &'static str, password: &'static str| {
        let idp = &idp;
        async move {
            token_request(
                idp,
                CLIENT_ID,
                SECRET,
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                    ("scope", "openid issues:view issues:create"),
                ],
            )
            .await
        }
    };
    let (status, john) = grant("john", "john-dev-password").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(john["scope"], "openid issues:view issues:create");
    let (_, emily) = grant("emily", "emily-dev-password").await;
    assert_eq!(emily["scope"], "openid issues:view");
    let (status, wrong) = grant("emily", "nope").await;
    assert_eq!(
        (status, wrong["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

/// `PUT {org}/dev/users/{username}/roles` with `body` as JSON, authenticated with Basic when
/// `credentials` are given. The status and the JSON answer (`Null` when there is none).
async fn put_roles(
    idp: &RunningIdp,
    username: &str,
    body: &str,
    credentials: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .put(format!("{}/dev/users/{username}/roles", idp.organization_url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some((client_id, secret)) = credentials {
        request = request.basic_auth(client_id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_administrator_s_role_change_reaches_the_next_authorization_and_refresh() {
    let idp = spawn().await;
    let scopes = "openid roles issues:view issues:create";
    let browser = browser();
    let auth = Authorization::new(scopes);
    let query = sign_in(&browser, &idp, &auth, "emily", "emily-dev-password").await;
    let (status, before) = exchange(&idp, &query["code"], &auth.verifier()).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["scope"], "openid roles issues:view");

    let client = Some((CLIENT_ID, SECRET));
    let manager = json!({"roles": ["Manager"]}).to_string();
    assert_eq!(
        put_roles(&idp, "emily", &manager, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = put_roles(&idp, "emily", &manager, Some((CLIENT_ID, "not-the-secret-at-all"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert_eq!(idp.directory().user_by_username("emily").unwrap().roles, ["Employee"]);
    assert_eq!(
        put_roles(&idp, "emily", &manager, client).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(idp.directory().user_by_username("emily").unwrap().roles, ["Manager"]);

    // Silently (prompt=none, the IdP session of the sign-in above): the new role's scopes.
    let mut silent = Authorization::new(scopes);
    silent.extra.push(("prompt".into(), "none".into()));
    let response = browser.get(silent.url(&idp)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let query = query_of(&location(&response));
    let (status, after) = exchange(&idp, &query["code"], &silent.verifier()).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["scope"], "openid roles issues:view issues:create");
    let claims = verify(
        &jwks(&idp).await,
        after["access_token"].as_str().unwrap(),
        API,
        idp.issuer(),
    );
    assert!(scopes_of(&claims["scope"]).contains(&"issues:create".to_string()));
    let id = verify(
        &jwks(&idp).await,
        after["id_token"].as_str().unwrap(),
        CLIENT_ID,
        idp.issuer(),
    );
    assert_eq!(id["roles"], json!(["Manager"]));

    // A password grant too.
    let (status, fresh) = token_request(
        &idp,
        CLIENT_ID,
        SECRET,
        &[
            ("grant_type", "password"),
            ("username", "emily"),
            ("password", "emily-dev-password"),
            ("scope", "issues:view issues:create"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["scope"], "issues:view issues:create");

    // A refresh never widens the original grant (RFC 6749 §6)...
    let refresh = |token: &Value| {
        let idp = &idp;
        let token = token["refresh_token"].as_str().unwrap().to_string();
        async move {
            let form = [("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
            token_request(idp, CLIENT_ID, SECRET, &form).await
        }
    };
    let (status, refreshed) = refresh(&before).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "openid roles issues:view");
    // ...but drops what a role taken away granted.
    let employee = json!({"roles": ["Employee"]}).to_string();
    assert_eq!(
        put_roles(&idp, "emily", &employee, client).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, refreshed) = refresh(&after).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "openid roles issues:view");
    let id = verify(
        &jwks(&idp).await,
        refreshed["id_token"].as_str().unwrap(),
        CLIENT_ID,
        idp.issuer(),
    );
    assert_eq!(id["roles"], json!(["Employee"]));

    // Refusals: the token endpoint's error shape, and nothing changes.
    let (status, body) = put_roles(&idp, "emily", &json!({"roles": ["Janitor"]}).to_string(), client).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert!(
        body["error_description"].as_str().unwrap().contains("Janitor"),
        "{body}"
    );
    let (status, body) = put_roles(&idp, "nobody", &manager, client).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    for malformed in [
        "{",
        r#"{"roles": "Manager"}"#,
        r#"{"roles": ["Manager"], "groups": []}"#,
        "",
    ] {
        let (status, body) = put_roles(&idp, "emily", malformed, client).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{malformed:?}"
        );
    }
    assert_eq!(idp.directory().user_by_username("emily").unwrap().roles, ["Employee"]);
    idp.shutdown().await;
}

#[tokio::test]
async fn logout_checks_the_post_logout_redirect_and_ends_the_session() {
    // A tiny receiver for back-channel logout tokens.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |axum::Form(form): axum::Form<HashMap<String, String>>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(form["logout_token"].clone());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let idp = spawn_with(Options::new(
        directory(Some(&format!("http://{receiver_addr}/backchannel"))),
        ([127, 0, 0, 1], 0).into(),
    ))
    .await;

    let browser = browser();
    let auth = Authorization::new(SCOPES);
    let query = sign_in(&browser, &idp, &auth, "john", "john-dev-password").await;
    let (_, tokens) = exchange(&idp, &query["code"], &auth.verifier()).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = verify(&jwks(&idp).await, id_token, CLIENT_ID, idp.issuer())["sid"].clone();

    let logout = format!("{}/oidc/logout", idp.organization_url());
    let response = browser
        .get(&logout)
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "https://evil.example/"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "unregistered post-logout URI"
    );
    assert!(response.headers().get("location").is_none());
    // Still signed in: the form is skipped.
    assert_eq!(
        browser
            .get(Authorization::new(SCOPES).url(&idp))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );

    let response = browser
        .get(&logout)
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{POST_LOGOUT}?state=s1"));
    // The IdP session is over: the form is shown again.
    assert_eq!(
        browser
            .get(Authorization::new(SCOPES).url(&idp))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // The back-channel logout token arrives and is a valid logout token for this session.
    let mut token = None;
    for _ in 0..100 {
        if let Some(first) = received.lock().unwrap().first().cloned() {
            token = Some(first);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let token = token.expect("a back-channel logout token");
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let claims = verify(&jwks(&idp).await, &token, CLIENT_ID, idp.issuer());
    assert_eq!(claims["sid"], sid);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_verifiable() {
    let idp = spawn().await;
    let old = tokens_for(&idp, "john", "john-dev-password").await;
    let old_kid = idp.current_kid();
    let new_kid = idp.rotate_signing_key().unwrap();
    assert_ne!(old_kid, new_kid);
    let keys = jwks(&idp).await;
    assert_eq!(keys.keys.len(), 2);
    verify(&keys, old["access_token"].as_str().unwrap(), API, idp.issuer());
    let new = tokens_for(&idp, "john", "john-dev-password").await;
    let header = jsonwebtoken::decode_header(new["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    verify(&keys, new["access_token"].as_str().unwrap(), API, idp.issuer());

    idp.retire_old_signing_keys().unwrap();
    let keys = jwks(&idp).await;
    assert_eq!(keys.keys.len(), 1);
    assert!(keys.find(&old_kid).is_none());
}

#[tokio::test]
async fn restart_keeps_the_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys.json");
    let mut options = Options::new(directory(None), ([127, 0, 0, 1], 0).into());
    options.key_file = Some(key_file.clone());
    let first = spawn_with(options.clone()).await;
    let kid = first.current_kid();
    let tokens = tokens_for(&first, "john", "john-dev-password").await;
    first.shutdown().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file is private");
    }

    let second = spawn_with(options).await;
    assert_eq!(second.current_kid(), kid);
    // A token from before the restart still verifies against the new JWKS (same issuer path).
    let keys = jwks(&second).await;
    let header = jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap()).unwrap();
    assert!(keys.find(header.kid.as_deref().unwrap()).is_some());
}

#[tokio::test]
async fn opaque_access_tokens_are_validated_by_introspection() {
    let idp = spawn().await;
    let (status, tokens) = token_request(
        &idp,
        OPAQUE_ID,
        SECRET,
        &[
            ("grant_type", "password"),
            ("username", "john"),
            ("password", "john-dev-password"),
            ("scope", "openid issues:create"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(jsonwebtoken::decode_header(access).is_err(), "not a JWT");
    let info = introspect(&idp, access).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["scope"], "openid issues:create");
    assert_eq!(info["client_id"], OPAQUE_ID);
}

#[tokio::test]
async fn hostile_requests_get_4xx_never_5xx() {
    let idp = spawn().await;
    let client = reqwest::Client::new();
    let token_url = format!("{}/oauth2/token", idp.organization_url());
    let big = "a".repeat(100 * 1024);
    let response = client
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=password&username={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for body in ["%%%", "grant_type=password&grant_type=password", "", "\u{0}\u{202e}"] {
        let response = client
            .post(&token_url)
            .basic_auth(CLIENT_ID, Some(SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body:?}");
    }
    let response = client
        .get(format!("{}/oauth2/userinfo", idp.organization_url()))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let refused = dev_idp::start(Options::new(directory(None), ([0, 0, 0, 0], 0).into())).await;
    assert!(matches!(refused, Err(dev_idp::StartError::NotLoopback(_))));
}

#[tokio::test]
async fn repeated_wrong_passwords_make_the_username_wait_even_for_the_right_one() {
    let idp = spawn().await;
    let grant = |password: &'static str| {
        let idp = &idp;
        async move {
            let form = [
                ("grant_type", "password"),
                ("username", "emily"),
                ("password", password),
            ];
            token_request(idp, CLIENT_ID, SECRET, &form).await
        }
    };
    for _ in 0..3 {
        let (status, body) = grant("nope").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error_description"],
            "Wrong username or password. Please try again."
        );
    }
    // The fourth attempt, right or wrong, must wait; the password is not even checked.
    let (status, body) = grant("emily-dev-password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Too many wrong passwords"),
        "{body}"
    );
    // John is not slowed by Emily's failures.
    let john = [
        ("grant_type", "password"),
        ("username", "john"),
        ("password", "john-dev-password"),
    ];
    assert_eq!(token_request(&idp, CLIENT_ID, SECRET, &john).await.0, StatusCode::OK);
    // A second later (the provider's clock) Emily's right password is accepted.
    idp.shift_clock(1);
    assert_eq!(grant("emily-dev-password").await.0, StatusCode::OK);
}

#[tokio::test]
async fn reachable_beyond_this_machine_with_a_committed_secret_it_refuses_to_start() {
    let mut description = DirectoryFile::from_json(DEFAULT_DIRECTORY_JSON, "test directory").unwrap();
    let mut options = Options::new(Directory::development(), ([127, 0, 0, 1], 0).into());
    options.public_url = Some("http://idp.example.com:9443".into());
    let error = dev_idp::start(options.clone()).await.err().expect("refused");
    assert!(
        error.to_string().contains("application `issues-app-dev-client`"),
        "{error}"
    );

    description.applications[0].client_secret = Some("a-secret-of-its-own-0123456789".into());
    options.directory = Directory::from_description(description.clone(), "test directory").unwrap();
    let error = dev_idp::start(options.clone()).await.err().expect("refused");
    assert!(error.to_string().contains("user `john`"), "{error}");

    for user in &mut description.users {
        user.password = format!("{}-own-password", user.username);
    }
    options.directory = Directory::from_description(description, "test directory").unwrap();
    let idp = dev_idp::start(options).await.expect("secrets of its own");
    idp.shutdown().await;
}

#[tokio::test]
async fn five_hundred_half_sent_requests_are_cut_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let idp = spawn().await;
    let address = idp.local_addr();
    let started = std::time::Instant::now();
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET /t/dev/oauth2/jwks HT").await.unwrap();
        slow.spawn(async move {
            let mut buffer = [0u8; 256];
            let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                while let Ok(read) = stream.read(&mut buffer).await {
                    if read == 0 {
                        break;
                    }
                }
            })
            .await;
            closed.is_ok()
        });
    }
    assert!(!jwks(&idp).await.keys.is_empty(), "a normal client is served meanwhile");
    while let Some(closed) = slow.join_next().await {
        assert!(closed.unwrap(), "a half-sent request was still open after 30 s");
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(10),
        "cut at the header timeout, not before"
    );
}
