//! The app and a dev IdP over real HTTP: sign-in, sessions, server functions, the bearer REST
//! API, refresh, logout, configuration.

mod audit;
mod check;
mod edge;
mod harness;
mod hostile;
mod hostile_cases;
mod live_reload;
mod logs;
mod peer_op;
mod people;
mod sign_in_core;
mod tracker;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harness::{
    CLIENT_ID, EMILY, EMPLOYEE_MAY, JOHN, MANAGER_MAY, OTHER_CLIENT, Options, SESSION_KEY, TestApp, allowed, browser,
    location, query_of, sign_in_rows, signed_in_with_cookie,
};
use issues_app::server::support::seal::Sealer;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn sealer() -> Sealer {
    Sealer::from_base64(&base64::engine::general_purpose::STANDARD.encode(SESSION_KEY)).unwrap()
}

#[tokio::test]
async fn john_signs_in_and_may_create_and_list() {
    let app = TestApp::spawn().await;
    let john = browser();
    let landed = app.sign_in(&john, JOHN, "/issues").await;
    assert_eq!(landed, "/issues", "return path kept");

    let (status, info) = app.call(&john, "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["user"]["name"], "John Manager");
    assert_eq!(allowed(&info), MANAGER_MAY);

    // The newest page is cached in memory with SQLite: warm it, then create.
    let (status, page) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["issues"], json!([]));
    let (status, created) = app
        .call(
            &john,
            "create_issue",
            &[("title", "  Printer on fire  "), ("description", "Third floor")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["title"], "Printer on fire");
    assert_eq!(created["author_name"], "John Manager");

    let (status, page) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["issues"][0]["title"], "Printer on fire");

    // The page itself renders for John with the create form (SSR).
    let html = john.get(app.url("/issues")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Printer on fire") && html.contains("id=\"create-issue\""),
        "{html}"
    );
}

#[tokio::test]
async fn emily_may_view_but_a_forged_create_gets_403_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    app.call(&john, "create_issue", &[("title", "From John"), ("description", "")])
        .await;

    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(allowed(&info), EMPLOYEE_MAY);
    assert!(!info["scopes"].as_array().unwrap().contains(&json!("issues:create")));

    let (status, page) = app.call(&emily, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["issues"][0]["title"], "From John");

    let before = app.issue_count().await;
    let (status, body) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.issue_count().await, before, "nothing stored on refusal");

    // Her issues page has no create control.
    let html = emily
        .get(app.url("/issues"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("From John"));
    assert!(!html.contains("id=\"create-issue\""), "no create form for Emily");
    let html = emily
        .get(app.url("/issues/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("create issues: your access lacks the scope issues:create."),
        "the page says why: {html}"
    );
}

#[tokio::test]
async fn without_a_session_protected_calls_get_401() {
    let app = TestApp::spawn().await;
    let anonymous = browser();
    let (status, info) = app.call(&anonymous, "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(info["user"].is_null());
    let (status, _) = app.call(&anonymous, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(&anonymous, "create_issue", &[("title", "x"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.issue_count().await, 0);
}

#[tokio::test]
async fn invalid_input_is_refused_with_4xx() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    for (title, description) in [
        ("   ", ""),
        (&*"x".repeat(201), ""),
        ("ok", &*"d".repeat(10_001)),
        ("a\u{0}b", ""),
        ("a\u{202E}b", ""),
    ] {
        let (status, body) = app
            .call(&john, "create_issue", &[("title", title), ("description", description)])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["Invalid"].is_object(), "{body}");
    }
    let (status, _) = app
        .call(&john, "create_issue", &[("title", "no description field")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let invalid_utf8 = john
        .post(app.url("/api/create_issue"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("title=%FF%FE&description=")
        .send()
        .await
        .unwrap();
    assert!(
        invalid_utf8.status().is_client_error(),
        "invalid UTF-8: {}",
        invalid_utf8.status()
    );
    let huge = "x".repeat(100 * 1024);
    let (status, _) = app
        .call(&john, "create_issue", &[("title", &huge), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.issue_count().await, 0);

    // Markup and SQL are stored as given and rendered escaped.
    for title in [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "'; DROP TABLE issues;--",
    ] {
        let (status, created) = app
            .call(&john, "create_issue", &[("title", title), ("description", "")])
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(created["title"], title);
    }
    let html = john.get(app.url("/issues")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>alert(1)</script>") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<img src=x"));
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let (john, cookie) = signed_in_with_cookie(&app, JOHN).await;
    // A page on another site posts with John's cookie: a browser with Fetch Metadata says
    // `cross-site`; an older one only names the origin.
    for (header, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let response = reqwest::Client::new()
            .post(app.url("/api/create_issue"))
            .header("cookie", &cookie)
            .header(header, value)
            .form(&[("title", "csrf"), ("description", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header}");
    }
    let response = john
        .post(app.url("/api/create_issue"))
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[("title", "same origin"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.issue_count().await, 1);
}

#[tokio::test]
async fn a_tampered_cookie_is_anonymous() {
    let app = TestApp::spawn().await;
    let (_john, cookie) = signed_in_with_cookie(&app, JOHN).await;
    let value = cookie.trim_start_matches("issues_session=");
    let mut tampered = value.to_string().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(tampered).unwrap();
    for value in [forged.as_str(), "garbage", ""] {
        let response = reqwest::Client::new()
            .post(app.url("/api/session_info"))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", format!("issues_session={value}"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.json::<Value>().await.unwrap()["user"].is_null(), "{value}");
    }
}

#[tokio::test]
async fn pages_run_only_scripts_carrying_their_own_nonce() {
    let app = TestApp::spawn().await;
    let mut nonces = Vec::new();
    for path in ["/", "/issues", "/no-such-page"] {
        let response = browser().get(app.url(path)).send().await.unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let html = response.text().await.unwrap();
        assert!(policy.contains("script-src 'self' 'nonce-"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_string();
        // Every script Leptos wrote into the page carries this response's nonce.
        let openings: Vec<&str> = html
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap())
            .collect();
        assert!(!openings.is_empty(), "{path}: no scripts");
        for opening in openings {
            assert!(
                opening.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: <script{opening}>"
            );
        }
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce per response");
}

/// Another instance starting in the same process (as here, where every test starts one) must not
/// stall this one's pages: Leptos suppresses resource loading process-wide while it generates a
/// route list, and a resource first polled meanwhile never loads (leptos-rs/leptos#4773).
#[tokio::test]
async fn pages_render_while_another_instance_starts() {
    let app = TestApp::spawn().await;
    let starts = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for _ in 0..10 {
                drop(TestApp::spawn().await);
            }
        });
    });
    let mut pages = 0;
    while pages == 0 || !starts.is_finished() {
        let page = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            browser().get(app.url("/")).send().await.unwrap().text().await.unwrap()
        })
        .await
        .unwrap_or_else(|_| panic!("page {pages} did not finish within 10 s"));
        assert!(page.contains("id=\"header-sign-in\""), "page {pages} is whole: {page}");
        pages += 1;
    }
    starts.join().unwrap();
}

#[tokio::test]
async fn the_callback_is_single_use_and_bound_to_the_browser() {
    let app = TestApp::spawn().await;
    let john = browser();
    let callback = app
        .sign_in_until_callback(&john, "john", "john-dev-password", "/")
        .await;
    let first = john.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replay = john.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.text().await.unwrap().contains("No sign-in is in progress"));
    // Still signed in after the refused replay.
    let (_, info) = app.call(&john, "session_info", &[]).await;
    assert_eq!(info["user"]["name"], "John Manager");

    // Another browser cannot use someone's callback URL.
    let attacker = browser();
    let callback = app
        .sign_in_until_callback(&browser(), "emily", "emily-dev-password", "/")
        .await;
    let response = attacker.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // A callback whose state does not match is refused.
    let victim = browser();
    let callback = app
        .sign_in_until_callback(&victim, "emily", "emily-dev-password", "/")
        .await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "state" {
                "forged".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(
        victim.get(url.as_str()).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn only_relative_return_paths_are_followed() {
    let app = TestApp::spawn().await;
    for hostile in ["https://evil.example", "//evil.example/x", "/\\evil.example"] {
        let landed = app.sign_in(&browser(), JOHN, hostile).await;
        assert_eq!(landed, "/", "{hostile}");
    }
}

#[tokio::test]
async fn sign_out_ends_the_session_everywhere_it_was_used() {
    let app = TestApp::spawn().await;
    let (john, cookie) = signed_in_with_cookie(&app, JOHN).await;
    let tokens = sign_in_rows(&app).await.remove(0).tokens(&sealer()).unwrap();
    let refresh_token = tokens.refresh_token.unwrap();
    assert_eq!(
        harness::idp_post(&app, "/oauth2/introspect", &[("token", &refresh_token)]).await["active"],
        true
    );

    let response = john.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert!(
        end_session.starts_with(&format!("{}/oidc/logout", app.idp().organization_url())),
        "{end_session}"
    );
    let query = query_of(&end_session);
    assert!(query.contains_key("id_token_hint") && query.contains_key("state"));
    assert_eq!(query["post_logout_redirect_uri"], app.url("/"));
    assert!(sign_in_rows(&app).await.is_empty(), "the sign-in is gone");
    let introspection = harness::idp_post(&app, "/oauth2/introspect", &[("token", &refresh_token)]).await;
    assert_eq!(
        introspection["active"], false,
        "the refresh token was revoked at the IdP"
    );

    // The old cookie, replayed, is anonymous.
    let replay = reqwest::Client::new()
        .post(app.url("/api/list_issues"))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

/// An app with `Server.SessionIdleMinutes` set to `minutes`, and `user` signed in to it.
async fn signed_in_with_idle_minutes(minutes: u64, user: (&str, &str)) -> (TestApp, reqwest::Client) {
    let app = TestApp::spawn_with(Options {
        session_idle_minutes: Some(minutes),
        ..Options::default()
    })
    .await;
    let browser = browser();
    app.sign_in(&browser, user, "/").await;
    (app, browser)
}

#[tokio::test]
async fn activity_pushes_the_idle_deadline_back_without_a_write_per_call() {
    // A one-hour idle timeout is renewed at most once a minute: calls in between are answered
    // without saving the session again.
    let (quiet_app, emily) = signed_in_with_idle_minutes(60, EMILY).await;
    let before = harness::session_deadlines(&quiet_app).await;
    for function in ["session_info", "list_issues", "session_info"] {
        let quiet = quiet_app.call_raw(&emily, function, &[]).await;
        assert_eq!(quiet.status(), StatusCode::OK);
        assert!(
            quiet.headers().get("set-cookie").is_none(),
            "{function}: saved on every call"
        );
    }
    assert_eq!(
        harness::session_deadlines(&quiet_app).await,
        before,
        "no write per call"
    );

    // A one-minute idle timeout is renewed at most once a second.
    let (app, john) = signed_in_with_idle_minutes(1, JOHN).await;
    let deadlines = harness::session_deadlines(&app).await;
    assert_eq!(deadlines.len(), 1);
    let first = deadlines[0];

    // Time for a renewal to be due; the next call saves the session with a later deadline.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let renewing = app.call_raw(&john, "list_issues", &[]).await;
    assert_eq!(renewing.status(), StatusCode::OK);
    let cookie = renewing
        .headers()
        .get("set-cookie")
        .expect("the renewed session's cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Max-Age=60"), "{cookie}");
    let renewed = harness::session_deadlines(&app).await;
    assert_eq!(renewed.len(), 1);
    assert!(
        renewed[0] - first >= time::Duration::seconds(1),
        "deadline {first} → {}",
        renewed[0]
    );
}

#[tokio::test]
async fn back_channel_logout_ends_the_session_and_bad_tokens_change_nothing() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let tokens = sign_in_rows(&app).await.remove(0).tokens(&sealer()).unwrap();
    let id_token = tokens.id_token.unwrap();

    // Bad logout tokens: 400, nothing ends.
    for bad in ["garbage", id_token.as_str(), tokens.access_token.as_str()] {
        let response = reqwest::Client::new()
            .post(app.url("/auth/backchannel-logout"))
            .form(&[("logout_token", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let response = reqwest::Client::new()
        .post(app.url("/auth/backchannel-logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sign_in_rows(&app).await.len(), 1);

    // The user signs out at the IdP (another application, say): the IdP tells us.
    let response = reqwest::Client::new()
        .get(format!("{}/oidc/logout", app.idp().organization_url()))
        .query(&[("id_token_hint", id_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Delivery is asynchronous: wait for it, bounded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !sign_in_rows(&app).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "back-channel logout did not arrive"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_store_holds_no_plaintext_token() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let rows = sign_in_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let tokens = rows[0].tokens(&sealer()).expect("sealed with the configured key");
    // Everything the database holds for sessions and sign-ins; plus, for SQLite, the files
    // themselves.
    let sessions = harness::session_data(&app).await;
    assert_eq!(sessions.len(), 1, "John's session is stored");
    let sign_ins: Vec<(String, String, String, String)> = issues_app::on_db!(&app.state.db, |pool| {
        sqlx::query_as("SELECT id, name, scopes, sealed_tokens FROM sign_ins")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let mut bytes: Vec<u8> = sessions.concat();
    bytes.extend(format!("{sign_ins:?}").into_bytes());
    if let issues_app::server::storage::db::Db::Sqlite(pool) = &app.state.db {
        sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(pool).await.unwrap();
        bytes.extend(std::fs::read(app.dir.path().join("issues.db")).unwrap());
        if let Ok(wal) = std::fs::read(app.dir.path().join("issues.db-wal")) {
            bytes.extend(wal);
        }
    }
    for secret in [
        Some(&tokens.access_token),
        tokens.refresh_token.as_ref(),
        tokens.id_token.as_ref(),
    ] {
        let secret = secret.expect("token present");
        let needle = &secret.as_bytes()[secret.len() - 24..];
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "a token is stored in plaintext"
        );
    }
    // And none reaches the browser's HTML.
    let html = john.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(&tokens.access_token[tokens.access_token.len() - 24..]));
}

#[tokio::test]
async fn tokens_are_refreshed_shortly_before_they_expire() {
    // 30-second access tokens are always inside the 60-second refresh margin.
    let app = TestApp::spawn_with(Options {
        access_token_seconds: Some(30),
        ..Options::default()
    })
    .await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let before = sign_in_rows(&app).await.remove(0);
    let first = before.tokens(&sealer()).unwrap();

    let (status, _) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let after = sign_in_rows(&app).await.remove(0);
    let second = after.tokens(&sealer()).unwrap();
    assert_ne!(first.access_token, second.access_token, "access token refreshed");
    assert_ne!(first.refresh_token, second.refresh_token, "rotated refresh token kept");
    assert_eq!(after.scope_list(), before.scope_list());

    // Concurrent calls share one refresh at a time, never redeeming a spent refresh token.
    let call = || app.call(&john, "list_issues", &[]);
    let results = tokio::join!(call(), call(), call(), call(), call());
    for (status, body) in [results.0, results.1, results.2, results.3, results.4] {
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // When the IdP refuses the refresh (revoked), the session ends with a clear message.
    let current = sign_in_rows(&app).await.remove(0).tokens(&sealer()).unwrap();
    let revoke = reqwest::Client::new()
        .post(format!("{}/oauth2/revoke", app.idp().organization_url()))
        .basic_auth(CLIENT_ID, Some(harness::SECRET))
        .form(&[("token", current.refresh_token.unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    let (status, body) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!("SessionEnded"));
    let (_, info) = app.call(&john, "session_info", &[]).await;
    assert_eq!(info["notice"], "Your session ended. Sign in again.");
    let (_, info) = app.call(&john, "session_info", &[]).await;
    assert!(info["notice"].is_null() && info["user"].is_null());
}

// ----- bearer REST API ----------------------------------------------------------------------

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

// ----- configuration and start-up -------------------------------------------------------------

#[test]
fn a_broken_config_stops_the_server_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let text = harness::config_json("http://127.0.0.1:9/t/dev", "not-a-url", dir.path());
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_issues-app"))
        .args(["--config", path.to_str().unwrap()])
        .env_remove("LEPTOS_SITE_ADDR")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("config.json") && stderr.contains("ApplicationConfig.HostedUrl"),
        "{stderr}"
    );
}

#[test]
fn leptos_toml_agrees_with_cargo_toml() {
    let read = |file: &str| -> toml::Table {
        let text = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        text.parse::<toml::Table>().unwrap()
    };
    let cargo = read("Cargo.toml");
    let leptos = read("Leptos.toml");
    let section = |table: &toml::Table| table["package"]["metadata"]["leptos"].as_table().unwrap().clone();
    let (cargo, leptos) = (section(&cargo), section(&leptos));
    for (key, value) in &leptos {
        assert_eq!(
            cargo.get(key),
            Some(value),
            "Leptos.toml `{key}` differs from Cargo.toml"
        );
    }
}

#[tokio::test]
async fn the_embedded_dev_idp_starts_from_config() {
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (app_port, idp_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.json")).unwrap())
            .unwrap();
    config["AuthorizationConfig"]["BaseOrganizationUrl"] = json!(format!("http://127.0.0.1:{idp_port}/t/dev"));
    config["ApplicationConfig"]["HostedUrl"] = json!(format!("http://127.0.0.1:{app_port}"));
    config["Server"]["ListenAddress"] = json!(format!("127.0.0.1:{app_port}"));
    config["Server"]["DataDir"] = json!(dir.path());
    config["DevIdentityProvider"]["Listen"] = json!(format!("127.0.0.1:{idp_port}"));
    config["DevIdentityProvider"]["KeyFile"] = json!(dir.path().join("keys.json"));
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let config = issues_app::server::ops::config::Config::load(&path, &Default::default()).unwrap();
    let app = issues_app::server::startup::Application::build(config, harness::leptos_options())
        .await
        .unwrap();
    assert!(app.dev_idp().is_some());
    // With the embedded IdP, an empty database gets the sample issues (once).
    assert_eq!(app.state().issues.count().await.unwrap(), 3);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let base = format!("http://127.0.0.1:{app_port}");
    let client = browser();
    let response = client.get(format!("{base}/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&format!("http://127.0.0.1:{idp_port}/t/dev/oauth2/authorize")));
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
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
    assert_eq!(body["error_description"], "the access token is for another audience");
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
