//! What happens to a comment after it is written: its author edits it (the earlier body kept as
//! a revision) or deletes it (its text erased, its place in the thread kept), someone who may
//! edit issues hides or shows it; each recorded in the issue's history. And who is mentioned
//! where (`mentions`), for people's home pages.

use crate::access::Viewer;
use crate::model::{Comment, CommentRevision, Issue, event_kind};
use crate::server::storage::db::Db;
use crate::server::storage::outbox::{self, ChangeData, CommentRef};
use crate::server::storage::tx::Tx;
use crate::{on_db, on_tx};

use super::board::select_live;
use super::events::{self, Happened};
use super::types::COMMENT_COLUMNS;

/// What a change to a comment came to.
#[derive(Debug)]
pub enum CommentChanged {
    Done(Comment),
    /// It already was so (the same body, hidden or shown already): nothing recorded.
    Unchanged(Comment),
    /// No such comment on that issue (or the issue is deleted), or the comment was deleted.
    NotFound,
    /// Only its author may edit or delete a comment.
    NotAuthor,
}

/// What a comment may become.
pub enum CommentEdit<'a> {
    /// A new body, by its author.
    Body(&'a str),
    /// Deleted by its author.
    Delete,
    /// Hidden (`true`) or shown again, by an editor.
    Hide(bool),
}

/// Applies `edit` to comment `comment_id` of issue `issue_id`, by `actor`, recorded in the
/// issue's history.
pub async fn change_comment(
    tx: &mut Tx,
    issue_id: i64,
    comment_id: i64,
    edit: CommentEdit<'_>,
    actor: &Viewer,
    now_ms: i64,
) -> Result<CommentChanged, sqlx::Error> {
    let sql = format!(
        "SELECT {COMMENT_COLUMNS} FROM comments WHERE id = $1 AND issue_id = $2 AND deleted_at IS NULL \
         AND EXISTS (SELECT 1 FROM issues WHERE issues.id = $2 AND issues.deleted_at IS NULL){}",
        if matches!(tx, Tx::Postgres(_)) {
            " FOR UPDATE"
        } else {
            ""
        }
    );
    let current: Option<Comment> = on_tx!(&mut *tx, |conn| sqlx::query_as(&sql)
        .bind(comment_id)
        .bind(issue_id)
        .fetch_optional(conn)
        .await)?;
    let Some(current) = current else {
        return Ok(CommentChanged::NotFound);
    };
    let by_author = current.author_sub == actor.sub;
    let named = Some(format!("comment {comment_id}"));
    let kind = match edit {
        CommentEdit::Body(_) | CommentEdit::Delete if !by_author => return Ok(CommentChanged::NotAuthor),
        CommentEdit::Body(body) if body == current.body => return Ok(CommentChanged::Unchanged(current)),
        CommentEdit::Body(body) => {
            on_tx!(&mut *tx, |conn| sqlx::query(
                "INSERT INTO comment_revisions (comment_id, body, replaced_at, editor_name) VALUES ($1, $2, $3, $4)"
            )
            .bind(comment_id)
            .bind(&current.body)
            .bind(now_ms)
            .bind(&actor.name)
            .execute(conn)
            .await
            .map(drop))?;
            on_tx!(&mut *tx, |conn| sqlx::query(
                "UPDATE comments SET body = $2, edited_at = $3 WHERE id = $1"
            )
            .bind(comment_id)
            .bind(body)
            .bind(now_ms)
            .execute(conn)
            .await
            .map(drop))?;
            event_kind::COMMENT_EDITED
        }
        CommentEdit::Delete => {
            // Its words are gone, earlier versions too; that it was there stays.
            on_tx!(&mut *tx, |conn| sqlx::query(
                "DELETE FROM comment_revisions WHERE comment_id = $1"
            )
            .bind(comment_id)
            .execute(conn)
            .await
            .map(drop))?;
            on_tx!(&mut *tx, |conn| sqlx::query(
                "DELETE FROM mentions WHERE issue_id = $1 AND comment_id = $2"
            )
            .bind(issue_id)
            .bind(comment_id)
            .execute(conn)
            .await
            .map(drop))?;
            const ERASE: &str = "UPDATE comments SET body = '', deleted_at = $2, hidden_by_name = NULL, \
                                 hidden_by_sub = NULL WHERE id = $1";
            on_tx!(&mut *tx, |conn| sqlx::query(ERASE)
                .bind(comment_id)
                .bind(now_ms)
                .execute(conn)
                .await
                .map(drop))?;
            on_tx!(&mut *tx, |conn| sqlx::query(
                "UPDATE issues SET comment_count = comment_count - 1 WHERE id = $1 AND comment_count > 0"
            )
            .bind(issue_id)
            .execute(conn)
            .await
            .map(drop))?;
            event_kind::COMMENT_DELETED
        }
        CommentEdit::Hide(hide) if hide == current.hidden_by_name.is_some() => {
            return Ok(CommentChanged::Unchanged(current));
        }
        CommentEdit::Hide(hide) => {
            let (name, sub) = match hide {
                true => (Some(actor.name.as_str()), Some(actor.sub.as_str())),
                false => (None, None),
            };
            on_tx!(&mut *tx, |conn| sqlx::query(
                "UPDATE comments SET hidden_by_name = $2, hidden_by_sub = $3 WHERE id = $1"
            )
            .bind(comment_id)
            .bind(name)
            .bind(sub)
            .execute(conn)
            .await
            .map(drop))?;
            if hide {
                event_kind::COMMENT_HIDDEN
            } else {
                event_kind::COMMENT_SHOWN
            }
        }
    };
    on_tx!(&mut *tx, |conn| sqlx::query(
        "UPDATE issues SET updated_at = $2 WHERE id = $1"
    )
    .bind(issue_id)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop))?;
    let happened = [Happened::new(kind, None, named)];
    events::record(tx, issue_id, &happened, actor, now_ms).await?;
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE id = $1");
    let changed: Comment = on_tx!(&mut *tx, |conn| sqlx::query_as(&sql)
        .bind(comment_id)
        .fetch_one(conn)
        .await)?;
    let sql = select_live();
    let issue: Option<Issue> = on_tx!(&mut *tx, |conn| sqlx::query_as(&sql)
        .bind(issue_id)
        .fetch_optional(conn)
        .await)?;
    let mut data = match &issue {
        Some(issue) => events::published(issue, &happened),
        None => ChangeData::default(),
    };
    data.comment = Some(CommentRef { id: changed.id });
    let published = match kind {
        event_kind::COMMENT_DELETED => outbox::kind::COMMENT_DELETED,
        _ => outbox::kind::COMMENT_UPDATED,
    };
    outbox::publish(tx, published, issue_id, actor, now_ms, &data).await?;
    Ok(CommentChanged::Done(changed))
}

/// Gives each edited comment in `comments` its earlier bodies, oldest first.
pub(super) async fn attach_revisions(db: &Db, comments: &mut [Comment]) -> Result<(), sqlx::Error> {
    let edited: Vec<i64> = comments
        .iter()
        .filter(|comment| comment.edited_at.is_some())
        .map(|comment| comment.id)
        .collect();
    if edited.is_empty() {
        return Ok(());
    }
    let list = edited.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT comment_id, body, replaced_at, editor_name FROM comment_revisions \
         WHERE comment_id IN ({list}) ORDER BY comment_id, id"
    );
    let revisions: Vec<CommentRevision> = on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
    for comment in comments.iter_mut() {
        comment.revisions = revisions
            .iter()
            .filter(|revision| revision.comment_id == comment.id)
            .cloned()
            .collect();
    }
    Ok(())
}

/// Records that the text at `comment_id` of issue `issue_id` (0: its description) mentions
/// exactly `subs` now.
pub async fn record_mentions(
    tx: &mut Tx,
    issue_id: i64,
    comment_id: i64,
    subs: &[String],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(&mut *tx, |conn| sqlx::query(
        "DELETE FROM mentions WHERE issue_id = $1 AND comment_id = $2"
    )
    .bind(issue_id)
    .bind(comment_id)
    .execute(conn)
    .await
    .map(drop))?;
    for sub in subs {
        on_tx!(&mut *tx, |conn| sqlx::query(
            "INSERT INTO mentions (issue_id, comment_id, sub, at) VALUES ($1, $2, $3, $4)"
        )
        .bind(issue_id)
        .bind(comment_id)
        .bind(sub)
        .bind(now_ms)
        .execute(conn)
        .await
        .map(drop))?;
    }
    Ok(())
}
