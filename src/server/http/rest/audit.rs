//! The audit trail for programs: `GET /api/v1/audit` and its query.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use super::extract::{ApiQuery, Bearer, authorize};
use crate::access::Permission;
use crate::model::AuditPage;
use crate::server::state::AppState;
use crate::server::storage::audit;

/// `GET /api/v1/audit` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// A person's `sub` or name.
    who: Option<String>,
    /// `ok` or `refused`.
    outcome: Option<String>,
    /// Continue before this event id (a page's `next_before`).
    before: Option<i64>,
    /// 1–50.
    limit: Option<i64>,
}

/// The audit trail, newest first.
///
/// A refusal repeated within a minute (the same event, caller and permission or reason) is one
/// event whose `repeats` counts the calls; every other event has `repeats` 1.
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "list_audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_audit"))))]
pub(super) async fn audit_trail(
    State(state): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<AuditQuery>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewAudit).await?;
    let ApiQuery(query) = query?;
    if query
        .outcome
        .as_deref()
        .is_some_and(|outcome| outcome != "ok" && outcome != "refused")
    {
        return Err(ApiError::InvalidRequest("outcome is `ok` or `refused`".into()));
    }
    let filter = audit::Filter {
        who: query.who.filter(|who| !who.is_empty()),
        outcome: query.outcome,
    };
    let page = state
        .audit
        .page(&filter, query.before, query.limit.unwrap_or(audit::AUDIT_PAGE_SIZE))
        .await?;
    Ok(Json(page).into_response())
}
