//! Plain reads: a board page without a search (the issues index read newest first) with its
//! counts, one issue, an issue's comments, how many issues there are.

use crate::model::{AssigneeFilter, BoardFilter, CLOSED, Comment, CommentPage, Issue, IssuePage, OPEN, StatusCounts};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql, keyset_page};
use crate::{bind_all, on_db};

use super::types::{COLUMNS, COMMENT_COLUMNS};

/// The filter's conditions on `issues` but the status and the search: not deleted, the
/// assignee, the author.
pub(super) fn conditions(sql: &mut Sql, filter: &BoardFilter) -> Vec<String> {
    let mut conditions = vec!["issues.deleted_at IS NULL".to_string()];
    match &filter.assignee {
        AssigneeFilter::Anyone => {}
        AssigneeFilter::Unassigned => conditions.push("issues.assignee_sub IS NULL".into()),
        AssigneeFilter::Person(sub) => {
            let p = sql.bind(Param::Text(sub.clone()));
            conditions.push(format!("issues.assignee_sub = {p}"));
        }
    }
    if let Some(author) = &filter.author {
        let p = sql.bind(Param::Text(author.clone()));
        conditions.push(format!("issues.author_sub = {p}"));
    }
    conditions
}

/// A board page without a search: the issues index read newest first.
pub(super) async fn board(
    db: &Db,
    filter: &BoardFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<IssuePage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let mut sql = Sql::default();
    let mut conditions = conditions(&mut sql, filter);
    let counts = counts(db, filter, &conditions, &sql.params).await?;
    if let Some(status) = filter.status {
        let p = sql.bind(Param::Text(status.into()));
        conditions.push(format!("issues.status = {p}"));
    }
    if let Some(before) = before {
        let p = sql.bind(Param::Int(before));
        conditions.push(format!("issues.id < {p}"));
    }
    let p = sql.bind(Param::Int(limit + 1));
    sql.text = format!(
        "SELECT {COLUMNS} FROM issues WHERE {} ORDER BY issues.id DESC LIMIT {p}",
        conditions.join(" AND ")
    );
    let mut issues: Vec<Issue> = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    let next_before = keyset_page(&mut issues, limit, |issue| issue.id);
    Ok(IssuePage {
        issues,
        next_before,
        counts,
    })
}

/// Issues per status under the filter (no search): kept in `issue_counts` for the unfiltered
/// board, counted otherwise.
async fn counts(
    db: &Db,
    filter: &BoardFilter,
    conditions: &[String],
    params: &[Param],
) -> Result<StatusCounts, sqlx::Error> {
    let text = match filter.is_plain() {
        true => "SELECT status, n FROM issue_counts".to_string(),
        false => format!(
            "SELECT issues.status, COUNT(*) FROM issues WHERE {} GROUP BY issues.status",
            conditions.join(" AND ")
        ),
    };
    let sql = Sql {
        text,
        params: params.to_vec(),
    };
    let rows: Vec<(String, i64)> = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            OPEN => counts.open = n,
            CLOSED => counts.closed = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// One live (not deleted) issue by id (`$1`).
pub(super) fn select_live() -> String {
    format!("SELECT {COLUMNS} FROM issues WHERE id = $1 AND deleted_at IS NULL")
}

pub(super) async fn get(db: &Db, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = select_live();
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// A page of issue `issue_id`'s comments, oldest first, after comment `after`.
pub(super) async fn comments(
    db: &Db,
    issue_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<CommentPage, sqlx::Error> {
    let limit = limit.clamp(1, 100);
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE issue_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    let mut comments: Vec<Comment> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(issue_id)
        .bind(after.unwrap_or(0))
        .bind(limit + 1)
        .fetch_all(pool)
        .await)?;
    let next_after = keyset_page(&mut comments, limit, |comment| comment.id);
    Ok(CommentPage { comments, next_after })
}

pub(super) async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM issues WHERE deleted_at IS NULL"
    )
    .fetch_one(pool)
    .await)
}
