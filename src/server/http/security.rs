//! Request guards that apply to the whole app: cross-site state changes are refused (Leptos
//! server functions have no CSRF protection of their own), forms must be UTF-8, pages run only
//! their own scripts (Content-Security-Policy), and pages that may show issue data are never
//! stored by the browser.
//!
//! The guards are thin tower services, composed once around the app (`startup::app`): no boxed
//! future or cloned service stack per request, except for the rare form that is read whole.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use tower::{Layer, Service};

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
#[derive(Clone)]
pub struct BrowserGuardLayer {
    /// This app's origin (`https://host`), which a state-changing request must come from.
    origin: Arc<str>,
}

impl BrowserGuardLayer {
    pub fn new(origin: String) -> Self {
        Self { origin: origin.into() }
    }
}

impl<S> Layer<S> for BrowserGuardLayer {
    type Service = BrowserGuard<S>;
    fn layer(&self, inner: S) -> BrowserGuard<S> {
        BrowserGuard {
            inner,
            origin: self.origin.clone(),
        }
    }
}

#[derive(Clone)]
pub struct BrowserGuard<S> {
    inner: S,
    origin: Arc<str>,
}

impl<S> Service<Request> for BrowserGuard<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    /// A refusal, or a form read whole before it is passed on (boxed: both are rare); otherwise
    /// the inner service's own answer, untouched.
    type Future = Either<BoxFuture<'static, Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(reason) = refused_origin(&self.origin, &request) {
            tracing::warn!(path = %request.uri().path(), reason, "state-changing request refused");
            let refusal = guard_answer(error_response(StatusCode::FORBIDDEN, "forbidden", reason));
            return Either::Left(Box::pin(std::future::ready(Ok(refusal))));
        }
        if !is_form_to_check(&request) {
            return Either::Right(self.inner.call(request));
        }
        // The service that was made ready answers; its clone stays for the next request.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Either::Left(Box::pin(async move {
            match utf8_form(request).await {
                Ok(request) => inner.call(request).await,
                Err(refusal) => Ok(guard_answer(refusal)),
            }
        }))
    }
}

/// The guard's own answer, counted in the request metrics under its own name (it comes before
/// routing, so it has no route).
fn guard_answer(mut response: Response) -> Response {
    response
        .extensions_mut()
        .insert(crate::server::ops::metrics::RouteName("browser guard"));
    response
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

/// A form POST with a body, whose encoding [`utf8_form`] checks.
fn is_form_to_check(request: &Request) -> bool {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let empty = request.body().size_hint().exact() == Some(0);
    request.method() == Method::POST && is_form && !empty && !is_rest_api(request.uri().path())
}

/// Server-function forms must decode to valid UTF-8: percent-encoded invalid bytes are refused
/// with 400 instead of being silently replaced with U+FFFD.
async fn utf8_form(request: Request) -> Result<Request, Response> {
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

/// The headers every answer carries:
/// - `Cache-Control: no-store` on all but the static assets, so the back button after sign-out
///   cannot show issue data from the browser cache;
/// - no sniffing, no framing, no referrer to other sites, no window handle across origins;
/// - `Strict-Transport-Security` when the app is hosted on https.
#[derive(Clone, Copy)]
pub struct SecurityHeadersLayer {
    hsts: bool,
}

impl SecurityHeadersLayer {
    pub fn new(https: bool) -> Self {
        Self { hsts: https }
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;
    fn layer(&self, inner: S) -> SecurityHeaders<S> {
        SecurityHeaders { inner, hsts: self.hsts }
    }
}

#[derive(Clone)]
pub struct SecurityHeaders<S> {
    inner: S,
    hsts: bool,
}

impl<S, B> Service<axum::http::Request<B>> for SecurityHeaders<S>
where
    S: Service<axum::http::Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = WithSecurityHeaders<S::Future>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let asset = path.starts_with("/pkg/") || path == "/favicon.ico";
        WithSecurityHeaders {
            answer: self.inner.call(request),
            no_store: !asset,
            hsts: self.hsts,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner answer, with [`SecurityHeaders`]' headers set on it.
    pub struct WithSecurityHeaders<F> {
        #[pin]
        answer: F,
        no_store: bool,
        hsts: bool,
    }
}

impl<F> Future for WithSecurityHeaders<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = ready!(this.answer.poll(context));
        let headers = response.headers_mut();
        if *this.no_store {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        // A window this app opens, or that opens it, gets no handle on the other.
        headers.insert(CROSS_ORIGIN_OPENER_POLICY, HeaderValue::from_static("same-origin"));
        if *this.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
        Poll::Ready(Ok(response))
    }
}

const CROSS_ORIGIN_OPENER_POLICY: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// `Strict-Transport-Security` for an app hosted on https: browsers refuse plain http to it for
/// a year. (Only its own host: subdomains may be other people's.)
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");
