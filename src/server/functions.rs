//! The server side of the Leptos server functions in `crate::api`: find the state and the
//! caller, make the one authorization decision, call the service, map the error.

use leptos::prelude::*;
use tower_sessions::Session;

use crate::access::{self, Permission, Refusal, Viewer};
use crate::error::AppError;
use crate::model::{AuditPage, Issue, NewIssue, PAGE_SIZE, SessionView, SharedPage, UserSummary};
use crate::server::audit;
use crate::server::auth::sign_in::{self, Begun, SignInError};
use crate::server::clock;
use crate::server::db::database_error;
use crate::server::metrics;
use crate::server::state::AppState;
use crate::server::telemetry::request_id_of;
use axum::http::request::Parts;

/// Sets the HTTP status for the error when answering a server-function call.
fn fail(error: AppError) -> AppError {
    crate::server::status::of_call(error.status());
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
    let viewer = state.sessions.viewer(&session, clock::now()).await.map_err(fail)?;
    let decision = access::require(viewer.as_ref(), &state.config.load().features, permission);
    metrics::authorization(permission, decision.is_ok(), "server_function");
    match decision {
        Ok(viewer) => {
            let viewer = viewer.clone();
            Ok((state, viewer))
        }
        Err(Refusal::Unauthenticated) => Err(fail(AppError::Unauthenticated)),
        Err(Refusal::Forbidden { permission, required }) => {
            tracing::info!(sub = %viewer.as_ref().map(|v| v.sub.as_str()).unwrap_or_default(), ?permission, "refused: missing scope");
            state
                .audit
                .record(audit::Event {
                    event: "authorization",
                    refused: true,
                    actor: viewer.as_ref(),
                    permission: Some(permission),
                    missing_scopes: viewer.as_ref().map(|v| v.missing(&required)).unwrap_or_default(),
                    via: Some("server_function"),
                    request_id: call_request_id().as_deref(),
                    ..Default::default()
                })
                .await;
            Err(fail(AppError::Forbidden(permission.describe().into())))
        }
    }
}

pub async fn session_info() -> Result<SessionView, AppError> {
    let (state, session) = context().await?;
    match state.sessions.viewer(&session, clock::now()).await {
        Ok(Some(viewer)) => Ok(SessionView {
            user: Some(UserSummary {
                name: viewer.name.clone(),
            }),
            permissions: state.config.load().features.permissions(&viewer.scopes),
            scopes: viewer.scopes,
            notice: None,
        }),
        Ok(None) => Ok(SessionView::default()),
        Err(AppError::SessionEnded) => {
            // Say it once; afterwards the session is simply anonymous.
            state.sessions.acknowledge_ended(&session).await;
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
    state
        .issues
        .list(before, PAGE_SIZE)
        .await
        .map(|cached| cached.shared())
        .map_err(|e| fail(database_error(e)))
}

pub async fn create_issue(title: String, description: String) -> Result<Issue, AppError> {
    let (state, viewer) = authorize(Permission::CreateIssue).await?;
    let issue = NewIssue::parse(&title, &description).map_err(|fields| fail(AppError::Invalid(fields)))?;
    let created = state
        .issues
        .create(&issue, &viewer.sub, &viewer.name, clock::now_millis())
        .await
        .map_err(|e| fail(database_error(e)))?;
    state
        .audit
        .record(audit::Event {
            event: "issue_created",
            actor: Some(&viewer),
            via: Some("server_function"),
            detail: Some(format!("issue {}", created.id)),
            request_id: call_request_id().as_deref(),
            ..Default::default()
        })
        .await;
    Ok(created)
}

pub async fn list_audit(
    who: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    let (state, _viewer) = authorize(Permission::ViewAudit).await?;
    if outcome
        .as_deref()
        .is_some_and(|outcome| outcome != "ok" && outcome != "refused")
    {
        return Err(fail(AppError::BadRequest("the outcome is `ok` or `refused`".into())));
    }
    let filter = audit::Filter {
        who: who.filter(|who| !who.trim().is_empty()),
        outcome,
    };
    state
        .audit
        .page(&filter, before, audit::AUDIT_PAGE_SIZE)
        .await
        .map_err(|e| fail(database_error(e)))
}

/// `leptos_axum::redirect`: a plain form gets a redirect; the hydrated app gets a header it
/// follows (with a full navigation when it leaves this origin).
pub async fn sign_in(return_to: Option<String>) -> Result<(), AppError> {
    let (state, session) = context().await?;
    match sign_in::begin(&state.sessions, &session, return_to.as_deref(), clock::now()).await {
        Ok(Begun::SignedIn { return_to }) => leptos_axum::redirect(&return_to),
        Ok(Begun::ToProvider {
            authorize_url,
            pending_cookie,
        }) => {
            // Without the cookie the callback could not finish: refuse rather than send the
            // browser to the provider.
            let response = use_context::<leptos_axum::ResponseOptions>().ok_or_else(|| fail(AppError::Internal))?;
            response.append_header(axum::http::header::SET_COOKIE, pending_cookie);
            leptos_axum::redirect(&authorize_url);
        }
        Err(error) => return Err(fail(sign_in_failure(error))),
    }
    Ok(())
}

pub async fn sign_out() -> Result<(), AppError> {
    let (state, session) = context().await?;
    let who = state.sessions.signed_in_as(&session).await;
    let next = sign_in::sign_out(&state.sessions, &session)
        .await
        .map_err(|error| fail(sign_in_failure(error)))?;
    state
        .audit
        .record_sign_out(who.as_ref(), call_request_id().as_deref())
        .await;
    leptos_axum::redirect(&next);
    Ok(())
}

/// The id of the request answering this call (for the audit trail).
fn call_request_id() -> Option<String> {
    use_context::<Parts>().and_then(|parts| request_id_of(&parts.headers).map(str::to_string))
}

/// What the browser may learn of a sign-in or sign-out that did not happen.
fn sign_in_failure(error: SignInError) -> AppError {
    tracing::warn!(%error, "sign-in or sign-out failed");
    match error {
        SignInError::NotSignedOut => AppError::NotSignedOut,
        SignInError::BadRequest(problem) => AppError::BadRequest(problem),
        _ => AppError::Unavailable,
    }
}
