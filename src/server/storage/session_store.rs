//! The tower-sessions store, over the app's own table `sessions` (created by its migrations).
//! What it keeps at rest is private and final:
//! - a session is stored under a keyed hash of its id, never the cookie's value itself, so a
//!   copy of the database does not hand out live sessions;
//! - a record is only ever created by `create`: a save is an update of an existing, unexpired
//!   record, so a save for a record that is gone (signed out or expired while a request was in
//!   flight) changes nothing instead of bringing it back.
//!
//! A row is the stored id (`Id::to_string()` of the keyed hash), the record encoded with
//! MessagePack (`rmp_serde`, under its stored id) and its deadline in unix seconds, by which
//! loads, saves and the clean-up tell an expired record.
//!
//! With the embedded SQLite database, where this process is the only writer, a write-through
//! copy of the records is kept in memory (exact), so reading the session costs no round trip
//! (nor a hash: the copy in this process's memory is keyed by the session id itself).

use std::sync::Arc;

use async_trait::async_trait;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::server::storage::db::Db;
use crate::server::storage::keyed_locks::KeyedLocks;
use crate::server::storage::local_cache::LocalCache;
use crate::server::support::detach::detached;
use crate::server::support::seal::Sealer;

/// Sessions kept in memory at most; more are read from the database.
const CACHED_SESSIONS: usize = 10_000;

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    db: Db,
    sealer: Arc<Sealer>,
}

/// Chosen once, from whether this process is the database's only writer.
#[derive(Clone)]
enum Backend {
    /// SQLite: copied in memory by session id; creates, saves and deletes of one session take
    /// its lock, so the copy follows the database in order.
    Cached(Arc<LocalCache<Id, Record>>, Arc<KeyedLocks<Id>>),
    Shared,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::Cached(..) => "Store(single writer, cached)",
            Backend::Shared => "Store(shared)",
        })
    }
}

fn task_failed(error: tokio::task::JoinError) -> session_store::Error {
    session_store::Error::Backend(format!("a session write did not finish: {error}"))
}

fn backend_failed(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn unexpired(record: &Record) -> bool {
    record.expiry_date > OffsetDateTime::now_utc()
}

/// Now, as the `expiry_date` column counts: unix seconds.
fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl Store {
    /// The table is the app's migrations' (`Db::migrate`, run at start-up before this).
    pub fn new(db: &Db, sealer: Arc<Sealer>) -> Self {
        let backend = match db.single_writer() {
            true => Backend::Cached(Arc::new(LocalCache::new(CACHED_SESSIONS)), Arc::default()),
            false => Backend::Shared,
        };
        Self {
            backend,
            db: db.clone(),
            sealer,
        }
    }

    /// The id a session is stored under: a keyed hash of the cookie's id.
    fn stored_id(&self, id: &Id) -> Id {
        let hash = self.sealer.keyed_hash(&id.0.to_le_bytes());
        let mut half = [0u8; 16];
        half.copy_from_slice(&hash[..16]);
        Id(i128::from_le_bytes(half))
    }

    /// `record` as stored: under its stored id, encoded; with its row's id and deadline.
    fn at_rest(&self, record: &Record) -> session_store::Result<(String, Vec<u8>, i64)> {
        let stored = Record {
            id: self.stored_id(&record.id),
            ..record.clone()
        };
        let data = rmp_serde::to_vec(&stored).map_err(|error| session_store::Error::Encode(error.to_string()))?;
        // Whole seconds, rounded up: the database never ends a session before its deadline.
        let expiry = stored.expiry_date.unix_timestamp() + i64::from(stored.expiry_date.nanosecond() > 0);
        Ok((stored.id.to_string(), data, expiry))
    }

    /// The record from the database if it is there and unexpired, with the session's own id.
    async fn load_from_database(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let stored = self.stored_id(id).to_string();
        let now = unix_now();
        let data = crate::on_db!(&self.db, |pool| sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT data FROM sessions WHERE id = $1 AND expiry_date > $2"
        )
        .bind(&stored)
        .bind(now)
        .fetch_optional(pool)
        .await)
        .map_err(backend_failed)?;
        let Some(data) = data else {
            return Ok(None);
        };
        let record: Record =
            rmp_serde::from_slice(&data).map_err(|error| session_store::Error::Decode(error.to_string()))?;
        Ok(Some(Record { id: *id, ..record }))
    }

    /// Stores `record` as a new record if its stored id is free; answers whether it was.
    async fn insert_new(&self, record: &Record) -> session_store::Result<bool> {
        let (id, data, expiry_date) = self.at_rest(record)?;
        let inserted = crate::on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING"
        )
        .bind(&id)
        .bind(&data)
        .bind(expiry_date)
        .execute(pool)
        .await
        .map(|result| result.rows_affected()))
        .map_err(backend_failed)?;
        Ok(inserted > 0)
    }

    /// Stores `record` as a new record (and, with SQLite, in the copy) under a fresh id: its id
    /// is drawn again until its stored id is free. Answers the id it was stored with.
    async fn create_new(&self, mut record: Record) -> session_store::Result<Id> {
        loop {
            match &self.backend {
                Backend::Cached(cache, locks) => {
                    let _guard = locks.lock(&record.id).await;
                    if self.insert_new(&record).await? {
                        let id = record.id;
                        cache.put(id, record, unexpired);
                        return Ok(id);
                    }
                }
                Backend::Shared => {
                    if self.insert_new(&record).await? {
                        return Ok(record.id);
                    }
                }
            }
            record.id = Id::default();
        }
    }

    /// Overwrites the record if it is still there and unexpired; answers whether it was.
    async fn update_existing(&self, record: &Record) -> session_store::Result<bool> {
        let (id, data, expiry_date) = self.at_rest(record)?;
        let now = unix_now();
        let updated = crate::on_db!(&self.db, |pool| sqlx::query(
            "UPDATE sessions SET data = $1, expiry_date = $2 WHERE id = $3 AND expiry_date > $4"
        )
        .bind(&data)
        .bind(expiry_date)
        .bind(&id)
        .bind(now)
        .execute(pool)
        .await
        .map(|result| result.rows_affected()))
        .map_err(backend_failed)?;
        Ok(updated > 0)
    }

    async fn delete_from_database(&self, id: &Id) -> session_store::Result<()> {
        let stored = self.stored_id(id).to_string();
        crate::on_db!(&self.db, |pool| sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(&stored)
            .execute(pool)
            .await
            .map(drop))
        .map_err(backend_failed)
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id whose stored id is free; the cookie gets `record.id`.
        record.id = match &self.backend {
            Backend::Cached(..) => {
                let (this, fresh) = (self.clone(), record.clone());
                detached(async move { this.create_new(fresh).await })
                    .await
                    .map_err(task_failed)??
            }
            Backend::Shared => self.create_new(record.clone()).await?,
        };
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Cached(cache, locks) => {
                let (this, cache, locks, record) = (self.clone(), cache.clone(), locks.clone(), record.clone());
                detached(async move {
                    let _guard = locks.lock(&record.id).await;
                    if this.update_existing(&record).await? {
                        cache.put(record.id, record, unexpired);
                    } else {
                        cache.remove(&record.id);
                    }
                    Ok(())
                })
                .await
                .map_err(task_failed)?
            }
            // Deleted (signed out) or expired while this request ran: it stays gone.
            Backend::Shared => self.update_existing(record).await.map(|_| ()),
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Backend::Cached(cache, _) = &self.backend else {
            return self.load_from_database(id).await;
        };
        match cache.get(id) {
            Some(record) if unexpired(&record) => Ok(Some(record)),
            Some(_) => {
                cache.remove(id);
                Ok(None)
            }
            None => {
                let before = cache.generation();
                let loaded = self.load_from_database(id).await?;
                if let Some(record) = &loaded {
                    cache.fill(before, *id, record.clone(), unexpired);
                }
                Ok(loaded)
            }
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &self.backend {
            Backend::Cached(cache, locks) => {
                let (this, cache, locks, id) = (self.clone(), cache.clone(), locks.clone(), *id);
                detached(async move {
                    let _guard = locks.lock(&id).await;
                    this.delete_from_database(&id).await?;
                    cache.remove(&id);
                    Ok(())
                })
                .await
                .map_err(task_failed)?
            }
            Backend::Shared => self.delete_from_database(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = unix_now();
        crate::on_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM sessions WHERE expiry_date < $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(drop))
        .map_err(backend_failed)?;
        if let Backend::Cached(cache, _) = &self.backend {
            cache.retain(|_, record| unexpired(record));
        }
        Ok(())
    }
}
