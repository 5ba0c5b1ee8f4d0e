//! Notifications to mail: each notification of the last day not yet mailed, for someone who
//! wants mail as it happens ([`claim`], leased to one instance, skipping what another is
//! sending on PostgreSQL) or a daily digest ([`claim_digest`], one instance per person per
//! day); then marked [`sent`](mail_state::SENT), [`skipped`](mail_state::SKIPPED) or tried
//! again ([`finish`]). With each, who it is for: their address and the scopes they hold now
//! (their newest sign-in's, else those they last signed in with), so a mail is sent only to
//! someone who may still view the issue.

use crate::on_db;
use crate::server::storage::db::Db;

pub mod mail_state {
    pub const SENT: &str = "sent";
    pub const SKIPPED: &str = "skipped";
    pub const FAILED: &str = "failed";
}

/// Notifications older than this are not mailed (a server that starts mailing does not send
/// the past).
pub const MAIL_WITHIN_MS: i64 = 86_400_000;

/// A notification to mail and whom to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ToMail {
    pub id: i64,
    pub sub: String,
    pub name: String,
    pub email: String,
    /// Space-separated.
    pub scopes: String,
    pub issue_id: i64,
    pub reason: String,
    pub summary: String,
    pub at: i64,
    pub attempts: i64,
    /// The lease's end as claimed: whoever still holds it may mark it.
    #[sqlx(skip)]
    pub lease: i64,
}

/// The columns of a [`ToMail`], from `notifications AS n JOIN people AS p`.
const TO_MAIL: &str = "n.id, n.sub, p.name, p.email, \
    COALESCE((SELECT s.scopes FROM sign_ins AS s WHERE s.sub = n.sub ORDER BY s.created_at DESC LIMIT 1), p.scopes) AS scopes, \
    n.issue_id, n.reason, n.summary, n.at, n.mail_attempts AS attempts";

/// Which notifications are still to mail at `$1`: of the last day, not mailed, due, about an
/// issue not deleted (or a request for access), for someone with an address who signed in here within 30 days (an
/// account closed at the provider signs in no more; its last scopes would still read as
/// granted).
const DUE: &str = "n.mail_state IS NULL AND n.at >= $1 - 86400000 \
    AND (n.mail_next_at IS NULL OR n.mail_next_at <= $1) AND p.email IS NOT NULL \
    AND p.last_seen_at * 1000 >= $1 - 2592000000 \
    AND (n.issue_id = 0 OR EXISTS (SELECT 1 FROM issues AS i WHERE i.id = n.issue_id AND i.deleted_at IS NULL))";

/// Up to `limit` notifications due at `now_ms` for people who want mail as it happens, leased
/// until `lease_until_ms`.
pub async fn claim(db: &Db, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<ToMail>, sqlx::Error> {
    let select = format!(
        "SELECT {TO_MAIL} FROM notifications AS n JOIN people AS p ON p.sub = n.sub \
         WHERE {DUE} AND p.mail = 'immediately' AND (n.mail_lease_until IS NULL OR n.mail_lease_until < $1) \
         ORDER BY n.id LIMIT $2"
    );
    let select = match db {
        Db::Postgres(_) => format!("{select} FOR UPDATE OF n SKIP LOCKED"),
        Db::Sqlite(_) => select,
    };
    let mut tx = db.begin().await?;
    let mut claimed: Vec<ToMail> = crate::on_tx!(&mut tx, |conn| sqlx::query_as(&select)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
    for mail in &mut claimed {
        mail.lease = lease_until_ms;
    }
    for mail in &claimed {
        crate::on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE notifications SET mail_lease_until = $2 WHERE id = $1"
        )
        .bind(mail.id)
        .bind(lease_until_ms)
        .execute(conn)
        .await
        .map(drop))?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// The people whose daily digest is due at `now_ms` (none sent in the last day, something to
/// tell), each claimed for this instance by marking the digest sent now; with what to tell
/// them, oldest first, leased until `lease_until_ms`.
pub async fn claim_digest(db: &Db, now_ms: i64, lease_until_ms: i64) -> Result<Vec<Vec<ToMail>>, sqlx::Error> {
    let due: Vec<String> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT p.sub FROM people AS p WHERE p.mail = 'daily' AND p.email IS NOT NULL \
         AND (p.digest_sent_at IS NULL OR p.digest_sent_at <= $1 - 86400000) \
         AND EXISTS (SELECT 1 FROM notifications AS n WHERE n.sub = p.sub AND n.mail_state IS NULL AND n.at >= $1 - 86400000) \
         LIMIT 100"
    )
    .bind(now_ms)
    .fetch_all(pool)
    .await
    })?;
    let mut digests = Vec::new();
    let select = format!(
        "SELECT {TO_MAIL} FROM notifications AS n JOIN people AS p ON p.sub = n.sub \
         WHERE {DUE} AND n.sub = $2 ORDER BY n.id LIMIT 200"
    );
    for sub in due {
        // The claim and the leases together: whoever looks sees the digest due, or being sent.
        let mut tx = db.begin().await?;
        let claimed = crate::on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE people SET digest_sent_at = $2 WHERE sub = $1 \
             AND (digest_sent_at IS NULL OR digest_sent_at <= $2 - 86400000)"
        )
        .bind(&sub)
        .bind(now_ms)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        if claimed == 0 {
            tx.rollback().await?;
            continue;
        }
        let mut items: Vec<ToMail> = crate::on_tx!(&mut tx, |conn| sqlx::query_as(&select)
            .bind(now_ms)
            .bind(&sub)
            .fetch_all(conn)
            .await)?;
        for item in &mut items {
            item.lease = lease_until_ms;
        }
        for item in &items {
            crate::on_tx!(&mut tx, |conn| sqlx::query(
                "UPDATE notifications SET mail_lease_until = $2 WHERE id = $1"
            )
            .bind(item.id)
            .bind(lease_until_ms)
            .execute(conn)
            .await
            .map(drop))?;
        }
        tx.commit().await?;
        if !items.is_empty() {
            digests.push(items);
        }
    }
    Ok(digests)
}

/// Marks `mails` mailed as `state` (sent, skipped or failed), those whose lease this instance
/// still holds.
pub async fn mark(db: &Db, mails: &[&ToMail], state: &str) -> Result<(), sqlx::Error> {
    for mail in mails {
        on_db!(db, |pool| sqlx::query(
            "UPDATE notifications SET mail_state = $2, mail_attempts = mail_attempts + 1, mail_lease_until = NULL \
             WHERE id = $1 AND mail_lease_until = $3"
        )
        .bind(mail.id)
        .bind(state)
        .bind(mail.lease)
        .execute(pool)
        .await
        .map(drop))?;
    }
    Ok(())
}

/// `mail` was not taken: tried again at `next_at_ms`.
pub async fn retry(db: &Db, mail: &ToMail, next_at_ms: i64) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE notifications SET mail_attempts = mail_attempts + 1, mail_next_at = $2, mail_lease_until = NULL \
         WHERE id = $1 AND mail_lease_until = $3"
    )
    .bind(mail.id)
    .bind(next_at_ms)
    .bind(mail.lease)
    .execute(pool)
    .await
    .map(drop))
}

/// A digest of `mails` that could not be sent: `sub`'s digest is due again at `again_at_ms`
/// (its notifications were left unmailed, and let go).
pub async fn digest_failed(db: &Db, sub: &str, mails: &[ToMail], again_at_ms: i64) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE people SET digest_sent_at = $2 WHERE sub = $1"
    )
    .bind(sub)
    .bind(again_at_ms - MAIL_WITHIN_MS)
    .execute(pool)
    .await
    .map(drop))?;
    for mail in mails {
        on_db!(db, |pool| sqlx::query(
            "UPDATE notifications SET mail_lease_until = NULL WHERE id = $1 AND mail_lease_until = $2"
        )
        .bind(mail.id)
        .bind(mail.lease)
        .execute(pool)
        .await
        .map(drop))?;
    }
    Ok(())
}
