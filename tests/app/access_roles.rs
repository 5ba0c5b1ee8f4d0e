//! Which role grants what a refusal lacks: as config.json's `ApplicationConfig.AccessHelp.Roles`
//! writes it, or learned from sign-ins; never a role the person already has. The same words in
//! server functions, pages, the REST API and `/api/v1/me`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use issues_app::server::ops::live::Reloaded;

use crate::harness::{
    ALEX, CLIENT_ID, EMILY, JOHN, Options, TestApp, bearer_get_json, browser, edit_config, next_reload,
};

const ALL_SCOPES: &str = "openid issues:view issues:create issues:comment issues:edit issues:close issues:assign \
                          issues:delete audit:view";

/// The roles as the dev IdP's directory sets them up.
fn as_at_the_provider() -> Value {
    json!({
        "Manager": ["issues:create", "issues:view", "issues:comment", "issues:edit", "issues:close", "issues:assign"],
        "Employee": ["issues:view", "issues:comment"],
        "Admin": ["audit:view", "issues:view", "issues:delete"],
    })
}

async fn signed_in(app: &TestApp, user: (&str, &str)) -> reqwest::Client {
    let browser = browser();
    app.sign_in(&browser, user, "/").await;
    browser
}

/// Why `session_info` says `permission` (e.g. `CloseIssue`) is refused.
async fn why_line(app: &TestApp, who: &reqwest::Client, permission: &str) -> Value {
    let (status, info) = app.call(who, "session_info", &[]).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    info["permissions"]["refused"]
        .as_array()
        .unwrap()
        .iter()
        .find(|why| why["permission"] == permission)
        .cloned()
        .unwrap_or_else(|| panic!("{permission} is not refused: {info}"))
}

#[tokio::test]
async fn every_door_names_the_role_config_json_says_grants_what_is_missing() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["ApplicationConfig"]["AccessHelp"] =
            json!({"Text": "Ask the IT desk.", "Link": "it-desk@example.com", "Roles": as_at_the_provider()});
    })
    .await;
    let emily = signed_in(&app, EMILY).await;

    // A server function.
    let (status, refused) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused["Forbidden"],
        "You can't create issues: your access lacks the scope issues:create, granted by the Manager role. \
         Ask the IT desk. (it-desk@example.com)"
    );

    // What the pages are drawn from: the roles, apart from hers.
    let close = why_line(&app, &emily, "CloseIssue").await;
    assert_eq!(close["granted_by"], json!(["Manager"]), "{close}");
    assert!(close.get("held").is_none(), "{close}");
    let delete = why_line(&app, &emily, "DeleteIssue").await;
    assert_eq!(delete["granted_by"], json!(["Admin"]), "{delete}");

    // The board: one collapsed panel, each line with its role.
    let html = app.page_text(&emily, "/issues").await;
    let start = html
        .find("<details id=\"what-can-i-do\"")
        .unwrap_or_else(|| panic!("no panel: {html}"));
    let panel = &html[start..];
    let tag = &panel[..panel.find('>').unwrap()];
    assert!(!tag.contains("open"), "collapsed: {tag}");
    assert!(panel.contains("<summary>What can I do here?</summary>"), "{panel}");
    let line = |id: &str| {
        let at = panel
            .find(&format!("id=\"why-not-{id}\">"))
            .unwrap_or_else(|| panic!("no {id}: {panel}"));
        let line = &panel[at..];
        line[line.find('>').unwrap() + 1..line.find("</li>").unwrap()].replace("<!>", "")
    };
    assert!(
        line("close_issue").ends_with("lacks the scope issues:close, granted by the Manager role."),
        "{panel}"
    );
    assert!(
        line("create_issue").ends_with("lacks the scope issues:create, granted by the Manager role."),
        "{panel}"
    );

    // The REST API and /me.
    let token = app.password_token_for(CLIENT_ID, EMILY, ALL_SCOPES).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&token)
        .json(&json!({"title": "From a script", "description": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope", "{body}");
    assert_eq!(body["granted_by"], json!(["Manager"]), "{body}");
    let me = bearer_get_json(&reqwest::Client::new(), &app.url("/api/v1/me"), &token).await;
    let close = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == "close_issue")
        .unwrap();
    assert_eq!(
        close["why"],
        "You can't close or reopen issues: your access lacks the scope issues:close, granted by the Manager role.",
        "{me}"
    );
}

#[tokio::test]
async fn a_role_the_person_has_is_never_named_as_the_way_to_get_it() {
    // The admin believes Manager grants delete; at the provider it does not.
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["ApplicationConfig"]["AccessHelp"] = json!({"Roles": {
            "Manager": ["issues:view", "issues:delete"],
            "Admin": ["issues:delete"],
        }});
    })
    .await;
    let john = signed_in(&app, JOHN).await;
    let (status, issue) = app
        .call(&john, "create_issue", &[("title", "Heating"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    let id = issue["id"].to_string();
    let (status, refused) = app.call(&john, "delete_issue", &[("id", &id), ("version", "1")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(
        refused["Forbidden"],
        "You can't delete issues: your access lacks the scope issues:delete, granted by the Admin role. \
         You have the Manager role, which config.json says grants it: the role's grant at the identity \
         provider is missing it."
    );
    let delete = why_line(&app, &john, "DeleteIssue").await;
    assert_eq!(delete["granted_by"], json!(["Admin"]), "{delete}");
    assert_eq!(delete["held"], json!(["Manager"]), "{delete}");
}

#[tokio::test]
async fn without_roles_in_config_json_they_are_learned_from_sign_ins_and_said_as_seen() {
    let app = TestApp::spawn().await;
    let emily = signed_in(&app, EMILY).await;
    // Nobody with another role seen yet: the line says only what is missing.
    let close = why_line(&app, &emily, "CloseIssue").await;
    assert!(close.get("granted_by").is_none(), "{close}");

    signed_in(&app, JOHN).await;
    signed_in(&app, ALEX).await;
    let close = why_line(&app, &emily, "CloseIssue").await;
    assert_eq!(close["granted_by"], json!(["Manager"]), "{close}");
    assert_eq!(close["learned"], true, "{close}");
    let (status, refused) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused["Forbidden"],
        "You can't create issues: your access lacks the scope issues:create; people with the Manager role have it."
    );
    let delete = why_line(&app, &emily, "DeleteIssue").await;
    assert_eq!(delete["granted_by"], json!(["Admin"]), "{delete}");
    // Her own role grants what she has, never what she lacks.
    for why in [close, delete] {
        assert!(why.get("held").is_none(), "{why}");
    }
}

#[tokio::test]
async fn emily_asks_for_access_alex_answers_and_she_sees_the_answer_on_her_profile() {
    let app = TestApp::spawn_configured(Options::default(), |config| {
        config["ApplicationConfig"]["AccessHelp"] = json!({"Roles": as_at_the_provider()});
    })
    .await;
    let emily = signed_in(&app, EMILY).await;
    let ask = |action: &'static str, reason: &'static str| {
        let (app, emily) = (&app, &emily);
        async move {
            app.call(emily, "ask_for_access", &[("action", action), ("reason", reason)])
                .await
        }
    };

    let (status, first) = ask("close_issue", "I triage").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // Asking again while it is open replaces the reason: still one request.
    let (status, again) = ask("close_issue", "  I run the helpdesk queue  ").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first);
    // What she may do already, an unknown action, no reason: refused, nothing stored.
    assert_eq!(ask("view_issues", "Please").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(ask("fly", "Please").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(ask("edit_issue", "   ").await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Only those who answer requests see them.
    let john = signed_in(&app, JOHN).await;
    let (status, _) = app.call(&john, "access_requests", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let alex = signed_in(&app, ALEX).await;
    let (status, review) = app.call(&alex, "access_requests", &[]).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    let open = review["open"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{review}");
    let request = &open[0];
    assert_eq!(request["id"], first, "{request}");
    assert_eq!(request["name"], "Emily Employee", "{request}");
    assert_eq!(request["action"], "close_issue", "{request}");
    assert_eq!(request["scopes"], json!(["issues:close"]), "{request}");
    assert_eq!(request["roles"], json!(["Manager"]), "{request}");
    assert_eq!(request["reason"], "I run the helpdesk queue", "{request}");
    assert_eq!(request["state"], "open", "{request}");
    let html = app.page_text(&alex, "/access").await;
    assert!(
        html.contains("add Emily Employee to a group that carries the Manager role"),
        "the page says what to do at the provider: {html}"
    );

    // Programs see them too.
    let token = app.password_token_for(CLIENT_ID, ALEX, ALL_SCOPES).await;
    let listed = bearer_get_json(&reqwest::Client::new(), &app.url("/api/v1/access-requests"), &token).await;
    assert_eq!(listed[0]["id"], first, "{listed}");

    // Alex answers once; a second answer is refused.
    let id = first.to_string();
    let answer = |outcome: &'static str| {
        let (app, alex, id) = (&app, &alex, id.clone());
        async move {
            app.call(
                alex,
                "answer_access_request",
                &[("id", &id), ("outcome", outcome), ("note", "Added you to Managers")],
            )
            .await
        }
    };
    assert_eq!(answer("maybe").await.0, StatusCode::BAD_REQUEST);
    let (status, body) = answer("granted").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(answer("declined").await.0, StatusCode::CONFLICT);
    let (_, review) = app.call(&alex, "access_requests", &[]).await;
    assert_eq!(review["open"].as_array().map(Vec::len), Some(0), "{review}");
    assert_eq!(review["answered"][0]["state"], "granted", "{review}");

    // Nobody answers their own request.
    let (status, own) = app
        .call(
            &alex,
            "ask_for_access",
            &[("action", "create_issue"), ("reason", "To file audits")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let own = own.to_string();
    let (status, body) = app
        .call(
            &alex,
            "answer_access_request",
            &[("id", &own), ("outcome", "granted"), ("note", "")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Emily sees the answer on her profile.
    let (status, profile) = app.call(&emily, "my_profile", &[]).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    let mine = &profile["access_requests"][0];
    assert_eq!(mine["state"], "granted", "{profile}");
    assert_eq!(mine["decided_by"], "Alex Admin", "{profile}");
    assert_eq!(mine["note"], "Added you to Managers", "{profile}");

    // Both are in the audit trail.
    let page = app.state.audit.page(&Default::default(), None, 50).await.unwrap();
    let kinds: Vec<&str> = page.events.iter().map(|event| event.event.as_str()).collect();
    assert!(
        kinds.contains(&"access_requested") && kinds.contains(&"access_answered"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_request_is_told_to_those_who_answer_and_its_answer_to_the_person_who_asked() {
    let app = TestApp::spawn().await;
    let (alex, john) = (signed_in(&app, ALEX).await, signed_in(&app, JOHN).await);
    let emily = signed_in(&app, EMILY).await;
    let unread = |who: &reqwest::Client| {
        let (app, who) = (&app, who.clone());
        async move { app.call(&who, "unread_notifications", &[]).await.1 }
    };
    let ask = |reason: &'static str| {
        let (app, emily) = (&app, &emily);
        async move {
            let (status, id) = app
                .call(
                    emily,
                    "ask_for_access",
                    &[("action", "close_issue"), ("reason", reason)],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{id}");
            id.to_string()
        }
    };
    let id = ask("I triage").await;

    // Alex answers requests (the audit scope, by default): his bell rings, and the notification
    // leads to the Access page. John does not answer them: nothing reaches him.
    assert_eq!(unread(&alex).await, 1);
    assert_eq!(unread(&john).await, 0);
    let (_, inbox) = app.call(&alex, "notifications", &[]).await;
    let told = &inbox["notifications"][0];
    assert_eq!(
        told["summary"], "Emily Employee asks to close or reopen issues",
        "{inbox}"
    );
    assert_eq!(told["reason"], "access_asked", "{inbox}");
    let page = app.page_text(&alex, "/notifications").await;
    assert!(page.contains(r#"href="/access""#), "{page}");
    // Asking again (a new reason for the same request) tells no one twice.
    assert_eq!(ask("I run the helpdesk queue").await, id);
    assert_eq!(unread(&alex).await, 1);

    // The answer reaches Emily, leading to her requests on her profile.
    let (status, body) = app
        .call(
            &alex,
            "answer_access_request",
            &[("id", &id), ("outcome", "declined"), ("note", "Ask your lead")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(unread(&emily).await, 1);
    let (_, inbox) = app.call(&emily, "notifications", &[]).await;
    let told = &inbox["notifications"][0];
    assert_eq!(
        told["summary"], "Alex Admin declined your request to close or reopen issues",
        "{inbox}"
    );
    let page = app.page_text(&emily, "/notifications").await;
    assert!(page.contains(r#"href="/profile#access-requests""#), "{page}");

    // Shown as it is delivered: once config.json gives answering requests a scope Alex lacks,
    // the request he was told of is no longer his to see.
    let before = app.state.config.reload_attempts();
    edit_config(&app, |config| {
        config["Features"]["Access"] = json!({ "scopes": { "review": ["access:review"] } });
    });
    let reloaded = next_reload(&app, before).await;
    assert!(matches!(reloaded, Reloaded::Applied { .. }), "{reloaded:?}");
    assert_eq!(unread(&alex).await, 0);
    let (_, inbox) = app.call(&alex, "notifications", &[]).await;
    assert_eq!(inbox["notifications"], json!([]), "{inbox}");
}

#[tokio::test]
async fn a_person_may_ask_a_few_times_a_day() {
    let app = TestApp::spawn().await;
    let emily = signed_in(&app, EMILY).await;
    for action in [
        "create_issue",
        "edit_issue",
        "close_issue",
        "assign_issue",
        "delete_issue",
    ] {
        let (status, body) = app
            .call(&emily, "ask_for_access", &[("action", action), ("reason", "Please")])
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let (status, body) = app
        .call(
            &emily,
            "ask_for_access",
            &[("action", "view_audit"), ("reason", "Please")],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body, json!("TooManyAccessRequests"));
    // The reason of one still open can still be changed.
    let (status, body) = app
        .call(
            &emily,
            "ask_for_access",
            &[("action", "close_issue"), ("reason", "Please, now")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_access_review_lists_everyone_with_what_they_may_do_hold_unused_and_were_refused() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let (status, issue) = app
        .call(&john, "create_issue", &[("title", "Heating"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    let emily = signed_in(&app, EMILY).await;
    let (status, _) = app
        .call(&emily, "create_issue", &[("title", "Forged"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let alex = signed_in(&app, ALEX).await;

    // Auditors only.
    let (status, _) = app.call(&john, "access_review", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, review) = app.call(&alex, "access_review", &[]).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    let person = |name: &str| {
        review
            .as_array()
            .unwrap()
            .iter()
            .find(|person| person["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {review}"))
    };
    let (john_row, emily_row, alex_row) = (person("John Manager"), person("Emily Employee"), person("Alex Admin"));
    assert_eq!(john_row["roles"], json!(["Manager"]), "{john_row}");
    let may = |row: &Value, action: &str| row["actions"].as_array().unwrap().contains(&json!(action));
    assert!(may(&john_row, "create_issue") && may(&john_row, "close_issue") && !may(&john_row, "delete_issue"));
    assert!(may(&alex_row, "delete_issue") && may(&alex_row, "view_audit"));
    assert!(may(&emily_row, "comment") && !may(&emily_row, "create_issue"));
    // John created an issue but closed, edited and assigned nothing.
    let unused = |row: &Value| row["unused_scopes"].as_array().unwrap().clone();
    assert!(!unused(&john_row).contains(&json!("issues:create")), "{john_row}");
    assert!(!unused(&john_row).contains(&json!("issues:view")), "{john_row}");
    assert!(unused(&john_row).contains(&json!("issues:close")), "{john_row}");
    // Reading this review is a use of the scope it needs (recorded, once an hour).
    assert!(!unused(&alex_row).contains(&json!("audit:view")), "{alex_row}");
    assert_eq!(
        emily_row["refusals"],
        json!([{"action": "create_issue", "count": 1}]),
        "{emily_row}"
    );

    // The page, and the spreadsheet.
    let html = app.page_text(&alex, "/access").await;
    assert!(html.contains("Who can delete issues: Alex Admin."), "{html}");
    assert!(html.contains("id=\"review-table\""), "{html}");
    let file = alex.get(app.url("/access/review.csv")).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = file.text().await.unwrap();
    assert!(
        csv.starts_with("name,sub,last_sign_in,roles,scopes,actions,unused_scopes,refusals,window_days\n"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|line| line.starts_with("Emily Employee,") && line.ends_with(",create_issue:1,90")),
        "{csv}"
    );
    assert_eq!(
        john.get(app.url("/access/review.csv")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // Programs with the audit scope.
    let token = app.password_token_for(CLIENT_ID, ALEX, ALL_SCOPES).await;
    let listed = bearer_get_json(&reqwest::Client::new(), &app.url("/api/v1/access-review"), &token).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
}
