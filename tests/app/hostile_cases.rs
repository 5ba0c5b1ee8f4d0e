//! The app against a provider that lies, and against hostile clients: each case shows the
//! app's exact behaviour. A refused sign-in means: an error page with the stated status, no
//! sign-in stored, an anonymous session, and no further call to the provider (no userinfo).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, JOHN, SECRET, TestApp, browser, location};
use crate::hostile::{HostileOp, Mint, Minter, TokenAnswer, now, unsigned};

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

fn claims_edit(edit: impl Fn(&mut Value) + Send + Sync + 'static) -> Minter {
    Arc::new(move |mint: &Mint<'_>| {
        let mut claims = mint.claims.clone();
        edit(&mut claims);
        mint.op.sign(0, &claims)
    })
}

fn forged(sign: impl Fn(&Mint<'_>) -> String + Send + Sync + 'static) -> Minter {
    Arc::new(sign)
}

#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let cases: Vec<(&str, Minter)> = vec![
        (
            "wrong iss",
            claims_edit(|c| c["iss"] = json!("https://evil.example/oauth2/token")),
        ),
        (
            "missing aud",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("aud"))),
        ),
        ("foreign aud", claims_edit(|c| c["aud"] = json!("someone-else"))),
        (
            "extra untrusted aud, no azp",
            claims_edit(|c| c["aud"] = json!([CLIENT_ID, "someone-else"])),
        ),
        (
            "azp of another client",
            claims_edit(|c| c["azp"] = json!("someone-else")),
        ),
        (
            "missing sub",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
        (
            "missing iat",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("iat"))),
        ),
        (
            "expired",
            claims_edit(|c| {
                c["exp"] = json!(now() - 600);
                c["iat"] = json!(now() - 900);
            }),
        ),
        (
            "exp as a string",
            claims_edit(|c| c["exp"] = json!((now() + 300).to_string())),
        ),
        ("wrong nonce", claims_edit(|c| c["nonce"] = json!("not-the-nonce"))),
        (
            "missing nonce",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("nonce"))),
        ),
        (
            "alg none",
            forged(|m| unsigned(json!({"alg": "none", "typ": "JWT"}), &m.claims, "")),
        ),
        ("alg None", forged(|m| unsigned(json!({"alg": "None"}), &m.claims, ""))),
        ("alg NONE", forged(|m| unsigned(json!({"alg": "NONE"}), &m.claims, ""))),
        (
            "HS256 with the RSA public key",
            forged(|m| {
                let secret = m.op.keys[0].public_key_pem();
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS256),
                    &m.claims,
                    &EncodingKey::from_secret(secret.as_bytes()),
                )
                .unwrap()
            }),
        ),
        (
            "HS256 with the client secret",
            forged(|m| {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(m.op.keys[0].kid().to_string());
                jsonwebtoken::encode(&header, &m.claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
            }),
        ),
        (
            "corrupted signature",
            forged(|m| {
                let token = m.op.sign(0, &m.claims);
                let (head, signature) = token.rsplit_once('.').unwrap();
                let flipped: String = signature.chars().rev().collect::<String>();
                format!("{head}.{flipped}")
            }),
        ),
        (
            "jku pointing elsewhere",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(m.op.attacker.kid().to_string());
                header.jku = Some(format!("{}/elsewhere", m.op.base));
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "x5u pointing elsewhere",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.x5u = Some(format!("{}/elsewhere", m.op.base));
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "embedded jwk",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.jwk = Some(m.op.attacker.jwk().clone());
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "signed by an unpublished key",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(m.op.attacker.kid().to_string());
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "at_hash of another token",
            claims_edit(|c| c["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA")),
        ),
    ];
    for (case, minter) in cases {
        op.set(|b| b.id_token = minter);
        // Tokens openidconnect cannot even parse (missing `sub` or `iat`, `exp` as a string, an
        // unknown `alg` spelling)
        // make the token response itself invalid: 502. Everything else fails validation: 400.
        let unparseable = matches!(
            case,
            "missing sub" | "missing iat" | "exp as a string" | "alg None" | "alg NONE"
        );
        let (status, text) = if unparseable {
            (StatusCode::BAD_GATEWAY, "invalid answer")
        } else {
            (StatusCode::BAD_REQUEST, "did not pass validation")
        };
        assert_refused(&app, &op, case, status, text).await;
    }

    // A correct at_hash is accepted (so the refusal above is about the value).
    op.set(|b| {
        b.id_token = Arc::new(|m: &Mint<'_>| {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, m.access_token.as_bytes());
            let mut claims = m.claims.clone();
            claims["at_hash"] = json!(base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &hash.as_ref()[..16]
            ));
            m.op.sign(0, &claims)
        })
    });
    assert_signed_in(&app, "correct at_hash").await;

    // No `kid`: accepted while the JWKS has exactly one key, refused with two.
    let no_kid: Minter = forged(|m| {
        m.op.keys[0]
            .sign_with(&Header::new(Algorithm::RS256), &m.claims)
            .unwrap()
    });
    op.set(|b| b.id_token = no_kid.clone());
    assert_signed_in(&app, "no kid, one key").await;

    let op = HostileOp::start().await;
    op.set(|b| {
        b.published = vec![0, 1];
        b.id_token = no_kid;
    });
    let app = app_against(&op).await;
    assert_refused(
        &app,
        &op,
        "no kid, two keys",
        StatusCode::BAD_REQUEST,
        "did not pass validation",
    )
    .await;
}

#[tokio::test]
async fn a_rotated_key_costs_one_jwks_fetch_and_a_flood_is_rate_limited() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    assert_signed_in(&app, "first key").await;
    let fetched = op.hits("/oauth2/jwks");

    op.set(|b| {
        b.published = vec![0, 1];
        b.id_token = Arc::new(|m: &Mint<'_>| m.op.sign(1, &m.claims));
    });
    assert_signed_in(&app, "rotated key").await;
    assert_eq!(op.hits("/oauth2/jwks"), fetched + 1, "exactly one re-fetch");

    // A flood of bearer tokens with made-up kids: refused, and the JWKS is not hammered.
    let client = reqwest::Client::new();
    for attempt in 0..30 {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(format!("random-{attempt}"));
        let token = op.keys[0]
            .sign_with(&header, &access_claims(&op, "issues:view"))
            .unwrap();
        let response = client
            .get(app.url("/api/v1/issues"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        op.hits("/oauth2/jwks") <= fetched + 2,
        "re-fetches are rate-limited: {}",
        op.hits("/oauth2/jwks")
    );
}

#[tokio::test]
async fn bad_authorization_responses_are_refused() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    type Edit = fn(&mut Vec<(String, String)>);
    let cases: Vec<(&str, Edit, StatusCode, &str)> = vec![
        (
            "missing state",
            |p| p.retain(|(k, _)| k != "state"),
            StatusCode::BAD_REQUEST,
            "does not belong",
        ),
        (
            "foreign state",
            |p| {
                p.iter_mut()
                    .filter(|(k, _)| k == "state")
                    .for_each(|(_, v)| *v = "forged".into())
            },
            StatusCode::BAD_REQUEST,
            "does not belong",
        ),
        (
            "iss mismatch",
            |p| {
                p.iter_mut()
                    .filter(|(k, _)| k == "iss")
                    .for_each(|(_, v)| *v = "https://evil.example".into())
            },
            StatusCode::BAD_REQUEST,
            "unexpected identity provider",
        ),
        (
            "iss missing though advertised",
            |p| p.retain(|(k, _)| k != "iss"),
            StatusCode::BAD_REQUEST,
            "does not name",
        ),
        (
            "access_denied with markup",
            |p| {
                p.retain(|(k, _)| k != "code");
                p.push(("error".into(), "access_denied".into()));
                p.push(("error_description".into(), "<script>alert('x')</script>".into()));
            },
            StatusCode::FORBIDDEN,
            "&lt;script&gt;alert",
        ),
        (
            "no code",
            |p| p.retain(|(k, _)| k != "code"),
            StatusCode::BAD_REQUEST,
            "no authorization code",
        ),
    ];
    for (case, edit, status, text) in cases {
        op.set(|b| b.callback = Some(Arc::new(edit)));
        assert_refused(&app, &op, case, status, text).await;
        let (_, page, _) = attempt(&app).await;
        assert!(!page.contains("<script>alert"), "{case}: markup is escaped");
    }

    // Without the advertisement, a missing iss is fine (RFC 9207 §2.4).
    op.set(|b| {
        b.iss_parameter_supported = false;
        b.callback = Some(Arc::new(|p: &mut Vec<(String, String)>| p.retain(|(k, _)| k != "iss")));
    });
    let app = app_against(&op).await;
    assert_signed_in(&app, "no iss, not advertised").await;

    // A callback with no sign-in in progress.
    let response = browser()
        .get(app.url("/auth/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("No sign-in is in progress"));
}

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

#[tokio::test]
async fn bad_token_endpoint_answers_are_refused() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let elsewhere = format!("{}/elsewhere", op.base);
    let cases: Vec<(&str, TokenAnswer, StatusCode, &str)> = vec![
        (
            "500",
            TokenAnswer::Status(500, "oops", "text/plain"),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "HTML body",
            TokenAnswer::Status(200, "<html>hello</html>", "text/html"),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "invalid_grant",
            TokenAnswer::Status(400, r#"{"error":"invalid_grant"}"#, "application/json"),
            StatusCode::BAD_REQUEST,
            "did not pass validation",
        ),
        (
            "10 MB body",
            TokenAnswer::Huge(10 * 1024 * 1024),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "a body that never ends",
            TokenAnswer::Endless,
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "302 to elsewhere",
            TokenAnswer::RedirectTo(elsewhere),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "very slow",
            TokenAnswer::Slow(Duration::from_secs(4)),
            StatusCode::SERVICE_UNAVAILABLE,
            "could not be reached",
        ),
        (
            "no token_type",
            TokenAnswer::Edited(Arc::new(|b: &mut Value| {
                drop(b.as_object_mut().unwrap().remove("token_type"))
            })),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
    ];
    for (case, answer, status, text) in cases {
        op.set(|b| b.token = answer);
        assert_refused(&app, &op, case, status, text).await;
    }

    op.set(|b| {
        b.token = TokenAnswer::Edited(Arc::new(|body: &mut Value| {
            body["token_type"] = json!("BEARER");
            body.as_object_mut().unwrap().remove("expires_in");
        }))
    });
    assert_signed_in(&app, "token_type BEARER, no expires_in").await;
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

#[tokio::test]
async fn hostile_bearer_tokens_get_4xx_never_5xx() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let client = reqwest::Client::new();
    let get = |token: String| client.get(app.url("/api/v1/issues")).bearer_auth(token).send();

    // Sanity: a well-formed token from this OP works (so the refusals below mean something).
    assert_eq!(
        get(at_jwt(&op, 0, None, &access_claims(&op, "issues:view")))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    for kid in ["../../x", "' OR 1=1 --", "\u{0}", &"k".repeat(5000)] {
        let token = at_jwt(&op, 0, Some(kid), &access_claims(&op, "issues:view"));
        assert_eq!(
            get(token).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "kid {kid:?}"
        );
    }
    let huge = "a".repeat(100 * 1024);
    let status = client
        .get(app.url("/api/v1/issues"))
        .header("authorization", format!("Bearer {huge}"))
        .send()
        .await
        .unwrap()
        .status();
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{status}"
    );

    // An ID token is not an access token.
    let id_token = op.sign(0, &op.valid_claims("n"));
    assert_eq!(get(id_token).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Scope names match exactly.
    let almost = at_jwt(&op, 0, None, &access_claims(&op, "issues:view issues:create-x"));
    let response = client
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&almost)
        .json(&json!({"title": "sneaky"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let scope_as_array = at_jwt(&op, 0, None, &{
        let mut claims = access_claims(&op, "");
        claims["scope"] = json!(["issues:view", "issues:create"]);
        claims
    });
    let response = client
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&scope_as_array)
        .json(&json!({"title": "array scopes are understood"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    // The JWKS endpoint going down does not stop tokens signed with cached keys.
    op.set(|b| b.jwks_down = true);
    let fresh = at_jwt(&op, 0, None, &{
        let mut claims = access_claims(&op, "issues:view");
        claims["jti"] = json!("j2");
        claims
    });
    assert_eq!(get(fresh).await.unwrap().status(), StatusCode::OK);
    let unknown = at_jwt(&op, 1, None, &access_claims(&op, "issues:view"));
    assert_eq!(get(unknown).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Bodies: 5 MB is 413, invalid UTF-8 is 400, never 500.
    let valid = at_jwt(&op, 0, None, &access_claims(&op, "issues:view issues:create"));
    let big = client
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&valid)
        .header("content-type", "application/json")
        .body(vec![b'a'; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let invalid_utf8 = client
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&valid)
        .header("content-type", "application/json")
        .body(b"{\"title\": \"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(invalid_utf8.status(), StatusCode::BAD_REQUEST);
}

// ----- availability and durability -------------------------------------------------------------

#[tokio::test]
async fn the_app_starts_while_the_idp_is_down_and_recovers() {
    let idp_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
async fn fifty_concurrent_creates_make_fifty_rows() {
    let app = TestApp::spawn().await;
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for n in 0..50 {
        let request = client
            .post(app.url("/api/v1/issues"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("Concurrent {n}")}));
        tasks.push(tokio::spawn(async move { request.send().await.unwrap() }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.insert(response.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 50);
    assert_eq!(app.issue_count().await, 50);
}

#[tokio::test]
async fn issues_and_sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    app.call(
        &john,
        "create_issue",
        &[("title", "Before the restart"), ("description", "")],
    )
    .await;
    let app = app.restart().await;
    let (status, page) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK, "the session survived");
    assert_eq!(page["issues"][0]["title"], "Before the restart");
}

#[tokio::test]
async fn kill_9_during_a_burst_loses_no_acknowledged_issue() {
    let idp = dev_idp::start(dev_idp::Options::new(
        crate::harness::directory("http://127.0.0.1:9", &Default::default()),
        ([127, 0, 0, 1], 0).into(),
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("config.json");
    let mut text: Value =
        serde_json::from_str(&crate::harness::config_json(&idp.organization_url(), &base, dir.path())).unwrap();
    if let Some(url) = crate::harness::fresh_database_url().await {
        text["Server"]["DatabaseUrl"] = json!(url);
    }
    std::fs::write(&config, text.to_string()).unwrap();
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_issues-app"))
            .args(["--config", config.to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_ready = || async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut server = start();
    wait_ready().await;

    let token = reqwest::Client::new()
        .post(format!("{}/oauth2/token", idp.organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "john"),
            ("password", "john-dev-password"),
            ("scope", "issues:create issues:view"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (client, token, base, acknowledged) = (client.clone(), token.clone(), base.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..500 {
                let sent = client
                    .post(format!("{base}/api/v1/issues"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("burst {writer}-{n}")}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                        acknowledged.lock().unwrap().push(id);
                    }
                    // The server died mid-request: that write was never acknowledged.
                    _ => break,
                }
            }
        }));
    }
    // Kill once a good number of writes were acknowledged.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 100 {
        assert!(std::time::Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let mut server = start();
    wait_ready().await;
    let mut stored = std::collections::HashSet::new();
    let mut before: Option<i64> = None;
    loop {
        let mut url = format!("{base}/api/v1/issues?limit=100");
        if let Some(before) = before {
            url.push_str(&format!("&before={before}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for issue in page["issues"].as_array().unwrap() {
            stored.insert(issue["id"].as_i64().unwrap());
        }
        match page["next_before"].as_i64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let missing: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(acknowledged.len() >= 100);
}

/// A sign-out while a refresh waits on the provider: the refresh must not bring the sign-in or
/// the session record back (on SQLite the row came back into the in-memory copy and the session
/// record was written again by the renewal).
#[tokio::test]
async fn a_sign_out_during_a_refresh_does_not_bring_the_session_back() {
    let op = HostileOp::start().await;
    // Tokens due for refresh at once: their lifetime is inside the refresh margin.
    op.behaviour.lock().unwrap().token = TokenAnswer::Edited(Arc::new(|body| body["expires_in"] = json!(30)));
    let app = app_against_configured(&op, |config| {
        config["Server"]["IdentityProviderTimeoutSeconds"] = json!(5);
        // The idle deadline is renewed at most once a second: the refreshing call renews.
        config["Server"]["SessionIdleMinutes"] = json!(1);
    })
    .await;
    let (status, page, client) = attempt(&app).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    op.behaviour.lock().unwrap().token = TokenAnswer::Slow(Duration::from_secs(2));
    let exchanges = op.hits("/oauth2/token");
    let refreshing = {
        let client = client.clone();
        let url = app.url("/api/list_issues");
        tokio::spawn(async move {
            client
                .post(url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while op.hits("/oauth2/token") == exchanges {
        assert!(std::time::Instant::now() < deadline, "no refresh reached the provider");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signed_out = client.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    refreshing.await.unwrap();

    assert_eq!(signed_in_count(&app).await, 0, "the sign-in came back");
    assert_eq!(
        crate::harness::session_count(&app).await,
        0,
        "the session record came back"
    );
    let (status, _) = app.call(&client, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_key_the_provider_retires_stops_being_trusted_at_the_next_scheduled_fetch() {
    let op = HostileOp::start().await;
    // The OP asks for 5 s of caching (the shortest the app honours).
    op.set(|b| {
        b.published = vec![0, 1];
        b.jwks_max_age = Some(1);
    });
    let app = app_against(&op).await;
    let client = reqwest::Client::new();
    let token = at_jwt(&op, 0, None, &access_claims(&op, "issues:view"));
    let status = || client.get(app.url("/api/v1/issues")).bearer_auth(&token).send();
    assert_eq!(
        status().await.unwrap().status(),
        StatusCode::OK,
        "verified and remembered"
    );

    // The OP retires key 0; no token names an unknown key, so only the schedule can notice.
    op.set(|b| b.published = vec![1]);
    let retired = Instant::now();
    loop {
        let answer = status().await.unwrap();
        if answer.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(
            retired.elapsed() < Duration::from_secs(20),
            "a token signed with a retired key was still accepted after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(op.hits("/oauth2/jwks") >= 2);
    // Tokens signed with the key still published are accepted.
    let current = at_jwt(&op, 1, None, &access_claims(&op, "issues:view"));
    let answer = client
        .get(app.url("/api/v1/issues"))
        .bearer_auth(&current)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_tokens_must_be_fresh_carry_a_jti_and_are_accepted_once() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let post = |token: String| {
        let url = app.url("/auth/backchannel-logout");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut claims = json!({
            "iss": op.issuer, "aud": CLIENT_ID, "iat": now(), "jti": format!("jti-{}", now()),
            "sub": "mallory", "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        edit(&mut claims);
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("logout+jwt".into());
        header.kid = Some(op.keys[0].kid().to_string());
        op.keys[0].sign_with(&header, &claims).unwrap()
    };
    let fresh = claims(&|_| {});
    assert_eq!(post(fresh.clone()).await.0, StatusCode::OK);
    let (status, body) = post(fresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a replay");
    assert!(body.contains("used before"), "{body}");

    type Edit<'a> = &'a dyn Fn(&mut Value);
    let refused: [(&str, Edit); 4] = [
        ("no jti", &|c| drop(c.as_object_mut().unwrap().remove("jti"))),
        ("issued an hour ago", &|c| {
            c["iat"] = json!(now() - 3600);
            c["jti"] = json!("old");
        }),
        ("expired", &|c| {
            c["exp"] = json!(now() - 120);
            c["jti"] = json!("expired");
        }),
        ("issued in the future", &|c| {
            c["iat"] = json!(now() + 3600);
            c["jti"] = json!("future");
        }),
    ];
    for (case, edit) in refused {
        let (status, body) = post(claims(edit)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert!(body.contains("not valid"), "{case}: {body}");
    }
    // Another fresh token (its own jti) is accepted.
    let (status, _) = post(claims(&|c| c["jti"] = json!("another"))).await;
    assert_eq!(status, StatusCode::OK);
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
