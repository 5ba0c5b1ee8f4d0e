//! Server functions: the browser's API. Explicit, stable endpoints under `/api/`; each one
//! checks the session and the scope itself (see `server::functions`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AuditPage, Issue, SessionView, SharedPage};

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

/// A page of the audit trail, newest first, filtered by who (`sub` or name) and outcome (`ok`,
/// `refused`). Needs the audit scope.
#[server(prefix = "/api", endpoint = "list_audit")]
pub async fn list_audit(
    who: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    crate::server::functions::list_audit(who, outcome, before).await
}

/// Starts a sign-in that comes back to `return_to`: the browser goes to the identity provider
/// (a redirect for a plain form; the hydrated app follows it too).
#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(return_to: Option<String>) -> Result<(), AppError> {
    crate::server::functions::sign_in(return_to).await
}

/// Signs out here and at the identity provider (its end-session page, then home).
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::server::functions::sign_out().await
}
