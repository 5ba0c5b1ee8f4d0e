//! Request guards that apply to the whole app: cross-site state changes are refused (Leptos
//! server functions have no CSRF protection of their own), forms must be UTF-8, pages run only
//! their own scripts (Content-Security-Policy), and pages that may show issue data are never
//! stored by the browser.

use std::sync::Arc;

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Request bodies larger than this are refused with 413 (`RequestBodyLimitLayer` in start-up,
/// and the form check below, which buffers the body).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Paths that take POSTs from other origins by design: the bearer API (no cookies) and the
/// IdP's back-channel logout.
fn exempt(path: &str) -> bool {
    path.starts_with("/api/v1/") || path == "/auth/backchannel-logout"
}

/// The guards for cookie-carrying browser requests, in one layer: cross-site state changes are
/// refused, and forms must be UTF-8.
pub async fn browser_requests(State(origin): State<Arc<String>>, request: Request, next: Next) -> Response {
    if is_cross_site(&origin, &request) {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        return refusal(StatusCode::FORBIDDEN, "forbidden", "cross-site requests are refused");
    }
    match utf8_form(request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

fn is_cross_site(origin: &str, request: &Request) -> bool {
    if request.method() == Method::GET || request.method() == Method::HEAD || exempt(request.uri().path()) {
        return false;
    }
    let headers = request.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let request_origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (site, request_origin) {
        (Some(site), _) => site != "same-origin" && site != "none",
        (None, Some(request_origin)) => request_origin != origin,
        // Neither header: not a browser, so no ambient cookies are being abused.
        (None, None) => false,
    }
}

/// Server-function forms must decode to valid UTF-8: percent-encoded invalid bytes are refused
/// with 400 instead of being silently replaced with U+FFFD.
async fn utf8_form(request: Request) -> Result<Request, Response> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let empty = request.body().size_hint().exact() == Some(0);
    if request.method() != Method::POST || !is_form || empty || request.uri().path().starts_with("/api/v1/") {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response());
    };
    // Each name and value, '+' as space, percent-decoded, must be UTF-8.
    let valid = bytes
        .split(|b| *b == b'&')
        .flat_map(|pair| pair.split(|b| *b == b'='))
        .all(|part| {
            let spaced: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
            let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
            std::str::from_utf8(&decoded).is_ok()
        });
    if !valid {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the form is not valid UTF-8",
        ));
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Sets the Content-Security-Policy of the page being rendered: scripts only from this origin or
/// carrying this response's nonce (Leptos puts it on its hydration and streaming scripts),
/// WebAssembly may compile, nothing is framed or embedded. Injected markup cannot run.
pub fn set_content_security_policy() {
    let (Some(nonce), Some(options)) = (
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        options.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

fn content_security_policy(nonce: &str) -> String {
    // `cargo leptos watch` reloads the page over a WebSocket on its own port.
    static WATCHING: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("LEPTOS_WATCH").is_some());
    let connect = if *WATCHING { "'self' ws:" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src {connect}; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
}

/// `Cache-Control: no-store` on HTML and server-function answers, so the back button after
/// sign-out cannot show issue data from the browser cache.
pub async fn no_store_for_dynamic(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/pkg/") || request.uri().path() == "/favicon.ico";
    let mut response = next.run(request).await;
    if !is_asset {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}
