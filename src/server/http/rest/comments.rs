//! One comment's handlers (`/api/v1/issues/{id}/comments/{comment_id}`): its author edits
//! (`body`) or deletes it; someone who may edit issues hides or shows it (`hidden`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{
    ApiError, ApiErrorBody, BadRequest, InternalServerError, PayloadTooLarge, ServiceUnavailable, TooManyRequests,
    Unauthorized, UnprocessableEntity, UnsupportedMediaType,
};
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
#[schema(min_properties = 1, max_properties = 1)]
pub struct CommentPatch {
    /// The new text: Markdown, 1–10,000 characters, not starting with a space (bodies are
    /// trimmed: one of only spaces is refused); no control characters but line breaks and tabs.
    #[schema(
        min_length = 1,
        max_length = 10000,
        nullable = false,
        pattern = r"^[^\u0000-\u0020\u007F-\u00A0\u061C\u1680\u2000-\u200A\u200E\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    body: Option<String>,
    /// Hide (`true`) or show again.
    #[schema(nullable = false)]
    hidden: Option<bool>,
}

/// Edits a comment (its author: the earlier body is kept in its history), or hides or shows it
/// (someone who may edit issues).
#[utoipa::path(patch, path = "/api/v1/issues/{id}/comments/{comment_id}", operation_id = "change_comment",
    request_body = CommentPatch,
    params(("id" = i64, Path, description = "The issue's id"), ("comment_id" = i64, Path, description = "The comment's id")),
    responses((status = 200, description = "The comment as changed", body = Comment),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, description = "The scope is missing, or the comment is someone else's (`not_author`)", body = ApiErrorBody),
        (status = 404, description = "No such issue or comment (`not_found`)", body = ApiErrorBody),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permissions" = json!({"body": "comment", "hidden": "edit_issue"}))))]
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
    responses((status = 204, description = "Deleted"),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, description = "The scope is missing, or the comment is someone else's (`not_author`)", body = ApiErrorBody),
        (status = 404, description = "No such issue or comment (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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
