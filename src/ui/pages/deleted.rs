//! `/issues/deleted`: the deleted issues not yet erased, for those who may delete, each with
//! when and by whom and a Restore button. Rendered on the server only: the buttons are plain
//! forms (the server function sends the browser back here, a refusal shown by `FormRefusal`),
//! so the page adds nothing to the WASM.

use leptos::prelude::*;

use crate::access::Permission;
use crate::api::list_deleted;
use crate::model::DeletedIssue;
use crate::ui::pages::common::{SignInPrompt, not_permitted};
use crate::ui::session::use_session;
use crate::ui::time::time;

#[component]
pub fn DeletedIssuesPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Deleted issues"</h1>
            <a href="/issues">"Back to issues"</a>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/issues/deleted" message="Sign in to see the deleted issues."/> }.into_any()
                }
                Ok(info) if !info.permissions.delete_issue => not_permitted(&info, Permission::DeleteIssue),
                Ok(_) => match list_deleted().await {
                    Ok(issues) => deleted_list(issues),
                    Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                },
            }})}
        </Suspense>
    }
}

fn deleted_list(issues: Vec<DeletedIssue>) -> AnyView {
    if issues.is_empty() {
        return view! { <p class="empty card" id="no-deleted">"No deleted issues."</p> }.into_any();
    }
    view! {
        <p class="muted">"Deleted issues are kept for a while, then erased. The most recently deleted are first."</p>
        <ul class="issue-list deleted-list" id="deleted-list">
            {issues
                .into_iter()
                .map(|issue| {
                    let by = issue.deleted_by.map(|name| view! { " by " <span class="deleted-by">{name}</span> });
                    view! {
                        <li class="issue card deleted-issue" data-issue-id=issue.id>
                            <div class="deleted-text">
                                <h3 class="issue-title">"#" {issue.id} " " {issue.title}</h3>
                                <p class="issue-meta">"Deleted " {time(issue.deleted_at)} {by}</p>
                            </div>
                            <form method="post" action="/api/restore_issue" class="inline">
                                <input type="hidden" name="id" value=issue.id/>
                                <button type="submit" class="secondary restore" data-issue-id=issue.id>"Restore"</button>
                            </form>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
