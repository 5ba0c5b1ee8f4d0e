//! The label handlers (`/api/v1/labels…`): every label with its count, for those who may view
//! issues; defining, changing and deleting them, for those who may manage labels.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{
    ApiError, ApiErrorBody, BadRequest, Forbidden, InternalServerError, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnprocessableEntity, UnsupportedMediaType,
};
use super::extract::{ApiJson, Bearer, authorize};
use crate::access::Permission;
use crate::model::Label;
use crate::server::state::AppState;

/// A label id from the path: anything else is no label of ours.
fn label_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ApiError::LabelNotFound)
}

/// Every label, by name, with how many issues (not deleted) carry it.
#[utoipa::path(get, path = "/api/v1/labels", operation_id = "list_labels",
    responses((status = 200, description = "Every label", body = Vec<Label>),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn list(State(state): State<AppState>, caller: Bearer) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    Ok(Json(state.issues.labels().await?).into_response())
}

/// A label's definition.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    /// 1–50 characters, not starting with a space (names are trimmed), no commas or control
    /// characters; one label however it is capitalised.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u0020\u007F-\u00A0\u061C\u1680\u2000-\u200A\u200E\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000,][^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069,]*$"
    )]
    name: String,
    /// `#rrggbb` (kept in lower case).
    #[schema(pattern = r"^#[0-9A-Fa-f]{6}$", examples("#d73a4a"))]
    color: String,
    /// At most 200 characters, no control characters but line breaks and tabs.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    description: String,
}

/// Defines a label.
#[utoipa::path(post, path = "/api/v1/labels", operation_id = "define_label", request_body = LabelBody,
    responses((status = 201, description = "The label", body = Label),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "A label of that name exists (`conflict`)", body = ApiErrorBody),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("manage_labels"))))]
pub(super) async fn define(
    State(state): State<AppState>,
    caller: Bearer,
    body: ApiJson<LabelBody>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ManageLabels).await?;
    let input = body.into_inner()?;
    let label = state
        .tracker
        .define_label(&caller.caller(), &input.name, &input.color, &input.description)
        .await?;
    Ok((StatusCode::CREATED, Json(label)).into_response())
}

/// Redefines a label: its name, colour and description (issues carrying it show the new ones).
#[utoipa::path(put, path = "/api/v1/labels/{id}", operation_id = "redefine_label", request_body = LabelBody,
    params(("id" = i64, Path, description = "The label's id")),
    responses((status = 200, description = "The label as redefined", body = Label),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such label (`not_found`)", body = ApiErrorBody),
        (status = 409, description = "Another label has that name (`conflict`)", body = ApiErrorBody),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("manage_labels"))))]
pub(super) async fn redefine(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
    body: ApiJson<LabelBody>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ManageLabels).await?;
    let input = body.into_inner()?;
    let label = state
        .tracker
        .redefine_label(
            &caller.caller(),
            label_id(&id)?,
            &input.name,
            &input.color,
            &input.description,
        )
        .await?;
    Ok(Json(label).into_response())
}

/// Deletes a label and takes it off every issue.
#[utoipa::path(delete, path = "/api/v1/labels/{id}", operation_id = "delete_label",
    params(("id" = i64, Path, description = "The label's id")),
    responses((status = 204, description = "Deleted"),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such label (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("manage_labels"))))]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ManageLabels).await?;
    state.tracker.delete_label(&caller.caller(), label_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
