//! Token endpoint answers that are errors, huge, endless, redirected, slow or malformed are refused
//! with the stated status; a merely unusual answer is accepted.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::hostile::{HostileOp, TokenAnswer};

use super::{app_against, assert_refused, assert_signed_in};

#[tokio::test]
async fn bad_token_endpoint_answers_are_refused() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let elsewhere = format!("{}/elsewhere", op.base);
    let cases: Vec<(&str, TokenAnswer, StatusCode, &str)> = vec![
        (
            "500",
            TokenAnswer::Status(500, "oops", "text/plain"),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "HTML body",
            TokenAnswer::Status(200, "<html>hello</html>", "text/html"),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "invalid_grant",
            TokenAnswer::Status(400, r#"{"error":"invalid_grant"}"#, "application/json"),
            StatusCode::BAD_REQUEST,
            "did not pass validation",
        ),
        (
            "10 MB body",
            TokenAnswer::Huge(10 * 1024 * 1024),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "a body that never ends",
            TokenAnswer::Endless,
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "302 to elsewhere",
            TokenAnswer::RedirectTo(elsewhere),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
        (
            "very slow",
            TokenAnswer::Slow(Duration::from_secs(4)),
            StatusCode::SERVICE_UNAVAILABLE,
            "could not be reached",
        ),
        (
            "no token_type",
            TokenAnswer::Edited(Arc::new(|b: &mut Value| {
                drop(b.as_object_mut().unwrap().remove("token_type"))
            })),
            StatusCode::BAD_GATEWAY,
            "invalid answer",
        ),
    ];
    for (case, answer, status, text) in cases {
        op.set(|b| b.token = answer);
        assert_refused(&app, &op, case, status, text).await;
    }

    op.set(|b| {
        b.token = TokenAnswer::Edited(Arc::new(|body: &mut Value| {
            body["token_type"] = json!("BEARER");
            body.as_object_mut().unwrap().remove("expires_in");
        }))
    });
    assert_signed_in(&app, "token_type BEARER, no expires_in").await;
}
