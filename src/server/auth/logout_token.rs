//! OpenID Connect Back-Channel Logout 1.0: the IdP POSTs a logout token; it is validated like an
//! ID token (RS256 from the IdP's JWKS, issuer, audience = our client id, `exp` when present)
//! plus the logout-specific rules (`events` claim, no `nonce`, `sid` or `sub`), issued within
//! the last `MAX_AGE_SECONDS`, with a `jti` the caller must not have seen before (see
//! `logout_tokens_seen`).

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::server::auth::jwks::JwksCache;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const LEEWAY_SECONDS: i64 = 60;
/// A logout token is delivered right after the IdP issues it: older ones are refused.
const MAX_AGE_SECONDS: i64 = 300;
const MAX_JTI_BYTES: usize = 256;

#[derive(Debug, Deserialize)]
struct Claims {
    iat: Option<i64>,
    jti: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
    events: Option<serde_json::Map<String, serde_json::Value>>,
    nonce: Option<serde_json::Value>,
}

/// Whose sessions to end, and the token's `jti` with how long it must be remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutTarget {
    pub sid: Option<String>,
    pub sub: Option<String>,
    pub jti: String,
    /// After this, the token would be refused as too old anyway.
    pub remember_until: i64,
}

pub async fn verify(
    jwks: &JwksCache,
    token: &str,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<LogoutTarget, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| "not a JWT")?;
    if header.alg != Algorithm::RS256 {
        return Err("algorithm not accepted".into());
    }
    if header
        .typ
        .as_deref()
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("logout+jwt"))
    {
        return Err("not a logout token (typ)".into());
    }
    let key = jwks
        .decoding_key(header.kid.as_deref())
        .await
        .ok_or("signed with an unknown key")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.leeway = LEEWAY_SECONDS as u64;
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| format!("invalid: {e}"))?
        .claims;
    let iat = claims.iat.ok_or("no iat")?;
    if iat > now + LEEWAY_SECONDS {
        return Err("issued in the future".into());
    }
    if iat < now - MAX_AGE_SECONDS {
        return Err("issued too long ago".into());
    }
    let jti = claims.jti.filter(|jti| !jti.is_empty()).ok_or("no jti")?;
    if jti.len() > MAX_JTI_BYTES {
        return Err("jti too long".into());
    }
    if !claims
        .events
        .as_ref()
        .is_some_and(|events| events.get(EVENT).is_some_and(|e| e.is_object()))
    {
        return Err("no back-channel logout event".into());
    }
    if claims.nonce.is_some() {
        return Err("a logout token has no nonce".into());
    }
    if claims.sid.is_none() && claims.sub.is_none() {
        return Err("neither sid nor sub".into());
    }
    Ok(LogoutTarget {
        sid: claims.sid,
        sub: claims.sub,
        jti,
        remember_until: iat + MAX_AGE_SECONDS + LEEWAY_SECONDS,
    })
}
