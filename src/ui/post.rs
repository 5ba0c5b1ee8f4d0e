//! The one way the islands call a server function by hand (`submit`, and a call sent again
//! after a step-up, `step_up`): posted as a plain form would be, the answer read as the
//! function's output or as its [`AppError`].

use leptos::prelude::window;

use crate::error::AppError;

/// Posts `body` (URL-encoded) to `url` as the server function client does: the answer's text,
/// or the error it carries. A function that sends the browser elsewhere (`redirect`) does so
/// (then the answer says `true`).
pub(crate) async fn post(url: &str, body: String) -> Result<(String, bool), AppError> {
    let transport = |error: gloo_net::Error| AppError::Transport(error.to_string());
    let response = gloo_net::http::Request::post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body)
        .map_err(transport)?
        .send()
        .await
        .map_err(transport)?;
    let text = response.text().await.map_err(transport)?;
    if !response.ok() {
        // A server function's refusal is an `AppError`; the edge's own answers (a request too
        // large, the server busy) are not.
        return Err(serde_json::from_str(&text).unwrap_or_else(|_| {
            AppError::Transport(match response.status() {
                413 => "that is more than the server accepts".into(),
                429 | 503 => "the server is busy: try again in a moment".into(),
                status => format!("the server answered {status}"),
            })
        }));
    }
    let headers = response.headers();
    let redirect = headers
        .get("location")
        .filter(|_| headers.has(leptos::server_fn::redirect::REDIRECT_HEADER));
    if let Some(to) = &redirect {
        let _ = window().location().set_href(to);
    }
    Ok((text, redirect.is_some()))
}
