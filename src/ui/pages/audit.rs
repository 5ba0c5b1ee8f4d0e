//! `/audit`: the audit trail, one page of events at a time, filtered by who and outcome through
//! a plain GET form; `/audit/webhooks`: the webhook delivery log, a failed delivery posted again
//! by a plain form. Rendered on the server.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::access::Permission;
use crate::api::{RedeliverWebhook, list_audit, webhook_deliveries};
use crate::model::{AuditPage, WebhookDelivery};
use crate::ui::pages::common::{SignInPrompt, not_permitted, query_value};
use crate::ui::session::use_session;
use crate::ui::time::time;

#[component]
pub fn AuditTrailPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Audit trail"</h1>
        </div>
        {audit_tabs("events")}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            // A bare `Suspend`, not a closure: on the server, Suspense calls a closure child up
            // to three times (to find its resources, again once they are known, then to
            // render), and each call would build the island below anew, with its own resource
            // loading the same data. A `Suspend` runs once and keeps its view.
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/audit" message="Sign in to see the audit trail."/> }.into_any()
                }
                Ok(info) if !info.permissions.view_audit => not_permitted(&info, Permission::ViewAudit),
                Ok(_) => view! { <AuditEvents/> }.into_any(),
            }})}
        </Suspense>
    }
}

/// The filter (a plain GET form: the address says what is shown) and one page of events.
#[component]
fn AuditEvents() -> impl IntoView {
    let query = use_query_map();
    let who = move || query.read().get("who").filter(|who| !who.is_empty());
    let outcome = move || query.read().get("outcome").filter(|outcome| !outcome.is_empty());
    let before = move || query.read().get("before").and_then(|before| before.parse::<i64>().ok());
    let page = Resource::new(
        move || (who(), outcome(), before()),
        |(who, outcome, before)| list_audit(who, outcome, before),
    );
    let chosen = move |value: &str| outcome().as_deref() == Some(value);
    view! {
        <form method="get" action="/audit" class="card filters" id="audit-filter">
            <label for="audit-who">"Who"</label>
            <input id="audit-who" name="who" type="text" placeholder="sub or name" value=who/>
            <label for="audit-outcome">"Outcome"</label>
            <select id="audit-outcome" name="outcome">
                <option value="">"any"</option>
                <option value="ok" selected=move || chosen("ok")>"ok"</option>
                <option value="refused" selected=move || chosen("refused")>"refused"</option>
            </select>
            <button type="submit" class="secondary">"Show"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading events…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(page) => audit_table(page, who(), outcome()),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn audit_table(page: AuditPage, who: Option<String>, outcome: Option<String>) -> AnyView {
    if page.events.is_empty() {
        return view! { <p class="empty card" id="no-events">"No events."</p> }.into_any();
    }
    let older = page.next_before.map(|before| {
        let mut query = format!("before={before}");
        for (key, value) in [("who", who), ("outcome", outcome)] {
            if let Some(value) = value {
                query.push_str(&format!("&{key}={}", query_value(&value)));
            }
        }
        view! { <a class="button secondary" id="older-events" href=format!("/audit?{query}")>"Older events"</a> }
    });
    view! {
        <table class="audit card" id="audit-events">
            <thead>
                <tr>
                    <th>"When"</th>
                    <th>"Who"</th>
                    <th>"Event"</th>
                    <th>"Outcome"</th>
                    <th>"Details"</th>
                    <th>"Request"</th>
                </tr>
            </thead>
            <tbody>
                {page
                    .events
                    .into_iter()
                    .map(|event| {
                        let who = event.actor_name.clone().or(event.actor_sub.clone()).unwrap_or_else(|| "—".into());
                        let client = event.client_id.clone().map(|client| format!(" via {client}"));
                        let details = [
                            event.permission.clone().map(|permission| format!("permission {permission}")),
                            event.missing_scopes.clone().map(|missing| format!("missing {missing}")),
                            event.via.clone(),
                            event.detail.clone(),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ");
                        let class = format!("audit-event {}", event.outcome);
                        // A refusal repeated within its minute is one row, counted.
                        let count = event.repeats;
                        let repeats = (count > 1).then(move || {
                            view! {
                                <span class="repeats muted" title=format!("{count} times within a minute")>
                                    {format!(" ×{count}")}
                                </span>
                            }
                        });
                        view! {
                            <tr class=class data-event-id=event.id>
                                <td>{time(event.at * 1000)}</td>
                                <td title=event.actor_sub.clone().unwrap_or_default()>{who}{client}</td>
                                <td>{event.event}{repeats}</td>
                                <td>{event.outcome}</td>
                                <td>{details}</td>
                                <td><code>{event.request_id.unwrap_or_default()}</code></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages">{older}</nav>
    }
    .into_any()
}

/// The audit pages' tabs: the trail's events, the webhook deliveries.
fn audit_tabs(current: &'static str) -> impl IntoView {
    let tab = |name: &'static str, href: &'static str, label: &'static str| {
        view! { <a href=href id=format!("audit-tab-{name}") aria-current=(current == name).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="Audit">
            {tab("events", "/audit", "Events")}
            {tab("webhooks", "/audit/webhooks", "Webhook deliveries")}
        </nav>
    }
}

/// `/audit/webhooks`: the newest deliveries to the webhooks config.json lists.
#[component]
pub fn WebhookDeliveriesPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Audit trail"</h1>
        </div>
        {audit_tabs("webhooks")}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/audit/webhooks" message="Sign in to see the webhook deliveries."/> }.into_any()
                }
                Ok(info) if !info.permissions.view_audit => not_permitted(&info, Permission::ViewAudit),
                Ok(_) => match webhook_deliveries().await {
                    Ok(deliveries) => delivery_log(deliveries),
                    Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                },
            }})}
        </Suspense>
    }
}

fn delivery_log(deliveries: Vec<WebhookDelivery>) -> AnyView {
    if deliveries.is_empty() {
        return view! {
            <p class="empty card" id="no-deliveries">
                "No deliveries yet. Changes are posted to the webhooks config.json lists (\"Webhooks\")."
            </p>
        }
        .into_any();
    }
    let rows = deliveries
        .into_iter()
        .map(|delivery| {
            let answer = match (delivery.last_status, &delivery.last_error) {
                (_, Some(error)) => error.clone(),
                (Some(status), None) => format!("answered {status}"),
                (None, None) => String::new(),
            };
            let when = delivery.done_at.unwrap_or(delivery.next_at);
            let failed = delivery.state == "failed";
            let class = format!("delivery {}", delivery.state);
            view! {
                <tr class=class data-delivery-id=delivery.id>
                    <td>{delivery.webhook}</td>
                    <td>
                        <a href=format!("/issues/{}", delivery.issue_id)>{format!("#{}", delivery.issue_id)}</a>
                        " " {delivery.kind}
                    </td>
                    <td class="delivery-state">{delivery.state}</td>
                    <td>{delivery.attempts}</td>
                    <td>{time(when)}</td>
                    <td class="delivery-answer">{answer}</td>
                    <td>
                        {failed.then(|| view! {
                            <form method="post" action=RedeliverWebhook::PATH class="inline">
                                <input type="hidden" name="id" value=delivery.id/>
                                <button type="submit" class="secondary redeliver">"Redeliver"</button>
                            </form>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="audit deliveries" id="deliveries">
                <thead>
                    <tr>
                        <th scope="col">"Webhook"</th>
                        <th scope="col">"Change"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Attempts"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"Last answer"</th>
                        <th scope="col"><span class="visually-hidden">"Action"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
