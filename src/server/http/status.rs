//! The HTTP status of what Leptos answers, each set in one place: a server-function call's
//! status follows its error, read once from the answer at the boundary (`of_call`); a page's
//! status follows what it shows (`of_page`: 404 for unknown paths, 403 for a refused page).

use axum::body::Body;
use axum::http::{Response, StatusCode};
use leptos::prelude::use_context;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

use crate::error::AppError;

/// The longest error a server function answers with: an `AppError` as JSON (a stale issue is
/// the largest, at most a few tens of KB).
const ERROR_BODY_LIMIT: usize = 256 * 1024;

/// A server-function call's answer with the status its error calls for: Leptos answers every
/// error 500, marked with its `serverfnerror` header. Successful answers and plain-form
/// redirects (whose status stays the redirect's) pass untouched, without reading their body.
pub async fn of_call(response: Response<Body>) -> Response<Body> {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, ERROR_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "a server function's error answer could not be read");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Sets the status of the page being rendered.
pub fn of_page(status: u16) {
    if let (Some(options), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
}
