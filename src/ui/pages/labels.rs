//! `/labels`: every label with how many issues carry it (each a link to the board filtered by
//! it); for those who may manage labels, a form to define one and a delete button on each.
//! Rendered on the server only: its forms are plain forms (the server function sends the
//! browser back here, a refusal shown by `FormRefusal`), so the page adds nothing to the WASM.

use leptos::prelude::*;

use crate::access::Permission;
use crate::api::{DefineLabel, DeleteLabel, list_labels};
use crate::model::Label;
use crate::ui::pages::common::{SignInPrompt, not_permitted, query_value};
use crate::ui::pages::triage::label_chip;
use crate::ui::session::use_session;

#[component]
pub fn LabelsPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Labels"</h1>
            <a href="/issues">"Back to issues"</a>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => view! { <SignInPrompt return_to="/labels" message="Sign in to see the labels."/> }.into_any(),
                Ok(info) if !info.permissions.view_issues => not_permitted(&info, Permission::ViewIssues),
                Ok(info) => {
                    let why = info.permissions.why_not(Permission::ManageLabels);
                    let can_manage = info.permissions.manage_labels;
                    let labels = match list_labels().await {
                        Ok(labels) => label_list(labels, can_manage),
                        Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                    };
                    view! {
                        {can_manage.then(define_form)}
                        {labels}
                        {why.map(|why| view! { <p class="why muted" id="why-no-labels">{why}</p> })}
                    }
                    .into_any()
                }
            }})}
        </Suspense>
    }
}

/// Defines a label (a plain form: the server function sends the browser back here).
fn define_form() -> impl IntoView {
    let define = ServerAction::<DefineLabel>::new();
    view! {
        <ActionForm action=define attr:class="card triage" attr:id="label-form">
            <label for="label-name">"Name"</label>
            <input id="label-name" name="name" required maxlength="50"/>
            <label for="label-color">"Colour"</label>
            <input id="label-color" name="color" type="color" value="#0075ca"/>
            <label for="label-description">"Description"</label>
            <input id="label-description" name="description" maxlength="200"/>
            <button type="submit" class="primary" id="label-submit">"Define label"</button>
        </ActionForm>
    }
}

fn label_list(labels: Vec<Label>, can_manage: bool) -> AnyView {
    let delete = ServerAction::<DeleteLabel>::new();
    if labels.is_empty() {
        return view! { <p class="empty card" id="no-labels">"No labels yet."</p> }.into_any();
    }
    view! {
        <ul class="issue-list" id="label-list">
            {labels
                .into_iter()
                .map(|label| {
                    let board = format!("/issues?status=all&label={}", query_value(&label.name));
                    let count = match label.issue_count {
                        1 => "1 issue".to_string(),
                        n => format!("{n} issues"),
                    };
                    let remove = can_manage.then(|| view! {
                        <ActionForm action=delete attr:class="inline">
                            <input type="hidden" name="id" value=label.id/>
                            <button type="submit" class="secondary">"Delete"</button>
                        </ActionForm>
                    });
                    view! {
                        <li class="issue card label-row" data-label=label.name.clone()>
                            {label_chip(label.name.clone(), label.color.clone())} " "
                            <span class="muted">{label.description.clone()}</span> " · "
                            <a href=board>{count}</a>
                            {remove}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
