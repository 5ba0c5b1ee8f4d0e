//! Server functions: the browser's API. Explicit, stable endpoints under `/api/`; each one
//! checks the session and the scope itself (see `server::functions`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Issue, SessionView, SharedPage};

/// Who is signed in and what they may do, decided on the server.
#[server(prefix = "/api", endpoint = "session_info")]
pub async fn session_info() -> Result<SessionView, AppError> {
    crate::server::functions::session_info().await
}

/// One page of issues, newest first; `before` continues from an earlier page.
#[server(prefix = "/api", endpoint = "list_issues")]
pub async fn list_issues(before: Option<i64>) -> Result<SharedPage, AppError> {
    crate::server::functions::list_issues(before).await
}

/// Creates an issue as the signed-in user. Needs the create scope.
#[server(prefix = "/api", endpoint = "create_issue")]
pub async fn create_issue(title: String, description: String) -> Result<Issue, AppError> {
    crate::server::functions::create_issue(title, description).await
}
