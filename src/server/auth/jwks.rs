//! The IdP's signing keys, cached. Fetched at discovery; re-fetched when a token names a `kid`
//! we do not know, at most once per `REFETCH_INTERVAL` so a flood of made-up `kid`s cannot turn
//! us into a traffic generator against the IdP.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use openidconnect::core::CoreJsonWebKeySet;

use crate::server::auth::http::read_limited;

pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// One snapshot of the key set, in the two shapes our verifiers use.
pub struct KeySet {
    /// For openidconnect's ID token verifier.
    pub oidc: CoreJsonWebKeySet,
    /// RS256 signing keys by `kid`, for access-token verification with jsonwebtoken.
    pub by_kid: HashMap<String, DecodingKey>,
    /// Every usable key, for tokens without a `kid` (accepted only when there is exactly one).
    pub all: Vec<DecodingKey>,
}

impl KeySet {
    fn empty() -> Self {
        Self {
            oidc: CoreJsonWebKeySet::new(Vec::new()),
            by_kid: HashMap::new(),
            all: Vec::new(),
        }
    }

    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let oidc: CoreJsonWebKeySet = serde_json::from_slice(bytes).map_err(|e| format!("JWKS is not valid: {e}"))?;
        #[derive(serde::Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| format!("JWKS is not valid: {e}"))?;
        let mut by_kid = HashMap::new();
        let mut all = Vec::new();
        for value in raw.keys {
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
        }
        Ok(Self { oidc, by_kid, all })
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
}

impl JwksCache {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            url: RwLock::new(None),
            keys: RwLock::new(Arc::new(KeySet::empty())),
            last_refetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
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
        self.fetches.fetch_add(1, Ordering::Relaxed);
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
        let bytes = read_limited(response, MAX_JWKS_BYTES).await?;
        let keys = Arc::new(KeySet::parse(&bytes)?);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys.clone();
        tracing::info!(keys = keys.all.len(), "JWKS loaded");
        Ok(keys)
    }
}
