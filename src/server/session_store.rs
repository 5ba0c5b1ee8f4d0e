//! The tower-sessions store on whichever database the app uses.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::server::db::Db;

#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Store {
    pub async fn for_db(db: &Db) -> Result<Self, sqlx::Error> {
        let store = match db {
            Db::Sqlite(pool) => Self::Sqlite(SqliteStore::new(pool.clone())),
            Db::Postgres(pool) => Self::Postgres(PostgresStore::new(pool.clone())),
        };
        match &store {
            Self::Sqlite(s) => s.migrate().await?,
            Self::Postgres(s) => s.migrate().await?,
        }
        Ok(store)
    }
}

macro_rules! delegate {
    ($self:ident, |$store:ident| $body:expr) => {
        match $self {
            Store::Sqlite($store) => $body,
            Store::Postgres($store) => $body,
        }
    };
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        delegate!(self, |store| store.create(record).await)
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        delegate!(self, |store| store.save(record).await)
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        delegate!(self, |store| store.load(id).await)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        delegate!(self, |store| store.delete(id).await)
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        delegate!(self, |store| store.delete_expired().await)
    }
}
