//! `sign_ins`: one row per signed-in browser session, shared by every app instance through the
//! database. The session record holds only the row id; the provider's tokens are sealed here.
//!
//! The storage difference lives here and nowhere above: with the embedded SQLite database this
//! process is the only writer (enforced at start-up), so a write-through copy in memory is exact
//! and an in-process lock makes a refresh exclusive; with PostgreSQL other instances write too,
//! so nothing is cached and a row lock (`SELECT … FOR UPDATE`) makes it exclusive.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::on_db;
use crate::server::storage::db::Db;
use crate::server::storage::keyed_locks::KeyedLocks;
use crate::server::storage::local_cache::LocalCache;
use crate::server::support::detach::detached;
use crate::server::support::random::RandomUnavailable;
use crate::server::support::seal::Sealer;

/// The IdP's tokens for one sign-in. Never logged, never sent to the browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([redacted])")
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignInRow {
    pub id: String,
    pub sub: String,
    pub sid: Option<String>,
    pub name: String,
    pub scopes: String,
    pub sealed_tokens: String,
    pub access_expires_at: i64,
    pub created_at: i64,
    pub refreshed_at: i64,
    /// The session's idle deadline: past it (or past the absolute one) the row is purged.
    pub expires_at: i64,
    /// The browser's `User-Agent` at sign-in (at most 256 characters), to tell sessions apart.
    pub user_agent: String,
    /// When the person authenticated at the provider (the ID token's `auth_time`); a refresh
    /// keeps it.
    pub auth_time: Option<i64>,
}

impl SignInRow {
    /// The signed-in user, as access decisions see them.
    pub fn viewer(&self) -> crate::access::Viewer {
        crate::access::Viewer {
            sub: self.sub.clone(),
            name: self.name.clone(),
            scopes: self.scope_list(),
            client_id: None,
            auth_time: self.auth_time,
        }
    }

    pub fn scope_list(&self) -> Vec<String> {
        self.scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn tokens(&self, sealer: &Sealer) -> Option<Tokens> {
        let plain = sealer.open(&self.id, &self.sealed_tokens)?;
        serde_json::from_slice(&plain).ok()
    }

    /// Seals `tokens` into this row (bound to its id).
    pub fn seal_tokens(&mut self, sealer: &Sealer, tokens: &Tokens) -> Result<(), RandomUnavailable> {
        let json = serde_json::to_vec(tokens).map_err(|_| RandomUnavailable)?;
        self.sealed_tokens = sealer.seal(&self.id, &json)?;
        Ok(())
    }
}

/// What a refresh decided, for [`SignIns::refresh_exclusively`] to store.
pub enum Refresh {
    /// Nothing to write: the row as it is (fresh enough, or the provider briefly down).
    Keep(SignInRow),
    /// New tokens: store them.
    Replace(SignInRow),
    /// The provider refused: the sign-in is over.
    End,
    /// The token expired and the provider cannot be reached: nothing to write.
    Unavailable,
}

/// What [`SignIns::refresh_exclusively`] stored.
pub enum Refreshed {
    Current(Arc<SignInRow>),
    /// Ended here, or meanwhile elsewhere (a sign-out): it stays ended.
    Ended,
    Unavailable,
}

const COLUMNS: &str = "id, sub, sid, name, scopes, sealed_tokens, access_expires_at, created_at, refreshed_at, expires_at, user_agent, auth_time";
const UPDATE_TOKENS: &str =
    "UPDATE sign_ins SET scopes = $2, sealed_tokens = $3, access_expires_at = $4, refreshed_at = $5 WHERE id = $1";
const DELETE: &str = "DELETE FROM sign_ins WHERE id = $1";

/// Sign-ins kept in memory at most (SQLite); more are read from the database.
const CACHED_SIGN_INS: usize = 10_000;
/// Sign-ins purged per round of [`SignIns::ended`].
const PURGE_BATCH: i64 = 500;

/// Cheap to clone: writes run detached (see [`detached`]) with a handle of their own.
#[derive(Clone)]
pub struct SignIns {
    db: Db,
    /// `Some` exactly when this process is the database's only writer.
    cache: Option<Arc<LocalCache<String, Arc<SignInRow>>>>,
    /// Held by every insert, refresh and delete of a sign-in in this process: a sign-out waits
    /// for a refresh in flight instead of racing it, two requests never refresh the same
    /// tokens, and the copy in memory follows the database in order.
    locks: Arc<KeyedLocks<String>>,
    /// PostgreSQL: a refresh holds a connection (and the row lock) while the provider answers;
    /// at most half the pool does, so slow refreshes cannot starve every other request.
    refreshes: Option<Arc<tokio::sync::Semaphore>>,
}

impl SignIns {
    pub fn new(db: Db) -> Self {
        let cache = db.single_writer().then(|| Arc::new(LocalCache::new(CACHED_SIGN_INS)));
        let refreshes = match &db {
            Db::Postgres(pool) => {
                let half = (pool.options().get_max_connections() / 2).max(1);
                Some(Arc::new(tokio::sync::Semaphore::new(half as usize)))
            }
            Db::Sqlite(_) => None,
        };
        Self {
            db,
            cache,
            locks: Arc::default(),
            refreshes,
        }
    }

    /// How many sign-ins are live (one per signed-in session).
    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        // Counted up to a million: a scrape's cost does not grow without bound.
        crate::on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM sign_ins LIMIT 1000000) AS counted"
        )
        .fetch_one(pool)
        .await)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<SignInRow>>, sqlx::Error> {
        let key = id.to_string();
        let before = match &self.cache {
            Some(cache) => match cache.get(&key) {
                Some(row) => return Ok(Some(row)),
                None => Some(cache.generation()),
            },
            None => None,
        };
        let row = select(&self.db, id).await?.map(Arc::new);
        if let (Some(cache), Some(before), Some(row)) = (&self.cache, before, &row) {
            cache.fill(before, key, row.clone(), |_| true);
        }
        Ok(row)
    }

    pub async fn insert(&self, row: &SignInRow) -> Result<(), sqlx::Error> {
        let (this, row) = (self.clone(), row.clone());
        detached(async move {
            let _guard = this.locks.lock(&row.id).await;
            let sql =
                format!("INSERT INTO sign_ins ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
            on_db!(&this.db, |pool| {
                sqlx::query(&sql)
                    .bind(&row.id)
                    .bind(&row.sub)
                    .bind(&row.sid)
                    .bind(&row.name)
                    .bind(&row.scopes)
                    .bind(&row.sealed_tokens)
                    .bind(row.access_expires_at)
                    .bind(row.created_at)
                    .bind(row.refreshed_at)
                    .bind(row.expires_at)
                    .bind(&row.user_agent)
                    .bind(row.auth_time)
                    .execute(pool)
                    .await
                    .map(|result| result.rows_affected())
            })?;
            if let Some(cache) = &this.cache {
                cache.put(row.id.clone(), Arc::new(row), |_| true);
            }
            Ok(())
        })
        .await
        .map_err(task_failed)?
    }

    /// Pushes the idle deadline back (with the session's own renewal). Only the purge reads
    /// the deadline, from the database; the copy in memory is dropped to stay exact.
    pub async fn extend(&self, id: &str, expires_at: i64) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE sign_ins SET expires_at = $2 WHERE id = $1")
                .bind(id)
                .bind(expires_at)
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        self.forget(id);
        Ok(())
    }

    /// Deletes the sign-in; answers the row it was, so its tokens can be revoked.
    pub async fn delete(&self, id: &str) -> Result<Option<SignInRow>, sqlx::Error> {
        let (this, id) = (self.clone(), id.to_string());
        detached(async move {
            let _guard = this.locks.lock(&id).await;
            let sql = format!("{DELETE} RETURNING {COLUMNS}");
            let deleted: Option<SignInRow> = on_db!(&this.db, |pool| sqlx::query_as(&sql)
                .bind(&id)
                .fetch_optional(pool)
                .await)?;
            this.forget(&id);
            Ok(deleted)
        })
        .await
        .map_err(task_failed)?
    }

    /// The live sign-ins of one user (one per signed-in browser): not past their idle deadline
    /// (`now`) nor created before `created_after` (the absolute one); newest first, at most 50.
    pub async fn of_subject(&self, sub: &str, now: i64, created_after: i64) -> Result<Vec<SignInRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sign_ins WHERE sub = $1 AND expires_at > $2 AND created_at > $3 \
             ORDER BY created_at DESC, id LIMIT 50"
        );
        on_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(sub)
            .bind(now)
            .bind(created_after)
            .fetch_all(pool)
            .await)
    }

    /// Deletes every sign-in of one user (sign out everywhere); answers the rows they were, so
    /// their refresh tokens can be revoked. Each is deleted as [`SignIns::delete`] does, after
    /// any refresh in flight: the tokens answered are the ones the provider last issued.
    pub async fn delete_of_subject(&self, sub: &str) -> Result<Vec<SignInRow>, sqlx::Error> {
        let ids: Vec<String> = on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM sign_ins WHERE sub = $1"
        )
        .bind(sub)
        .fetch_all(pool)
        .await)?;
        let mut ended = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = self.delete(&id).await? {
                ended.push(row);
            }
        }
        Ok(ended)
    }

    /// Back-channel logout: every sign-in of an IdP session (`sid`) or of a user (`sub`).
    pub async fn delete_by_sid_or_sub(&self, sid: Option<&str>, sub: Option<&str>) -> Result<u64, sqlx::Error> {
        let this = self.clone();
        let (sid, sub) = (sid.map(str::to_string), sub.map(str::to_string));
        detached(async move {
            let ended: Vec<String> = on_db!(&this.db, |pool| sqlx::query_scalar(
                "DELETE FROM sign_ins WHERE ($1 IS NOT NULL AND sid = $1) OR ($1 IS NULL AND $2 IS NOT NULL AND sub = $2) RETURNING id",
            )
            .bind(&sid)
            .bind(&sub)
            .fetch_all(pool)
            .await)?;
            for id in &ended {
                this.forget(id);
            }
            // Again once a refresh in flight has stored (and copied) what it got.
            for id in &ended {
                let _guard = this.locks.lock(id).await;
                this.forget(id);
            }
            Ok(ended.len() as u64)
        })
        .await
        .map_err(task_failed)?
    }

    /// Sign-ins whose session ended by `now`: idle past `expires_at`, or created before
    /// `created_before` (the absolute timeout). At most a batch per call.
    pub async fn ended(&self, now: i64, created_before: i64) -> Result<Vec<String>, sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM sign_ins WHERE expires_at <= $1 OR created_at <= $2 ORDER BY expires_at LIMIT $3"
        )
        .bind(now)
        .bind(created_before)
        .bind(PURGE_BATCH)
        .fetch_all(pool)
        .await)
    }

    /// Runs `refresh` on the current row with no other refresh, update or delete of the same
    /// sign-in running anywhere meanwhile, and stores what it decided. A sign-in deleted
    /// while the refresh waited on the provider stays deleted.
    pub async fn refresh_exclusively(
        &self,
        id: &str,
        refresh: impl AsyncFnOnce(SignInRow) -> Refresh,
    ) -> Result<Refreshed, sqlx::Error> {
        let _guard = self.locks.lock(&id.to_string()).await;
        match &self.db {
            Db::Postgres(pool) => {
                let _permit = match &self.refreshes {
                    Some(refreshes) => Some(refreshes.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?),
                    None => None,
                };
                let mut tx = pool.begin().await?;
                let sql = format!("SELECT {COLUMNS} FROM sign_ins WHERE id = $1 FOR UPDATE");
                let locked: Option<SignInRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&mut *tx).await?;
                let Some(row) = locked else {
                    return Ok(Refreshed::Ended);
                };
                let outcome = match refresh(row).await {
                    Refresh::Keep(row) => Refreshed::Current(Arc::new(row)),
                    Refresh::Replace(row) => {
                        sqlx::query(UPDATE_TOKENS)
                            .bind(&row.id)
                            .bind(&row.scopes)
                            .bind(&row.sealed_tokens)
                            .bind(row.access_expires_at)
                            .bind(row.refreshed_at)
                            .execute(&mut *tx)
                            .await?;
                        Refreshed::Current(Arc::new(row))
                    }
                    Refresh::End => {
                        sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
                        Refreshed::Ended
                    }
                    Refresh::Unavailable => Refreshed::Unavailable,
                };
                tx.commit().await?;
                Ok(outcome)
            }
            Db::Sqlite(pool) => {
                // Every write of the tokens takes the lock held here: the row read is current.
                let Some(row) = self.get(id).await? else {
                    return Ok(Refreshed::Ended);
                };
                match refresh(Arc::unwrap_or_clone(row)).await {
                    Refresh::Keep(row) => Ok(Refreshed::Current(Arc::new(row))),
                    Refresh::Replace(row) => {
                        // Deleted meanwhile (a back-channel logout): it stays deleted, and no
                        // copy brings it back. Otherwise the row as stored now is copied.
                        let sql = format!("{UPDATE_TOKENS} RETURNING {COLUMNS}");
                        let stored: Option<SignInRow> = sqlx::query_as(&sql)
                            .bind(&row.id)
                            .bind(&row.scopes)
                            .bind(&row.sealed_tokens)
                            .bind(row.access_expires_at)
                            .bind(row.refreshed_at)
                            .fetch_optional(pool)
                            .await?;
                        let Some(stored) = stored else {
                            self.forget(id);
                            return Ok(Refreshed::Ended);
                        };
                        let stored = Arc::new(stored);
                        if let Some(cache) = &self.cache {
                            cache.put(id.to_string(), stored.clone(), |_| true);
                        }
                        Ok(Refreshed::Current(stored))
                    }
                    Refresh::End => {
                        sqlx::query(DELETE).bind(id).execute(pool).await?;
                        self.forget(id);
                        Ok(Refreshed::Ended)
                    }
                    Refresh::Unavailable => Ok(Refreshed::Unavailable),
                }
            }
        }
    }

    /// Drops the in-memory copy, after a write to the database.
    fn forget(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.remove(&id.to_string());
        }
    }
}

fn task_failed(error: tokio::task::JoinError) -> sqlx::Error {
    sqlx::Error::Protocol(format!("a sign-in write did not finish: {error}"))
}

async fn select(db: &Db, id: &str) -> Result<Option<SignInRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM sign_ins WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}
