//! What the board and the issue page share about triage: label chips, the priority and due
//! date as people read them, the control that sets them, and an issue's history.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::api::SetIssueTriage;
use crate::error::AppError;
use crate::model::{Comment, EventPage, Issue, IssueEvent, Label, LabelRef, Priority, event_kind};
use crate::ui::submit::Submission;
use crate::ui::time::time;

/// A label as a chip: its colour is an SVG dot (a presentation attribute, which the page's
/// Content-Security-Policy allows where an inline `style` is refused).
pub fn label_chip(name: String, color: String) -> impl IntoView {
    view! {
        <span class="label-chip">
            <svg class="label-dot" viewBox="0 0 10 10" aria-hidden="true">
                <circle cx="5" cy="5" r="5" fill=color></circle>
            </svg>
            {name}
        </span>
    }
}

pub fn label_chips(labels: &[LabelRef]) -> impl IntoView + use<> {
    let chips = labels
        .iter()
        .map(|label| label_chip(label.name.clone(), label.color.clone()))
        .collect_view();
    (!labels.is_empty()).then(|| view! { <span class="labels">{chips}</span> })
}

/// The priority as a badge, nothing for none.
pub fn priority_badge(priority: Priority) -> impl IntoView {
    (priority != Priority::None).then(|| {
        let class = format!("badge priority-{}", priority.name());
        view! { <span class=class title="Priority">{priority.label()}</span> }
    })
}

/// The due date, when there is one.
pub fn due_note(due: Option<&str>) -> impl IntoView + use<> {
    due.map(|day| view! { <span class="due" title="Due date">"due " {day.to_string()}</span> })
}

/// Sets the priority, due date and labels (those who may edit). The chosen labels travel as one
/// comma-separated field (label names have no commas).
pub fn triage_control(issue: &Issue, labels: Vec<Label>, action: Submission<Issue>) -> impl IntoView + use<> {
    let (id, version) = (issue.id, issue.version);
    let due = issue.due.clone().unwrap_or_default();
    let chosen = RwSignal::new(issue.labels.iter().map(|label| label.name.clone()).collect::<Vec<_>>());
    let priorities = Priority::ALL
        .into_iter()
        .map(|priority| {
            let selected = priority == issue.priority;
            view! { <option value=priority.name() selected=selected>{priority.label()}</option> }
        })
        .collect_view();
    let boxes = labels
        .into_iter()
        .map(|label| {
            let name = label.name.clone();
            let checked = chosen.with_untracked(|chosen| chosen.contains(&name));
            let (box_id, for_box) = (format!("label-{}", label.id), format!("label-{}", label.id));
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                chosen.update(|chosen| {
                    chosen.retain(|other| *other != name);
                    if on {
                        chosen.push(name.clone());
                    }
                });
            };
            view! {
                <label class="label-pick" for=for_box>
                    <input type="checkbox" id=box_id checked=checked on:change=toggle/>
                    {label_chip(label.name, label.color)}
                </label>
            }
        })
        .collect_view();
    let refused = move || match action.value().get() {
        Some(Err(AppError::Invalid(fields))) => fields.due.or(fields.labels).or(fields.priority),
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <form method="post" action=SetIssueTriage::PATH class="triage" id="triage-form" on:submit=action.on_submit()>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="version" value=version/>
            <input type="hidden" name="labels" prop:value=move || chosen.with(|chosen| chosen.join(","))/>
            <label for="priority">"Priority"</label>
            <select id="priority" name="priority">{priorities}</select>
            <label for="due">"Due"</label>
            <input id="due" name="due" type="date" value=due/>
            <fieldset class="label-picker">
                <legend>"Labels"</legend>
                {boxes}
            </fieldset>
            <button type="submit" class="secondary" id="triage-submit">"Save triage"</button>
            <span class="status" role="status" id="triage-result">{refused}</span>
        </form>
    }
}

/// One event as a sentence: "John Manager changed the priority from none to high".
fn event_text(event: &IssueEvent) -> String {
    let old = event.old_value.as_deref().unwrap_or("none");
    let new = event.new_value.as_deref().unwrap_or("none");
    let what = match event.kind.as_str() {
        event_kind::CREATED => "opened the issue".to_string(),
        event_kind::TITLE => format!("renamed it from “{old}” to “{new}”"),
        event_kind::DESCRIPTION => "edited the description".to_string(),
        event_kind::STATUS if new == "closed" => "closed it".to_string(),
        event_kind::STATUS => "reopened it".to_string(),
        event_kind::ASSIGNEE if event.new_value.is_none() => format!("unassigned {old}"),
        event_kind::ASSIGNEE => format!("assigned it to {new}"),
        event_kind::PRIORITY => format!("changed the priority from {old} to {new}"),
        event_kind::DUE => format!("changed the due date from {old} to {new}"),
        event_kind::LABEL_ADDED => format!("added the label {new}"),
        event_kind::LABEL_REMOVED => format!("removed the label {old}"),
        event_kind::DELETED => "deleted it".to_string(),
        event_kind::RESTORED => "restored it".to_string(),
        event_kind::COMMENT_EDITED => format!("edited {new}"),
        event_kind::COMMENT_DELETED => format!("deleted {new}"),
        event_kind::COMMENT_HIDDEN => format!("hid {new}"),
        event_kind::COMMENT_SHOWN => format!("showed {new} again"),
        other => other.replace('_', " "),
    };
    format!("{} {what}", event.actor_name)
}

/// The issue's timeline, oldest first: its history interleaved with its first page of
/// comments (each a link to it in the thread); an edited description shows its old and new
/// text.
pub fn history(page: EventPage, comments: Vec<Comment>) -> impl IntoView {
    let mut comments = comments.into_iter().peekable();
    let mut items = Vec::new();
    for event in page.events {
        while let Some(comment) = comments.next_if(|comment| comment.created_at < event.at) {
            items.push(comment_entry(comment));
        }
        items.push(event_entry(event));
    }
    items.extend(comments.map(comment_entry));
    view! {
        <section class="card history" aria-labelledby="history-title">
            <h2 id="history-title">"History"</h2>
            <ol class="history-list" id="history">{items}</ol>
        </section>
    }
}

fn event_entry(event: IssueEvent) -> AnyView {
    let text = event_text(&event);
    let detail = (event.kind == event_kind::DESCRIPTION).then(|| {
        let old = event.old_value.clone().unwrap_or_default();
        let new = event.new_value.clone().unwrap_or_default();
        view! {
            <details class="history-detail">
                <summary>"Show the change"</summary>
                <p class="muted">"Before:"</p>
                <p class="issue-description">{old}</p>
                <p class="muted">"After:"</p>
                <p class="issue-description">{new}</p>
            </details>
        }
    });
    view! {
        <li class="history-event" data-kind=event.kind.clone()>
            <span class="history-text">{text}</span> " · " {time(event.at)}
            {detail}
        </li>
    }
    .into_any()
}

/// A comment in the timeline: who wrote it and when, linking to it in the thread.
fn comment_entry(comment: Comment) -> AnyView {
    view! {
        <li class="history-event history-comment" data-kind="commented">
            <span class="history-text">{comment.author_name} " "
                <a href=format!("#comment-{}", comment.id)>{format!("commented (comment {})", comment.id)}</a>
            </span>
            " · " {time(comment.created_at)}
        </li>
    }
    .into_any()
}
