//! `sign_ins`: one row per signed-in browser session, shared by every app instance through the
//! database. The tower-sessions record holds only the row id; tokens are sealed here.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::on_db;
use crate::server::db::Db;
use crate::server::local_cache::LocalCache;
use crate::server::seal::Sealer;

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
}

impl SignInRow {
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
}

pub fn seal_tokens(sealer: &Sealer, id: &str, tokens: &Tokens) -> String {
    let json = serde_json::to_vec(tokens).unwrap_or_default();
    sealer.seal(id, &json)
}

const COLUMNS: &str = "id, sub, sid, name, scopes, sealed_tokens, access_expires_at, created_at, refreshed_at";

/// The `sign_ins` table, with a write-through copy in memory when the database is the embedded
/// SQLite one (see [`LocalCache`]).
pub struct SignIns {
    db: Db,
    cache: Option<LocalCache<String, Arc<SignInRow>>>,
}

/// Sign-ins kept in memory at most; more are read from the database.
const CACHED_SIGN_INS: usize = 10_000;

impl SignIns {
    pub fn new(db: Db) -> Self {
        let cache = matches!(db, Db::Sqlite(_)).then(|| LocalCache::new(CACHED_SIGN_INS));
        Self { db, cache }
    }

    /// After a write to the database: the copy follows.
    fn written(&self, row: &SignInRow) {
        if let Some(cache) = &self.cache {
            cache.put(row.id.clone(), Arc::new(row.clone()), |_| true);
        }
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
        let sql = format!("SELECT {COLUMNS} FROM sign_ins WHERE id = $1");
        let row: Option<SignInRow> = on_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        let row = row.map(Arc::new);
        if let (Some(cache), Some(before), Some(row)) = (&self.cache, before, &row) {
            cache.fill(before, key, row.clone(), |_| true);
        }
        Ok(row)
    }

    pub async fn insert(&self, row: &SignInRow) -> Result<(), sqlx::Error> {
        let sql = format!("INSERT INTO sign_ins ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
        on_db!(&self.db, |pool| {
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
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        self.written(row);
        Ok(())
    }

    pub async fn update_tokens(&self, row: &SignInRow) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |pool| {
            sqlx::query(UPDATE_TOKENS)
                .bind(&row.id)
                .bind(&row.scopes)
                .bind(&row.sealed_tokens)
                .bind(row.access_expires_at)
                .bind(row.refreshed_at)
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        self.written(row);
        Ok(())
    }

    pub async fn delete(&self, id: &str) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |pool| {
            sqlx::query(DELETE)
                .bind(id)
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        if let Some(cache) = &self.cache {
            cache.remove(&id.to_string());
        }
        Ok(())
    }

    /// Back-channel logout: every sign-in of an IdP session (`sid`) or of a user (`sub`).
    pub async fn delete_by_sid_or_sub(&self, sid: Option<&str>, sub: Option<&str>) -> Result<u64, sqlx::Error> {
        let ended = on_db!(&self.db, |pool| {
            sqlx::query(
                "DELETE FROM sign_ins WHERE ($1 IS NOT NULL AND sid = $1) OR ($1 IS NULL AND $2 IS NOT NULL AND sub = $2)",
            )
            .bind(sid)
            .bind(sub)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if let Some(cache) = &self.cache {
            cache.retain(|_, row| match (sid, sub) {
                (Some(sid), _) => row.sid.as_deref() != Some(sid),
                (None, Some(sub)) => row.sub != sub,
                (None, None) => true,
            });
        }
        Ok(ended)
    }
}

const UPDATE_TOKENS: &str =
    "UPDATE sign_ins SET scopes = $2, sealed_tokens = $3, access_expires_at = $4, refreshed_at = $5 WHERE id = $1";
const DELETE: &str = "DELETE FROM sign_ins WHERE id = $1";

/// Postgres (never cached): reads the row and locks it until the transaction ends (other instances wait).
pub async fn get_for_update(tx: &mut sqlx::PgConnection, id: &str) -> Result<Option<SignInRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM sign_ins WHERE id = $1 FOR UPDATE");
    sqlx::query_as(&sql).bind(id).fetch_optional(tx).await
}

pub async fn update_tokens_in(tx: &mut sqlx::PgConnection, row: &SignInRow) -> Result<(), sqlx::Error> {
    sqlx::query(UPDATE_TOKENS)
        .bind(&row.id)
        .bind(&row.scopes)
        .bind(&row.sealed_tokens)
        .bind(row.access_expires_at)
        .bind(row.refreshed_at)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn delete_in(tx: &mut sqlx::PgConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(DELETE).bind(id).execute(tx).await?;
    Ok(())
}
