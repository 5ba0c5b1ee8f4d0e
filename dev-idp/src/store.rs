//! What the provider remembers between requests: pending sign-ins, IdP sessions, codes and
//! tokens. In memory (a development provider); tokens and codes are kept only as SHA-256
//! digests, so the store never holds a usable credential.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use aws_lc_rs::{digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A fresh random value: 32 bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // A failing system RNG is not recoverable here; the all-zero value would still be unique
    // per call only by luck, so make the failure loud in the logs.
    if rand::fill(&mut bytes).is_err() {
        tracing::error!("system random number generator failed");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn digest_of(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// The authorization request as the client sent it, kept while the user signs in.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    /// OIDC Core's `max_age`: a sign-in older than this many seconds is asked for again.
    pub max_age: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Interaction {
    pub request: AuthRequest,
    pub csrf_token: String,
    pub browser_binding: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct IdpSession {
    pub sid: String,
    pub user_sub: uuid::Uuid,
    pub auth_time: i64,
    /// Applications that received tokens in this session (for back-channel logout).
    pub clients: BTreeSet<String>,
}

/// Who a grant is for: a user (code, password, refresh) or the application itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(uuid::Uuid),
    Application,
}

/// What the user (or application) consented to: the shared origin of every token issued from
/// one code or password exchange, and of their refreshes.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub subject: Subject,
    pub scopes: Vec<String>,
    pub sid: Option<String>,
    pub auth_time: Option<i64>,
    pub nonce: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub grant: Grant,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    pub redeemed: bool,
}

#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub grant_id: String,
    pub client_id: String,
    pub subject: Subject,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub grant: Grant,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Default)]
pub struct Tables {
    /// interaction id -> pending sign-in
    pub interactions: HashMap<String, Interaction>,
    /// digest of the session cookie -> session
    pub sessions: HashMap<String, IdpSession>,
    /// digest of the code -> code
    pub codes: HashMap<String, CodeRecord>,
    /// digest of the access token -> record
    pub access_tokens: HashMap<String, AccessRecord>,
    /// digest of the refresh token -> record
    pub refresh_tokens: HashMap<String, RefreshRecord>,
}

impl Tables {
    /// Revokes every token that came from `grant_id`.
    pub fn revoke_grant(&mut self, grant_id: &str) {
        for record in self.access_tokens.values_mut() {
            if record.grant_id == grant_id {
                record.revoked = true;
            }
        }
        for record in self.refresh_tokens.values_mut() {
            if record.grant.id == grant_id {
                record.revoked = true;
            }
        }
    }

    /// Forgets what has expired, so a long-running provider does not grow without bound.
    pub fn prune(&mut self, now: i64) {
        // Used codes are kept past expiry for a while so a late replay still revokes.
        self.interactions.retain(|_, i| i.expires_at > now);
        self.codes.retain(|_, c| c.expires_at + 600 > now);
        self.access_tokens.retain(|_, a| a.expires_at + 600 > now);
        self.refresh_tokens.retain(|_, r| r.expires_at > now);
        self.sessions.retain(|_, s| s.auth_time + SESSION_SECONDS > now);
    }

    /// Makes room for one more entry in every table: what has expired goes, and a table still
    /// full loses the tenth of its entries that would expire soonest. A flood of sign-ins
    /// started and never finished cannot grow the provider without bound.
    pub fn make_room(&mut self, now: i64) {
        let full = [
            self.interactions.len(),
            self.sessions.len(),
            self.codes.len(),
            self.access_tokens.len(),
            self.refresh_tokens.len(),
        ]
        .into_iter()
        .any(|len| len >= MAX_ENTRIES);
        if !full {
            return;
        }
        self.prune(now);
        shed(&mut self.interactions, |i| i.expires_at);
        shed(&mut self.sessions, |s| s.auth_time);
        shed(&mut self.codes, |c| c.expires_at);
        shed(&mut self.access_tokens, |a| a.expires_at);
        shed(&mut self.refresh_tokens, |r| r.expires_at);
    }
}

/// Entries per table, at most.
pub const MAX_ENTRIES: usize = 50_000;
/// An IdP session lasts this long (then the user signs in again).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// When `map` is full: drops the tenth of its entries with the smallest `order` (oldest).
fn shed<K: Eq + Hash + Clone, V>(map: &mut HashMap<K, V>, order: impl Fn(&V) -> i64) {
    if map.len() < MAX_ENTRIES {
        return;
    }
    let mut entries: Vec<(i64, K)> = map.iter().map(|(key, value)| (order(value), key.clone())).collect();
    let cut = entries.len() / 10;
    entries.select_nth_unstable_by_key(cut, |(order, _)| *order);
    for (_, key) in &entries[..cut] {
        map.remove(key);
    }
}

#[derive(Default)]
pub struct Store {
    tables: Mutex<Tables>,
}

impl Store {
    pub fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_sheds_its_oldest_entries() {
        let mut tables = Tables::default();
        let request = AuthRequest {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            state: None,
            nonce: None,
            scopes: Vec::new(),
            code_challenge: None,
            max_age: None,
        };
        let now = 1_000;
        for n in 0..MAX_ENTRIES as i64 {
            let interaction = Interaction {
                request: request.clone(),
                csrf_token: String::new(),
                browser_binding: String::new(),
                expires_at: now + 1 + n,
            };
            tables.interactions.insert(n.to_string(), interaction);
        }
        tables.make_room(now);
        assert_eq!(tables.interactions.len(), MAX_ENTRIES - MAX_ENTRIES / 10);
        assert!(
            !tables.interactions.contains_key("0"),
            "the soonest to expire went first"
        );
        assert!(tables.interactions.contains_key(&(MAX_ENTRIES - 1).to_string()));
    }
}
