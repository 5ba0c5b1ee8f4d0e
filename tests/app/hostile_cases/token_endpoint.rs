//! Token endpoint answers that are errors, huge, endless, redirected, slow or malformed are refused
//! with the stated status; a merely unusual answer is accepted.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::hostile::{HostileOp, TokenAnswer};

use super::{app_against, app_against_configured, assert_refused, assert_signed_in};

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

/// Junk codes sent with fresh pending sign-ins cannot spend the app's allowance at the provider:
/// code exchanges are limited per client address (`Server.CodeExchangesPerMinute`), and the
/// ones over the limit are answered 429 with `Retry-After`, without calling the provider.
#[tokio::test]
async fn junk_code_exchanges_from_one_address_stop_at_the_limit() {
    let op = HostileOp::start().await;
    let app = app_against_configured(&op, |config| config["Server"]["CodeExchangesPerMinute"] = json!(5)).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let before = op.hits("/oauth2/token");
    let mut limited = 0;
    for _ in 0..200 {
        let (cookie, state) = crate::harness::pending_cookie(&app.base).await;
        let answer = client
            .get(app.url(&format!(
                "/auth/callback?code=junk&state={state}&iss={}",
                url::form_urlencoded::byte_serialize(op.issuer.as_bytes()).collect::<String>()
            )))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = answer.headers()[reqwest::header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
            limited += 1;
        }
    }
    assert_eq!(
        op.hits("/oauth2/token") - before,
        5,
        "the provider was called only up to the limit"
    );
    assert_eq!(limited, 195);
}
