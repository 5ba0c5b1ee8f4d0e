//! The issue and comment handlers (`/api/v1/issues…`) and `/api/v1/people` (whom issues can be
//! assigned to), with their request bodies, queries and `#[utoipa::path]` descriptions, and the
//! `If-Match`/id parsing they share.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{
    ApiError, ApiErrorBody, BadRequest, Forbidden, InternalServerError, PayloadTooLarge, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnprocessableEntity, UnsupportedMediaType, etag,
};
use super::extract::{ApiJson, ApiQuery, Bearer, authorize, authorize_scopes_only};
use crate::access::{self, Permission};
use crate::model::{
    BoardQuery, COMMENT_PAGE_SIZE, Comment, CommentPage, EventPage, FieldErrors, Issue, IssueChange, IssuePage,
    LabelEdit, PAGE_SIZE, Person, Priority, Sort, parse_status,
};
use crate::server::state::AppState;
use crate::server::support::clock;

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

// What the document says the list's text parameters are: the handlers read them as text and
// `BoardQuery` judges them.

/// The statuses the list shows.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Described, never built.
enum StatusFilter {
    Open,
    Closed,
    All,
}

/// The priorities the list filters on: `any` is no filter.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Described, never built.
enum PriorityFilter {
    Any,
    None,
    Low,
    Medium,
    High,
    Urgent,
}

/// `GET /api/v1/issues` parameters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open`, `closed` or `all` (the default).
    #[param(value_type = Option<StatusFilter>, inline)]
    status: Option<String>,
    /// `anyone` (the default), `me`, `unassigned`, or a person's `sub`; no control characters.
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$")]
    assignee: Option<String>,
    /// `me` or a person's `sub`; no control characters.
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$")]
    author: Option<String>,
    /// Words to find in titles, descriptions and comments (all of them): at most 200 characters
    /// once trimmed, no control characters.
    #[param(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    q: Option<String>,
    /// Label names, comma separated: issues carrying every one. At most 10 names of at most 50
    /// characters, no control characters.
    #[param(
        pattern = r"^[^,\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]{0,50}(,[^,\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]{0,50}){0,9}$"
    )]
    label: Option<String>,
    /// `any` (the default), `none`, `low`, `medium`, `high` or `urgent`.
    #[param(value_type = Option<PriorityFilter>, inline)]
    priority: Option<String>,
    /// `newest` (the default), `oldest`, `updated`, `priority` or `due` (a search is always
    /// newest first).
    #[param(value_type = Option<Sort>, inline)]
    sort: Option<String>,
    /// Newest first: continue after this id (a page's `next_before`). Only with the newest-first
    /// sort (or a search); else 400.
    before: Option<i64>,
    /// Continue where the page before ended, in any sort: its `next_cursor`, with the same sort
    /// (another is 400).
    #[param(pattern = r"^(([0-9]{1,18}|none|2[0-9]{3}-[0-9]{2}-[0-9]{2})\.)?[0-9]{1,18}$")]
    cursor: Option<String>,
    /// Issues on the page: 1–100 (20 by default).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Only issues changed at or after this time: RFC 3339 (`2026-12-04T09:30:00Z`) or
    /// milliseconds since the Unix epoch (an issue's `updated_at`).
    updated_since: Option<String>,
}

/// One page of issues, newest first, with counts per status under the same filters. With `q`:
/// counting stops after 10,000 matching issues, whatever their status (`open_capped` and
/// `closed_capped` are then both true: each count is "at least"; they are also both true, with
/// the page's own issues counted, when counting ran out of the search's time); a search may take
/// at most 2 s in all (page and counts); each person may have 2 searches running at once (a
/// third is refused, 429); and the server runs at most half its database connections' worth of
/// searches at once (one more waits up to 1 s for a place, then 503).
#[utoipa::path(get, path = "/api/v1/issues", operation_id = "list_issues", params(ListQuery),
    responses((status = 200, description = "A page of issues", body = IssuePage),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, description = "The caller already has 2 searches running (`too_many_searches`), or too \
            many new tokens from this address lately (`rate_limited`)", body = ApiErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, response = InternalServerError),
        (status = 503, description = "The search took longer than 2 s (`search_too_slow`: use more specific \
            words) or the server is busy with other searches (`searches_busy`); or, as for every operation, the \
            database or the identity provider cannot be reached, or the answer took too long \
            (`temporarily_unavailable`)", body = ApiErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))),
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
    let (mut filter, cursor) = board
        .read(query.before, None, &caller.viewer.sub)
        .map_err(ApiError::InvalidRequest)?;
    if let Some(since) = &query.updated_since {
        let since = clock::parse_millis(since)
            .map_err(|problem| ApiError::InvalidRequest(format!("`updated_since`: {problem}")))?;
        filter.updated_since = Some(since);
    }
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
    responses((status = 200, description = "The issue", body = Issue, headers(("ETag" = String, description = "The issue's version, for `If-Match`"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such issue (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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

/// A new issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// 1–200 characters, not starting with a space (titles are trimmed: one of only spaces is
    /// refused), no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0020\u007F-\u00A0\u061C\u1680\u2000-\u200A\u200E\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000][^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    title: String,
    /// Markdown, at most 10,000 characters; no control characters but line breaks and tabs.
    #[serde(default)]
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    description: String,
}

/// Creates an issue.
#[utoipa::path(post, path = "/api/v1/issues", operation_id = "create_issue", request_body = CreateBody,
    responses((status = 201, description = "The issue created", body = Issue,
            headers(("ETag" = String, description = "The issue's version, for `If-Match`"), ("Location" = String, description = "The issue's path"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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

/// An issue's status, as a change sets it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Described, never built: `parse_status` reads the text.
enum StatusName {
    Open,
    Closed,
}

/// A change: fields left out stay as they are; at least one is given.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct PatchBody {
    /// As a new issue's title; needs the `edit` scopes.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0020\u007F-\u00A0\u061C\u1680\u2000-\u200A\u200E\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000][^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    title: Option<String>,
    /// As a new issue's description; needs the `edit` scopes.
    #[schema(
        nullable = false,
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    description: Option<String>,
    /// `open` or `closed`; needs the `close` scopes.
    #[schema(value_type = Option<StatusName>, inline, nullable = false)]
    status: Option<String>,
    /// A person's `sub` (someone who has signed in here: else 422), `me`, or `null` to unassign;
    /// needs the `assign` scopes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    assignee: Option<Option<String>>,
    /// `none`, `low`, `medium`, `high` or `urgent`; needs the `edit` scopes.
    #[schema(nullable = false)]
    priority: Option<Priority>,
    /// The day it is due, `YYYY-MM-DD` (years 2000–2999), or `null` for none; needs the `edit`
    /// scopes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, pattern = r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    due: Option<Option<String>>,
    /// Exactly these labels, at most 20, by name (defined ones: else 422); needs the `edit`
    /// scopes.
    #[schema(nullable = false, max_items = 20)]
    labels: Option<Vec<String>>,
}

/// `Some(value)` for a field that is present, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes an issue: `If-Match` (its `ETag`, or `*`) is required; each field needs its own
/// scopes (`x-permissions`).
#[utoipa::path(patch, path = "/api/v1/issues/{id}", operation_id = "change_issue", request_body = PatchBody,
    params(("id" = i64, Path, description = "The issue's id"),
        ("If-Match" = String, Header, description = "The issue's ETag (a weak one never matches), or `*`: \
            without it, 428", pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)),
    responses((status = 200, description = "The issue as changed", body = Issue, headers(("ETag" = String, description = "The issue's version, for `If-Match`"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such issue (`not_found`)", body = ApiErrorBody),
        (status = 412, description = "The issue changed since that version (`stale`): nothing was changed; \
            `current` is the issue as it is now", body = ApiErrorBody,
            headers(("ETag" = String, description = "The issue's version now"))),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 428, description = "No `If-Match` (`precondition_required`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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
    params(("id" = i64, Path, description = "The issue's id"),
        ("If-Match" = Option<String>, Header, description = "The issue's ETag (a weak one never matches), or `*`",
            nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)),
    responses((status = 204, description = "Deleted"),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such issue (`not_found`)", body = ApiErrorBody),
        (status = 412, description = "The issue changed since that version (`stale`): nothing was changed; \
            `current` is the issue as it is now", body = ApiErrorBody,
            headers(("ETag" = String, description = "The issue's version now"))),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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
    responses((status = 200, description = "The issue restored", body = Issue, headers(("ETag" = String, description = "The issue's version, for `If-Match`"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such deleted issue (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("delete_issue"))))]
pub(super) async fn restore(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    // Undoing a delete: the delete scopes, not a step-up.
    authorize_scopes_only(&caller, &state, Permission::DeleteIssue).await?;
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
    /// Comments on the page: 1–100 (50 by default).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// An issue's comments, oldest first.
#[utoipa::path(get, path = "/api/v1/issues/{id}/comments", operation_id = "list_comments", params(("id" = i64, Path, description = "The issue's id"), CommentsQuery),
    responses((status = 200, description = "A page of comments", body = CommentPage),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such issue (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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
    /// Events on the page: 1–200 (100 by default).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// An issue's history, oldest first: created, each field changed (old and new value), labels
/// put on and taken off, deleted.
#[utoipa::path(get, path = "/api/v1/issues/{id}/events", operation_id = "list_issue_events", params(("id" = i64, Path, description = "The issue's id"), EventsQuery),
    responses((status = 200, description = "A page of the issue's history", body = EventPage),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such issue (`not_found`)", body = ApiErrorBody),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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

/// A new comment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Markdown, 1–10,000 characters, not starting with a space (bodies are trimmed: one of only
    /// spaces is refused); no control characters but line breaks and tabs.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = r"^[^\u0000-\u0020\u007F-\u00A0\u061C\u1680\u2000-\u200A\u200E\u200F\u2028-\u202F\u205F\u2066-\u2069\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$"
    )]
    body: String,
}

/// Comments on an issue.
#[utoipa::path(post, path = "/api/v1/issues/{id}/comments", operation_id = "add_comment", request_body = CommentBody, params(("id" = i64, Path, description = "The issue's id")),
    responses((status = 201, description = "The comment", body = Comment),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, description = "No such issue (`not_found`)", body = ApiErrorBody),
        (status = 413, response = PayloadTooLarge), (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
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
    responses((status = 200, description = "Everyone who has signed in", body = Vec<Person>),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])), extensions(("x-permission" = json!("assign_issue"))))]
pub(super) async fn people(State(state): State<AppState>, caller: Bearer) -> Result<Response, ApiError> {
    authorize_scopes_only(&caller, &state, Permission::AssignIssue).await?;
    Ok(Json(state.people.list().await?).into_response())
}
