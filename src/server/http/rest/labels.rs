//! The label handlers (`/api/v1/labels…`): every label with its count, for those who may view
//! issues; defining, changing and deleting them, for those who may manage labels.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
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
    responses((status = 200, body = Vec<Label>), (status = 401), (status = 403)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn list(State(state): State<AppState>, caller: Bearer) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    Ok(Json(state.issues.labels().await?).into_response())
}

/// A label's definition.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    /// 1–50 characters, no commas; one label however it is capitalised.
    name: String,
    /// `#rrggbb`.
    color: String,
    /// At most 200 characters.
    #[serde(default)]
    description: String,
}

/// Defines a label.
#[utoipa::path(post, path = "/api/v1/labels", operation_id = "define_label", request_body = LabelBody,
    responses((status = 201, body = Label), (status = 401), (status = 403), (status = 409, description = "a label of that name exists"),
        (status = 415), (status = 422)),
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
    responses((status = 200, body = Label), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "another label has that name"), (status = 415), (status = 422)),
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
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
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
