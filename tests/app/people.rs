//! For the people signing in: refresh my access (`prompt=none`), whom to ask, the profile and
//! its sessions, sign out everywhere, and the session's deadlines.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    self, CLIENT_ID, EMILY, EMPLOYEE_MAY, JOHN, MANAGER_MAY, Options, SECRET, TestApp, allowed, browser, location,
    query_of, sign_in_rows, signed_in_with_cookie,
};
use crate::sealer;

/// Follows redirects (app and provider alike) from `url` until the app sends the browser to one
/// of its own pages; answers that path.
async fn follow_home(app: &TestApp, browser: &reqwest::Client, url: &str) -> String {
    let mut current = url.to_string();
    for _ in 0..10 {
        let response = browser.get(&current).send().await.unwrap();
        assert!(response.status().is_redirection(), "{current}: {}", response.status());
        let next = url::Url::parse(&current).unwrap().join(&location(&response)).unwrap();
        if next.as_str().starts_with(&app.base) && !next.path().starts_with("/auth/") {
            return format!(
                "{}{}",
                next.path(),
                next.query().map(|q| format!("?{q}")).unwrap_or_default()
            );
        }
        current = next.to_string();
    }
    panic!("too many redirects from {url}");
}

/// What the provider's administrator does in its console: gives `username` these roles.
async fn set_roles(app: &TestApp, username: &str, roles: &[&str]) {
    let response = reqwest::Client::new()
        .put(format!("{}/dev/users/{username}/roles", app.idp().organization_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .json(&json!({ "roles": roles }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn refresh_my_access_picks_up_a_new_role_without_signing_out() {
    let app = TestApp::spawn().await;
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (_, before) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(allowed(&before), EMPLOYEE_MAY);

    set_roles(&app, "emily", &["Manager"]).await;
    // Nothing changes by itself: her session holds what she was granted.
    let (_, unchanged) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(allowed(&unchanged), EMPLOYEE_MAY);

    let refresh = app
        .call_raw(
            &emily,
            "sign_in",
            &[("return_to", "/issues?status=all"), ("prompt", "none")],
        )
        .await;
    let authorize = refresh.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_of(&authorize)["prompt"], "none");
    // The provider's session answers at once: no login form on the way back.
    let landed = follow_home(&app, &emily, &authorize).await;
    assert_eq!(landed, "/issues?status=all", "back on the same page");
    let (_, after) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(after["user"]["name"], "Emily Employee");
    assert_eq!(allowed(&after), MANAGER_MAY);
    assert_eq!(
        sign_in_rows(&app).await.len(),
        1,
        "the new sign-in replaced the old one"
    );
    let (status, _) = app
        .call(&emily, "create_issue", &[("title", "Now I may"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_silent_refresh_the_provider_cannot_answer_falls_back_to_a_normal_sign_in() {
    let app = TestApp::spawn().await;
    // Emily is signed in here, but the provider no longer knows her browser (its session
    // ended there): her app cookie alone, in a browser without the provider's cookie.
    let (_, session_cookie) = signed_in_with_cookie(&app, EMILY).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&session_cookie, &app.base.parse().unwrap());
    let emily = harness::browser_builder().cookie_provider(jar).build().unwrap();
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(info["user"]["name"], "Emily Employee");

    let refresh = app
        .call_raw(&emily, "sign_in", &[("return_to", "/issues/new"), ("prompt", "none")])
        .await;
    let authorize = refresh.headers()["location"].to_str().unwrap().to_string();
    let answer = emily.get(&authorize).send().await.unwrap();
    let callback = location(&answer);
    assert_eq!(query_of(&callback)["error"], "login_required");
    let fallback = emily.get(&callback).send().await.unwrap();
    assert_eq!(fallback.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&fallback),
        "/auth/login?return_to=%2Fissues%2Fnew&prompt=login"
    );
    // Signed in here or not, that goes to the provider, which asks for her credentials...
    let normal = emily.get(app.url(&location(&fallback))).send().await.unwrap();
    let authorize = location(&normal);
    assert!(authorize.starts_with(&app.idp().organization_url()), "{authorize}");
    assert_eq!(query_of(&authorize)["prompt"], "login");
    // ...and comes back to the page the refresh started from.
    let landed = app.sign_in(&browser(), EMILY, "/issues/new").await;
    assert_eq!(landed, "/issues/new");
}

#[tokio::test]
async fn sign_in_as_someone_else_asks_for_credentials_again() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let again = app
        .call_raw(&john, "sign_in", &[("return_to", "/"), ("prompt", "login")])
        .await;
    let authorize = again.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_of(&authorize)["prompt"], "login");
    // The provider shows its form although its session is live.
    let page = john.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("name=\"password\""));
    let (status, _) = app.call(&john, "sign_in", &[("prompt", "sideways")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn access_help_is_shown_with_every_refusal() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["ApplicationConfig"]["AccessHelp"] =
            json!({"Text": "Ask the IT desk for the Manager role.", "Link": "it-desk@example.com"});
    })
    .await;
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(
        info["access_help"],
        json!({"text": "Ask the IT desk for the Manager role.", "link": "mailto:it-desk@example.com"})
    );
    let (status, refused) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused["Forbidden"],
        "You can't create issues: your access lacks the scope issues:create. Ask the IT desk for the Manager role. (it-desk@example.com)"
    );
    let page = emily.get(app.url("/issues/new")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("href=\"mailto:it-desk@example.com\""), "{html}");
    assert!(html.contains("id=\"refresh-access\""), "{html}");
}

#[tokio::test]
async fn the_profile_shows_the_id_token_claims_the_grant_and_every_session() {
    let app = TestApp::spawn().await;
    let (laptop, phone) = (browser(), browser());
    app.sign_in(&laptop, JOHN, "/").await;
    app.sign_in(&phone, JOHN, "/").await;
    let (status, profile) = app.call(&laptop, "my_profile", &[]).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["name"], "John Manager");
    assert_eq!(profile["email"], "john@dev.example");
    assert_eq!(profile["username"], "john");
    assert!(
        profile["roles"].as_array().unwrap().contains(&json!("Manager")),
        "{profile}"
    );
    assert!(profile["scopes"].as_array().unwrap().contains(&json!("issues:create")));
    let deadlines = &profile["deadlines"];
    assert!(deadlines["idle_ends_at"].as_i64().unwrap() <= deadlines["absolute_ends_at"].as_i64().unwrap());
    let sessions = profile["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{profile}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    // Emily's sessions are hers alone.
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (_, hers) = app.call(&emily, "my_profile", &[]).await;
    assert_eq!(hers["sessions"].as_array().unwrap().len(), 1);
    // Signed out: 401, and the page asks to sign in.
    let (status, _) = app.call(&browser(), "my_profile", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let page = browser().get(app.url("/profile")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    let page = laptop.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("john@dev.example") && html.contains("sign-out-everywhere"),
        "{html}"
    );
}

#[tokio::test]
async fn signing_out_one_session_from_another_ends_only_that_one() {
    let app = TestApp::spawn().await;
    let (laptop, phone) = (browser(), browser());
    app.sign_in(&laptop, JOHN, "/").await;
    app.sign_in(&phone, JOHN, "/").await;
    let (_, profile) = app.call(&laptop, "my_profile", &[]).await;
    let other = profile["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["handle"]
        .as_str()
        .unwrap()
        .to_string();
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let (status, _) = app.call(&emily, "sign_out_session", &[("handle", &other)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not hers to end");

    let phone_refresh_token = sign_in_rows(&app)
        .await
        .iter()
        .find(|row| app.state.sessions.handle(row) == other)
        .map(|row| row.tokens(&sealer()).unwrap().refresh_token.unwrap())
        .expect("the phone's sign-in");
    let response = app.call_raw(&laptop, "sign_out_session", &[("handle", &other)]).await;
    assert!(response.status().is_success() || response.status().is_redirection());
    let introspection = harness::idp_post(&app, "/oauth2/introspect", &[("token", &phone_refresh_token)]).await;
    assert_eq!(introspection["active"], false, "the phone's refresh token was revoked");
    let (_, phone_now) = app.call(&phone, "session_info", &[]).await;
    assert_eq!(phone_now["user"], Value::Null, "the phone is signed out");
    let (_, laptop_now) = app.call(&laptop, "session_info", &[]).await;
    assert_eq!(laptop_now["user"]["name"], "John Manager", "the laptop is not");
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_revokes_their_refresh_tokens() {
    let app = TestApp::spawn().await;
    let (laptop, phone, emily) = (browser(), browser(), browser());
    app.sign_in(&laptop, JOHN, "/").await;
    app.sign_in(&phone, JOHN, "/").await;
    app.sign_in(&emily, EMILY, "/").await;
    let refresh_tokens: Vec<String> = sign_in_rows(&app)
        .await
        .iter()
        .filter(|row| row.name == "John Manager")
        .map(|row| row.tokens(&sealer()).unwrap().refresh_token.unwrap())
        .collect();
    assert_eq!(refresh_tokens.len(), 2);

    let response = app.call_raw(&phone, "sign_out_everywhere", &[]).await;
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.status()
    );
    for john in [&laptop, &phone] {
        let (_, info) = app.call(john, "session_info", &[]).await;
        assert_eq!(info["user"], Value::Null);
    }
    for token in &refresh_tokens {
        let introspection = harness::idp_post(&app, "/oauth2/introspect", &[("token", token)]).await;
        assert_eq!(introspection["active"], false, "revoked at the provider");
    }
    let (_, hers) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(hers["user"]["name"], "Emily Employee", "other people stay signed in");
}

#[tokio::test]
async fn asking_for_the_deadlines_is_not_use_but_staying_signed_in_is() {
    // A minute's idle timeout: any use pushes the deadline back after a second.
    let app = TestApp::spawn_with(Options {
        session_idle_minutes: Some(1),
        ..Options::default()
    })
    .await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (_, info) = app.call(&john, "session_info", &[]).await;
    let deadlines = info["deadlines"].clone();
    assert_eq!(deadlines["warn_before"], 12, "a fifth of a minute");
    let idle = deadlines["idle_ends_at"].as_i64().unwrap();
    assert!((idle - deadlines["now"].as_i64().unwrap() - 60).abs() <= 1);

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (_, peeked) = app.call(&john, "check_session", &[("renew", "false")]).await;
    assert_eq!(peeked["idle_ends_at"].as_i64().unwrap(), idle, "a question is not use");
    let (status, stayed) = app.call(&john, "check_session", &[("renew", "true")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(stayed["idle_ends_at"].as_i64().unwrap() > idle, "{stayed}");
    let (_, anonymous) = app.call(&browser(), "check_session", &[("renew", "false")]).await;
    assert_eq!(anonymous, Value::Null);
}

/// The Sign in button is a plain form (no WASM): the server answers with the way to the
/// provider, or back to the page with the reason it did not go through.
#[tokio::test]
async fn the_sign_in_form_works_without_wasm_and_says_why_when_it_cannot() {
    let app = TestApp::spawn().await;
    let visitor = browser();
    let response = visitor
        .post(app.url("/api/sign_in"))
        .header("accept", "text/html")
        .header("referer", app.url("/issues"))
        .form(&[("return_to", "/issues")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert!(
        location(&response).starts_with(&app.idp().organization_url()),
        "to the provider"
    );

    // A provider that does not answer: back to the page, which says why.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stranded = TestApp::spawn_against(
        listener,
        None,
        "http://127.0.0.1:9/t/dev",
        |_| {},
        tempfile::tempdir().unwrap(),
    )
    .await;
    let response = visitor
        .post(stranded.url("/api/sign_in"))
        .header("accept", "text/html")
        .header("referer", stranded.url("/issues"))
        .form(&[("return_to", "/issues")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let back = location(&response);
    assert!(back.contains("__err="), "{back}");
    let page = visitor
        .get(stranded.url(back.trim_start_matches(&stranded.base)))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("The sign-in service is unavailable"), "{html}");
}
