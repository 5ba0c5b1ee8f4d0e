//! The server side of the Leptos server functions in `crate::api`: find the state and the
//! caller, make the one authorization decision, call the service, map the error.

use leptos::prelude::*;
use tower_sessions::Session;

use crate::access::{self, Permission, Refusal, Viewer};
use crate::error::AppError;
use crate::model::{Issue, NewIssue, PAGE_SIZE, SessionView, SharedPage, UserSummary};
use crate::server::auth::session::{AUTH_KEY, AuthState, current_viewer, database_error, now};
use crate::server::issues;
use crate::server::state::AppState;

/// Sets the HTTP status for the error when answering a server-function call.
fn fail(error: AppError) -> AppError {
    crate::server::respond_with_status(error.status());
    error
}

async fn context() -> Result<(AppState, Session), AppError> {
    let state = use_context::<AppState>().ok_or_else(|| fail(AppError::Internal))?;
    // Provided by the server-function handler; while rendering a page, read from the request.
    let session = match use_context::<Session>() {
        Some(session) => session,
        None => leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "no session layer");
            fail(AppError::Internal)
        })?,
    };
    Ok((state, session))
}

/// The caller, if they may do `permission`; 401 / 403 otherwise.
async fn authorize(permission: Permission) -> Result<(AppState, Viewer), AppError> {
    let (state, session) = context().await?;
    let viewer = current_viewer(&state, &session).await.map_err(fail)?;
    match access::require(viewer.as_ref(), &state.config.features, permission) {
        Ok(viewer) => {
            let viewer = viewer.clone();
            Ok((state, viewer))
        }
        Err(Refusal::Unauthenticated) => Err(fail(AppError::Unauthenticated)),
        Err(Refusal::Forbidden { permission, .. }) => {
            tracing::info!(sub = %viewer.as_ref().map(|v| v.sub.as_str()).unwrap_or_default(), ?permission, "refused: missing scope");
            Err(fail(AppError::Forbidden(permission.describe().into())))
        }
    }
}

pub async fn session_info() -> Result<SessionView, AppError> {
    let (state, session) = context().await?;
    match current_viewer(&state, &session).await {
        Ok(Some(viewer)) => Ok(SessionView {
            user: Some(UserSummary {
                name: viewer.name.clone(),
            }),
            permissions: state.config.features.permissions(&viewer.scopes),
            scopes: viewer.scopes,
            notice: None,
        }),
        Ok(None) => Ok(SessionView::default()),
        Err(AppError::SessionEnded) => {
            // Say it once; afterwards the session is simply anonymous.
            let _ = session.remove::<AuthState>(AUTH_KEY).await;
            Ok(SessionView {
                notice: Some(AppError::SessionEnded.to_string()),
                ..SessionView::default()
            })
        }
        Err(error) => Err(fail(error)),
    }
}

pub async fn list_issues(before: Option<i64>) -> Result<SharedPage, AppError> {
    let (state, _viewer) = authorize(Permission::ViewIssues).await?;
    issues::list_cached(&state.db, &state.first_page, before, PAGE_SIZE)
        .await
        .map(|cached| cached.shared())
        .map_err(|e| fail(database_error(e)))
}

pub async fn create_issue(title: String, description: String) -> Result<Issue, AppError> {
    let (state, viewer) = authorize(Permission::CreateIssue).await?;
    let issue = NewIssue::parse(&title, &description).map_err(|fields| fail(AppError::Invalid(fields)))?;
    issues::create_and_invalidate(
        &state.db,
        &state.first_page,
        &issue,
        &viewer.sub,
        &viewer.name,
        now() * 1000,
    )
    .await
    .map_err(|e| fail(database_error(e)))
}
