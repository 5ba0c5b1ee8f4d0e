//! Issue storage: list newest first with keyset pagination, create. The same SQL on both
//! backends.

use crate::model::{Issue, IssuePage, NewIssue, PAGE_SIZE};
use crate::on_db;
use crate::server::db::Db;

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

pub async fn first_page(db: &Db) -> Result<IssuePage, sqlx::Error> {
    list(db, None, PAGE_SIZE).await
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
