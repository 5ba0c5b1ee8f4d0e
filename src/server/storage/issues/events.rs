//! Each issue's history: one row per change (who, when, the value before and after), written
//! in the change's transaction and read oldest first. Kept as long as the issue.

use crate::access::Viewer;
use crate::model::{EventPage, Issue, IssueEvent};
use crate::server::storage::db::Db;
use crate::server::storage::outbox::{ChangeData, FieldChange};
use crate::server::storage::sql::keyset_page;
use crate::server::storage::tx::Tx;
use crate::{on_db, on_tx};

const EVENT_COLUMNS: &str = "id, issue_id, kind, old_value, new_value, actor_sub, actor_name, at";

/// One change to record: its kind (`model::event_kind`) and the values before and after.
pub(super) struct Happened {
    pub kind: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Happened {
    pub fn new(kind: &'static str, old: Option<String>, new: Option<String>) -> Self {
        Self { kind, old, new }
    }
}

/// Records what happened to issue `issue_id`, by `actor` at `at_ms`, in the write's `tx`.
pub(super) async fn record(
    tx: &mut Tx,
    issue_id: i64,
    happened: &[Happened],
    actor: &Viewer,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    for event in happened {
        on_tx!(&mut *tx, |conn| sqlx::query(
            "INSERT INTO issue_events (issue_id, kind, old_value, new_value, actor_sub, actor_name, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(issue_id)
        .bind(event.kind)
        .bind(event.old.as_deref())
        .bind(event.new.as_deref())
        .bind(&actor.sub)
        .bind(&actor.name)
        .bind(at_ms)
        .execute(conn)
        .await
        .map(drop))?;
    }
    Ok(())
}

/// What the outbox carries of a change that left `issue` so, by `happened`.
pub(super) fn published(issue: &Issue, happened: &[Happened]) -> ChangeData {
    ChangeData {
        issue: Some(issue.clone()),
        changes: happened
            .iter()
            .map(|event| FieldChange {
                field: event.kind.to_string(),
                old: event.old.clone(),
                new: event.new.clone(),
            })
            .collect(),
        comment: None,
    }
}

/// A page of issue `issue_id`'s history, oldest first, after event `after`.
pub(super) async fn page(db: &Db, issue_id: i64, after: Option<i64>, limit: i64) -> Result<EventPage, sqlx::Error> {
    let limit = limit.clamp(1, 200);
    let sql = format!("SELECT {EVENT_COLUMNS} FROM issue_events WHERE issue_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    let mut events: Vec<IssueEvent> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(issue_id)
        .bind(after.unwrap_or(0))
        .bind(limit + 1)
        .fetch_all(pool)
        .await)?;
    let next_after = keyset_page(&mut events, limit, |event| event.id);
    Ok(EventPage { events, next_after })
}
