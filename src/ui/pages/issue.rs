//! An issue's page (`/issues/{id}`): the issue, who closed it and when, its assignee, the
//! comment thread, and a control for each action the caller may take — each shown only with
//! its permission (decided on the server and received as data), with a line saying why for
//! the others. The server checks again on every call.
//!
//! The issue and its controls are an island (hydrated in the browser), as is the form that adds
//! a comment. The thread itself is drawn here, on the server: each comment's edit, delete and
//! hide are plain forms (the server function answers by sending the browser back here, a
//! refusal shown by `FormRefusal`), and its pages are links. So the WASM carries none of it.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::access::{Permission, Permissions};
use crate::api::{
    AddComment, AssignIssue, DeleteComment, DeleteIssue, EditComment, EditIssue, HideComment, PreviewMarkdown,
    SetIssueStatus, WatchIssue, follows_issue, get_issue, list_comments, list_issue_events, mention_names,
};
use crate::error::AppError;
use crate::model::{Comment, CommentPage, Issue, IssueDetail, Person};
use crate::ui::account::{needs_sign_in, sign_in_again};
use crate::ui::drafts;
use crate::ui::live;
use crate::ui::pages::common::{SignInPrompt, not_permitted};
use crate::ui::pages::triage::{self, due_note, label_chips, priority_badge, triage_control};
use crate::ui::session::use_session;
use crate::ui::submit::Submission;
use crate::ui::time::time;
use crate::ui::why::what_can_i_do;

#[component]
pub fn IssuePage() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let path = move || format!("/issues/{}", params.read().get("id").unwrap_or_default());
    view! {
        <p class="crumbs"><a href="/issues">"← All issues"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            // A bare `Suspend`, not a closure: on the server, Suspense calls a closure child up
            // to three times (to find its resources, again once they are known, then to
            // render), and each call would build the island below anew, with its own resource
            // loading the same data. A `Suspend` runs once and keeps its view.
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => view! { <SignInPrompt return_to=path() message="Sign in to see this issue."/> }.into_any(),
                Ok(info) if !info.permissions.view_issues => not_permitted(&info, Permission::ViewIssues),
                Ok(info) => match params.with_untracked(|params| params.get("id").and_then(|id| id.parse::<i64>().ok())) {
                    Some(id) => {
                        // Drawn here, on the server: the island needs only the decisions.
                        let why_not = what_can_i_do(&info.permissions, &ISSUE_ACTIONS, info.access_help.clone());
                        let decided = Permissions { refused: Vec::new(), ..info.permissions.clone() };
                        // Rendered here, on the server, not in the island: it adds nothing to
                        // the WASM, and shows the history and thread as the page was loaded.
                        let query = use_query_map();
                        let after = query.with_untracked(|query| query.get("after").and_then(|after| after.parse::<i64>().ok()));
                        let (events, comments) = (list_issue_events(id).await, list_comments(id, after).await);
                        let history = match (events, &comments) {
                            (Ok(events), Ok(page)) => Some(triage::history(events, page.comments.clone())),
                            _ => None,
                        };
                        let can = CommentRights { comment: info.permissions.comment, hide: info.permissions.edit_issue };
                        let thread = comments.ok().map(|page| thread(id, page, after, can));
                        // Whom a text may mention, for the suggestions as people type `@`
                        // (public/mentions.js).
                        let writes = info.permissions.comment || info.permissions.edit_issue;
                        let names = match writes {
                            true => mention_names().await.unwrap_or_default(),
                            false => Vec::new(),
                        };
                        let names = (!names.is_empty()).then(|| view! {
                            <datalist id="mention-names">
                                {names.into_iter().map(|name| view! { <option value=name></option> }).collect_view()}
                            </datalist>
                        });
                        let follow = follows_issue(id).await.ok().map(|follows| follow_control(id, follows));
                        view! { <IssueView id permissions=decided/> {why_not} {follow} {thread} {history} {names} }.into_any()
                    }
                    None => missing(),
                },
            }})}
        </Suspense>
    }
}

/// What the issue page offers to those allowed: its "What can I do here?" panel says why not.
const ISSUE_ACTIONS: [Permission; 5] = [
    Permission::EditIssue,
    Permission::CloseIssue,
    Permission::AssignIssue,
    Permission::DeleteIssue,
    Permission::Comment,
];

/// Watch or stop following: a plain form (the server function sends the browser back here).
fn follow_control(issue: i64, follows: bool) -> impl IntoView {
    let (say, label, note) = match follows {
        true => (
            "false",
            "Unwatch",
            "You are told of comments, closing and reopening here.",
        ),
        false => (
            "true",
            "Watch",
            "Watch to be told of comments, closing and reopening here.",
        ),
    };
    view! {
        <form method="post" action=WatchIssue::PATH class="inline follow" id="follow-form">
            <input type="hidden" name="issue" value=issue/>
            <input type="hidden" name="watching" value=say/>
            <button type="submit" class="secondary" id="follow-submit" aria-describedby="follow-note">{label}</button>
            <span class="muted" id="follow-note">{note}</span>
        </form>
    }
}

/// What the edit form holds: kept here, outside the re-rendered issue, so a refused save
/// (someone else changed the issue) loses nothing the user typed.
#[derive(Clone, Copy)]
struct Draft {
    open: RwSignal<bool>,
    title: RwSignal<String>,
    description: RwSignal<String>,
}

#[derive(Clone, Copy)]
struct Actions {
    edit: Submission<Issue>,
    triage: Submission<Issue>,
    status: Submission<Issue>,
    assign: Submission<Issue>,
    delete: Submission<()>,
}

/// Where a comment on issue `id` is kept until it is sent.
fn comment_draft(id: i64) -> String {
    format!("comment:{id}")
}

fn missing() -> AnyView {
    #[cfg(feature = "ssr")]
    crate::server::http::status::of_page(404);
    view! { <p class="notice error" role="alert" id="issue-missing">"No such issue: it may have been deleted."</p> }
        .into_any()
}

/// The issue and its controls: an island, hydrated in the browser.
#[island]
fn IssueView(id: i64, permissions: Permissions) -> impl IntoView {
    let actions = Actions {
        edit: Submission::new(),
        triage: Submission::new(),
        status: Submission::new(),
        assign: Submission::new(),
        delete: Submission::new(),
    };
    // Another person's change to this issue, as `public/live.js` announces it.
    let elsewhere = live::changes(live::ISSUE_CHANGED);
    let changes = move || {
        (
            elsewhere.get(),
            actions.edit.version().get(),
            actions.triage.version().get(),
            actions.status.version().get(),
            actions.assign.version().get(),
            actions.delete.version().get(),
        )
    };
    let detail = Resource::new(changes, move |_| get_issue(id));
    let draft = Draft {
        open: RwSignal::new(false),
        title: RwSignal::new(String::new()),
        description: RwSignal::new(String::new()),
    };
    // A save that went through closes the form.
    Effect::new(move |_| {
        if let Some(Ok(_)) = actions.edit.value().get() {
            draft.open.set(false);
        }
    });
    let permissions = StoredValue::new(permissions);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the issue…"</p> }>
            {move || detail.get().map(|result| match result {
                Ok(detail) => issue_view(detail, permissions.get_value(), actions, draft),
                Err(AppError::NotFound) => missing(),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn issue_view(detail: IssueDetail, permissions: Permissions, actions: Actions, draft: Draft) -> AnyView {
    let IssueDetail {
        issue,
        people,
        labels,
        description_html,
    } = detail;
    let status_class = if issue.is_open() { "badge open" } else { "badge closed" };
    let closed = issue.closed_at.map(|at| {
        let by = issue.closed_by_name.clone().unwrap_or_default();
        view! { <p class="issue-meta" id="issue-closed">"Closed by " {by} " · " {time(at)}</p> }
    });
    let assignee = issue.assignee_name.clone().unwrap_or_else(|| "no one".into());
    let description = match issue.description.is_empty() {
        true => view! { <p class="muted">"No description."</p> }.into_any(),
        // Rendered and sanitized on the server (`support::markdown`).
        false => {
            view! { <div class="markdown issue-description" id="issue-description" inner_html=description_html></div> }
                .into_any()
        }
    };
    let id = issue.id;
    view! {
        <article class="card issue-detail" data-issue-id=id data-version=issue.version>
            <h1 id="issue-title"><span class=status_class id="issue-status">{issue.status.clone()}</span> " " {issue.title.clone()}</h1>
            <p class="issue-meta">
                "#" {id} " · opened by " {issue.author_name.clone()} " · " {time(issue.created_at)}
                " · updated " {time(issue.updated_at)}
            </p>
            <p class="issue-meta">"Assigned to " <span id="issue-assignee">{assignee}</span></p>
            <p class="issue-meta triage-meta" id="issue-triage">
                {priority_badge(issue.priority)} " " {due_note(issue.due.as_deref())} " " {label_chips(&issue.labels)}
            </p>
            {closed}
            {description}
            <div class="controls">
                {permissions.close_issue.then(|| status_control(&issue, actions.status))}
                {permissions.delete_issue.then(|| delete_control(&issue, actions.delete))}
            </div>
            {permissions.assign_issue.then(|| assign_control(&issue, people, actions.assign))}
            {permissions.edit_issue.then(|| edit_control(&issue, actions.edit, draft))}
            {permissions.edit_issue.then(|| triage_control(&issue, labels, actions.triage))}
        </article>
    }
    .into_any()
}

/// Why an action's last call did not go through.
fn refusal(failure: impl Fn() -> Option<AppError> + Send + Sync + 'static, id: &'static str) -> impl IntoView {
    let problem = move || failure().map(|error| error.to_string());
    view! { <span class="status" role="status" id=id>{problem}</span> }
}

fn status_control(issue: &Issue, action: Submission<Issue>) -> impl IntoView + use<> {
    let (id, version) = (issue.id, issue.version);
    let (next, label) = if issue.is_open() {
        ("closed", "Close issue")
    } else {
        ("open", "Reopen issue")
    };
    view! {
        <form method="post" action=SetIssueStatus::PATH class="inline" id="status-form" on:submit=action.on_submit()>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="version" value=version/>
            <input type="hidden" name="status" value=next/>
            <button type="submit" class="secondary" id="status-submit">{label}</button>
            {refusal(move || action.value().get().and_then(Result::err), "status-result")}
        </form>
    }
}

fn delete_control(issue: &Issue, action: Submission<()>) -> impl IntoView + use<> {
    let (id, version) = (issue.id, issue.version);
    let confirming = RwSignal::new(false);
    view! {
        <form method="post" action=DeleteIssue::PATH class="inline" id="delete-form" on:submit=action.on_submit()>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="version" value=version/>
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" class="danger" id="delete-start" on:click=move |_| confirming.set(true)>"Delete issue"</button>
                }
            >
                <button type="submit" class="danger" id="delete-confirm">"Really delete"</button>
                <button type="button" class="secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
            </Show>
            {refusal(move || action.value().get().and_then(Result::err), "delete-result")}
        </form>
    }
}

fn assign_control(issue: &Issue, people: Vec<Person>, action: Submission<Issue>) -> impl IntoView + use<> {
    let (id, version) = (issue.id, issue.version);
    let current = issue.assignee_sub.clone().unwrap_or_default();
    let options = people
        .into_iter()
        .map(|person| {
            let selected = person.sub == current;
            view! { <option value=person.sub selected=selected>{person.name}</option> }
        })
        .collect_view();
    view! {
        <div class="assign">
            <form method="post" action=AssignIssue::PATH class="inline" id="assign-form" on:submit=action.on_submit()>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="version" value=version/>
                <label for="assignee">"Assignee"</label>
                <select id="assignee" name="assignee">
                    <option value="" selected=current.is_empty()>"no one"</option>
                    {options}
                </select>
                <button type="submit" class="secondary" id="assign-submit">"Assign"</button>
            </form>
            <form method="post" action=AssignIssue::PATH class="inline" id="assign-me-form" on:submit=action.on_submit()>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="version" value=version/>
                <input type="hidden" name="assignee" value="me"/>
                <button type="submit" class="secondary" id="assign-me">"Assign to me"</button>
            </form>
            {refusal(move || action.value().get().and_then(Result::err), "assign-result")}
        </div>
    }
}

fn edit_control(issue: &Issue, action: Submission<Issue>, draft: Draft) -> impl IntoView + use<> {
    let (title, description) = (issue.title.clone(), issue.description.clone());
    let start = move |_| {
        draft.title.set(title.clone());
        draft.description.set(description.clone());
        draft.open.set(true);
    };
    let stale = move || match action.value().get() {
        Some(Err(AppError::Stale(current))) => Some(view! {
            <div class="notice warning" role="alert" id="edit-stale">
                <p>{AppError::Stale(current.clone()).to_string()}</p>
                <p>"Current title: " <strong id="stale-title">{current.title.clone()}</strong></p>
                <p class="issue-description">"Current description: " {current.description.clone()}</p>
                <p>"Your text is still in the form: save again to replace the current version with it."</p>
            </div>
        }),
        _ => None,
    };
    let problem = move || match action.value().get() {
        Some(Err(AppError::Invalid(fields))) => fields.title.or(fields.description),
        Some(Err(AppError::Stale(_))) | Some(Ok(_)) | None => None,
        Some(Err(error)) => Some(error.to_string()),
    };
    let (id, version) = (issue.id, issue.version);
    view! {
        <Show
            when=move || draft.open.get()
            fallback=move || view! { <button type="button" class="secondary" id="edit-start" on:click=start.clone()>"Edit"</button> }
        >
            <form method="post" action=EditIssue::PATH class="edit-form" id="edit-form" on:submit=action.on_submit()>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="version" value=version/>
                <div class="field">
                    <label for="edit-title">"Title"</label>
                    <input id="edit-title" name="title" type="text" prop:value=draft.title on:input=move |ev| draft.title.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="edit-description">"Description"</label>
                    <textarea id="edit-description" name="description" rows="5" prop:value=draft.description data-mentions=""
                        on:input=move |ev| draft.description.set(event_target_value(&ev))></textarea>
                    <Preview text=draft.description id="edit-preview"/>
                </div>
                <div class="actions">
                    <button type="submit" class="primary" id="edit-save">"Save"</button>
                    <button type="button" class="secondary" on:click=move |_| draft.open.set(false)>"Cancel"</button>
                    <span class="status" role="status" id="edit-result">{problem}</span>
                </div>
            </form>
        </Show>
        {stale}
    }
}

/// What the caller may do with comments: write (and edit and delete their own), hide.
#[derive(Clone, Copy)]
struct CommentRights {
    comment: bool,
    hide: bool,
}

/// The comments of issue `issue`, oldest first, a page at a time (`after`: the page after
/// that comment), and the form to add one.
fn thread(issue: i64, page: CommentPage, after: Option<i64>, can: CommentRights) -> impl IntoView {
    // A thread of more than one page shows a new comment on a page of its own.
    let paged = after.is_some() || page.next_after.is_some();
    let empty = (after.is_none() && page.next_after.is_none() && page.comments.is_empty())
        .then(|| view! { <p class="muted" id="no-comments">"No comments yet."</p> });
    let items = page
        .comments
        .into_iter()
        .map(|comment| comment_item(comment, can))
        .collect_view();
    view! {
        <section class="card thread" aria-labelledby="comments-heading">
            <h2 id="comments-heading">"Comments"</h2>
            {empty}
            <ol class="comments" id="comments">{items}</ol>
            <nav class="pager" aria-label="Comment pages">
                {after.map(|_| view! {
                    <a class="button secondary" href=format!("/issues/{issue}#comments-heading")>"First comments"</a>
                })}
                {page.next_after.map(|next| view! {
                    <a class="button secondary" id="more-comments" href=format!("/issues/{issue}?after={next}#comments-heading")>"Later comments"</a>
                })}
            </nav>
            {can.comment.then(|| view! { <CommentForm issue paged/> })}
        </section>
    }
}

/// Adds a comment: an island, so what is being written is kept in the browser (a session that
/// ends loses nothing), previewed, and refused with a reason. One that goes through loads the
/// page again (`paged`: at the page the new comment starts): the thread is drawn on the server.
#[island]
fn CommentForm(issue: i64, paged: bool) -> impl IntoView {
    let action = Submission::<Comment>::new();
    // A comment kept from before (a session that ended) comes back.
    let body = RwSignal::new(drafts::load(&comment_draft(issue)).unwrap_or_default());
    Effect::new(move |_| {
        if let Some(Ok(comment)) = action.value().get() {
            drafts::clear(&comment_draft(issue));
            body.set(String::new());
            shown_again(issue, comment.id, paged);
        }
    });
    let problem = move || match action.value().get() {
        Some(Err(AppError::Invalid(fields))) => fields.body,
        Some(Err(error)) if needs_sign_in(&error) => Some(format!("{error} Your comment is kept in this browser.")),
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    let signed_out = move || {
        action
            .value()
            .with(|result| matches!(result, Some(Err(error)) if needs_sign_in(error)))
    };
    view! {
        <form method="post" action=AddComment::PATH class="comment-form" id="comment-form" on:submit=action.on_submit()>
            <input type="hidden" name="issue" value=issue/>
            <label for="comment-body">"Add a comment"</label>
            <textarea
                id="comment-body"
                name="body"
                rows="3"
                data-mentions=""
                prop:value=body
                on:input=drafts::kept_as(comment_draft(issue), body)
            ></textarea>
            <div class="actions">
                <button type="submit" class="primary" id="comment-submit" disabled=move || action.pending().get()>"Comment"</button>
                <Preview text=body id="comment-preview"/>
                <span class="status" role="status" id="comment-result">{problem}</span>
            </div>
        </form>
        // Outside the form: forms do not nest.
        {move || signed_out().then(sign_in_again)}
    }
}

/// Loads issue `issue`'s page again at comment `comment`: the thread from its start, or (`paged`)
/// from that comment (pages follow comment ids).
fn shown_again(issue: i64, comment: i64, paged: bool) {
    #[cfg(feature = "hydrate")]
    {
        let window = window();
        let here = match paged {
            true => format!("/issues/{issue}?after={}#comment-{comment}", comment - 1),
            false => format!("/issues/{issue}#comment-{comment}"),
        };
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&here));
        }
        let _ = window.location().reload();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (issue, comment, paged);
}

/// A "Preview" toggle for Markdown being written: the server renders it, so the WASM carries
/// no Markdown code.
#[component]
fn Preview(text: RwSignal<String>, id: &'static str) -> impl IntoView {
    let render = Submission::<String>::new();
    let shown = RwSignal::new(false);
    let toggle = move |_| {
        let show = !shown.get_untracked();
        shown.set(show);
        if show {
            render.dispatch(PreviewMarkdown::PATH, &[("text", &text.get_untracked())]);
        }
    };
    let html = move || match render.value().get() {
        Some(Ok(html)) => html,
        _ => String::new(),
    };
    let problem = move || {
        render
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| error.to_string())
    };
    view! {
        <button type="button" class="secondary" id=id aria-pressed=move || shown.get().to_string() on:click=toggle>
            {move || if shown.get() { "Hide preview" } else { "Preview" }}
        </button>
        <Show when=move || shown.get()>
            <div class="markdown preview" id=format!("{id}-html") aria-live="polite" inner_html=html></div>
            <p class="status" role="status">{problem}</p>
        </Show>
    }
}

fn comment_item(comment: Comment, can: CommentRights) -> impl IntoView {
    let (issue, id) = (comment.issue_id, comment.id);
    let mine = can.comment && comment.mine && comment.deleted_at.is_none();
    let body = match (&comment.deleted_at, &comment.hidden_by_name) {
        (Some(_), _) => {
            view! { <p class="muted comment-deleted">"This comment was deleted by its author."</p> }.into_any()
        }
        (None, Some(by)) => view! {
            <details class="comment-hidden">
                <summary>{format!("Hidden by {by}")}</summary>
                <div class="markdown comment-body" inner_html=comment.body_html.clone()></div>
            </details>
        }
        .into_any(),
        (None, None) => {
            view! { <div class="markdown comment-body" inner_html=comment.body_html.clone()></div> }.into_any()
        }
    };
    let edited = comment.edited_at.map(|at| {
        let earlier = comment
            .revisions
            .iter()
            .map(|revision| view! {
                <li><span class="muted">"Until " {time(revision.replaced_at)} ":"</span><pre class="revision">{revision.body.clone()}</pre></li>
            })
            .collect_view();
        view! {
            <details class="comment-edited">
                <summary>"edited " {time(at)}</summary>
                <ol class="revisions">{earlier}</ol>
            </details>
        }
    });
    let edit = mine.then(|| {
        view! {
            <details class="comment-edit">
                <summary class="button secondary">"Edit"</summary>
                <form method="post" action=EditComment::PATH class="comment-edit-form">
                    <input type="hidden" name="issue" value=issue/>
                    <input type="hidden" name="comment" value=id/>
                    <label for=format!("comment-edit-{id}")>"Edit your comment"</label>
                    <textarea id=format!("comment-edit-{id}") name="body" rows="3" data-mentions="">{comment.body.clone()}</textarea>
                    <button type="submit" class="primary">"Save"</button>
                </form>
            </details>
            <form method="post" action=DeleteComment::PATH class="inline comment-delete-form">
                <input type="hidden" name="issue" value=issue/>
                <input type="hidden" name="comment" value=id/>
                <button type="submit" class="danger">"Delete"</button>
            </form>
        }
    });
    let hide = (can.hide && comment.deleted_at.is_none()).then(|| {
        let hidden = comment.hidden_by_name.is_some();
        view! {
            <form method="post" action=HideComment::PATH class="inline comment-hide-form">
                <input type="hidden" name="issue" value=issue/>
                <input type="hidden" name="comment" value=id/>
                <input type="hidden" name="hidden" value=(!hidden).to_string()/>
                <button type="submit" class="secondary">{if hidden { "Show" } else { "Hide" }}</button>
            </form>
        }
    });
    view! {
        <li class="comment" data-comment-id=id id=format!("comment-{id}")>
            <p class="comment-meta"><strong>{comment.author_name}</strong> " · " {time(comment.created_at)} " " {edited}</p>
            {body}
            <div class="comment-controls">{edit} {hide}</div>
        </li>
    }
}
