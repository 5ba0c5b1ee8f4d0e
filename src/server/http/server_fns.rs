//! The server side of the Leptos server functions in `crate::api`: find the state and the
//! caller, make the one authorization decision, call the service, map the error.

use leptos::prelude::*;
use tower_sessions::Session;

use crate::access::{self, Permission, Refusal, SessionView, Viewer};
use crate::error::AppError;
use crate::model::{
    AuditPage, BoardQuery, COMMENT_PAGE_SIZE, Comment, CommentPage, EventPage, HISTORY_PAGE_SIZE, Issue, IssueChange,
    IssueDetail, Label, OPEN, PAGE_SIZE, Profile, SessionDeadlines, SharedPage, UserSummary, description_problem,
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
use crate::server::support::markdown;
use crate::server::tracker::{Caller, CommentChange, TrackerError};
use axum::http::request::Parts;

pub(super) async fn context() -> Result<(AppState, Session), AppError> {
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

/// The caller, if they may do `permission`; 401 / 403 otherwise (401 `StepUp` when the action
/// needs a more recent sign-in).
pub(super) async fn authorize(permission: Permission) -> Result<(AppState, Viewer), AppError> {
    let (state, session) = context().await?;
    let viewer = state.sessions.viewer(&session, clock::now()).await?;
    decide(&state, viewer.as_ref(), permission).await?;
    Ok((state, viewer.ok_or(AppError::Unauthenticated)?))
}

/// [`authorize`] for what needs an action's scopes without being that action (see
/// `Call::authorize_scopes_only`): never a step-up.
async fn authorize_scopes_only(permission: Permission) -> Result<(AppState, Viewer), AppError> {
    let (state, session) = context().await?;
    let viewer = state.sessions.viewer(&session, clock::now()).await?;
    judge(&state, viewer.as_ref(), permission, Purpose::ScopesOnly).await?;
    Ok((state, viewer.ok_or(AppError::Unauthenticated)?))
}

/// [`authorize`] for a caller found already (a bulk action decides once per issue): counted,
/// and a refusal recorded in the audit trail.
pub(super) async fn decide(state: &AppState, viewer: Option<&Viewer>, permission: Permission) -> Result<(), AppError> {
    judge(state, viewer, permission, Purpose::Act).await
}

/// Whether a call acts (and may need a recent sign-in) or needs only the action's scopes.
#[derive(Clone, Copy)]
enum Purpose {
    Act,
    ScopesOnly,
}

async fn judge(
    state: &AppState,
    viewer: Option<&Viewer>,
    permission: Permission,
    purpose: Purpose,
) -> Result<(), AppError> {
    let call = Call {
        viewer,
        door: Door::ServerFunction,
        request_id: &call_request_id,
        audit: &state.audit,
    };
    let decision = match purpose {
        Purpose::Act => call.authorize(&state.config, permission).await,
        Purpose::ScopesOnly => call.authorize_scopes_only(&state.config, permission).await,
    };
    match decision {
        Ok(_) => Ok(()),
        Err(Refused {
            refusal: Refusal::StepUp { max_age, .. },
            ..
        }) => Err(AppError::StepUp { max_age }),
        Err(Refused { why: None, .. }) => Err(AppError::Unauthenticated),
        Err(Refused { why: Some(mut why), .. }) => {
            if let Some(viewer) = viewer {
                state.roles.explain(&mut why, &viewer.sub).await;
            }
            Err(AppError::Forbidden(match &state.config.load().access_help {
                Some(help) => format!("{} {}", why.line(), help.sentence()),
                None => why.line(),
            }))
        }
    }
}

pub async fn session_info() -> Result<SessionView, AppError> {
    let (state, session) = context().await?;
    let now = clock::now();
    match state.sessions.signed_in(&session, now).await {
        Ok(Some(current)) => {
            let config = state.config.load();
            let viewer = current.row.viewer();
            let mut permissions = config.features.permissions(&viewer.scopes);
            if !permissions.refused.is_empty() {
                let held = profile::roles(&state.sessions, &current.row);
                state.roles.explain_all(&mut permissions, &held).await;
            }
            let unread = match permissions.view_issues {
                true => {
                    let unread = state.notifications.unread(&viewer.sub, permissions.review_access);
                    unread.await.map_err(database_error)?
                }
                false => 0,
            };
            Ok(SessionView {
                user: Some(UserSummary {
                    name: viewer.name.clone(),
                    drafts: state.sessions.drafts_key(&viewer.sub),
                    unread,
                }),
                permissions,
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
pub(super) async fn signed_in() -> Result<(AppState, Session, Current), AppError> {
    let (state, session) = context().await?;
    match state.sessions.signed_in(&session, clock::now()).await? {
        Some(current) => Ok((state, session, current)),
        None => Err(AppError::Unauthenticated),
    }
}

/// A person's requests for access their profile lists.
const OWN_ACCESS_REQUESTS: i64 = 20;

pub async fn my_profile() -> Result<Profile, AppError> {
    let (state, _, current) = signed_in().await?;
    let now = clock::now();
    let all = state.sessions.of_subject(&current.row.sub, now).await?;
    let mut profile = profile::profile(&state.sessions, &current, &all, now);
    if state.config.load().smtp.is_some() {
        let settings = state
            .people
            .mail_settings(&current.row.sub)
            .await
            .map_err(database_error)?;
        profile.mail = settings.map(|(preference, address)| crate::model::MailSettings {
            address,
            preference: crate::model::MailPreference::parse(&preference).unwrap_or_default(),
        });
    }
    profile.access_requests = state
        .access_requests
        .of(&current.row.sub, OWN_ACCESS_REQUESTS)
        .await
        .map_err(database_error)?;
    Ok(profile)
}

/// How the signed-in person wants to be told by e-mail: `none`, `immediately` or `daily`.
pub async fn set_mail_preference(mail: String) -> Result<(), AppError> {
    let (state, _, current) = signed_in().await?;
    let mail = crate::model::MailPreference::parse(&mail)
        .ok_or_else(|| AppError::BadRequest("mail is `none`, `immediately` or `daily`".into()))?;
    let set = state
        .people
        .set_mail(&current.row.sub, mail)
        .await
        .map_err(database_error)?;
    set.then_some(()).ok_or(AppError::NotFound)
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
    // Everyone who has signed in: mentions of them are links (and whom to assign to).
    let people = state.people.list();
    let may_edit = state
        .config
        .load()
        .features
        .allows(&viewer.scopes, Permission::EditIssue);
    let labels = async {
        match may_edit {
            true => state.issues.label_names().await,
            false => Ok(Vec::new()),
        }
    };
    // The reads at once: the page waits for the slowest, not their sum.
    let (issue, people, labels) = tokio::join!(state.issues.get(id), people, labels);
    let issue = issue.map_err(database_error)?.ok_or(AppError::NotFound)?;
    let everyone = people.map_err(database_error)?;
    let description_html = markdown::render(&issue.description, &markdown::Names::new(&everyone));
    Ok(IssueDetail {
        issue,
        people: if may_assign { everyone } else { Vec::new() },
        labels: labels.map_err(database_error)?,
        description_html,
    })
}

pub async fn list_issue_events(id: i64) -> Result<EventPage, AppError> {
    let (state, _viewer) = authorize(Permission::ViewIssues).await?;
    let (issue, history) = tokio::join!(state.issues.get(id), state.issues.events(id, None, HISTORY_PAGE_SIZE));
    issue.map_err(database_error)?.ok_or(AppError::NotFound)?;
    history.map_err(database_error)
}

/// A page of the thread as the issue's page shows it: each body rendered (Markdown, mentions
/// as links; a hidden one too, it opens on request), earlier bodies of edited ones, and which
/// are the caller's.
pub async fn list_comments(issue: i64, after: Option<i64>) -> Result<CommentPage, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let exists = state.issues.get(issue).await.map_err(database_error)?;
    exists.ok_or(AppError::NotFound)?;
    let (page, people) = tokio::join!(
        state.issues.comments(issue, after, COMMENT_PAGE_SIZE),
        state.people.list()
    );
    let mut page = page.map_err(database_error)?;
    let people = people.map_err(database_error)?;
    let names = markdown::Names::new(&people);
    state
        .issues
        .attach_revisions(&mut page.comments)
        .await
        .map_err(database_error)?;
    for comment in &mut page.comments {
        comment.body_html = markdown::render(&comment.body, &names);
        comment.mine = comment.author_sub == viewer.sub;
    }
    Ok(page)
}

pub async fn create_issue(title: String, description: String, labels: Option<String>) -> Result<Issue, AppError> {
    let (state, viewer) = authorize(Permission::CreateIssue).await?;
    let labels = crate::model::split_label_names(labels.as_deref().unwrap_or_default());
    // A template's labels come with the create scope (config.json offers them to creators);
    // any other label is put on as an edit is, with the edit scope.
    let offered = {
        let config = state.config.load();
        labels.iter().all(|name| {
            let key = crate::model::label_key(name);
            config.issue_templates.iter().any(|template| {
                template
                    .labels
                    .iter()
                    .any(|label| crate::model::label_key(label) == key)
            })
        })
    };
    if !offered {
        authorize(Permission::EditIssue).await?;
    }
    let request_id = call_request_id();
    state
        .tracker
        .create(&caller(&viewer, &request_id), &title, &description, &labels)
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

/// Changes a comment: its author edits or deletes it (the comment permission), someone who may
/// edit issues hides or shows it.
pub async fn change_comment(issue: i64, comment: i64, change: CommentChange) -> Result<Comment, AppError> {
    let permission = match change {
        CommentChange::Hide(_) => Permission::EditIssue,
        CommentChange::Body(_) | CommentChange::Delete => Permission::Comment,
    };
    let (state, viewer) = authorize(permission).await?;
    let request_id = call_request_id();
    let mut changed = state
        .tracker
        .change_comment(&caller(&viewer, &request_id), issue, comment, change)
        .await
        .map_err(tracker_failure)?;
    let people = state.people.list().await.map_err(database_error)?;
    changed.body_html = markdown::render(&changed.body, &markdown::Names::new(&people));
    Ok(changed)
}

/// Whom a text may mention: for those who write (comment, or edit descriptions).
pub async fn mention_names() -> Result<Vec<String>, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    let writes = {
        let features = &state.config.load().features;
        features.allows(&viewer.scopes, Permission::Comment) || features.allows(&viewer.scopes, Permission::EditIssue)
    };
    if !writes {
        // Refused (and recorded) as a comment would be.
        decide(&state, Some(&viewer), Permission::Comment).await?;
    }
    let people = state.people.list().await.map_err(database_error)?;
    Ok(people.into_iter().map(|person| person.name).collect())
}

/// Markdown as the page would show it.
pub async fn preview_markdown(text: String) -> Result<String, AppError> {
    let (state, _viewer) = authorize(Permission::ViewIssues).await?;
    if let Some(problem) = description_problem(&text) {
        return Err(AppError::BadRequest(problem));
    }
    let people = state.people.list().await.map_err(database_error)?;
    Ok(markdown::render(&text, &markdown::Names::new(&people)))
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

pub(super) fn caller<'a>(viewer: &'a Viewer, request_id: &'a Option<String>) -> Caller<'a> {
    Caller {
        viewer,
        via: Door::ServerFunction,
        request_id: request_id.as_deref(),
    }
}

pub(super) fn tracker_failure(error: TrackerError) -> AppError {
    match error {
        TrackerError::NotFound => AppError::NotFound,
        TrackerError::LabelNotFound => AppError::LabelNotFound,
        TrackerError::CommentNotFound => AppError::CommentNotFound,
        TrackerError::NotAuthor(line) => AppError::Forbidden(line),
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
    let asking = sign_in::Asking { prompt, max_age: None };
    match sign_in::begin(&state.sessions, &session, return_to.as_deref(), asking, clock::now()).await {
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
pub(super) fn call_request_id() -> Option<String> {
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

pub async fn my_work() -> Result<crate::model::MyWork, AppError> {
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    state.issues.my_work(&viewer.sub).await.map_err(database_error)
}

/// The templates config.json offers on the create page (`Features.Issues.Templates`), as the
/// configuration in force names them.
pub async fn issue_templates() -> Result<Vec<crate::model::IssueTemplate>, AppError> {
    let (state, _viewer) = authorize_scopes_only(Permission::CreateIssue).await?;
    Ok(state.config.load().issue_templates.clone())
}

/// Deleted issues not yet erased, most recently deleted first (at most 100).
pub async fn list_deleted() -> Result<Vec<crate::model::DeletedIssue>, AppError> {
    authorize(Permission::ViewIssues).await?;
    let (state, _viewer) = authorize_scopes_only(Permission::DeleteIssue).await?;
    state
        .issues
        .deleted(crate::model::DELETED_LIST_MAX)
        .await
        .map_err(database_error)
}

/// Restores deleted issue `id`; a plain form goes back to the "Deleted" view.
pub async fn restore_issue(id: i64) -> Result<Issue, AppError> {
    authorize(Permission::ViewIssues).await?;
    // Undoing a delete: the delete scopes, not a step-up.
    let (state, viewer) = authorize_scopes_only(Permission::DeleteIssue).await?;
    let request_id = call_request_id();
    let restored = state
        .tracker
        .restore(&caller(&viewer, &request_id), id)
        .await
        .map_err(tracker_failure)?;
    leptos_axum::redirect("/issues/deleted");
    Ok(restored)
}
