//! The writes, each in the transaction of an `Issues::write` (run by [`in_transaction`]), so
//! that what else it holds (the audit trail's rows) is kept or undone with them.

use crate::access::Viewer;
use crate::model::{CLOSED, Comment, Issue, IssueChange, NewIssue};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql};
use crate::server::storage::tx::{Tx, TxWork};
use crate::server::support::detach::detached;
use crate::{bind_all, on_tx};

use super::board::select_live;
use super::types::{COLUMNS, COMMENT_COLUMNS, Changed};

/// Runs `work` in one transaction: committed when it answers `Ok`, undone when it fails; then
/// `after` (the store forgetting its pages in memory). Detached: a caller that goes away cannot
/// split it.
pub(super) async fn in_transaction<T, W, A>(db: &Db, work: W, after: A) -> Result<T, sqlx::Error>
where
    T: Send + 'static,
    W: for<'t> FnOnce(&'t mut Tx) -> TxWork<'t, T> + Send + 'static,
    A: FnOnce() + Send + 'static,
{
    let db = db.clone();
    detached(async move {
        let mut tx = db.begin().await?;
        let done = work(&mut tx).await;
        let outcome = match done {
            Ok(value) => tx.commit().await.map(|()| value),
            Err(error) => {
                if let Err(undo) = tx.rollback().await {
                    tracing::warn!(error = %undo, "could not roll back a failed issue write");
                }
                Err(error)
            }
        };
        // After the commit, which readers then see; after a failed one too (harmless).
        after();
        outcome
    })
    .await
    .map_err(task_failed)?
}

fn task_failed(error: tokio::task::JoinError) -> sqlx::Error {
    sqlx::Error::Protocol(format!("an issue write did not finish: {error}"))
}

/// Stores a new issue by `author`.
pub async fn create(tx: &mut Tx, issue: &NewIssue, author: &Viewer, now_ms: i64) -> Result<Issue, sqlx::Error> {
    let sql = format!(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    );
    on_tx!(tx, |conn| {
        sqlx::query_as(&sql)
            .bind(&issue.title)
            .bind(&issue.description)
            .bind(&author.sub)
            .bind(&author.name)
            .bind(now_ms)
            .fetch_one(conn)
            .await
    })
}

/// Applies `change` as `actor` made it from version `expected` (`None`: whatever the current
/// version is). `assignee_name` names the person assigned, when it assigns.
pub async fn change(
    tx: &mut Tx,
    id: i64,
    change: &IssueChange,
    assignee_name: Option<String>,
    expected: Option<i64>,
    actor: &Viewer,
    now_ms: i64,
) -> Result<Changed, sqlx::Error> {
    update(tx, id, set_list(change, assignee_name, actor, now_ms), expected, now_ms).await
}

/// Soft-deletes issue `id` (made from version `expected`, when given).
pub async fn delete(tx: &mut Tx, id: i64, expected: Option<i64>, now_ms: i64) -> Result<Changed, sqlx::Error> {
    let mut set = Sql::default();
    let p = set.bind(Param::Int(now_ms));
    set.push(&format!("deleted_at = {p}, "));
    update(tx, id, set, expected, now_ms).await
}

/// Runs an `UPDATE … RETURNING` made from `set` on issue `id` if it is not deleted and (when
/// `expected` is given) still at that version; bumps the version.
async fn update(
    tx: &mut Tx,
    id: i64,
    mut set: Sql,
    expected: Option<i64>,
    now_ms: i64,
) -> Result<Changed, sqlx::Error> {
    let now = set.bind(Param::Int(now_ms));
    let id_param = set.bind(Param::Int(id));
    let mut text = format!(
        "UPDATE issues SET {}version = version + 1, updated_at = {now} WHERE id = {id_param} AND deleted_at IS NULL",
        set.text
    );
    if let Some(expected) = expected {
        let p = set.bind(Param::Int(expected));
        text.push_str(&format!(" AND version = {p}"));
    }
    text.push_str(&format!(" RETURNING {COLUMNS}"));
    set.text = text;
    let updated: Option<Issue> = on_tx!(&mut *tx, |conn| bind_all!(sqlx::query_as(&set.text), set)
        .fetch_optional(conn)
        .await)?;
    if let Some(issue) = updated {
        return Ok(Changed::Done(issue));
    }
    let sql = select_live();
    let current: Option<Issue> = on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?;
    Ok(match (expected, current) {
        (Some(_), Some(current)) => Changed::Stale(current),
        _ => Changed::NotFound,
    })
}

/// The `SET` list for `change` (each item ends with `, `). `assignee_name` is the name of the
/// person the change assigns the issue to.
fn set_list(change: &IssueChange, assignee_name: Option<String>, actor: &Viewer, now_ms: i64) -> Sql {
    let mut set = Sql::default();
    if let Some(title) = &change.title {
        let p = set.bind(Param::Text(title.clone()));
        set.push(&format!("title = {p}, "));
    }
    if let Some(description) = &change.description {
        let p = set.bind(Param::Text(description.clone()));
        set.push(&format!("description = {p}, "));
    }
    match change.status {
        Some(CLOSED) => {
            // Closing a closed issue keeps who closed it and when.
            let now = set.bind(Param::Int(now_ms));
            let sub = set.bind(Param::Text(actor.sub.clone()));
            let name = set.bind(Param::Text(actor.name.clone()));
            set.push(&format!(
                "closed_at = CASE WHEN status = 'closed' THEN closed_at ELSE {now} END, \
                 closed_by_sub = CASE WHEN status = 'closed' THEN closed_by_sub ELSE {sub} END, \
                 closed_by_name = CASE WHEN status = 'closed' THEN closed_by_name ELSE {name} END, \
                 status = 'closed', "
            ));
        }
        Some(_) => set.push("status = 'open', closed_at = NULL, closed_by_sub = NULL, closed_by_name = NULL, "),
        None => {}
    }
    if let Some(assignee) = &change.assignee {
        let sub = set.bind(Param::OptText(assignee.clone()));
        let name = set.bind(Param::OptText(assignee_name));
        set.push(&format!("assignee_sub = {sub}, assignee_name = {name}, "));
    }
    set
}

/// Adds a comment to issue `issue_id` if it exists (`None`: it does not, and nothing was
/// written), counting it on the issue.
pub async fn add_comment(
    tx: &mut Tx,
    issue_id: i64,
    body: &str,
    author: &Viewer,
    now_ms: i64,
) -> Result<Option<Comment>, sqlx::Error> {
    let counted = on_tx!(&mut *tx, |conn| sqlx::query(
        "UPDATE issues SET comment_count = comment_count + 1, updated_at = $2 \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(issue_id)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    if counted == 0 {
        return Ok(None);
    }
    let insert = format!(
        "INSERT INTO comments (issue_id, body, author_sub, author_name, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COMMENT_COLUMNS}"
    );
    let comment: Comment = on_tx!(tx, |conn| sqlx::query_as(&insert)
        .bind(issue_id)
        .bind(body)
        .bind(&author.sub)
        .bind(&author.name)
        .bind(now_ms)
        .fetch_one(conn)
        .await)?;
    Ok(Some(comment))
}
