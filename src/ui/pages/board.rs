//! `/issues`: the issue board. Its filters and sort are a plain GET form and its pages are
//! links, so the address says what is shown (a view can be shared and survives a reload); the
//! list, its status tabs and pager, and the create form are the `IssueBoard` island.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::Permission;
use crate::api::{CreateIssue, list_issues, list_labels};
use crate::model::{BoardQuery, Label, OPEN, Priority, SharedPage, Sort, count_text};
use crate::ui::pages::common::{SignInPrompt, not_permitted, query_value};
use crate::ui::pages::create_form::CreateIssueForm;
use crate::ui::pages::triage::{due_note, label_chips, priority_badge};
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
                        let get = |key: &str| query.get(key).filter(|value| !value.is_empty());
                        // Labels as a multiple select sends them (`label=a&label=b`) or as a
                        // shared link writes them (`label=a,b`).
                        let labels: Vec<String> = query.get_all("label").unwrap_or_default().into_iter().filter(|l| !l.is_empty()).collect();
                        BoardQuery {
                            status: get("status"),
                            assignee: get("assignee"),
                            author: get("author"),
                            q: get("q"),
                            label: (!labels.is_empty()).then(|| labels.join(",")),
                            priority: get("priority"),
                            sort: get("sort"),
                            cursor: get("cursor"),
                        }
                    });
                    let labels = list_labels().await.unwrap_or_default();
                    view! {
                        {board_filter(&query, &labels)}
                        <IssueBoard can_create=info.permissions.create_issue query=query/>
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

/// The address of the board with `query`'s filters and sort, `status` and `cursor` (a page).
fn href(query: &BoardQuery, status: Option<&str>, cursor: Option<&str>) -> String {
    let mut parts = Vec::new();
    let status = status.or(query.status.as_deref());
    for (key, value) in [
        ("status", status),
        ("q", query.q.as_deref()),
        ("assignee", query.assignee.as_deref()),
        ("author", query.author.as_deref()),
        ("label", query.label.as_deref()),
        ("priority", query.priority.as_deref()),
        ("sort", query.sort.as_deref()),
        ("cursor", cursor),
    ] {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            parts.push(format!("{key}={}", query_value(value)));
        }
    }
    match parts.is_empty() {
        true => "/issues".to_string(),
        false => format!("/issues?{}", parts.join("&")),
    }
}

/// The filters and the sort: a plain GET form, so the address says what is shown.
fn board_filter(query: &BoardQuery, labels: &[Label]) -> impl IntoView + use<> {
    let current = |value: &Option<String>| value.clone().unwrap_or_default();
    let option = |value: &'static str, label: &'static str, current: &str| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    let chosen: Vec<String> = query
        .label
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|name| name.trim().to_lowercase())
        .collect();
    let label_options = labels
        .iter()
        .map(|label| {
            let selected = chosen.contains(&label.name.to_lowercase());
            let text = format!("{} ({})", label.name, label.issue_count);
            view! { <option value=label.name.clone() selected=selected>{text}</option> }
        })
        .collect_view();
    let priority = current(&query.priority);
    let priority_options = Priority::ALL
        .into_iter()
        .map(|p| view! { <option value=p.name() selected=priority == p.name()>{p.label()}</option> })
        .collect_view();
    let sort = current(&query.sort);
    let sort_options = Sort::ALL
        .into_iter()
        .map(|s| {
            let selected = sort == s.name() || (sort.is_empty() && s == Sort::Newest);
            view! { <option value=s.name() selected=selected>{s.label()}</option> }
        })
        .collect_view();
    let (assignee, author) = (current(&query.assignee), current(&query.author));
    view! {
        <form method="get" action="/issues" class="card filters" id="board-filter" role="search">
            <input type="hidden" name="status" value=current(&query.status)/>
            <div class="filter-search">
                <label for="filter-q">"Search"</label>
                <input id="filter-q" name="q" type="search" placeholder="Words in titles, descriptions, comments" value=current(&query.q)/>
            </div>
            <div class="filter-field">
                <label for="filter-assignee">"Assignee"</label>
                <select id="filter-assignee" name="assignee">
                    {option("", "Anyone", &assignee)}
                    {option("me", "Me", &assignee)}
                    {option("unassigned", "Unassigned", &assignee)}
                </select>
            </div>
            <div class="filter-field">
                <label for="filter-author">"Author"</label>
                <select id="filter-author" name="author">
                    {option("", "Anyone", &author)}
                    {option("me", "Me", &author)}
                </select>
            </div>
            <div class="filter-field">
                <label for="filter-label">"Labels"</label>
                <select id="filter-label" name="label" multiple=true size="1">{label_options}</select>
            </div>
            <div class="filter-field">
                <label for="filter-priority">"Priority"</label>
                <select id="filter-priority" name="priority">
                    <option value="" selected=priority.is_empty()>"Any"</option>
                    {priority_options}
                </select>
            </div>
            <div class="filter-field">
                <label for="filter-sort">"Sort"</label>
                <select id="filter-sort" name="sort">{sort_options}</select>
            </div>
            <button type="submit" class="secondary" id="filter-submit">"Show"</button>
        </form>
    }
}

/// The list with its pager and, with the create scope, the create form: an island, so a new
/// issue appears at the top without a page load.
#[island]
fn IssueBoard(can_create: bool, query: BoardQuery) -> impl IntoView {
    let create = ServerAction::<CreateIssue>::new();
    let filters = query.clone();
    let page = Resource::new(
        move || create.version().get(),
        move |_| {
            let q = filters.clone();
            list_issues(
                q.status, q.assignee, q.author, q.q, None, q.label, q.priority, q.sort, q.cursor,
            )
        },
    );
    view! {
        {can_create.then(|| view! { <CreateIssueForm action=create/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading issues…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(page) => issue_list(page, &query),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn issue_list(page: SharedPage, query: &BoardQuery) -> AnyView {
    // A count with `capped` (a search counts up to 10,000) reads "10,000+".
    let tab = |status: &'static str, label: &'static str, count: Option<(i64, bool)>| {
        let current = query.status.as_deref() == Some(status) || (query.status.is_none() && status == "open");
        let text = match count {
            Some((count, capped)) => format!("{label} ({})", count_text(count, capped)),
            None => label.to_string(),
        };
        view! {
            <a href=href(query, Some(status), None) id=format!("tab-{status}") aria-current=current.then_some("page")>{text}</a>
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
    let first = query.cursor.is_some().then(|| href(query, None, None));
    let next = page
        .next_cursor
        .as_deref()
        .map(|cursor| href(query, None, Some(cursor)));
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
                                {priority_badge(issue.priority)} " "
                                <a href=format!("/issues/{}", issue.id)>{issue.title}</a> " "
                                {label_chips(&issue.labels)}
                            </h3>
                            {description}
                            <p class="issue-meta">
                                "#" {issue.id} " · " {issue.author_name} " · " {time(issue.created_at)} {assignee} {comments}
                                " " {due_note(issue.due.as_deref())}
                            </p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <nav class="pager" aria-label="Pages">
            {first.map(|first| view! { <a class="button secondary" href=first id="first-page">"First page"</a> })}
            {next.map(|next| view! { <a class="button secondary" href=next id="older">"Next page"</a> })}
        </nav>
    }
    .into_any()
}
