//! Plain server-rendered pages for outcomes outside the Leptos app: sign-in errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use html_escape::encode_text;

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · Issues</title><link rel=\"stylesheet\" href=\"/pkg/issues-app.css\"></head>\
         <body><div class=\"app\"><main class=\"content\"><section class=\"card problem\" role=\"alert\">\
         <h1>{title}</h1><p id=\"problem\">{message}</p>\
         <p><a class=\"button\" href=\"/\">Back to Issues</a></p></section></main></div></body></html>",
        title = encode_text(title),
        message = encode_text(message),
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
