//! `Sessions`: the sign-in state of a browser session (one key, one enum in the tower-sessions
//! record), resolved to a [`Viewer`], with the provider's tokens refreshed shortly before they
//! expire, and sign-ins ended with their sessions.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::access::Viewer;
use crate::error::AppError;
use crate::model::SessionDeadlines;
use crate::server::auth::bearer::TokenVerifier;
use crate::server::auth::oidc::{Oidc, OidcError, SignedIn};
use crate::server::auth::pending::PendingSignIns;
use crate::server::auth::sign_in_error::SignInError;
use crate::server::ops::metrics;
use crate::server::storage::db::database_error;
use crate::server::storage::sign_ins::{Refresh, Refreshed, SignInRow, SignIns};
use crate::server::support::detach::detached;
use crate::server::support::random;
use crate::server::support::seal::Sealer;

const AUTH_KEY: &str = "auth";
/// Tokens this close to expiry are refreshed before use.
pub const REFRESH_MARGIN_SECONDS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum AuthState {
    /// Signed in: the `sign_ins` row that holds who and the sealed tokens. `renewed_at`: when
    /// the session's idle deadline was last pushed back (see `idle_renewal_seconds`).
    SignedIn {
        sign_in: String,
        #[serde(default)]
        renewed_at: i64,
    },
    /// The IdP ended the session (refresh refused): tell the user once.
    Ended,
    /// Written by versions that kept a sign-in in progress in the session; now it lives in a
    /// cookie of its own. Read as anonymous.
    Pending(serde_json::Value),
}

/// A session's live sign-in, and when its idle deadline was last pushed back.
pub struct Current {
    pub row: Arc<SignInRow>,
    pub renewed_at: i64,
}

/// Cheap to clone: a refresh runs detached with a handle of its own.
#[derive(Clone)]
pub struct Sessions {
    sign_ins: SignIns,
    oidc: Arc<Oidc>,
    tokens: Arc<TokenVerifier>,
    sealer: Arc<Sealer>,
    pending: Arc<PendingSignIns>,
    idle: Duration,
    absolute: Duration,
}

impl Sessions {
    pub fn new(
        sign_ins: SignIns,
        oidc: Arc<Oidc>,
        tokens: Arc<TokenVerifier>,
        sealer: Arc<Sealer>,
        (idle, absolute): (Duration, Duration),
        (secure_cookies, exchanges_per_minute): (bool, u32),
    ) -> Self {
        Self {
            pending: Arc::new(PendingSignIns::new(
                sealer.clone(),
                secure_cookies,
                exchanges_per_minute,
            )),
            sign_ins,
            oidc,
            tokens,
            sealer,
            idle,
            absolute,
        }
    }

    pub fn oidc(&self) -> &Oidc {
        &self.oidc
    }

    /// Signed-in sessions (metrics).
    pub async fn active_count(&self) -> Result<i64, sqlx::Error> {
        self.sign_ins.count().await
    }

    pub fn pending(&self) -> &PendingSignIns {
        &self.pending
    }

    pub fn sign_ins(&self) -> &SignIns {
        &self.sign_ins
    }

    async fn read_state(&self, session: &Session) -> Result<Option<AuthState>, AppError> {
        session.get::<AuthState>(AUTH_KEY).await.map_err(|error| {
            tracing::error!(%error, "session store unavailable");
            AppError::Unavailable
        })
    }

    /// Whether the session holds a live sign-in (no refresh, no renewal).
    /// Who this session is signed in as, read only: no refresh, no renewal (for the record of a
    /// sign-out, say).
    pub async fn signed_in_as(&self, session: &Session) -> Option<Viewer> {
        let Ok(Some(AuthState::SignedIn { sign_in, .. })) = self.read_state(session).await else {
            return None;
        };
        let row = self.sign_ins.get(&sign_in).await.ok().flatten()?;
        Some(row.viewer())
    }

    pub async fn is_signed_in(&self, session: &Session) -> bool {
        match self.read_state(session).await {
            Ok(Some(AuthState::SignedIn { sign_in, .. })) => matches!(self.sign_ins.get(&sign_in).await, Ok(Some(_))),
            _ => false,
        }
    }

    /// Stores the sign-in the provider just confirmed and binds it to the session, under a new
    /// session id (session fixation).
    pub async fn start(
        &self,
        session: &Session,
        signed: SignedIn,
        user_agent: &str,
        now: i64,
    ) -> Result<(), SignInError> {
        let scopes = match signed.scopes {
            Some(scopes) => scopes,
            // The provider did not list the granted scopes: read them from the access token.
            None => match self.tokens.verify_jwt(&signed.tokens.access_token).await {
                Ok((viewer, _)) => viewer.scopes,
                Err(_) => Vec::new(),
            },
        };
        // A new sign-in in a browser already signed in as the same person (refresh my access)
        // keeps the session's start: re-authorizing silently never extends the absolute limit.
        let previous = match session.get::<AuthState>(AUTH_KEY).await {
            Ok(Some(AuthState::SignedIn { sign_in, .. })) => self.sign_ins.get(&sign_in).await.ok().flatten(),
            _ => None,
        };
        let same = previous.filter(|previous| previous.sub == signed.sub);
        let created_at = same.as_ref().map_or(now, |previous| previous.created_at);
        // A provider that does not say when the person authenticated leaves the last time known.
        let auth_time = signed.auth_time.or(same.and_then(|previous| previous.auth_time));
        let mut row = SignInRow {
            id: random::id().map_err(|_| SignInError::Store)?,
            sub: signed.sub,
            sid: signed.sid,
            name: signed.name,
            scopes: scopes.join(" "),
            sealed_tokens: String::new(),
            access_expires_at: now + signed.expires_in.map(|d| d.as_secs() as i64).unwrap_or(300),
            created_at,
            refreshed_at: now,
            expires_at: now + self.idle.as_secs() as i64,
            user_agent: user_agent.chars().filter(|c| !c.is_control()).take(256).collect(),
            auth_time,
        };
        row.seal_tokens(&self.sealer, &signed.tokens)
            .map_err(|_| SignInError::Store)?;
        self.sign_ins.insert(&row).await.map_err(|error| {
            tracing::error!(%error, "could not store the sign-in");
            SignInError::Store
        })?;
        // A second sign-in in the same browser (two tabs) replaces the first.
        if let Ok(Some(AuthState::SignedIn { sign_in, .. })) = session.get::<AuthState>(AUTH_KEY).await
            && let Ok(Some(previous)) = self.sign_ins.delete(&sign_in).await
        {
            self.revoke(&previous).await;
        }
        let bound = async {
            session.cycle_id().await?;
            session
                .insert(
                    AUTH_KEY,
                    AuthState::SignedIn {
                        sign_in: row.id.clone(),
                        renewed_at: now,
                    },
                )
                .await
        };
        if let Err(error) = bound.await {
            tracing::error!(%error, "session store unavailable");
            let _ = self.sign_ins.delete(&row.id).await;
            return Err(SignInError::Store);
        }
        tracing::info!(sign_in = %short(&row.id), "signed in");
        Ok(())
    }

    /// Ends the session, then its sign-in (the refresh token revoked at the provider). Answers
    /// the ID token, for the provider's end-session page. When the store cannot read or delete
    /// the session, nothing is pretended: `NotSignedOut`, and the cookie stays.
    pub async fn end(&self, session: &Session) -> Result<Option<String>, SignInError> {
        let state = session.get::<AuthState>(AUTH_KEY).await.map_err(|error| {
            tracing::error!(%error, "sign-out: session store unavailable");
            SignInError::NotSignedOut
        })?;
        session.flush().await.map_err(|error| {
            tracing::error!(%error, "sign-out: could not delete the session");
            SignInError::NotSignedOut
        })?;
        let Some(AuthState::SignedIn { sign_in, .. }) = state else {
            return Ok(None);
        };
        // The session is gone, so the user is signed out; a sign-in row left behind by a
        // database error is purged with the session's deadline.
        match self.sign_ins.delete(&sign_in).await {
            Ok(Some(row)) => {
                tracing::info!(sign_in = %short(&row.id), "signed out");
                Ok(self.revoke(&row).await)
            }
            Ok(None) => Ok(None),
            Err(error) => {
                tracing::error!(%error, "sign-out: the sign-in is left to the purge");
                Ok(None)
            }
        }
    }

    /// Revokes an ended sign-in's refresh token (best effort); answers its ID token.
    async fn revoke(&self, row: &SignInRow) -> Option<String> {
        let tokens = row.tokens(&self.sealer)?;
        if let Some(refresh_token) = &tokens.refresh_token {
            self.oidc.revoke(refresh_token).await;
        }
        tokens.id_token
    }

    /// Ends the sign-ins whose sessions ended by `now` (idle or absolute timeout) and revokes
    /// their refresh tokens. Answers how many ended.
    pub async fn end_expired(&self, now: i64) -> Result<u64, sqlx::Error> {
        let created_before = now - self.absolute.as_secs() as i64;
        let mut ended = 0;
        loop {
            let ids = self.sign_ins.ended(now, created_before).await?;
            if ids.is_empty() {
                return Ok(ended);
            }
            for id in ids {
                if let Some(row) = self.sign_ins.delete(&id).await? {
                    self.revoke(&row).await;
                    ended += 1;
                }
            }
        }
    }

    async fn forget(&self, session: &Session, ended: bool) {
        let result = if ended {
            session.insert(AUTH_KEY, AuthState::Ended).await
        } else {
            session.remove::<AuthState>(AUTH_KEY).await.map(|_| ())
        };
        if let Err(error) = result {
            tracing::warn!(%error, "could not update the session");
        }
    }

    /// Says "your session ended" once: afterwards the session is simply anonymous.
    pub async fn acknowledge_ended(&self, session: &Session) {
        self.forget(session, false).await;
    }

    /// Who is signed in on this session. `Ok(None)`: nobody. `Err(SessionEnded)`: the IdP ended
    /// the session since the last request (shown once, then the session is anonymous).
    pub async fn viewer(&self, session: &Session, now: i64) -> Result<Option<Viewer>, AppError> {
        Ok(self.signed_in(session, now).await?.map(|current| current.row.viewer()))
    }

    /// This session's sign-in, as [`Sessions::viewer`] resolves it (refreshed and renewed).
    pub async fn signed_in(&self, session: &Session, now: i64) -> Result<Option<Current>, AppError> {
        let (sign_in_id, renewed_at) = match self.read_state(session).await? {
            Some(AuthState::SignedIn { sign_in, renewed_at }) => (sign_in, renewed_at),
            Some(AuthState::Ended) => return Err(AppError::SessionEnded),
            Some(AuthState::Pending(_)) | None => return Ok(None),
        };
        let row = self.sign_ins.get(&sign_in_id).await.map_err(database_error)?;
        let Some(row) = row else {
            // Signed out elsewhere (another instance, back-channel logout).
            self.forget(session, false).await;
            return Ok(None);
        };
        if row.created_at + self.absolute.as_secs() as i64 <= now {
            if let Ok(Some(row)) = self.sign_ins.delete(&row.id).await {
                self.revoke(&row).await;
            }
            self.forget(session, true).await;
            return Err(AppError::SessionEnded);
        }
        let row = match self.ensure_fresh(row, now).await {
            Ok(row) => row,
            Err(AppError::SessionEnded) => {
                self.forget(session, true).await;
                return Err(AppError::SessionEnded);
            }
            Err(other) => return Err(other),
        };
        let renewed_at = if now - renewed_at >= idle_renewal_seconds(self.idle) {
            self.renew(session, &row.id, now).await;
            now
        } else {
            renewed_at
        };
        crate::server::ops::telemetry::note_subject(&row.sub);
        Ok(Some(Current { row, renewed_at }))
    }

    /// When this session ends unless it is used (idle) and at the latest (absolute).
    pub fn deadlines(&self, current: &Current, now: i64) -> SessionDeadlines {
        let absolute_ends_at = current.row.created_at + self.absolute.as_secs() as i64;
        SessionDeadlines {
            now,
            idle_ends_at: (current.renewed_at + self.idle.as_secs() as i64).min(absolute_ends_at),
            absolute_ends_at,
            // Five minutes, or a fifth of a shorter idle timeout.
            warn_before: (self.idle.as_secs() as i64 / 5).min(300),
        }
    }

    /// The deadlines as they stand, without counting this as use: a page asking whether its
    /// session is about to end must not keep it alive. `None`: not signed in (any more).
    pub async fn peek_deadlines(&self, session: &Session, now: i64) -> Result<Option<SessionDeadlines>, AppError> {
        Ok(self
            .peek(session, now)
            .await?
            .map(|current| self.deadlines(&current, now)))
    }

    /// This session's sign-in as it stands, without counting this as use (no refresh, no
    /// renewal): what a live stream checks. `None`: nobody is signed in, or the session is
    /// past its idle deadline.
    pub async fn peek(&self, session: &Session, now: i64) -> Result<Option<Current>, AppError> {
        let Some(AuthState::SignedIn { sign_in, renewed_at }) = self.read_state(session).await? else {
            return Ok(None);
        };
        let row = self.sign_ins.get(&sign_in).await.map_err(database_error)?;
        Ok(self.still(row, renewed_at, now))
    }

    /// The sign-in `current` was, as it is now (its scopes refreshed meanwhile): `None` once it
    /// ended, or once the session is past the idle deadline it had.
    pub async fn recheck(&self, current: &Current, now: i64) -> Result<Option<Current>, AppError> {
        let row = self.sign_ins.get(&current.row.id).await.map_err(database_error)?;
        Ok(self.still(row, current.renewed_at, now))
    }

    fn still(&self, row: Option<Arc<SignInRow>>, renewed_at: i64, now: i64) -> Option<Current> {
        row.map(|row| Current { row, renewed_at })
            .filter(|current| self.deadlines(current, now).idle_ends_at > now)
    }

    /// "Stay signed in": pushes the idle deadline back now (the absolute one stays).
    pub async fn stay(&self, session: &Session, now: i64) -> Result<Option<SessionDeadlines>, AppError> {
        let Some(current) = self.signed_in(session, now).await? else {
            return Ok(None);
        };
        if current.renewed_at != now {
            self.renew(session, &current.row.id, now).await;
        }
        let current = Current {
            renewed_at: now,
            ..current
        };
        Ok(Some(self.deadlines(&current, now)))
    }

    /// A short, stable name for a sign-in that reveals nothing of its id (the profile page's
    /// session list, and "sign out this session").
    pub fn handle(&self, row: &SignInRow) -> String {
        self.opaque(row.id.as_bytes())
    }

    /// 24 hex digits of a keyed hash of `value`: names it without revealing it.
    fn opaque(&self, value: &[u8]) -> String {
        self.sealer.keyed_hash(value)[..12]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// When a sign-in's session was last used (within the renewal granularity).
    pub fn last_seen(&self, row: &SignInRow) -> i64 {
        row.expires_at - self.idle.as_secs() as i64
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// An opaque name for a user's drafts in the browser (a keyed hash of their `sub`).
    pub fn drafts_key(&self, sub: &str) -> String {
        self.opaque(format!("drafts:{sub}").as_bytes())
    }

    /// The user's live sign-ins (not past either deadline), newest first.
    pub async fn of_subject(&self, sub: &str, now: i64) -> Result<Vec<SignInRow>, AppError> {
        let created_after = now - self.absolute.as_secs() as i64;
        self.sign_ins
            .of_subject(sub, now, created_after)
            .await
            .map_err(database_error)
    }

    /// Ends another session of the same user, named by its [`Sessions::handle`], and revokes
    /// its refresh token. Answers whether there was one.
    pub async fn end_other(&self, sub: &str, handle: &str, now: i64) -> Result<bool, AppError> {
        let rows = self.of_subject(sub, now).await?;
        let Some(row) = rows.iter().find(|row| self.handle(row) == handle) else {
            return Ok(false);
        };
        match self.sign_ins.delete(&row.id).await.map_err(database_error)? {
            Some(row) => {
                self.revoke(&row).await;
                tracing::info!(sign_in = %short(&row.id), "signed out by the user from another session");
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Sign out everywhere: every sign-in of the user on every instance (their refresh tokens
    /// revoked), then this session. Answers this session's ID token, for the provider's
    /// end-session page, and how many other sessions ended. When the others cannot be ended,
    /// nothing is pretended: `NotSignedOut`, and this session stays.
    pub async fn end_everywhere(&self, session: &Session, sub: &str) -> Result<(Option<String>, usize), SignInError> {
        let this = match self.read_state(session).await {
            Ok(Some(AuthState::SignedIn { sign_in, .. })) => Some(sign_in),
            Ok(_) => None,
            Err(_) => return Err(SignInError::NotSignedOut),
        };
        let ended = self.sign_ins.delete_of_subject(sub).await.map_err(|error| {
            tracing::error!(%error, "sign out everywhere: could not end the sessions");
            SignInError::NotSignedOut
        })?;
        let mut id_token = None;
        for row in &ended {
            let token = self.revoke(row).await;
            if this.as_deref() == Some(row.id.as_str()) {
                id_token = token;
            }
        }
        // Its sign-in is gone already; now the session itself.
        self.end(session).await?;
        tracing::info!(ended = ended.len(), "signed out everywhere");
        Ok((id_token, ended.len().saturating_sub(1)))
    }

    /// Pushes the idle deadline back: the session record (saved with a new expiry, its cookie
    /// re-sent) and the sign-in row with it.
    async fn renew(&self, session: &Session, sign_in: &str, now: i64) {
        let renewed = AuthState::SignedIn {
            sign_in: sign_in.to_string(),
            renewed_at: now,
        };
        if let Err(error) = session.insert(AUTH_KEY, renewed).await {
            tracing::warn!(%error, "could not renew the session");
        }
        if let Err(error) = self.sign_ins.extend(sign_in, now + self.idle.as_secs() as i64).await {
            tracing::warn!(%error, "could not renew the sign-in");
        }
    }

    /// Refreshes the access token when it is about to expire, one refresh at a time per
    /// sign-in across every instance (see [`SignIns::refresh_exclusively`]). Detached: tokens
    /// the provider has rotated are stored even if the request is dropped meanwhile.
    async fn ensure_fresh(&self, row: Arc<SignInRow>, now: i64) -> Result<Arc<SignInRow>, AppError> {
        if row.access_expires_at - REFRESH_MARGIN_SECONDS > now {
            return Ok(row);
        }
        let this = self.clone();
        let refreshed = detached(async move {
            this.sign_ins
                .refresh_exclusively(&row.id, async |row| this.refresh(row, now).await)
                .await
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "refresh task failed");
            AppError::Internal
        })?
        .map_err(database_error)?;
        match refreshed {
            Refreshed::Current(row) => Ok(row),
            Refreshed::Ended => Err(AppError::SessionEnded),
            Refreshed::Unavailable => Err(AppError::Unavailable),
        }
    }

    /// Asks the IdP for new tokens if `row` (just re-read under the lock) still needs them.
    async fn refresh(&self, mut row: SignInRow, now: i64) -> Refresh {
        if row.access_expires_at - REFRESH_MARGIN_SECONDS > now {
            return Refresh::Keep(row);
        }
        let Some(tokens) = row.tokens(&self.sealer) else {
            // Sealed with a key we no longer have.
            return Refresh::End;
        };
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return if row.access_expires_at > now {
                Refresh::Keep(row)
            } else {
                Refresh::End
            };
        };
        match self.oidc.refresh(&refresh_token).await {
            Ok(refreshed) => {
                let mut tokens_now = refreshed.tokens;
                if tokens_now.id_token.is_none() {
                    tokens_now.id_token = tokens.id_token;
                }
                if let Some(scopes) = refreshed.scopes {
                    row.scopes = scopes.join(" ");
                }
                if row.seal_tokens(&self.sealer, &tokens_now).is_err() {
                    return Refresh::Unavailable;
                }
                row.access_expires_at = now + refreshed.expires_in.map(|d| d.as_secs() as i64).unwrap_or(300);
                row.refreshed_at = now;
                tracing::info!(sign_in = %short(&row.id), "access token refreshed");
                metrics::refresh("ok");
                Refresh::Replace(row)
            }
            Err(OidcError::InvalidGrant) => {
                tracing::info!(sign_in = %short(&row.id), "refresh refused by the IdP; session ended");
                metrics::refresh("refused");
                Refresh::End
            }
            Err(error) if row.access_expires_at > now => {
                // The IdP is briefly unreachable but the token is still valid: carry on.
                tracing::warn!(%error, "refresh failed; using the current token until it expires");
                metrics::refresh("failed");
                Refresh::Keep(row)
            }
            Err(error) => {
                tracing::warn!(%error, "refresh failed and the token has expired");
                metrics::refresh("failed");
                Refresh::Unavailable
            }
        }
    }
}

/// The idle timeout counts from the last save of the session record. Saving on every request
/// would cost a database write per call, so activity pushes the deadline back at most once per
/// 1/60 of the idle timeout (once a minute for an hour), between 1 and 60 seconds.
fn idle_renewal_seconds(idle: Duration) -> i64 {
    (idle.as_secs() as i64 / 60).clamp(1, 60)
}

/// A prefix of an identifier, enough to correlate log lines without revealing it.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
