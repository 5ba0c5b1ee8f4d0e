//! A person's own work, for their home page: the open issues assigned to them, the open issues
//! they wrote, and the open issues that mention them (newest mention first), each counted (up to
//! one past [`SEARCH_COUNT_CAP`], as a search counts) with its newest few. Each read goes through
//! its index: `issues_by_assignee` and `issues_by_author` (`(sub, status, id) WHERE deleted_at
//! IS NULL`: the conditions below repeat that `WHERE` so the partial index applies) and
//! `mentions_by_person` (`(sub, issue_id)`).

use crate::model::{Issue, MyWork, OPEN, SEARCH_COUNT_CAP, WORK_LIST_SIZE, WorkList};
use crate::on_db;
use crate::server::storage::db::Db;

use super::labels;
use super::types::COLUMNS;

/// `sub`'s open work; the three lists are read at once.
pub(super) async fn my_work(db: &Db, sub: &str) -> Result<MyWork, sqlx::Error> {
    let (assigned, created, mentioned) = tokio::try_join!(
        owned(db, "assignee_sub", sub),
        owned(db, "author_sub", sub),
        mentioning(db, sub)
    )?;
    Ok(MyWork {
        assigned,
        created,
        mentioned,
    })
}

/// The open issues whose `column` (`assignee_sub` or `author_sub`, each with its index) is
/// `sub`, newest first.
async fn owned(db: &Db, column: &'static str, sub: &str) -> Result<WorkList, sqlx::Error> {
    let live = format!("{column} = $1 AND status = $2 AND deleted_at IS NULL");
    let count_sql = format!("SELECT COUNT(*) FROM (SELECT id FROM issues WHERE {live} LIMIT $3) AS counted");
    let list_sql = format!("SELECT {COLUMNS} FROM issues WHERE {live} ORDER BY id DESC LIMIT $3");
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(&count_sql)
        .bind(sub)
        .bind(OPEN)
        .bind(SEARCH_COUNT_CAP + 1)
        .fetch_one(pool)
        .await)?;
    let mut issues: Vec<Issue> = on_db!(db, |pool| sqlx::query_as(&list_sql)
        .bind(sub)
        .bind(OPEN)
        .bind(WORK_LIST_SIZE)
        .fetch_all(pool)
        .await)?;
    labels::attach(db, &mut issues).await?;
    Ok(WorkList { count, issues })
}

/// The open issues that mention `sub` (in their description or a comment), the one mentioned
/// most recently first.
async fn mentioning(db: &Db, sub: &str) -> Result<WorkList, sqlx::Error> {
    let count_sql = "SELECT COUNT(*) FROM (SELECT DISTINCT mentions.issue_id FROM mentions \
                     JOIN issues ON issues.id = mentions.issue_id \
                     WHERE mentions.sub = $1 AND issues.status = $2 AND issues.deleted_at IS NULL \
                     LIMIT $3) AS counted";
    // An issue may mention someone in several places: once, at its latest mention.
    let list_sql = format!(
        "SELECT {COLUMNS} FROM issues JOIN (SELECT issue_id, MAX(at) AS mentioned_at FROM mentions \
         WHERE sub = $1 GROUP BY issue_id) AS mine ON mine.issue_id = issues.id \
         WHERE issues.status = $2 AND issues.deleted_at IS NULL \
         ORDER BY mine.mentioned_at DESC, issues.id DESC LIMIT $3"
    );
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(count_sql)
        .bind(sub)
        .bind(OPEN)
        .bind(SEARCH_COUNT_CAP + 1)
        .fetch_one(pool)
        .await)?;
    let mut issues: Vec<Issue> = on_db!(db, |pool| sqlx::query_as(&list_sql)
        .bind(sub)
        .bind(OPEN)
        .bind(WORK_LIST_SIZE)
        .fetch_all(pool)
        .await)?;
    labels::attach(db, &mut issues).await?;
    Ok(WorkList { count, issues })
}
