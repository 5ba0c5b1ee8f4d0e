//! Triage through the REST API: labels defined by those who may manage them and put on issues
//! by those who may edit, priority and due dates, the board filtered and sorted by them with
//! every page reachable by its cursor, and each issue's history with old and new values.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{ALEX, CLIENT_ID, EMILY, JOHN, TestApp};

use super::{ALL_SCOPES, signed_in, titles};

/// Sends a bearer request; answers the status and the JSON body (`null` when there is none).
async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `POST /api/v1/labels` with `label`.
async fn define(app: &TestApp, token: &str, label: Value) -> (StatusCode, Value) {
    send(app, token, Method::POST, "/api/v1/labels", Some(label)).await
}

async fn patch(app: &TestApp, token: &str, id: &Value, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/issues/{id}")))
        .bearer_auth(token)
        .header("if-match", "*")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, token: &str, title: &str) -> Value {
    let (status, issue) = send(
        app,
        token,
        Method::POST,
        "/api/v1/issues",
        Some(json!({"title": title})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    issue
}

/// John, signed in here once (the app knows his name), with a token of all his scopes, after
/// defining the label `bug`.
async fn john_with_a_bug_label(app: &TestApp) -> String {
    signed_in(app, JOHN).await;
    let john = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    let (status, body) = define(app, &john, json!({"name": "bug", "color": "#d73a4a"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    john
}

fn label_names(issue: &Value) -> Vec<&str> {
    issue["labels"]
        .as_array()
        .map(|labels| labels.iter().map(|label| label["name"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn labels_are_defined_by_those_who_manage_them_and_put_on_by_those_who_edit() {
    let app = TestApp::spawn().await;
    signed_in(&app, JOHN).await;
    let john = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    let emily = app.password_token_for(CLIENT_ID, EMILY, ALL_SCOPES).await;

    let (status, bug) = define(
        &app,
        &john,
        json!({"name": "Bug", "color": "#D73A4A", "description": "Something is broken"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bug}");
    assert_eq!(
        (bug["name"].as_str(), bug["color"].as_str()),
        (Some("Bug"), Some("#d73a4a"))
    );
    let (status, _) = define(&app, &john, json!({"name": "ui", "color": "#0075ca"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // One label however it is capitalised.
    let (status, body) = define(&app, &john, json!({"name": "BUG", "color": "#000000"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = define(&app, &john, json!({"name": "x", "color": "red"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["fields"]["label"].as_str().unwrap_or_default().contains("#rrggbb"),
        "{body}"
    );

    // Emily (Employee: view and comment) sees the labels but may not define or put them on.
    let (status, labels) = send(&app, &emily, Method::GET, "/api/v1/labels", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(labels.as_array().unwrap().len(), 2);
    let (status, refused) = define(&app, &emily, json!({"name": "mine", "color": "#ffffff"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["error_description"].as_str().unwrap().contains("define labels"),
        "{refused}"
    );

    let issue = create(&app, &john, "Printer jams").await;
    let (status, refused) = patch(&app, &emily, &issue["id"], json!({"labels": ["bug"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, labelled) = patch(&app, &john, &issue["id"], json!({"labels": ["bug", "UI"]})).await;
    assert_eq!(status, StatusCode::OK, "{labelled}");
    assert_eq!(label_names(&labelled), ["Bug", "ui"]);
    let (status, body) = patch(&app, &john, &issue["id"], json!({"labels": ["bug", "nonesuch"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["fields"]["labels"].as_str().unwrap().contains("nonesuch"),
        "{body}"
    );

    // Counts per label; a renamed label shows on the issue by its new name; a deleted one is
    // taken off.
    let (issue_path, bug_path) = (
        format!("/api/v1/issues/{}", issue["id"]),
        format!("/api/v1/labels/{}", bug["id"]),
    );
    let (_, labels) = send(&app, &john, Method::GET, "/api/v1/labels", None).await;
    assert_eq!(labels[0]["issue_count"], 1, "{labels}");
    let renaming = json!({"name": "defect", "color": "#d73a4a"});
    let (status, renamed) = send(&app, &john, Method::PUT, &bug_path, Some(renaming)).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (_, shown) = send(&app, &john, Method::GET, &issue_path, None).await;
    assert_eq!(label_names(&shown), ["defect", "ui"]);
    let (status, _) = send(&app, &john, Method::DELETE, &bug_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shown) = send(&app, &john, Method::GET, &issue_path, None).await;
    assert_eq!(label_names(&shown), ["ui"]);
    let (status, _) = send(&app, &john, Method::DELETE, &bug_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_board_filters_and_sorts_by_triage_and_every_page_is_reached_by_its_cursor() {
    let app = TestApp::spawn().await;
    let john = john_with_a_bug_label(&app).await;
    let priorities = ["none", "low", "medium", "high", "urgent"];
    let mut ids = Vec::new();
    for n in 0..23 {
        let issue = create(&app, &john, &format!("Issue {n:02}")).await;
        let mut change = json!({"priority": priorities[n % 5]});
        if n % 3 != 0 {
            change["due"] = json!(format!("2027-0{}-1{}", 1 + n % 4, n % 7));
        }
        if n % 2 == 0 {
            change["labels"] = json!(["bug"]);
        }
        let (status, body) = patch(&app, &john, &issue["id"], change).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(issue["id"].as_i64().unwrap());
    }

    let (_, page) = send(
        &app,
        &john,
        Method::GET,
        "/api/v1/issues?label=bug&priority=high&limit=100",
        None,
    )
    .await;
    let expected: Vec<String> = (0..23)
        .rev()
        .filter(|n| n % 2 == 0 && n % 5 == 3)
        .map(|n| format!("Issue {n:02}"))
        .collect();
    assert_eq!(titles(&page), expected);
    assert_eq!(page["counts"]["open"], expected.len());

    // Every sort, read 5 at a time by its cursor, reaches each issue once and in order.
    for sort in ["newest", "oldest", "updated", "priority", "due"] {
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/api/v1/issues?sort={sort}&limit=5&cursor={cursor}"),
                None => format!("/api/v1/issues?sort={sort}&limit=5"),
            };
            let (status, page) = send(&app, &john, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{sort}: {page}");
            seen.extend(page["issues"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        let mut got: Vec<i64> = seen.iter().map(|issue| issue["id"].as_i64().unwrap()).collect();
        assert_eq!(got.len(), 23, "{sort}: every issue once");
        let in_order = |a: &Value, b: &Value| -> bool {
            let rank = |issue: &Value| priorities.iter().position(|p| *p == issue["priority"]).unwrap();
            match sort {
                "newest" => a["id"].as_i64() > b["id"].as_i64(),
                "oldest" => a["id"].as_i64() < b["id"].as_i64(),
                "updated" => {
                    (a["updated_at"].as_i64(), a["id"].as_i64()) > (b["updated_at"].as_i64(), b["id"].as_i64())
                }
                "priority" => (rank(a), a["id"].as_i64()) > (rank(b), b["id"].as_i64()),
                _ => {
                    let key = |issue: &Value| {
                        (
                            issue["due"].is_null(),
                            issue["due"].as_str().unwrap_or_default().to_string(),
                            issue["id"].as_i64(),
                        )
                    };
                    key(a) < key(b)
                }
            }
        };
        assert!(
            seen.windows(2).all(|pair| in_order(&pair[0], &pair[1])),
            "{sort}: in order"
        );
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 23, "{sort}: no issue twice");
    }

    for wrong in [
        "sort=sideways",
        "priority=meh",
        "sort=due&cursor=soon.3",
        "sort=priority&before=4",
    ] {
        let (status, body) = send(&app, &john, Method::GET, &format!("/api/v1/issues?{wrong}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong}: {body}");
    }
    let (status, body) = patch(&app, &john, &json!(ids[0]), json!({"due": "2027-02-30"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["due"].as_str().unwrap().contains("YYYY-MM-DD"), "{body}");
    let (status, body) = patch(&app, &john, &json!(ids[0]), json!({"priority": "meh"})).await;
    assert!(status.is_client_error(), "{status}: {body}");
}

#[tokio::test]
async fn an_issue_s_history_shows_every_change_with_old_and_new_values() {
    let app = TestApp::spawn().await;
    let john = john_with_a_bug_label(&app).await;
    let issue = create(&app, &john, "Heating off").await;
    let id = &issue["id"];
    for change in [
        json!({"title": "Heating off on floor 2", "priority": "high", "due": "2027-01-31"}),
        json!({"labels": ["bug"], "assignee": "me"}),
        json!({"status": "closed", "due": null, "labels": []}),
    ] {
        let (status, body) = patch(&app, &john, id, change).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, page) = send(&app, &john, Method::GET, &format!("/api/v1/issues/{id}/events"), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events: Vec<(String, Value, Value)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            assert_eq!(event["actor_name"], "John Manager", "{event}");
            (
                event["kind"].as_str().unwrap().to_string(),
                event["old_value"].clone(),
                event["new_value"].clone(),
            )
        })
        .collect();
    let expected = [
        ("created", Value::Null, Value::Null),
        ("title", json!("Heating off"), json!("Heating off on floor 2")),
        ("priority", json!("none"), json!("high")),
        ("due", Value::Null, json!("2027-01-31")),
        ("assignee", Value::Null, json!("John Manager")),
        ("label_added", Value::Null, json!("bug")),
        ("status", json!("open"), json!("closed")),
        ("due", json!("2027-01-31"), Value::Null),
        ("label_removed", json!("bug"), Value::Null),
    ];
    let expected: Vec<(String, Value, Value)> = expected.into_iter().map(|(k, o, n)| (k.to_string(), o, n)).collect();
    assert_eq!(events, expected);

    let (status, _) = send(&app, &john, Method::GET, "/api/v1/issues/999999/events", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deleted_issue_is_restored_by_those_who_may_delete_with_its_history() {
    let app = TestApp::spawn().await;
    let john = john_with_a_bug_label(&app).await;
    signed_in(&app, ALEX).await;
    let alex = app.password_token_for(CLIENT_ID, ALEX, ALL_SCOPES).await;
    let issue = create(&app, &john, "Lift out of order").await;
    let (status, _) = patch(
        &app,
        &john,
        &issue["id"],
        json!({"labels": ["bug"], "priority": "urgent"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/issues/{}", issue["id"]);
    let (status, _) = send(&app, &alex, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, &john, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // John (Manager) may not delete, so may not restore: 403, and it stays deleted.
    let restore = format!("{path}/restore");
    let (status, refused) = send(&app, &john, Method::POST, &restore, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, _) = send(&app, &john, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, restored) = send(&app, &alex, Method::POST, &restore, None).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(
        (restored["priority"].as_str(), label_names(&restored)),
        (Some("urgent"), vec!["bug"])
    );
    let (_, page) = send(&app, &john, Method::GET, "/api/v1/issues", None).await;
    assert_eq!(titles(&page), ["Lift out of order"]);
    let (_, history) = send(&app, &john, Method::GET, &format!("{path}/events"), None).await;
    let last: Vec<(&str, &str)> = history["events"].as_array().unwrap()[3..]
        .iter()
        .map(|event| (event["kind"].as_str().unwrap(), event["actor_name"].as_str().unwrap()))
        .collect();
    assert_eq!(last, [("deleted", "Alex Admin"), ("restored", "Alex Admin")]);
    let (status, _) = send(&app, &alex, Method::POST, &restore, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only a deleted issue is restored");
    let page = app.state.audit.page(&Default::default(), None, 5).await.unwrap();
    assert!(
        page.events.iter().any(|event| event.event == "issue_restored"),
        "audited"
    );
}

/// The page's Content-Security-Policy refuses inline styles (`style-src 'self'`), so a label's
/// colour must not travel as a `style` attribute: the browser would drop it and log a violation.
#[tokio::test]
async fn a_labelled_issue_is_drawn_without_inline_styles() {
    let app = TestApp::spawn().await;
    let john = john_with_a_bug_label(&app).await;
    let issue = create(&app, &john, "Coloured").await;
    let (status, body) = patch(&app, &john, &issue["id"], json!({"labels": ["bug"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let browser = signed_in(&app, JOHN).await;
    for path in [
        "/issues".to_string(),
        format!("/issues/{}", issue["id"]),
        "/labels".to_string(),
    ] {
        let page = app.page_text(&browser, &path).await;
        assert!(
            page.contains(r##"<circle cx="5" cy="5" r="5" fill="#d73a4a">"##),
            "{path}: the label's colour is drawn"
        );
        assert!(!page.contains(" style="), "{path}: no inline style attribute");
    }
}

/// A filtered board counts up to 1,000 issues (more read as "1,000+", as a search's counts do),
/// so a label on many issues costs the same as one on a few; the unfiltered board's counts are
/// exact in every sort.
#[tokio::test]
async fn a_filtered_board_counts_up_to_a_thousand_and_the_unfiltered_one_exactly_in_every_sort() {
    let app = TestApp::spawn().await;
    let john = john_with_a_bug_label(&app).await;
    for statement in [
        "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < 1005) \
         INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at, priority) \
         SELECT 'Many ' || i, '', 'bulk', 'Bulk', i, i, 2 FROM n",
        "INSERT INTO issue_labels (issue_id, label_id) SELECT issues.id, labels.id FROM issues, labels \
         WHERE labels.name_key = 'bug' AND issues.title LIKE 'Many %'",
    ] {
        issues_app::on_db!(&app.state.db, |pool| sqlx::query(statement)
            .execute(pool)
            .await
            .map(drop))
        .unwrap();
    }
    let (_, page) = send(&app, &john, Method::GET, "/api/v1/issues?label=bug", None).await;
    assert_eq!(page["issues"].as_array().unwrap().len(), 20, "{page}");
    assert_eq!(
        (&page["counts"]["open"], &page["counts"]["open_capped"]),
        (&json!(1000), &json!(true)),
        "{}",
        page["counts"]
    );
    let (_, page) = send(&app, &john, Method::GET, "/api/v1/issues?label=bug&priority=low", None).await;
    assert_eq!(
        (&page["counts"]["open"], page["counts"].get("open_capped")),
        (&json!(0), None)
    );
    for sort in ["newest", "priority", "updated", "due"] {
        let (_, page) = send(&app, &john, Method::GET, &format!("/api/v1/issues?sort={sort}"), None).await;
        assert_eq!(page["counts"]["open"], 1005, "{sort}: {}", page["counts"]);
    }
    let (_, labels) = send(&app, &john, Method::GET, "/api/v1/labels", None).await;
    assert_eq!(labels[0]["issue_count"], 1005, "{labels}");
}
