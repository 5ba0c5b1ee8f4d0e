//! Hostile bearer tokens on the REST API (odd kids, huge headers, ID tokens, near-miss scopes, huge
//! or invalid bodies) get 4xx, never 5xx; cached keys outlive a JWKS outage.

use reqwest::StatusCode;
use serde_json::json;

use crate::hostile::HostileOp;

use super::{access_claims, app_against, at_jwt};

#[tokio::test]
async fn hostile_bearer_tokens_get_4xx_never_5xx() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let client = reqwest::Client::new();
    let get = |token: String| client.get(app.url("/api/v1/issues")).bearer_auth(token).send();

    // Sanity: a well-formed token from this OP works (so the refusals below mean something).
    assert_eq!(
        get(at_jwt(&op, 0, None, &access_claims(&op, "issues:view")))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    for kid in ["../../x", "' OR 1=1 --", "\u{0}", &"k".repeat(5000)] {
        let token = at_jwt(&op, 0, Some(kid), &access_claims(&op, "issues:view"));
        assert_eq!(
            get(token).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "kid {kid:?}"
        );
    }
    let huge = "a".repeat(100 * 1024);
    let status = client
        .get(app.url("/api/v1/issues"))
        .header("authorization", format!("Bearer {huge}"))
        .send()
        .await
        .unwrap()
        .status();
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{status}"
    );

    // An ID token is not an access token.
    let id_token = op.sign(0, &op.valid_claims("n"));
    assert_eq!(get(id_token).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Scope names match exactly.
    let almost = at_jwt(&op, 0, None, &access_claims(&op, "issues:view issues:create-x"));
    let response = app.post_issue(&client, &almost, &json!({"title": "sneaky"})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let scope_as_array = at_jwt(&op, 0, None, &{
        let mut claims = access_claims(&op, "");
        claims["scope"] = json!(["issues:view", "issues:create"]);
        claims
    });
    let response = app
        .post_issue(
            &client,
            &scope_as_array,
            &json!({"title": "array scopes are understood"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // The JWKS endpoint going down does not stop tokens signed with cached keys.
    op.set(|b| b.jwks_down = true);
    let fresh = at_jwt(&op, 0, None, &{
        let mut claims = access_claims(&op, "issues:view");
        claims["jti"] = json!("j2");
        claims
    });
    assert_eq!(get(fresh).await.unwrap().status(), StatusCode::OK);
    let unknown = at_jwt(&op, 1, None, &access_claims(&op, "issues:view"));
    assert_eq!(get(unknown).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Bodies: 5 MB is 413, invalid UTF-8 is 400, never 500.
    let valid = at_jwt(&op, 0, None, &access_claims(&op, "issues:view issues:create"));
    let big = client
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&valid)
        .header("content-type", "application/json")
        .body(vec![b'a'; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let invalid_utf8 = client
        .post(app.url("/api/v1/issues"))
        .bearer_auth(&valid)
        .header("content-type", "application/json")
        .body(b"{\"title\": \"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(invalid_utf8.status(), StatusCode::BAD_REQUEST);
}
