//! The server side of the Leptos server functions in `crate::api`: find the state and the
//! caller, make the one authorization decision, call the service, map the error.

use leptos::prelude::*;
use tower_sessions::Session;

use crate::access::{self, Permission, SessionView, Viewer};
use crate::error::AppError;
use crate::model::{
    AuditPage, BoardQuery, COMMENT_PAGE_SIZE, Comment, CommentPage, EventPage, HISTORY_PAGE_SIZE, Issue, IssueChange,
    IssueDetail, Label, OPEN, PAGE_SIZE, Profile, SessionDeadlines, SharedPage, UserSummary,
};
use crate::server::auth::profile;
use crate::server::auth::session::Current;
use crate::server::auth::sign_in::{self, Begun, Prompt, SignInError};
use crate::server::http::authorize::{Call, Refused};
use crate::server::ops::telemetry::request_id_of;
use crate::server::state::AppState;
use crate::server::storage::audit::{self, Door, EventKind};
use crate::server::storage::db::database_error;
use crate::server::storage::issues::ListError;
use crate::server::support::clock;
use crate::server::tracker::{Caller, TrackerError};
use axum::http::request::Parts;

async fn context() -> Result<(AppState, Session), AppError> {
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    // Provided by the server-function handler; while rendering a page, read from the request.
    let session = match use_context::<Session>() {
        Some(session) => session,
        None => leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "no session layer");
            AppError::Internal
        })?,
    };
    Ok((state, session))
}

/// The caller, if they may do `permission`; 401 / 403 otherwise.
async fn authorize(permission: Permission) -> Result<(AppState, Viewer), AppError> {
    let (state, session) = context().await?;
    let viewer = state.sessions.viewer(&session, clock::now()).await?;
    let call = Call {
        viewer: viewer.as_ref(),
        door: Door::ServerFunction,
        request_id: &call_request_id,
        audit: &state.audit,
    };
    match call.authorize(&state.config, permission).await {
        Ok(viewer) => {
            let viewer = viewer.clone();
            Ok((state, viewer))
        }
        Err(Refused { why: None, .. }) => Err(AppError::Unauthenticated),
        Err(Refused { why: Some(why), .. }) => Err(AppError::Forbidden(match &state.config.load().access_help {
            Some(help) => format!("{} {}", why.line(), help.sentence()),
            None => why.line(),
        })),
    }
}

pub async fn session_info() -> Result<SessionView, AppError> {
    let (state, session) = context().await?;
    let now = clock::now();
    match state.sessions.signed_in(&session, now).await {
        Ok(Some(current)) => {
            let config = state.config.load();
            let viewer = current.row.viewer();
            Ok(SessionView {
                user: Some(UserSummary {
                    name: viewer.name.clone(),
                    drafts: state.sessions.drafts_key(&viewer.sub),
                }),
                permissions: config.features.permissions(&viewer.scopes),
                scopes: viewer.scopes,
                notice: None,
                access_help: config.access_help.clone(),
                deadlines: Some(state.sessions.deadlines(&current, now)),
            })
        }
        Ok(None) => Ok(SessionView::default()),
        Err(AppError::SessionEnded) => {
            // Say it once; afterwards the session is simply anonymous.
            state.sessions.acknowledge_ended(&session).await;
            Ok(SessionView {
                notice: Some(AppError::SessionEnded.to_string()),
                ..SessionView::default()
            })
        }
        Err(error) => Err(error),
    }
}

/// The signed-in user's session, or 401.
async fn signed_in() -> Result<(AppState, Session, Current), AppError> {
    let (state, session) = context().await?;
    match state.sessions.signed_in(&session, clock::now()).await? {
        Some(current) => Ok((state, session, current)),
        None => Err(AppError::Unauthenticated),
    }
}

pub async fn my_profile() -> Result<Profile, AppError> {
    let (state, _, current) = signed_in().await?;
    let now = clock::now();
    let all = state.sessions.of_subject(&current.row.sub, now).await?;
    Ok(profile::profile(&state.sessions, &current, &all, now))
}

pub async fn check_session(renew: bool) -> Result<Option<SessionDeadlines>, AppError> {
    let (state, session) = context().await?;
    let now = clock::now();
    if !renew {
        return state.sessions.peek_deadlines(&session, now).await;
    }
    match state.sessions.stay(&session, now).await {
        Err(AppError::SessionEnded) => {
            state.sessions.acknowledge_ended(&session).await;
            Ok(None)
        }
        other => other,
    }
}

pub async fn sign_out_session(handle: String) -> Result<(), AppError> {
    let (state, _, current) = signed_in().await?;
    if state.sessions.handle(&current.row) == handle {
        return sign_out().await;
    }
    let viewer = current.row.viewer();
    if !state.sessions.end_other(&viewer.sub, &handle, clock::now()).await? {
        return Err(AppError::BadRequest("no such session of yours".into()));
    }
    state
        .audit
        .record(audit::Event {
            actor: Some(&viewer),
            via: Some(Door::Browser),
            request_id: call_request_id().as_deref(),
            ..audit::Event::new(EventKind::SignOutSession)
        })
        .await;
    leptos_axum::redirect("/profile");
    Ok(())
}

pub async fn sign_out_everywhere() -> Result<(), AppError> {
    let (state, session, current) = signed_in().await?;
    let viewer = current.row.viewer();
    let (id_token, others) = state
        .sessions
        .end_everywhere(&session, &viewer.sub)
        .await
        .map_err(sign_in_failure)?;
    state
        .audit
        .record(audit::Event {
            actor: Some(&viewer),
            via: Some(Door::Browser),
            detail: Some(format!("{} other sessions ended", others)),
            request_id: call_request_id().as_deref(),
            ..audit::Event::new(EventKind::SignOutEverywhere)
        })
        .await;
    let next = state.sessions.oidc().end_session_url(id_token.as_deref()).await;
    leptos_axum::redirect(next.as_deref().unwrap_or("/"));
    Ok(())
}

pub async fn list_issues(query: BoardQuery, before: Option<i64>) -> Result<SharedPage, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let (filter, cursor) = query
        .read(before, Some(OPEN), &viewer.sub)
        .map_err(AppError::BadRequest)?;
    state
        .issues
        .list(&viewer.sub, &filter, cursor.as_ref(), PAGE_SIZE)
        .await
        .map(|cached| cached.shared())
        .map_err(list_failure)
}

/// What the browser may learn of a board page not read; a refused search says when to retry.
fn list_failure(error: ListError) -> AppError {
    let try_again = matches!(error, ListError::TooManySearches | ListError::Busy | ListError::TooSlow);
    if let (true, Some(response)) = (try_again, use_context::<leptos_axum::ResponseOptions>()) {
        response.insert_header(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    error.into()
}

pub async fn get_issue(id: i64) -> Result<IssueDetail, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let may_assign = state
        .config
        .load()
        .features
        .allows(&viewer.scopes, Permission::AssignIssue);
    let people = async {
        match may_assign {
            true => state.people.list().await,
            false => Ok(Vec::new()),
        }
    };
    let may_edit = state
        .config
        .load()
        .features
        .allows(&viewer.scopes, Permission::EditIssue);
    let labels = async {
        match may_edit {
            true => state.issues.labels().await,
            false => Ok(Vec::new()),
        }
    };
    // The reads at once: the page waits for the slowest, not their sum.
    let (issue, comments, people, labels) = tokio::join!(
        state.issues.get(id),
        state.issues.comments(id, None, COMMENT_PAGE_SIZE),
        people,
        labels
    );
    let issue = issue.map_err(database_error)?.ok_or(AppError::NotFound)?;
    Ok(IssueDetail {
        issue,
        comments: comments.map_err(database_error)?,
        people: people.map_err(database_error)?,
        labels: labels.map_err(database_error)?,
    })
}

pub async fn list_issue_events(id: i64) -> Result<EventPage, AppError> {
    let (state, _viewer) = authorize(Permission::ViewIssues).await?;
    let (issue, history) = tokio::join!(state.issues.get(id), state.issues.events(id, None, HISTORY_PAGE_SIZE));
    issue.map_err(database_error)?.ok_or(AppError::NotFound)?;
    history.map_err(database_error)
}

pub async fn list_comments(issue: i64, after: Option<i64>) -> Result<CommentPage, AppError> {
    let (state, _viewer) = authorize(Permission::ViewIssues).await?;
    let exists = state.issues.get(issue).await.map_err(database_error)?;
    exists.ok_or(AppError::NotFound)?;
    state
        .issues
        .comments(issue, after, COMMENT_PAGE_SIZE)
        .await
        .map_err(database_error)
}

pub async fn create_issue(title: String, description: String) -> Result<Issue, AppError> {
    let (state, viewer) = authorize(Permission::CreateIssue).await?;
    let request_id = call_request_id();
    state
        .tracker
        .create(&caller(&viewer, &request_id), &title, &description)
        .await
        .map_err(tracker_failure)
}

pub async fn add_comment(issue: i64, body: String) -> Result<Comment, AppError> {
    let (state, viewer) = authorize(Permission::Comment).await?;
    let request_id = call_request_id();
    state
        .tracker
        .comment(&caller(&viewer, &request_id), issue, &body)
        .await
        .map_err(tracker_failure)
}

/// Changes issue `id` from `version` once every permission the change needs is granted.
pub async fn change_issue(id: i64, version: i64, change: IssueChange) -> Result<Issue, AppError> {
    // Viewing first: a refusal (a stale version) shows the issue as it is.
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let needed = access::needed_for(&change);
    if needed.is_empty() {
        return Err(AppError::BadRequest("nothing to change".into()));
    }
    for permission in needed {
        authorize(permission).await?;
    }
    let request_id = call_request_id();
    state
        .tracker
        .change(&caller(&viewer, &request_id), id, change, Some(version))
        .await
        .map_err(tracker_failure)
}

pub async fn delete_issue(id: i64, version: i64) -> Result<(), AppError> {
    authorize(Permission::ViewIssues).await?;
    let (state, viewer) = authorize(Permission::DeleteIssue).await?;
    let request_id = call_request_id();
    state
        .tracker
        .delete(&caller(&viewer, &request_id), id, Some(version))
        .await
        .map_err(tracker_failure)?;
    leptos_axum::redirect("/issues");
    Ok(())
}

pub async fn list_labels() -> Result<Vec<Label>, AppError> {
    let (state, _viewer) = authorize(Permission::ViewIssues).await?;
    state.issues.labels().await.map_err(database_error)
}

pub async fn define_label(name: String, color: String, description: String) -> Result<Label, AppError> {
    let (state, viewer) = authorize(Permission::ManageLabels).await?;
    let request_id = call_request_id();
    let label = state
        .tracker
        .define_label(&caller(&viewer, &request_id), &name, &color, &description)
        .await
        .map_err(tracker_failure)?;
    // The labels page's forms are plain forms: back to it.
    leptos_axum::redirect("/labels");
    Ok(label)
}

pub async fn delete_label(id: i64) -> Result<(), AppError> {
    let (state, viewer) = authorize(Permission::ManageLabels).await?;
    let request_id = call_request_id();
    state
        .tracker
        .delete_label(&caller(&viewer, &request_id), id)
        .await
        .map_err(tracker_failure)?;
    leptos_axum::redirect("/labels");
    Ok(())
}

fn caller<'a>(viewer: &'a Viewer, request_id: &'a Option<String>) -> Caller<'a> {
    Caller {
        viewer,
        via: Door::ServerFunction,
        request_id: request_id.as_deref(),
    }
}

fn tracker_failure(error: TrackerError) -> AppError {
    match error {
        TrackerError::NotFound => AppError::NotFound,
        TrackerError::LabelNotFound => AppError::LabelNotFound,
        TrackerError::Conflict(message) => AppError::Conflict(message),
        TrackerError::Stale(current) => AppError::Stale(current),
        TrackerError::Invalid(fields) => AppError::Invalid(fields),
        TrackerError::Database(error) => database_error(error),
    }
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
        return Err(AppError::BadRequest("the outcome is `ok` or `refused`".into()));
    }
    let filter = audit::Filter {
        who: who.filter(|who| !who.trim().is_empty()),
        outcome,
    };
    state
        .audit
        .page(&filter, before, audit::AUDIT_PAGE_SIZE)
        .await
        .map_err(database_error)
}

/// `leptos_axum::redirect`: a plain form gets a redirect; the hydrated app gets a header it
/// follows (with a full navigation when it leaves this origin).
pub async fn sign_in(return_to: Option<String>, prompt: Option<String>) -> Result<(), AppError> {
    let prompt = match prompt.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some("none") => Some(Prompt::None),
        Some("login") => Some(Prompt::Login),
        Some(_) => return Err(AppError::BadRequest("the prompt is `none` or `login`".into())),
    };
    let (state, session) = context().await?;
    match sign_in::begin(&state.sessions, &session, return_to.as_deref(), prompt, clock::now()).await {
        Ok(Begun::SignedIn { return_to }) => leptos_axum::redirect(&return_to),
        Ok(Begun::ToProvider {
            authorize_url,
            pending_cookie,
        }) => {
            // Without the cookie the callback could not finish: refuse rather than send the
            // browser to the provider.
            let response = use_context::<leptos_axum::ResponseOptions>().ok_or(AppError::Internal)?;
            response.append_header(axum::http::header::SET_COOKIE, pending_cookie);
            leptos_axum::redirect(&authorize_url);
        }
        Err(error) => return Err(sign_in_failure(error)),
    }
    Ok(())
}

pub async fn sign_out() -> Result<(), AppError> {
    let (state, session) = context().await?;
    let who = state.sessions.signed_in_as(&session).await;
    let next = sign_in::sign_out(&state.sessions, &session)
        .await
        .map_err(sign_in_failure)?;
    if let Some(who) = &who {
        state.audit.record_sign_out(who, call_request_id().as_deref()).await;
    }
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
