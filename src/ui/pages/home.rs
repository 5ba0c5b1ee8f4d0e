//! `/`: the home page. Signed out, a sign-in button. Signed in with the view permission, "My
//! work": the open issues assigned to the caller, created by them and mentioning them, each a
//! count and its newest few, the board one click away, and what they may do (each permission
//! granted, or why not, and the granted scopes) folded away below. Signed in without it, that
//! welcome with the permissions alone. Rendered on the server: no island, no WASM.

use leptos::prelude::*;

use crate::access::{AccessHelp, Permission, Permissions, SessionView};
use crate::api::my_work;
use crate::error::AppError;
use crate::model::{MyWork, WorkList};
use crate::ui::account::SignInButton;
use crate::ui::session::use_session;
use crate::ui::why::AccessHelpNote;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            // A bare `Suspend`, not a closure (see the board): it runs once, so the caller's
            // work is read once.
            {Suspend::new(async move { match session.await {
                Ok(info) => home(info).await,
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            }})}
        </Suspense>
    }
}

async fn home(info: SessionView) -> AnyView {
    let SessionView {
        user,
        permissions,
        scopes,
        notice,
        access_help,
        ..
    } = info;
    match user {
        None => {
            let notice =
                notice.map(|notice| view! { <p class="notice warning" role="status" id="session-notice">{notice}</p> });
            view! {
                {notice}
                <section class="hero card">
                    <h1>"Issues"</h1>
                    <p class="lead">"Track your team's issues. What you may see and do is decided by your organization's identity provider."</p>
                    <SignInButton return_to="/" id="sign-in" primary=true/>
                </section>
            }
            .into_any()
        }
        Some(user) if permissions.view_issues => {
            let work = my_work().await;
            view! {
                <section class="card my-work" aria-labelledby="my-work-heading">
                    <div class="work-head">
                        <div>
                            <h1 id="my-work-heading">"My work"</h1>
                            <p class="muted welcome-line">"Welcome, " <span id="welcome-name">{user.name}</span></p>
                        </div>
                        <a class="button primary" href="/issues" id="to-board">"Go to the board"</a>
                    </div>
                    {work_lists(work)}
                </section>
                <details class="card your-access" id="your-access">
                    <summary>"What can I do here?"</summary>
                    {access(permissions, scopes, access_help)}
                </details>
            }
            .into_any()
        }
        Some(user) => view! {
            <section class="card welcome">
                <h1>"Welcome, " <span id="welcome-name">{user.name}</span></h1>
                {access(permissions, scopes, access_help)}
                <a class="button primary" href="/issues">"Go to issues"</a>
            </section>
        }
        .into_any(),
    }
}

/// The three lists, or why they could not be read.
fn work_lists(work: Result<MyWork, AppError>) -> AnyView {
    match work {
        Ok(MyWork {
            assigned,
            created,
            mentioned,
        }) => view! {
            <div class="work-lists">
                {work_list(WorkSection {
                    id: "work-assigned",
                    title: "Assigned to me",
                    list: assigned,
                    see_all: Some(("/issues?assignee=me", "open issues assigned to you")),
                    empty: "Nothing is assigned to you.",
                })}
                {work_list(WorkSection {
                    id: "work-created",
                    title: "Created by me",
                    list: created,
                    see_all: Some(("/issues?author=me", "open issues you created")),
                    empty: "You have no open issues of your own.",
                })}
                {work_list(WorkSection {
                    id: "work-mentioned",
                    title: "Mentioning me",
                    list: mentioned,
                    // The board has no filter for mentions.
                    see_all: None,
                    empty: "No open issue mentions you.",
                })}
            </div>
        }
        .into_any(),
        Err(error) => view! { <p class="notice error" role="alert" id="work-error">{error.to_string()}</p> }.into_any(),
    }
}

/// One list of "My work" as the page shows it.
struct WorkSection {
    id: &'static str,
    title: &'static str,
    list: WorkList,
    /// The board filtered to the whole list, and what it holds (for screen readers).
    see_all: Option<(&'static str, &'static str)>,
    /// What an empty list says.
    empty: &'static str,
}

fn work_list(section: WorkSection) -> impl IntoView {
    let WorkSection {
        id,
        title,
        list,
        see_all,
        empty,
    } = section;
    let (heading, labelled_by) = (format!("{id}-heading"), format!("{id}-heading"));
    let count = list.count_text();
    let WorkList { count: total, issues } = list;
    let see_all = see_all.filter(|_| total > 0).map(|(href, what)| {
        view! {
            <a class="see-all" href=href id=format!("{id}-all")>
                "See all" <span class="visually-hidden">{format!(" {what}")}</span>
            </a>
        }
    });
    let items = match issues.is_empty() {
        true => view! { <p class="work-empty muted">{empty}</p> }.into_any(),
        false => view! {
            <ul class="work-list">
                {issues
                    .into_iter()
                    .map(|issue| {
                        view! {
                            <li>
                                <a href=format!("/issues/{}", issue.id)>{issue.title}</a>
                                " "
                                <span class="work-id muted">{format!("#{}", issue.id)}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    };
    view! {
        <section class="work" id=id data-count=total aria-labelledby=labelled_by>
            <h2 id=heading>
                {title} " " <span class="work-count" id=format!("{id}-count")>{count}</span>
            </h2>
            {items}
            {see_all}
        </section>
    }
}

/// What the caller may do: each permission granted, or why not; the granted scopes; whom to
/// ask for more (when something is refused).
fn access(permissions: Permissions, scopes: Vec<String>, access_help: Option<AccessHelp>) -> impl IntoView {
    let refused = !permissions.refused.is_empty();
    view! {
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
            {scopes.into_iter().map(|scope| view! { <code class="scope">{scope}</code> " " }).collect_view()}
        </p>
        {refused.then(|| view! { <AccessHelpNote help=access_help/> })}
    }
}
