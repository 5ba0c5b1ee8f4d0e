//! `/access`: the requests for access, for those who answer them (`Features.Access.scopes.review`):
//! who asks for which action, the scopes it lacks and the roles that grant them, why, and what to
//! do at the identity provider; Grant or Decline with a note. The app cannot grant a role: the
//! admin does that at the provider, then records the answer here. Then, for auditors (the audit
//! scope), the access review: everyone seen, what they may do, who can delete, scopes unused for
//! 90 days, refusals per action; also as a spreadsheet. Rendered on the server only:
//! the buttons are plain forms (the server function sends the browser back here, a refusal shown
//! by `FormRefusal`), so the page adds nothing to the WASM.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::access::Permission;
use crate::api::{AnswerAccessRequest, access_requests, access_review};
use crate::error::AppError;
use crate::model::{ACCESS_NOTE_MAX_CHARS, AccessRequest, AccessReview, PersonAccess, UNUSED_AFTER_DAYS};
use crate::ui::pages::common::{SignInPrompt, not_permitted};
use crate::ui::session::use_session;
use crate::ui::time::time;

#[component]
pub fn AccessPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Access"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/access" message="Sign in to see the requests for access."/> }.into_any()
                }
                Ok(info) if !info.permissions.review_access && !info.permissions.view_audit => {
                    not_permitted(&info, Permission::ReviewAccess)
                }
                Ok(info) => {
                    let requests = match info.permissions.review_access {
                        true => Some(requests_view(access_requests().await)),
                        false => None,
                    };
                    let review = match info.permissions.view_audit {
                        true => Some(people_view(access_review().await)),
                        false => None,
                    };
                    view! { {requests} {review} }.into_any()
                }
            }})}
        </Suspense>
    }
}

fn failed(error: AppError) -> AnyView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any()
}

fn requests_view(review: Result<AccessReview, AppError>) -> AnyView {
    let review = match review {
        Ok(review) => review,
        Err(error) => return failed(error),
    };
    let open = match review.open.is_empty() {
        true => view! { <p class="empty card" id="no-access-requests">"No open requests for access."</p> }.into_any(),
        false => view! {
            <ul class="access-requests" id="open-access-requests">
                {review.open.into_iter().map(open_request).collect_view()}
            </ul>
        }
        .into_any(),
    };
    let answered = (!review.answered.is_empty()).then(|| {
        view! {
            <section aria-labelledby="answered-heading">
                <h2 id="answered-heading">"Answered"</h2>
                <ul class="access-requests" id="answered-access-requests">
                    {review.answered.into_iter().map(answered_request).collect_view()}
                </ul>
            </section>
        }
    });
    view! {
        <section aria-labelledby="open-heading">
            <h2 id="open-heading">"Requests for access"</h2>
            <p class="muted">
                "The app cannot give anyone a role: do it at the identity provider, then mark the request granted. \
                 The person picks it up with Refresh my access."
            </p>
            {open}
        </section>
        {answered}
    }
    .into_any()
}

/// What to do at the identity provider (in Asgardeo's words) so that `request` is granted.
fn at_the_provider(request: &AccessRequest) -> String {
    let scopes = request.scopes.join(", ");
    match request.roles.as_slice() {
        [] => format!(
            "At the identity provider, give {} a role whose API scopes include {scopes} \
             (Asgardeo: User Management → Roles).",
            request.name
        ),
        roles => format!(
            "At the identity provider, add {} to a group that carries the {} role, or assign the role to them \
             (Asgardeo: User Management → Groups or Roles).",
            request.name,
            roles.join(" or ")
        ),
    }
}

fn open_request(request: AccessRequest) -> impl IntoView {
    let id = request.id;
    let todo = at_the_provider(&request);
    let (note_id, note_label) = (format!("access-note-{id}"), format!("access-note-{id}"));
    view! {
        <li class="card access-request open" data-request-id=id>
            <h3 class="access-title">
                {request.name.clone()} " asks to " {Permission::words_for(&request.action)}
            </h3>
            <p class="issue-meta">
                "Needs " {request.scopes.join(", ")}
                {(!request.roles.is_empty()).then(|| view! { ", granted by the " {request.roles.join(" or ")} " role" })}
                " · asked " {time(request.created_at)}
            </p>
            <blockquote class="access-reason">{request.reason}</blockquote>
            <p class="access-todo">{todo}</p>
            <form method="post" action=AnswerAccessRequest::PATH class="answer-access">
                <input type="hidden" name="id" value=id/>
                <label for=note_label>"Note for " {request.name}</label>
                <textarea name="note" id=note_id rows="2" maxlength=ACCESS_NOTE_MAX_CHARS></textarea>
                <button type="submit" name="outcome" value="granted" class="primary grant-access" data-request-id=id>
                    "Mark granted"
                </button>
                " "
                <button type="submit" name="outcome" value="declined" class="secondary decline-access" data-request-id=id>
                    "Decline"
                </button>
            </form>
        </li>
    }
}

fn answered_request(request: AccessRequest) -> impl IntoView {
    let state = request.state.name();
    let note = (!request.note.is_empty()).then(|| view! { ": " <q class="access-note">{request.note}</q> });
    view! {
        <li class=format!("access-request {state}") data-request-id=request.id data-state=state>
            {request.name} " asked to " {Permission::words_for(&request.action)} " · " {state} " by "
            {request.decided_by.unwrap_or_default()} " " {time(request.decided_at.unwrap_or_default())} {note}
        </li>
    }
}

/// The access review: one row per person, who can delete above it, and the spreadsheet link.
fn people_view(people: Result<Vec<PersonAccess>, AppError>) -> AnyView {
    let people = match people {
        Ok(people) => people,
        Err(error) => return failed(error),
    };
    let deleters: Vec<String> = people
        .iter()
        .filter(|person| {
            person
                .actions
                .iter()
                .any(|action| action == Permission::DeleteIssue.name())
        })
        .map(|person| person.name.clone())
        .collect();
    let window = people.first().map_or(UNUSED_AFTER_DAYS, |person| person.window_days);
    let deleters = match deleters.is_empty() {
        true => "No one seen may delete issues.".to_string(),
        false => format!("Who can delete issues: {}.", deleters.join(", ")),
    };
    let rows = people
        .into_iter()
        .map(|person| {
            let actions: Vec<String> = person
                .actions
                .iter()
                .map(|action| Permission::words_for(action))
                .collect();
            let refusals: Vec<String> = person
                .refusals
                .iter()
                .map(|refused| format!("{} ×{}", Permission::words_for(&refused.action), refused.count))
                .collect();
            view! {
                <tr data-sub=person.sub>
                    <th scope="row" class="review-name">{person.name}</th>
                    <td>{time(person.last_seen_at)}</td>
                    <td class="review-roles">{person.roles.join(", ")}</td>
                    <td class="review-actions">{actions.join(", ")}</td>
                    <td class="review-unused">{person.unused_scopes.join(", ")}</td>
                    <td class="review-refusals">{refusals.join(", ")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="review-heading" id="access-review">
            <h2 id="review-heading">"Access review"</h2>
            <p id="who-can-delete">{deleters}</p>
            <p class="muted">
                "Everyone who signed in here, as their last sign-in left them, under the configuration in force. "
                "Unused: scopes no action of theirs needed in " {window} " days (from the audit trail). "
                <a href="/access/review.csv" id="review-csv" download>"Download as CSV"</a>
            </p>
            <table class="audit review" id="review-table">
                <thead>
                    <tr>
                        <th scope="col">"Person"</th>
                        <th scope="col">"Last sign-in"</th>
                        <th scope="col">"Roles"</th>
                        <th scope="col">"May"</th>
                        <th scope="col">"Unused for " {window} " days"</th>
                        <th scope="col">"Refused"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}
