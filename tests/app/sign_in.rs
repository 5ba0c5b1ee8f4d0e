//! Signing in and staying signed in: the callback is single-use and bound to the browser, only
//! relative return paths, a tampered cookie is anonymous, sign-out and back-channel logout end the
//! session, the idle deadline, token refresh, and no plaintext token in the store.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    self, CLIENT_ID, EMILY, JOHN, Options, TestApp, browser, location, query_of, sign_in_rows, signed_in_with_cookie,
};
use crate::sealer;

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
