//! What is erased, and when: deleted issues (with their comments and search entries) once
//! `Server.DeletedRetentionDays` have passed, and a person's name on `issues-app forget-person`
//! (their issues and comments stay, attributed to "a former member").

use crate::on_db;
use crate::server::storage::db::Db;

/// The name a forgotten person's work is attributed to.
pub const FORMER_MEMBER: &str = "a former member";

/// Issues erased per transaction: a long backlog never holds the writer for long.
const ERASED_PER_ROUND: i64 = 500;

/// Erases the issues deleted before `deleted_before_ms` (Unix milliseconds), their comments
/// and their search entries, in rounds; returns how many issues.
pub async fn erase_deleted(db: &Db, deleted_before_ms: i64) -> Result<u64, sqlx::Error> {
    const ROUND: &str = "SELECT id FROM issues WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY id LIMIT $2";
    let mut erased = 0;
    loop {
        let round = on_db!(db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(&format!("DELETE FROM comments WHERE issue_id IN ({ROUND})"))
                .bind(deleted_before_ms)
                .bind(ERASED_PER_ROUND)
                .execute(&mut *tx)
                .await?;
            let issues = sqlx::query(&format!("DELETE FROM issues WHERE id IN ({ROUND})"))
                .bind(deleted_before_ms)
                .bind(ERASED_PER_ROUND)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(issues.rows_affected())
        })?;
        erased += round;
        if round < ERASED_PER_ROUND as u64 {
            return Ok(erased);
        }
    }
}

/// What forgetting a person changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Rows whose name was replaced: people, issues (as author, closer or assignee), comments,
    /// sign-ins and audit events.
    pub rows: u64,
    /// Whether the person had signed in here at all.
    pub known: bool,
}

/// Replaces the name of `sub` with [`FORMER_MEMBER`] everywhere it is kept, in one transaction.
pub async fn forget_person(db: &Db, sub: &str) -> Result<Forgotten, sqlx::Error> {
    const RENAMES: [&str; 7] = [
        "UPDATE people SET name = $2 WHERE sub = $1",
        "UPDATE issues SET author_name = $2 WHERE author_sub = $1",
        "UPDATE issues SET closed_by_name = $2 WHERE closed_by_sub = $1",
        "UPDATE issues SET assignee_name = $2 WHERE assignee_sub = $1",
        "UPDATE comments SET author_name = $2 WHERE author_sub = $1",
        "UPDATE sign_ins SET name = $2 WHERE sub = $1",
        "UPDATE audit_events SET actor_name = $2 WHERE actor_sub = $1",
    ];
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut forgotten = Forgotten::default();
        for (index, rename) in RENAMES.into_iter().enumerate() {
            let changed = sqlx::query(rename)
                .bind(sub)
                .bind(FORMER_MEMBER)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            forgotten.known |= index == 0 && changed > 0;
            forgotten.rows += changed;
        }
        tx.commit().await?;
        Ok(forgotten)
    })
}
