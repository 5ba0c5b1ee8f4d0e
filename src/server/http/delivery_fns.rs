//! The server functions of what reaches people (`api.rs` declares them): the bell and the
//! inbox, watching an issue, and the webhook delivery log for auditors. Each guards with
//! `server_fns::authorize` (the bell's count only peeks at the session), then calls the store.

use crate::access::{Permission, Viewer};
use crate::error::AppError;
use crate::server::http::server_fns::{authorize, call_request_id, context};
use crate::server::state::AppState;
use crate::server::storage::audit::{self, Door, EventKind};
use crate::server::storage::db::database_error;
use crate::server::support::clock;

/// The caller's newest notifications and how many are unread (issues deleted since are left
/// out; without the view scope, refused like any reading of issues).
pub async fn notifications() -> Result<crate::model::Inbox, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let may_review = may_review(&state, &viewer);
    let inbox = state
        .notifications
        .inbox(&viewer.sub, may_review, crate::model::INBOX_SIZE)
        .await;
    inbox.map_err(database_error)
}

/// Whether `viewer` may answer requests for access now: only then are they shown the requests
/// they were told of.
pub(crate) fn may_review(state: &AppState, viewer: &Viewer) -> bool {
    state
        .config
        .load()
        .features
        .allows(&viewer.scopes, Permission::ReviewAccess)
}

/// How many of the caller's notifications are unread (the bell); 0 without the view scope,
/// which is not refused: the bell asks on every page.
pub async fn unread_notifications() -> Result<i64, AppError> {
    let (state, session) = context().await?;
    // Asked by the page as notifications arrive (`public/live.js`), not by the person: not
    // counted as use, so an open tab does not keep the session alive.
    let Some(current) = state.sessions.peek(&session, clock::now()).await? else {
        return Err(AppError::Unauthenticated);
    };
    let viewer = current.row.viewer();
    if !state
        .config
        .load()
        .features
        .allows(&viewer.scopes, Permission::ViewIssues)
    {
        return Ok(0);
    }
    let may_review = may_review(&state, &viewer);
    state
        .notifications
        .unread(&viewer.sub, may_review)
        .await
        .map_err(database_error)
}

/// Marks the caller's notification `id` read, or all of them (`id` 0).
pub async fn mark_read(id: i64) -> Result<(), AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let which = (id != 0).then_some(id);
    state
        .notifications
        .mark_read(&viewer.sub, which, clock::now_millis())
        .await
        .map(drop)
        .map_err(database_error)
}

/// The caller watches issue `issue` (`true`) or stops following it (`false`).
pub async fn watch_issue(issue: i64, watching: bool) -> Result<bool, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    state
        .issues
        .get(issue)
        .await
        .map_err(database_error)?
        .ok_or(AppError::NotFound)?;
    state
        .notifications
        .watch(issue, &viewer.sub, watching)
        .await
        .map_err(database_error)?;
    Ok(watching)
}

/// Whether the caller follows issue `issue` (watches it, or wrote or commented on it and has
/// not stopped).
pub async fn follows_issue(issue: i64) -> Result<bool, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    state
        .notifications
        .follows(issue, &viewer.sub)
        .await
        .map_err(database_error)
}

/// The newest webhook deliveries, for auditors.
pub async fn webhook_deliveries() -> Result<Vec<crate::model::WebhookDelivery>, AppError> {
    let (state, _viewer) = authorize(Permission::ViewAudit).await?;
    let log = crate::server::storage::webhooks::log(&state.db, None, crate::model::DELIVERY_LOG_SIZE).await;
    log.map_err(database_error)
}

/// Posts failed webhook delivery `id` again, recorded in the audit trail.
pub async fn redeliver_webhook(id: i64) -> Result<(), AppError> {
    let (state, viewer) = authorize(Permission::ViewAudit).await?;
    let delivery = crate::server::storage::webhooks::redeliver(&state.db, id, clock::now_millis())
        .await
        .map_err(database_error)?
        .ok_or(AppError::NotFound)?;
    let request_id = call_request_id();
    state
        .audit
        .record(audit::Event {
            actor: Some(&viewer),
            via: Some(Door::ServerFunction),
            detail: Some(format!(
                "delivery {id} of change {} to {}",
                delivery.seq, delivery.webhook
            )),
            request_id: request_id.as_deref(),
            ..audit::Event::new(EventKind::WebhookRedelivered)
        })
        .await;
    Ok(())
}
