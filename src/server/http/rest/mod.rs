//! The bearer-token REST API for programs: `GET/POST /api/v1/issues`. Errors follow RFC 6750
//! (`WWW-Authenticate`) with JSON bodies; authorization is the same `access::require` the
//! server functions use.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, ToSchema};

use crate::access::{self, Permission, Refusal, Viewer, Why};
use crate::error::AppError;
use crate::model::{
    AuditPage, BoardFilter, COMMENT_PAGE_SIZE, Comment, CommentPage, FieldErrors, Issue, IssueChange, IssuePage,
    PAGE_SIZE, Person, parse_status,
};
use crate::server::auth::bearer::MAX_TOKEN_BYTES;
use crate::server::auth::token::TokenError;
use crate::server::http::authorize::{Call, Refused};
use crate::server::http::error_body::ErrorBody;
use crate::server::ops::telemetry::request_id_of;
use crate::server::state::AppState;
use crate::server::storage::audit::{self, Door};
use crate::server::storage::db::database_error;
use crate::server::support::clock::now;
use crate::server::tracker::{Caller, TrackerError};

mod openapi;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/issues", get(list).post(create))
        .route("/api/v1/issues/{id}", get(show).patch(change).delete(delete))
        .route("/api/v1/issues/{id}/comments", get(comments).post(comment))
        .route("/api/v1/people", get(people))
        .route("/api/v1/audit", get(audit_trail))
        .route("/api/v1/openapi.json", get(openapi::document))
}

/// The REST API's one error type.
#[derive(Debug)]
pub enum ApiError {
    /// No bearer credentials at all (RFC 6750 §3.1: no error code).
    MissingToken,
    InvalidRequest(String),
    InvalidToken(String),
    /// The line saying why, and the scopes the action needs (none: turned off).
    InsufficientScope {
        why: Why,
        required: Vec<String>,
    },
    NotFound,
    /// `If-Match` named another version than the issue's: the issue as it is now.
    PreconditionFailed(Box<Issue>),
    /// A change without `If-Match`.
    PreconditionRequired,
    Invalid(FieldErrors),
    BadJson(String),
    UnsupportedMediaType,
    /// The body could not be read (over the size limit: 413): axum's own answer.
    Body(BytesRejection),
    /// Too many provider calls from this client address lately (seconds to wait).
    RateLimited(u64),
    Unavailable,
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let realm = "Bearer realm=\"issues-app\"";
        let (status, challenge, body) = match self {
            Self::MissingToken => (
                StatusCode::UNAUTHORIZED,
                Some(realm.to_string()),
                ErrorBody::new("unauthorized", "a bearer access token is required"),
            ),
            Self::InvalidRequest(message) => (
                StatusCode::BAD_REQUEST,
                Some(format!("{realm}, error=\"invalid_request\"")),
                ErrorBody::new("invalid_request", message),
            ),
            Self::InvalidToken(message) => (
                StatusCode::UNAUTHORIZED,
                Some(format!(
                    "{realm}, error=\"invalid_token\", error_description=\"{}\"",
                    message.replace(['"', '\\'], "")
                )),
                ErrorBody::new("invalid_token", message),
            ),
            Self::InsufficientScope { why, required } if required.is_empty() => (
                StatusCode::FORBIDDEN,
                None,
                ErrorBody::new("action_disabled", why.line()),
            ),
            Self::InsufficientScope { why, required } => (
                StatusCode::FORBIDDEN,
                Some(format!(
                    "{realm}, error=\"insufficient_scope\", scope=\"{}\"",
                    required.join(" ")
                )),
                ErrorBody::new(
                    "insufficient_scope",
                    format!("the token does not allow you to {}", why.permission.describe()),
                )
                .with("scope", required.join(" "))
                .with("missing", why.missing),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                None,
                ErrorBody::new("not_found", "no such issue"),
            ),
            Self::PreconditionFailed(current) => {
                let body = ErrorBody::new(
                    "stale",
                    "the issue changed since that version: nothing was changed; here it is now",
                )
                .with("current", &current);
                return (StatusCode::PRECONDITION_FAILED, etag(&current), body).into_response();
            }
            Self::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                None,
                ErrorBody::new("precondition_required", "send If-Match with the issue's ETag (or *)"),
            ),
            Self::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                ErrorBody::new("invalid_request_body", "please correct the fields").with("fields", fields),
            ),
            Self::BadJson(message) => (StatusCode::BAD_REQUEST, None, ErrorBody::new("invalid_json", message)),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                ErrorBody::new("unsupported_media_type", "send application/json"),
            ),
            Self::Body(rejection) => return rejection.into_response(),
            Self::RateLimited(seconds) => {
                let body = ErrorBody::new(
                    "rate_limited",
                    format!("too many new tokens from this address; retry in {seconds} s"),
                );
                let retry_after = [(header::RETRY_AFTER, seconds.to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, retry_after, body).into_response();
            }
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                ErrorBody::new("temporarily_unavailable", "try again in a moment"),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                ErrorBody::new("server_error", "something went wrong on our side"),
            ),
        };
        let mut response = (status, body).into_response();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match database_error(error) {
            AppError::Unavailable => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// The caller behind a valid bearer token, and the request's id (for the audit trail).
pub struct Bearer {
    pub viewer: Viewer,
    pub request_id: Option<String>,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // RFC 6750 §2.3 allows tokens in the URI; we refuse them: URIs end up in logs.
        if let Some(query) = parts.uri.query()
            && url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
        {
            return Err(ApiError::InvalidRequest(
                "access tokens in the query string are not accepted".into(),
            ));
        }
        let token = bearer_token(&parts.headers)?;
        let client = client_address(parts, state.config.load().behind_proxy);
        match state.tokens.verify(token, client, now()).await {
            Ok(viewer) => {
                crate::server::ops::telemetry::note_subject(&viewer.sub);
                let request_id = request_id_of(&parts.headers).map(str::to_string);
                Ok(Self { viewer, request_id })
            }
            Err(TokenError::Invalid(message)) => Err(ApiError::InvalidToken(message)),
            Err(TokenError::Unavailable) => Err(ApiError::Unavailable),
            Err(TokenError::RateLimited { retry_after }) => Err(ApiError::RateLimited(retry_after)),
        }
    }
}

/// Who is calling, for per-client limits: the connection's peer; behind the TLS proxy
/// (`Server.TlsTerminatedByProxy`), the address the proxy appended last to `X-Forwarded-For`
/// (the earlier ones are the client's to write).
fn client_address(parts: &Parts, behind_proxy: bool) -> IpAddr {
    let forwarded = behind_proxy
        .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    forwarded.or(peer).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(ApiError::MissingToken);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest("send one Authorization header".into()));
    }
    if value.len() > MAX_TOKEN_BYTES + 16 {
        return Err(ApiError::InvalidToken("the access token is malformed".into()));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::InvalidToken("the access token is malformed".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => {
            Err(ApiError::InvalidRequest("the bearer token is empty".into()))
        }
        _ => Err(ApiError::MissingToken),
    }
}

async fn authorize(caller: &Bearer, state: &AppState, permission: Permission) -> Result<(), ApiError> {
    let call = Call {
        viewer: Some(&caller.viewer),
        door: Door::Rest,
        request_id: &|| caller.request_id.clone(),
        audit: &state.audit,
    };
    match call.authorize(&state.config, permission).await {
        Ok(_) => Ok(()),
        Err(Refused {
            why: Some(why),
            refusal: Refusal::Forbidden { required, .. },
        }) => Err(ApiError::InsufficientScope { why, required }),
        Err(_) => Err(ApiError::MissingToken),
    }
}

impl Bearer {
    fn caller(&self) -> Caller<'_> {
        Caller {
            viewer: &self.viewer,
            via: Door::Rest,
            request_id: self.request_id.as_deref(),
        }
    }
}

impl From<TrackerError> for ApiError {
    fn from(error: TrackerError) -> Self {
        match error {
            TrackerError::NotFound => Self::NotFound,
            TrackerError::Stale(current) => Self::PreconditionFailed(current),
            TrackerError::Invalid(fields) => Self::Invalid(fields),
            TrackerError::Database(error) => error.into(),
        }
    }
}

/// `"<version>"`: an issue's version as its entity tag.
fn etag(issue: &Issue) -> [(header::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{}\"", issue.version))]
}

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

/// A JSON request body through axum's `Json`, its rejections turned into the API's errors. The body
/// is read when extracted: one that cannot be (over the size limit) is refused then, 413. It is
/// judged only by `into_inner`, which handlers call after authorization: a caller without the
/// scope learns nothing about validation.
struct ApiJson<T>(Result<T, ApiError>);

impl<T> ApiJson<T> {
    /// The body as a `T`: 415 for another media type than `application/json`, 400 for bad JSON,
    /// 422 for JSON of the wrong shape.
    fn into_inner(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_json = is_json(request.headers());
        let body = Bytes::from_request(request, state).await.map_err(ApiError::Body)?;
        if !declared_json {
            return Ok(Self(Err(ApiError::UnsupportedMediaType)));
        }
        let parsed = Json::<T>::from_bytes(&body).map_err(ApiError::from);
        Ok(Self(parsed.map(|Json(value)| value)))
    }
}

/// `Content-Type: application/json`, parameters (`; charset=utf-8`) aside. (axum's `Json` would
/// also take `application/*+json`; this API never has.)
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonDataError(error) => Self::Invalid(FieldErrors {
                title: Some(serde_message(&error)),
                ..FieldErrors::default()
            }),
            JsonRejection::JsonSyntaxError(error) => {
                Self::BadJson(format!("the body is not valid JSON: {}", serde_message(&error)))
            }
            JsonRejection::BytesRejection(rejection) => Self::Body(rejection),
            other => Self::BadJson(other.body_text()),
        }
    }
}

/// Query parameters through axum's `Query`; a rejection is the API's 400. Handlers take it as
/// `Result<ApiQuery<T>, ApiError>` and look at it after authorization.
struct ApiQuery<T>(T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<T>::try_from_uri(&parts.uri)?;
        Ok(Self(query))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let message = match &rejection {
            QueryRejection::FailedToDeserializeQueryString(error) => serde_message(error),
            other => other.body_text(),
        };
        Self::InvalidRequest(format!("bad query: {message}"))
    }
}

/// serde's own message in a rejection of axum's `Json` or `Query`, without the path to the field
/// that axum puts before it: the words this API has always answered with. axum's text if the
/// rejection holds no serde error.
fn serde_message(rejection: &(dyn std::error::Error + 'static)) -> String {
    // The rejection wraps an `axum::Error`, which wraps the deserializer's error.
    let cause = rejection.source().and_then(|error| error.source());
    let message = cause.and_then(|cause| {
        if let Some(error) = cause.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            return Some(error.inner().to_string());
        }
        if let Some(error) = cause.downcast_ref::<serde_path_to_error::Error<serde_urlencoded::de::Error>>() {
            return Some(error.inner().to_string());
        }
        cause.downcast_ref::<serde_json::Error>().map(ToString::to_string)
    });
    message.unwrap_or_else(|| rejection.to_string())
}

/// An issue id from the path: anything else is no issue of ours.
fn issue_id(id: &str) -> Result<i64, ApiError> {
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
    /// Continue after this id (a page's `next_before`).
    before: Option<i64>,
    /// 1–100; 20 by default.
    limit: Option<i64>,
}

/// One page of issues, newest first, with counts per status under the same filters.
#[utoipa::path(get, path = "/api/v1/issues", operation_id = "list_issues", params(ListQuery),
    responses((status = 200, body = IssuePage), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
async fn list(
    State(state): State<AppState>,
    caller: Bearer,
    query: Result<ApiQuery<ListQuery>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let ApiQuery(query) = query?;
    let filter = BoardFilter::parse(
        query.status.as_deref(),
        query.assignee.as_deref(),
        query.author.as_deref(),
        query.q.as_deref(),
        None,
        &caller.viewer.sub,
    )
    .map_err(ApiError::InvalidRequest)?;
    let cached = state
        .issues
        .list(&filter, query.before, query.limit.unwrap_or(PAGE_SIZE))
        .await?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        cached.json,
    )
        .into_response())
}

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
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "list_audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_audit"))))]
async fn audit_trail(
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

/// An issue; its version is the `ETag`.
#[utoipa::path(get, path = "/api/v1/issues/{id}", operation_id = "get_issue",
    responses((status = 200, body = Issue, headers(("ETag" = String))), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
async fn show(State(state): State<AppState>, caller: Bearer, Path(id): Path<String>) -> Result<Response, ApiError> {
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
async fn create(
    State(state): State<AppState>,
    caller: Bearer,
    body: ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    // Authorization first: a caller without the scope learns nothing about validation.
    authorize(&caller, &state, Permission::CreateIssue).await?;
    let input = body.into_inner()?;
    let created = state
        .tracker
        .create(&caller.caller(), &input.title, &input.description)
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
}

/// `Some(value)` for a field that is present, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes an issue: `If-Match` (its `ETag`, or `*`) is required; each field needs its own
/// scopes (`x-permissions`).
#[utoipa::path(patch, path = "/api/v1/issues/{id}", operation_id = "change_issue", request_body = PatchBody,
    params(("If-Match" = String, Header, description = "The issue's ETag, or *")),
    responses((status = 200, body = Issue, headers(("ETag" = String))), (status = 401), (status = 403), (status = 404),
        (status = 412, description = "changed since that version"), (status = 415), (status = 422), (status = 428)),
    security(("bearer" = [])),
    extensions(("x-permissions" = json!({"title": "edit_issue", "description": "edit_issue", "status": "close_issue", "assignee": "assign_issue"}))))]
async fn change(
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
    params(("If-Match" = Option<String>, Header, description = "The issue's ETag, or *")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 412)),
    security(("bearer" = [])), extensions(("x-permission" = json!("delete_issue"))))]
async fn delete(
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
#[utoipa::path(get, path = "/api/v1/issues/{id}/comments", operation_id = "list_comments", params(CommentsQuery),
    responses((status = 200, body = CommentPage), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])), extensions(("x-permission" = json!("view_issues"))))]
async fn comments(
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
}

/// Comments on an issue.
#[utoipa::path(post, path = "/api/v1/issues/{id}/comments", operation_id = "add_comment", request_body = CommentBody,
    responses((status = 201, body = Comment), (status = 401), (status = 403), (status = 404), (status = 415), (status = 422)),
    security(("bearer" = [])), extensions(("x-permission" = json!("comment"))))]
async fn comment(
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
async fn people(State(state): State<AppState>, caller: Bearer) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::AssignIssue).await?;
    Ok(Json(state.people.list().await?).into_response())
}
