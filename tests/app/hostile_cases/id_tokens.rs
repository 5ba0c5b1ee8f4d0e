//! ID tokens the provider forges or bends (issuer, audience, azp, nonce, expiry, `alg`, keys from
//! the header, at_hash) are refused; a token without `kid` is accepted only while one key is
//! published.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{CLIENT_ID, SECRET};
use crate::hostile::{HostileOp, Mint, Minter, now, unsigned};

use super::{app_against, assert_refused, assert_signed_in, signed_in_count};

fn claims_edit(edit: impl Fn(&mut Value) + Send + Sync + 'static) -> Minter {
    Arc::new(move |mint: &Mint<'_>| {
        let mut claims = mint.claims.clone();
        edit(&mut claims);
        mint.op.sign(0, &claims)
    })
}

fn forged(sign: impl Fn(&Mint<'_>) -> String + Send + Sync + 'static) -> Minter {
    Arc::new(sign)
}

#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let cases: Vec<(&str, Minter)> = vec![
        (
            "wrong iss",
            claims_edit(|c| c["iss"] = json!("https://evil.example/oauth2/token")),
        ),
        (
            "missing aud",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("aud"))),
        ),
        ("foreign aud", claims_edit(|c| c["aud"] = json!("someone-else"))),
        (
            "extra untrusted aud, no azp",
            claims_edit(|c| c["aud"] = json!([CLIENT_ID, "someone-else"])),
        ),
        (
            "azp of another client",
            claims_edit(|c| c["azp"] = json!("someone-else")),
        ),
        (
            "missing sub",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
        (
            "missing iat",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("iat"))),
        ),
        (
            "expired",
            claims_edit(|c| {
                c["exp"] = json!(now() - 600);
                c["iat"] = json!(now() - 900);
            }),
        ),
        (
            "exp as a string",
            claims_edit(|c| c["exp"] = json!((now() + 300).to_string())),
        ),
        ("wrong nonce", claims_edit(|c| c["nonce"] = json!("not-the-nonce"))),
        (
            "missing nonce",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("nonce"))),
        ),
        (
            "alg none",
            forged(|m| unsigned(json!({"alg": "none", "typ": "JWT"}), &m.claims, "")),
        ),
        ("alg None", forged(|m| unsigned(json!({"alg": "None"}), &m.claims, ""))),
        ("alg NONE", forged(|m| unsigned(json!({"alg": "NONE"}), &m.claims, ""))),
        (
            "HS256 with the RSA public key",
            forged(|m| {
                let secret = m.op.keys[0].public_key_pem();
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS256),
                    &m.claims,
                    &EncodingKey::from_secret(secret.as_bytes()),
                )
                .unwrap()
            }),
        ),
        (
            "HS256 with the client secret",
            forged(|m| {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(m.op.keys[0].kid().to_string());
                jsonwebtoken::encode(&header, &m.claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
            }),
        ),
        (
            "corrupted signature",
            forged(|m| {
                let token = m.op.sign(0, &m.claims);
                let (head, signature) = token.rsplit_once('.').unwrap();
                let flipped: String = signature.chars().rev().collect::<String>();
                format!("{head}.{flipped}")
            }),
        ),
        (
            "jku pointing elsewhere",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(m.op.attacker.kid().to_string());
                header.jku = Some(format!("{}/elsewhere", m.op.base));
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "x5u pointing elsewhere",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.x5u = Some(format!("{}/elsewhere", m.op.base));
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "embedded jwk",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.jwk = Some(m.op.attacker.jwk().clone());
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "signed by an unpublished key",
            forged(|m| {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(m.op.attacker.kid().to_string());
                m.op.attacker.sign_with(&header, &m.claims).unwrap()
            }),
        ),
        (
            "at_hash of another token",
            claims_edit(|c| c["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA")),
        ),
    ];
    for (case, minter) in cases {
        op.set(|b| b.id_token = minter);
        // Tokens openidconnect cannot even parse (missing `sub` or `iat`, `exp` as a string, an
        // unknown `alg` spelling)
        // make the token response itself invalid: 502. Everything else fails validation: 400.
        let unparseable = matches!(
            case,
            "missing sub" | "missing iat" | "exp as a string" | "alg None" | "alg NONE"
        );
        let (status, text) = if unparseable {
            (StatusCode::BAD_GATEWAY, "invalid answer")
        } else {
            (StatusCode::BAD_REQUEST, "did not pass validation")
        };
        assert_refused(&app, &op, case, status, text).await;
    }

    // A correct at_hash is accepted (so the refusal above is about the value).
    op.set(|b| {
        b.id_token = Arc::new(|m: &Mint<'_>| {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, m.access_token.as_bytes());
            let mut claims = m.claims.clone();
            claims["at_hash"] = json!(base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &hash.as_ref()[..16]
            ));
            m.op.sign(0, &claims)
        })
    });
    assert_signed_in(&app, "correct at_hash").await;

    // No `kid`: accepted while the JWKS has exactly one key, refused with two.
    let no_kid: Minter = forged(|m| {
        m.op.keys[0]
            .sign_with(&Header::new(Algorithm::RS256), &m.claims)
            .unwrap()
    });
    op.set(|b| b.id_token = no_kid.clone());
    assert_signed_in(&app, "no kid, one key").await;

    let op = HostileOp::start().await;
    op.set(|b| {
        b.published = vec![0, 1];
        b.id_token = no_kid;
    });
    let app = app_against(&op).await;
    assert_refused(
        &app,
        &op,
        "no kid, two keys",
        StatusCode::BAD_REQUEST,
        "did not pass validation",
    )
    .await;
}

/// A name the provider gives with control and bidirectional-override characters is stored
/// and shown without them (it could otherwise reorder the text around it on every page), and a
/// name of nothing but those falls back to the next claim.
#[tokio::test]
async fn names_are_stored_without_characters_that_disguise_them() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    op.set(|b| {
        b.id_token = claims_edit(|c| c["name"] = json!("Mal\u{202E}lo\u{0007}ry \n "));
    });
    assert_signed_in(&app, "bidi override and control characters in the name").await;
    op.set(|b| {
        b.id_token = claims_edit(|c| {
            c["name"] = json!("\u{2066}\u{2069}");
            c["preferred_username"] = json!("Mallory");
        })
    });
    assert_signed_in(&app, "a name of nothing but invisible characters").await;
}

/// A step-up sign-in (`/auth/login?max_age=60`): the provider answers with an ID token whose
/// `auth_time` is missing, ten minutes old, or in the future, as a provider that ignored
/// `max_age` (or replays an old authentication) would. Each is refused: nothing stored, the
/// session unchanged. A recent one is accepted, and an old one without a step-up as before.
#[tokio::test]
async fn a_step_up_s_id_token_must_say_it_authenticated_recently() {
    let op = HostileOp::start().await;
    let app = app_against(&op).await;
    let step_up = |client: reqwest::Client| {
        let start = app.url("/auth/login?max_age=60&return_to=/");
        async move {
            let start = client.get(start).send().await.unwrap();
            assert_eq!(start.status(), StatusCode::SEE_OTHER);
            let authorize = crate::harness::location(&start);
            let asked = crate::harness::query_of(&authorize);
            assert_eq!((asked["max_age"].as_str(), asked["prompt"].as_str()), ("60", "login"));
            let at_op = client.get(authorize).send().await.unwrap();
            let callback = client.get(crate::harness::location(&at_op)).send().await.unwrap();
            let status = callback.status();
            (status, callback.text().await.unwrap(), client)
        }
    };
    for (case, minter) in [
        (
            "no auth_time",
            claims_edit(|c| drop(c.as_object_mut().unwrap().remove("auth_time"))),
        ),
        (
            "auth_time ten minutes ago",
            claims_edit(|c| c["auth_time"] = json!(now() - 600)),
        ),
        (
            "auth_time in the future",
            claims_edit(|c| c["auth_time"] = json!(now() + 600)),
        ),
    ] {
        op.set(|b| b.id_token = minter.clone());
        let (status, page, client) = step_up(crate::harness::browser()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {page}");
        assert!(page.contains("did not pass validation"), "{case}: {page}");
        assert_eq!(signed_in_count(&app).await, 0, "{case}: nothing stored");
        let (_, info) = app.call(&client, "session_info", &[]).await;
        assert!(info["user"].is_null(), "{case}: session stays anonymous");
    }
    op.set(|b| b.id_token = claims_edit(|c| c["auth_time"] = json!(now() - 5)));
    let (status, page, _) = step_up(crate::harness::browser()).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a recent auth_time: {page}");
    let stored = crate::harness::sign_in_rows(&app).await;
    assert!(
        stored
            .iter()
            .any(|row| row.auth_time.is_some_and(|at| at >= now() - 10))
    );
    op.set(|b| b.id_token = claims_edit(|c| c["auth_time"] = json!(now() - 600)));
    assert_signed_in(&app, "an old auth_time without a step-up").await;
}
