//! Access that explains itself, the server side (`api.rs` declares the functions): a refused
//! person asks for an action, admins (`Features.Access.scopes.review`) see and answer the
//! requests (the person sees the answers on their profile: `my_profile`), both recorded in the
//! audit trail and notified (the admins of a request, the person of its answer); and the access
//! review for auditors, also as a spreadsheet (`GET /access/review.csv`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::access::{Permission, Why};
use crate::error::AppError;
use crate::model::{
    ACCESS_NOTE_MAX_CHARS, ACCESS_REASON_MAX_CHARS, AccessReview, FieldErrors, PersonAccess, RequestState,
    parse_access_text,
};
use crate::server::auth::profile;
use crate::server::http::authorize::browser_caller;
use crate::server::http::board_export::spreadsheet_safe;
use crate::server::http::error_body::ErrorBody;
use crate::server::http::server_fns::{authorize, call_request_id, signed_in};
use crate::server::ops::access_review;
use crate::server::state::AppState;
use crate::server::storage::access_requests::{Answered, Asked, NewRequest};
use crate::server::storage::audit::{self, Door, EventKind};
use crate::server::storage::db::database_error;
use crate::server::storage::notifications::{self, reason};
use crate::server::storage::outbox;
use crate::server::support::clock;

/// Open requests the Access page lists at once, and answered ones.
const REVIEW_OPEN: i64 = 200;
const REVIEW_ANSWERED: i64 = 50;
/// People looked through for those who answer requests (the most recently seen first), and
/// how many of them a request is told to.
const PEOPLE_LOOKED_THROUGH: i64 = 5_000;
const REVIEWERS_TOLD: usize = 100;

fn invalid(message: String) -> AppError {
    AppError::Invalid(FieldErrors {
        body: Some(message),
        ..FieldErrors::default()
    })
}

/// The caller asks for `action` (an action's name, e.g. `close_issue`), saying why. Only an
/// action the caller is refused for a missing scope can be asked for; asking again while the
/// request is open replaces its reason. Answers the request's id.
pub async fn ask_for_access(action: String, reason: String) -> Result<i64, AppError> {
    let (state, _, current) = signed_in().await?;
    let viewer = current.row.viewer();
    let permission =
        Permission::named(&action).ok_or_else(|| AppError::BadRequest(format!("no action is named `{action}`")))?;
    let reason = parse_access_text(&reason, 1, ACCESS_REASON_MAX_CHARS).map_err(invalid)?;
    let config = state.config.load();
    let Some(mut why) = config
        .features
        .permissions(&viewer.scopes)
        .refused
        .into_iter()
        .find(|why| why.permission == permission)
    else {
        return Err(AppError::BadRequest(format!(
            "you may {} already",
            permission.describe()
        )));
    };
    if why.missing.is_empty() {
        // Turned off in config.json: nothing at the identity provider would grant it.
        return Err(AppError::Forbidden(why.line()));
    }
    let held = profile::roles(&state.sessions, &current.row);
    state.roles.explain_held(&mut why, &held).await;
    // The roles to ask for: those that grant it. A role the caller holds is not one (its grant
    // at the provider is what is wrong), so the Access page then names the scopes only.
    let Why {
        missing,
        granted_by: roles,
        ..
    } = &why;
    let asked = state
        .access_requests
        .ask(
            NewRequest {
                sub: &viewer.sub,
                name: &viewer.name,
                action: permission.name(),
                scopes: missing,
                roles,
                reason: &reason,
            },
            clock::now_millis(),
        )
        .await
        .map_err(database_error)?;
    let id = match asked {
        Asked::Open(id) => id,
        Asked::TooMany => return Err(AppError::TooManyAccessRequests),
    };
    let request_id = call_request_id();
    state
        .audit
        .record(audit::Event {
            actor: Some(&viewer),
            permission: Some(permission),
            missing_scopes: missing.iter().map(String::as_str).collect(),
            via: Some(Door::ServerFunction),
            detail: Some(format!("request {id}")),
            request_id: request_id.as_deref(),
            ..audit::Event::new(EventKind::AccessRequested)
        })
        .await;
    let summary = format!("{} asks to {}", viewer.name, permission.describe());
    let reviewers = reviewers(&state, &viewer.sub).await;
    tell(&state, reviewers, (id, reason::ACCESS_ASKED), &viewer.name, &summary).await;
    // The panel's form is a plain form: on to the profile, where the request shows as open.
    leptos_axum::redirect("/profile#access-requests");
    Ok(id)
}

/// Those who may answer requests for access, as last seen signing in (the configuration in
/// force judging their scopes), apart from `asker`; at most [`REVIEWERS_TOLD`].
async fn reviewers(state: &AppState, asker: &str) -> Vec<String> {
    let people = match state.people.everyone(PEOPLE_LOOKED_THROUGH).await {
        Ok(people) => people,
        Err(error) => {
            tracing::error!(%error, "could not find whom to tell of a request for access");
            return Vec::new();
        }
    };
    let features = &state.config.load().features;
    people
        .into_iter()
        .filter(|person| person.sub != asker && features.allows(&person.seen.scopes, Permission::ReviewAccess))
        .map(|person| person.sub)
        .take(REVIEWERS_TOLD)
        .collect()
}

/// Tells `subs` of request `id` (in the app, and by mail as each chose) and rings their bells on
/// every instance. The request is recorded whatever happens here: a failure is logged.
async fn tell(state: &AppState, subs: Vec<String>, (id, why): (i64, &'static str), actor: &str, summary: &str) {
    if subs.is_empty() {
        return;
    }
    let told = notifications::tell_about_access(&state.db, &subs, (id, why), actor, summary, clock::now_millis());
    if let Err(error) = told.await {
        tracing::error!(%error, request = id, "could not tell of a request for access");
        return;
    }
    if let Err(error) = outbox::announce_told(&state.db, state.feed.instance()).await {
        tracing::warn!(%error, "could not tell other instances of new notifications");
    }
    state.feed.told(subs);
}

/// The open requests and the latest answered ones, for those who answer them.
pub async fn access_requests() -> Result<AccessReview, AppError> {
    let (state, _viewer) = authorize(Permission::ReviewAccess).await?;
    let open = state.access_requests.open(REVIEW_OPEN).await.map_err(database_error)?;
    let answered = state
        .access_requests
        .answered(REVIEW_ANSWERED)
        .await
        .map_err(database_error)?;
    Ok(AccessReview { open, answered })
}

/// Answers open request `id`: `outcome` `granted` (the admin did it at the identity provider)
/// or `declined`, with a note for the person.
pub async fn answer_access_request(id: i64, outcome: String, note: String) -> Result<(), AppError> {
    let (state, viewer) = authorize(Permission::ReviewAccess).await?;
    let outcome = match RequestState::parse(&outcome) {
        Some(outcome @ (RequestState::Granted | RequestState::Declined)) => outcome,
        _ => return Err(AppError::BadRequest("the outcome is `granted` or `declined`".into())),
    };
    let note = parse_access_text(&note, 0, ACCESS_NOTE_MAX_CHARS).map_err(invalid)?;
    // An answer is someone else's judgement: nobody grants or declines their own request.
    let request = state.access_requests.get(id).await.map_err(database_error)?;
    if request.as_ref().is_some_and(|request| request.sub == viewer.sub) {
        return Err(AppError::Forbidden(
            "You cannot answer your own request for access.".into(),
        ));
    }
    let answered = state
        .access_requests
        .answer(id, outcome, &note, &viewer.name, clock::now_millis())
        .await
        .map_err(database_error)?;
    match answered {
        Answered::Done => {}
        Answered::AlreadyAnswered => return Err(AppError::Conflict("That request was answered already.".into())),
        Answered::Missing => return Err(AppError::NotFound),
    }
    let request_id = call_request_id();
    state
        .audit
        .record(audit::Event {
            actor: Some(&viewer),
            permission: Some(Permission::ReviewAccess),
            via: Some(Door::ServerFunction),
            detail: Some(format!("request {id}: {}", outcome.name())),
            request_id: request_id.as_deref(),
            ..audit::Event::new(EventKind::AccessAnswered)
        })
        .await;
    if let Some(request) = request {
        let summary = format!(
            "{} {} your request to {}",
            viewer.name,
            outcome.name(),
            Permission::words_for(&request.action)
        );
        tell(
            &state,
            vec![request.sub],
            (id, reason::ACCESS_ANSWERED),
            &viewer.name,
            &summary,
        )
        .await;
    }
    // The Access page's forms are plain forms: back to it.
    leptos_axum::redirect("/access");
    Ok(())
}

/// The access review (auditors: the audit scope): everyone seen, what they may do, what they
/// hold unused, what they were refused.
pub async fn access_review() -> Result<Vec<PersonAccess>, AppError> {
    let (state, _viewer) = authorize(Permission::ViewAudit).await?;
    let config = state.config.load();
    access_review::review(
        &state.people,
        &state.audit,
        (&config.features, config.audit_retention),
        clock::now(),
    )
    .await
    .map_err(database_error)
}

/// `GET /access/review.csv`: the access review as a spreadsheet, for the signed-in auditor.
pub async fn review_file(State(state): State<AppState>, session: Session) -> Response {
    if let Err((status, line)) = browser_caller(&state, &session, Permission::ViewAudit).await {
        return refused(status, &line);
    }
    let config = state.config.load();
    match access_review::review(
        &state.people,
        &state.audit,
        (&config.features, config.audit_retention),
        clock::now(),
    )
    .await
    {
        Ok(people) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"access-review.csv\"",
                ),
            ],
            review_csv(&people),
        )
            .into_response(),
        Err(error) => {
            let error = database_error(error);
            refused(error.status(), &error.to_string())
        }
    }
}

fn refused(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, ErrorBody::new("review_refused", message)).into_response()
}

/// One row per person; lists space separated, times RFC 3339 (UTC).
fn review_csv(people: &[PersonAccess]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![out.write_record([
        "name",
        "sub",
        "last_sign_in",
        "roles",
        "scopes",
        "actions",
        "unused_scopes",
        "refusals",
        "window_days",
    ])];
    for person in people {
        let refusals: Vec<String> = person
            .refusals
            .iter()
            .map(|refused| format!("{}:{}", refused.action, refused.count))
            .collect();
        rows.push(out.write_record([
            spreadsheet_safe(&person.name).as_str(),
            &spreadsheet_safe(&person.sub),
            &clock::rfc3339_millis(person.last_seen_at),
            &spreadsheet_safe(&person.roles.join(" ")),
            // Scopes are the provider's words: each cell kept from being a formula.
            &spreadsheet_safe(&person.scopes.join(" ")),
            &person.actions.join(" "),
            &spreadsheet_safe(&person.unused_scopes.join(" ")),
            &refusals.join(" "),
            &person.window_days.to_string(),
        ]));
    }
    if let Some(Err(error)) = rows.into_iter().find(Result::is_err) {
        tracing::warn!(%error, "could not write an access review row");
    }
    out.into_inner().unwrap_or_default()
}
