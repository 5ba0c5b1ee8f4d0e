//! The HTML the provider shows people: the sign-in form, error and signed-out pages.
//! Every dynamic value goes through `escape`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f3f4f8;color:#1f2330}
main{max-width:380px;margin:8vh auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 4px 24px rgba(20,30,60,.08)}
h1{font-size:1.35rem;margin:0 0 4px}p.sub{margin:0 0 24px;color:#5b6172}
label{display:block;font-weight:600;margin:16px 0 6px}
input{box-sizing:border-box;width:100%;padding:10px 12px;border:1px solid #c9cdd8;border-radius:8px;font-size:1rem}
input:focus{outline:2px solid #b35000;border-color:#b35000}
button{margin-top:24px;width:100%;padding:11px;border:0;border-radius:8px;background:#b35000;color:#fff;font-size:1rem;font-weight:600;cursor:pointer}
.error{background:#fdecec;color:#a11a1a;border-radius:8px;padding:10px 12px;margin-bottom:8px}
.note{margin-top:24px;font-size:.85rem;color:#6b7080}";

pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · dev-idp</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        title = escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    response
}

pub struct LoginForm<'a> {
    pub action: &'a str,
    pub organization: &'a str,
    pub application: &'a str,
    pub interaction_id: &'a str,
    pub csrf_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub fn login(form: &LoginForm<'_>) -> Response {
    let error = form
        .error
        .map(|message| {
            format!(
                "<div class=\"error\" role=\"alert\" id=\"login-error\">{}</div>",
                escape(message)
            )
        })
        .unwrap_or_default();
    let autofocus_user = if form.username.is_empty() { " autofocus" } else { "" };
    let autofocus_password = if form.username.is_empty() { "" } else { " autofocus" };
    let body = format!(
        "<h1>Sign in</h1><p class=\"sub\">to <strong>{application}</strong> · organization <strong>{organization}</strong></p>\
         {error}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\"{autofocus_user}>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{autofocus_password}>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"note\">dev-idp is a development identity provider. Never use it in production.</p>",
        application = escape(form.application),
        organization = escape(form.organization),
        action = escape(form.action),
        interaction = escape(form.interaction_id),
        csrf = escape(form.csrf_token),
        username = escape(form.username),
    );
    page(StatusCode::OK, "Sign in", &body)
}

pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Sign-in problem</h1><div class=\"error\" role=\"alert\">{}</div>",
        escape(message)
    );
    page(status, "Error", &body)
}

pub fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<h1>You are signed out</h1><p class=\"sub\">You can close this window.</p>",
    )
}
