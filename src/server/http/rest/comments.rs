//! One comment's handlers (`/api/v1/issues/{id}/comments/{comment_id}`): its author edits
//! (`body`) or deletes it; someone who may edit issues hides or shows it (`hidden`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, Bearer, authorize};
use super::issues::issue_id;
use crate::access::Permission;
use crate::model::Comment;
use crate::server::state::AppState;
use crate::server::tracker::CommentChange;

/// A comment id from the path: anything else is no comment of ours.
fn comment_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ApiError::CommentNotFound)
}

/// A change to a comment: a new `body` (its author) or `hidden` (someone who may edit
/// issues); exactly one of them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentPatch {
    /// The new text (Markdown); not only spaces.
    #[schema(min_length = 1, max_length = 10000)]
    body: Option<String>,
    /// Hide (`true`) or show again.
    hidden: Option<bool>,
}

/// Edits a comment (its author: the earlier body is kept in its history), or hides or shows it
/// (someone who may edit issues).
#[utoipa::path(patch, path = "/api/v1/issues/{id}/comments/{comment_id}", operation_id = "change_comment",
    request_body = CommentPatch,
    params(("id" = i64, Path, description = "The issue's id"), ("comment_id" = i64, Path, description = "The comment's id")),
    responses((status = 200, body = Comment), (status = 400, description = "not JSON, or neither or both of `body` and `hidden`"),
        (status = 401), (status = 403, description = "the scope is missing, or the comment is someone else's"),
        (status = 404, description = "no such issue or comment"), (status = 413), (status = 415), (status = 422)),
    security(("bearer" = [])), extensions(("x-permission" = json!("comment (body), edit_issue (hidden)"))))]
pub(super) async fn change(
    State(state): State<AppState>,
    caller: Bearer,
    Path((id, comment)): Path<(String, String)>,
    body: ApiJson<CommentPatch>,
) -> Result<Response, ApiError> {
    let input = body.into_inner()?;
    let (permission, change) = match (input.body, input.hidden) {
        (Some(body), None) => (Permission::Comment, CommentChange::Body(body)),
        (None, Some(hidden)) => (Permission::EditIssue, CommentChange::Hide(hidden)),
        _ => return Err(ApiError::BadJson("send either `body` or `hidden`".into())),
    };
    authorize(&caller, &state, permission).await?;
    let changed = state
        .tracker
        .change_comment(&caller.caller(), issue_id(&id)?, comment_id(&comment)?, change)
        .await?;
    Ok(Json(changed).into_response())
}

/// Deletes a comment (its author): its text is erased, the thread says a comment was deleted.
#[utoipa::path(delete, path = "/api/v1/issues/{id}/comments/{comment_id}", operation_id = "delete_comment",
    params(("id" = i64, Path, description = "The issue's id"), ("comment_id" = i64, Path, description = "The comment's id")),
    responses((status = 204), (status = 401), (status = 403, description = "the scope is missing, or the comment is someone else's"),
        (status = 404, description = "no such issue or comment")),
    security(("bearer" = [])), extensions(("x-permission" = json!("comment"))))]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Bearer,
    Path((id, comment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::Comment).await?;
    state
        .tracker
        .change_comment(
            &caller.caller(),
            issue_id(&id)?,
            comment_id(&comment)?,
            CommentChange::Delete,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    /// The `max_length` the schema declares for `body`.
    #[test]
    fn the_schema_limit_is_the_model_limit() {
        assert_eq!(crate::model::COMMENT_MAX_CHARS, 10_000);
    }
}
