//! Access tokens judged by the provider's introspection endpoint (RFC 7662), for opaque tokens
//! or when local verification is not wanted. An answer is accepted only when the token is
//! active, from this issuer, meant for this API (`aud`, else `client_id`, against the same
//! audiences JWKS mode accepts) and an access token (never a refresh token). Refusals are
//! remembered briefly, each client address may cost only so many provider calls, and tokens
//! never accepted before only so many a minute from one IPv6 /48 and from all clients together,
//! so a stream of garbage tokens, from one address or from many, cannot make the app spend one
//! provider call each; tokens already in use are asked about again outside that shared budget,
//! so such a stream cannot lock them out either.

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
/// Provider calls each client address may cause per window (answers from memory are free); also
/// the calls for tokens never accepted before that one IPv6 /48 may cause.
const CALLS_PER_WINDOW: u32 = 30;
const WINDOW_SECONDS: i64 = 10;
/// Provider calls for tokens never accepted before, by all clients together, per minute. More
/// would be many addresses each under its own limit (a flood), and a provider that throttles the
/// organization would then refuse this app's sign-ins and refreshes too. Over it, a call is
/// refused as over the per-client limit (429 with `Retry-After`). A token accepted before is
/// asked about again every `ACCEPTED_SECONDS` without spending it: a flood can make a new token
/// wait a minute, never 429 the tokens in use. Those re-checks are bounded without it: only a
/// token the provider accepted is one, and each is asked about once per `ACCEPTED_SECONDS` (the
/// verifier remembers the answer), within its client's own window.
const NEW_TOKEN_CALLS_PER_MINUTE: u32 = 600;
/// A token accepted before counts as known until it expires, and at most this long after it was
/// last accepted (a token without `exp`, or one left unused): an hour, an access token's usual
/// life (Asgardeo's default).
const KNOWN_SECONDS: i64 = 3600;
/// The `token_type`s an access token is introspected as (RFC 6750, RFC 8693).
const ACCESS_TOKEN_TYPES: [&str; 3] = [
    "bearer",
    "access_token",
    "urn:ietf:params:oauth:token-type:access_token",
];
/// Bound on the remembered refusals, the tokens known and the tracked addresses.
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
    auth_time: Option<i64>,
}

pub struct Introspector {
    issuer: String,
    oidc: Arc<Oidc>,
    /// Refusals: the reason, until when, and the configuration generation they were made under.
    /// When full, the unexpired refusals stay; every insert makes room, even one that replaces.
    refused: Mutex<BoundedMap<[u8; 32], (String, i64, u64)>>,
    allowance: CallAllowance,
    calls: AtomicU64,
}

impl Introspector {
    pub fn new(issuer: String, oidc: Arc<Oidc>) -> Self {
        Self {
            issuer,
            oidc,
            refused: Mutex::new(BoundedMap::new(MAX_TRACKED, Replacement::MakesRoom)),
            allowance: CallAllowance::new(
                (CALLS_PER_WINDOW, WINDOW_SECONDS),
                NEW_TOKEN_CALLS_PER_MINUTE,
                MAX_TRACKED,
            ),
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
        self.allowance
            .spend(&key, client, now)
            .map_err(|retry_after| TokenError::RateLimited { retry_after })?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let body = self.oidc.introspect(token).await.map_err(|_| TokenError::Unavailable)?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| TokenError::Unavailable)?;
        match decide(answer, &self.issuer, now, audiences) {
            Ok((viewer, expires)) => {
                let expires = expires.unwrap_or(i64::MAX);
                self.allowance.accepted(key, expires.min(now + KNOWN_SECONDS), now);
                Ok((viewer, expires.min(now + ACCEPTED_SECONDS)))
            }
            Err(error) => {
                if let TokenError::Invalid(reason) = &error {
                    // Revoked, or judged under a new configuration: no longer one in use.
                    self.allowance.refused(&key);
                    self.remember_refusal(key, reason, now, config_generation);
                }
                Err(error)
            }
        }
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

/// Which provider calls may be made. Every call counts against its client's own window (IPv6:
/// its /64). A call for a token never accepted before also counts against its /48's window and
/// against one budget for all clients: those two stop a flood of garbage tokens from many
/// addresses, and one holder of a /48 is not 65,536 clients there (neighbours sharing a /48 share
/// only the limit for new tokens, which a person's few new tokens an hour never reach). A token
/// accepted before and asked about again (its remembered answer expired) counts against neither,
/// so a flood that spent them delays only tokens new to the app.
struct CallAllowance {
    /// Every call, per client address (IPv6: its /64).
    per_client: PerClientWindow,
    /// Calls for new tokens, per client address (IPv6: its /48).
    new_per_site: PerClientWindow,
    /// Calls for new tokens, by all clients together.
    new_overall: AllClientsWindow,
    /// The tokens accepted before (their hash), each until when it is known. Only the provider's
    /// acceptance puts one here, so garbage cannot fill it; when full, the unexpired stay, then
    /// the least recently accepted are forgotten (asked about once more as new).
    known: Mutex<BoundedMap<[u8; 32], i64>>,
}

impl CallAllowance {
    /// `calls` per `seconds` per client (and per /48 for new tokens), `new_per_minute` for new
    /// tokens from everyone, at most `tracked` clients and known tokens remembered.
    fn new((calls, seconds): (u32, i64), new_per_minute: u32, tracked: usize) -> Self {
        Self {
            per_client: PerClientWindow::new(calls, seconds, tracked),
            new_per_site: PerClientWindow::new(calls, seconds, tracked).ipv6_by_site(),
            new_overall: AllClientsWindow::new(new_per_minute, 60),
            known: Mutex::new(BoundedMap::new(tracked, Replacement::Free).evicting_oldest()),
        }
    }

    /// Counts one provider call about the token hashed as `key`, from `client`; when a window
    /// it counts against is spent, the seconds until it opens again. The client's own window
    /// first: a client over it spends none of the shared ones.
    fn spend(&self, key: &[u8; 32], client: IpAddr, now: i64) -> Result<(), u64> {
        self.per_client.spend(client, now)?;
        if self.is_known(key, now) {
            return Ok(());
        }
        self.new_per_site.spend(client, now)?;
        self.new_overall.spend(now)
    }

    fn is_known(&self, key: &[u8; 32], now: i64) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(key).is_some_and(|until| *until > now)
    }

    /// The provider accepted the token: known until `until`.
    fn accepted(&self, key: [u8; 32], until: i64, now: i64) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(key, until, |_, other_until| *other_until > now);
    }

    /// The provider refused the token: new again, should it be accepted later.
    fn refused(&self, key: &[u8; 32]) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.remove(key);
    }
}

/// Whether the provider's answer admits the caller: active, from `issuer`, an access token (not a
/// refresh token), meant for one of `audiences`, unexpired, with a subject. Answers the caller and
/// the token's expiry, when the provider says.
fn decide(answer: Answer, issuer: &str, now: i64, audiences: &[String]) -> Result<(Viewer, Option<i64>), TokenError> {
    let invalid = |reason: &str| Err(TokenError::Invalid(reason.into()));
    if !answer.active {
        return invalid("the access token is not active");
    }
    if answer.iss.as_ref().is_some_and(|iss| iss != issuer) {
        return invalid("the access token comes from another issuer");
    }
    // RFC 7662 makes `token_type` a hint, worded as each provider likes: only the exact names of
    // an access token are accepted (in any case), so a refresh token is refused whatever it is
    // called (the dev IdP says `Refresh`, others `refresh_token` or RFC 8693's URN), and so is
    // any other kind. An answer without `token_type` is taken as an access token.
    let is_access_token = answer.token_type.as_deref().is_none_or(|kind| {
        ACCESS_TOKEN_TYPES
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
    if answer.exp.is_some_and(|exp| exp <= now) {
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
        auth_time: answer.auth_time,
    };
    Ok((viewer, answer.exp))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use serde_json::{Value, json};

    use super::{Answer, CallAllowance, decide};
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

    #[test]
    fn the_answer_s_expiry_is_the_token_s_and_a_past_one_is_refused() {
        let expiry = |exp: Value| {
            let mut answer = json!({ "active": true, "iss": ISSUER, "aud": "client", "sub": "u-1" });
            if !exp.is_null() {
                answer["exp"] = exp;
            }
            let answer: Answer = serde_json::from_value(answer).unwrap();
            decide(answer, ISSUER, 1_000, &["client".to_string()]).map(|(_, expires)| expires)
        };
        assert_eq!(expiry(json!(5_000)), Ok(Some(5_000)));
        assert_eq!(expiry(json!(null)), Ok(None));
        assert_eq!(
            expiry(json!(1_000)),
            Err(TokenError::Invalid("the access token has expired".into()))
        );
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn token(n: u32) -> [u8; 32] {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&n.to_be_bytes());
        key
    }

    #[test]
    fn a_flood_of_new_tokens_from_many_addresses_never_locks_out_a_token_in_use() {
        // 30 per 10 s per client, 60 new tokens a minute from everyone.
        let allowance = CallAllowance::new((30, 10), 60, 1_000);
        let in_use = token(0);
        assert_eq!(allowance.spend(&in_use, ip("192.0.2.1"), 1_000), Ok(()));
        allowance.accepted(in_use, 1_000 + 3_600, 1_000);
        // Garbage from three addresses, each under its own limit, spends the rest of everyone's
        // budget (the minute began at 1,000).
        let flood = (1..=59).map(|n: u32| (token(n), IpAddr::from([198, 51, 100, (n % 3) as u8])));
        for (garbage, attacker) in flood {
            assert_eq!(allowance.spend(&garbage, attacker, 1_001), Ok(()));
        }
        let attacker = ip("198.51.100.200");
        assert_eq!(allowance.spend(&token(61), attacker, 1_002), Err(58));
        // A token never accepted waits for the next minute, whoever sends it.
        assert_eq!(allowance.spend(&token(62), ip("192.0.2.1"), 1_030), Err(30));
        // The token in use is asked about again when its remembered answer expires: served.
        assert_eq!(allowance.spend(&in_use, ip("192.0.2.1"), 1_030), Ok(()));
        assert_eq!(allowance.spend(&in_use, ip("203.0.113.5"), 1_031), Ok(()));
        // Still within its client's own window.
        for _ in 0..28 {
            assert_eq!(allowance.spend(&in_use, ip("192.0.2.1"), 1_032), Ok(()));
        }
        assert_eq!(allowance.spend(&in_use, ip("192.0.2.1"), 1_032), Err(8));
    }

    #[test]
    fn a_token_is_known_until_its_time_and_forgotten_when_refused() {
        let allowance = CallAllowance::new((30, 10), 1, 1_000);
        let (first, second) = (token(1), token(2));
        assert_eq!(allowance.spend(&first, ip("192.0.2.1"), 1_000), Ok(()));
        allowance.accepted(first, 1_100, 1_000);
        allowance.accepted(second, 1_100, 1_000);
        // The minute's one new token is spent; the known ones are not new.
        assert_eq!(allowance.spend(&token(3), ip("192.0.2.1"), 1_010), Err(50));
        assert_eq!(allowance.spend(&first, ip("192.0.2.1"), 1_010), Ok(()));
        assert_eq!(allowance.spend(&second, ip("192.0.2.1"), 1_010), Ok(()));
        // Refused (revoked): new again.
        allowance.refused(&second);
        assert_eq!(allowance.spend(&second, ip("192.0.2.1"), 1_020), Err(40));
        // Past its time: new again.
        // (The minute's one new token then.)
        assert_eq!(allowance.spend(&first, ip("192.0.2.1"), 1_100), Ok(()));
        assert_eq!(allowance.spend(&first, ip("192.0.2.1"), 1_101), Err(59));
    }

    #[test]
    fn for_new_tokens_one_ipv6_48_is_one_client_and_each_64_keeps_its_own_window() {
        let allowance = CallAllowance::new((2, 10), 1_000, 1_000);
        // One holder of 2001:db8:1::/48 spreading new tokens over its /64s.
        assert_eq!(allowance.spend(&token(1), ip("2001:db8:1:1::1"), 1_000), Ok(()));
        assert_eq!(allowance.spend(&token(2), ip("2001:db8:1:2::1"), 1_000), Ok(()));
        assert_eq!(allowance.spend(&token(3), ip("2001:db8:1:3::1"), 1_000), Err(10));
        // Another /48 is another client.
        assert_eq!(allowance.spend(&token(4), ip("2001:db8:2:1::1"), 1_000), Ok(()));
        // A token in use, asked about from a neighbour's /64 in the spent /48: its own window.
        allowance.accepted(token(5), 2_000, 1_000);
        assert_eq!(allowance.spend(&token(5), ip("2001:db8:1:4::1"), 1_001), Ok(()));
        assert_eq!(allowance.spend(&token(5), ip("2001:db8:1:4::2"), 1_001), Ok(()));
        assert_eq!(allowance.spend(&token(5), ip("2001:db8:1:4::3"), 1_001), Err(10));
    }
}
