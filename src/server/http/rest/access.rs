//! Access for admins and auditors: `GET /api/v1/access-requests` (the open ones, the longest
//! waiting first; or the answered ones, newest answer first) and `GET /api/v1/access-review`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{
    ApiError, BadRequest, Forbidden, InternalServerError, ServiceUnavailable, TooManyRequests, Unauthorized,
};
use super::extract::{ApiQuery, Bearer, authorize};
use crate::access::Permission;
use crate::model::{AccessRequest, PersonAccess};
use crate::server::ops::access_review;
use crate::server::state::AppState;
use crate::server::support::clock;

/// `GET /api/v1/access-requests` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessRequestsQuery {
    /// `open` (the default) or `answered`.
    #[param(pattern = "^(open|answered)$")]
    state: Option<String>,
    /// Requests listed: 1–500 (100 by default).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Requests for access: who asks for which action, the scopes it lacks and the roles that
/// grant them, why; and, once answered, the answer, its note and who gave it.
#[utoipa::path(get, path = "/api/v1/access-requests", operation_id = "list_access_requests", params(AccessRequestsQuery),
    responses((status = 200, description = "The requests", body = Vec<AccessRequest>),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("review_access"))))]
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<AccessRequestsQuery>, ApiError>,
) -> Result<Json<Vec<AccessRequest>>, ApiError> {
    authorize(&caller, &app, Permission::ReviewAccess).await?;
    let ApiQuery(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidRequest("`limit` is 1 to 500.".into()));
    }
    let requests = match query.state.as_deref().unwrap_or("open") {
        "open" => app.access_requests.open(limit).await?,
        "answered" => app.access_requests.answered(limit).await?,
        _ => return Err(ApiError::InvalidRequest("`state` is `open` or `answered`.".into())),
    };
    Ok(Json(requests))
}

/// The access review: everyone who signed in here (the most recently seen first), their roles,
/// granted scopes and the actions those allow under the configuration in force, the scopes they
/// did not use in 90 days (read from the audit trail), and their refusals per action.
#[utoipa::path(get, path = "/api/v1/access-review", operation_id = "access_review",
    responses((status = 200, description = "Everyone seen and their access", body = Vec<PersonAccess>),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_audit"))))]
pub(super) async fn review(State(app): State<AppState>, caller: Bearer) -> Result<Json<Vec<PersonAccess>>, ApiError> {
    authorize(&caller, &app, Permission::ViewAudit).await?;
    let config = app.config.load();
    Ok(Json(
        access_review::review(
            &app.people,
            &app.audit,
            (&config.features, config.audit_retention),
            clock::now(),
        )
        .await?,
    ))
}
