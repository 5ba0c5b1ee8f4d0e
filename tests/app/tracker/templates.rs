//! Issue templates from config.json (`Features.Issues.Templates`): offered on the create page
//! as links, a chosen one fills in the form, and the issue created from it carries the
//! template's labels that are defined (the others are skipped); labels no template names need
//! the edit scope.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, EMILY, JOHN, TestApp, hidden};

use super::{ALL_SCOPES, detail, signed_in};

/// Two templates; John may create and define labels but not edit (his role has no
/// `issues:delete`, which editing needs here).
fn with_templates(config: &mut Value) {
    config["Features"]["Issues"]["Templates"] = json!([
        {
            "Name": "Bug report",
            "TitlePrefix": "[Bug] ",
            "Body": "Steps: a < b & c\n1. ",
            "Labels": ["bug", "needs-triage"]
        },
        { "Name": "Question" }
    ]);
    config["Features"]["Issues"]["scopes"]["edit"] = json!(["issues:delete"]);
    config["Features"]["Issues"]["scopes"]["labels"] = json!(["issues:edit"]);
}

fn label_names(issue: &Value) -> Vec<&str> {
    issue["labels"]
        .as_array()
        .map(|labels| labels.iter().map(|label| label["name"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_template_fills_in_the_create_page_and_its_defined_labels_go_on_the_issue() {
    let app = TestApp::spawn_configured(Default::default(), with_templates).await;
    let john = signed_in(&app, JOHN).await;

    // Offered as links above the form.
    let page = app.page_text(&john, "/issues/new").await;
    assert!(page.contains(r#"id="templates""#), "{page}");
    assert!(
        page.contains(r#"data-template="Bug report""#) && page.contains(r#"data-template="Question""#),
        "{page}"
    );
    assert!(page.contains("/issues/new?template=Bug%20report"), "{page}");
    assert!(
        !page.contains(r#"name="labels""#),
        "no template chosen, no labels: {page}"
    );

    // Chosen: the title starts with its prefix, the description is its body (escaped as text),
    // and its labels go with the form.
    let page = app.page_text(&john, "/issues/new?template=Bug%20report").await;
    assert!(page.contains(r#"value="[Bug] ""#), "{page}");
    assert!(page.contains("Steps: a &lt; b &amp; c\n1. "), "{page}");
    assert_eq!(hidden(&page, "labels"), "bug,needs-triage");
    // A name no template has leaves the plain form.
    let page = app.page_text(&john, "/issues/new?template=Nope").await;
    assert!(
        !page.contains(r#"value="[Bug] ""#) && !page.contains(r#"name="labels""#),
        "{page}"
    );

    // The templates, to those who may create only.
    let (status, templates) = app.call(&john, "issue_templates", &[]).await;
    assert_eq!(status, StatusCode::OK, "{templates}");
    assert_eq!(templates[0]["name"], "Bug report");
    assert_eq!(templates[0]["labels"], json!(["bug", "needs-triage"]));
    let emily = signed_in(&app, EMILY).await;
    let (status, _) = app.call(&emily, "issue_templates", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // `bug` is defined; `needs-triage` is not yet, and is skipped.
    let token = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/labels"))
        .bearer_auth(&token)
        .json(&json!({"name": "bug", "color": "#d73a4a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let (status, issue) = app
        .call(
            &john,
            "create_issue",
            &[
                ("title", "[Bug] Printer jams"),
                ("description", "Steps: print"),
                ("labels", "bug,needs-triage"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    assert_eq!(label_names(&issue), ["bug"]);
    assert_eq!(issue["version"], 1);
    let read = detail(&app, &john, &issue["id"]).await;
    assert_eq!(label_names(&read["issue"]), ["bug"]);
    // In its history: created, then the label put on.
    let (status, history) = app
        .call(&john, "list_issue_events", &[("id", &issue["id"].to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events: Vec<(&str, &str)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            (
                event["kind"].as_str().unwrap(),
                event["new_value"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(events, [("created", ""), ("label_added", "bug")]);

    // A label no template names is put on as an edit is: John may not edit here.
    let (status, body) = app
        .call(
            &john,
            "create_issue",
            &[("title", "Mine"), ("description", ""), ("labels", "bug,other")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.issue_count().await, 1);
    // Without labels, as before.
    let (status, plain) = app
        .call(&john, "create_issue", &[("title", "Plain"), ("description", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(label_names(&plain).is_empty());
}
