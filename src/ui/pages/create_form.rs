//! The create-issue form, shared by the board and the create page: checks the title as it is
//! typed, and keeps the text in this browser (drafts) until the issue is created.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::api::CreateIssue;
use crate::error::AppError;
use crate::model::{Issue, title_problem};
use crate::ui::account::{needs_sign_in, sign_in_again};
use crate::ui::drafts;
use crate::ui::submit::Submission;

/// Where a new issue's text is kept until it is created.
const DRAFT_TITLE: &str = "new-issue:title";
const DRAFT_DESCRIPTION: &str = "new-issue:description";

/// `title`, `description`: the text a new issue starts from (a template's); `labels`: the names,
/// comma separated, it is created with.
#[component]
pub(crate) fn CreateIssueForm(
    action: Submission<Issue>,
    #[prop(optional)] title: String,
    #[prop(optional)] description: String,
    #[prop(optional)] labels: String,
) -> impl IntoView {
    // Rendered on the server too (before the browser's code runs, or without it): the field's
    // value, and the text area's text, escaped as markup.
    let title_as_sent = title.clone();
    let description_as_sent = escape_text(&description);
    // A draft kept from before (a session that ended) comes back over the template.
    let title = RwSignal::new(drafts::load(DRAFT_TITLE).unwrap_or(title));
    let description = RwSignal::new(drafts::load(DRAFT_DESCRIPTION).unwrap_or(description));
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
        <form method="post" action=CreateIssue::PATH class="card create-form" id="create-issue" on:submit=action.on_submit()>
            <h2>"Create issue"</h2>
            <div class="field">
                <label for="issue-title">"Title"</label>
                <input
                    id="issue-title"
                    name="title"
                    type="text"
                    autocomplete="off"
                    value=title_as_sent
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
                    inner_html=description_as_sent
                ></textarea>
                <p class="field-error" id="issue-description-error">{move || field_errors().description}</p>
            </div>
            {(!labels.is_empty()).then(|| view! { <input type="hidden" name="labels" value=labels/> })}
            <div class="actions">
                <button type="submit" class="primary" id="create-issue-submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create issue" }}
                </button>
                <span class="status" role="status" id="create-status">{status}</span>
            </div>
        </form>
        // Outside the form: forms do not nest.
        {move || signed_out().then(sign_in_again)}
    }
}

/// `text` as the content of an element holding only text (a text area): its `&` and `<` (and
/// `>`) written as entities, so it can neither end the element nor become markup.
fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}
