//! The tracker's actions, each with its own scope, through the server functions and the REST
//! API: allowed, refused with 403 and nothing stored, stale changes refused; the board's
//! filters, counts and search; the OpenAPI document. Runs on SQLite and (scripts/test) PostgreSQL.

mod bulk;
mod content;
mod rest;
mod search_bounds;
mod templates;
mod triage;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ALEX, CLIENT_ID, EMILY, EMPLOYEE_MAY, JOHN, MANAGER_MAY, TestApp, allowed, browser};

/// Every scope the tracker knows: the IdP grants each user only their role's.
const ALL_SCOPES: &str = "openid issues:view issues:create issues:comment issues:edit issues:close issues:assign \
                          issues:delete audit:view";

async fn signed_in(app: &TestApp, user: (&str, &str)) -> reqwest::Client {
    let browser = browser();
    app.sign_in(&browser, user, "/").await;
    browser
}

/// Creates an issue as `who` (through the server function) and answers it.
async fn create(app: &TestApp, who: &reqwest::Client, title: &str, description: &str) -> Value {
    let (status, issue) = app
        .call(who, "create_issue", &[("title", title), ("description", description)])
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    issue
}

async fn detail(app: &TestApp, who: &reqwest::Client, id: &Value) -> Value {
    let (status, detail) = app.call(who, "get_issue", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail
}

/// The first page of issue `id`'s thread as its page shows it (`list_comments`).
async fn thread(app: &TestApp, who: &reqwest::Client, id: &Value) -> Value {
    let (status, page) = app.call(who, "list_comments", &[("issue", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// Titles on a board page.
fn titles(page: &Value) -> Vec<String> {
    page["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["title"].as_str().unwrap().to_string())
        .collect()
}

async fn board(app: &TestApp, who: &reqwest::Client, filters: &[(&str, &str)]) -> Value {
    let (status, page) = app.call(who, "list_issues", filters).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// The newest audit events' names, newest first.
async fn audit_events(app: &TestApp) -> Vec<(String, String)> {
    let page = app.state.audit.page(&Default::default(), None, 50).await.unwrap();
    page.events
        .into_iter()
        .map(|event| (event.event, event.outcome))
        .collect()
}

#[tokio::test]
async fn john_closes_and_reopens_and_the_board_follows_with_counts() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Door sticks", "Back entrance").await;
    create(&app, &john, "Lamp out", "").await;
    let page = board(&app, &john, &[]).await;
    assert_eq!(titles(&page), ["Lamp out", "Door sticks"]);
    assert_eq!(page["counts"], json!({"open": 2, "closed": 0}));

    let id = issue["id"].to_string();
    let (status, closed) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &id), ("version", "1"), ("status", "closed")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_by_name"], "John Manager");
    assert!(closed["closed_at"].as_i64().unwrap() >= issue["created_at"].as_i64().unwrap());
    assert_eq!(closed["version"], 2);

    // Open by default; closed and all on request; counts follow.
    let open = board(&app, &john, &[]).await;
    assert_eq!(titles(&open), ["Lamp out"]);
    assert_eq!(open["counts"], json!({"open": 1, "closed": 1}));
    assert_eq!(
        titles(&board(&app, &john, &[("status", "closed")]).await),
        ["Door sticks"]
    );
    assert_eq!(
        titles(&board(&app, &john, &[("status", "all")]).await),
        ["Lamp out", "Door sticks"]
    );
    let (status, _) = app.call(&john, "list_issues", &[("status", "sideways")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Refused in the server function's own body (not by a service): its status follows the
    // error all the same.
    let (status, refused) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &id), ("version", "2"), ("status", "sideways")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    let (status, reopened) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &id), ("version", "2"), ("status", "open")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(reopened["status"], "open");
    assert!(reopened.get("closed_by_name").is_none() && reopened.get("closed_at").is_none());
    assert_eq!(board(&app, &john, &[]).await["counts"], json!({"open": 2, "closed": 0}));

    let events = audit_events(&app).await;
    assert_eq!(events[0], ("issue_reopened".into(), "ok".into()));
    assert_eq!(events[1], ("issue_closed".into(), "ok".into()));
}

#[tokio::test]
async fn emily_comments_but_every_other_change_is_refused_with_why_and_nothing_stored() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Heating", "Too cold").await;
    let id = issue["id"].to_string();
    let emily = signed_in(&app, EMILY).await;

    let (status, comment) = app
        .call(
            &emily,
            "add_comment",
            &[("issue", &id), ("body", "  Same on floor 2  ")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{comment}");
    assert_eq!(comment["body"], "Same on floor 2");
    assert_eq!(comment["author_name"], "Emily Employee");

    let refused = [
        (
            "set_issue_status",
            vec![("status", "closed")],
            "You can't close or reopen issues: your access lacks the scope issues:close; people with the Manager role have it.",
        ),
        (
            "edit_issue",
            vec![("title", "Mine now"), ("description", "")],
            "You can't edit issues: your access lacks the scope issues:edit; people with the Manager role have it.",
        ),
        (
            "assign_issue",
            vec![("assignee", "me")],
            "You can't assign issues: your access lacks the scope issues:assign; people with the Manager role have it.",
        ),
        (
            "delete_issue",
            vec![],
            "You can't delete issues: your access lacks the scope issues:delete.",
        ),
    ];
    for (function, fields, why) in refused {
        let mut form = vec![("id", id.as_str()), ("version", "1")];
        form.extend(fields);
        let (status, body) = app.call(&emily, function, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{function}: {body}");
        assert_eq!(body["Forbidden"], why, "{function}");
    }
    // Nothing changed: same version, text, status, assignee; one comment.
    let now = detail(&app, &john, &issue["id"]).await;
    assert_eq!(now["issue"]["version"], 1);
    assert_eq!(now["issue"]["title"], "Heating");
    assert_eq!(now["issue"]["status"], "open");
    assert!(now["issue"].get("assignee_sub").is_none());
    assert_eq!(now["issue"]["comment_count"], 1);
    assert_eq!(
        thread(&app, &john, &issue["id"]).await["comments"][0]["body"],
        "Same on floor 2"
    );
    // She is not offered the people list (she may not assign).
    assert_eq!(detail(&app, &emily, &issue["id"]).await["people"], json!([]));

    let refusals = audit_events(&app)
        .await
        .into_iter()
        .filter(|(event, outcome)| event == "authorization" && outcome == "refused")
        .count();
    assert_eq!(refusals, 4);

    // The session tells her UI the same, with the lines saying why.
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(allowed(&info), EMPLOYEE_MAY);
    let refused = info["permissions"]["refused"].as_array().unwrap();
    assert!(
        refused
            .iter()
            .any(|why| why
                == &json!({"permission": "CloseIssue", "missing": ["issues:close"], "granted_by": ["Manager"], "learned": true}))
    );
}

#[tokio::test]
async fn comments_are_oldest_first_and_paged_and_bad_ones_are_refused() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Long thread", "").await;
    let id = issue["id"].to_string();
    for n in 0..55 {
        let (status, body) = app
            .call(
                &john,
                "add_comment",
                &[("issue", &id), ("body", &format!("comment {n}"))],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let first = thread(&app, &john, &issue["id"]).await;
    assert_eq!(first["comments"].as_array().unwrap().len(), 50);
    assert_eq!(first["comments"][0]["body"], "comment 0");
    let after = first["next_after"].to_string();
    let (status, rest) = app
        .call(&john, "list_comments", &[("issue", &id), ("after", &after)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rest["comments"][0]["body"], "comment 50");
    assert_eq!(rest["comments"].as_array().unwrap().len(), 5);
    assert_eq!(rest["next_after"], Value::Null);

    for (body, problem) in [
        ("   ", "Write a comment."),
        ("a\u{202E}b", "The comment contains control characters."),
    ] {
        let (status, answer) = app.call(&john, "add_comment", &[("issue", &id), ("body", body)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["Invalid"]["body"], problem);
    }
    let (status, _) = app
        .call(&john, "add_comment", &[("issue", "999999"), ("body", "lost")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&app, &john, &issue["id"]).await["issue"]["comment_count"], 55);
}

#[tokio::test]
async fn a_stale_edit_is_refused_with_the_current_text_and_overwrites_nothing() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Typo", "Teh text").await;
    let id = issue["id"].to_string();

    // Two tabs read version 1; the first saves.
    let (status, first) = app
        .call(
            &john,
            "edit_issue",
            &[
                ("id", &id),
                ("version", "1"),
                ("title", "Typo fixed"),
                ("description", "The text"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["version"], 2);
    // The second is refused, and shown what is there now.
    let (status, second) = app
        .call(
            &john,
            "edit_issue",
            &[
                ("id", &id),
                ("version", "1"),
                ("title", "Other fix"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{second}");
    assert_eq!(second["Stale"]["title"], "Typo fixed");
    assert_eq!(second["Stale"]["description"], "The text");
    assert_eq!(second["Stale"]["version"], 2);
    let now = detail(&app, &john, &issue["id"]).await["issue"].clone();
    assert_eq!(
        (now["title"].as_str(), now["version"].as_i64()),
        (Some("Typo fixed"), Some(2))
    );

    // A close made from an old version is refused the same way.
    let (status, _) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &id), ("version", "1"), ("status", "closed")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Bad input: 422 naming the field; nothing changes.
    let (status, body) = app
        .call(
            &john,
            "edit_issue",
            &[("id", &id), ("version", "2"), ("title", " "), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["Invalid"]["title"], "Enter a title.");
    let (status, _) = app
        .call(
            &john,
            "edit_issue",
            &[("id", "424242"), ("version", "1"), ("title", "x"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&app, &john, &issue["id"]).await["issue"]["version"], 2);
}

#[tokio::test]
async fn john_assigns_to_someone_who_signed_in_and_her_filter_shows_it() {
    let app = TestApp::spawn().await;
    let emily = signed_in(&app, EMILY).await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Replace toner", "").await;
    create(&app, &john, "Someone else's", "").await;
    let id = issue["id"].to_string();

    let people = detail(&app, &john, &issue["id"]).await["people"].clone();
    let names: Vec<&str> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Emily Employee", "John Manager"]);
    let emily_sub = people[0]["sub"].as_str().unwrap().to_string();

    let (status, assigned) = app
        .call(
            &john,
            "assign_issue",
            &[("id", &id), ("version", "1"), ("assignee", &emily_sub)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["assignee_name"], "Emily Employee");
    assert_eq!(
        titles(&board(&app, &emily, &[("assignee", "me")]).await),
        ["Replace toner"]
    );
    assert_eq!(
        titles(&board(&app, &john, &[("assignee", "me")]).await),
        Vec::<String>::new()
    );
    assert_eq!(
        titles(&board(&app, &john, &[("assignee", "unassigned")]).await),
        ["Someone else's"]
    );
    assert_eq!(
        board(&app, &emily, &[("assignee", "me")]).await["counts"],
        json!({"open": 1, "closed": 0})
    );

    // Someone who never signed in here: refused, nothing changed.
    let (status, body) = app
        .call(
            &john,
            "assign_issue",
            &[("id", &id), ("version", "2"), ("assignee", "no-such-sub")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["Invalid"]["assignee"].is_string());
    // To me, then to no one.
    let (_, mine) = app
        .call(
            &john,
            "assign_issue",
            &[("id", &id), ("version", "2"), ("assignee", "me")],
        )
        .await;
    assert_eq!(mine["assignee_name"], "John Manager");
    let (_, nobody) = app
        .call(
            &john,
            "assign_issue",
            &[("id", &id), ("version", "3"), ("assignee", "")],
        )
        .await;
    assert!(nobody.get("assignee_sub").is_none(), "{nobody}");
    // Author filter.
    assert_eq!(board(&app, &emily, &[("author", "me")]).await["issues"], json!([]));
    assert_eq!(titles(&board(&app, &john, &[("author", "me")]).await).len(), 2);
}

#[tokio::test]
async fn search_finds_words_in_titles_descriptions_and_comments_and_reads_no_syntax() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let printer = create(&app, &john, "Printer jams", "Tray two").await;
    create(&app, &john, "Coffee machine", "Descaling overdue").await;
    let (status, _) = app
        .call(
            &john,
            "add_comment",
            &[
                ("issue", &printer["id"].to_string()),
                ("body", "Looks like a worn roller"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let found = |q: &'static str| {
        let (app, john) = (&app, &john);
        async move { titles(&board(app, john, &[("q", q), ("status", "all")]).await) }
    };
    assert_eq!(found("printer").await, ["Printer jams"]);
    assert_eq!(found("descaling").await, ["Coffee machine"]);
    assert_eq!(found("roller").await, ["Printer jams"], "a word in a comment");
    assert_eq!(found("worn roller").await, ["Printer jams"]);
    assert_eq!(
        found("roller coffee").await,
        Vec::<String>::new(),
        "every word must match"
    );
    // Query syntax is read as words: no error, no surprise.
    for q in [
        "\"",
        "printer OR coffee",
        "NEAR(a b)",
        "*",
        "'; DROP TABLE issues;--",
        "!!!",
        "a:b -c",
    ] {
        let (status, page) = app.call(&john, "list_issues", &[("q", q)]).await;
        assert_eq!(status, StatusCode::OK, "{q}: {page}");
    }
    // Control characters in a filter are refused, not passed to the database.
    for filter in [("q", "a\u{0}b"), ("assignee", "\u{0}"), ("author", "x\u{1b}")] {
        let (status, _) = app.call(&john, "list_issues", &[filter]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter:?}");
    }
    // Host names and versions are found as typed, on both backends.
    create(&app, &john, "Status page down", "see status.example.com since 2.4.1").await;
    assert_eq!(found("status.example.com").await, ["Status page down"]);
    // An edited title is searched as it is now.
    let (status, _) = app
        .call(
            &john,
            "edit_issue",
            &[
                ("id", &printer["id"].to_string()),
                ("version", "1"),
                ("title", "Scanner jams"),
                ("description", "Tray two"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found("printer").await, Vec::<String>::new());
    assert_eq!(found("scanner").await, ["Scanner jams"]);
    let counted = board(&app, &john, &[("q", "jams")]).await;
    assert_eq!(counted["counts"], json!({"open": 1, "closed": 0}));
}

#[tokio::test]
async fn a_deleted_issue_is_gone_from_every_view_kept_in_the_database_and_audited() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Duplicate", "").await;
    let id = issue["id"].to_string();
    let (status, _) = app.call(&john, "delete_issue", &[("id", &id), ("version", "1")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "John's role has no delete");

    let alex = signed_in(&app, ALEX).await;
    let (status, _) = app.call(&alex, "delete_issue", &[("id", &id), ("version", "0")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "made from an old version");
    let (status, body) = app.call(&alex, "delete_issue", &[("id", &id), ("version", "1")]).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");

    let (status, _) = app.call(&john, "get_issue", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = board(&app, &john, &[("status", "all")]).await;
    assert_eq!(page["issues"], json!([]));
    assert_eq!(page["counts"], json!({"open": 0, "closed": 0}));
    let (status, _) = app
        .call(&john, "add_comment", &[("issue", &id), ("body", "late")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call(&john, "list_comments", &[("issue", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a deleted issue's comments are gone too");
    let kept: i64 = issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM issues WHERE deleted_at IS NOT NULL"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(kept, 1, "a soft delete");
    assert_eq!(audit_events(&app).await[0], ("issue_deleted".into(), "ok".into()));
}

#[tokio::test]
async fn the_demo_file_keeps_its_meaning_and_unnamed_actions_are_never_wider() {
    let app = TestApp::spawn_configured(Default::default(), |config| {
        config["Features"]["Issues"]["scopes"] = json!({"create": ["issues:create"], "view": ["issues:view"]});
    })
    .await;
    let john = signed_in(&app, JOHN).await;
    let (_, info) = app.call(&john, "session_info", &[]).await;
    // comment, edit, close and assign as create; delete off.
    assert_eq!(allowed(&info), MANAGER_MAY);
    let emily = signed_in(&app, EMILY).await;
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    // The demo's Employee only views: holding issues:comment (her role grants it) does not let
    // her write, because the demo's file never gave commenting a scope of its own.
    assert_eq!(allowed(&info), ["view_issues"]);

    let issue = create(&app, &john, "Keep me", "").await;
    let id = issue["id"].to_string();
    let (status, _) = app
        .call(&emily, "add_comment", &[("issue", &id), ("body", "Forged")])
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the Employee's forged comment is refused"
    );
    let (status, _) = app
        .call(&john, "add_comment", &[("issue", &id), ("body", "Noted")])
        .await;
    assert!(
        status.is_success(),
        "the Manager comments with the create scope: {status}"
    );

    // Delete is off: not even a token with issues:delete may.
    let token = app.password_token_for(CLIENT_ID, ALEX, ALL_SCOPES).await;
    let response = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/issues/{}", issue["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "action_disabled", "{body}");
    assert_eq!(app.issue_count().await, 1);
}
