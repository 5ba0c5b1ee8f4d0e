//! `/issues/new`: the create page, the create form on its own (the `NewIssueForm` island).

use leptos::prelude::*;

use crate::access::Permission;
use crate::api::CreateIssue;
use crate::ui::pages::common::{SignInPrompt, not_permitted};
use crate::ui::pages::create_form::CreateIssueForm;
use crate::ui::session::use_session;

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
