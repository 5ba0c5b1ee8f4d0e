//! Sign-in state kept in the tower-sessions session (one key, one enum) and the resolution of
//! a session to a [`Viewer`], refreshing the IdP's tokens shortly before they expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::access::Viewer;
use crate::error::AppError;
use crate::server::auth::oidc::{OidcError, PendingSecrets};
use crate::server::db::Db;
use crate::server::sign_ins::{self, SignInRow, seal_tokens};
use crate::server::state::AppState;

pub const AUTH_KEY: &str = "auth";
/// Tokens this close to expiry are refreshed before use.
pub const REFRESH_MARGIN_SECONDS: i64 = 60;
/// A sign-in started and not finished within this time is refused at the callback.
pub const PENDING_LIFETIME_SECONDS: i64 = 600;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AuthState {
    /// Sent to the IdP, waiting for the callback. The secrets are sealed.
    Pending {
        sealed: String,
        return_to: String,
        started_at: i64,
    },
    /// Signed in: the `sign_ins` row that holds who and the sealed tokens. `renewed_at`: when
    /// the session's idle deadline was last pushed back (see `idle_renewal_seconds`).
    SignedIn {
        sign_in: String,
        #[serde(default)]
        renewed_at: i64,
    },
    /// The IdP ended the session (refresh refused): tell the user once.
    Ended,
}

pub const PENDING_CONTEXT: &str = "pending-sign-in";

pub fn seal_pending(state: &AppState, secrets: &PendingSecrets) -> String {
    let json = serde_json::to_vec(secrets).unwrap_or_default();
    state.sealer.seal(PENDING_CONTEXT, &json)
}

pub fn open_pending(state: &AppState, sealed: &str) -> Option<PendingSecrets> {
    let json = state.sealer.open(PENDING_CONTEXT, sealed)?;
    serde_json::from_slice(&json).ok()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Only same-origin relative paths are kept; anything else becomes `/`.
pub fn safe_return_to(raw: Option<&str>) -> String {
    let Some(path) = raw else { return "/".into() };
    let acceptable = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.starts_with("/auth/")
        && path.len() <= 1024
        && !path.chars().any(|c| c.is_control() || c == '\\');
    if acceptable { path.to_string() } else { "/".into() }
}

async fn read_state(session: &Session) -> Result<Option<AuthState>, AppError> {
    session.get::<AuthState>(AUTH_KEY).await.map_err(|error| {
        tracing::error!(%error, "session store unavailable");
        AppError::Unavailable
    })
}

async fn forget(session: &Session, ended: bool) {
    let result = if ended {
        session.insert(AUTH_KEY, AuthState::Ended).await
    } else {
        session.remove::<AuthState>(AUTH_KEY).await.map(|_| ())
    };
    if let Err(error) = result {
        tracing::warn!(%error, "could not update the session");
    }
}

/// The idle timeout counts from the last save of the session record. Saving on every request
/// would cost a database write per call, so activity pushes the deadline back at most once per
/// 1/60 of the idle timeout (once a minute for an hour), between 1 and 60 seconds.
fn idle_renewal_seconds(idle: std::time::Duration) -> i64 {
    (idle.as_secs() as i64 / 60).clamp(1, 60)
}

/// Marks the session changed, so it is saved with a new idle deadline (and its cookie re-sent).
async fn renew(session: &Session, sign_in: String, now: i64) {
    let renewed = AuthState::SignedIn {
        sign_in,
        renewed_at: now,
    };
    if let Err(error) = session.insert(AUTH_KEY, renewed).await {
        tracing::warn!(%error, "could not renew the session");
    }
}

/// Who is signed in on this session. `Ok(None)`: nobody. `Err(SessionEnded)`: the IdP ended
/// the session since the last request (shown once, then the session is anonymous).
pub async fn current_viewer(state: &AppState, session: &Session) -> Result<Option<Viewer>, AppError> {
    let (sign_in_id, renewed_at) = match read_state(session).await? {
        Some(AuthState::SignedIn { sign_in, renewed_at }) => (sign_in, renewed_at),
        Some(AuthState::Ended) => return Err(AppError::SessionEnded),
        Some(AuthState::Pending { .. }) | None => return Ok(None),
    };
    let row = state.sign_ins.get(&sign_in_id).await.map_err(database_error)?;
    let Some(row) = row else {
        // Signed out elsewhere (another instance, back-channel logout).
        forget(session, false).await;
        return Ok(None);
    };
    let now = now();
    if row.created_at + state.config.session_absolute.as_secs() as i64 <= now {
        let _ = state.sign_ins.delete(&row.id).await;
        forget(session, true).await;
        return Err(AppError::SessionEnded);
    }
    match ensure_fresh(state, row, now).await {
        Ok(row) => {
            if now - renewed_at >= idle_renewal_seconds(state.config.session_idle) {
                renew(session, sign_in_id, now).await;
            }
            Ok(Some(Viewer {
                sub: row.sub.clone(),
                name: row.name.clone(),
                scopes: row.scope_list(),
            }))
        }
        Err(AppError::SessionEnded) => {
            forget(session, true).await;
            Err(AppError::SessionEnded)
        }
        Err(other) => Err(other),
    }
}

/// What a refresh attempt decided.
enum Outcome {
    /// Fresh enough, or the IdP is briefly down while the token still works: use as is.
    Current(SignInRow),
    /// New tokens: store them.
    Refreshed(SignInRow),
    /// The IdP refused (or the tokens cannot be read): the sign-in is over.
    Ended,
    /// The token expired and the IdP cannot be reached.
    Unavailable,
}

/// Refreshes the access token when it is about to expire. One refresh at a time per sign-in:
/// an in-process lock, and with Postgres a row lock (`SELECT … FOR UPDATE`) held across the
/// refresh, so two instances never redeem the same refresh token.
async fn ensure_fresh(state: &AppState, row: Arc<SignInRow>, now: i64) -> Result<Arc<SignInRow>, AppError> {
    if row.access_expires_at - REFRESH_MARGIN_SECONDS > now {
        return Ok(row);
    }
    let _guard = state.refresh_locks.lock(&row.id).await;
    let outcome = match &state.db {
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(database_error)?;
            let locked = sign_ins::get_for_update(&mut tx, &row.id)
                .await
                .map_err(database_error)?;
            // Another instance may have refreshed while we waited for the lock.
            let outcome = match locked {
                Some(row) => refresh(state, row, now).await,
                None => Outcome::Ended,
            };
            match &outcome {
                Outcome::Refreshed(row) => sign_ins::update_tokens_in(&mut tx, row).await,
                Outcome::Ended => sign_ins::delete_in(&mut tx, &row.id).await,
                _ => Ok(()),
            }
            .map_err(database_error)?;
            tx.commit().await.map_err(database_error)?;
            outcome
        }
        Db::Sqlite(_) => {
            let outcome = match state.sign_ins.get(&row.id).await.map_err(database_error)? {
                Some(row) => refresh(state, Arc::unwrap_or_clone(row), now).await,
                None => Outcome::Ended,
            };
            match &outcome {
                Outcome::Refreshed(row) => state.sign_ins.update_tokens(row).await,
                Outcome::Ended => state.sign_ins.delete(&row.id).await,
                _ => Ok(()),
            }
            .map_err(database_error)?;
            outcome
        }
    };
    match outcome {
        Outcome::Current(row) | Outcome::Refreshed(row) => Ok(Arc::new(row)),
        Outcome::Ended => Err(AppError::SessionEnded),
        Outcome::Unavailable => Err(AppError::Unavailable),
    }
}

/// Asks the IdP for new tokens if `row` (just re-read under the lock) still needs them.
async fn refresh(state: &AppState, mut row: SignInRow, now: i64) -> Outcome {
    if row.access_expires_at - REFRESH_MARGIN_SECONDS > now {
        return Outcome::Current(row);
    }
    let Some(tokens) = row.tokens(&state.sealer) else {
        // Sealed with a key we no longer have.
        return Outcome::Ended;
    };
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return if row.access_expires_at > now {
            Outcome::Current(row)
        } else {
            Outcome::Ended
        };
    };
    match state.oidc.refresh(&refresh_token).await {
        Ok(refreshed) => {
            let mut tokens_now = refreshed.tokens;
            if tokens_now.id_token.is_none() {
                tokens_now.id_token = tokens.id_token;
            }
            if let Some(scopes) = refreshed.scopes {
                row.scopes = scopes.join(" ");
            }
            row.sealed_tokens = seal_tokens(&state.sealer, &row.id, &tokens_now);
            row.access_expires_at = now + refreshed.expires_in.map(|d| d.as_secs() as i64).unwrap_or(300);
            row.refreshed_at = now;
            tracing::info!(sign_in = %short(&row.id), "access token refreshed");
            Outcome::Refreshed(row)
        }
        Err(OidcError::InvalidGrant) => {
            tracing::info!(sign_in = %short(&row.id), "refresh refused by the IdP; session ended");
            Outcome::Ended
        }
        Err(error) if row.access_expires_at > now => {
            // The IdP is briefly unreachable but the token is still valid: carry on.
            tracing::warn!(%error, "refresh failed; using the current token until it expires");
            Outcome::Current(row)
        }
        Err(error) => {
            tracing::warn!(%error, "refresh failed and the token has expired");
            Outcome::Unavailable
        }
    }
}

/// A prefix of an identifier, enough to correlate log lines without revealing it.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub fn database_error(error: sqlx::Error) -> AppError {
    tracing::error!(%error, "database error");
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => AppError::Unavailable,
        _ => AppError::Internal,
    }
}

/// One async lock per sign-in, so concurrent requests do not refresh the same tokens twice.
#[derive(Default)]
pub struct RefreshLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl RefreshLocks {
    pub async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > 1024 {
                locks.retain(|_, weak| weak.strong_count() > 0);
            }
            match locks.get(id).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(id.to_string(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_relative_paths_are_kept() {
        assert_eq!(safe_return_to(Some("/issues?x=1")), "/issues?x=1");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/auth/login",
            "issues",
        ] {
            assert_eq!(safe_return_to(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
