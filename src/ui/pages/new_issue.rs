//! `/issues/new`: the create page, the create form on its own (the `NewIssueForm` island), with
//! the templates config.json offers above it as plain links (`?template=<name>`): the page is
//! rendered again from the template chosen, so choosing one costs the browser no code.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::Permission;
use crate::api::issue_templates;
use crate::model::IssueTemplate;
use crate::ui::pages::common::{SignInPrompt, not_permitted, query_value};
use crate::ui::pages::create_form::CreateIssueForm;
use crate::ui::session::use_session;

#[component]
pub fn NewIssuePage() -> impl IntoView {
    let session = use_session();
    let chosen = use_query_map()
        .with_untracked(|query| query.get("template"))
        .filter(|name| !name.is_empty());
    // Back here after signing in, to the same template.
    let here = match &chosen {
        Some(name) => format!("/issues/new?template={}", query_value(name)),
        None => "/issues/new".to_string(),
    };
    view! {
        <div class="page-head">
            <h1>"New issue"</h1>
            <a href="/issues">"Back to issues"</a>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            // A bare `Suspend`, not a closure (see the board): the island below is built once.
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => view! { <SignInPrompt return_to=here message="Sign in to create an issue."/> }.into_any(),
                Ok(info) if !info.permissions.create_issue => not_permitted(&info, Permission::CreateIssue),
                Ok(_) => {
                    // No templates (or none readable) leaves the plain form.
                    let templates = issue_templates().await.unwrap_or_default();
                    let template = chosen
                        .as_deref()
                        .and_then(|name| templates.iter().find(|template| template.is_named(name)))
                        .cloned()
                        .unwrap_or_default();
                    let list = template_list(&templates, &template.name);
                    let labels = template.labels.join(",");
                    let IssueTemplate { title_prefix, body, .. } = template;
                    view! {
                        {list}
                        <NewIssueForm title=title_prefix description=body labels/>
                    }
                    .into_any()
                }
            }})}
        </Suspense>
    }
}

/// The templates as links to this page starting from each (`current` marked); nothing when
/// config.json names none.
fn template_list(templates: &[IssueTemplate], current: &str) -> Option<impl IntoView + use<>> {
    if templates.is_empty() {
        return None;
    }
    let links = templates
        .iter()
        .map(|template| {
            let href = format!("/issues/new?template={}", query_value(&template.name));
            let chosen = (template.name == current).then_some("true");
            view! {
                <li>
                    <a href=href data-template=template.name.clone() aria-current=chosen>{template.name.clone()}</a>
                </li>
            }
        })
        .collect_view();
    Some(view! {
        <nav class="card templates" aria-label="Templates">
            <p class="muted">"Start from a template:"</p>
            <ul id="templates">{links}</ul>
        </nav>
    })
}

/// The create form on its own page, starting from a template's title, description and labels
/// (comma separated) when one was chosen.
#[island]
fn NewIssueForm(title: String, description: String, labels: String) -> impl IntoView {
    let action = crate::ui::submit::Submission::new();
    view! { <CreateIssueForm action title description labels/> }
}
