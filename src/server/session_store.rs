//! The tower-sessions store on whichever database the app uses. With the embedded SQLite
//! database a write-through copy of the records is kept in memory (exact: this process is the
//! only writer), so reading the session costs no database round trip.

use std::sync::Arc;

use async_trait::async_trait;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::server::db::Db;
use crate::server::local_cache::LocalCache;

/// Sessions kept in memory at most; more are read from the database.
const CACHED_SESSIONS: usize = 10_000;

#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore, Arc<LocalCache<Id, Record>>),
    Postgres(PostgresStore),
}

impl Store {
    pub async fn for_db(db: &Db) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Db::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Self::Sqlite(store, Arc::new(LocalCache::new(CACHED_SESSIONS)))
            }
            Db::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                Self::Postgres(store)
            }
        })
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(..) => "Store::Sqlite",
            Self::Postgres(_) => "Store::Postgres",
        })
    }
}

fn unexpired(record: &Record) -> bool {
    record.expiry_date > OffsetDateTime::now_utc()
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store, cache) => {
                store.create(record).await?;
                cache.put(record.id, record.clone(), unexpired);
                Ok(())
            }
            Self::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store, cache) => {
                store.save(record).await?;
                cache.put(record.id, record.clone(), unexpired);
                Ok(())
            }
            Self::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(store, cache) => match cache.get(id) {
                Some(record) if unexpired(&record) => Ok(Some(record)),
                Some(_) => {
                    cache.remove(id);
                    Ok(None)
                }
                None => {
                    let before = cache.generation();
                    let loaded = store.load(id).await?;
                    if let Some(record) = &loaded {
                        cache.fill(before, *id, record.clone(), unexpired);
                    }
                    Ok(loaded)
                }
            },
            Self::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store, cache) => {
                store.delete(id).await?;
                cache.remove(id);
                Ok(())
            }
            Self::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store, cache) => {
                store.delete_expired().await?;
                cache.retain(|_, record| unexpired(record));
                Ok(())
            }
            Self::Postgres(store) => store.delete_expired().await,
        }
    }
}
