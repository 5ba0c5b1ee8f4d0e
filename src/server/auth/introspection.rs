//! Access tokens judged by the provider's introspection endpoint (RFC 7662), for opaque tokens
//! or when local verification is not wanted. An answer is accepted only when the token is
//! active, from this issuer, meant for this API (`aud`, else `client_id`, against the same
//! audiences JWKS mode accepts) and an access token (never a refresh token). Refusals are
//! remembered briefly and each client address may cost only so many provider calls, so a
//! stream of garbage tokens cannot make the app spend one provider call each.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::access::Viewer;
use crate::model::display_name;
use crate::server::auth::oidc::Oidc;
use crate::server::auth::token::{Audience, ScopeClaim, TokenError, for_another_audience};
use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::rate_window::PerClientWindow;

/// An accepted answer is trusted this long, so a revocation takes effect soon.
pub const ACCEPTED_SECONDS: i64 = 30;
/// A refused token is refused again without asking for this long.
const REFUSED_SECONDS: i64 = 30;
/// Provider calls each client address may cause per window (answers from memory are free).
const CALLS_PER_WINDOW: u32 = 30;
const WINDOW_SECONDS: i64 = 10;
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
    calls: AtomicU64,
}

impl Introspector {
    pub fn new(issuer: String, oidc: Arc<Oidc>) -> Self {
        Self {
            issuer,
            oidc,
            refused: Mutex::new(BoundedMap::new(MAX_TRACKED, Replacement::MakesRoom)),
            spent: PerClientWindow::new(CALLS_PER_WINDOW, WINDOW_SECONDS, MAX_TRACKED),
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
        self.spent
            .spend(client, now)
            .map_err(|retry_after| TokenError::RateLimited { retry_after })?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let body = self.oidc.introspect(token).await.map_err(|_| TokenError::Unavailable)?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| TokenError::Unavailable)?;
        self.decide(answer, now, audiences).inspect_err(|error| {
            if let TokenError::Invalid(reason) = error {
                self.remember_refusal(key, reason, now, config_generation);
            }
        })
    }

    fn decide(&self, answer: Answer, now: i64, audiences: &[String]) -> Result<(Viewer, i64), TokenError> {
        let invalid = |reason: &str| Err(TokenError::Invalid(reason.into()));
        if !answer.active {
            return invalid("the access token is not active");
        }
        if answer.iss.as_ref().is_some_and(|iss| iss != &self.issuer) {
            return invalid("the access token comes from another issuer");
        }
        let is_access_token = answer.token_type.as_deref().is_none_or(|kind| {
            [
                "bearer",
                "access_token",
                "urn:ietf:params:oauth:token-type:access_token",
            ]
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
