//! The audit trail: refused authorizations (who, which permission, which scopes were missing,
//! server function or REST, client id; repeats within a minute counted on one row), sign-ins
//! and their refusals, sign-outs and changes to issues (kept with their rows or not at all),
//! queryable at `GET /api/v1/audit` by holders of `audit:view` (Alex), on either backend.

use std::collections::HashSet;

use issues_app::access::{Permission, Viewer};
use issues_app::server::storage::audit::{Door, Event, EventKind};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{
    ALEX, CLIENT_ID, EMILY, JOHN, TestApp, browser, call_at, emily_forges_a_create, location, pending_cookie, query_of,
};

/// A bearer token for `user` with every scope the app knows (the IdP drops what the role lacks).
async fn token(app: &TestApp, user: (&str, &str)) -> String {
    app.password_token_for(CLIENT_ID, user, "openid issues:view issues:create audit:view")
        .await
}

async fn trail(app: &TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    let response = browser()
        .get(app.url(&format!("/api/v1/audit{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A create sent to the REST API with `token`, as Emily forges one.
async fn forged_rest_create(app: &TestApp, token: &str) -> reqwest::Response {
    let forged = serde_json::json!({"title": "Forged", "description": ""});
    app.post_issue(&browser(), token, &forged).await
}

fn sub_of(app: &TestApp, username: &str) -> String {
    app.idp()
        .directory()
        .user_by_username(username)
        .unwrap()
        .sub
        .to_string()
}

#[tokio::test]
async fn emily_s_forged_create_is_in_the_trail_with_the_scope_she_lacked() {
    let app = TestApp::spawn().await;
    emily_forges_a_create(&app).await;

    let alex = token(&app, ALEX).await;
    let emily_sub = sub_of(&app, "emily");
    let (status, page) = trail(&app, &alex, &format!("?who={emily_sub}&outcome=refused")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let refused = &page["events"][0];
    assert_eq!(refused["event"], "authorization", "{page}");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["actor_sub"], emily_sub.as_str());
    assert_eq!(refused["actor_name"], "Emily Employee");
    assert_eq!(refused["permission"], "create_issue");
    assert_eq!(refused["missing_scopes"], "issues:create");
    assert_eq!(refused["via"], "server_function");
    assert!(
        refused["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{refused}"
    );
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "only the refusal: {page}");

    // Her sign-in is there too, as a success.
    let (_, page) = trail(&app, &alex, &format!("?who={emily_sub}&outcome=ok")).await;
    assert_eq!(page["events"][0]["event"], "sign_in", "{page}");
}

#[tokio::test]
async fn a_refused_bearer_call_names_the_client_and_the_trail_is_closed_to_others() {
    let app = TestApp::spawn().await;
    let emily = token(&app, EMILY).await;
    let response = forged_rest_create(&app, &emily).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Neither Emily nor John may read the trail; their attempts are recorded as well.
    assert_eq!(trail(&app, &emily, "").await.0, StatusCode::FORBIDDEN);
    let john = token(&app, JOHN).await;
    assert_eq!(trail(&app, &john, "").await.0, StatusCode::FORBIDDEN);

    let alex = token(&app, ALEX).await;
    let (status, page) = trail(&app, &alex, &format!("?who={}", sub_of(&app, "emily"))).await;
    assert_eq!(status, StatusCode::OK);
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{page}");
    assert_eq!(events[0]["permission"], "view_audit");
    assert_eq!(events[0]["missing_scopes"], "audit:view");
    assert_eq!(events[1]["permission"], "create_issue");
    for event in events {
        assert_eq!(event["via"], "rest");
        assert_eq!(event["client_id"], CLIENT_ID);
    }
    assert_eq!(trail(&app, &alex, "?outcome=maybe").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_ins_refused_sign_outs_and_new_issues_are_recorded_and_old_events_purged() {
    let app = TestApp::spawn().await;
    // A callback this browser never started: refused, counted, not recorded (anyone can send one).
    let stranger = browser();
    let status = stranger
        .get(app.url("/auth/callback?code=x&state=y"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A sign-in this browser started, which the provider answers with a refusal: recorded.
    let login = stranger.get(app.url("/auth/login")).send().await.unwrap();
    let state = query_of(&location(&login))["state"].clone();
    let status = stranger
        .get(app.url("/auth/callback"))
        .query(&[
            ("error", "access_denied"),
            ("state", &state),
            ("iss", app.idp().issuer()),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_client_error(), "{status}");
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (status, created) = app
        .call(&john, "create_issue", &[("title", "Audited"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call(&john, "sign_out", &[]).await;
    assert!(status.is_success() || status.is_redirection(), "{status}");

    let alex = token(&app, ALEX).await;
    let (_, page) = trail(&app, &alex, "").await;
    let events: Vec<(String, String, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = [
        // Alex's reading of the trail is in it, once an hour: reading again adds nothing.
        ("audit_read".to_string(), "ok".to_string(), String::new()),
        ("sign_out".into(), "ok".into(), String::new()),
        ("issue_created".into(), "ok".into(), format!("issue {}", created["id"])),
        ("sign_in".into(), "ok".into(), String::new()),
        ("sign_in".into(), "refused".into(), "denied".into()),
    ];
    assert_eq!(events, expected, "{page}");
    let (_, again) = trail(&app, &alex, "").await;
    assert_eq!(
        again["events"], page["events"],
        "a second read within the hour is not recorded"
    );

    // Retention: everything recorded before a moment is purged.
    let purged = app.state.audit.purge(i64::MAX).await.unwrap();
    assert!(purged >= 4, "{purged}");
    let (_, page) = trail(&app, &alex, "").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 0, "{page}");
}

#[tokio::test]
async fn alex_sees_the_trail_page_and_emily_gets_403_and_no_link() {
    let app = TestApp::spawn().await;
    let emily = emily_forges_a_create(&app).await;

    let response = emily.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("You can't view the audit trail: your access lacks the scope audit:view"),
        "{html}"
    );
    assert!(!html.contains("id=\"audit-link\""), "no link for Emily");
    let (status, _) = app.call(&emily, "list_audit", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    let (_, info) = app.call(&alex, "session_info", &[]).await;
    assert_eq!(info["permissions"]["view_audit"], true, "{info}");
    let response = alex.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"audit-link\""), "Alex has the link");
    assert!(
        html.contains("Emily Employee") && html.contains("missing issues:create"),
        "Emily's refusal is shown: {html}"
    );

    // Filtered by outcome and who: only refusals, only Emily's (her sign-in is left out).
    let emily_sub = sub_of(&app, "emily");
    let html = app
        .page_text(&alex, &format!("/audit?outcome=refused&who={emily_sub}"))
        .await;
    assert_eq!(html.matches("class=\"audit-event refused\"").count(), 2, "{html}");
    assert!(!html.contains("class=\"audit-event ok\""), "{html}");
    // John's page has no link either.
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let html = app.page_text(&john, "/").await;
    assert!(!html.contains("id=\"audit-link\""), "no link for John");
}

async fn audit_rows(app: &TestApp) -> i64 {
    issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

/// What a stranger sends costs the trail nothing: a pending cookie replayed to the callback is
/// used up by its first use (whatever its outcome), a state that is not the cookie's is counted,
/// not recorded, and a sign-out that ended no sign-in is not recorded.
#[tokio::test]
async fn replayed_callbacks_and_anonymous_sign_outs_leave_at_most_one_row() {
    let app = TestApp::spawn().await;
    let before = audit_rows(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let callback = |cookie: &str, state: &str| {
        client
            .get(app.url(&format!("/auth/callback?code=junk&state={state}")))
            .header(reqwest::header::COOKIE, cookie.to_string())
            .send()
    };

    // The right state with a made-up code: the provider refuses the code; recorded once.
    let (cookie, state) = pending_cookie(&app.base).await;
    for n in 0..100 {
        let response = callback(&cookie, &state).await.unwrap();
        assert!(
            response.status().is_client_error() || response.status().is_redirection(),
            "{n}: {}",
            response.status()
        );
    }
    // Another state than the cookie's: no real sign-in sends that; counted, not recorded.
    let (cookie, _) = pending_cookie(&app.base).await;
    for _ in 0..100 {
        callback(&cookie, "not-the-cookie-s-state").await.unwrap();
    }
    // Sign-outs with nothing to end, through the form route and the server function, sent
    // with the app's own origin as a program can.
    for _ in 0..100 {
        let response = client
            .post(app.url("/auth/logout"))
            .header(reqwest::header::ORIGIN, app.base.clone())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let (status, _) = app.call(&browser(), "sign_out", &[]).await;
        assert!(status.is_success() || status.is_redirection(), "{status}");
    }
    let added = audit_rows(&app).await - before;
    assert!(added <= 1, "{added} rows from a stranger");
    assert_eq!(added, 1, "the one callback a real sign-in could have sent is recorded");
}

/// The purge deletes in rounds (5,000 events each) until nothing older than asked is left,
/// and leaves what is newer.
#[tokio::test]
async fn the_purge_deletes_a_long_backlog_in_rounds() {
    let app = TestApp::spawn().await;
    let before = audit_rows(&app).await;
    // Ten days old: within the retention, so the app's own purge leaves them; then doubled
    // 13 times, 8,192 events.
    let ten_days_ago = issues_app::server::support::clock::now() - 10 * 86_400;
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "INSERT INTO audit_events (at, event, outcome) VALUES ($1, 'sign_in', 'refused')"
    )
    .bind(ten_days_ago)
    .execute(pool)
    .await
    .map(drop))
    .unwrap();
    for _ in 0..13 {
        issues_app::on_db!(&app.state.db, |pool| sqlx::query(
            "INSERT INTO audit_events (at, event, outcome) SELECT at, event, outcome FROM audit_events WHERE at = $1"
        )
        .bind(ten_days_ago)
        .execute(pool)
        .await
        .map(drop))
        .unwrap();
    }
    assert_eq!(audit_rows(&app).await - before, 8_192);
    assert_eq!(app.state.audit.purge(ten_days_ago + 1).await.unwrap(), 8_192);
    assert_eq!(audit_rows(&app).await, before, "what is newer stays");
}

/// A refusal repeated within a minute is one row counting the calls: 50 forged creates by
/// Emily leave one refused row with `repeats` 50 (two rows adding up to 50 if the calls
/// crossed a minute), shown as "×50" on the trail's page. Successes stay one row each.
#[tokio::test]
async fn fifty_refusals_within_a_minute_are_one_row_counting_fifty() {
    let app = TestApp::spawn().await;
    let emily = emily_forges_a_create(&app).await;
    for n in 1..50 {
        let (status, body) = app
            .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{n}: {body}");
    }

    let alex = token(&app, ALEX).await;
    let emily_sub = sub_of(&app, "emily");
    let (status, page) = trail(&app, &alex, &format!("?who={emily_sub}&outcome=refused")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["events"].as_array().unwrap();
    assert!(!events.is_empty() && events.len() <= 2, "{page}");
    let counted: i64 = events.iter().map(|event| event["repeats"].as_i64().unwrap()).sum();
    assert_eq!(counted, 50, "{page}");
    for event in events {
        assert_eq!(event["event"], "authorization");
        assert_eq!(event["permission"], "create_issue");
    }
    // Her sign-in, a success, is a row of its own, once.
    let (_, page) = trail(&app, &alex, &format!("?who={emily_sub}&outcome=ok")).await;
    assert_eq!(page["events"][0]["event"], "sign_in", "{page}");
    assert_eq!(page["events"][0]["repeats"], 1, "{page}");

    let alex_browser = browser();
    app.sign_in(&alex_browser, ALEX, "/").await;
    let html = app
        .page_text(&alex_browser, &format!("/audit?outcome=refused&who={emily_sub}"))
        .await;
    for event in events {
        let repeats = event["repeats"].as_i64().unwrap();
        if repeats > 1 {
            assert!(html.contains(&format!("×{repeats}")), "{html}");
        }
    }

    // The REST API's document says what `repeats` is.
    let doc = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(doc.contains("\"repeats\""), "{doc}");
}

/// Emily's refused rows, newest first, each with how many calls it counts.
async fn emily_s_refusals(app: &TestApp) -> Vec<Value> {
    let alex = token(app, ALEX).await;
    let emily_sub = sub_of(app, "emily");
    let (status, page) = trail(app, &alex, &format!("?who={emily_sub}&outcome=refused")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().unwrap().clone()
}

fn repeats(events: &[&Value]) -> i64 {
    events.iter().map(|event| event["repeats"].as_i64().unwrap()).sum()
}

/// The database does the counting, so calls racing at the start of a minute share its row (a
/// count kept in the app's memory let each of them insert one, and each instance its own): 50
/// forged creates sent at once, the first refusal among them, leave one refused row counting
/// 50 (two if the calls crossed a minute, never two in one minute).
#[tokio::test]
async fn fifty_refusals_sent_at_once_are_one_row_per_minute_counting_fifty() {
    let app = TestApp::spawn().await;
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let mut forged = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (emily, base) = (emily.clone(), app.base.clone());
        forged.spawn(async move {
            call_at(
                &emily,
                &base,
                "create_issue",
                &[("title", "Forged"), ("description", "")],
            )
            .await
        });
    }
    while let Some(answer) = forged.join_next().await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }

    let events = emily_s_refusals(&app).await;
    let events: Vec<&Value> = events.iter().collect();
    assert!(!events.is_empty() && events.len() <= 2, "{events:?}");
    let minutes: HashSet<i64> = events
        .iter()
        .map(|event| event["at"].as_i64().unwrap().div_euclid(60))
        .collect();
    assert_eq!(minutes.len(), events.len(), "one row per minute: {events:?}");
    assert_eq!(repeats(&events), 50, "{events:?}");
    for event in &events {
        assert_eq!(event["permission"], "create_issue", "{event}");
        assert_eq!(event["via"], "server_function", "{event}");
    }
}

/// A row counts only calls it describes: the same refusal through another door (the REST API
/// rather than a server function), or from another application, is a row of its own, so no
/// call is shown under the door or application of the first.
#[tokio::test]
async fn a_refusal_through_another_door_or_application_is_a_row_of_its_own() {
    let app = TestApp::spawn().await;
    let emily = browser();
    app.sign_in(&emily, EMILY, "/").await;
    let emily_token = token(&app, EMILY).await;
    for n in 0..3 {
        let (status, body) = app
            .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{n}: {body}");
        let response = forged_rest_create(&app, &emily_token).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{n}");
    }
    let events = emily_s_refusals(&app).await;
    for (door, client) in [("server_function", None), ("rest", Some(CLIENT_ID))] {
        let rows: Vec<&Value> = events.iter().filter(|event| event["via"] == door).collect();
        assert!(!rows.is_empty() && rows.len() <= 2, "{door}: {events:?}");
        assert_eq!(repeats(&rows), 3, "{door}: {events:?}");
        for row in rows {
            assert_eq!(row["client_id"].as_str(), client, "{row}");
            assert_eq!(row["permission"], "create_issue", "{row}");
        }
    }

    // At the trail itself, where nothing else tells them apart: one caller's refusal through
    // two doors, and through one door from two applications, is three rows.
    let caller = |client_id: Option<&str>| Viewer {
        sub: "two-doors".into(),
        name: "Two Doors".into(),
        scopes: Vec::new(),
        client_id: client_id.map(str::to_string),
        auth_time: None,
    };
    let (browser_app, script) = (caller(None), caller(Some("a-script")));
    let calls = [
        (&browser_app, Door::ServerFunction),
        (&browser_app, Door::Rest),
        (&script, Door::Rest),
    ];
    for (viewer, door) in calls {
        for _ in 0..2 {
            app.state
                .audit
                .record(Event {
                    refused: true,
                    actor: Some(viewer),
                    permission: Some(Permission::CreateIssue),
                    missing_scopes: vec!["issues:create"],
                    via: Some(door),
                    ..Event::new(EventKind::Authorization)
                })
                .await;
        }
    }
    let alex = token(&app, ALEX).await;
    let (_, page) = trail(&app, &alex, "?who=two-doors&outcome=refused").await;
    let events = page["events"].as_array().unwrap();
    for (viewer, door) in calls {
        let rows: Vec<&Value> = events
            .iter()
            .filter(|event| event["via"] == door.name() && event["client_id"].as_str() == viewer.client_id.as_deref())
            .collect();
        assert!(!rows.is_empty() && rows.len() <= 2, "{door:?}: {page}");
        assert_eq!(repeats(&rows), 2, "{door:?} {:?}: {page}", viewer.client_id);
    }
    assert_eq!(repeats(&events.iter().collect::<Vec<_>>()), 6, "{page}");
}

/// Makes the database refuse every new audit row (as a full disk or a damaged table would), or
/// accept them again; answers the app restarted, so every pooled connection reads the new schema.
async fn refuse_audit_rows(app: TestApp, refuse: bool) -> TestApp {
    use issues_app::server::storage::db::Db;
    let statements: &[&str] = match (&app.state.db, refuse) {
        (Db::Sqlite(_), true) => &["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit rows refused'); END"],
        (Db::Sqlite(_), false) => &["DROP TRIGGER refuse_audit"],
        (Db::Postgres(_), true) => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit rows refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
        (Db::Postgres(_), false) => &[
            "DROP TRIGGER refuse_audit ON audit_events",
            "DROP FUNCTION refuse_audit()",
        ],
    };
    for &statement in statements {
        issues_app::on_db!(&app.state.db, |pool| sqlx::query(statement)
            .execute(pool)
            .await
            .map(drop))
        .unwrap();
    }
    // A pooled SQLite connection whose statements were prepared before another connection added
    // the trigger answered "no such table: issues".
    app.restart().await
}

/// A change to issues is kept with its audit row or not at all: while the trail refuses rows, a
/// create, a close and a comment each fail (500) and leave nothing behind; once it takes them
/// again, a create is kept with its row.
#[tokio::test]
async fn a_change_whose_audit_row_cannot_be_written_is_not_kept() {
    let mut app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let (status, kept) = app
        .call(&john, "create_issue", &[("title", "Kept"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    let id = kept["id"].to_string();

    app = refuse_audit_rows(app, true).await;
    let (status, body) = app
        .call(&john, "create_issue", &[("title", "Unaudited"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(app.issue_count().await, 1, "the create was undone");
    let (status, body) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &id), ("version", "1"), ("status", "closed")],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let (status, body) = app
        .call(&john, "add_comment", &[("issue", &id), ("body", "Unaudited")])
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let (status, detail) = app.call(&john, "get_issue", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["issue"]["status"], "open", "{detail}");
    assert_eq!(detail["issue"]["version"], 1, "{detail}");
    assert_eq!(detail["issue"]["comment_count"], 0, "{detail}");
    let (_, thread) = app.call(&john, "list_comments", &[("issue", &id)]).await;
    assert_eq!(thread["comments"], serde_json::json!([]), "{thread}");
    let (_, board) = app.call(&john, "list_issues", &[]).await;
    assert_eq!(board["issues"].as_array().map(Vec::len), Some(1), "{board}");

    app = refuse_audit_rows(app, false).await;
    let (status, created) = app
        .call(&john, "create_issue", &[("title", "Audited"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(app.issue_count().await, 2);
    let alex = token(&app, ALEX).await;
    let (_, page) = trail(&app, &alex, "?outcome=ok").await;
    let created_rows: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["event"] == "issue_created")
        .collect();
    assert_eq!(created_rows.len(), 2, "one row per kept create: {page}");
    assert_eq!(created_rows[0]["detail"], format!("issue {}", created["id"]), "{page}");
    assert_eq!(created_rows[1]["detail"], format!("issue {id}"), "{page}");
    let changes = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["event"] == "issue_closed" || event["event"] == "comment_added")
        .count();
    assert_eq!(changes, 0, "nothing undone was recorded: {page}");
}
