//! What the handlers extract from a request: the caller behind a bearer token (`Bearer`: the
//! token read, verified and turned into a `Caller`), the `authorize` step every handler takes
//! first, and the JSON body (`ApiJson`) and query (`ApiQuery`) with axum's rejections as `ApiError`s.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::access::{Permission, Refusal, Viewer};
use crate::server::auth::bearer::MAX_TOKEN_BYTES;
use crate::server::auth::token::TokenError;
use crate::server::http::authorize::{Call, Refused};
use crate::server::ops::telemetry::request_id_of;
use crate::server::state::AppState;
use crate::server::storage::audit::Door;
use crate::server::support::clock::now;
use crate::server::support::network::client_address;
use crate::server::tracker::Caller;

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
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let client = client_address(&parts.headers, peer, &state.config.load().trusted_proxies);
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

pub(super) async fn authorize(caller: &Bearer, state: &AppState, permission: Permission) -> Result<(), ApiError> {
    judge(caller, state, permission, true).await
}

/// [`authorize`] for what needs an action's scopes without being that action (the people one
/// may assign to, restoring a deleted issue): never a step-up.
pub(super) async fn authorize_scopes_only(
    caller: &Bearer,
    state: &AppState,
    permission: Permission,
) -> Result<(), ApiError> {
    judge(caller, state, permission, false).await
}

async fn judge(caller: &Bearer, state: &AppState, permission: Permission, acting: bool) -> Result<(), ApiError> {
    let call = Call {
        viewer: Some(&caller.viewer),
        door: Door::Rest,
        request_id: &|| caller.request_id.clone(),
        audit: &state.audit,
    };
    let decision = match acting {
        true => call.authorize(&state.config, permission).await,
        false => call.authorize_scopes_only(&state.config, permission).await,
    };
    match decision {
        Ok(_) => Ok(()),
        Err(Refused {
            why: Some(mut why),
            refusal: Refusal::Forbidden { required, .. },
        }) => {
            state.roles.explain(&mut why, &caller.viewer.sub).await;
            Err(ApiError::InsufficientScope { why, required })
        }
        Err(Refused {
            refusal: Refusal::StepUp { max_age, .. },
            ..
        }) => Err(ApiError::InsufficientUserAuthentication { max_age }),
        Err(_) => Err(ApiError::MissingToken),
    }
}

impl Bearer {
    pub(super) fn caller(&self) -> Caller<'_> {
        Caller {
            viewer: &self.viewer,
            via: Door::Rest,
            request_id: self.request_id.as_deref(),
        }
    }
}

/// A JSON request body through axum's `Json`, its rejections turned into the API's errors. The body
/// is read when extracted: one that cannot be (over the size limit) is refused then, 413. It is
/// judged only by `into_inner`, which handlers call after authorization: a caller without the
/// scope learns nothing about validation.
pub(super) struct ApiJson<T>(Result<T, ApiError>);

impl<T> ApiJson<T> {
    /// The body as a `T`: 415 for another media type than `application/json`, 400 for bad JSON,
    /// 422 for JSON of the wrong shape.
    pub(super) fn into_inner(self) -> Result<T, ApiError> {
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

/// Query parameters through axum's `Query`; a rejection is the API's 400. Handlers take it as
/// `Result<ApiQuery<T>, ApiError>` and look at it after authorization.
pub(super) struct ApiQuery<T>(pub(super) T);

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
