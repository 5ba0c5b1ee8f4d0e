//! What the endpoint files share: the `Provider` and its state (`Urls`, the directory snapshot), request `Params`,
//! password checks, and the PKCE and constant-time comparison helpers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::constant_time::verify_slices_are_equal;

use crate::clock::Clock;
use crate::directory::{Directory, RoleChangeError, User};
use crate::error::OAuthError;
use crate::keys::SigningKeys;
use crate::store::Store;
use crate::throttle::PasswordThrottle;

/// Where the provider is reachable and what it calls itself.
#[derive(Debug, Clone)]
pub struct Urls {
    /// `http://127.0.0.1:9443` — no trailing slash.
    pub base: String,
    /// `/t/dev`
    pub org_path: String,
    /// `{base}/t/{org}/oauth2/token` — Asgardeo's issuer is its token endpoint URL.
    pub issuer: String,
}

impl Urls {
    pub fn new(base: &str, organization: &str) -> Self {
        let base = base.trim_end_matches('/').to_string();
        let org_path = format!("/t/{organization}");
        let issuer = format!("{base}{org_path}/oauth2/token");
        Self { base, org_path, issuer }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}{}", self.base, self.org_path, path)
    }
}

pub struct Provider {
    /// Replaced whole when an administrator changes a user's roles; read it through
    /// [`Provider::directory`].
    pub directory: RwLock<Arc<Directory>>,
    pub keys: SigningKeys,
    pub store: Store,
    pub clock: Clock,
    pub urls: Urls,
    pub secure_cookies: bool,
    pub back_channel: reqwest::Client,
    /// Slows down repeated wrong passwords (sign-in form and password grant).
    pub throttle: PasswordThrottle,
}

/// Parameters of a request, with duplicates refused (RFC 6749 §3.1, §3.2).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(encoded: &str) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(encoded)
            .map_err(|_| OAuthError::invalid_request("the parameters are not valid form encoding"))?;
        let mut map = HashMap::new();
        for (name, value) in pairs {
            if map.insert(name.clone(), value).is_some() {
                return Err(OAuthError::invalid_request(format!("parameter `{name}` is repeated")));
            }
        }
        Ok(Self(map))
    }

    /// A parameter; empty values count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }
}

/// Why a username and password were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("Wrong username or password. Please try again.")]
    Wrong,
    #[error("Too many wrong passwords for this username. Try again in {0} s.")]
    Wait(i64),
}

impl Provider {
    // ----- directory --------------------------------------------------------------------------

    /// The directory as it stands. A request works on one snapshot throughout, so a change lands
    /// between requests, never halfway through one.
    pub fn directory(&self) -> Arc<Directory> {
        // Writers only ever store a whole new directory, so a poisoned lock still holds a sound one.
        let current = self.directory.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&*current)
    }

    /// Replaces `username`'s roles, as an administrator does in Asgardeo's console. The next
    /// authorization (a silent one too) grants by the new roles, and the next refresh drops
    /// scopes the user no longer has; tokens already issued keep theirs until they expire.
    pub fn set_user_roles(&self, username: &str, roles: Vec<String>) -> Result<(), RoleChangeError> {
        // Held while the new directory is made, so that two changes at once cannot lose one.
        let mut directory = self.directory.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let changed = directory.with_user_roles(username, roles.clone())?;
        *directory = Arc::new(changed);
        drop(directory);
        tracing::info!(username = %username, roles = ?roles, "user's roles changed");
        Ok(())
    }

    /// Makes `username`'s sign-ins here `seconds` older, as if they had signed in that much
    /// earlier (tests of actions that need a recent sign-in); how many there were.
    pub fn age_sessions(&self, username: &str, seconds: i64) -> Result<usize, RoleChangeError> {
        let directory = self.directory();
        let user = directory
            .user_by_username(username)
            .ok_or_else(|| RoleChangeError::UnknownUser(username.to_string()))?;
        let mut tables = self.store.lock();
        let mut aged = 0;
        for session in tables
            .sessions
            .values_mut()
            .filter(|session| session.user_sub == user.sub)
        {
            session.auth_time -= seconds;
            aged += 1;
        }
        drop(tables);
        tracing::info!(username = %username, seconds, aged, "user's sign-ins made older");
        Ok(aged)
    }

    /// The user of `directory`, if `password` is theirs and they may try now (see `throttle.rs`).
    pub(super) fn check_password<'a>(
        &self,
        directory: &'a Directory,
        username: &str,
        password: &str,
    ) -> Result<&'a User, PasswordRefusal> {
        let user = directory.user_by_username(username).ok_or(PasswordRefusal::Wrong)?;
        let now = self.clock.now();
        self.throttle
            .begin(&user.username, now)
            .map_err(PasswordRefusal::Wait)?;
        if !user.password.verify(password) {
            return Err(PasswordRefusal::Wrong);
        }
        self.throttle.succeeded(&user.username);
        Ok(user)
    }
}

/// RFC 7636 §4.1: unreserved characters, within the length bounds.
pub(super) fn is_pkce_value(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Constant-time equality for secrets.
pub fn equal(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}
