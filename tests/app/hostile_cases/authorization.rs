//! Authorization responses that come back wrong (state, iss, error with markup, no code) are
//! refused; a callback with no sign-in in progress is 400.

use std::sync::Arc;

use reqwest::StatusCode;

use crate::harness::browser;
use crate::hostile::HostileOp;

use super::{app_against, assert_refused, assert_signed_in, attempt};

#[tokio::test]
async fn bad_authorization_responses_are_refused() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    type Edit = fn(&mut Vec<(String, String)>);
    let cases: Vec<(&str, Edit, StatusCode, &str)> = vec![
        (
            "missing state",
            |p| p.retain(|(k, _)| k != "state"),
            StatusCode::BAD_REQUEST,
            "does not belong",
        ),
        (
            "foreign state",
            |p| {
                p.iter_mut()
                    .filter(|(k, _)| k == "state")
                    .for_each(|(_, v)| *v = "forged".into())
            },
            StatusCode::BAD_REQUEST,
            "does not belong",
        ),
        (
            "iss mismatch",
            |p| {
                p.iter_mut()
                    .filter(|(k, _)| k == "iss")
                    .for_each(|(_, v)| *v = "https://evil.example".into())
            },
            StatusCode::BAD_REQUEST,
            "unexpected identity provider",
        ),
        (
            "iss missing though advertised",
            |p| p.retain(|(k, _)| k != "iss"),
            StatusCode::BAD_REQUEST,
            "does not name",
        ),
        (
            "access_denied with markup",
            |p| {
                p.retain(|(k, _)| k != "code");
                p.push(("error".into(), "access_denied".into()));
                p.push(("error_description".into(), "<script>alert('x')</script>".into()));
            },
            StatusCode::FORBIDDEN,
            "&lt;script&gt;alert",
        ),
        (
            "no code",
            |p| p.retain(|(k, _)| k != "code"),
            StatusCode::BAD_REQUEST,
            "no authorization code",
        ),
    ];
    for (case, edit, status, text) in cases {
        op.set(|b| b.callback = Some(Arc::new(edit)));
        assert_refused(&app, &op, case, status, text).await;
        let (_, page, _) = attempt(&app).await;
        assert!(!page.contains("<script>alert"), "{case}: markup is escaped");
    }

    // Without the advertisement, a missing iss is fine (RFC 9207 §2.4).
    op.set(|b| {
        b.iss_parameter_supported = false;
        b.callback = Some(Arc::new(|p: &mut Vec<(String, String)>| p.retain(|(k, _)| k != "iss")));
    });
    let app = app_against(&op).await;
    assert_signed_in(&app, "no iss, not advertised").await;

    // A callback with no sign-in in progress.
    let response = browser()
        .get(app.url("/auth/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("No sign-in is in progress"));
}
