//! What people write: Markdown rendered on the server and sanitized, mentions of people who
//! have signed in, and comments their authors edit (with history) and delete, and editors hide,
//! through the server functions and the REST API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{ALEX, CLIENT_ID, EMILY, JOHN, TestApp};

use super::{ALL_SCOPES, create, detail, signed_in, thread};

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

/// Who is mentioned on issue `id`, as stored.
async fn mentions(app: &TestApp, id: i64) -> Vec<(i64, String)> {
    let db = app.state.db.clone();
    issues_app::on_db!(&db, |pool| sqlx::query_as(
        "SELECT comment_id, sub FROM mentions WHERE issue_id = $1 ORDER BY comment_id, sub"
    )
    .bind(id)
    .fetch_all(pool)
    .await)
    .unwrap()
}

#[tokio::test]
async fn markdown_is_rendered_on_the_server_and_scripts_and_javascript_links_are_inert() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let text = "## Steps\n\n- [x] found\n- [ ] fixed\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\
                <script>alert('x')</script>\n\n[evil](javascript:alert(1)) <a href=\"javascript:alert(2)\" onclick=\"steal()\">two</a> \
                <img src=x onerror=\"steal()\"> [docs](https://example.com/docs)";
    let issue = create(&app, &john, "Markdown", text).await;
    let page = detail(&app, &john, &issue["id"]).await;
    let html = page["description_html"].as_str().unwrap();
    assert!(
        html.contains("<h2>Steps</h2>") && html.contains("<table>") && html.contains("☑ found"),
        "{html}"
    );
    // HTML people type is shown as the text they typed: no tag of theirs reaches the page.
    for inert in ["<script", "<img", "<a href=\"javascript"] {
        assert!(!html.contains(inert), "{inert} survived: {html}");
    }
    for tag in html.split('<').skip(1).map(|tag| tag.split('>').next().unwrap()) {
        assert!(!tag.contains(" on") && !tag.contains("javascript"), "<{tag}> in {html}");
    }
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"), "{html}");
    assert!(
        html.contains(r#"<a href="https://example.com/docs" rel="nofollow noopener">docs</a>"#),
        "{html}"
    );
    // The text is kept as written; only the page's HTML is cleaned.
    assert_eq!(page["issue"]["description"].as_str(), Some(text));
    let (status, preview) = app
        .call(&john, "preview_markdown", &[("text", "**bold** <script>x</script>")])
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview.as_str().map(str::trim),
        Some("<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>")
    );
    // Whom to mention is for those who write: Alex (an admin: views and deletes) is refused.
    let alex = signed_in(&app, ALEX).await;
    let (status, names) = app.call(&john, "mention_names", &[]).await;
    assert_eq!(status, StatusCode::OK, "{names}");
    assert!(
        names.as_array().unwrap().iter().any(|name| name == "John Manager"),
        "{names}"
    );
    let (status, refused) = app.call(&alex, "mention_names", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
}

#[tokio::test]
async fn authors_edit_and_delete_their_comments_editors_hide_them_and_each_is_in_the_history() {
    let app = TestApp::spawn().await;
    let john_browser = signed_in(&app, JOHN).await;
    let emily_browser = signed_in(&app, EMILY).await;
    let john = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    let emily = app.password_token_for(CLIENT_ID, EMILY, ALL_SCOPES).await;
    let (_, issue) = send(
        &app,
        &john,
        Method::POST,
        "/api/v1/issues",
        Some(json!({"title": "Lights"})),
    )
    .await;
    let id = issue["id"].as_i64().unwrap();
    let comments = format!("/api/v1/issues/{id}/comments");

    // Emily mentions John; the mention is a link on the page and stored for his home page.
    let (status, comment) = send(
        &app,
        &emily,
        Method::POST,
        &comments,
        Some(json!({"body": "@John Manager, see this"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let one = format!("{comments}/{}", comment["id"]);
    // John's subject at the development identity provider (dev-idp/directory.json).
    let john_sub = "0b4d7f64-3a0e-4c1b-9f58-6a2e8d1c7b01".to_string();
    assert_eq!(
        mentions(&app, id).await,
        [(comment["id"].as_i64().unwrap(), john_sub.clone())]
    );
    let page = thread(&app, &emily_browser, &issue["id"]).await;
    let html = page["comments"][0]["body_html"].as_str().unwrap();
    // Hers: the page offers her its edit and delete, not John.
    assert_eq!(page["comments"][0]["mine"], true, "{page}");
    assert_eq!(
        thread(&app, &john_browser, &issue["id"]).await["comments"][0].get("mine"),
        None
    );
    assert!(
        html.contains(r#"class="mention""#) && html.contains("@John Manager</a>"),
        "{html}"
    );

    // Only its author edits it; the earlier body is kept.
    let (status, refused) = send(&app, &john, Method::PATCH, &one, Some(json!({"body": "mine now"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, empty) = send(&app, &emily, Method::PATCH, &one, Some(json!({"body": "  "}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{empty}");
    let (status, edited) = send(
        &app,
        &emily,
        Method::PATCH,
        &one,
        Some(json!({"body": "Fixed by itself"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert!(edited["edited_at"].is_i64(), "{edited}");
    // The edit took the mention away.
    assert_eq!(mentions(&app, id).await, []);
    let page = thread(&app, &emily_browser, &issue["id"]).await;
    let shown = &page["comments"][0];
    assert_eq!(
        shown["revisions"][0]["body"].as_str(),
        Some("@John Manager, see this"),
        "{shown}"
    );
    // The REST API answers the comment as it is now: its earlier bodies are the page's.
    let (_, listed) = send(&app, &john, Method::GET, &comments, None).await;
    assert_eq!(listed["comments"][0].get("revisions"), None, "{listed}");

    // Emily (no edit scope) may not hide; John may, and show it again.
    let (status, _) = send(&app, &emily, Method::PATCH, &one, Some(json!({"hidden": true}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, hidden) = send(&app, &john, Method::PATCH, &one, Some(json!({"hidden": true}))).await;
    assert_eq!(status, StatusCode::OK, "{hidden}");
    assert_eq!(hidden["hidden_by_name"].as_str(), Some("John Manager"));
    let (status, _) = send(
        &app,
        &john,
        Method::PATCH,
        &one,
        Some(json!({"hidden": true, "body": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Deleting erases the words and keeps the place; twice is 404.
    let (status, _) = send(&app, &john, Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, &emily, Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, &emily, Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, thread) = send(&app, &john, Method::GET, &comments, None).await;
    let gone = &thread["comments"][0];
    assert_eq!(
        (gone["body"].as_str(), gone["deleted_at"].is_i64()),
        (Some(""), true),
        "{gone}"
    );
    let (_, shown) = send(&app, &john, Method::GET, &format!("/api/v1/issues/{id}"), None).await;
    assert_eq!(shown["comment_count"], 0);

    let (_, history) = send(&app, &john, Method::GET, &format!("/api/v1/issues/{id}/events"), None).await;
    let kinds: Vec<(&str, &str)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (event["kind"].as_str().unwrap(), event["actor_name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("created", "John Manager"),
            ("comment_edited", "Emily Employee"),
            ("comment_hidden", "John Manager"),
            ("comment_deleted", "Emily Employee"),
        ]
    );
}

#[tokio::test]
async fn an_application_acting_for_itself_is_named_as_the_application_not_by_a_subject_id() {
    let app = TestApp::spawn().await;
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", app.idp().organization_url()))
        .basic_auth(CLIENT_ID, Some(crate::harness::SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "issues:view issues:create"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let token: Value = response.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    let (status, issue) = send(
        &app,
        token,
        Method::POST,
        "/api/v1/issues",
        Some(json!({"title": "Nightly build failed"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let application = format!("{CLIENT_ID} (application)");
    assert_eq!(issue["author_name"].as_str(), Some(application.as_str()));
    let path = format!("/api/v1/issues/{}/events", issue["id"]);
    let (_, history) = send(&app, token, Method::GET, &path, None).await;
    assert_eq!(history["events"][0]["actor_name"].as_str(), Some(application.as_str()));
}

#[tokio::test]
async fn the_board_exports_as_csv_and_json_with_its_filters_for_the_browser_and_programs() {
    let app = TestApp::spawn().await;
    let john_browser = signed_in(&app, JOHN).await;
    let john = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    for title in ["=HYPERLINK(\"x\")", "Quote \"me\", twice", "Closed one"] {
        let (status, _) = send(
            &app,
            &john,
            Method::POST,
            "/api/v1/issues",
            Some(json!({"title": title})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, page) = send(&app, &john, Method::GET, "/api/v1/issues?q=closed", None).await;
    let closed = &page["issues"][0];
    let response = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/issues/{}", closed["id"])))
        .bearer_auth(&john)
        .header("if-match", "*")
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The browser's link, with the board's filters: open issues only, oldest first.
    let response = john_browser
        .get(app.url("/issues/export?format=csv&status=open&sort=oldest"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("issues.csv")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("id,title,status,priority,due,labels,author"),
        "{text}"
    );
    // A formula is written as text; quotes are doubled inside a quoted cell.
    assert!(lines[1].contains(r#""'=HYPERLINK(""x"")""#), "{text}");
    assert!(lines[2].contains(r#""Quote ""me"", twice""#), "{text}");

    // Programs, as JSON: every issue, newest first.
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/issues/export?format=json&status=all"))
        .bearer_auth(&john)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let issues: Value = response.json().await.unwrap();
    let titles: Vec<&str> = issues
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Closed one", "Quote \"me\", twice", "=HYPERLINK(\"x\")"]);

    // A filter the board does not know, a format that is not one, and no session.
    let (status, _) = send(&app, &john, Method::GET, "/api/v1/issues/export?sort=sideways", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&app, &john, Method::GET, "/api/v1/issues/export?format=xlsx", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let anonymous = crate::harness::browser()
        .get(app.url("/issues/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// Posts `form` to server function `function` as a plain HTML form on issue `id`'s page does
/// (no script): answers where the browser is sent back to.
async fn plain_form(app: &TestApp, who: &reqwest::Client, id: i64, function: &str, form: &[(&str, &str)]) -> String {
    let response = who
        .post(app.url(&format!("/api/{function}")))
        .header("accept", "text/html")
        .header("referer", app.url(&format!("/issues/{id}")))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{function}");
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The thread is drawn on the server, its changes are plain forms: the author's comment offers
/// her its edit and delete (not others), a change sends the browser back to the page, which
/// shows it, and a refusal comes back with the line saying why.
#[tokio::test]
async fn the_thread_works_as_plain_forms_and_a_refusal_says_why_on_the_page() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    let emily = signed_in(&app, EMILY).await;
    let issue = create(&app, &john, "Plain forms", "").await;
    let id = issue["id"].as_i64().unwrap();
    let (status, comment) = app
        .call(
            &emily,
            "add_comment",
            &[("issue", &id.to_string()), ("body", "First words")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{comment}");
    let comment_id = comment["id"].to_string();
    let page = format!("/issues/{id}");

    let hers = app.page_text(&emily, &page).await;
    assert!(hers.contains("First words"), "the thread is on the page");
    assert!(
        hers.contains(&format!("id=\"comment-edit-{comment_id}\"")),
        "her edit form"
    );
    let his = app.page_text(&john, &page).await;
    assert!(!his.contains("comment-edit-"), "no edit form for John");
    assert!(his.contains("comment-hide-form"), "John may hide it");

    let back = plain_form(
        &app,
        &emily,
        id,
        "edit_comment",
        &[
            ("issue", &id.to_string()),
            ("comment", &comment_id),
            ("body", "Second words"),
        ],
    )
    .await;
    // (server_fn clears an earlier refusal from the address, leaving its `?`.)
    assert_eq!(back.trim_end_matches('?'), app.url(&page));
    let hers = app.page_text(&emily, &page).await;
    assert!(
        hers.contains("Second words") && hers.contains("First words"),
        "now, and its revision"
    );

    // John may not edit her comment: he is sent back with the refusal, and the page says it in
    // its own words (an address anyone can write never puts its text on the page).
    let back = plain_form(
        &app,
        &john,
        id,
        "edit_comment",
        &[
            ("issue", &id.to_string()),
            ("comment", &comment_id),
            ("body", "Mine now"),
        ],
    )
    .await;
    assert!(back.contains("__err="), "{back}");
    let refused = app.page_text(&john, back.trim_start_matches(&app.url(""))).await;
    assert!(
        refused.contains("You may not do that with the access you have."),
        "the line saying why is on the page"
    );
    assert!(!app.page_text(&emily, &page).await.contains("Mine now"));

    // John hides it, she deletes it: each a plain form, each shown on the page.
    let issue_id = id.to_string();
    let at = [("issue", issue_id.as_str()), ("comment", comment_id.as_str())];
    let back = plain_form(&app, &john, id, "hide_comment", &[at[0], at[1], ("hidden", "true")]).await;
    assert!(!back.contains("__err"), "{back}");
    assert!(app.page_text(&emily, &page).await.contains("Hidden by John Manager"));
    plain_form(&app, &emily, id, "delete_comment", &at).await;
    let after = app.page_text(&john, &page).await;
    assert!(after.contains("This comment was deleted by its author."), "deleted");
    assert!(!after.contains("Second words"), "its words are gone");
}

/// Search reads a comment as it is now: an edit's new words find the issue and its old ones no
/// longer do; a deleted comment's words find nothing.
#[tokio::test]
async fn search_finds_what_a_comment_says_now() {
    let app = TestApp::spawn().await;
    signed_in(&app, JOHN).await;
    let john = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    let (_, issue) = send(
        &app,
        &john,
        Method::POST,
        "/api/v1/issues",
        Some(json!({"title": "Noise"})),
    )
    .await;
    let id = issue["id"].as_i64().unwrap();
    let comments = format!("/api/v1/issues/{id}/comments");
    let (status, comment) = send(&app, &john, Method::POST, &comments, Some(json!({"body": "a marmot"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let one = format!("{comments}/{}", comment["id"]);
    let found = |word: &'static str| {
        let (app, john) = (&app, &john);
        async move {
            let path = format!("/api/v1/issues?status=all&q={word}");
            let (status, page) = send(app, john, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["issues"].as_array().unwrap().len()
        }
    };
    assert_eq!(found("marmot").await, 1);

    let (status, _) = send(&app, &john, Method::PATCH, &one, Some(json!({"body": "a wombat"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((found("marmot").await, found("wombat").await), (0, 1));

    let (status, _) = send(&app, &john, Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(found("wombat").await, 0);
}
