//! A sign-in in progress lives in the browser, not on the server: its secrets (state, nonce,
//! PKCE verifier) and return path are sealed into a short-lived cookie that only the callback
//! reads, and that only this host can set (`__Host-` with https). Starting a sign-in therefore
//! costs the server nothing durable; an anonymous visitor can start as many as they like. The
//! only server memory is the set of states already redeemed (single use in this process),
//! filled by callbacks, bounded (about 5 MB), and forgotten when they expire; across instances
//! the provider's single-use code does the same.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::{Cookie, SameSite};

use crate::server::auth::oidc::PendingSecrets;
use crate::server::auth::sign_in_error::SignInError;
use crate::server::support::bounded_map::{BoundedMap, Replacement};
use crate::server::support::rate_window::PerClientWindow;
use crate::server::support::seal::Sealer;

/// A sign-in not finished within this time is refused at the callback.
pub const PENDING_LIFETIME_SECONDS: i64 = 600;
/// With https the cookie is `__Host-`: a browser takes a cookie of that name only from this
/// host itself, Secure, with `Path=/` and no `Domain`. A sibling subdomain can set
/// `Domain=example.com` cookies (a `__Secure-` name included), so without the prefix it could
/// plant a pending sign-in of its own and the victim's callback would finish the sibling's
/// sign-in (login CSRF). Over plain http (development on this machine) no prefix is possible.
const HOST_COOKIE_NAME: &str = "__Host-issues_pending";
const PLAIN_COOKIE_NAME: &str = "issues_pending";
/// `__Host-` demands `Path=/`; without the prefix, only the callback needs the cookie.
const HOST_COOKIE_PATH: &str = "/";
const PLAIN_COOKIE_PATH: &str = "/auth/callback";
/// The sealing context: a pending sign-in opens only as one.
const SEAL_CONTEXT: &str = "pending-sign-in";
/// Redeemed states remembered at most (about 50 bytes each).
const REDEEMED_CAPACITY: usize = 100_000;
/// Code exchanges at once, from everyone.
const EXCHANGES_AT_ONCE: usize = 32;
/// Client addresses whose exchanges are counted at most.
const EXCHANGE_CLIENTS: usize = 10_000;
/// How long a sign-in waits for an exchange slot: within the provider's timeout's order, well
/// inside the request time limit.
const EXCHANGE_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
pub struct PendingSignIn {
    pub secrets: PendingSecrets,
    pub return_to: String,
    pub started_at: i64,
    /// Started with `prompt=none`: a "needs interaction" answer falls back to a normal sign-in.
    #[serde(default)]
    pub silent: bool,
    /// A step-up: the `max_age` asked for, which the ID token's `auth_time` must meet.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// A step-up of a signed-in session: whom it must confirm (their `sub`).
    #[serde(default)]
    pub confirming: Option<String>,
}

pub struct PendingSignIns {
    sealer: Arc<Sealer>,
    /// The one name the callback reads: a cookie of the other mode's name is not this
    /// browser's sign-in.
    cookie_name: &'static str,
    cookie_path: &'static str,
    secure: bool,
    /// Keyed hash of a redeemed state → when it would have expired anyway. When full, the
    /// unexpired states stay; every insert makes room, even a replay of a remembered state.
    redeemed: Mutex<BoundedMap<[u8; 32], i64>>,
    /// Code exchanges per client address, and at once.
    exchanges: PerClientWindow,
    exchanging: tokio::sync::Semaphore,
}

impl PendingSignIns {
    /// `exchanges_per_minute`: code exchanges (calls to the provider's token endpoint with this
    /// app's client secret) per client address per minute; a person signs in a few times an hour.
    pub fn new(sealer: Arc<Sealer>, secure: bool, exchanges_per_minute: u32) -> Self {
        let (cookie_name, cookie_path) = if secure {
            (HOST_COOKIE_NAME, HOST_COOKIE_PATH)
        } else {
            (PLAIN_COOKIE_NAME, PLAIN_COOKIE_PATH)
        };
        Self {
            sealer,
            cookie_name,
            cookie_path,
            secure,
            redeemed: Mutex::new(BoundedMap::new(REDEEMED_CAPACITY, Replacement::MakesRoom)),
            exchanges: PerClientWindow::new(exchanges_per_minute, 60, EXCHANGE_CLIENTS),
            exchanging: tokio::sync::Semaphore::new(EXCHANGES_AT_ONCE),
        }
    }

    /// Never a `Domain`: the cookie stays with this host (and `__Host-` requires it). The
    /// clearing cookie carries the same attributes, or the browser would refuse it.
    fn cookie<'c>(&self, value: String, max_age: i64) -> Cookie<'c> {
        Cookie::build((self.cookie_name, value))
            .path(self.cookie_path)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(tower_sessions::cookie::time::Duration::seconds(max_age))
            .build()
    }

    /// The `Set-Cookie` value that hands `pending` to the browser.
    pub fn set_cookie(&self, pending: &PendingSignIn) -> Result<HeaderValue, SignInError> {
        let json = serde_json::to_vec(pending).map_err(|_| SignInError::Store)?;
        let sealed = self.sealer.seal(SEAL_CONTEXT, &json).map_err(|_| SignInError::Store)?;
        HeaderValue::try_from(self.cookie(sealed, PENDING_LIFETIME_SECONDS).to_string()).map_err(|_| SignInError::Store)
    }

    /// The `Set-Cookie` value that removes it: every callback answer carries it.
    pub fn clear_cookie(&self) -> HeaderValue {
        HeaderValue::try_from(self.cookie(String::new(), 0).to_string()).unwrap_or(HeaderValue::from_static(""))
    }

    /// Leave for one code exchange by `client`, held while it runs: junk codes sent with fresh
    /// pending cookies cannot spend the app's allowance at the provider. When every exchange
    /// slot is taken, a sign-in waits its turn for a while (a crowd signing in at nine o'clock
    /// is served, in turn) before it is told to try again.
    pub async fn admit_exchange(
        &self,
        client: IpAddr,
        now: i64,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, SignInError> {
        self.admit_exchange_within(client, now, EXCHANGE_QUEUE_WAIT).await
    }

    /// `admit_exchange`, waiting at most `wait` for a slot. The slot first, then the client's
    /// exchange counted: a sign-in told it is busy made no exchange, so it costs the address
    /// none (people behind one address, told busy at nine o'clock, would otherwise spend its
    /// minute waiting). A client over its count waits its turn like anyone before it hears so,
    /// and hands the slot back at once.
    async fn admit_exchange_within(
        &self,
        client: IpAddr,
        now: i64,
        wait: std::time::Duration,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, SignInError> {
        let Ok(Ok(permit)) = tokio::time::timeout(wait, self.exchanging.acquire()).await else {
            return Err(SignInError::Busy);
        };
        self.exchanges
            .spend(client, now)
            .map_err(|retry_after| SignInError::TooManyExchanges { retry_after })?;
        Ok(permit)
    }

    /// The browser's pending sign-in, if it is intact, was not redeemed before, is in time and
    /// matches the callback's `state`. It is redeemed by this call before those checks, whatever
    /// their outcome: a cookie is good for one callback, so a replayed one costs a lookup. Only
    /// the cookie named for this mode counts: with https a plain `issues_pending` could have
    /// been planted by a sibling subdomain.
    pub fn redeem(&self, headers: &HeaderMap, state: Option<&str>, now: i64) -> Result<PendingSignIn, SignInError> {
        let sealed = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == self.cookie_name)
            .map(|cookie| cookie.value().to_string())
            .ok_or(SignInError::NoPendingSignIn)?;
        let pending: PendingSignIn = self
            .sealer
            .open(SEAL_CONTEXT, &sealed)
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(SignInError::NoPendingSignIn)?;
        let expires_at = pending.started_at + PENDING_LIFETIME_SECONDS;
        // Remembered while the cookie could still be sent: an expired one for a while more,
        // so its replays are not refused (and recorded) anew.
        let remember_until = expires_at.max(now + PENDING_LIFETIME_SECONDS);
        let key = self.sealer.keyed_hash(pending.secrets.state.as_bytes());
        {
            let mut redeemed = self.redeemed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let inserted = redeemed.insert(key, remember_until, |_, until| *until >= now);
            if inserted.cleared {
                // A flood of callbacks: start over rather than refuse sign-ins. A replay that
                // slips through then still meets the provider's single-use code.
                tracing::warn!("redeemed sign-in states at capacity; forgotten");
            }
            if inserted.previous.is_some() {
                return Err(SignInError::NoPendingSignIn);
            }
        }
        if expires_at < now {
            return Err(SignInError::Expired);
        }
        let matches = state.is_some_and(|given| {
            aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), pending.secrets.state.as_bytes())
                .is_ok()
        });
        if !matches {
            return Err(SignInError::ForeignState);
        }
        Ok(pending)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const NOW: i64 = 1_900_000_000;

    fn pending_sign_ins(secure: bool) -> PendingSignIns {
        let sealer = Sealer::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        PendingSignIns::new(Arc::new(sealer), secure, 10)
    }

    fn started(state: &str) -> PendingSignIn {
        PendingSignIn {
            secrets: PendingSecrets {
                state: state.to_string(),
                nonce: "nonce".to_string(),
                pkce_verifier: "verifier".to_string(),
            },
            return_to: "/issues".to_string(),
            started_at: NOW,
            silent: false,
            max_age: None,
            confirming: None,
        }
    }

    fn parsed(header: &HeaderValue) -> Cookie<'static> {
        Cookie::parse(header.to_str().unwrap().to_string()).unwrap()
    }

    fn cookie_header(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn with_https_the_pending_cookie_is_host_prefixed_secure_at_the_root_without_a_domain() {
        let pending = pending_sign_ins(true);
        for header in [pending.set_cookie(&started("s1")).unwrap(), pending.clear_cookie()] {
            let cookie = parsed(&header);
            assert_eq!(cookie.name(), "__Host-issues_pending", "{header:?}");
            assert_eq!(cookie.secure(), Some(true), "{header:?}");
            assert_eq!(cookie.path(), Some("/"), "{header:?}");
            assert_eq!(cookie.domain(), None, "{header:?}");
            assert_eq!(cookie.http_only(), Some(true), "{header:?}");
        }
    }

    #[test]
    fn over_http_the_pending_cookie_keeps_its_plain_name_and_goes_only_to_the_callback() {
        let pending = pending_sign_ins(false);
        let cookie = parsed(&pending.set_cookie(&started("s1")).unwrap());
        assert_eq!(cookie.name(), "issues_pending");
        assert_eq!(cookie.path(), Some("/auth/callback"));
        assert_ne!(cookie.secure(), Some(true));
        assert_eq!(cookie.domain(), None);
    }

    #[test]
    fn with_https_a_callback_ignores_a_plain_named_cookie_a_sibling_could_plant() {
        let pending = pending_sign_ins(true);
        let sealed = parsed(&pending.set_cookie(&started("s1")).unwrap()).value().to_string();
        let planted = pending.redeem(&cookie_header(&format!("issues_pending={sealed}")), Some("s1"), NOW);
        assert!(
            matches!(planted, Err(SignInError::NoPendingSignIn)),
            "{:?}",
            planted.err()
        );
        // The same sealed value under this mode's name is this browser's sign-in.
        let own = pending.redeem(
            &cookie_header(&format!("__Host-issues_pending={sealed}")),
            Some("s1"),
            NOW,
        );
        assert_eq!(own.ok().map(|own| own.return_to).as_deref(), Some("/issues"));
    }

    #[tokio::test]
    async fn a_sign_in_told_busy_costs_its_address_no_exchange() {
        // 10 exchanges a minute per address.
        let pending = pending_sign_ins(true);
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let wait = std::time::Duration::from_millis(10);
        let every_slot = pending.exchanging.acquire_many(EXCHANGES_AT_ONCE as u32).await.unwrap();
        for _ in 0..20 {
            let told = pending.admit_exchange_within(client, NOW, wait).await;
            assert!(matches!(told, Err(SignInError::Busy)), "{:?}", told.err());
        }
        drop(every_slot);
        // All ten are still there; each admitted exchange hands its slot back when dropped.
        for _ in 0..10 {
            assert!(pending.admit_exchange_within(client, NOW, wait).await.is_ok());
        }
        let told = pending.admit_exchange_within(client, NOW, wait).await;
        assert!(
            matches!(told, Err(SignInError::TooManyExchanges { retry_after: 60 })),
            "{:?}",
            told.err()
        );
        // Refused, it took no slot with it.
        assert_eq!(pending.exchanging.available_permits(), EXCHANGES_AT_ONCE);
    }
}
