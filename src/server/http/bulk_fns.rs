//! The board's bulk action as a server function (`api.rs` declares it): one action on many
//! issues, each decided, changed and audited as its own call, a step-up asked for once first.

use crate::access::{self, Permission};
use crate::error::AppError;
use crate::model::{CLOSED, IssueChange, OPEN};
use crate::server::http::server_fns::{authorize, call_request_id, caller, decide, tracker_failure};
use crate::server::state::AppState;
use crate::server::support::clock;
use crate::server::tracker::Caller;

/// One action on each of `ids` (comma separated, at most 100) in turn, each decided, changed and
/// audited as its own call: `close`, `reopen`, `assign` (`value` a `sub`, `me`, or empty for no
/// one), `label` or `unlabel` (`value` a label's name). A refusal or a missing issue stops
/// nothing: it is that issue's outcome.
pub async fn bulk_change(
    ids: String,
    action: String,
    value: String,
) -> Result<Vec<crate::model::BulkOutcome>, AppError> {
    let ids = crate::model::parse_bulk_ids(&ids).map_err(AppError::BadRequest)?;
    let change = bulk_action(&action, &value)?;
    let needed = access::needed_for(&change);
    let (state, viewer) = authorize(Permission::ViewIssues).await?;
    // A step-up is asked for once, for the whole action, before any issue is changed (an
    // action the caller may not do at all is refused issue by issue, as without one).
    let step_up = {
        let features = &state.config.load().features;
        needed
            .iter()
            .filter(|&&permission| features.allows(&viewer.scopes, permission))
            .find_map(|&permission| access::step_up_needed(&viewer, features, permission, clock::now()))
    };
    if let Some(max_age) = step_up {
        return Err(AppError::StepUp { max_age });
    }
    let request_id = call_request_id();
    let by = caller(&viewer, &request_id);
    let mut outcomes = Vec::with_capacity(ids.len());
    for id in ids {
        let done = bulk_one(&state, &by, &needed, id, change.clone()).await;
        outcomes.push(crate::model::BulkOutcome {
            id,
            ok: done.is_ok(),
            problem: done.err().map(bulk_problem),
        });
    }
    Ok(outcomes)
}

/// The change a bulk action makes to each issue.
fn bulk_action(action: &str, value: &str) -> Result<IssueChange, AppError> {
    let value = value.trim();
    let label = || match value.is_empty() {
        true => Err(AppError::BadRequest("name the label to put on or take off".into())),
        false => Ok(vec![value.to_string()]),
    };
    Ok(match action {
        "close" => IssueChange {
            status: Some(CLOSED),
            ..IssueChange::default()
        },
        "reopen" => IssueChange {
            status: Some(OPEN),
            ..IssueChange::default()
        },
        "assign" => IssueChange {
            assignee: Some(Some(value.to_string()).filter(|sub| !sub.is_empty())),
            ..IssueChange::default()
        },
        "label" => IssueChange {
            labels: Some(crate::model::LabelEdit::Add(label()?)),
            ..IssueChange::default()
        },
        "unlabel" => IssueChange {
            labels: Some(crate::model::LabelEdit::Remove(label()?)),
            ..IssueChange::default()
        },
        _ => {
            return Err(AppError::BadRequest(
                "the action is close, reopen, assign, label or unlabel".into(),
            ));
        }
    })
}

/// One issue of a bulk action: each permission the change needs decided (a refusal counted and
/// audited for this issue, as a single call's), then the change.
async fn bulk_one(
    state: &AppState,
    caller: &Caller<'_>,
    needed: &[Permission],
    id: i64,
    change: IssueChange,
) -> Result<(), AppError> {
    for permission in needed {
        decide(state, Some(caller.viewer), *permission).await?;
    }
    state
        .tracker
        .change(caller, id, change, None)
        .await
        .map(drop)
        .map_err(tracker_failure)
}

/// What one issue's outcome says went wrong: a field's own message rather than "correct the
/// highlighted fields" (there are none on the board).
fn bulk_problem(error: AppError) -> String {
    match error {
        AppError::Invalid(fields) => [fields.labels, fields.assignee, fields.status, fields.title]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or_else(|| "That change was refused.".into()),
        other => other.to_string(),
    }
}
