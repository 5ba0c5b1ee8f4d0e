//! The pages: home, the issue board, the create page, the audit trail. Rendered on the server;
//! the board and the create form are islands (hydrated in the browser). What they show comes
//! from the server's decision (`session_info`); the server checks again on every call.

pub mod issue;
pub mod profile;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::Permission;
use crate::ui::account::{SignInButton, needs_sign_in, sign_in_again};
use crate::api::{CreateIssue, list_audit, list_issues};
use crate::ui::drafts;
use crate::error::AppError;
use crate::model::{AuditPage, OPEN, SessionView, SharedPage, title_problem};
use crate::ui::session::use_session;
use crate::ui::time::time;
use crate::ui::why::AccessHelpNote;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || session.get().map(|result| match result {
                Ok(info) => home(info),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

fn home(info: SessionView) -> AnyView {
    let notice = info
        .notice
        .clone()
        .map(|notice| view! { <p class="notice warning" role="status" id="session-notice">{notice}</p> });
    match info.user {
        None => view! {
            {notice}
            <section class="hero card">
                <h1>"Issues"</h1>
                <p class="lead">"Track your team's issues. What you may see and do is decided by your organization's identity provider."</p>
                <SignInButton return_to="/" id="sign-in" primary=true/>
            </section>
        }
        .into_any(),
        Some(user) => {
            let permissions = info.permissions;
            view! {
                <section class="card welcome">
                    <h1>"Welcome, " <span id="welcome-name">{user.name}</span></h1>
                    <h2>"Your permissions"</h2>
                    <ul class="permissions">
                        {Permission::ALL
                            .into_iter()
                            .map(|permission| {
                                let (class, text) = match permissions.why_not(permission) {
                                    None => ("granted", format!("✓ You can {}", permission.describe())),
                                    Some(why) => ("denied", format!("✗ {why}")),
                                };
                                view! { <li id=format!("perm-{}", permission.name()) class=class>{text}</li> }
                            })
                            .collect_view()}
                    </ul>
                    <p class="scopes">
                        "Granted scopes: "
                        {info.scopes.into_iter().map(|scope| view! { <code class="scope">{scope}</code> " " }).collect_view()}
                    </p>
                    {(!permissions.refused.is_empty()).then(|| view! { <AccessHelpNote help=info.access_help/> })}
                    <a class="button primary" href="/issues">"Go to issues"</a>
                </section>
            }
            .into_any()
        }
    }
}

#[component]
pub(crate) fn SignInPrompt(#[prop(into)] return_to: String, message: &'static str) -> impl IntoView {
    view! {
        <section class="card prompt">
            <p>{message}</p>
            <SignInButton return_to id="sign-in" primary=true/>
        </section>
    }
}

#[component]
pub fn IssuesPage() -> impl IntoView {
    let session = use_session();
    let query_map = use_query_map();
    view! {
        <div class="page-head">
            <h1>"Issues"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || session.get().map(|result| match result {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => view! { <SignInPrompt return_to="/issues" message="Sign in to see the issues."/> }.into_any(),
                Ok(info) if !info.permissions.view_issues => not_permitted(&info, Permission::ViewIssues),
                Ok(info) => {
                    let why_no_create = info.permissions.why_not(Permission::CreateIssue);
                    let query = query_map.with_untracked(|query| {
                        let get = |key: &str| query.get(key).unwrap_or_default();
                        BoardQuery {
                            status: get("status"),
                            assignee: get("assignee"),
                            author: get("author"),
                            q: get("q"),
                        }
                    });
                    view! {
                        {board_filter(&query)}
                        <IssueBoard
                            can_create=info.permissions.create_issue
                            status=query.status
                            assignee=query.assignee
                            author=query.author
                            q=query.q
                        />
                        {why_no_create.map(|why| view! {
                            <p class="why muted" id="why-no-create">{why}</p>
                            <AccessHelpNote help=info.access_help.clone()/>
                        })}
                    }
                    .into_any()
                }
            })}
        </Suspense>
    }
}

/// The page's "not permitted" notice, saying why.
pub(crate) fn not_permitted(info: &SessionView, permission: Permission) -> AnyView {
    #[cfg(feature = "ssr")]
    crate::server::http::status::of_page(403);
    let why = info.permissions.why_not(permission).unwrap_or_default();
    view! {
        <p class="notice error" role="alert" id="no-permission">{why}</p>
        <AccessHelpNote help=info.access_help.clone()/>
    }
    .into_any()
}

/// The board's filters as the address gives them (`status`, `assignee`, `author`, `q`).
#[derive(Clone, Debug, Default, PartialEq)]
struct BoardQuery {
    status: String,
    assignee: String,
    author: String,
    q: String,
}

impl BoardQuery {
    /// The address of the board with these filters and `status`.
    fn href(&self, status: &str) -> String {
        let mut query = format!("status={status}");
        for (key, value) in [("assignee", &self.assignee), ("author", &self.author), ("q", &self.q)] {
            if !value.is_empty() {
                query.push_str(&format!("&{key}={}", query_value(value)));
            }
        }
        format!("/issues?{query}")
    }
}

fn some(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

/// The filters: a plain GET form, so the address says what is shown.
fn board_filter(query: &BoardQuery) -> impl IntoView + use<> {
    let option = |value: &'static str, label: &'static str, current: &str| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    view! {
        <form method="get" action="/issues" class="card filters" id="board-filter" role="search">
            <input type="hidden" name="status" value=query.status.clone()/>
            <label for="filter-q">"Search"</label>
            <input id="filter-q" name="q" type="search" placeholder="words in titles, descriptions, comments" value=query.q.clone()/>
            <label for="filter-assignee">"Assignee"</label>
            <select id="filter-assignee" name="assignee">
                {option("", "anyone", &query.assignee)}
                {option("me", "me", &query.assignee)}
                {option("unassigned", "unassigned", &query.assignee)}
            </select>
            <label for="filter-author">"Author"</label>
            <select id="filter-author" name="author">
                {option("", "anyone", &query.author)}
                {option("me", "me", &query.author)}
            </select>
            <button type="submit" class="secondary" id="filter-submit">"Show"</button>
        </form>
    }
}

/// The list with its pager and, with the create scope, the create form: an island, so a new
/// issue appears at the top without a page load.
#[island]
fn IssueBoard(can_create: bool, status: String, assignee: String, author: String, q: String) -> impl IntoView {
    let query = BoardQuery {
        status,
        assignee,
        author,
        q,
    };
    let create = ServerAction::<CreateIssue>::new();
    let before = RwSignal::new(None::<i64>);
    let filters = query.clone();
    let page = Resource::new(
        move || (create.version().get(), before.get()),
        move |(_, before)| {
            let q = filters.clone();
            list_issues(some(&q.status), some(&q.assignee), some(&q.author), some(&q.q), before)
        },
    );
    // A new issue is shown at the top: go back to the newest page.
    Effect::new(move |_| {
        if create.version().get() > 0 {
            before.set(None);
        }
    });
    view! {
        {can_create.then(|| view! { <CreateIssueForm action=create/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading issues…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(page) => issue_list(page, query.clone(), before),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn issue_list(page: SharedPage, query: BoardQuery, before: RwSignal<Option<i64>>) -> AnyView {
    let tab = |status: &'static str, label: &'static str, count: Option<i64>| {
        let current = query.status == status || (query.status.is_empty() && status == "open");
        let text = match count {
            Some(count) => format!("{label} ({count})"),
            None => label.to_string(),
        };
        view! {
            <a href=query.href(status) id=format!("tab-{status}") aria-current=current.then_some("page")>{text}</a>
        }
    };
    let tabs = view! {
        <nav class="tabs" aria-label="Status">
            {tab("open", "Open", Some(page.counts.open))}
            {tab("closed", "Closed", Some(page.counts.closed))}
            {tab("all", "All", None)}
        </nav>
    };
    if page.issues.is_empty() {
        return view! { {tabs} <p class="empty card" id="no-issues">"No issues here."</p> }.into_any();
    }
    let older = page.next_before;
    view! {
        {tabs}
        <ul class="issue-list" id="issue-list">
            {page
                .issues
                .iter()
                .cloned()
                .map(|issue| {
                    let description = (!issue.description.is_empty())
                        .then(|| view! { <p class="issue-description">{issue.description}</p> });
                    let assignee = issue.assignee_name.map(|name| view! { " · assigned to " <span class="assignee">{name}</span> });
                    let comments = (issue.comment_count > 0).then(|| format!(" · {} comments", issue.comment_count));
                    let status = if issue.status == OPEN { "badge open" } else { "badge closed" };
                    view! {
                        <li class="issue card" data-issue-id=issue.id>
                            <h3 class="issue-title">
                                <span class=status>{issue.status}</span> " "
                                <a href=format!("/issues/{}", issue.id)>{issue.title}</a>
                            </h3>
                            {description}
                            <p class="issue-meta">
                                "#" {issue.id} " · " {issue.author_name} " · " {time(issue.created_at)} {assignee} {comments}
                            </p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <nav class="pager" aria-label="Pages">
            {move || before.get().is_some().then(|| view! {
                <button type="button" class="secondary" on:click=move |_| before.set(None)>"Newest"</button>
            })}
            {older.map(|next| view! {
                <button type="button" class="secondary" id="older" on:click=move |_| before.set(Some(next))>"Older issues"</button>
            })}
        </nav>
    }
    .into_any()
}

/// Where a new issue's text is kept until it is created.
const DRAFT_TITLE: &str = "new-issue:title";
const DRAFT_DESCRIPTION: &str = "new-issue:description";

#[component]
fn CreateIssueForm(action: ServerAction<CreateIssue>) -> impl IntoView {
    // A draft kept from before (a session that ended) comes back.
    let title = RwSignal::new(drafts::load(DRAFT_TITLE).unwrap_or_default());
    let description = RwSignal::new(drafts::load(DRAFT_DESCRIPTION).unwrap_or_default());
    let touched = RwSignal::new(false);
    let result = action.value();
    let field_errors = move || {
        result
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_errors().cloned())
            .unwrap_or_default()
    };
    let title_error = move || {
        touched
            .get()
            .then(|| title_problem(&title.get()))
            .flatten()
            .or_else(|| field_errors().title)
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = result.get() {
            title.set(String::new());
            description.set(String::new());
            touched.set(false);
            drafts::clear(DRAFT_TITLE);
            drafts::clear(DRAFT_DESCRIPTION);
        }
    });
    let status = move || match result.get() {
        Some(Ok(issue)) => format!("Created “{}”.", issue.title),
        Some(Err(AppError::Invalid(_))) | None => String::new(),
        Some(Err(error)) if needs_sign_in(&error) => format!("{error} Your text is kept in this browser."),
        Some(Err(error)) => error.to_string(),
    };
    let signed_out = move || result.with(|result| matches!(result, Some(Err(error)) if needs_sign_in(error)));
    view! {
        <ActionForm action=action attr:class="card create-form" attr:id="create-issue">
            <h2>"Create issue"</h2>
            <div class="field">
                <label for="issue-title">"Title"</label>
                <input
                    id="issue-title"
                    name="title"
                    type="text"
                    autocomplete="off"
                    prop:value=title
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        drafts::save(DRAFT_TITLE, &text);
                        title.set(text);
                        touched.set(true);
                    }
                    aria-invalid=move || title_error().is_some().to_string()
                    aria-describedby="issue-title-error"
                />
                <p class="field-error" id="issue-title-error" aria-live="polite">{title_error}</p>
            </div>
            <div class="field">
                <label for="issue-description">"Description"</label>
                <textarea
                    id="issue-description"
                    name="description"
                    rows="4"
                    prop:value=description
                    on:input=drafts::kept_as(DRAFT_DESCRIPTION.into(), description)
                ></textarea>
                <p class="field-error" id="issue-description-error">{move || field_errors().description}</p>
            </div>
            <div class="actions">
                <button type="submit" class="primary" id="create-issue-submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create issue" }}
                </button>
                <span class="status" role="status" id="create-status">{status}</span>
            </div>
        </ActionForm>
        // Outside the form: forms do not nest.
        {move || signed_out().then(sign_in_again)}
    }
}

#[component]
pub fn NewIssuePage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"New issue"</h1>
            <a href="/issues">"Back to issues"</a>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || session.get().map(|result| match result {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => view! { <SignInPrompt return_to="/issues/new" message="Sign in to create an issue."/> }.into_any(),
                Ok(info) if !info.permissions.create_issue => not_permitted(&info, Permission::CreateIssue),
                Ok(_) => view! { <NewIssueForm/> }.into_any(),
            })}
        </Suspense>
    }
}

/// The create form on its own page.
#[island]
fn NewIssueForm() -> impl IntoView {
    let action = ServerAction::<CreateIssue>::new();
    view! { <CreateIssueForm action/> }
}

#[component]
pub fn AuditTrailPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Audit trail"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || session.get().map(|result| match result {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/audit" message="Sign in to see the audit trail."/> }.into_any()
                }
                Ok(info) if !info.permissions.view_audit => not_permitted(&info, Permission::ViewAudit),
                Ok(_) => view! { <AuditEvents/> }.into_any(),
            })}
        </Suspense>
    }
}

/// The filter (a plain GET form: the address says what is shown) and one page of events.
#[component]
fn AuditEvents() -> impl IntoView {
    let query = use_query_map();
    let who = move || query.read().get("who").filter(|who| !who.is_empty());
    let outcome = move || query.read().get("outcome").filter(|outcome| !outcome.is_empty());
    let before = move || query.read().get("before").and_then(|before| before.parse::<i64>().ok());
    let page = Resource::new(
        move || (who(), outcome(), before()),
        |(who, outcome, before)| list_audit(who, outcome, before),
    );
    let chosen = move |value: &str| outcome().as_deref() == Some(value);
    view! {
        <form method="get" action="/audit" class="card filters" id="audit-filter">
            <label for="audit-who">"Who"</label>
            <input id="audit-who" name="who" type="text" placeholder="sub or name" value=who/>
            <label for="audit-outcome">"Outcome"</label>
            <select id="audit-outcome" name="outcome">
                <option value="">"any"</option>
                <option value="ok" selected=move || chosen("ok")>"ok"</option>
                <option value="refused" selected=move || chosen("refused")>"refused"</option>
            </select>
            <button type="submit" class="secondary">"Show"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading events…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(page) => audit_table(page, who(), outcome()),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn audit_table(page: AuditPage, who: Option<String>, outcome: Option<String>) -> AnyView {
    if page.events.is_empty() {
        return view! { <p class="empty card" id="no-events">"No events."</p> }.into_any();
    }
    let older = page.next_before.map(|before| {
        let mut query = format!("before={before}");
        for (key, value) in [("who", who), ("outcome", outcome)] {
            if let Some(value) = value {
                query.push_str(&format!("&{key}={}", query_value(&value)));
            }
        }
        view! { <a class="button secondary" id="older-events" href=format!("/audit?{query}")>"Older events"</a> }
    });
    view! {
        <table class="audit card" id="audit-events">
            <thead>
                <tr>
                    <th>"When"</th>
                    <th>"Who"</th>
                    <th>"Event"</th>
                    <th>"Outcome"</th>
                    <th>"Details"</th>
                    <th>"Request"</th>
                </tr>
            </thead>
            <tbody>
                {page
                    .events
                    .into_iter()
                    .map(|event| {
                        let who = event.actor_name.clone().or(event.actor_sub.clone()).unwrap_or_else(|| "—".into());
                        let client = event.client_id.clone().map(|client| format!(" via {client}"));
                        let details = [
                            event.permission.clone().map(|permission| format!("permission {permission}")),
                            event.missing_scopes.clone().map(|missing| format!("missing {missing}")),
                            event.via.clone(),
                            event.detail.clone(),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ");
                        let class = format!("audit-event {}", event.outcome);
                        view! {
                            <tr class=class data-event-id=event.id>
                                <td>{time(event.at * 1000)}</td>
                                <td title=event.actor_sub.clone().unwrap_or_default()>{who}{client}</td>
                                <td>{event.event}</td>
                                <td>{event.outcome}</td>
                                <td>{details}</td>
                                <td><code>{event.request_id.unwrap_or_default()}</code></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages">{older}</nav>
    }
    .into_any()
}

/// `value` percent-encoded for a query string (everything but unreserved characters).
pub(crate) fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::status::of_page(404);
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the start"</a></p>
        </section>
    }
}
