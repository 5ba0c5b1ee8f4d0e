//! The issue and comment handlers (`/api/v1/issues…`) and `/api/v1/people` (whom issues can be
//! assigned to), with their request bodies, queries and `#[utoipa::path]` descriptions, and the
//! `If-Match`/id parsing they share.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, etag};
use super::extract::{ApiJson, ApiQuery, Bearer, authorize};
use crate::access::{self, Permission};
use crate::model::{
    BoardQuery, COMMENT_PAGE_SIZE, Comment, CommentPage, EventPage, FieldErrors, Issue, IssueChange, IssuePage,
    LabelEdit, PAGE_SIZE, Person, Priority, parse_status,
};
use crate::server::state::AppState;

/// The version `If-Match` names: `Ok(None)` for `*`; 428 without the header; one strong
/// entity tag of ours (`"3"`) or `*`, else 400. A weak tag never matches (RFC 9110 §13.1.1):
/// 412 with the issue as it is.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| ApiError::InvalidRequest("If-Match is not readable".into()))?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    if value.starts_with("W/") {
        // No version is 0 (versions start at 1): a change made from it is always stale.
        return Ok(Some(0));
    }
    value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|version| version.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::InvalidRequest("If-Match is one ETag from this API (\"3\"), or *".into()))
}

/// An issue id from the path: anything else is no issue of ours.
pub(super) fn issue_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/issues` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open`, `closed` or `all` (the default).
    status: Option<String>,
    /// `anyone` (the default), `me`, `unassigned`, or a person's `sub`.
    assignee: Option<String>,
    /// `me` or a person's `sub`.
    author: Option<String>,
    /// Words to find in titles, descriptions and comments (all of them).
    q: Option<String>,
    /// Label names, comma separated: issues carrying every one.
    label: Option<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    priority: Option<String>,
    /// `newest` (the default), `oldest`, `updated`, `priority` or `due` (a search is always
    /// newest first).
    sort: Option<String>,
    /// Newest first: continue after this id (a page's `next_before`).
    before: Option<i64>,
    /// Continue where the page before ended, in any sort (its `next_cursor`).
    cursor: Option<String>,
    /// 1–100; 20 by default.
    limit: Option<i64>,
}

/// One page of issues, newest first, with counts per status under the same filters. With `q`:
/// counting stops after 10,000 matching issues, whatever their status (`open_capped` and
/// `closed_capped` are then both true: each count is "at least"; they are also both true, with
/// the page's own issues counted, when counting ran out of the search's time); a search may take
/// at most 2 s in all (page and counts); each person may have 2 searches running at once (a
/// third is refused, 429); and the server runs at most half its database connections' worth of
/// searches at once (one more waits up to 1 s for a place, then 503).
#[utoipa::path(get, path = "/api/v1/issues", operation_id = "list_issues", params(ListQuery),
    responses((status = 200, body = IssuePage), (status = 400), (status = 401), (status = 403),
        (status = 429, description = "the caller already has 2 searches running", headers(("Retry-After" = u64))),
        (status = 503, description = "the search took longer than 2 s (`search_too_slow`: use more specific \
            words), the server is busy with other searches (`searches_busy`), both with Retry-After; or the \
            database is unavailable", headers(("Retry-After" = u64)))),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<ListQuery>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let ApiQuery(query) = query?;
    let board = BoardQuery {
        status: query.status,
        assignee: query.assignee,
        author: query.author,
        q: query.q,
        label: query.label,
        priority: query.priority,
        sort: query.sort,
        cursor: query.cursor,
    };
    let (filter, cursor) = board
        .read(query.before, None, &caller.viewer.sub)
        .map_err(ApiError::InvalidRequest)?;
    let cached = state
        .issues
        .list(
            &caller.viewer.sub,
            &filter,
            cursor.as_ref(),
            query.limit.unwrap_or(PAGE_SIZE),
        )
        .await?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        cached.json,
    )
        .into_response())
}

/// An issue; its version is the `ETag`.
#[utoipa::path(get, path = "/api/v1/issues/{id}", operation_id = "get_issue", params(("id" = i64, Path, description = "The issue's id")),
    responses((status = 200, body = Issue, headers(("ETag" = String))), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn show(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let issue = state.issues.get(issue_id(&id)?).await?.ok_or(ApiError::NotFound)?;
    Ok((etag(&issue), Json(issue)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
}

/// Creates an issue.
#[utoipa::path(post, path = "/api/v1/issues", operation_id = "create_issue", request_body = CreateBody,
    responses((status = 201, body = Issue), (status = 401), (status = 403), (status = 415), (status = 422)),
    security(("bearer" = [])), extensions(("x-permission" = json!("create_issue"))))]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Bearer,
    body: ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    // Authorization first: a caller without the scope learns nothing about validation.
    authorize(&caller, &state, Permission::CreateIssue).await?;
    let input = body.into_inner()?;
    let created = state
        .tracker
        .create(&caller.caller(), &input.title, &input.description, &[])
        .await?;
    let mut response = (StatusCode::CREATED, etag(&created), Json(&created)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/issues/{}", created.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A change: fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// Needs the `edit` scopes.
    title: Option<String>,
    /// Needs the `edit` scopes.
    description: Option<String>,
    /// `open` or `closed`; needs the `close` scopes.
    status: Option<String>,
    /// A person's `sub` (someone who has signed in), `me`, or `null` to unassign; needs the
    /// `assign` scopes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    assignee: Option<Option<String>>,
    /// `none`, `low`, `medium`, `high` or `urgent`; needs the `edit` scopes.
    priority: Option<Priority>,
    /// The day it is due, `YYYY-MM-DD`, or `null` for none; needs the `edit` scopes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    due: Option<Option<String>>,
    /// Exactly these labels (by name; defined ones); needs the `edit` scopes.
    labels: Option<Vec<String>>,
}

/// `Some(value)` for a field that is present, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes an issue: `If-Match` (its `ETag`, or `*`) is required; each field needs its own
/// scopes (`x-permissions`).
#[utoipa::path(patch, path = "/api/v1/issues/{id}", operation_id = "change_issue", request_body = PatchBody,
    params(("id" = i64, Path, description = "The issue's id"), ("If-Match" = String, Header, description = "The issue's ETag, or *")),
    responses((status = 200, body = Issue, headers(("ETag" = String))), (status = 401), (status = 403), (status = 404),
        (status = 412, description = "changed since that version"), (status = 415), (status = 422), (status = 428)),
    security(("bearer" = [])),
    extensions(("x-permissions" = json!({"title": "edit_issue", "description": "edit_issue", "status": "close_issue", "assignee": "assign_issue", "priority": "edit_issue", "due": "edit_issue", "labels": "edit_issue"}))))]
pub(super) async fn change(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: ApiJson<PatchBody>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let input = body.into_inner()?;
    let status = match input.status.as_deref() {
        None => None,
        Some(status) => Some(parse_status(status).ok_or_else(|| {
            ApiError::Invalid(FieldErrors {
                status: Some("`open` or `closed`".into()),
                ..FieldErrors::default()
            })
        })?),
    };
    let change = IssueChange {
        title: input.title,
        description: input.description,
        status,
        assignee: input.assignee,
        priority: input.priority,
        due: input.due,
        labels: input.labels.map(LabelEdit::Set),
    };
    for permission in access::needed_for(&change) {
        authorize(&caller, &state, permission).await?;
    }
    let id = issue_id(&id)?;
    let expected = if_match(&headers)?;
    let issue = state.tracker.change(&caller.caller(), id, change, expected).await?;
    Ok((etag(&issue), Json(issue)).into_response())
}

/// Deletes an issue (a soft delete, recorded in the audit trail). `If-Match` is optional.
#[utoipa::path(delete, path = "/api/v1/issues/{id}", operation_id = "delete_issue",
    params(("id" = i64, Path, description = "The issue's id"), ("If-Match" = Option<String>, Header, description = "The issue's ETag, or *")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 412)),
    security(("bearer" = [])), extensions(("x-permission" = json!("delete_issue"))))]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    authorize(&caller, &state, Permission::DeleteIssue).await?;
    let id = issue_id(&id)?;
    let expected = match headers.contains_key(header::IF_MATCH) {
        true => if_match(&headers)?,
        false => None,
    };
    state.tracker.delete(&caller.caller(), id, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Restores a deleted issue (before it is erased after `Server.DeletedRetentionDays`); recorded
/// in its history and the audit trail. 404 when there is no such deleted issue.
#[utoipa::path(post, path = "/api/v1/issues/{id}/restore", operation_id = "restore_issue",
    params(("id" = i64, Path, description = "The issue's id")),
    responses((status = 200, body = Issue, headers(("ETag" = String))), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])), extensions(("x-permission" = json!("delete_issue"))))]
pub(super) async fn restore(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    authorize(&caller, &state, Permission::DeleteIssue).await?;
    let issue = state.tracker.restore(&caller.caller(), issue_id(&id)?).await?;
    Ok((etag(&issue), Json(issue)).into_response())
}

/// `GET /api/v1/issues/{id}/comments` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    /// Continue after this comment id (a page's `next_after`).
    after: Option<i64>,
    /// 1–100; 50 by default.
    limit: Option<i64>,
}

/// An issue's comments, oldest first.
#[utoipa::path(get, path = "/api/v1/issues/{id}/comments", operation_id = "list_comments", params(("id" = i64, Path, description = "The issue's id"), CommentsQuery),
    responses((status = 200, body = CommentPage), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn comments(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
    query: Result<ApiQuery<CommentsQuery>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let ApiQuery(query) = query?;
    let id = issue_id(&id)?;
    state.issues.get(id).await?.ok_or(ApiError::NotFound)?;
    let page = state
        .issues
        .comments(id, query.after, query.limit.unwrap_or(COMMENT_PAGE_SIZE))
        .await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/issues/{id}/events` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Continue after this event id (a page's `next_after`).
    after: Option<i64>,
    /// 1–200; 100 by default.
    limit: Option<i64>,
}

/// An issue's history, oldest first: created, each field changed (old and new value), labels
/// put on and taken off, deleted.
#[utoipa::path(get, path = "/api/v1/issues/{id}/events", operation_id = "list_issue_events", params(("id" = i64, Path, description = "The issue's id"), EventsQuery),
    responses((status = 200, body = EventPage), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
pub(super) async fn events(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
    query: Result<ApiQuery<EventsQuery>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let ApiQuery(query) = query?;
    let id = issue_id(&id)?;
    state.issues.get(id).await?.ok_or(ApiError::NotFound)?;
    let page = state.issues.events(id, query.after, query.limit.unwrap_or(100)).await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
}

/// Comments on an issue.
#[utoipa::path(post, path = "/api/v1/issues/{id}/comments", operation_id = "add_comment", request_body = CommentBody, params(("id" = i64, Path, description = "The issue's id")),
    responses((status = 201, body = Comment), (status = 401), (status = 403), (status = 404), (status = 415), (status = 422)),
    security(("bearer" = [])), extensions(("x-permission" = json!("comment"))))]
pub(super) async fn comment(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
    body: ApiJson<CommentBody>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::Comment).await?;
    let input = body.into_inner()?;
    let comment = state
        .tracker
        .comment(&caller.caller(), issue_id(&id)?, &input.body)
        .await?;
    Ok((StatusCode::CREATED, Json(comment)).into_response())
}

/// People who have signed in: whom issues can be assigned to.
#[utoipa::path(get, path = "/api/v1/people", operation_id = "list_people",
    responses((status = 200, body = Vec<Person>), (status = 401), (status = 403)),
    security(("bearer" = [])), extensions(("x-permission" = json!("assign_issue"))))]
pub(super) async fn people(State(state): State<AppState>, caller: Bearer) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::AssignIssue).await?;
    Ok(Json(state.people.list().await?).into_response())
}
