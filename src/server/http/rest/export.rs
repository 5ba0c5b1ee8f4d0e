//! `GET /api/v1/issues/export`: the board a filter selects, as a CSV or JSON file (see
//! `http::board_export`).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{
    ApiError, BadRequest, Forbidden, InternalServerError, ServiceUnavailable, TooManyRequests, Unauthorized,
};
use super::extract::{ApiQuery, Bearer, authorize};
use crate::access::Permission;
use crate::server::http::board_export::{self, ExportError, ExportQuery, Format};
use crate::server::state::AppState;

/// `GET /api/v1/issues/export` parameters: the board's filters and sort, and the format.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (the default) or `json`.
    #[param(inline)]
    format: Option<Format>,
    /// `open`, `closed` or `all` (the default).
    #[param(pattern = "^(open|closed|all)$")]
    status: Option<String>,
    /// `anyone` (the default), `me`, `unassigned`, or a person's `sub`.
    #[param(max_length = 255)]
    assignee: Option<String>,
    /// `me` or a person's `sub`.
    #[param(max_length = 255)]
    author: Option<String>,
    /// Words to find in titles, descriptions and comments.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Label names, comma separated (issues carrying all of them); at most 10.
    label: Option<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    #[param(pattern = "^(any|none|low|medium|high|urgent)$")]
    priority: Option<String>,
    /// `newest` (the default), `oldest`, `updated`, `priority` or `due`.
    #[param(pattern = "^(newest|oldest|updated|priority|due)$")]
    sort: Option<String>,
}

/// The issues a filter selects, every page (at most 10,000), as a file: CSV (a header row, then
/// id, title, status, priority, due, labels, author, assignee, created, updated, closed,
/// comments, description) or a JSON array of issues.
#[utoipa::path(get, path = "/api/v1/issues/export", operation_id = "export_issues", params(ExportParams),
    responses((status = 200, description = "The file", content(
            (String = "text/csv"),
            (Vec<crate::model::Issue> = "application/json"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 429, response = TooManyRequests),
        (status = 500, response = InternalServerError), (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn export(
    State(state): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<ExportParams>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let ApiQuery(params) = query?;
    let query = ExportQuery {
        format: params.format,
        status: params.status,
        assignee: params.assignee,
        author: params.author,
        q: params.q,
        label: params.label,
        priority: params.priority,
        sort: params.sort,
    };
    board_export::export(&state.issues, &caller.viewer.sub, query)
        .await
        .map_err(|error| match error {
            ExportError::BadFilter(line) => ApiError::InvalidRequest(line),
            ExportError::List(error) => error.into(),
        })
}
