//! The writes, each in the transaction of an `Issues::write` (run by [`in_transaction`]), so
//! that what else it holds (the audit trail's rows) is kept or undone with them.

use crate::access::Viewer;
use crate::model::{
    CLOSED, Comment, Issue, IssueChange, Label, LabelEdit, LabelInput, LabelRef, NewIssue, event_kind, label_key,
};
use crate::server::storage::db::Db;
use crate::server::storage::outbox::{self, ChangeData, CommentRef, kind};
use crate::server::storage::sql::{Param, Sql};
use crate::server::storage::tx::{Tx, TxWork};
use crate::server::support::detach::detached;
use crate::{bind_all, on_tx};

use super::board::select_live;
use super::events::{self, Happened};
use super::labels;
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

/// Stores a new issue by `author` carrying the labels named `label_names` (names no label has are
/// left out), with its first events in the history: created, then each label put on.
pub async fn create(
    tx: &mut Tx,
    issue: &NewIssue,
    label_names: &[String],
    author: &Viewer,
    now_ms: i64,
) -> Result<Issue, sqlx::Error> {
    let sql = format!(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    );
    let mut created: Issue = on_tx!(&mut *tx, |conn| {
        sqlx::query_as(&sql)
            .bind(&issue.title)
            .bind(&issue.description)
            .bind(&author.sub)
            .bind(&author.name)
            .bind(now_ms)
            .fetch_one(conn)
            .await
    })?;
    let mut happened = vec![Happened::new(event_kind::CREATED, None, None)];
    let mut keys: Vec<String> = label_names.iter().map(|name| label_key(name)).collect();
    keys.retain(|key| !key.is_empty());
    keys.sort_unstable();
    keys.dedup();
    // In the order issues show them (by name), as `labels::attach` reads them.
    let carried = labels::by_keys(tx, &keys).await?;
    for label in &carried {
        if labels::carry(tx, created.id, label.id, true).await? {
            happened.push(Happened::new(event_kind::LABEL_ADDED, None, Some(label.name.clone())));
        }
    }
    events::record(tx, created.id, &happened, author, now_ms).await?;
    created.labels = carried;
    let data = ChangeData {
        issue: Some(created.clone()),
        ..ChangeData::default()
    };
    outbox::publish(tx, kind::ISSUE_CREATED, created.id, author, now_ms, &data).await?;
    Ok(created)
}

/// Applies `change` as `actor` made it from version `expected` (`None`: whatever the current
/// version is), and records each field that changed in the issue's history. `assignee_name`
/// names the person assigned, when it assigns. Labels are named; names no label has are left
/// out (the tracker checked them).
pub async fn change(
    tx: &mut Tx,
    id: i64,
    change: &IssueChange,
    assignee_name: Option<String>,
    expected: Option<i64>,
    actor: &Viewer,
    now_ms: i64,
) -> Result<Changed, sqlx::Error> {
    let Some(before) = current(tx, id).await? else {
        return Ok(Changed::NotFound);
    };
    let updated = update(tx, id, set_list(change, assignee_name, actor, now_ms), expected, now_ms).await?;
    let Changed::Done(mut after) = updated else {
        return Ok(updated);
    };
    let mut happened = field_changes(&before, &after);
    if let Some(edit) = &change.labels {
        happened.extend(edit_labels(tx, id, &before.labels, edit).await?);
    }
    events::record(tx, id, &happened, actor, now_ms).await?;
    labels::attach_in(tx, std::slice::from_mut(&mut after)).await?;
    if !happened.is_empty() {
        let data = events::published(&after, &happened);
        outbox::publish(tx, kind::ISSUE_UPDATED, id, actor, now_ms, &data).await?;
    }
    Ok(Changed::Done(after))
}

/// Issue `id` as it is before a change, with its labels (on PostgreSQL locked until the
/// transaction ends; SQLite's write transaction holds the whole database).
async fn current(tx: &mut Tx, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = match tx {
        Tx::Postgres(_) => format!("{} FOR UPDATE", select_live()),
        Tx::Sqlite(_) => select_live(),
    };
    let found: Option<Issue> = on_tx!(&mut *tx, |conn| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await)?;
    let mut found: Vec<Issue> = found.into_iter().collect();
    labels::attach_in(tx, &mut found).await?;
    Ok(found.pop())
}

/// The history of the fields that differ between `before` and `after`.
fn field_changes(before: &Issue, after: &Issue) -> Vec<Happened> {
    let mut happened = Vec::new();
    let mut compare = |kind, old: Option<&str>, new: Option<&str>| {
        if old != new {
            happened.push(Happened::new(kind, old.map(str::to_string), new.map(str::to_string)));
        }
    };
    compare(event_kind::TITLE, Some(&before.title), Some(&after.title));
    compare(
        event_kind::DESCRIPTION,
        Some(&before.description),
        Some(&after.description),
    );
    compare(event_kind::STATUS, Some(&before.status), Some(&after.status));
    compare(
        event_kind::ASSIGNEE,
        before.assignee_name.as_deref(),
        after.assignee_name.as_deref(),
    );
    compare(
        event_kind::PRIORITY,
        Some(before.priority.name()),
        Some(after.priority.name()),
    );
    compare(event_kind::DUE, before.due.as_deref(), after.due.as_deref());
    happened
}

/// Puts on and takes off issue `id`'s labels as `edit` says, from `carried`; the history of
/// each label put on or taken off.
async fn edit_labels(
    tx: &mut Tx,
    id: i64,
    carried: &[LabelRef],
    edit: &LabelEdit,
) -> Result<Vec<Happened>, sqlx::Error> {
    let keys = |names: &[String]| names.iter().map(|name| label_key(name)).collect::<Vec<_>>();
    let (put_on, take_off): (Vec<LabelRef>, Vec<LabelRef>) = match edit {
        LabelEdit::Add(names) => (labels::by_keys(tx, &keys(names)).await?, Vec::new()),
        LabelEdit::Remove(names) => (Vec::new(), labels::by_keys(tx, &keys(names)).await?),
        LabelEdit::Set(names) => {
            let wanted = labels::by_keys(tx, &keys(names)).await?;
            let unwanted = carried
                .iter()
                .filter(|label| !wanted.iter().any(|w| w.id == label.id))
                .cloned()
                .collect();
            (wanted, unwanted)
        }
    };
    let mut happened = Vec::new();
    for label in put_on {
        if labels::carry(tx, id, label.id, true).await? {
            happened.push(Happened::new(event_kind::LABEL_ADDED, None, Some(label.name)));
        }
    }
    for label in take_off {
        if labels::carry(tx, id, label.id, false).await? {
            happened.push(Happened::new(event_kind::LABEL_REMOVED, Some(label.name), None));
        }
    }
    Ok(happened)
}

/// Defines a label; `None` when one of that name (whatever its case) exists.
pub async fn define_label(tx: &mut Tx, label: &LabelInput, now_ms: i64) -> Result<Option<Label>, sqlx::Error> {
    labels::create(tx, label, now_ms).await
}

/// Redefines label `id`.
pub async fn redefine_label(tx: &mut Tx, id: i64, label: &LabelInput) -> Result<labels::Redefined, sqlx::Error> {
    labels::update(tx, id, label).await
}

/// Deletes label `id`, taking it off every issue (not recorded in their histories: the label
/// is gone, not the issues' triage); `false` when there is no such label.
pub async fn delete_label(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    labels::delete(tx, id).await
}

/// Soft-deletes issue `id` (made from version `expected`, when given), recorded in its history
/// as done by `actor`.
pub async fn delete(
    tx: &mut Tx,
    id: i64,
    expected: Option<i64>,
    actor: &Viewer,
    now_ms: i64,
) -> Result<Changed, sqlx::Error> {
    let mut set = Sql::default();
    let p = set.bind(Param::Int(now_ms));
    set.push(&format!("deleted_at = {p}, "));
    let deleted = update(tx, id, set, expected, now_ms).await?;
    if let Changed::Done(issue) = &deleted {
        let happened = [Happened::new(event_kind::DELETED, None, None)];
        events::record(tx, id, &happened, actor, now_ms).await?;
        let data = events::published(issue, &[]);
        outbox::publish(tx, kind::ISSUE_DELETED, id, actor, now_ms, &data).await?;
    }
    Ok(deleted)
}

/// Restores issue `id`, deleted and not yet erased, recorded in its history as done by `actor`;
/// `None` when there is no such deleted issue.
pub async fn restore(tx: &mut Tx, id: i64, actor: &Viewer, now_ms: i64) -> Result<Option<Issue>, sqlx::Error> {
    let sql = format!(
        "UPDATE issues SET deleted_at = NULL, version = version + 1, updated_at = $2 \
         WHERE id = $1 AND deleted_at IS NOT NULL RETURNING {COLUMNS}"
    );
    let restored: Option<Issue> = on_tx!(&mut *tx, |conn| sqlx::query_as(&sql)
        .bind(id)
        .bind(now_ms)
        .fetch_optional(conn)
        .await)?;
    let Some(mut restored) = restored else {
        return Ok(None);
    };
    let happened = [Happened::new(event_kind::RESTORED, None, None)];
    events::record(tx, id, &happened, actor, now_ms).await?;
    labels::attach_in(tx, std::slice::from_mut(&mut restored)).await?;
    let data = events::published(&restored, &[]);
    outbox::publish(tx, kind::ISSUE_RESTORED, id, actor, now_ms, &data).await?;
    Ok(Some(restored))
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
    if let Some(priority) = change.priority {
        let p = set.bind(Param::Int(priority.rank()));
        set.push(&format!("priority = {p}, "));
    }
    if let Some(due) = &change.due {
        let p = set.bind(Param::OptText(due.clone()));
        set.push(&format!("due_date = {p}, "));
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
    let sql = format!(
        "UPDATE issues SET comment_count = comment_count + 1, updated_at = $2 \
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    );
    let counted: Option<Issue> = on_tx!(&mut *tx, |conn| sqlx::query_as(&sql)
        .bind(issue_id)
        .bind(now_ms)
        .fetch_optional(conn)
        .await)?;
    let Some(mut issue) = counted else {
        return Ok(None);
    };
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
    labels::attach_in(tx, std::slice::from_mut(&mut issue)).await?;
    let data = ChangeData {
        issue: Some(issue),
        comment: Some(CommentRef { id: comment.id }),
        ..ChangeData::default()
    };
    outbox::publish(tx, kind::COMMENT_CREATED, issue_id, author, now_ms, &data).await?;
    Ok(Some(comment))
}
