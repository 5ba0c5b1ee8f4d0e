//! A person's home page, "My work": the open issues assigned to them, created by them and
//! mentioning them, each counted with its newest few, the board one click away and what they may
//! do folded below; `GET /api/v1/me`, what a token is and permits; and the keyboard shortcuts'
//! script, served as JavaScript and loaded by every page.

use issues_app::access::Viewer;
use issues_app::model::NewIssue;
use issues_app::server::ops::config::{Config, Overrides};
use issues_app::server::startup::Application;
use issues_app::server::support::clock::now_millis;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{CLIENT_ID, EMILY, JOHN, TestApp, browser, config_json, leptos_options};

const JOHN_SUB: &str = "0b4d7f64-3a0e-4c1b-9f58-6a2e8d1c7b01";
const EMILY_SUB: &str = "7c9e2a15-5d3f-4b6a-8e21-0f4c9b3d2a02";

/// The HTML of the element `id` up to where `until` starts (or the page's end).
fn part<'a>(html: &'a str, id: &str, until: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find(until).unwrap_or(rest.len())]
}

/// Creates an issue as `who` through the server function; answers its id.
async fn create(app: &TestApp, who: &reqwest::Client, title: &str) -> i64 {
    let (status, issue) = app
        .call(who, "create_issue", &[("title", title), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    issue["id"].as_i64().unwrap()
}

#[tokio::test]
async fn johns_home_lists_his_open_work_with_counts_and_the_board_one_click_away() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;

    // John: one issue assigned to himself, one left unassigned, one closed.
    let lift = create(&app, &john, "Fix the lift").await;
    let (status, body) = app
        .call(
            &john,
            "assign_issue",
            &[("id", &lift.to_string()), ("version", "1"), ("assignee", JOHN_SUB)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chairs = create(&app, &john, "Order chairs").await;
    let old = create(&app, &john, "Old complaint").await;
    let (status, body) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &old.to_string()), ("version", "1"), ("status", "closed")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Emily (who may not create through the app) wrote one, which John takes on.
    let emily_viewer = Viewer {
        sub: EMILY_SUB.into(),
        name: "Emily Employee".into(),
        scopes: Vec::new(),
        client_id: None,
        auth_time: None,
    };
    let heating = app
        .state
        .issues
        .create(
            &NewIssue::parse("Heating broken", "").unwrap(),
            &emily_viewer,
            now_millis(),
        )
        .await
        .unwrap()
        .id;
    let (status, body) = app
        .call(
            &john,
            "assign_issue",
            &[("id", &heating.to_string()), ("version", "1"), ("assignee", JOHN_SUB)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Emily's issue mentions John (as the code recording mentions writes it).
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "INSERT INTO mentions (issue_id, comment_id, sub, at) VALUES ($1, 0, $2, $3)"
    )
    .bind(heating)
    .bind(JOHN_SUB)
    .bind(now_millis())
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());

    let (status, work) = app.call(&john, "my_work", &[]).await;
    assert_eq!(status, StatusCode::OK, "{work}");
    let titles = |list: &Value| -> Vec<String> {
        list["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|issue| issue["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(work["assigned"]["count"], 2, "{work}");
    assert_eq!(titles(&work["assigned"]), ["Heating broken", "Fix the lift"]);
    assert_eq!(work["created"]["count"], 2, "{work}");
    assert_eq!(titles(&work["created"]), ["Order chairs", "Fix the lift"]);
    assert_eq!(work["mentioned"]["count"], 1, "{work}");
    assert_eq!(titles(&work["mentioned"]), ["Heating broken"]);

    let html = app.page_text(&john, "/").await;
    let assigned = part(&html, "work-assigned", "id=\"work-created\"");
    assert!(assigned.contains("data-count=\"2\""), "{assigned}");
    for (id, title) in [(heating, "Heating broken"), (lift, "Fix the lift")] {
        assert!(assigned.contains(&format!("href=\"/issues/{id}\"")), "{assigned}");
        assert!(
            assigned.contains(title) && assigned.contains(&format!("#{id}")),
            "{assigned}"
        );
    }
    assert!(assigned.contains("href=\"/issues?assignee=me\""), "{assigned}");
    let created = part(&html, "work-created", "id=\"work-mentioned\"");
    assert!(created.contains("data-count=\"2\""), "{created}");
    assert!(created.contains("Order chairs") && created.contains(&format!("href=\"/issues/{chairs}\"")));
    assert!(
        !created.contains("Old complaint") && !created.contains("Heating broken"),
        "{created}"
    );
    assert!(created.contains("href=\"/issues?author=me\""), "{created}");
    let mentioned = part(&html, "work-mentioned", "id=\"your-access\"");
    assert!(
        mentioned.contains("data-count=\"1\"") && mentioned.contains("Heating broken"),
        "{mentioned}"
    );
    assert!(
        !mentioned.contains("See all"),
        "the board has no filter for mentions: {mentioned}"
    );
    assert!(
        html.contains("id=\"to-board\"") && html.contains("Go to the board"),
        "{html}"
    );
    // What he may do, folded away but there (the end-to-end tests read these ids).
    let access = part(&html, "your-access", "</details>");
    assert!(access.contains("What can I do here?"), "{access}");
    assert!(access.contains("id=\"perm-create_issue\""), "{access}");
    assert!(html.contains("id=\"welcome-name\""), "{html}");
    // Every page loads the shortcuts and has their list and the live region they speak in.
    assert!(html.contains("src=\"/shortcuts.js\""), "{html}");
    assert!(
        html.contains("id=\"shortcuts-help\"") && html.contains("id=\"shortcut-status\""),
        "{html}"
    );

    // Emily's home: her own issue under "Created by me", nothing assigned to her.
    let html = app.page_text(&emily, "/").await;
    let created = part(&html, "work-created", "id=\"work-mentioned\"");
    assert!(
        created.contains("data-count=\"1\"") && created.contains("Heating broken"),
        "{created}"
    );
    let assigned = part(&html, "work-assigned", "id=\"work-created\"");
    assert!(
        assigned.contains("data-count=\"0\"") && assigned.contains("Nothing is assigned to you."),
        "{assigned}"
    );
    assert!(!assigned.contains("See all"), "{assigned}");
}

#[tokio::test]
async fn signed_out_the_home_asks_to_sign_in_and_my_work_is_refused() {
    let app = TestApp::spawn().await;
    let anonymous = browser();
    let html = app.page_text(&anonymous, "/").await;
    assert!(html.contains("id=\"sign-in\""), "{html}");
    assert!(!html.contains("id=\"work-assigned\""), "{html}");
    let (status, body) = app.call(&anonymous, "my_work", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

/// `GET /api/v1/me` with `token`: the status and the JSON body.
async fn me(app: &TestApp, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(app.url("/api/v1/me"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The entry of `action` in a `/api/v1/me` answer.
fn action<'a>(me: &'a Value, action: &str) -> &'a Value {
    me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {me}"))
}

#[tokio::test]
async fn me_says_who_a_token_is_and_what_each_action_needs_and_permits() {
    let app = TestApp::spawn().await;
    // Asks for issues:view and issues:create: John's role grants both, Emily's only the first.
    let john = app.password_token(CLIENT_ID, JOHN).await;
    let emily = app.password_token(CLIENT_ID, EMILY).await;

    let (status, body) = me(&app, Some(&john)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], JOHN_SUB, "{body}");
    assert!(body["name"].is_string(), "{body}");
    if let Some(client) = body.get("client_id") {
        assert_eq!(client.as_str(), Some(CLIENT_ID), "{body}");
    }
    let scopes: Vec<&str> = body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scope| scope.as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"issues:create") && scopes.contains(&"issues:view"),
        "{body}"
    );
    assert_eq!(
        body["permissions"].as_array().unwrap().len(),
        10,
        "every action: {body}"
    );
    let create = action(&body, "create_issue");
    assert_eq!(create["allowed"], true, "{body}");
    assert_eq!(create["scopes"], serde_json::json!(["issues:create"]), "{body}");
    assert!(create.get("why").is_none(), "{body}");
    assert_eq!(action(&body, "view_issues")["allowed"], true, "{body}");
    let audit = action(&body, "view_audit");
    assert_eq!(audit["allowed"], false, "{body}");

    let (status, body) = me(&app, Some(&emily)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], EMILY_SUB, "{body}");
    let create = action(&body, "create_issue");
    assert_eq!(create["allowed"], false, "{body}");
    assert_eq!(create["scopes"], serde_json::json!(["issues:create"]), "{body}");
    let why = create["why"].as_str().unwrap_or_default();
    assert!(why.contains("create issues") && why.contains("issues:create"), "{body}");
    assert_eq!(action(&body, "view_issues")["allowed"], true, "{body}");

    // No token, or a bad one: 401.
    let (status, _) = me(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = me(&app, Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Served as cargo-leptos lays the site out (public/ copied into the site root; a release binary
/// embeds that root): an app whose site root is public/ itself, so the test needs no site build.
#[tokio::test]
async fn the_shortcuts_script_is_served_as_javascript() {
    // The dev IdP the second app is configured against.
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let base = format!("http://{address}");
    let text = config_json(&app.organization_url, &base, dir.path());
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, &text).unwrap();
    let overrides = Overrides {
        listen: Some(address.to_string()),
        ..Overrides::default()
    };
    let config = Config::parse(&text, &config_path, &overrides).unwrap();
    let mut options = leptos_options();
    options.site_root = concat!(env!("CARGO_MANIFEST_DIR"), "/public").into();
    let site = Application::build_with_listener(config, options, listener)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        site.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });

    let response = reqwest::get(format!("{base}/shortcuts.js")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.contains("javascript"), "{content_type}");
    // With `nosniff`, a browser runs a script only when its type says JavaScript.
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let script = response.text().await.unwrap();
    assert!(
        script.contains("shortcut-status") && script.contains("shortcuts-help"),
        "{script}"
    );
    // The page's Content-Security-Policy has no 'unsafe-eval'.
    assert!(
        !script.contains("eval(") && !script.contains("new Function"),
        "{script}"
    );

    let _ = stop.send(());
    task.await.unwrap();
}
