//! Notifications from the outbox: each change becomes at most one notification per person it
//! concerns, never for the person who made it. Read in one transaction with the consumer's
//! place in the outbox, so a change is turned into notifications exactly once, whatever
//! instance reads it and whenever it crashes (on PostgreSQL the place is locked while one
//! instance reads).
//!
//! Who it concerns: the person an issue is assigned to; the people a description or comment
//! newly mentions; and for a comment or a close or reopen, the issue's followers (its author,
//! those who commented, those who watch it, less those who stopped).

use std::sync::Arc;

use tokio::sync::watch;

use super::feed::Feed;
use super::{POLL, wrote};
use crate::model::{CLOSED, event_kind};
use crate::server::storage::db::Db;
use crate::server::storage::notifications::{self, NewNotification, reason};
use crate::server::storage::outbox::{self, Change, kind};
use crate::server::storage::tx::Tx;

/// This consumer's name in `outbox_cursors`.
pub const CONSUMER: &str = "notifications";
/// Changes read per transaction.
const BATCH: i64 = 200;

/// What one round of [`deliver`] did.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Changes read.
    pub read: usize,
    /// Who was told something.
    pub told: Vec<String>,
}

/// Turns changes into notifications as they are written, for as long as it is polled; says to
/// `feed` (and other instances) whose bells should ask again.
pub async fn run(db: Db, mut writes: watch::Receiver<u64>, feed: Arc<Feed>) {
    loop {
        loop {
            match deliver(&db).await {
                Ok(delivered) => {
                    if !delivered.told.is_empty() {
                        feed.told(delivered.told);
                        if let Err(error) = outbox::announce_told(&db, feed.instance()).await {
                            tracing::warn!(%error, "could not tell other instances of new notifications");
                        }
                    }
                    if delivered.read < BATCH as usize {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not turn changes into notifications; trying again");
                    break;
                }
            }
        }
        tokio::select! {
            () = wrote(&mut writes) => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Turns the next changes not yet read into notifications.
pub async fn deliver(db: &Db) -> Result<Delivered, sqlx::Error> {
    if !outbox::unread_by(db, CONSUMER).await? {
        return Ok(Delivered::default());
    }
    let mut tx = db.begin().await?;
    let place = outbox::cursor(&mut tx, CONSUMER).await?;
    let changes = outbox::after_in(&mut tx, place, BATCH).await?;
    let mut told = Vec::new();
    for change in &changes {
        told.extend(fan_out(&mut tx, change).await?);
    }
    if let Some(last) = changes.last() {
        outbox::advance(&mut tx, CONSUMER, last.seq).await?;
    }
    tx.commit().await?;
    told.sort_unstable();
    told.dedup();
    Ok(Delivered {
        read: changes.len(),
        told,
    })
}

/// The notifications of one change; whom they are for.
async fn fan_out(tx: &mut Tx, change: &Change) -> Result<Vec<String>, sqlx::Error> {
    let Some(data) = &change.data else {
        return Ok(Vec::new());
    };
    let Some(issue) = &data.issue else {
        return Ok(Vec::new());
    };
    let (by, number, title) = (&change.actor_name, issue.id, &issue.title);
    let changed = |field: &str| data.changes.iter().find(|c| c.field == field);
    // (who, why, what, the comment it is about), the first reason for a person kept.
    let mut picked: Vec<(String, &'static str, String, i64)> = Vec::new();
    if change.kind == kind::ISSUE_UPDATED
        && changed(event_kind::ASSIGNEE).is_some_and(|c| c.new.is_some())
        && let Some(assignee) = &issue.assignee_sub
    {
        let what = format!("{by} assigned #{number} “{title}” to you");
        picked.push((assignee.clone(), reason::ASSIGNED, what, 0));
    }
    let comment_id = data.comment.as_ref().map(|comment| comment.id);
    let mentions_at = match change.kind.as_str() {
        kind::ISSUE_CREATED => Some(0),
        kind::ISSUE_UPDATED if changed(event_kind::DESCRIPTION).is_some() => Some(0),
        kind::COMMENT_CREATED => comment_id,
        kind::COMMENT_UPDATED if changed(event_kind::COMMENT_EDITED).is_some() => comment_id,
        _ => None,
    };
    if let Some(place) = mentions_at {
        for sub in notifications::newly_mentioned(tx, number, place).await? {
            let what = format!("{by} mentioned you in #{number} “{title}”");
            picked.push((sub, reason::MENTIONED, what, place));
        }
    }
    let followed = match (change.kind.as_str(), changed(event_kind::STATUS)) {
        (kind::COMMENT_CREATED, _) => Some(format!("{by} commented on #{number} “{title}”")),
        (kind::ISSUE_UPDATED, Some(status)) if status.new.as_deref() == Some(CLOSED) => {
            Some(format!("{by} closed #{number} “{title}”"))
        }
        (kind::ISSUE_UPDATED, Some(_)) => Some(format!("{by} reopened #{number} “{title}”")),
        _ => None,
    };
    if let Some(what) = followed {
        for sub in notifications::followers(tx, number, &issue.author_sub).await? {
            picked.push((sub, reason::WATCHING, what.clone(), 0));
        }
    }
    let mut told: Vec<&str> = vec![change.actor_sub.as_str()];
    for (sub, why, what, comment_id) in &picked {
        if told.contains(&sub.as_str()) {
            continue;
        }
        told.push(sub);
        let notification = NewNotification {
            sub,
            seq: change.seq,
            issue_id: number,
            reason: why,
            comment_id: *comment_id,
            actor_name: by,
            summary: what,
            at: change.at,
        };
        notifications::add(tx, &notification).await?;
    }
    Ok(told.into_iter().skip(1).map(str::to_string).collect())
}
