//! Bulk actions on the board (`bulk_change`): each issue decided, changed and audited on its
//! own, a refusal or a missing issue reported for that issue without stopping the others; and
//! the admin's "Deleted" view (`/issues/deleted`, `list_deleted`, `restore_issue`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ALEX, EMILY, JOHN, TestApp, location};

use super::{create, detail, signed_in};

/// `bulk_change` as `who`: the status and the outcomes.
async fn bulk(app: &TestApp, who: &reqwest::Client, ids: &str, action: &str, value: &str) -> (StatusCode, Value) {
    app.call(
        who,
        "bulk_change",
        &[("ids", ids), ("action", action), ("value", value)],
    )
    .await
}

/// The audit trail's rows of `event`, newest first: (outcome, detail, repeats).
async fn audited(app: &TestApp, event: &str) -> Vec<(String, String, i64)> {
    let page = app.state.audit.page(&Default::default(), None, 100).await.unwrap();
    page.events
        .into_iter()
        .filter(|entry| entry.event == event)
        .map(|entry| (entry.outcome, entry.detail.unwrap_or_default(), entry.repeats))
        .collect()
}

#[tokio::test]
async fn john_bulk_closes_two_issues_each_closed_and_audited_on_its_own() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let door = create(&app, &john, "Door sticks", "").await;
    let lamp = create(&app, &john, "Lamp out", "").await;
    let heating = create(&app, &john, "Heating", "").await;

    let ids = format!("{},{}", door["id"], lamp["id"]);
    let (status, outcomes) = bulk(&app, &john, &ids, "close", "").await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert_eq!(
        outcomes,
        json!([{"id": door["id"], "ok": true}, {"id": lamp["id"], "ok": true}])
    );
    for issue in [&door, &lamp] {
        let now = detail(&app, &john, &issue["id"]).await;
        assert_eq!(now["issue"]["status"], "closed", "{now}");
        assert_eq!(now["issue"]["closed_by_name"], "John Manager", "{now}");
    }
    assert_eq!(
        detail(&app, &john, &heating["id"]).await["issue"]["status"],
        "open",
        "not picked, not closed"
    );
    // One audit row per issue, in the order they were closed (newest first here).
    assert_eq!(
        audited(&app, "issue_closed").await,
        [
            ("ok".to_string(), format!("issue {}", lamp["id"]), 1),
            ("ok".to_string(), format!("issue {}", door["id"]), 1),
        ]
    );

    // Reopening and assigning to himself work the same way.
    let (status, outcomes) = bulk(&app, &john, &ids, "reopen", "").await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert!(
        outcomes.as_array().unwrap().iter().all(|o| o["ok"] == true),
        "{outcomes}"
    );
    let (status, outcomes) = bulk(&app, &john, &ids, "assign", "me").await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert!(
        outcomes.as_array().unwrap().iter().all(|o| o["ok"] == true),
        "{outcomes}"
    );
    let now = detail(&app, &john, &door["id"]).await;
    assert_eq!(now["issue"]["status"], "open", "{now}");
    assert_eq!(now["issue"]["assignee_name"], "John Manager", "{now}");
    assert_eq!(audited(&app, "issue_reopened").await.len(), 2);
    assert_eq!(audited(&app, "issue_assigned").await.len(), 2);
}

#[tokio::test]
async fn emily_without_the_close_scope_is_refused_per_issue_with_why_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let first = create(&app, &john, "Heating", "").await;
    let second = create(&app, &john, "Water", "").await;
    let emily = signed_in(&app, EMILY).await;

    let ids = format!("{},{}", first["id"], second["id"]);
    let (status, outcomes) = bulk(&app, &emily, &ids, "close", "").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a partial answer, not a refused call: {outcomes}"
    );
    let why = "You can't close or reopen issues: your access lacks the scope issues:close; people with the Manager role have it.";
    assert_eq!(
        outcomes,
        json!([
            {"id": first["id"], "ok": false, "problem": why},
            {"id": second["id"], "ok": false, "problem": why},
        ])
    );
    for issue in [&first, &second] {
        let now = detail(&app, &john, &issue["id"]).await;
        assert_eq!(
            (&now["issue"]["status"], &now["issue"]["version"]),
            (&json!("open"), &json!(1)),
            "{now}"
        );
    }
    // Each issue's refusal is counted, as a single call's would be (repeats within a minute
    // share a row).
    let refusals = audited(&app, "authorization").await;
    let counted: i64 = refusals
        .iter()
        .filter(|(outcome, ..)| outcome == "refused")
        .map(|(.., repeats)| repeats)
        .sum();
    assert_eq!(counted, 2, "{refusals:?}");
    assert!(audited(&app, "issue_closed").await.is_empty());

    // Labels need the edit scope: refused the same way.
    let (_, outcomes) = bulk(&app, &emily, &ids, "label", "bug").await;
    assert!(
        outcomes[0]["problem"]
            .as_str()
            .unwrap()
            .starts_with("You can't edit issues"),
        "{outcomes}"
    );
}

#[tokio::test]
async fn a_missing_issue_is_reported_and_the_others_are_changed() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let first = create(&app, &john, "Printer jams", "").await;
    let second = create(&app, &john, "Printer smokes", "").await;

    let ids = format!("{}, 999999, {}", first["id"], second["id"]);
    let (status, outcomes) = bulk(&app, &john, &ids, "close", "").await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert_eq!(
        outcomes,
        json!([
            {"id": first["id"], "ok": true},
            {"id": 999999, "ok": false, "problem": "No such issue."},
            {"id": second["id"], "ok": true},
        ])
    );
    assert_eq!(audited(&app, "issue_closed").await.len(), 2);

    // A label is put on by name; a name no label has is that issue's problem.
    let (status, body) = app
        .call(
            &john,
            "define_label",
            &[("name", "bug"), ("color", "#d73a4a"), ("description", "")],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let ids = format!("{},{}", first["id"], second["id"]);
    let (_, outcomes) = bulk(&app, &john, &ids, "label", "Bug").await;
    assert!(
        outcomes.as_array().unwrap().iter().all(|o| o["ok"] == true),
        "{outcomes}"
    );
    let now = detail(&app, &john, &first["id"]).await;
    assert_eq!(now["issue"]["labels"][0]["name"], "bug", "{now}");
    let (_, outcomes) = bulk(&app, &john, &ids, "label", "nonesuch").await;
    assert_eq!(outcomes[1]["problem"], "No label is named `nonesuch`.", "{outcomes}");
    let (_, outcomes) = bulk(&app, &john, &ids, "unlabel", "bug").await;
    assert!(
        outcomes.as_array().unwrap().iter().all(|o| o["ok"] == true),
        "{outcomes}"
    );
    assert!(detail(&app, &john, &first["id"]).await["issue"].get("labels").is_none());

    // What is not a bulk action at all is refused whole.
    let many: Vec<String> = (1..=101).map(|id| id.to_string()).collect();
    let many = many.join(",");
    for (ids, action, value) in [
        ("", "close", ""),
        (many.as_str(), "close", ""),
        ("1,x", "close", ""),
        ("1", "delete", ""),
        ("1", "label", " "),
    ] {
        let (status, body) = bulk(&app, &john, ids, action, value).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{action} {value:?}: {body}");
    }
}

#[tokio::test]
async fn alex_restores_a_deleted_issue_from_the_deleted_view_and_john_may_not_see_it() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let issue = create(&app, &john, "Duplicate of the printer", "").await;
    let id = issue["id"].to_string();
    let alex = signed_in(&app, ALEX).await;
    let html = app.page_text(&alex, "/issues/deleted").await;
    assert!(html.contains("id=\"no-deleted\""), "nothing deleted yet: {html}");

    let (status, body) = app.call(&alex, "delete_issue", &[("id", &id), ("version", "1")]).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");

    let response = alex.get(app.url("/issues/deleted")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"deleted-link\""), "Alex has the link: {html}");
    assert!(html.contains(&format!("data-issue-id=\"{id}\"")), "{html}");
    assert!(
        html.contains("Duplicate of the printer") && html.contains("Alex Admin"),
        "what was deleted and by whom: {html}"
    );
    let (status, listed) = app.call(&alex, "list_deleted", &[]).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed[0]["id"], issue["id"], "{listed}");
    assert_eq!(listed[0]["deleted_by"], "Alex Admin", "{listed}");

    // John (no delete) sees neither the page nor the link, and may not restore.
    let response = john.get(app.url("/issues/deleted")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("You can't delete issues: your access lacks the scope issues:delete"),
        "{html}"
    );
    assert!(!html.contains("id=\"deleted-link\""), "no link for John");
    let (status, _) = app.call(&john, "list_deleted", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(&john, "restore_issue", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(&john, "get_issue", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "still deleted");

    // The page's Restore button is a plain form: back to the view, which no longer lists it.
    let response = alex
        .post(app.url("/api/restore_issue"))
        .header("accept", "text/html")
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(location(&response), "/issues/deleted");
    let restored = detail(&app, &john, &issue["id"]).await;
    assert_eq!(restored["issue"]["title"], "Duplicate of the printer");
    assert_eq!(audited(&app, "issue_restored").await.len(), 1);
    let html = app.page_text(&alex, "/issues/deleted").await;
    assert!(html.contains("id=\"no-deleted\""), "{html}");
    // Restoring what is not deleted is refused.
    let (status, _) = app.call(&alex, "restore_issue", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
