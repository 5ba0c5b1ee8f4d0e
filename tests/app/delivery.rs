//! What changed reaches those allowed to see it: every change is in the outbox once, in
//! order, with its change and never without it (`GET /api/v1/events`); notifications reach
//! the assignee, the newly mentioned and the followers, never the one who acted; a live stream
//! (`GET /live`) carries changes to a signed-in viewer and ends when their view scope goes.

use std::time::Duration;

use issues_app::server::delivery::notify;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    ALEX, CLIENT_ID, EMILY, JOHN, TestApp, bearer_get_json, browser, edit_config, emily_forges_a_create, next_reload,
};

const EMILY_SUB: &str = "7c9e2a15-5d3f-4b6a-8e21-0f4c9b3d2a02";

/// Calls server function `function` as `who`, which must answer 200; its answer.
async fn ok(app: &TestApp, who: &reqwest::Client, function: &str, form: &[(&str, &str)]) -> Value {
    let (status, body) = app.call(who, function, form).await;
    assert_eq!(status, StatusCode::OK, "{function}: {body}");
    body
}

/// The changes after `after`, as a program with `token` reads them.
async fn events(app: &TestApp, token: &str, after: i64) -> Value {
    bearer_get_json(
        &reqwest::Client::new(),
        &app.url(&format!("/api/v1/events?after={after}")),
        token,
    )
    .await
}

fn kinds(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_change_is_in_the_outbox_once_in_order_and_a_refused_one_is_not() {
    let app = TestApp::spawn().await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let start = events(&app, &token, 0).await["next_after"].as_i64().unwrap();

    let issue = ok(
        &app,
        &john,
        "create_issue",
        &[("title", "Lift stuck"), ("description", "")],
    )
    .await;
    let id = issue["id"].as_i64().unwrap().to_string();
    ok(
        &app,
        &john,
        "edit_issue",
        &[
            ("id", &id),
            ("version", "1"),
            ("title", "Lift stuck on 3"),
            ("description", ""),
        ],
    )
    .await;
    ok(&app, &john, "add_comment", &[("issue", &id), ("body", "On it")]).await;
    ok(
        &app,
        &john,
        "set_issue_status",
        // A comment is no new version of the issue.
        &[("id", &id), ("version", "2"), ("status", "closed")],
    )
    .await;
    // Refused changes write nothing: a forged create, a stale edit.
    emily_forges_a_create(&app).await;
    let (status, _) = app
        .call(
            &john,
            "edit_issue",
            &[("id", &id), ("version", "1"), ("title", "Stale"), ("description", "")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let page = events(&app, &token, start).await;
    assert_eq!(
        kinds(&page),
        ["issue.created", "issue.updated", "comment.created", "issue.updated"],
        "{page}"
    );
    let events_list = page["events"].as_array().unwrap();
    let seqs: Vec<i64> = events_list.iter().map(|event| event["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (start + 1..=start + 4).collect::<Vec<_>>(),
        "one number each, no gaps"
    );
    assert_eq!(events_list[1]["data"]["changes"][0]["field"], "title");
    assert_eq!(events_list[1]["data"]["changes"][0]["old"], "Lift stuck");
    assert_eq!(events_list[1]["data"]["changes"][0]["new"], "Lift stuck on 3");
    // Which comment, not its words (read with an authorised call, gone when it is deleted).
    assert!(events_list[2]["data"]["comment"]["id"].is_i64());
    assert!(!page.to_string().contains("On it"), "{page}");
    assert_eq!(events_list[3]["data"]["issue"]["status"], "closed");
    assert_eq!(events_list[3]["actor_name"], "John Manager");
    assert_eq!(page["next_after"], json!(start + 4));
    // Read to the end: nothing more, and the place to poll from again.
    let rest = events(&app, &token, start + 4).await;
    assert_eq!(rest, json!({ "events": [], "next_after": start + 4 }));
}

#[tokio::test]
async fn the_events_need_the_view_scope_and_a_deleted_issues_content_only_for_who_may_delete() {
    let app = TestApp::spawn().await;
    let alex = browser();
    app.sign_in(&alex, ALEX, "/").await;
    let john = browser();
    app.sign_in(&john, JOHN, "/").await;
    let issue = ok(
        &app,
        &john,
        "create_issue",
        &[("title", "Secret plan"), ("description", "")],
    )
    .await;
    let id = issue["id"].as_i64().unwrap();
    ok(
        &app,
        &alex,
        "delete_issue",
        &[("id", &id.to_string()), ("version", "1")],
    )
    .await;

    // Without the view scope: refused, saying why.
    let unscoped = app.password_token_for(CLIENT_ID, JOHN, "openid").await;
    let refused = reqwest::Client::new()
        .get(app.url("/api/v1/events"))
        .bearer_auth(&unscoped)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Bad paging is a 400 that says which parameter.
    let emily = app.password_token(CLIENT_ID, EMILY).await;
    for bad in ["after=-1", "limit=0", "limit=501", "after=x", "since=1"] {
        let answer = reqwest::Client::new()
            .get(app.url(&format!("/api/v1/events?{bad}")))
            .bearer_auth(&emily)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // Emily may view but not delete: the deleted issue's changes without their content.
    let page = events(&app, &emily, 0).await;
    let about: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["issue_id"] == json!(id))
        .collect();
    assert_eq!(about.len(), 2, "{page}");
    assert!(about.iter().all(|event| event.get("data").is_none()), "{page}");
    assert!(!page.to_string().contains("Secret plan"), "{page}");
    // Alex may delete (and see deleted issues): the content is there.
    let alex_token = app
        .password_token_for(CLIENT_ID, ALEX, "openid issues:view issues:delete")
        .await;
    let page = events(&app, &alex_token, 0).await;
    assert!(page.to_string().contains("Secret plan"), "{page}");
    assert_eq!(kinds(&page).last().map(String::as_str), Some("issue.deleted"));
}

/// `who`'s inbox after every change so far has been turned into notifications.
async fn inbox(app: &TestApp, who: &reqwest::Client) -> Value {
    while notify::deliver(&app.state.db).await.unwrap().read > 0 {}
    ok(app, who, "notifications", &[]).await
}

fn summaries(inbox: &Value) -> Vec<String> {
    inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("{}: {}", n["reason"].as_str().unwrap(), n["summary"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn notifications_reach_the_assignee_the_mentioned_and_followers_but_never_the_actor() {
    let app = TestApp::spawn().await;
    let (john, emily) = (browser(), browser());
    app.sign_in(&john, JOHN, "/").await;
    app.sign_in(&emily, EMILY, "/").await;
    let issue = ok(
        &app,
        &john,
        "create_issue",
        &[("title", "Heating"), ("description", "")],
    )
    .await;
    let id = issue["id"].as_i64().unwrap().to_string();

    // Emily comments mentioning John: he is told once, as mentioned (he also wrote the issue).
    ok(
        &app,
        &emily,
        "add_comment",
        &[("issue", &id), ("body", "@John Manager it is cold")],
    )
    .await;
    let johns = inbox(&app, &john).await;
    assert_eq!(
        summaries(&johns),
        [format!("mentioned: Emily Employee mentioned you in #{id} “Heating”")]
    );
    assert_eq!(johns["unread"], 1);
    assert_eq!(
        summaries(&inbox(&app, &emily).await),
        Vec::<String>::new(),
        "not of her own comment"
    );

    // John assigns it to Emily, then closes it: she is told of both (she commented on it).
    ok(
        &app,
        &john,
        "assign_issue",
        &[("id", &id), ("version", "1"), ("assignee", EMILY_SUB)],
    )
    .await;
    ok(
        &app,
        &john,
        "set_issue_status",
        &[("id", &id), ("version", "2"), ("status", "closed")],
    )
    .await;
    let emilys = inbox(&app, &emily).await;
    assert_eq!(
        summaries(&emilys),
        [
            format!("watching: John Manager closed #{id} “Heating”"),
            format!("assigned: John Manager assigned #{id} “Heating” to you"),
        ]
    );
    let (_, info) = app.call(&emily, "session_info", &[]).await;
    assert_eq!(info["user"]["unread"], 2, "the bell counts them");

    // She stops following it: John's comment reaches her no more. Mark all read empties the bell.
    ok(&app, &emily, "watch_issue", &[("issue", &id), ("watching", "false")]).await;
    assert_eq!(ok(&app, &emily, "follows_issue", &[("issue", &id)]).await, json!(false));
    ok(&app, &john, "add_comment", &[("issue", &id), ("body", "Fixed?")]).await;
    assert_eq!(inbox(&app, &emily).await["notifications"].as_array().unwrap().len(), 2);
    ok(&app, &emily, "mark_read", &[("id", "0")]).await;
    let (_, unread) = app.call(&emily, "unread_notifications", &[]).await;
    assert_eq!(unread, 0);
    // Someone else's notification is not hers to mark.
    let johns = inbox(&app, &john).await;
    let his = johns["notifications"][0]["id"].as_i64().unwrap().to_string();
    ok(&app, &emily, "mark_read", &[("id", &his)]).await;
    assert_eq!(inbox(&app, &john).await["unread"], 1);
}

/// The next server-sent event of `stream` (its `event:` and `data:`), or `None` when the
/// stream ended; waits at most `within`.
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String, within: Duration) -> Option<(String, String)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(|value| value.trim_start().to_string())
            };
            // A comment line (keep-alive) is no event.
            if let Some(event) = field("event:") {
                return Some((event, field("data:").unwrap_or_default()));
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("no event within the time")
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
    }
}

#[tokio::test]
async fn a_live_stream_carries_changes_to_a_viewer_and_ends_when_the_view_scope_goes() {
    let app = TestApp::spawn().await;
    let anonymous = browser();
    let refused = anonymous.get(app.url("/live")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let (john, emily) = (browser(), browser());
    app.sign_in(&john, JOHN, "/").await;
    app.sign_in(&emily, EMILY, "/").await;
    let mut stream = emily.get(app.url("/live")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    let (event, _) = next_event(&mut stream, &mut buffer, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(event, "ready");

    let issue = ok(
        &app,
        &john,
        "create_issue",
        &[("title", "Printer"), ("description", "")],
    )
    .await;
    let (event, data) = next_event(&mut stream, &mut buffer, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(event, "change");
    let change: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(change["issue"], issue["id"]);
    assert_eq!(change["kind"], "issue.created");
    assert_eq!(change["by"], "John Manager");
    assert!(!data.contains("Printer"), "the stream names no content: {data}");

    // Assigned to her: the change, and word that she was told something (her bell asks again).
    let id = issue["id"].as_i64().unwrap().to_string();
    ok(
        &app,
        &john,
        "assign_issue",
        &[("id", &id), ("version", "1"), ("assignee", EMILY_SUB)],
    )
    .await;
    let mut said = Vec::new();
    for _ in 0..2 {
        said.push(
            next_event(&mut stream, &mut buffer, Duration::from_secs(5))
                .await
                .unwrap()
                .0,
        );
    }
    said.sort();
    assert_eq!(said, ["change", "inbox"]);

    // Viewing now needs a scope Emily's role lacks: the next change is not sent, the stream ends.
    let before = app.state.config.reload_attempts();
    edit_config(&app, |config| {
        config["Features"]["Issues"]["scopes"]["view"] = json!(["issues:create"]);
    });
    next_reload(&app, before).await;
    ok(
        &app,
        &john,
        "create_issue",
        &[("title", "Scanner"), ("description", "")],
    )
    .await;
    assert_eq!(next_event(&mut stream, &mut buffer, Duration::from_secs(5)).await, None);
    let again = emily.get(app.url("/live")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(again.text().await.unwrap().contains("issues:create"));
}

#[tokio::test]
async fn a_program_lists_only_what_changed_since_it_last_looked() {
    let app = TestApp::spawn().await;
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let client = reqwest::Client::new();
    let old = app
        .post_issue(&client, &token, &json!({"title": "Old", "description": ""}))
        .await;
    let old: Value = old.json().await.unwrap();
    let fresh = app
        .post_issue(&client, &token, &json!({"title": "Fresh", "description": ""}))
        .await;
    let fresh: Value = fresh.json().await.unwrap();
    let since = fresh["updated_at"].as_i64().unwrap();
    assert!(old["updated_at"].as_i64().unwrap() <= since);

    let titles = |page: &Value| -> Vec<String> {
        let issues = page["issues"].as_array().unwrap().iter();
        issues
            .map(|issue| issue["title"].as_str().unwrap().to_string())
            .collect()
    };
    let url = |since: &str| app.url(&format!("/api/v1/issues?updated_since={since}"));
    let page = bearer_get_json(&client, &url(&since.to_string()), &token).await;
    assert!(titles(&page).contains(&"Fresh".to_string()), "{page}");
    assert!(
        page["issues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|issue| issue["updated_at"].as_i64().unwrap() >= since),
        "nothing older: {page}"
    );
    // A time after every change: nothing; as RFC 3339 too.
    let later = bearer_get_json(&client, &url(&(since + 60_000).to_string()), &token).await;
    assert_eq!(later["issues"], json!([]), "{later}");
    let rfc = bearer_get_json(&client, &url("2099-01-01T00:00:00Z"), &token).await;
    assert_eq!(rfc["issues"], json!([]), "{rfc}");
    // A time that is not one: 400 saying which parameter.
    let bad = client.get(url("yesterday")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("updated_since"));
}
