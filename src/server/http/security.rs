//! Request guards that apply to the whole app: cross-site state changes are refused (Leptos
//! server functions have no CSRF protection of their own), forms must be UTF-8, pages run only
//! their own scripts (Content-Security-Policy), and pages that may show issue data are never
//! stored by the browser.

use std::sync::Arc;

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::http::error_body::error_response;

/// Request bodies larger than this are refused with 413 (`RequestBodyLimitLayer` in start-up,
/// and the form check below, which buffers the body).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The bearer-token REST API: programs, no cookies, so no origin to check.
pub fn is_rest_api(path: &str) -> bool {
    path.starts_with("/api/v1/")
}

/// Paths that take POSTs from other origins by design: the bearer API (no cookies) and the
/// IdP's back-channel logout (server to server).
fn exempt(path: &str) -> bool {
    is_rest_api(path) || path == "/auth/backchannel-logout"
}

/// The guards for cookie-carrying browser requests, in one layer: cross-site state changes are
/// refused, and forms must be UTF-8.
pub async fn browser_requests(State(origin): State<Arc<String>>, request: Request, next: Next) -> Response {
    if let Some(reason) = refused_origin(&origin, &request) {
        tracing::warn!(path = %request.uri().path(), reason, "state-changing request refused");
        return error_response(StatusCode::FORBIDDEN, "forbidden", reason);
    }
    match utf8_form(request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

/// Why a state-changing request is refused, if it is: it comes from another site, or from no
/// page at all. Browsers send `Sec-Fetch-Site` or `Origin` with every POST; server functions
/// and the sign-in forms are for the browser, so a request with neither is refused too (a
/// program uses the bearer API, which is exempt).
fn refused_origin(origin: &str, request: &Request) -> Option<&'static str> {
    if request.method() == Method::GET || request.method() == Method::HEAD || exempt(request.uri().path()) {
        return None;
    }
    let headers = request.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let request_origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (site, request_origin) {
        (Some("same-origin" | "none"), _) => None,
        (Some(_), _) => Some("cross-site requests are refused"),
        (None, Some(request_origin)) if request_origin == origin => None,
        (None, Some(_)) => Some("cross-site requests are refused"),
        (None, None) => Some(
            "the request names no origin (Origin or Sec-Fetch-Site): this endpoint is for the \
             app's pages; programs use the bearer-token API under /api/v1/",
        ),
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
    if request.method() != Method::POST || !is_form || empty || is_rest_api(request.uri().path()) {
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
        return Err(error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the form is not valid UTF-8",
        ));
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// Sets the Content-Security-Policy of the page being rendered: scripts only from this origin or
/// carrying this response's nonce (Leptos puts it on its hydration and streaming scripts),
/// WebAssembly may compile, nothing is framed or embedded. Injected markup cannot run.
pub fn set_content_security_policy(form_action: Option<String>) {
    let (Some(nonce), Some(options)) = (
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let form_action = form_action.as_deref().unwrap_or("'self'");
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce, form_action)) {
        options.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// `form_action`: where forms may lead, `'self'` plus the provider's sign-in and sign-out
/// origins (the sign-in and sign-out forms are answered with redirects there).
fn content_security_policy(nonce: &str, form_action: &str) -> String {
    // `cargo leptos watch` reloads the page over a WebSocket on its own port.
    static WATCHING: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("LEPTOS_WATCH").is_some());
    let connect = if *WATCHING { "'self' ws:" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src {connect}; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; \
         form-action {form_action}"
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
    // A window this app opens, or that opens it, gets no handle on the other.
    headers.insert(CROSS_ORIGIN_OPENER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

const CROSS_ORIGIN_OPENER_POLICY: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// `Strict-Transport-Security` for an app hosted on https: browsers refuse plain http to it for
/// a year. (Only its own host: subdomains may be other people's.)
pub const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");
