//! The site's files (WASM, JS, CSS, favicon). A binary built with the cargo feature `embed-site`
//! (`scripts/release` builds so) carries them inside itself, so an installed binary needs nothing
//! beside it; any other build serves them from `site-root` on disk, where cargo-leptos puts them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use crate::server::state::AppState;

/// The fallback route: an embedded site file if there is one, else Leptos's own (a file from
/// disk, or the app's "not found" page).
pub fn fallback<F, Fut>(
    leptos: F,
) -> impl Fn(Uri, State<AppState>, Request<Body>) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static
where
    F: Fn(Uri, State<AppState>, Request<Body>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    move |uri, state, request| {
        let leptos = leptos.clone();
        Box::pin(async move {
            match embedded(&uri, request.headers()) {
                Some(response) => response,
                None => leptos(uri, state, request).await,
            }
        })
    }
}

/// What cargo-leptos built into target/site when this binary was compiled. (Missing is allowed
/// so lints run before the site is built; `scripts/release` builds the site first, and the
/// release archive test compares the WASM, JS, CSS and icon with target/site.)
#[cfg(feature = "embed-site")]
#[derive(rust_embed::Embed)]
#[folder = "target/site"]
#[allow_missing = true]
struct Site;

/// The embedded file at the request's path, with its type and an `ETag` (304 when the browser
/// has it already).
#[cfg(feature = "embed-site")]
fn embedded(uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    use axum::http::{HeaderValue, StatusCode, header};
    use std::fmt::Write;

    let file = Site::get(uri.path().strip_prefix('/')?)?;
    let mut etag = String::from("\"");
    for byte in file.metadata.sha256_hash() {
        let _ = write!(etag, "{byte:02x}");
    }
    etag.push('"');
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let (status, body) = match fresh {
        true => (StatusCode::NOT_MODIFIED, Body::empty()),
        // Embedded in a release build: served from the binary, not copied.
        false => (
            StatusCode::OK,
            Body::from(match file.data {
                std::borrow::Cow::Borrowed(bytes) => bytes::Bytes::from_static(bytes),
                std::borrow::Cow::Owned(bytes) => bytes::Bytes::from(bytes),
            }),
        ),
    };
    let content_type = HeaderValue::from_str(file.metadata.mimetype()).ok()?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ETAG, etag)
        .body(body)
        .ok()
}

#[cfg(not(feature = "embed-site"))]
fn embedded(_uri: &Uri, _headers: &HeaderMap) -> Option<Response> {
    None
}
