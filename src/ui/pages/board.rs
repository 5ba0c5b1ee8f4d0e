//! `/issues`: the issue board. Its filters and sort are a plain GET form and its pages are
//! links, so the address says what is shown (a view can be shared and survives a reload); the
//! list, its status tabs and pager, the create form and the bulk bar (several issues picked,
//! one action, one confirmation, each issue's outcome) are the `IssueBoard` island.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::access::Permission;
use crate::api::{BulkChange, list_issues, list_labels};
use crate::model::{BoardQuery, BulkOutcome, Label, OPEN, Priority, SharedPage, Sort, count_text};
use crate::ui::live;
use crate::ui::pages::common::{SignInPrompt, not_permitted, query_value};
use crate::ui::pages::create_form::CreateIssueForm;
use crate::ui::pages::triage::{due_note, label_chips, priority_badge};
use crate::ui::session::use_session;
use crate::ui::submit::Submission;
use crate::ui::time::time;
use crate::ui::why::what_can_i_do;

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
                    let may = &info.permissions;
                    // Only label names, and only for those who may put labels on: island props
                    // travel in the page.
                    let label_names: Vec<String> = match may.edit_issue {
                        true => labels.iter().map(|label| label.name.clone()).collect(),
                        false => Vec::new(),
                    };
                    view! {
                        {board_filter(&query, &labels)}
                        <IssueBoard can_create=may.create_issue query=query close_issue=may.close_issue
                            assign_issue=may.assign_issue edit_issue=may.edit_issue labels=label_names/>
                        {what_can_i_do(may, &BOARD_ACTIONS, info.access_help.clone())}
                    }
                    .into_any()
                }
            }})}
        </Suspense>
    }
}

/// What the board offers to those allowed: its "What can I do here?" panel says why not.
const BOARD_ACTIONS: [Permission; 4] = [
    Permission::CreateIssue,
    Permission::CloseIssue,
    Permission::AssignIssue,
    Permission::EditIssue,
];

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
        <p class="board-export">
            "Export this view: "
            <a href=export_href(query, "csv") id="export-csv" download="">"CSV"</a>
            " · "
            <a href=export_href(query, "json") id="export-json" download="">"JSON"</a>
        </p>
    }
}

/// The address of this view as a file (`http::board_export`): every filter and the sort, all
/// pages.
fn export_href(query: &BoardQuery, format: &str) -> String {
    let view = href(query, None, None);
    let filters = view.strip_prefix("/issues").unwrap_or_default().trim_start_matches('?');
    match filters.is_empty() {
        true => format!("/issues/export?format={format}"),
        false => format!("/issues/export?format={format}&{filters}"),
    }
}

/// The list with its pager and, with the create scope, the create form, and the bulk bar for
/// those who may close, assign or label (`labels`: the names to offer): an island, so a new
/// issue appears at the top and a bulk change shows without a page load.
#[island]
fn IssueBoard(
    can_create: bool,
    query: BoardQuery,
    close_issue: bool,
    assign_issue: bool,
    edit_issue: bool,
    labels: Vec<String>,
) -> impl IntoView {
    let create = Submission::new();
    let bulk = Submission::new();
    let actions: Vec<BulkAction> = BULK_ACTIONS
        .into_iter()
        .filter(|(action, ..)| match *action {
            "close" | "reopen" => close_issue,
            "assign" => assign_issue,
            _ => edit_issue && !labels.is_empty(),
        })
        .collect();
    // The issues picked, in the order picked; none without a bulk action to take.
    let picked = (!actions.is_empty()).then(|| RwSignal::new(Vec::<i64>::new()));
    let filters = query.clone();
    // A change anywhere, as `public/live.js` announces it: the list reads again.
    let elsewhere = live::changes(live::BOARD_CHANGED);
    let page = Resource::new(
        move || (elsewhere.get(), create.version().get(), bulk.version().get()),
        move |_| {
            let q = filters.clone();
            list_issues(
                q.status, q.assignee, q.author, q.q, None, q.label, q.priority, q.sort, q.cursor,
            )
        },
    );
    view! {
        {can_create.then(|| view! { <CreateIssueForm action=create/> })}
        {picked.map(|picked| bulk_bar(actions, labels, picked, bulk))}
        <Transition fallback=|| view! { <p class="muted">"Loading issues…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(page) => issue_list(page, &query, picked),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// A bulk action: its name (the server function's `action`), as the menu offers it, and what
/// it did ("2 closed.").
type BulkAction = (&'static str, &'static str, &'static str);

const BULK_ACTIONS: [BulkAction; 5] = [
    ("close", "Close", "closed"),
    ("reopen", "Reopen", "reopened"),
    ("assign", "Assign", "assigned"),
    ("label", "Add label", "labelled"),
    ("unlabel", "Remove label", "unlabelled"),
];

/// What the value of `action` starts as: the first choice its menu offers.
fn first_value(action: &str, first_label: &str) -> String {
    match action {
        "assign" => "me".into(),
        "label" | "unlabel" => first_label.into(),
        _ => String::new(),
    }
}

/// The one question before a bulk action: "Close 2 issues?".
fn confirm_text(action: &str, value: &str, count: usize) -> String {
    let issues = match count {
        1 => "1 issue".to_string(),
        n => format!("{n} issues"),
    };
    match action {
        "close" => format!("Close {issues}?"),
        "reopen" => format!("Reopen {issues}?"),
        "assign" if value.is_empty() => format!("Unassign {issues}?"),
        "assign" => format!("Assign {issues} to {value}?"),
        "label" => format!("Add the label {value} to {issues}?"),
        _ => format!("Remove the label {value} from {issues}?"),
    }
}

/// What a bulk action came to: "2 closed." or "1 closed; #7: <why>".
fn bulk_summary(outcomes: &[BulkOutcome], did: &str) -> String {
    let done = outcomes.iter().filter(|outcome| outcome.ok).count();
    let mut text = format!("{done} {did}");
    for outcome in outcomes.iter().filter(|outcome| !outcome.ok) {
        let problem = outcome.problem.as_deref().unwrap_or_default();
        text.push_str(&format!("; #{}: {problem}", outcome.id));
    }
    if done == outcomes.len() {
        text.push('.');
    }
    text
}

/// The bulk bar: how many issues are picked, the action (only those the person may take) and
/// its value, one confirmation, then each issue's outcome. The server decides each issue again.
fn bulk_bar(
    actions: Vec<BulkAction>,
    labels: Vec<String>,
    picked: RwSignal<Vec<i64>>,
    bulk: Submission<Vec<BulkOutcome>>,
) -> impl IntoView {
    let first_label = labels.first().cloned().unwrap_or_default();
    let first = actions.first().copied().unwrap_or(BULK_ACTIONS[0]);
    let action = RwSignal::new(first);
    let value = RwSignal::new(first_value(first.0, &first_label));
    let confirming = RwSignal::new(false);
    // What the last dispatched action did, for its outcome ("closed").
    let did = RwSignal::new(first.2);
    let choose = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        if let Some(found) = BULK_ACTIONS.into_iter().find(|(name, ..)| *name == chosen) {
            action.set(found);
            value.set(first_value(found.0, &first_label));
            confirming.set(false);
        }
    };
    let set_value = move |ev: leptos::ev::Event| value.set(event_target_value(&ev));
    // Re-rendered when the action changes: its first option is the value it starts as.
    let value_input = move || {
        match action.get().0 {
            "assign" => Some(
                view! {
                    <select id="bulk-value" aria-label="Assign to" on:change=set_value>
                        <option value="me">"Me"</option>
                        <option value="">"No one"</option>
                    </select>
                }
                .into_any(),
            ),
            "label" | "unlabel" => Some(
                view! {
                    <select id="bulk-value" aria-label="Label" on:change=set_value>
                        {labels.iter().map(|name| view! { <option value=name.clone()>{name.clone()}</option> }).collect_view()}
                    </select>
                }
                .into_any(),
            ),
            _ => None,
        }
    };
    let apply = move || {
        let ids: Vec<String> = picked.with_untracked(|ids| ids.iter().map(i64::to_string).collect());
        let (name, _, past) = action.get_untracked();
        did.set(past);
        confirming.set(false);
        // The board reloads: what stays picked would be rows no longer shown.
        picked.set(Vec::new());
        bulk.dispatch(
            BulkChange::PATH,
            &[
                ("ids", &ids.join(",")),
                ("action", name),
                ("value", &value.get_untracked()),
            ],
        );
    };
    let confirm = move || {
        confirming.get().then(|| {
            let question = confirm_text(action.get().0, &value.get(), picked.with(Vec::len));
            view! {
                <span class="bulk-confirm" id="bulk-confirm" role="alert">
                    <span>{question}</span> " "
                    <button type="button" class="primary" id="bulk-confirm-yes" on:click=move |_| apply()>"Yes"</button>
                    <button type="button" class="secondary" id="bulk-confirm-no" on:click=move |_| confirming.set(false)>"No"</button>
                </span>
            }
        })
    };
    let result = move || {
        bulk.value().with(|result| match result {
            Some(Ok(outcomes)) => bulk_summary(outcomes, did.get()),
            Some(Err(error)) => error.to_string(),
            None => String::new(),
        })
    };
    view! {
        <div class="card bulk-bar" id="bulk-bar" role="group" aria-label="Bulk actions">
            <span class="bulk-count" id="bulk-count">{move || format!("{} selected", picked.with(Vec::len))}</span>
            <select id="bulk-action" aria-label="Action" on:change=choose>
                {actions.into_iter().map(|(name, label, _)| view! { <option value=name>{label}</option> }).collect_view()}
            </select>
            {value_input}
            <button
                type="button"
                class="secondary"
                id="bulk-apply"
                disabled=move || picked.with(Vec::is_empty) || bulk.pending().get()
                on:click=move |_| confirming.set(true)
            >
                "Apply…"
            </button>
            {confirm}
            <span class="status" role="status" id="bulk-result">{result}</span>
        </div>
    }
}

fn issue_list(page: SharedPage, query: &BoardQuery, picked: Option<RwSignal<Vec<i64>>>) -> AnyView {
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
                    let id = issue.id;
                    let pick = picked.map(|picked| view! {
                        <input
                            type="checkbox"
                            class="bulk-pick"
                            value=id
                            aria-label=format!("Select issue #{id}")
                            prop:checked=move || picked.with(|ids| ids.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                picked.update(|ids| {
                                    ids.retain(|other| *other != id);
                                    if on {
                                        ids.push(id);
                                    }
                                });
                            }
                        />
                    });
                    let description = (!issue.description.is_empty())
                        .then(|| view! { <p class="issue-description">{issue.description}</p> });
                    let assignee = issue.assignee_name.map(|name| view! { " · assigned to " <span class="assignee">{name}</span> });
                    let comments = (issue.comment_count > 0).then(|| format!(" · {} comments", issue.comment_count));
                    let status = if issue.status == OPEN { "badge open" } else { "badge closed" };
                    view! {
                        <li class="issue card" data-issue-id=issue.id>
                            <h3 class="issue-title">
                                {pick}
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
