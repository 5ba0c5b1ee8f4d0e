//! Issue storage: list newest first with keyset pagination, create. The same SQL on both
//! backends.

use std::sync::Arc;

use serde_json::value::RawValue;

use crate::model::{Issue, IssuePage, NewIssue, PAGE_SIZE, SharedPage};
use crate::on_db;
use crate::server::db::Db;
use crate::server::local_cache::LocalCache;

const COLUMNS: &str = "id, title, description, author_sub, author_name, created_at";

pub async fn list(db: &Db, before: Option<i64>, limit: i64) -> Result<IssuePage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let before = before.unwrap_or(i64::MAX);
    let sql = format!("SELECT {COLUMNS} FROM issues WHERE id < $1 ORDER BY id DESC LIMIT $2");
    let mut issues: Vec<Issue> = on_db!(db, |pool| {
        sqlx::query_as(&sql).bind(before).bind(limit + 1).fetch_all(pool).await
    })?;
    let next_before = if issues.len() as i64 > limit {
        issues.truncate(limit as usize);
        issues.last().map(|issue| issue.id)
    } else {
        None
    };
    Ok(IssuePage { issues, next_before })
}

/// The newest page, kept in memory with the embedded SQLite database, where this process is the
/// only writer: every create here invalidates it (see [`LocalCache`]). With Postgres other
/// instances write too, so nothing is cached.
pub type FirstPageCache = LocalCache<(), CachedPage>;

pub fn first_page_cache() -> FirstPageCache {
    LocalCache::new(1)
}

/// A page and its JSON, serialized once (for the REST API's body and the server function's).
#[derive(Clone)]
pub struct CachedPage {
    pub page: Arc<IssuePage>,
    pub json: bytes::Bytes,
    raw: Arc<Box<RawValue>>,
}

impl CachedPage {
    fn new(page: IssuePage) -> Self {
        let text = serde_json::to_string(&page).unwrap_or_else(|_| "null".into());
        let json = bytes::Bytes::copy_from_slice(text.as_bytes());
        let raw = RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned());
        Self {
            page: Arc::new(page),
            json,
            raw: Arc::new(raw),
        }
    }

    pub fn shared(&self) -> SharedPage {
        SharedPage::with_json(self.page.clone(), self.raw.clone())
    }
}

/// Lists issues, serving the default first page from the cache where that is exact.
pub async fn list_cached(
    db: &Db,
    cache: &FirstPageCache,
    before: Option<i64>,
    limit: i64,
) -> Result<CachedPage, sqlx::Error> {
    let cacheable = before.is_none() && limit == PAGE_SIZE && matches!(db, Db::Sqlite(_));
    if !cacheable {
        return list(db, before, limit).await.map(CachedPage::new);
    }
    let before = match cache.get(&()) {
        Some(page) => return Ok(page),
        None => cache.generation(),
    };
    let page = CachedPage::new(list(db, None, PAGE_SIZE).await?);
    cache.fill(before, (), page.clone(), |_| true);
    Ok(page)
}

pub async fn create_and_invalidate(
    db: &Db,
    cache: &FirstPageCache,
    issue: &NewIssue,
    author_sub: &str,
    author_name: &str,
    now_ms: i64,
) -> Result<Issue, sqlx::Error> {
    let created = create(db, issue, author_sub, author_name, now_ms).await;
    cache.remove(&());
    created
}

pub async fn create(
    db: &Db,
    issue: &NewIssue,
    author_sub: &str,
    author_name: &str,
    now_ms: i64,
) -> Result<Issue, sqlx::Error> {
    let sql = format!(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    );
    on_db!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(&issue.title)
            .bind(&issue.description)
            .bind(author_sub)
            .bind(author_name)
            .bind(now_ms)
            .fetch_one(pool)
            .await
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM issues WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM issues")
        .fetch_one(pool)
        .await)
}
