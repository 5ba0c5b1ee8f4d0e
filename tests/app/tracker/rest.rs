//! The tracker through the REST API as a program uses it: every action with the same scopes as the
//! server functions, the OpenAPI document, and a change that needs view too so a refusal never
//! shows the issue.

use std::io::Write;
use std::process::Stdio;

use issues_app::model::{COMMENT_MAX_CHARS, TITLE_MAX_CHARS};
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
        (
            "/api/v1/issues/{id}/comments/{comment_id}",
            "patch",
            json!({"body": ["issues:comment", "issues:view"], "hidden": ["issues:edit"]}),
        ),
        (
            "/api/v1/issues/{id}/comments/{comment_id}",
            "delete",
            json!(["issues:comment", "issues:view"]),
        ),
        ("/api/v1/issues/export", "get", json!(["issues:view"])),
        ("/api/v1/events", "get", json!(["issues:view"])),
        ("/api/v1/webhooks/deliveries", "get", json!(["audit:view"])),
        (
            "/api/v1/webhooks/deliveries/{id}/redeliver",
            "post",
            json!(["audit:view"]),
        ),
        ("/api/v1/access-requests", "get", json!(["audit:view"])),
        ("/api/v1/access-review", "get", json!(["audit:view"])),
        // Any valid token: no scope of its own.
        ("/api/v1/me", "get", Value::Null),
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
    let checked = std::process::Command::new(venv_python())
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

/// The Python in target/python, where `scripts/setup --test` installs openapi-spec-validator (and
/// with it jsonschema, what testers driven by the document check with).
fn venv_python() -> std::path::PathBuf {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup --test, which installs openapi-spec-validator",
        python.display()
    );
    python
}

/// `value`, or the schema or answer its `$ref` names in `doc`.
fn resolved<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{reference} is not in the document")),
        None => value,
    }
}

/// The members of the JSON body `method path` takes, as the document describes them.
fn body_members<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema = &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    &resolved(doc, schema)["properties"]
}

/// The values `schema` enumerates (in itself or one of its alternatives).
fn enumerated(doc: &Value, schema: &Value) -> Vec<Value> {
    let schema = resolved(doc, schema);
    if let Some(values) = schema["enum"].as_array() {
        return values.clone();
    }
    ["oneOf", "anyOf"]
        .into_iter()
        .filter_map(|key| schema[key].as_array())
        .flatten()
        .flat_map(|alternative| enumerated(doc, alternative))
        .collect()
}

/// The statuses the document lists for `method path`.
fn listed(doc: &Value, path: &str, method: &str) -> Vec<u16> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("no answers listed for {method} {path}"))
        .keys()
        .map(|status| status.parse().unwrap())
        .collect()
}

/// Whether `schema` allows each of `texts`, as Python's jsonschema judges.
fn schema_allows(schema: &Value, texts: &[String]) -> Vec<bool> {
    let script = "import json, sys\n\
                  from jsonschema import Draft202012Validator\n\
                  asked = json.load(sys.stdin)\n\
                  validator = Draft202012Validator(asked['schema'])\n\
                  print(json.dumps([validator.is_valid(text) for text in asked['texts']]))";
    let mut python = std::process::Command::new(venv_python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let asked = json!({"schema": schema, "texts": texts});
    python
        .stdin
        .take()
        .unwrap()
        .write_all(asked.to_string().as_bytes())
        .unwrap();
    let answer = python.wait_with_output().unwrap();
    assert!(answer.status.success(), "{}", String::from_utf8_lossy(&answer.stderr));
    serde_json::from_slice(&answer.stdout).unwrap()
}

/// Issues `Page filler 1` … `Page filler <count>`, written behind the app's back in one statement.
const FILLER: &str = "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                      INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
                      SELECT 'Page filler ' || i, '', 'bulk', 'Bulk', i, i FROM n";

/// What the document says a request may be is what the server takes, and what it lists is what
/// the server answers: comment bodies and titles the schema allows are stored (their lengths are
/// the model's), a change's status is one of the values the schema enumerates, a page is at most
/// as long as `limit`'s maximum (asking for more gets no more), and every operation lists the
/// answers any request can get, including those to a body that is not JSON. Seen failing: an
/// empty comment, a status other than open/closed and a huge `limit` were schema-valid and
/// refused; 400 for a body that is not JSON was not listed.
#[tokio::test]
async fn the_openapi_document_states_the_limits_the_server_enforces_and_every_status_it_answers() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let doc = app.openapi().await;
    let john = Api {
        app: &app,
        token: app.password_token_for(CLIENT_ID, JOHN, ALL_SCOPES).await,
    };

    // What any request can be answered (malformed, no or a bad token, a scope missing, too many
    // new tokens from one address, a failure, unavailable), and with a body: too large, not JSON,
    // not valid. Every answer says what it means.
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let statuses = listed(&doc, path, method);
            let with_body = operation.get("requestBody").is_some();
            // `/api/v1/me` needs no scope: a valid token is never refused it.
            let scoped = operation.get("x-scopes").is_some();
            let expected = [400, 401, 429, 500, 503]
                .into_iter()
                .chain(scoped.then_some(403))
                .chain(with_body.then_some([413, 415, 422]).into_iter().flatten());
            for status in expected {
                assert!(
                    statuses.contains(&status),
                    "{method} {path} lists {statuses:?}, not {status}"
                );
            }
            for (status, answer) in operation["responses"].as_object().unwrap() {
                let description = resolved(&doc, answer)["description"].as_str().unwrap_or_default();
                assert!(!description.is_empty(), "{method} {path} {status} is not described");
            }
        }
    }
    for status in [404, 412, 428] {
        assert!(
            listed(&doc, "/api/v1/issues/{id}", "patch").contains(&status),
            "{status}"
        );
    }

    // A body that is not JSON, or JSON of another shape: a status the operation lists, with the
    // error body.
    let creating = listed(&doc, "/api/v1/issues", "post");
    for (content_type, body, expected) in [
        ("text/plain", "A title", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", "{\"title\": ", StatusCode::BAD_REQUEST),
        ("application/json", "{\"title\": 5}", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = reqwest::Client::new()
            .post(app.url("/api/v1/issues"))
            .bearer_auth(&john.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(status, expected, "{content_type}: {body}");
        assert!(
            creating.contains(&status.as_u16()),
            "{status} is not listed: {creating:?}"
        );
        let answer: Value = response.json().await.unwrap();
        assert!(answer["error"].is_string(), "{answer}");
    }

    // Titles: 1–200 characters; every title the schema allows is taken.
    let title = &body_members(&doc, "/api/v1/issues", "post")["title"];
    assert_eq!(
        (title["minLength"].as_u64(), title["maxLength"].as_u64()),
        (Some(1), Some(TITLE_MAX_CHARS as u64)),
        "{title}"
    );
    let titles = [
        "Broken".to_string(),
        " Padded ".into(),
        "   ".into(),
        "tab\tinside".into(),
        "a\u{0}b".into(),
        "é".repeat(TITLE_MAX_CHARS),
        "x".repeat(TITLE_MAX_CHARS + 1),
    ];
    let allowed_titles = schema_allows(title, &titles);
    assert!(allowed_titles[0], "{title}");
    for (text, schema_valid) in titles.iter().zip(allowed_titles) {
        let (status, _, answer) = john
            .send(Method::POST, "/api/v1/issues", None, Some(json!({"title": text})))
            .await;
        assert!(creating.contains(&status.as_u16()), "{status} is not listed");
        if schema_valid {
            assert_eq!(status, StatusCode::CREATED, "the schema allows {text:?}: {answer}");
        } else if status == StatusCode::CREATED {
            // Stricter than the server where it trims: never the other way round.
            assert_ne!(text.trim(), text, "{text:?} was taken but the schema refuses it");
        }
    }

    // Comment bodies: 1–10,000 characters, not only spaces; every body the schema allows is
    // stored.
    let (status, _, issue) = john
        .send(
            Method::POST,
            "/api/v1/issues",
            None,
            Some(json!({"title": "Documented"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let path = format!("/api/v1/issues/{}", issue["id"]);
    let body = &body_members(&doc, "/api/v1/issues/{id}/comments", "post")["body"];
    assert_eq!(
        (body["minLength"].as_u64(), body["maxLength"].as_u64()),
        (Some(1), Some(COMMENT_MAX_CHARS as u64)),
        "{body}"
    );
    let bodies = [
        "Seen it too".to_string(),
        "line one\nline two\twith a tab".into(),
        " starts with a space".into(),
        "".into(),
        "   ".into(),
        "a\u{0}b".into(),
        "\u{202E}reversed".into(),
        "x".repeat(COMMENT_MAX_CHARS),
        "x".repeat(COMMENT_MAX_CHARS + 1),
    ];
    let allowed_bodies = schema_allows(body, &bodies);
    assert_eq!(allowed_bodies[..2], [true, true], "{body}");
    let commenting = listed(&doc, "/api/v1/issues/{id}/comments", "post");
    for (text, schema_valid) in bodies.iter().zip(allowed_bodies) {
        let (status, _, answer) = john
            .send(
                Method::POST,
                &format!("{path}/comments"),
                None,
                Some(json!({"body": text})),
            )
            .await;
        assert!(commenting.contains(&status.as_u16()), "{status} is not listed");
        if schema_valid {
            assert_eq!(status, StatusCode::CREATED, "the schema allows {text:?}: {answer}");
        } else if status == StatusCode::CREATED {
            assert_ne!(text.trim(), text, "{text:?} was stored but the schema refuses it");
        }
    }

    // A change's status: the values the schema enumerates are taken, another is not; a malformed
    // If-Match or none: statuses the operation lists.
    let changing = listed(&doc, "/api/v1/issues/{id}", "patch");
    let statuses = enumerated(&doc, &body_members(&doc, "/api/v1/issues/{id}", "patch")["status"]);
    assert_eq!(statuses, [json!("open"), json!("closed")]);
    for status in statuses {
        let (code, _, changed) = john
            .send(Method::PATCH, &path, Some("*"), Some(json!({"status": status})))
            .await;
        assert_eq!((code, &changed["status"]), (StatusCode::OK, &status), "{changed}");
    }
    for (if_match, body, expected) in [
        (Some("*"), json!({"status": "gone"}), StatusCode::UNPROCESSABLE_ENTITY),
        (Some("\"two\""), json!({"title": "x"}), StatusCode::BAD_REQUEST),
        (None, json!({"title": "x"}), StatusCode::PRECONDITION_REQUIRED),
    ] {
        let (code, _, answer) = john.send(Method::PATCH, &path, if_match, Some(body)).await;
        assert_eq!(code, expected, "{answer}");
        assert!(changing.contains(&code.as_u16()), "{code} is not listed: {changing:?}");
    }

    // A page: at most `limit`'s maximum issues, however many more there are or are asked for.
    let limit = doc["paths"]["/api/v1/issues"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    let most = limit["schema"]["maximum"].as_u64().unwrap();
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(FILLER)
        .bind(most as i64 + 1)
        .execute(pool)
        .await
        .map(|_| ()))
    .unwrap();
    for asked in [most, most + 1] {
        let (status, _, page) = john
            .send(Method::GET, &format!("/api/v1/issues?limit={asked}"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["issues"].as_array().unwrap().len() as u64, most, "limit={asked}");
    }
}
