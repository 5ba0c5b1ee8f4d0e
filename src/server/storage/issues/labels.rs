//! Labels: their definitions (with how many live issues carry each) and the labels an issue
//! carries, attached to issues as they are read. Definitions change through `Issues::write`,
//! so the pages kept in memory, which show labels by name, are forgotten with each change.

use std::collections::HashMap;

use crate::model::{Issue, Label, LabelInput, LabelRef};
use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql};
use crate::server::storage::tx::Tx;
use crate::{bind_all, on_db, on_tx};

const LABEL_COLUMNS: &str = "labels.id, labels.name, labels.color, labels.description";

/// Every label, by name, with the live issues carrying it.
/// Every label, by name, without counts (what an issue's triage form offers).
pub(super) async fn names(db: &Db) -> Result<Vec<Label>, sqlx::Error> {
    let sql = format!("SELECT {LABEL_COLUMNS} FROM labels ORDER BY labels.name_key");
    on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
}

pub(super) async fn list(db: &Db) -> Result<Vec<Label>, sqlx::Error> {
    let sql = format!(
        // Counted on the labels' own index, less the deleted issues (few, and indexed): no
        // lookup per labelled issue.
        "SELECT {LABEL_COLUMNS}, COALESCE(counted.n, 0) AS issue_count FROM labels \
         LEFT JOIN (SELECT label_id, COUNT(*) AS n FROM issue_labels \
                    WHERE issue_id NOT IN (SELECT id FROM issues WHERE deleted_at IS NOT NULL) \
                    GROUP BY label_id) AS counted ON counted.label_id = labels.id \
         ORDER BY labels.name_key"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
}

/// The labels named (as compared: lowercase), in `tx`; names no label has are left out.
pub(super) async fn by_keys(tx: &mut Tx, keys: &[String]) -> Result<Vec<LabelRef>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    let placeholders: Vec<String> = keys.iter().map(|key| sql.bind(Param::Text(key.clone()))).collect();
    sql.text = format!(
        "SELECT id, name, color FROM labels WHERE name_key IN ({}) ORDER BY name_key",
        placeholders.join(", ")
    );
    let rows: Vec<(i64, String, String)> = on_tx!(tx, |conn| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(conn)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, color)| LabelRef { id, name, color })
        .collect())
}

/// Defines a label; `None` when one of that name (whatever its case) exists.
pub(super) async fn create(tx: &mut Tx, label: &LabelInput, now_ms: i64) -> Result<Option<Label>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO labels (name, name_key, color, description, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (name_key) DO NOTHING RETURNING {LABEL_COLUMNS}"
    );
    on_tx!(tx, |conn| sqlx::query_as(&sql)
        .bind(&label.name)
        .bind(label.key())
        .bind(&label.color)
        .bind(&label.description)
        .bind(now_ms)
        .fetch_optional(conn)
        .await)
}

/// What redefining a label came to.
pub enum Redefined {
    Done(Label),
    NotFound,
    /// Another label has that name.
    NameTaken,
}

/// Redefines label `id`: its name, colour and description.
pub(super) async fn update(tx: &mut Tx, id: i64, label: &LabelInput) -> Result<Redefined, sqlx::Error> {
    let taken: Option<i64> = on_tx!(&mut *tx, |conn| sqlx::query_scalar(
        "SELECT id FROM labels WHERE name_key = $1 AND id <> $2"
    )
    .bind(label.key())
    .bind(id)
    .fetch_optional(conn)
    .await)?;
    if taken.is_some() {
        return Ok(Redefined::NameTaken);
    }
    let sql = format!(
        "UPDATE labels SET name = $2, name_key = $3, color = $4, description = $5 WHERE id = $1 \
         RETURNING {LABEL_COLUMNS}"
    );
    let updated: Option<Label> = on_tx!(tx, |conn| sqlx::query_as(&sql)
        .bind(id)
        .bind(&label.name)
        .bind(label.key())
        .bind(&label.color)
        .bind(&label.description)
        .fetch_optional(conn)
        .await)?;
    Ok(updated.map_or(Redefined::NotFound, Redefined::Done))
}

/// Deletes label `id` and takes it off every issue; `false` when there is no such label.
pub(super) async fn delete(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    on_tx!(&mut *tx, |conn| sqlx::query(
        "DELETE FROM issue_labels WHERE label_id = $1"
    )
    .bind(id)
    .execute(conn)
    .await
    .map(drop))?;
    let deleted = on_tx!(tx, |conn| sqlx::query("DELETE FROM labels WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(deleted > 0)
}

/// Puts label `label_id` on issue `issue_id` (`on`) or takes it off; `false` when it already
/// was so.
pub(super) async fn carry(tx: &mut Tx, issue_id: i64, label_id: i64, on: bool) -> Result<bool, sqlx::Error> {
    let sql = match on {
        true => "INSERT INTO issue_labels (issue_id, label_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        false => "DELETE FROM issue_labels WHERE issue_id = $1 AND label_id = $2",
    };
    let done = on_tx!(tx, |conn| sqlx::query(sql)
        .bind(issue_id)
        .bind(label_id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// The query reading the labels of the issues `ids`.
fn carried(ids: &[i64]) -> Sql {
    let mut sql = Sql::default();
    let placeholders: Vec<String> = ids.iter().map(|id| sql.bind(Param::Int(*id))).collect();
    sql.text = format!(
        "SELECT issue_labels.issue_id, labels.id, labels.name, labels.color FROM issue_labels \
         JOIN labels ON labels.id = issue_labels.label_id WHERE issue_labels.issue_id IN ({}) \
         ORDER BY labels.name_key",
        placeholders.join(", ")
    );
    sql
}

fn put_in_place(issues: &mut [Issue], rows: Vec<(i64, i64, String, String)>) {
    let mut by_issue: HashMap<i64, Vec<LabelRef>> = HashMap::new();
    for (issue_id, id, name, color) in rows {
        by_issue.entry(issue_id).or_default().push(LabelRef { id, name, color });
    }
    for issue in issues {
        issue.labels = by_issue.remove(&issue.id).unwrap_or_default();
    }
}

/// Fills in the labels of `issues` (one query for all of them).
pub(super) async fn attach(db: &Db, issues: &mut [Issue]) -> Result<(), sqlx::Error> {
    if issues.is_empty() {
        return Ok(());
    }
    let sql = carried(&issues.iter().map(|issue| issue.id).collect::<Vec<_>>());
    let rows = on_db!(db, |pool| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(pool)
        .await)?;
    put_in_place(issues, rows);
    Ok(())
}

/// As [`attach`], in the write's transaction `tx`.
pub(super) async fn attach_in(tx: &mut Tx, issues: &mut [Issue]) -> Result<(), sqlx::Error> {
    if issues.is_empty() {
        return Ok(());
    }
    let sql = carried(&issues.iter().map(|issue| issue.id).collect::<Vec<_>>());
    let rows = on_tx!(tx, |conn| bind_all!(sqlx::query_as(&sql.text), sql)
        .fetch_all(conn)
        .await)?;
    put_in_place(issues, rows);
    Ok(())
}
