//! Access tokens judged by the provider's introspection endpoint (RFC 7662), for opaque tokens
//! or when local verification is not wanted. An answer is accepted only when the token is
//! active, from this issuer, meant for this API (`aud`, else `client_id`, against the same
//! audiences JWKS mode accepts) and an access token (never a refresh token). Refusals are
//! remembered briefly, each client address may cost only so many provider calls, and all clients
//! together only so many a minute, so a stream of garbage tokens, from one address or from many,
//! cannot make the app spend one provider call each.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::access::Viewer;
use crate::model::display_name;
use crate::server::auth::oidc::Oidc;
use crate::server::auth::token::{Audience, ScopeClaim, TokenError, for_another_audience};
use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::rate_window::{AllClientsWindow, PerClientWindow};

/// An accepted answer is trusted this long, so a revocation takes effect soon.
pub const ACCEPTED_SECONDS: i64 = 30;
/// A refused token is refused again without asking for this long.
const REFUSED_SECONDS: i64 = 30;
/// Provider calls each client address may cause per window (answers from memory are free).
const CALLS_PER_WINDOW: u32 = 30;
const WINDOW_SECONDS: i64 = 10;
/// Provider calls all clients together may cause per minute. An accepted token is asked about
/// again every `ACCEPTED_SECONDS` (twice a minute), so this serves about 300 tokens in steady use;
/// more would be many addresses each under its own limit (a flood), and a provider that
/// throttles the organization would then refuse this app's sign-ins and refreshes too. Over it, a
/// call is refused as over the per-client limit (429 with `Retry-After`).
const PROVIDER_CALLS_PER_MINUTE: u32 = 600;
/// The `token_type`s an access token is introspected as (RFC 6750, RFC 8693).
const ACCESS_TOKEN_TYPES: [&str; 3] = [
    "bearer",
    "access_token",
    "urn:ietf:params:oauth:token-type:access_token",
];
/// Bound on the remembered refusals and tracked addresses.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Deserialize)]
struct Answer {
    active: bool,
    scope: Option<ScopeClaim>,
    sub: Option<String>,
    username: Option<String>,
    exp: Option<i64>,
    iss: Option<String>,
    aud: Option<Audience>,
    client_id: Option<String>,
    token_type: Option<String>,
}

pub struct Introspector {
    issuer: String,
    oidc: Arc<Oidc>,
    /// Refusals: the reason, until when, and the configuration generation they were made under.
    /// When full, the unexpired refusals stay; every insert makes room, even one that replaces.
    refused: Mutex<BoundedMap<[u8; 32], (String, i64, u64)>>,
    /// Provider calls per client address.
    spent: PerClientWindow,
    /// Provider calls by all clients together.
    budget: AllClientsWindow,
    calls: AtomicU64,
}

impl Introspector {
    pub fn new(issuer: String, oidc: Arc<Oidc>) -> Self {
        Self {
            issuer,
            oidc,
            refused: Mutex::new(BoundedMap::new(MAX_TRACKED, Replacement::MakesRoom)),
            spent: PerClientWindow::new(CALLS_PER_WINDOW, WINDOW_SECONDS, MAX_TRACKED),
            budget: AllClientsWindow::new(PROVIDER_CALLS_PER_MINUTE, 60),
            calls: AtomicU64::new(0),
        }
    }

    /// How many times the provider was asked (tests and metrics).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The caller and until when the answer may be trusted. `key` identifies the token (its
    /// hash), `client` the address it came from.
    pub async fn judge(
        &self,
        token: &str,
        key: [u8; 32],
        client: IpAddr,
        now: i64,
        (audiences, config_generation): (&[String], u64),
    ) -> Result<(Viewer, i64), TokenError> {
        if let Some(reason) = self.refused_recently(&key, now, config_generation) {
            return Err(TokenError::Invalid(reason));
        }
        // The client's own window first: a client over it does not spend everyone's budget.
        self.spent
            .spend(client, now)
            .map_err(|retry_after| TokenError::RateLimited { retry_after })?;
        self.budget
            .spend(now)
            .map_err(|retry_after| TokenError::RateLimited { retry_after })?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let body = self.oidc.introspect(token).await.map_err(|_| TokenError::Unavailable)?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| TokenError::Unavailable)?;
        decide(answer, &self.issuer, now, audiences).inspect_err(|error| {
            if let TokenError::Invalid(reason) = error {
                self.remember_refusal(key, reason, now, config_generation);
            }
        })
    }

    /// A refusal remembered under the same configuration.
    fn refused_recently(&self, key: &[u8; 32], now: i64, config_generation: u64) -> Option<String> {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused
            .get(key)
            .filter(|(_, until, generation)| *until > now && *generation == config_generation)
            .map(|(reason, ..)| reason.clone())
    }

    fn remember_refusal(&self, key: [u8; 32], reason: &str, now: i64, config_generation: u64) {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let refusal = (reason.to_string(), now + REFUSED_SECONDS, config_generation);
        refused.insert(key, refusal, |_, (_, until, _)| *until > now);
    }
}

/// Whether the provider's answer admits the caller: active, from `issuer`, an access token (not a
/// refresh token), meant for one of `audiences`, unexpired, with a subject.
fn decide(answer: Answer, issuer: &str, now: i64, audiences: &[String]) -> Result<(Viewer, i64), TokenError> {
    let invalid = |reason: &str| Err(TokenError::Invalid(reason.into()));
    if !answer.active {
        return invalid("the access token is not active");
    }
    if answer.iss.as_ref().is_some_and(|iss| iss != issuer) {
        return invalid("the access token comes from another issuer");
    }
    // RFC 7662 makes `token_type` a hint, worded as each provider likes (the dev IdP says
    // `Refresh`, others `refresh_token` or RFC 8693's URN): whatever names a refresh token is one.
    // Anything else must name an access token; an answer without `token_type` is taken as one.
    let is_access_token = answer.token_type.as_deref().is_none_or(|kind| {
        !kind.to_ascii_lowercase().contains("refresh")
            && ACCESS_TOKEN_TYPES
                .iter()
                .any(|accepted| kind.eq_ignore_ascii_case(accepted))
    });
    if !is_access_token {
        return invalid("the token is not an access token");
    }
    let for_us = |name: &String| audiences.contains(name);
    let meant_for_us = match (&answer.aud, &answer.client_id) {
        (Some(Audience::One(aud)), _) => for_us(aud),
        (Some(Audience::Many(auds)), _) => auds.iter().any(for_us),
        (None, Some(client_id)) => for_us(client_id),
        (None, None) => false,
    };
    if !meant_for_us {
        let aud = answer.aud.map(Audience::into_list).unwrap_or_default();
        return Err(TokenError::Invalid(for_another_audience(&aud, audiences)));
    }
    let exp = answer.exp.unwrap_or(now + ACCEPTED_SECONDS);
    if exp <= now {
        return invalid("the access token has expired");
    }
    let Some(sub) = answer.sub else {
        return invalid("the access token has no subject");
    };
    let viewer = Viewer {
        name: answer
            .username
            .as_deref()
            .and_then(display_name)
            .unwrap_or_else(|| sub.clone()),
        sub,
        scopes: answer.scope.map(ScopeClaim::into_list).unwrap_or_default(),
        client_id: answer.client_id,
    };
    Ok((viewer, exp.min(now + ACCEPTED_SECONDS)))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Answer, decide};
    use crate::server::auth::token::TokenError;

    const ISSUER: &str = "https://idp.example.com/oauth2/token";

    fn judged(token_type: Value) -> Result<String, TokenError> {
        let mut answer = json!({
            "active": true, "iss": ISSUER, "aud": "client", "sub": "u-1", "exp": 2_000, "scope": "issues:view"
        });
        if !token_type.is_null() {
            answer["token_type"] = token_type;
        }
        let answer: Answer = serde_json::from_value(answer).unwrap();
        decide(answer, ISSUER, 1_000, &["client".to_string()]).map(|(viewer, _)| viewer.sub)
    }

    #[test]
    fn an_access_token_is_accepted_whatever_the_case_of_its_type() {
        for kind in [
            json!(null),
            json!("Bearer"),
            json!("access_token"),
            json!("urn:ietf:params:oauth:token-type:access_token"),
        ] {
            assert_eq!(judged(kind.clone()), Ok("u-1".to_string()), "{kind}");
        }
    }

    #[test]
    fn whatever_names_a_refresh_token_is_refused_as_not_an_access_token() {
        for kind in [
            "Refresh",
            "refresh_token",
            "REFRESH_TOKEN",
            "urn:ietf:params:oauth:token-type:refresh_token",
            "Bearer-Refresh",
        ] {
            assert_eq!(
                judged(json!(kind)),
                Err(TokenError::Invalid("the token is not an access token".into())),
                "{kind}"
            );
        }
        // Nor an unknown kind.
        assert!(judged(json!("id_token")).is_err());
    }
}
