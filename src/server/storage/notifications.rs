//! People's notifications (written by `delivery::notify` from the outbox, one per change that
//! concerns them; and by the requests for access, [`tell_about_access`]) and who watches which
//! issue. An inbox shows only issues not deleted, and requests to answer only to a reader who
//! may answer them now; the caller decides first whether its reader may view issues at all.

use crate::model::{Inbox, Notification, UNREAD_CAP};
use crate::server::storage::db::Db;
use crate::server::storage::tx::Tx;
use crate::{on_db, on_tx};

/// Why a notification reached someone.
pub use crate::model::notification_reason as reason;

/// A notification to write: for `sub`, about change `seq` to issue `issue_id`.
pub struct NewNotification<'a> {
    pub sub: &'a str,
    pub seq: i64,
    pub issue_id: i64,
    pub reason: &'static str,
    /// The comment it is about (0: the issue or its description); for a request for access,
    /// the request.
    pub comment_id: i64,
    pub actor_name: &'a str,
    pub summary: &'a str,
    pub at: i64,
}

/// Writes `notification` unless its person has one for that change already.
pub async fn add(tx: &mut Tx, notification: &NewNotification<'_>) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO notifications (sub, seq, issue_id, reason, comment_id, actor_name, summary, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sub, seq) DO NOTHING"
    )
    .bind(notification.sub)
    .bind(notification.seq)
    .bind(notification.issue_id)
    .bind(notification.reason)
    .bind(notification.comment_id)
    .bind(notification.actor_name)
    .bind(notification.summary)
    .bind(notification.at)
    .execute(conn)
    .await
    .map(drop))
}

/// Who follows issue `issue_id` (written by `author_sub`): its author, those who commented on
/// it and those who watch it, less those who stopped watching it.
pub async fn followers(tx: &mut Tx, issue_id: i64, author_sub: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut subs: Vec<String> = on_tx!(&mut *tx, |conn| sqlx::query_scalar(
        "SELECT author_sub FROM comments WHERE issue_id = $1 AND deleted_at IS NULL \
         UNION SELECT sub FROM watchers WHERE issue_id = $1 AND watching = $2"
    )
    .bind(issue_id)
    .bind(true)
    .fetch_all(conn)
    .await)?;
    subs.push(author_sub.to_string());
    let stopped: Vec<String> = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT sub FROM watchers WHERE issue_id = $1 AND watching = $2"
    )
    .bind(issue_id)
    .bind(false)
    .fetch_all(conn)
    .await)?;
    subs.retain(|sub| !stopped.contains(sub));
    subs.sort_unstable();
    subs.dedup();
    Ok(subs)
}

/// Who the text at `comment_id` of issue `issue_id` (0: its description) mentions and has not
/// been told of it yet.
pub async fn newly_mentioned(tx: &mut Tx, issue_id: i64, comment_id: i64) -> Result<Vec<String>, sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT sub FROM mentions WHERE issue_id = $1 AND comment_id = $2 AND sub NOT IN \
         (SELECT sub FROM notifications WHERE issue_id = $1 AND comment_id = $2 AND reason = $3)"
    )
    .bind(issue_id)
    .bind(comment_id)
    .bind(reason::MENTIONED)
    .fetch_all(conn)
    .await)
}

/// The notification store, for the people they are for.
#[derive(Clone)]
pub struct Notifications {
    db: Db,
}

/// The notifications `$1` may see, `$3` saying whether they may answer requests for access now:
/// about an issue not deleted, or a request for access (issue 0).
const SHOWN: &str = "FROM notifications LEFT JOIN issues ON issues.id = notifications.issue_id \
    WHERE notifications.sub = $1 AND (notifications.issue_id <> 0 AND issues.deleted_at IS NULL AND issues.id IS NOT NULL \
    OR notifications.issue_id = 0 AND (notifications.reason <> 'access_asked' OR $3))";

/// Tells each of `subs` about request for access `request_id`: `reason` is
/// [`reason::ACCESS_ASKED`] (for those who answer requests) or [`reason::ACCESS_ANSWERED`]
/// (for the person who asked). Not about an issue (`issue_id` 0, `comment_id` the request);
/// numbered below zero, one number per request and reason (`-2 id`, `-2 id - 1`), so that
/// asking again with a new reason tells no one twice.
pub async fn tell_about_access(
    db: &Db,
    subs: &[String],
    (request_id, reason): (i64, &'static str),
    actor_name: &str,
    summary: &str,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    let seq = match reason {
        reason::ACCESS_ASKED => -2 * request_id,
        _ => -2 * request_id - 1,
    };
    let mut tx = db.begin().await?;
    for sub in subs {
        let notification = NewNotification {
            sub,
            seq,
            issue_id: 0,
            reason,
            comment_id: request_id,
            actor_name,
            summary,
            at: at_ms,
        };
        add(&mut tx, &notification).await?;
    }
    tx.commit().await
}

impl Notifications {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// `sub`'s newest `limit` notifications they may see (`may_review`: they may answer
    /// requests for access now), and how many are unread.
    pub async fn inbox(&self, sub: &str, may_review: bool, limit: i64) -> Result<Inbox, sqlx::Error> {
        let sql = format!(
            "SELECT notifications.id, notifications.issue_id, notifications.reason, notifications.actor_name, \
             notifications.summary, notifications.at, notifications.read_at \
             {SHOWN} ORDER BY notifications.id DESC LIMIT $2"
        );
        let notifications: Vec<Notification> = on_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(sub)
            .bind(limit)
            .bind(may_review)
            .fetch_all(pool)
            .await)?;
        Ok(Inbox {
            notifications,
            unread: self.unread(sub, may_review).await?,
        })
    }

    /// How many of `sub`'s notifications they may see are unread, up to one past
    /// [`UNREAD_CAP`].
    pub async fn unread(&self, sub: &str, may_review: bool) -> Result<i64, sqlx::Error> {
        let sql =
            format!("SELECT COUNT(*) FROM (SELECT 1 {SHOWN} AND notifications.read_at IS NULL LIMIT $2) AS unread");
        on_db!(&self.db, |pool| sqlx::query_scalar(&sql)
            .bind(sub)
            .bind(UNREAD_CAP + 1)
            .bind(may_review)
            .fetch_one(pool)
            .await)
    }

    /// Marks `sub`'s notification `id` read (`None`: all of them); how many were unread.
    pub async fn mark_read(&self, sub: &str, id: Option<i64>, now_ms: i64) -> Result<u64, sqlx::Error> {
        let sql = match id {
            Some(_) => "UPDATE notifications SET read_at = $2 WHERE sub = $1 AND read_at IS NULL AND id = $3",
            None => "UPDATE notifications SET read_at = $2 WHERE sub = $1 AND read_at IS NULL AND $3 = 0",
        };
        on_db!(&self.db, |pool| sqlx::query(sql)
            .bind(sub)
            .bind(now_ms)
            .bind(id.unwrap_or(0))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
    }

    /// `sub` watches issue `issue_id` (`true`), or stops following it (`false`), even one they
    /// created or commented on.
    pub async fn watch(&self, issue_id: i64, sub: &str, watching: bool) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |pool| sqlx::query(
            "INSERT INTO watchers (issue_id, sub, watching) VALUES ($1, $2, $3) \
             ON CONFLICT (issue_id, sub) DO UPDATE SET watching = excluded.watching"
        )
        .bind(issue_id)
        .bind(sub)
        .bind(watching)
        .execute(pool)
        .await
        .map(drop))
    }

    /// Whether `sub` follows issue `issue_id`: they watch it, or they wrote it or commented on
    /// it and have not stopped.
    pub async fn follows(&self, issue_id: i64, sub: &str) -> Result<bool, sqlx::Error> {
        let said: Option<bool> = on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT watching FROM watchers WHERE issue_id = $1 AND sub = $2"
        )
        .bind(issue_id)
        .bind(sub)
        .fetch_optional(pool)
        .await)?;
        if let Some(said) = said {
            return Ok(said);
        }
        on_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM issues WHERE id = $1 AND author_sub = $2) \
             OR EXISTS (SELECT 1 FROM comments WHERE issue_id = $1 AND author_sub = $2 AND deleted_at IS NULL)"
        )
        .bind(issue_id)
        .bind(sub)
        .fetch_one(pool)
        .await)
    }
}
