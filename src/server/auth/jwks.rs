//! The IdP's signing keys, cached. Fetched at discovery, then again on a schedule (the answer's
//! `Cache-Control: max-age`, within bounds) so a key the IdP retired stops being trusted; and
//! when a token names a `kid` we do not know, at most once per `REFETCH_INTERVAL` so a flood of
//! made-up `kid`s cannot turn us into a traffic generator against the IdP. Each time a key
//! leaves the set, the generation moves on: verifications remembered under it are dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use openidconnect::core::CoreJsonWebKeySet;

use crate::server::auth::provider_client::read_limited;

pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The scheduled refetch: every `max-age` the IdP asks for, within these bounds; this often when
/// it says nothing, and after a failed fetch the shortest interval.
const REFRESH_MIN: Duration = Duration::from_secs(5);
const REFRESH_MAX: Duration = Duration::from_secs(24 * 3600);
const REFRESH_DEFAULT: Duration = Duration::from_secs(3600);

/// One snapshot of the key set, in the two shapes our verifiers use.
pub struct KeySet {
    /// For openidconnect's ID token verifier.
    pub oidc: CoreJsonWebKeySet,
    /// RS256 signing keys by `kid`, for access-token verification with jsonwebtoken.
    pub by_kid: HashMap<String, DecodingKey>,
    /// Every usable key, for tokens without a `kid` (accepted only when there is exactly one).
    pub all: Vec<DecodingKey>,
    /// Each usable key's JWK as published, to tell when one leaves.
    published: Vec<String>,
}

impl KeySet {
    fn empty() -> Self {
        Self {
            oidc: CoreJsonWebKeySet::new(Vec::new()),
            by_kid: HashMap::new(),
            all: Vec::new(),
            published: Vec::new(),
        }
    }

    /// Whether a key of `self` is missing from `next`.
    fn loses_keys_in(&self, next: &KeySet) -> bool {
        self.published.iter().any(|key| !next.published.contains(key))
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let oidc: CoreJsonWebKeySet = serde_json::from_slice(bytes).map_err(|e| format!("JWKS is not valid: {e}"))?;
        #[derive(serde::Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| format!("JWKS is not valid: {e}"))?;
        let mut by_kid = HashMap::new();
        let mut all = Vec::new();
        let mut published = Vec::new();
        for value in raw.keys {
            let text = value.to_string();
            // Keys of other types or uses are skipped, not fatal.
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            if !is_rs256_signing_key(&jwk) {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
            if let Some(kid) = &jwk.common.key_id {
                by_kid.insert(kid.clone(), key.clone());
            }
            all.push(key);
            published.push(text);
        }
        Ok(Self {
            oidc,
            by_kid,
            all,
            published,
        })
    }

    /// The key for a token's `kid`; with no `kid`, the only key if there is exactly one.
    pub fn find(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None if self.all.len() == 1 => self.all.first(),
            None => None,
        }
    }
}

fn is_rs256_signing_key(jwk: &Jwk) -> bool {
    matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
        && matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature))
        && matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256))
}

pub struct JwksCache {
    http: reqwest::Client,
    url: RwLock<Option<String>>,
    keys: RwLock<Arc<KeySet>>,
    /// When a token last made us re-fetch (the initial load does not count).
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
    /// Moves on each time a key leaves the set.
    generation: AtomicU64,
    /// Seconds between scheduled refetches, from the last answer's `max-age`.
    refresh_every: AtomicU64,
    /// When the key set was last fetched (or a fetch last failed).
    fetched_at: std::sync::Mutex<Instant>,
    /// One fetch at a time, so an older answer never replaces a newer one.
    fetching: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            url: RwLock::new(None),
            keys: RwLock::new(Arc::new(KeySet::empty())),
            last_refetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            refresh_every: AtomicU64::new(REFRESH_DEFAULT.as_secs()),
            fetched_at: std::sync::Mutex::new(Instant::now()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// Changes whenever a key leaves the set: a verification made under an older generation
    /// may rest on a retired key.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Refetches the key set for as long as the app runs, every `max-age` the IdP asks for
    /// (bounded), or the shortest interval after a failure. Nothing to do until discovery has
    /// named the JWKS URL.
    pub async fn refresh_continuously(self: Arc<Self>) {
        let mut tick = tokio::time::interval(REFRESH_MIN);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let every = Duration::from_secs(self.refresh_every.load(Ordering::Relaxed));
            let due = self.fetched_at.lock().unwrap_or_else(|p| p.into_inner()).elapsed() >= every;
            let Some(url) = self
                .url
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .filter(|_| due)
            else {
                continue;
            };
            if let Err(error) = self.fetch(&url).await {
                tracing::warn!(%error, "scheduled JWKS refetch failed; keeping cached keys");
                self.refresh_every.store(REFRESH_MIN.as_secs(), Ordering::Relaxed);
            }
        }
    }

    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The key for a token's `kid`, re-fetching the JWKS (rate-limited) when it is unknown.
    pub async fn decoding_key(&self, kid: Option<&str>) -> Option<DecodingKey> {
        if let Some(key) = self.keys().find(kid) {
            return Some(key.clone());
        }
        self.refetch_for_unknown_key().await.find(kid).cloned()
    }

    /// How many times the JWKS was fetched (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Sets the JWKS URL (from discovery or config) and fetches it now.
    pub async fn load(&self, url: &str) -> Result<Arc<KeySet>, String> {
        *self.url.write().unwrap_or_else(|p| p.into_inner()) = Some(url.to_string());
        self.fetch(url).await
    }

    /// A token named a key we do not have: fetch again unless we did so recently. Returns the
    /// key set to retry with (unchanged when rate-limited or when the fetch failed).
    pub async fn refetch_for_unknown_key(&self) -> Arc<KeySet> {
        let Some(url) = self.url.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return self.keys();
        };
        let mut last = self.last_refetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return self.keys();
        }
        *last = Some(Instant::now());
        match self.fetch(&url).await {
            Ok(keys) => keys,
            Err(error) => {
                // Keep serving with the keys we have: the IdP being down must not break
                // verification of tokens signed with known keys.
                tracing::warn!(%error, "JWKS re-fetch failed; keeping cached keys");
                self.keys()
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<Arc<KeySet>, String> {
        crate::server::ops::metrics::timed("jwks", self.fetch_now(url)).await
    }

    async fn fetch_now(&self, url: &str) -> Result<Arc<KeySet>, String> {
        let _one_at_a_time = self.fetching.lock().await;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        *self.fetched_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("JWKS request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("JWKS endpoint answered {}", response.status()));
        }
        let every = max_age(response.headers()).map_or(REFRESH_DEFAULT, |age| age.clamp(REFRESH_MIN, REFRESH_MAX));
        let bytes = read_limited(response, MAX_JWKS_BYTES).await?;
        let keys = Arc::new(KeySet::parse(&bytes)?);
        let previous = std::mem::replace(&mut *self.keys.write().unwrap_or_else(|p| p.into_inner()), keys.clone());
        if previous.loses_keys_in(&keys) {
            self.generation.fetch_add(1, Ordering::AcqRel);
            tracing::info!(keys = keys.all.len(), "JWKS loaded; a key was retired");
        } else if previous.published != keys.published {
            tracing::info!(keys = keys.all.len(), "JWKS loaded");
        }
        self.refresh_every.store(every.as_secs(), Ordering::Relaxed);
        Ok(keys)
    }
}

/// `Cache-Control: max-age=N` (also among other directives); `no-cache` / `no-store` mean 0.
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').map(str::trim).find_map(|directive| {
        let directive = directive.to_ascii_lowercase();
        match directive.as_str() {
            "no-cache" | "no-store" => Some(Duration::ZERO),
            _ => directive
                .strip_prefix("max-age=")
                .and_then(|seconds| seconds.trim_matches('"').parse().ok())
                .map(Duration::from_secs),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let age = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::CACHE_CONTROL, value.parse().unwrap());
            max_age(&headers)
        };
        assert_eq!(age("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(age("Max-Age=\"30\""), Some(Duration::from_secs(30)));
        assert_eq!(age("no-store"), Some(Duration::ZERO));
        assert_eq!(age("public"), None);
        assert_eq!(age("max-age=soon"), None);
    }
}
