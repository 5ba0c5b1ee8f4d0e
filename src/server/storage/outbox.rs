//! The outbox: what changed, one row per change to an issue, written in the change's own
//! transaction by the store's writes ([`publish`]), so an acknowledged change always has its
//! row and a row never exists without its change. Whatever delivers changes reads it in `seq`
//! order (`server::delivery`): the live board, notifications, and `GET /api/v1/events`.
//!
//! `seq` comes from one counter row, taken as a write's last step and held (a row lock on
//! PostgreSQL; SQLite has one writer) until the write commits, so rows become visible in `seq`
//! order: a reader that has seen `seq` N will never later see a row below N appear. (A
//! sequence would not do: on PostgreSQL its numbers commit out of order.) The cost is that
//! writes to issues commit one at a time across instances, for the few milliseconds from
//! the counter to the commit.

use serde::{Deserialize, Serialize};

use crate::access::Viewer;
use crate::model::Issue;
use crate::server::storage::db::Db;
use crate::server::storage::tx::Tx;
use crate::{on_db, on_tx};

/// The PostgreSQL channel a write notifies (at its commit) so that every instance reads the
/// outbox at once rather than at its next poll.
pub const CHANNEL: &str = "issues_app_outbox";

/// The PostgreSQL channel the notifications' consumer notifies when it told people something,
/// so that every instance's bells ask again.
pub const INBOX_CHANNEL: &str = "issues_app_inbox";

/// Rows are kept this long (and while a consumer has not read them): long enough for a
/// program polling `GET /api/v1/events` to be away over a weekend.
pub const KEPT_DAYS: i64 = 7;

/// What a change was, as programs see it (`model::change_kind`).
pub use crate::model::change_kind as kind;

/// One field that changed: its name (as the issue's history names it) and the values before
/// and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// The comment a change was about. Its words are not carried: they are read with an
/// authorised call (`GET /api/v1/issues/{id}/comments`), so a deleted comment's words are gone
/// everywhere at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CommentRef {
    pub id: i64,
}

/// What a change carries for those it is delivered to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangeData {
    /// The issue as the change left it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<Issue>,
    /// The fields that changed, each with its value before and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentRef>,
}

/// One row of the outbox: change number `seq`, of `kind`, to issue `issue_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Change {
    /// Its place in the order of all changes; `GET /api/v1/events?after=` continues from it.
    pub seq: i64,
    /// One of `issue.created`, `issue.updated`, `issue.deleted`, `issue.restored`,
    /// `comment.created`, `comment.updated`, `comment.deleted`.
    pub kind: String,
    pub issue_id: i64,
    pub actor_sub: String,
    pub actor_name: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// Absent for an issue that has since been deleted, to a reader who may not see deleted
    /// issues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ChangeData>,
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    kind: String,
    issue_id: i64,
    actor_sub: String,
    actor_name: String,
    at: i64,
    data: String,
}

impl From<Row> for Change {
    fn from(row: Row) -> Self {
        // Written by `publish` from the same type; a row that does not read is delivered bare.
        let data = serde_json::from_str(&row.data)
            .inspect_err(|error| tracing::warn!(seq = row.seq, %error, "an outbox row's data does not read"))
            .ok();
        Self {
            seq: row.seq,
            kind: row.kind,
            issue_id: row.issue_id,
            actor_sub: row.actor_sub,
            actor_name: row.actor_name,
            at: row.at,
            data,
        }
    }
}

/// Records that `actor` made a change of `kind` to issue `issue_id` at `at_ms`, in the change's
/// transaction `tx`; its last statement but the audit trail's, as it holds the counter until
/// the commit. Answers its `seq`.
pub async fn publish(
    tx: &mut Tx,
    kind: &'static str,
    issue_id: i64,
    actor: &Viewer,
    at_ms: i64,
    data: &ChangeData,
) -> Result<i64, sqlx::Error> {
    let data = serde_json::to_string(data).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let seq: i64 = on_tx!(&mut *tx, |conn| sqlx::query_scalar(
        "UPDATE outbox_counter SET last = last + 1 WHERE id = 1 RETURNING last"
    )
    .fetch_one(conn)
    .await)?;
    on_tx!(&mut *tx, |conn| sqlx::query(
        "INSERT INTO outbox (seq, issue_id, kind, actor_sub, actor_name, at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(seq)
    .bind(issue_id)
    .bind(kind)
    .bind(&actor.sub)
    .bind(&actor.name)
    .bind(at_ms)
    .bind(&data)
    .execute(conn)
    .await
    .map(drop))?;
    if let Tx::Postgres(conn) = tx {
        // Delivered to listeners when (and only if) the transaction commits.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(seq.to_string())
            .execute(&mut **conn)
            .await?;
    }
    Ok(seq)
}

/// Up to `limit` changes after `after`, in order.
pub async fn after(db: &Db, after: i64, limit: i64) -> Result<Vec<Change>, sqlx::Error> {
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT seq, kind, issue_id, actor_sub, actor_name, at, data FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2"
    )
    .bind(after)
    .bind(limit.clamp(1, 1000))
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.into_iter().map(Change::from).collect())
}

/// The same in `tx` (a consumer reading what it will record as read in one transaction).
pub async fn after_in(tx: &mut Tx, after: i64, limit: i64) -> Result<Vec<Change>, sqlx::Error> {
    let rows: Vec<Row> = on_tx!(tx, |conn| {
        sqlx::query_as(
        "SELECT seq, kind, issue_id, actor_sub, actor_name, at, data FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2"
    )
    .bind(after)
    .bind(limit.clamp(1, 1000))
    .fetch_all(conn)
    .await
    })?;
    Ok(rows.into_iter().map(Change::from).collect())
}

/// The last `seq` handed out (0 before the first change): where a reader that wants only what
/// happens from now on starts.
pub async fn last(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT last FROM outbox_counter WHERE id = 1"
    )
    .fetch_one(pool)
    .await)
}

/// Of `issue_ids`, those deleted (not yet erased) now.
pub async fn deleted_among(db: &Db, issue_ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if issue_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = issue_ids.iter().map(i64::to_string).collect();
    // Integers only: written into the text, as the backends spell an array differently.
    let sql = format!(
        "SELECT id FROM issues WHERE deleted_at IS NOT NULL AND id IN ({})",
        list.join(",")
    );
    on_db!(db, |pool| sqlx::query_scalar(&sql).fetch_all(pool).await)
}

/// A consumer's place, read in `tx` and locked until it commits (one instance at a time moves
/// it); 0 for a consumer that has not read yet.
pub async fn cursor(tx: &mut Tx, consumer: &str) -> Result<i64, sqlx::Error> {
    on_tx!(&mut *tx, |conn| sqlx::query(
        "INSERT INTO outbox_cursors (consumer, last_seq) VALUES ($1, 0) ON CONFLICT (consumer) DO NOTHING"
    )
    .bind(consumer)
    .execute(conn)
    .await
    .map(drop))?;
    let sql = match tx {
        Tx::Postgres(_) => "SELECT last_seq FROM outbox_cursors WHERE consumer = $1 FOR UPDATE",
        Tx::Sqlite(_) => "SELECT last_seq FROM outbox_cursors WHERE consumer = $1",
    };
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(consumer).fetch_one(conn).await)
}

/// Moves `consumer`'s place to `seq`, in the transaction that read it.
pub async fn advance(tx: &mut Tx, consumer: &str, seq: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query(
        "UPDATE outbox_cursors SET last_seq = $2 WHERE consumer = $1"
    )
    .bind(consumer)
    .bind(seq)
    .execute(conn)
    .await
    .map(drop))
}

/// Erases changes older than `before_ms` that every consumer has read; how many.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM outbox WHERE at < $1 AND seq <= COALESCE((SELECT MIN(last_seq) FROM outbox_cursors), 0)"
    )
    .bind(before_ms)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}

/// What an instance said it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// Wrote changes (or a word may have been lost: read the outbox).
    Wrote,
    /// Told people something (their bells ask again): which instance said so.
    Told(String),
}

/// Word from other instances (PostgreSQL's `LISTEN`); with SQLite, whose only writer is this
/// process, nothing ever comes.
pub struct Wakeups {
    listener: Option<sqlx::postgres::PgListener>,
}

impl Wakeups {
    /// Listens on [`CHANNEL`] and [`INBOX_CHANNEL`] where the database is PostgreSQL.
    pub async fn new(db: &Db) -> Self {
        let Db::Postgres(pool) = db else {
            return Self { listener: None };
        };
        // A connection of its own, not one of the pool's: a listener holds it for good.
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*pool.connect_options()).clone());
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
            listener.listen_all([CHANNEL, INBOX_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let listener = listening
            .await
            .inspect_err(|error| tracing::warn!(%error, "could not listen for other instances' changes; polling"))
            .ok();
        Self { listener }
    }

    /// Waits for another instance's word (forever with SQLite, or while not listening).
    pub async fn next(&mut self) -> Word {
        match &mut self.listener {
            Some(listener) => match listener.recv().await {
                Ok(word) if word.channel() == INBOX_CHANNEL => Word::Told(word.payload().to_string()),
                Ok(_) => Word::Wrote,
                // A lost connection is reconnected at the next `recv`; meanwhile the poll reads.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    Word::Wrote
                }
            },
            None => std::future::pending().await,
        }
    }
}

/// Tells other instances (PostgreSQL) that people were told something, by instance `instance`
/// (which knows it already).
pub async fn announce_told(db: &Db, instance: &str) -> Result<(), sqlx::Error> {
    if let Db::Postgres(pool) = db {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(INBOX_CHANNEL)
            .bind(instance)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Whether the outbox has changes `consumer` has not read (read outside a transaction: a cheap
/// look before taking SQLite's write lock for nothing).
pub async fn unread_by(db: &Db, consumer: &str) -> Result<bool, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT (SELECT last FROM outbox_counter WHERE id = 1) > \
         COALESCE((SELECT last_seq FROM outbox_cursors WHERE consumer = $1), 0)"
    )
    .bind(consumer)
    .fetch_one(pool)
    .await)
}
