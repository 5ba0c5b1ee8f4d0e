//! `GET /api/v1/events?after=<seq>`: every change to every issue, in the order they were made,
//! for programs that poll instead of taking webhooks. The page is read with the token's scopes
//! as they are now: the view scope reads it; a change to an issue deleted since is only its
//! number and kind unless the token may see deleted issues (the delete scope).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{
    ApiError, BadRequest, Forbidden, InternalServerError, ServiceUnavailable, TooManyRequests, Unauthorized,
};
use super::extract::{ApiQuery, Bearer, authorize};
use crate::access::Permission;
use crate::server::state::AppState;
use crate::server::storage::outbox::{self, Change};

/// Changes on a page at most.
pub const EVENTS_PAGE_MAX: i64 = 500;

/// `GET /api/v1/events` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Continue after this change (a page's `next_after`, or 0 for the oldest kept).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Changes on the page: 1–500 (100 by default).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// A page of changes, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub events: Vec<Change>,
    /// Where the next page starts (`after`): the last change's `seq`, or the request's `after`
    /// when there was nothing new. Poll again with it.
    pub next_after: i64,
}

/// Every change to an issue (created, updated, deleted, restored; comments created, updated,
/// deleted), oldest first, after change `after`. Kept for 7 days.
#[utoipa::path(get, path = "/api/v1/events", operation_id = "list_events", params(ChangesQuery),
    responses((status = 200, description = "A page of changes", body = ChangePage),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<ChangesQuery>, ApiError>,
) -> Result<Json<ChangePage>, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let ApiQuery(query) = query?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::InvalidRequest(
            "`after` is a change's `seq`: 0 or more.".into(),
        ));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=EVENTS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::InvalidRequest(format!("`limit` is 1 to {EVENTS_PAGE_MAX}.")));
    }
    let mut events = outbox::after(&state.db, after, limit).await?;
    let sees_deleted = state
        .config
        .load()
        .features
        .allows(&caller.viewer.scopes, Permission::DeleteIssue);
    if !sees_deleted {
        let mut ids: Vec<i64> = events.iter().map(|change| change.issue_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let deleted = outbox::deleted_among(&state.db, &ids).await?;
        for change in events.iter_mut().filter(|change| deleted.contains(&change.issue_id)) {
            change.data = None;
        }
    }
    let next_after = events.last().map_or(after, |change| change.seq);
    Ok(Json(ChangePage { events, next_after }))
}
