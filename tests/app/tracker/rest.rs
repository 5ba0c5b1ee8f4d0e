//! The tracker through the REST API as a program uses it: every action with the same scopes as the
//! server functions, the OpenAPI document, and a change that needs view too so a refusal never
//! shows the issue.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ALEX, CLIENT_ID, EMILY, JOHN, TestApp, allowed};

use super::{ALL_SCOPES, signed_in, titles};

/// The REST API as a program uses it.
struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl Api<'_> {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn the_rest_api_does_every_action_with_the_same_scopes() {
    let app = TestApp::spawn().await;
    // John has signed in here once: the app knows his name (access tokens carry only his sub).
    signed_in(&app, JOHN).await;
    let john = Api {
        app: &app,
        token: app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await,
    };
    let emily = Api {
        app: &app,
        token: app.password_token_for(CLIENT_ID, EMILY, ALL_SCOPES).await,
    };
    let alex = Api {
        app: &app,
        token: app.password_token_for(CLIENT_ID, ALEX, ALL_SCOPES).await,
    };
    use reqwest::Method;
    let (status, headers, created) = john
        .send(
            Method::POST,
            "/api/v1/issues",
            None,
            Some(json!({"title": "Via REST", "description": "d"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(headers["etag"], "\"1\"");
    let path = format!("/api/v1/issues/{}", created["id"]);

    let (status, headers, issue) = emily.send(Method::GET, &path, None, None).await;
    assert_eq!((status, headers["etag"].to_str().unwrap()), (StatusCode::OK, "\"1\""));
    assert_eq!(issue["title"], "Via REST");

    // A change without If-Match is refused: no lost updates by accident.
    let (status, _, body) = john
        .send(Method::PATCH, &path, None, Some(json!({"status": "closed"})))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    // Emily may not close: the scope is named, nothing stored.
    let (status, headers, body) = emily
        .send(Method::PATCH, &path, Some("\"1\""), Some(json!({"status": "closed"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"issues:close\"")
    );
    assert_eq!(body["missing"], json!(["issues:close"]));
    // John closes and renames in one change, from version 1.
    let (status, headers, changed) = john
        .send(
            Method::PATCH,
            &path,
            Some("\"1\""),
            Some(json!({"status": "closed", "title": "Via REST, renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(
        (changed["status"].as_str(), changed["title"].as_str()),
        (Some("closed"), Some("Via REST, renamed"))
    );
    // The same change from version 1 again: 412 with the issue as it is now.
    let (status, headers, stale) = john
        .send(
            Method::PATCH,
            &path,
            Some("\"1\""),
            Some(json!({"title": "Lost update"})),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(stale["current"]["title"], "Via REST, renamed");
    // `*`: whatever the version. Assign to someone who never signed in: 422.
    let (status, _, body) = john
        .send(
            Method::PATCH,
            &path,
            Some("*"),
            Some(json!({"assignee": "nobody-here"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, body) = john
        .send(Method::PATCH, &path, Some("*"), Some(json!({"assignee": "me"})))
        .await;
    assert_eq!(
        (status, body["assignee_name"].as_str()),
        (StatusCode::OK, Some("John Manager"))
    );
    let (status, _, body) = john
        .send(Method::PATCH, &path, Some("*"), Some(json!({"assignee": null})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("assignee_sub").is_none());
    let (status, _, body) = john
        .send(Method::PATCH, &path, Some("*"), Some(json!({"assignee": "a\u{0}b"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A weak tag never matches; anything but one of our tags or `*` is a bad request.
    let (status, _, _) = john
        .send(Method::PATCH, &path, Some("W/\"2\""), Some(json!({"title": "x"})))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    for tag in ["2", "\"2\", \"3\"", "\"two\""] {
        let (status, _, _) = john
            .send(Method::PATCH, &path, Some(tag), Some(json!({"title": "x"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{tag}");
    }
    let (status, _, _) = john
        .send(Method::PATCH, &path, Some("*"), Some(json!({"status": "gone"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = john
        .send(Method::PATCH, &path, Some("*"), Some(json!({"colour": "red"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Comments: Emily may add; listed oldest first.
    let comments = format!("{path}/comments");
    let (status, _, comment) = emily
        .send(Method::POST, &comments, None, Some(json!({"body": "Seen it too"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let (status, _, page) = john.send(Method::GET, &comments, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["comments"][0]["body"], "Seen it too");
    let (status, _, _) = john
        .send(Method::GET, "/api/v1/issues/777777/comments", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Filters and search on the list.
    let (status, _, page) = emily
        .send(Method::GET, "/api/v1/issues?status=closed&q=seen", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(titles(&page), ["Via REST, renamed"]);
    let (status, _, page) = emily.send(Method::GET, "/api/v1/issues?status=open", None, None).await;
    assert_eq!((status, page["issues"].clone()), (StatusCode::OK, json!([])));
    let (status, _, _) = emily.send(Method::GET, "/api/v1/issues?status=maybe", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Delete: John may not; Alex may, once; then it is gone.
    let (status, _, _) = john.send(Method::DELETE, &path, None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = alex.send(Method::DELETE, &path, Some("\"1\""), None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = alex.send(Method::DELETE, &path, None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = alex.send(Method::DELETE, &path, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = john.send(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_scopes() {
    let app = TestApp::spawn_configured(Default::default(), |config| {
        // What the document says follows config.json.
        config["Features"]["Issues"]["scopes"]["close"] = json!(["issues:close", "issues:view"]);
    })
    .await;
    let doc = app.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let expected = [
        ("/api/v1/issues", "get", json!(["issues:view"])),
        ("/api/v1/issues", "post", json!(["issues:create"])),
        ("/api/v1/issues/{id}", "get", json!(["issues:view"])),
        (
            "/api/v1/issues/{id}",
            "patch",
            json!({"title": ["issues:edit"], "description": ["issues:edit"], "status": ["issues:close", "issues:view"], "assignee": ["issues:assign"],
                "priority": ["issues:edit"], "due": ["issues:edit"], "labels": ["issues:edit"]}),
        ),
        ("/api/v1/issues/{id}/events", "get", json!(["issues:view"])),
        ("/api/v1/issues/{id}/restore", "post", json!(["issues:delete"])),
        ("/api/v1/labels", "get", json!(["issues:view"])),
        ("/api/v1/labels", "post", json!(["issues:edit"])),
        ("/api/v1/labels/{id}", "put", json!(["issues:edit"])),
        ("/api/v1/labels/{id}", "delete", json!(["issues:edit"])),
        ("/api/v1/issues/{id}", "delete", json!(["issues:delete"])),
        ("/api/v1/issues/{id}/comments", "get", json!(["issues:view"])),
        (
            "/api/v1/issues/{id}/comments",
            "post",
            json!(["issues:comment", "issues:view"]),
        ),
        ("/api/v1/people", "get", json!(["issues:assign"])),
        ("/api/v1/audit", "get", json!(["audit:view"])),
    ];
    let mut listed = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        listed += methods.as_object().unwrap().len();
        for (method, operation) in methods.as_object().unwrap() {
            let (_, _, scopes) = expected
                .iter()
                .find(|(p, m, _)| p == path && m == method)
                .unwrap_or_else(|| panic!("unexpected {method} {path}"));
            assert_eq!(&operation["x-scopes"], scopes, "{method} {path}");
            assert!(operation["security"][0]["bearer"].is_array(), "{method} {path}");
        }
    }
    assert_eq!(listed, expected.len(), "every route is listed");
    assert_eq!(
        doc["paths"]["/api/v1/issues"]["post"]["security"][0]["bearer"],
        json!(["issues:create"])
    );
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["Issue"].is_object());
}

#[tokio::test]
async fn a_change_or_a_comment_needs_view_too_so_a_refusal_never_shows_the_issue() {
    // John keeps close; viewing needs a scope he does not have.
    let app = TestApp::spawn_configured(Default::default(), |config| {
        config["Features"]["Issues"]["scopes"]["view"] = json!(["issues:view", "audit:view"]);
    })
    .await;
    let alex = signed_in(&app, ALEX).await;
    let (_, info) = app.call(&alex, "session_info", &[]).await;
    assert!(allowed(&info).contains(&"view_issues".to_string()));
    let token = app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await;
    let api = Api {
        app: &app,
        token: token.clone(),
    };
    let (_, _, issue) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/issues",
            None,
            Some(json!({"title": "Secret plans"})),
        )
        .await;
    let john = signed_in(&app, JOHN).await;
    // A stale version would answer the issue as it is: refused before that.
    let (status, body) = app
        .call(
            &john,
            "set_issue_status",
            &[("id", &issue["id"].to_string()), ("version", "0"), ("status", "closed")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.to_string().contains("Secret plans"));
    let response = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/issues/{}", issue["id"])))
        .bearer_auth(&token)
        .header("if-match", "\"0\"")
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!response.text().await.unwrap().contains("Secret plans"));

    // A comment too: a caller who may comment but not view cannot write blind, nor learn by
    // the answer which issue ids exist.
    for id in [issue["id"].to_string(), "999999".to_string()] {
        let (status, body) = app
            .call(&john, "add_comment", &[("issue", &id), ("body", "Blind")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "issue {id}: {body}");
        assert!(
            body.to_string().contains("audit:view"),
            "the scope missing is named: {body}"
        );
        let response = reqwest::Client::new()
            .post(app.url(&format!("/api/v1/issues/{id}/comments")))
            .bearer_auth(&token)
            .json(&json!({"body": "Blind"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "issue {id}");
    }
    let comments: i64 = issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(comments, 0);
}

/// The served document is valid OpenAPI 3.1, as an independent validator reads it
/// (openapi-spec-validator from PyPI, which `scripts/setup --test` installs in target/python).
/// Seen failing: with the `id` path parameter left undeclared on `GET /api/v1/issues/{id}`,
/// "Path parameter 'id' … was not resolved".
#[tokio::test]
async fn the_openapi_document_is_valid_for_an_independent_validator() {
    let app = TestApp::spawn().await;
    let doc = app.openapi().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup --test, which installs openapi-spec-validator",
        python.display()
    );
    let checked = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator", "--errors", "all"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "the OpenAPI document does not validate:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
