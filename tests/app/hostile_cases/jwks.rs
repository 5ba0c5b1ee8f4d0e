//! The provider's signing keys: a rotated key costs one JWKS fetch, a flood of unknown kids is
//! rate-limited, and a retired key stops being trusted at the next scheduled fetch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;

use crate::hostile::{HostileOp, Mint};

use super::{access_claims, app_against, assert_signed_in, at_jwt};

#[tokio::test]
async fn a_rotated_key_costs_one_jwks_fetch_and_a_flood_is_rate_limited() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    assert_signed_in(&app, "first key").await;
    let fetched = op.hits("/oauth2/jwks");

    op.set(|b| {
        b.published = vec![0, 1];
        b.id_token = Arc::new(|m: &Mint<'_>| m.op.sign(1, &m.claims));
    });
    assert_signed_in(&app, "rotated key").await;
    assert_eq!(op.hits("/oauth2/jwks"), fetched + 1, "exactly one re-fetch");

    // A flood of bearer tokens with made-up kids: refused, and the JWKS is not hammered.
    let client = reqwest::Client::new();
    for attempt in 0..30 {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(format!("random-{attempt}"));
        let token = op.keys[0]
            .sign_with(&header, &access_claims(&op, "issues:view"))
            .unwrap();
        let response = client
            .get(app.url("/api/v1/issues"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        op.hits("/oauth2/jwks") <= fetched + 2,
        "re-fetches are rate-limited: {}",
        op.hits("/oauth2/jwks")
    );
}

#[tokio::test]
async fn a_key_the_provider_retires_stops_being_trusted_at_the_next_scheduled_fetch() {
    let op = HostileOp::start().await;
    // The OP asks for 5 s of caching (the shortest the app honours).
    op.set(|b| {
        b.published = vec![0, 1];
        b.jwks_max_age = Some(1);
    });
    let app = app_against(&op).await;
    let client = reqwest::Client::new();
    let token = at_jwt(&op, 0, None, &access_claims(&op, "issues:view"));
    let status = || client.get(app.url("/api/v1/issues")).bearer_auth(&token).send();
    assert_eq!(
        status().await.unwrap().status(),
        StatusCode::OK,
        "verified and remembered"
    );

    // The OP retires key 0; no token names an unknown key, so only the schedule can notice.
    op.set(|b| b.published = vec![1]);
    let retired = Instant::now();
    loop {
        let answer = status().await.unwrap();
        if answer.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(
            retired.elapsed() < Duration::from_secs(20),
            "a token signed with a retired key was still accepted after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(op.hits("/oauth2/jwks") >= 2);
    // Tokens signed with the key still published are accepted.
    let current = at_jwt(&op, 1, None, &access_claims(&op, "issues:view"));
    let answer = client
        .get(app.url("/api/v1/issues"))
        .bearer_auth(&current)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}
