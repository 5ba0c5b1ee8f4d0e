//! What a signed-in browser may do through the server functions: John creates and lists, Emily's
//! forged create gets 403, no session gets 401, bad input 4xx, cross-site posts are refused; and
//! every page's scripts carry that response's CSP nonce.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{EMILY, EMPLOYEE_MAY, JOHN, MANAGER_MAY, TestApp, allowed, browser, signed_in_with_cookie};

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
    let html = app.page_text(&john, "/issues").await;
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
    let html = app.page_text(&emily, "/issues").await;
    assert!(html.contains("From John"));
    assert!(!html.contains("id=\"create-issue\""), "no create form for Emily");
    let html = app.page_text(&emily, "/issues/new").await;
    assert!(
        html.contains("create issues: your access lacks the scope issues:create"),
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
    let html = app.page_text(&john, "/issues").await;
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

/// A page rendered on the server loads its data once: the board's list, an issue and the audit
/// trail each appear once in the page and once in the data handed to the browser (a closure
/// under Suspense built each island up to three times, each loading and sending it again).
#[tokio::test]
async fn a_page_loads_what_it_shows_once() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (status, created) = app
        .call(
            &john,
            "create_issue",
            &[("title", "Loaded-once-7f3a"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    for path in ["/issues".to_string(), format!("/issues/{}", created["id"])] {
        let html = app.page_text(&john, &path).await;
        assert_eq!(
            html.matches("Loaded-once-7f3a").count(),
            2,
            "{path}: shown once and sent once as data"
        );
    }
}
