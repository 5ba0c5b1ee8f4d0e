//! The tower-sessions store. What it keeps at rest is private and final:
//! - a session is stored under a keyed hash of its id, never the cookie's value itself, so a
//!   copy of the database does not hand out live sessions;
//! - a record is only ever created by `create`: a save is an update of an existing, unexpired
//!   record, so a save for a record that is gone (signed out or expired while a request was in
//!   flight) changes nothing instead of bringing it back.
//!
//! With the embedded SQLite database, where this process is the only writer, a write-through
//! copy of the records is kept in memory (exact), so reading the session costs no round trip
//! (nor a hash: the copy in this process's memory is keyed by the session id itself).

use std::sync::Arc;

use async_trait::async_trait;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

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
    /// SQLite: copied in memory by session id; saves and deletes of one session take its lock,
    /// so the copy follows the database in order.
    Cached(SqliteStore, Arc<LocalCache<Id, Record>>, Arc<KeyedLocks<Id>>),
    Shared(PostgresStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::Cached(..) => "Store(sqlite, cached)",
            Backend::Shared(_) => "Store(postgres)",
        })
    }
}

fn task_failed(error: tokio::task::JoinError) -> session_store::Error {
    session_store::Error::Backend(format!("a session write did not finish: {error}"))
}

fn unexpired(record: &Record) -> bool {
    record.expiry_date > OffsetDateTime::now_utc()
}

impl Store {
    pub async fn for_db(db: &Db, sealer: Arc<Sealer>) -> Result<Self, sqlx::Error> {
        let backend = match db {
            Db::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Backend::Cached(store, Arc::new(LocalCache::new(CACHED_SESSIONS)), Arc::default())
            }
            Db::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                Backend::Shared(store)
            }
        };
        Ok(Self {
            backend,
            db: db.clone(),
            sealer,
        })
    }

    /// The id a session is stored under: a keyed hash of the cookie's id.
    fn stored_id(&self, id: &Id) -> Id {
        let hash = self.sealer.keyed_hash(&id.0.to_le_bytes());
        let mut half = [0u8; 16];
        half.copy_from_slice(&hash[..16]);
        Id(i128::from_le_bytes(half))
    }

    /// `record` as stored: under its stored id.
    fn at_rest(&self, record: &Record) -> Record {
        Record {
            id: self.stored_id(&record.id),
            ..record.clone()
        }
    }

    /// The record from the database, with the session's own id.
    async fn load_from_database(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let loaded = match &self.backend {
            Backend::Cached(store, ..) => store.load(&self.stored_id(id)).await?,
            Backend::Shared(store) => store.load(&self.stored_id(id)).await?,
        };
        Ok(loaded.map(|record| Record { id: *id, ..record }))
    }

    /// Overwrites the record if it is still there and unexpired; answers whether it was.
    async fn update_existing(&self, record: &Record) -> session_store::Result<bool> {
        let stored = self.at_rest(record);
        let data = rmp_serde::to_vec(&stored).map_err(|error| session_store::Error::Encode(error.to_string()))?;
        let table = match &self.db {
            Db::Sqlite(_) => "tower_sessions",
            Db::Postgres(_) => "\"tower_sessions\".\"session\"",
        };
        let sql = format!("UPDATE {table} SET data = $1, expiry_date = $2 WHERE id = $3 AND expiry_date > $4");
        let id = stored.id.to_string();
        let now = OffsetDateTime::now_utc();
        let updated = crate::on_db!(&self.db, |pool| sqlx::query(&sql)
            .bind(&data)
            .bind(stored.expiry_date)
            .bind(&id)
            .bind(now)
            .execute(pool)
            .await
            .map(|result| result.rows_affected()))
        .map_err(|error| session_store::Error::Backend(error.to_string()))?;
        Ok(updated > 0)
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id whose stored id is free; the cookie gets `record.id`.
        while self.load(&record.id).await?.is_some() {
            record.id = Id::default();
        }
        match &self.backend {
            Backend::Cached(store, cache, locks) => {
                let (this, store, cache, locks, record) = (
                    self.clone(),
                    store.clone(),
                    cache.clone(),
                    locks.clone(),
                    record.clone(),
                );
                detached(async move {
                    let _guard = locks.lock(&record.id).await;
                    store.save(&this.at_rest(&record)).await?;
                    cache.put(record.id, record, unexpired);
                    Ok(())
                })
                .await
                .map_err(task_failed)?
            }
            Backend::Shared(store) => store.save(&self.at_rest(record)).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.backend {
            Backend::Cached(_, cache, locks) => {
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
            Backend::Shared(_) => self.update_existing(record).await.map(|_| ()),
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Backend::Cached(_, cache, _) = &self.backend else {
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
        let stored = self.stored_id(id);
        match &self.backend {
            Backend::Cached(store, cache, locks) => {
                let (store, cache, locks, id) = (store.clone(), cache.clone(), locks.clone(), *id);
                detached(async move {
                    let _guard = locks.lock(&id).await;
                    store.delete(&stored).await?;
                    cache.remove(&id);
                    Ok(())
                })
                .await
                .map_err(task_failed)?
            }
            Backend::Shared(store) => store.delete(&stored).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.backend {
            Backend::Cached(store, cache, _) => {
                store.delete_expired().await?;
                cache.retain(|_, record| unexpired(record));
                Ok(())
            }
            Backend::Shared(store) => store.delete_expired().await,
        }
    }
}
