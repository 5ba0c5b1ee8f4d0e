//! The deleted issues not yet erased, for the admin's "Deleted" view: the most recently deleted
//! first (the index `issues_deleted`), each with who deleted it, from its history (the issues
//! table keeps only when).

use crate::model::{DELETED_LIST_MAX, DeletedIssue, event_kind};
use crate::on_db;
use crate::server::storage::db::Db;

/// At most `limit` (1 to [`DELETED_LIST_MAX`]) deleted issues, most recently deleted first.
pub(super) async fn list(db: &Db, limit: i64) -> Result<Vec<DeletedIssue>, sqlx::Error> {
    let limit = limit.clamp(1, DELETED_LIST_MAX);
    // Deleted again after a restore: the latest delete names who.
    let sql = "SELECT issues.id, issues.title, issues.deleted_at, \
               (SELECT issue_events.actor_name FROM issue_events \
                WHERE issue_events.issue_id = issues.id AND issue_events.kind = $1 \
                ORDER BY issue_events.id DESC LIMIT 1) AS deleted_by \
               FROM issues WHERE issues.deleted_at IS NOT NULL \
               ORDER BY issues.deleted_at DESC, issues.id DESC LIMIT $2";
    on_db!(db, |pool| sqlx::query_as(sql)
        .bind(event_kind::DELETED)
        .bind(limit)
        .fetch_all(pool)
        .await)
}
