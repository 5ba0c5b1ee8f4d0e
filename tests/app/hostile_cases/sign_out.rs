//! Ending sessions against a hostile provider: a sign-out during a refresh stays signed out, and
//! back-channel logout tokens must be fresh, carry a jti and are accepted once.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::CLIENT_ID;
use crate::hostile::{HostileOp, TokenAnswer, now};

use super::{app_against, app_against_configured, attempt, signed_in_count};

/// A sign-out while a refresh waits on the provider: the refresh must not bring the sign-in or
/// the session record back (on SQLite the row came back into the in-memory copy and the session
/// record was written again by the renewal).
#[tokio::test]
async fn a_sign_out_during_a_refresh_does_not_bring_the_session_back() {
    let op = HostileOp::start().await;
    // Tokens due for refresh at once: their lifetime is inside the refresh margin.
    op.behaviour.lock().unwrap().token = TokenAnswer::Edited(Arc::new(|body| body["expires_in"] = json!(30)));
    let app = app_against_configured(&op, |config| {
        config["Server"]["IdentityProviderTimeoutSeconds"] = json!(5);
        // The idle deadline is renewed at most once a second: the refreshing call renews.
        config["Server"]["SessionIdleMinutes"] = json!(1);
    })
    .await;
    let (status, page, client) = attempt(&app).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    op.behaviour.lock().unwrap().token = TokenAnswer::Slow(Duration::from_secs(2));
    let exchanges = op.hits("/oauth2/token");
    let refreshing = {
        let client = client.clone();
        let url = app.url("/api/list_issues");
        tokio::spawn(async move {
            client
                .post(url)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while op.hits("/oauth2/token") == exchanges {
        assert!(std::time::Instant::now() < deadline, "no refresh reached the provider");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signed_out = client.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    refreshing.await.unwrap();

    assert_eq!(signed_in_count(&app).await, 0, "the sign-in came back");
    assert_eq!(
        crate::harness::session_count(&app).await,
        0,
        "the session record came back"
    );
    let (status, _) = app.call(&client, "list_issues", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_tokens_must_be_fresh_carry_a_jti_and_are_accepted_once() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let post = |token: String| {
        let url = app.url("/auth/backchannel-logout");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut claims = json!({
            "iss": op.issuer, "aud": CLIENT_ID, "iat": now(), "jti": format!("jti-{}", now()),
            "sub": "mallory", "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        edit(&mut claims);
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("logout+jwt".into());
        header.kid = Some(op.keys[0].kid().to_string());
        op.keys[0].sign_with(&header, &claims).unwrap()
    };
    let fresh = claims(&|_| {});
    assert_eq!(post(fresh.clone()).await.0, StatusCode::OK);
    let (status, body) = post(fresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a replay");
    assert!(body.contains("used before"), "{body}");

    type Edit<'a> = &'a dyn Fn(&mut Value);
    let refused: [(&str, Edit); 4] = [
        ("no jti", &|c| drop(c.as_object_mut().unwrap().remove("jti"))),
        ("issued an hour ago", &|c| {
            c["iat"] = json!(now() - 3600);
            c["jti"] = json!("old");
        }),
        ("expired", &|c| {
            c["exp"] = json!(now() - 120);
            c["jti"] = json!("expired");
        }),
        ("issued in the future", &|c| {
            c["iat"] = json!(now() + 3600);
            c["jti"] = json!("future");
        }),
    ];
    for (case, edit) in refused {
        let (status, body) = post(claims(edit)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert!(body.contains("not valid"), "{case}: {body}");
    }
    // Another fresh token (its own jti) is accepted.
    let (status, _) = post(claims(&|c| c["jti"] = json!("another"))).await;
    assert_eq!(status, StatusCode::OK);
}
