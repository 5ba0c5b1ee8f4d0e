//! `/issues`: the issue board. Its filters are a plain GET form (the address says what is
//! shown); the list, its status tabs and pager, and the create form are the `IssueBoard` island.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::Permission;
use crate::api::{CreateIssue, list_issues};
use crate::model::{OPEN, SharedPage, count_text};
use crate::ui::pages::common::{SignInPrompt, not_permitted, query_value};
use crate::ui::pages::create_form::CreateIssueForm;
use crate::ui::session::use_session;
use crate::ui::time::time;
use crate::ui::why::AccessHelpNote;

#[component]
pub fn IssuesPage() -> impl IntoView {
    let session = use_session();
    let query_map = use_query_map();
    view! {
        <div class="page-head">
            <h1>"Issues"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            // A bare `Suspend`, not a closure: on the server, Suspense calls a closure child up
            // to three times (to find its resources, again once they are known, then to
            // render), and each call would build the island below anew, with its own resource
            // loading the same data. A `Suspend` runs once and keeps its view.
            {Suspend::new(async move { match session.await {
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
            }})}
        </Suspense>
    }
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
    // A count with `capped` (a search counts up to 10,000) reads "10,000+".
    let tab = |status: &'static str, label: &'static str, count: Option<(i64, bool)>| {
        let current = query.status == status || (query.status.is_empty() && status == "open");
        let text = match count {
            Some((count, capped)) => format!("{label} ({})", count_text(count, capped)),
            None => label.to_string(),
        };
        view! {
            <a href=query.href(status) id=format!("tab-{status}") aria-current=current.then_some("page")>{text}</a>
        }
    };
    let tabs = view! {
        <nav class="tabs" aria-label="Status">
            {tab("open", "Open", Some((page.counts.open, page.counts.open_capped)))}
            {tab("closed", "Closed", Some((page.counts.closed, page.counts.closed_capped)))}
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
