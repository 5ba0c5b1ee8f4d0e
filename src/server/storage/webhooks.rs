//! Webhook deliveries: each change a webhook is to receive, queued from the outbox in the
//! consumer's transaction ([`queue`]), then claimed by one instance at a time ([`claim`]: due,
//! not leased, and no earlier delivery of the same issue to the same webhook still pending, so
//! each webhook receives an issue's changes in order), and finished ([`finish`]) as delivered,
//! to be tried again, or failed. On PostgreSQL a claim skips rows another instance is claiming
//! (`FOR UPDATE SKIP LOCKED`); a lease outlives any attempt, so a crashed instance's claim is
//! taken up again once it lapses.

use crate::model::WebhookDelivery;
use crate::server::storage::db::Db;
use crate::server::storage::tx::Tx;
use crate::{on_db, on_tx};

pub mod state {
    pub const PENDING: &str = "pending";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
}

const COLUMNS: &str =
    "id, webhook, seq, issue_id, kind, state, attempts, next_at, last_status, last_error, created_at, done_at";

/// Queues change `seq` (of issue `issue_id`, of `kind`) for `webhook` with the body `payload`,
/// due now; nothing when it is queued already.
pub async fn queue(
    tx: &mut Tx,
    webhook: &str,
    (seq, issue_id, kind): (i64, i64, &str),
    payload: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO webhook_deliveries (webhook, seq, issue_id, kind, payload, state, attempts, next_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) ON CONFLICT (webhook, seq) DO NOTHING"
    )
    .bind(webhook)
    .bind(seq)
    .bind(issue_id)
    .bind(kind)
    .bind(payload)
    .bind(state::PENDING)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop))
}

/// A delivery this instance holds until its lease ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub webhook: String,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: i64,
    /// The lease's end as claimed: whoever still holds it may finish it.
    #[sqlx(skip)]
    pub lease: i64,
}

/// Up to `limit` deliveries due at `now_ms`, leased to this instance until `lease_until_ms`,
/// in the order of their changes.
pub async fn claim(db: &Db, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    const DUE: &str = "SELECT id, webhook, seq, kind, payload, attempts, created_at FROM webhook_deliveries AS d \
         WHERE state = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS e WHERE e.webhook = d.webhook \
         AND e.issue_id = d.issue_id AND e.state = 'pending' AND e.seq < d.seq) \
         ORDER BY seq LIMIT $2";
    let sql = match db {
        Db::Postgres(_) => format!("{DUE} FOR UPDATE SKIP LOCKED"),
        Db::Sqlite(_) => DUE.to_string(),
    };
    let mut tx = db.begin().await?;
    let mut claimed: Vec<Claimed> = on_tx!(&mut tx, |conn| sqlx::query_as(&sql)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
    for delivery in &mut claimed {
        delivery.lease = lease_until_ms;
    }
    for delivery in &claimed {
        on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = $2 WHERE id = $1"
        )
        .bind(delivery.id)
        .bind(lease_until_ms)
        .execute(conn)
        .await
        .map(drop))?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// What an attempt came to.
pub enum Outcome {
    /// The receiver took it (a 2xx answer).
    Delivered { status: u16 },
    /// Not taken: tried again at `next_at_ms`.
    Retry {
        status: Option<u16>,
        error: String,
        next_at_ms: i64,
    },
    /// Given up: past its day, or its webhook is no longer configured.
    Failed { status: Option<u16>, error: String },
}

/// Records how the attempt at `delivery` ended, at `now_ms`, and releases its lease; `false`
/// when the lease had lapsed and another instance took the delivery over (nothing recorded).
pub async fn finish(db: &Db, delivery: &Claimed, outcome: &Outcome, now_ms: i64) -> Result<bool, sqlx::Error> {
    let (state, status, error, next_at, done_at) = match outcome {
        Outcome::Delivered { status } => (state::DELIVERED, Some(*status), None, now_ms, Some(now_ms)),
        Outcome::Retry {
            status,
            error,
            next_at_ms,
        } => (state::PENDING, *status, Some(error.as_str()), *next_at_ms, None),
        Outcome::Failed { status, error } => (state::FAILED, *status, Some(error.as_str()), now_ms, Some(now_ms)),
    };
    on_db!(db, |pool| sqlx::query(
        "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_status = $3, last_error = $4, \
         next_at = $5, done_at = $6, lease_until = NULL WHERE id = $1 AND lease_until = $7"
    )
    .bind(delivery.id)
    .bind(state)
    .bind(status.map(i64::from))
    .bind(error)
    .bind(next_at)
    .bind(done_at)
    .bind(delivery.lease)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() == 1))
}

/// The newest `limit` deliveries (of `state`, when given), newest first.
pub async fn log(db: &Db, state: Option<&str>, limit: i64) -> Result<Vec<WebhookDelivery>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2");
    on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(state.unwrap_or_default())
        .bind(limit.clamp(1, 500))
        .fetch_all(pool)
        .await)
}

/// Posts failed delivery `id` again, from now, as if new (tried for a day again); `None` when there is no failed
/// delivery `id`. (It may then reach its webhook after later changes of the same issue.)
pub async fn redeliver(db: &Db, id: i64, now_ms: i64) -> Result<Option<WebhookDelivery>, sqlx::Error> {
    let sql = format!(
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_at = $2, lease_until = NULL, \
         created_at = $2, done_at = NULL, last_error = NULL, last_status = NULL \
         WHERE id = $1 AND state = 'failed' RETURNING {COLUMNS}"
    );
    on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(now_ms)
        .fetch_optional(pool)
        .await)
}

/// Erases deliveries finished before `before_ms`; how many.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND done_at < $1"
    )
    .bind(before_ms)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}
