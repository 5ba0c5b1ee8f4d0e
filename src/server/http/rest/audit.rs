//! The audit trail for programs: `GET /api/v1/audit` and its query.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{
    ApiError, BadRequest, Forbidden, InternalServerError, ServiceUnavailable, TooManyRequests, Unauthorized,
};
use super::extract::{ApiQuery, Bearer, authorize};
use crate::access::Permission;
use crate::model::AuditPage;
use crate::server::state::AppState;
use crate::server::storage::audit;

/// The outcomes the trail filters on.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Described, never built: the handler reads the text.
enum Outcome {
    Ok,
    Refused,
}

/// `GET /api/v1/audit` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// A person's `sub` or name (empty: anyone); no control characters.
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    who: Option<String>,
    /// `ok` or `refused`.
    #[param(value_type = Option<Outcome>, inline)]
    outcome: Option<String>,
    /// Continue before this event id (a page's `next_before`).
    before: Option<i64>,
    /// Events on the page: 1–50 (50 by default).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<i64>,
}

/// The audit trail, newest first.
///
/// A refusal repeated within a minute (the same event, caller and permission or reason) is one
/// event whose `repeats` counts the calls; every other event has `repeats` 1.
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "list_audit", params(AuditQuery),
    responses((status = 200, description = "A page of the audit trail", body = AuditPage),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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
    // PostgreSQL refuses text with a NUL: a bad request, not a database failure.
    if query
        .who
        .as_deref()
        .is_some_and(|who| who.chars().any(char::is_control))
    {
        return Err(ApiError::InvalidRequest("who has no control characters".into()));
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
