//! What is erased, and when: deleted issues (with their comments, labels, history and search
//! entries) once
//! `Server.DeletedRetentionDays` have passed, and a person's name on `issues-app forget-person`
//! (their issues and comments stay, attributed to "a former member").

use crate::on_db;
use crate::server::storage::db::Db;

/// The name a forgotten person's work is attributed to.
pub const FORMER_MEMBER: &str = "a former member";

/// Issues erased per transaction: a long backlog never holds the writer for long.
const ERASED_PER_ROUND: i64 = 500;

/// What erasing one issue (`$1`) deletes, the issue last.
const ERASE_ISSUE: [&str; 10] = [
    "DELETE FROM outbox WHERE issue_id = $1",
    "DELETE FROM webhook_deliveries WHERE issue_id = $1",
    "DELETE FROM notifications WHERE issue_id = $1",
    "DELETE FROM watchers WHERE issue_id = $1",
    "DELETE FROM comment_revisions WHERE comment_id IN (SELECT id FROM comments WHERE issue_id = $1)",
    "DELETE FROM mentions WHERE issue_id = $1",
    "DELETE FROM comments WHERE issue_id = $1",
    "DELETE FROM issue_labels WHERE issue_id = $1",
    "DELETE FROM issue_events WHERE issue_id = $1",
    "DELETE FROM issues WHERE id = $1",
];

/// Erases the issues deleted before `deleted_before_ms` (Unix milliseconds), their comments
/// and their search entries, in rounds; returns how many issues. Each round erases the ids it
/// chose (on PostgreSQL locked, skipping those another instance is erasing).
pub async fn erase_deleted(db: &Db, deleted_before_ms: i64) -> Result<u64, sqlx::Error> {
    const ROUND: &str = "SELECT id FROM issues WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY id LIMIT $2";
    let choose = match db {
        Db::Postgres(_) => format!("{ROUND} FOR UPDATE SKIP LOCKED"),
        Db::Sqlite(_) => ROUND.to_string(),
    };
    let mut erased = 0;
    loop {
        let round = on_db!(db, |pool| {
            let mut tx = pool.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(&choose)
                .bind(deleted_before_ms)
                .bind(ERASED_PER_ROUND)
                .fetch_all(&mut *tx)
                .await?;
            for id in &ids {
                for erase in ERASE_ISSUE {
                    sqlx::query(erase).bind(id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(ids.len() as u64)
        })?;
        erased += round;
        if round < ERASED_PER_ROUND as u64 {
            return Ok(erased);
        }
    }
}

/// Replaces the name of `sub` with [`FORMER_MEMBER`] everywhere it is kept, in one transaction:
/// the rows that carry their `sub`, and the assignments the audit trail names them in. Returns
/// how many rows changed.
pub async fn forget_person(db: &Db, sub: &str) -> Result<u64, sqlx::Error> {
    const NAMES: &str = "SELECT name FROM people WHERE sub = $1 \
        UNION SELECT author_name FROM issues WHERE author_sub = $1 \
        UNION SELECT closed_by_name FROM issues WHERE closed_by_sub = $1 \
        UNION SELECT assignee_name FROM issues WHERE assignee_sub = $1 \
        UNION SELECT author_name FROM comments WHERE author_sub = $1 \
        UNION SELECT name FROM sign_ins WHERE sub = $1 \
        UNION SELECT actor_name FROM audit_events WHERE actor_sub = $1 \
        UNION SELECT actor_name FROM issue_events WHERE actor_sub = $1 \
        UNION SELECT hidden_by_name FROM comments WHERE hidden_by_sub = $1 \
        UNION SELECT name FROM access_requests WHERE sub = $1";
    const RENAMES: [&str; 11] = [
        "UPDATE access_requests SET name = $2 WHERE sub = $1",
        "UPDATE comments SET hidden_by_name = $2 WHERE hidden_by_sub = $1",
        "UPDATE people SET name = $2 WHERE sub = $1",
        "UPDATE issues SET author_name = $2 WHERE author_sub = $1",
        "UPDATE issues SET closed_by_name = $2 WHERE closed_by_sub = $1",
        "UPDATE issues SET assignee_name = $2 WHERE assignee_sub = $1",
        "UPDATE comments SET author_name = $2 WHERE author_sub = $1",
        "UPDATE sign_ins SET name = $2 WHERE sub = $1",
        "UPDATE audit_events SET actor_name = $2 WHERE actor_sub = $1",
        "UPDATE issue_events SET actor_name = $2 WHERE actor_sub = $1",
        // Only a comment's author edits it.
        "UPDATE comment_revisions SET editor_name = $2 \
         WHERE comment_id IN (SELECT id FROM comments WHERE author_sub = $1)",
    ];
    // No one finds them by their mentions any more (the words stay as written); what they were
    // told and what they watched goes.
    const THEIRS: [&str; 5] = [
        "DELETE FROM mentions WHERE sub = $1",
        "DELETE FROM notifications WHERE sub = $1",
        "DELETE FROM watchers WHERE sub = $1",
        "UPDATE people SET email = NULL, scopes = '', roles = '[]' WHERE sub = $1",
        // Why they asked for access is theirs; that they asked, and the answer, stay.
        "UPDATE access_requests SET reason = '' WHERE sub = $1",
    ];
    // The outbox and others' notifications name them: in text (a notification's summary) and,
    // quoted as JSON, in a change's data (`OUTBOX_DATA` binds the quoted names).
    const NAMED: [&str; 3] = [
        "UPDATE outbox SET actor_name = $2 WHERE actor_name = $1",
        // Requests they answered name them.
        "UPDATE access_requests SET decided_by = $2 WHERE decided_by = $1",
        // A summary starts with who acted ("John Manager commented on …").
        "UPDATE notifications SET actor_name = $2, summary = $2 || SUBSTR(summary, LENGTH($1) + 1) \
         WHERE actor_name = $1",
    ];
    const OUTBOX_DATA: [&str; 2] = [
        "UPDATE outbox SET data = REPLACE(data, $1, $2) WHERE data LIKE '%' || $1 || '%'",
        "UPDATE webhook_deliveries SET payload = REPLACE(payload, $1, $2) WHERE payload LIKE '%' || $1 || '%'",
    ];
    // An issue's history names assignees by name.
    const ASSIGNEE_EVENTS: [&str; 3] = [
        "UPDATE issue_events SET old_value = $2 WHERE kind = 'assignee' AND old_value = $1",
        "UPDATE issue_events SET new_value = $2 WHERE kind = 'assignee' AND new_value = $1",
        // A comment hidden before who hid it was kept by `sub` (an older export) names them.
        "UPDATE comments SET hidden_by_name = $2 WHERE hidden_by_sub IS NULL AND hidden_by_name = $1",
    ];
    // "issue 7 to John Manager": an assignment names the assignee in its detail.
    const ASSIGNMENTS: &str = "UPDATE audit_events SET detail = REPLACE(detail, ' to ' || $1, ' to ' || $2) \
        WHERE event = 'issue_assigned' AND detail LIKE '% to %' \
        AND REPLACE(detail, ' to ' || $1, ' to ' || $2) <> detail";
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let names: Vec<Option<String>> = sqlx::query_scalar(NAMES).bind(sub).fetch_all(&mut *tx).await?;
        let mut changed = 0;
        for rename in RENAMES {
            let done = sqlx::query(rename)
                .bind(sub)
                .bind(FORMER_MEMBER)
                .execute(&mut *tx)
                .await?;
            changed += done.rows_affected();
        }
        for theirs in THEIRS {
            sqlx::query(theirs).bind(sub).execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE outbox SET actor_name = $2 WHERE actor_sub = $1")
            .bind(sub)
            .bind(FORMER_MEMBER)
            .execute(&mut *tx)
            .await?;
        if changed > 0 {
            for name in names
                .iter()
                .flatten()
                .filter(|name| !name.is_empty() && *name != FORMER_MEMBER)
            {
                for rename in std::iter::once(ASSIGNMENTS).chain(ASSIGNEE_EVENTS) {
                    let done = sqlx::query(rename)
                        .bind(name)
                        .bind(FORMER_MEMBER)
                        .execute(&mut *tx)
                        .await?;
                    changed += done.rows_affected();
                }
                for rename in NAMED {
                    let done = sqlx::query(rename)
                        .bind(name)
                        .bind(FORMER_MEMBER)
                        .execute(&mut *tx)
                        .await?;
                    changed += done.rows_affected();
                }
                for rename in OUTBOX_DATA {
                    let done = sqlx::query(rename)
                        .bind(json_string(name))
                        .bind(json_string(FORMER_MEMBER))
                        .execute(&mut *tx)
                        .await?;
                    changed += done.rows_affected();
                }
            }
        }
        tx.commit().await?;
        Ok(changed)
    })
}

/// `text` as a JSON string, quotes included: how a change's data in the outbox holds a name.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
