//! The issues repository: list newest first with keyset pagination, create, get. The same SQL
//! on both backends. Where this process is the database's only writer (SQLite) it keeps the
//! newest page in memory, exact because every create goes through here (see [`LocalCache`]).

use std::sync::Arc;

use serde_json::value::RawValue;

use crate::model::{Issue, IssuePage, NewIssue, PAGE_SIZE, SharedPage};
use crate::on_db;
use crate::server::db::Db;
use crate::server::local_cache::LocalCache;

const COLUMNS: &str = "id, title, description, author_sub, author_name, created_at";

async fn list(db: &Db, before: Option<i64>, limit: i64) -> Result<IssuePage, sqlx::Error> {
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

async fn create(
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

async fn get(db: &Db, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM issues WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM issues")
        .fetch_one(pool)
        .await)
}

pub struct Issues {
    db: Db,
    /// The newest page, `Some` exactly when this process is the database's only writer.
    first_page: Option<LocalCache<(), CachedPage>>,
}

impl Issues {
    pub fn new(db: Db) -> Self {
        let first_page = db.single_writer().then(|| LocalCache::new(1));
        Self { db, first_page }
    }

    /// A page of issues, newest first, from the cache where that is exact.
    pub async fn list(&self, before: Option<i64>, limit: i64) -> Result<CachedPage, sqlx::Error> {
        let cache = match &self.first_page {
            Some(cache) if before.is_none() && limit == PAGE_SIZE => cache,
            _ => return list(&self.db, before, limit).await.map(CachedPage::new),
        };
        let before = match cache.get(&()) {
            Some(page) => return Ok(page),
            None => cache.generation(),
        };
        let page = CachedPage::new(list(&self.db, None, PAGE_SIZE).await?);
        cache.fill(before, (), page.clone(), |_| true);
        Ok(page)
    }

    pub async fn create(
        &self,
        issue: &NewIssue,
        author_sub: &str,
        author_name: &str,
        now_ms: i64,
    ) -> Result<Issue, sqlx::Error> {
        let created = create(&self.db, issue, author_sub, author_name, now_ms).await;
        if let Some(cache) = &self.first_page {
            cache.remove(&());
        }
        created
    }

    pub async fn get(&self, id: i64) -> Result<Option<Issue>, sqlx::Error> {
        get(&self.db, id).await
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        count(&self.db).await
    }
}
