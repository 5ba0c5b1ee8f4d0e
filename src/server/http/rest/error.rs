//! The REST API's one error type, `ApiError`: the answer for each (status, RFC 6750
//! `WWW-Authenticate` challenge, JSON body) and the conversions into it from the services' errors
//! and axum's rejections. Also `etag`, the header a stale-version answer shares with the handlers.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::{self, ContentBuilder, HeaderBuilder, Object, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{ToResponse, ToSchema};

use crate::access::Why;
use crate::error::AppError;
use crate::model::{FieldErrors, Issue};
use crate::server::http::error_body::ErrorBody;
use crate::server::http::security::MAX_BODY_BYTES;
use crate::server::storage::db::database_error;
use crate::server::storage::issues::ListError;
use crate::server::tracker::TrackerError;

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
    /// The action needs an authentication no older than `max_age` seconds, and the token's
    /// (`auth_time`) is older or not said: 401 `insufficient_user_authentication` (RFC 9470).
    InsufficientUserAuthentication {
        max_age: u64,
    },
    NotFound,
    LabelNotFound,
    CommentNotFound,
    /// Only a comment's author may edit or delete it (403).
    NotAuthor(String),
    /// A label of that name exists already (409).
    Conflict(String),
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
    /// The caller already has as many searches running as one person may.
    TooManySearches,
    /// A search ran out of time (its words match too much).
    SearchTooSlow,
    /// The server runs as many searches at once as it lets run, and none ended in time.
    SearchesBusy,
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
                .with_some("granted_by", (!why.granted_by.is_empty()).then_some(&why.granted_by))
                .with("missing", &why.missing),
            ),
            Self::InsufficientUserAuthentication { max_age } => {
                let description = format!("this action needs an authentication within the last {max_age} s");
                (
                    StatusCode::UNAUTHORIZED,
                    Some(format!(
                        "{realm}, error=\"insufficient_user_authentication\", error_description=\"{description}\", max_age=\"{max_age}\""
                    )),
                    ErrorBody::new("insufficient_user_authentication", description).with("max_age", max_age),
                )
            }
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                None,
                ErrorBody::new("not_found", "no such issue"),
            ),
            Self::LabelNotFound => (
                StatusCode::NOT_FOUND,
                None,
                ErrorBody::new("not_found", "no such label"),
            ),
            Self::CommentNotFound => (
                StatusCode::NOT_FOUND,
                None,
                ErrorBody::new("not_found", "no such comment"),
            ),
            Self::NotAuthor(message) => (StatusCode::FORBIDDEN, None, ErrorBody::new("not_author", message)),
            Self::Conflict(message) => (StatusCode::CONFLICT, None, ErrorBody::new("conflict", message)),
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
            Self::TooManySearches => {
                let body = ErrorBody::new(
                    "too_many_searches",
                    "you have other searches still running; retry when one has finished",
                );
                return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], body).into_response();
            }
            Self::SearchTooSlow => {
                let body = ErrorBody::new("search_too_slow", "the search took too long; use more specific words");
                return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body).into_response();
            }
            Self::SearchesBusy => {
                let body = ErrorBody::new(
                    "searches_busy",
                    "the server is busy with other searches; try again in a moment",
                );
                return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body).into_response();
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

impl From<ListError> for ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Database(error) => error.into(),
            ListError::TooSlow => Self::SearchTooSlow,
            ListError::TooManySearches => Self::TooManySearches,
            ListError::Busy => Self::SearchesBusy,
        }
    }
}

impl From<TrackerError> for ApiError {
    fn from(error: TrackerError) -> Self {
        match error {
            TrackerError::NotFound => Self::NotFound,
            TrackerError::LabelNotFound => Self::LabelNotFound,
            TrackerError::CommentNotFound => Self::CommentNotFound,
            TrackerError::NotAuthor(message) => Self::NotAuthor(message),
            TrackerError::Conflict(message) => Self::Conflict(message),
            TrackerError::Stale(current) => Self::PreconditionFailed(current),
            TrackerError::Invalid(fields) => Self::Invalid(fields),
            TrackerError::Database(error) => error.into(),
        }
    }
}

/// `"<version>"`: an issue's version as its entity tag.
pub(super) fn etag(issue: &Issue) -> [(header::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{}\"", issue.version))]
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

// What the OpenAPI document says of these answers: the error body's schema and the answers every
// operation shares, as components the operations name (`response = Unauthorized`).

/// An error answer's JSON body as the OpenAPI document describes it (`ErrorBody` writes it):
/// `error`, a code programs match on, and `error_description`, a line for people; some answers
/// add members.
#[derive(ToSchema)]
#[allow(dead_code)] // Described, never built: the answers are `ErrorBody`s.
pub(super) struct ApiErrorBody {
    /// `invalid_request`, `invalid_json`, `unauthorized`, `invalid_token`, `insufficient_scope`,
    /// `action_disabled`, `not_author`, `not_found`, `conflict`, `stale`, `precondition_required`,
    /// `invalid_request_body`, `unsupported_media_type`, `rate_limited`, `too_many_searches`,
    /// `search_too_slow`, `searches_busy`, `temporarily_unavailable` or `server_error`.
    error: String,
    error_description: String,
    /// 422: a message for each field that is wrong.
    #[schema(nullable = false)]
    fields: Option<FieldErrors>,
    /// 403 `insufficient_scope`: every scope the action needs, space separated.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// 403 `insufficient_scope`: the scopes the token lacks.
    #[schema(nullable = false)]
    missing: Option<Vec<String>>,
    /// 403 `insufficient_scope`: the roles (other than the caller's own) that grant the missing
    /// scopes, when known (`ApplicationConfig.AccessHelp.Roles`, or learned from sign-ins).
    #[schema(nullable = false)]
    granted_by: Option<Vec<String>>,
    /// 412: the issue as it is now.
    #[schema(nullable = false)]
    current: Option<Issue>,
}

/// An error answer with an `ApiErrorBody` and these headers (name, type, description).
fn described(description: &str, headers: &[(&str, Type, &str)]) -> RefOr<openapi::Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ApiErrorBody::name())))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body);
    for (name, kind, about) in headers {
        let header = HeaderBuilder::new()
            .schema(Object::with_type(kind.clone()))
            .description(Some(*about))
            .build();
        response = response.header(*name, header);
    }
    response.build().into()
}

const CHALLENGE: (&str, Type, &str) = (
    "WWW-Authenticate",
    Type::String,
    "The RFC 6750 challenge: `Bearer realm=\"issues-app\"`, with `error` (and `scope` for \
     `insufficient_scope`) when there is one.",
);

/// 400, whatever the operation takes.
pub(super) struct BadRequest;

impl<'r> ToResponse<'r> for BadRequest {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "The request is malformed. `invalid_request`, with `WWW-Authenticate` (RFC 6750 \
                           §3.1): bearer credentials of another form (two `Authorization` headers, an empty \
                           token, `access_token` in the query), a query parameter the operation does not take, \
                           given twice or not of its documented form, or an `If-Match` that is neither `*` nor \
                           one ETag of this API. `invalid_json`: a body that is not JSON.";
        ("BadRequest", described(description, &[CHALLENGE]))
    }
}

/// 401.
pub(super) struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "No bearer token (`unauthorized`), or one that is not valid: malformed, expired, \
                           revoked or for another audience (`invalid_token`); or, for an action \
                           config.json's `Features.Issues.StepUp` names, a token whose `auth_time` is \
                           older than it allows or missing (`insufficient_user_authentication` with \
                           `max_age`, RFC 9470): get a token from a new sign-in with that `max_age`.";
        ("Unauthorized", described(description, &[CHALLENGE]))
    }
}

/// 403.
pub(super) struct Forbidden;

impl<'r> ToResponse<'r> for Forbidden {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "The token lacks a scope the operation (or a field of the change) needs: \
                           `insufficient_scope`, with `scope`, `missing` and `WWW-Authenticate`; or \
                           config.json turns the action off for everyone (`action_disabled`).";
        ("Forbidden", described(description, &[CHALLENGE]))
    }
}

/// 413: answered before the body is read, in plain text.
pub(super) struct PayloadTooLarge;

impl<'r> ToResponse<'r> for PayloadTooLarge {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = format!(
            "The body is larger than {} KiB (a line of plain text).",
            MAX_BODY_BYTES / 1024
        );
        let text = ContentBuilder::new()
            .schema(Some(Object::with_type(Type::String)))
            .build();
        let response = ResponseBuilder::new()
            .description(description)
            .content("text/plain", text)
            .build();
        ("PayloadTooLarge", response.into())
    }
}

/// 415.
pub(super) struct UnsupportedMediaType;

impl<'r> ToResponse<'r> for UnsupportedMediaType {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "The body is not declared `Content-Type: application/json` (`unsupported_media_type`).";
        ("UnsupportedMediaType", described(description, &[]))
    }
}

/// 422.
pub(super) struct UnprocessableEntity;

impl<'r> ToResponse<'r> for UnprocessableEntity {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "JSON, but not a valid request (`invalid_request_body`): `fields` has a message for \
                           each field that is wrong. JSON of another shape (a member the operation does not \
                           take, a value of the wrong type, a required member missing) and a change with \
                           nothing to change are told under `fields.title`, a label's definition under \
                           `fields.label`.";
        ("UnprocessableEntity", described(description, &[]))
    }
}

const RETRY_AFTER: (&str, Type, &str) = ("Retry-After", Type::Integer, "Seconds to wait before trying again.");

/// 429: the provider's calls, when tokens are introspected.
pub(super) struct TooManyRequests;

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "Too many new tokens from this address lately, each checked with the identity \
                           provider (`rate_limited`, when tokens are introspected).";
        ("TooManyRequests", described(description, &[RETRY_AFTER]))
    }
}

/// 500.
pub(super) struct InternalServerError;

impl<'r> ToResponse<'r> for InternalServerError {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "Something went wrong on the server's side (`server_error`); its log says what.";
        ("InternalServerError", described(description, &[]))
    }
}

/// 503.
pub(super) struct ServiceUnavailable;

impl<'r> ToResponse<'r> for ServiceUnavailable {
    fn response() -> (&'r str, RefOr<openapi::Response>) {
        let description = "Try again in a moment (`temporarily_unavailable`): the database or the identity \
                           provider cannot be reached, the answer took longer than the request time limit, or \
                           this address has too many requests in flight (these two with `Retry-After`).";
        ("ServiceUnavailable", described(description, &[RETRY_AFTER]))
    }
}
