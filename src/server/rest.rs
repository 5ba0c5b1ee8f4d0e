//! The bearer-token REST API for programs: `GET/POST /api/v1/issues`. Errors follow RFC 6750
//! (`WWW-Authenticate`) with JSON bodies; authorization is the same `access::require` the
//! server functions use.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::access::{self, Permission, Refusal, Viewer};
use crate::error::AppError;
use crate::model::{FieldErrors, NewIssue, PAGE_SIZE};
use crate::server::audit;
use crate::server::auth::bearer::{MAX_TOKEN_BYTES, TokenError};
use crate::server::clock::{now, now_millis};
use crate::server::db::database_error;
use crate::server::metrics;
use crate::server::state::AppState;
use crate::server::telemetry::request_id_of;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/issues", get(list).post(create))
        .route("/api/v1/issues/{id}", get(show))
        .route("/api/v1/audit", get(audit_trail))
}

/// The REST API's one error type.
#[derive(Debug)]
pub enum ApiError {
    /// No bearer credentials at all (RFC 6750 §3.1: no error code).
    MissingToken,
    InvalidRequest(String),
    InvalidToken(String),
    InsufficientScope {
        permission: Permission,
        required: Vec<String>,
    },
    Invalid(FieldErrors),
    BadJson(String),
    UnsupportedMediaType,
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
                json!({"error": "unauthorized", "error_description": "a bearer access token is required"}),
            ),
            Self::InvalidRequest(message) => (
                StatusCode::BAD_REQUEST,
                Some(format!("{realm}, error=\"invalid_request\"")),
                json!({"error": "invalid_request", "error_description": message}),
            ),
            Self::InvalidToken(message) => (
                StatusCode::UNAUTHORIZED,
                Some(format!(
                    "{realm}, error=\"invalid_token\", error_description=\"{}\"",
                    message.replace(['"', '\\'], "")
                )),
                json!({"error": "invalid_token", "error_description": message}),
            ),
            Self::InsufficientScope { permission, required } => (
                StatusCode::FORBIDDEN,
                Some(format!(
                    "{realm}, error=\"insufficient_scope\", scope=\"{}\"",
                    required.join(" ")
                )),
                json!({
                    "error": "insufficient_scope",
                    "error_description": format!("the token does not allow you to {}", permission.describe()),
                    "scope": required.join(" "),
                }),
            ),
            Self::Invalid(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                json!({"error": "invalid_issue", "error_description": "please correct the fields", "fields": fields}),
            ),
            Self::BadJson(message) => (
                StatusCode::BAD_REQUEST,
                None,
                json!({"error": "invalid_json", "error_description": message}),
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                json!({"error": "unsupported_media_type", "error_description": "send application/json"}),
            ),
            Self::RateLimited(seconds) => {
                let body = json!({
                    "error": "rate_limited",
                    "error_description": format!("too many new tokens from this address; retry in {seconds} s"),
                });
                let retry_after = [(header::RETRY_AFTER, seconds.to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, retry_after, Json(body)).into_response();
            }
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                json!({"error": "temporarily_unavailable", "error_description": "try again in a moment"}),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                json!({"error": "server_error", "error_description": "something went wrong on our side"}),
            ),
        };
        let mut response = (status, Json(body)).into_response();
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
                crate::server::telemetry::note_subject(&viewer.sub);
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
    let viewer = &caller.viewer;
    let decision = access::require(Some(viewer), &state.config.load().features, permission);
    metrics::authorization(permission, decision.is_ok(), "rest");
    match decision {
        Ok(_) => Ok(()),
        Err(Refusal::Forbidden { permission, required }) => {
            state
                .audit
                .record(audit::Event {
                    event: "authorization",
                    refused: true,
                    actor: Some(viewer),
                    permission: Some(permission),
                    missing_scopes: viewer.missing(&required),
                    via: Some("rest"),
                    request_id: caller.request_id.as_deref(),
                    ..Default::default()
                })
                .await;
            Err(ApiError::InsufficientScope { permission, required })
        }
        Err(Refusal::Unauthenticated) => Err(ApiError::MissingToken),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list(State(state): State<AppState>, caller: Bearer, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let query: ListQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::InvalidRequest(format!("bad query: {e}")))?;
    let cached = state
        .issues
        .list(query.before, query.limit.unwrap_or(PAGE_SIZE))
        .await?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        cached.json,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    who: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

/// The audit trail, newest first: `?who=<sub or name>&outcome=ok|refused&before=<id>&limit=`.
async fn audit_trail(
    State(state): State<AppState>,
    caller: Bearer,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewAudit).await?;
    let query: AuditQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::InvalidRequest(format!("bad query: {e}")))?;
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

async fn show(State(state): State<AppState>, caller: Bearer, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&caller, &state, Permission::ViewIssues).await?;
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not_found", "error_description": "no such issue"})),
        )
            .into_response()
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(not_found());
    };
    match state.issues.get(id).await? {
        Some(issue) => Ok(Json(issue).into_response()),
        None => Ok(not_found()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
}

async fn create(
    State(state): State<AppState>,
    caller: Bearer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Authorization first: a caller without the scope learns nothing about validation.
    authorize(&caller, &state, Permission::CreateIssue).await?;
    let viewer = &caller.viewer;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let input: CreateBody = serde_json::from_slice(&body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::Invalid(FieldErrors {
                title: Some(format!("{e}")),
                description: None,
            }),
            _ => ApiError::BadJson(format!("the body is not valid JSON: {e}")),
        }
    })?;
    let issue = NewIssue::parse(&input.title, &input.description).map_err(ApiError::Invalid)?;
    let created = state
        .issues
        .create(&issue, &viewer.sub, &viewer.name, now_millis())
        .await?;
    state
        .audit
        .record(audit::Event {
            event: "issue_created",
            actor: Some(viewer),
            via: Some("rest"),
            detail: Some(format!("issue {}", created.id)),
            request_id: caller.request_id.as_deref(),
            ..Default::default()
        })
        .await;
    let mut response = (StatusCode::CREATED, Json(&created)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/issues/{}", created.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
