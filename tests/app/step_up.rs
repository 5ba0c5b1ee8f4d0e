//! Step-up before a destructive action (`Features.Issues.StepUp`): with `{"delete": 60}`, a
//! delete needs an authentication at the provider no older than a minute. A browser whose
//! sign-in is older is answered `StepUp` (401) and signs in again with `max_age` and
//! `prompt=login`, then the delete goes ahead; a bearer token whose `auth_time` is older gets
//! RFC 9470's `insufficient_user_authentication` with `max_age`. Other actions are not asked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    ALEX, CLIENT_ID, JOHN, Options, SECRET, TestApp, browser, form_action, hidden, location, query_of, sign_in_rows,
};

async fn app_with_step_up() -> TestApp {
    TestApp::spawn_configured(Options::default(), |config| {
        config["Features"]["Issues"]["StepUp"] = json!({ "delete": 60 });
    })
    .await
}

/// A new issue of John's: its id.
async fn issue_of_john(app: &TestApp, title: &str) -> String {
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (status, issue) = app
        .call(&john, "create_issue", &[("title", title), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    issue["id"].as_i64().unwrap().to_string()
}

/// Makes `username`'s sign-ins at the dev IdP `seconds` older (its HTTP way, as the e2e tests
/// use it).
async fn age_sign_ins(app: &TestApp, username: &str, seconds: i64) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/dev/users/{username}/sessions/age",
            app.idp().organization_url()
        ))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let aged: Value = response.json().await.unwrap();
    assert!(aged["aged"].as_i64().unwrap() >= 1, "{aged}");
}

/// Follows redirects from `url` until the browser is back on the app (not its `/auth/`
/// paths), or stops at a page; answers where it stopped and that page's answer.
async fn follow(app: &TestApp, browser: &reqwest::Client, url: &str) -> (String, reqwest::Response) {
    let mut current = url.to_string();
    for _ in 0..10 {
        let response = browser.get(&current).send().await.unwrap();
        if !response.status().is_redirection() {
            return (current, response);
        }
        let next = url::Url::parse(&current).unwrap().join(&location(&response)).unwrap();
        if next.as_str().starts_with(&app.base) && !next.path().starts_with("/auth/") {
            return (next.to_string(), response);
        }
        current = next.to_string();
    }
    panic!("too many redirects from {url}");
}

/// Fills the provider's login form (`page`, at `page_url`) as `user` and follows the browser
/// back to the app: where it stopped, and that answer.
async fn sign_in_at_form(
    app: &TestApp,
    browser: &reqwest::Client,
    (page_url, page): (String, reqwest::Response),
    (username, password): (&str, &str),
) -> (String, reqwest::Response) {
    let html = page.text().await.unwrap();
    let signed = browser
        .post(form_action(&page_url, &html))
        .form(&[
            ("interaction", hidden(&html, "interaction")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", username.to_string()),
            ("password", password.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert!(signed.status().is_redirection(), "the login form: {}", signed.status());
    let back = url::Url::parse(&page_url).unwrap().join(&location(&signed)).unwrap();
    follow(app, browser, back.as_str()).await
}

async fn delete(app: &TestApp, who: &reqwest::Client, id: &str) -> (StatusCode, Value) {
    app.call(who, "delete_issue", &[("id", id), ("version", "1")]).await
}

#[tokio::test]
async fn a_delete_with_an_old_sign_in_is_answered_step_up_and_goes_ahead_after_signing_in_again() {
    let app = app_with_step_up().await;
    let (first, second) = (
        issue_of_john(&app, "Leaking tap").await,
        issue_of_john(&app, "Flickering light").await,
    );
    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    let (status, body) = delete(&app, &alex, &first).await;
    assert_eq!(status, StatusCode::OK, "a sign-in of a moment ago will do: {body}");

    // Two minutes later, as far as the app knows: Refresh my access brings the provider's
    // auth_time, now older than StepUp.delete's minute.
    age_sign_ins(&app, "alex", 120).await;
    let refresh = alex
        .get(app.url("/auth/login?prompt=none&return_to=/issues"))
        .send()
        .await
        .unwrap();
    let (landed, _) = follow(&app, &alex, &location(&refresh)).await;
    assert_eq!(landed, app.url("/issues"), "signed in silently");
    let auth_time = sign_in_rows(&app)
        .await
        .iter()
        .filter_map(|row| row.auth_time)
        .min()
        .unwrap();
    assert!(auth_time <= issues_app::server::support::clock::now() - 120);

    let (status, body) = delete(&app, &alex, &second).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body, json!({ "StepUp": { "max_age": 60 } }));
    let (status, _) = app.call(&alex, "get_issue", &[("id", &second)]).await;
    assert_eq!(status, StatusCode::OK, "nothing was deleted");

    // Signing in again: the provider is asked for a sign-in within the minute, and shows its
    // login form although its session is live.
    let start = alex
        .get(app.url(&format!("/auth/login?max_age=60&return_to=/issues/{second}")))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let authorize = location(&start);
    assert_eq!(query_of(&authorize)["max_age"], "60");
    assert_eq!(query_of(&authorize)["prompt"], "login");
    let (page_url, page) = follow(&app, &alex, &authorize).await;
    assert_eq!(page.status(), StatusCode::OK, "the provider's login form");
    let (landed, _) = sign_in_at_form(&app, &alex, (page_url, page), ALEX).await;
    assert_eq!(
        landed,
        app.url(&format!("/issues/{second}")),
        "back where the delete was asked"
    );

    let (status, body) = delete(&app, &alex, &second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_step_up_whose_provider_session_is_recent_enough_needs_no_password() {
    let app = app_with_step_up().await;
    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    // max_age alone (the app also sends prompt=login): the dev IdP honours max_age, so a session
    // of a moment ago answers at once, and one older than max_age asks for the password.
    let authorize = |max_age: &str| {
        let start = app.url(&format!("/auth/login?max_age={max_age}&return_to=/"));
        let alex = alex.clone();
        async move {
            let start = alex.get(start).send().await.unwrap();
            let mut authorize = url::Url::parse(&location(&start)).unwrap();
            let kept: Vec<(String, String)> = authorize
                .query_pairs()
                .filter(|(name, _)| name != "prompt")
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            authorize.query_pairs_mut().clear().extend_pairs(kept);
            alex.get(authorize.as_str()).send().await.unwrap()
        }
    };
    let recent = authorize("300").await;
    assert!(
        recent.status().is_redirection(),
        "a live session within max_age answers at once"
    );
    assert!(
        location(&recent).contains("/auth/callback?code="),
        "{}",
        location(&recent)
    );
    age_sign_ins(&app, "alex", 120).await;
    let stale = authorize("60").await;
    assert_eq!(stale.status(), StatusCode::OK, "older than max_age: the login form");
    assert!(stale.text().await.unwrap().contains("csrf_token"));

    let too_long = alex.get(app.url("/auth/login?max_age=86401")).send().await.unwrap();
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_bearer_token_authenticated_too_long_ago_gets_insufficient_user_authentication() {
    let app = app_with_step_up().await;
    let id = issue_of_john(&app, "Broken chair").await;
    // A token from a password typed two minutes ago (the provider's clock, moved back for it).
    app.idp().shift_clock(-120);
    let old = app
        .password_token_for(CLIENT_ID, ALEX, "openid issues:view issues:delete")
        .await;
    app.idp().shift_clock(120);
    let client = reqwest::Client::new();
    let refused = client
        .delete(app.url(&format!("/api/v1/issues/{id}")))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"60\""),
        "{challenge}"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_user_authentication");
    assert_eq!(body["max_age"], 60);
    // The same token still reads: only the delete is stepped up.
    let read = client
        .get(app.url(&format!("/api/v1/issues/{id}")))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    let fresh = app
        .password_token_for(CLIENT_ID, ALEX, "openid issues:view issues:delete")
        .await;
    let deleted = client
        .delete(app.url(&format!("/api/v1/issues/{id}")))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_step_up_that_comes_back_as_someone_else_is_refused_and_the_session_kept() {
    let app = app_with_step_up().await;
    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    let start = alex
        .get(app.url("/auth/login?max_age=60&return_to=/"))
        .send()
        .await
        .unwrap();
    let (page_url, page) = follow(&app, &alex, &location(&start)).await;
    // At the provider's form, John's password instead of Alex's.
    let (_, callback) = sign_in_at_form(&app, &alex, (page_url, page), JOHN).await;
    assert_eq!(callback.status(), StatusCode::FORBIDDEN);
    assert!(callback.text().await.unwrap().contains("signed in as someone else"));
    let (_, info) = app.call(&alex, "session_info", &[]).await;
    assert_eq!(info["user"]["name"], "Alex Admin", "the session is as it was: {info}");
}
