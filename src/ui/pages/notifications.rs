//! `/notifications`: the signed-in person's notifications, newest first (what changed on issues
//! assigned to them, mentioning them, or that they follow), each a link to its issue, with
//! "Mark read" and "Mark all read". Rendered on the server only: the buttons are plain forms
//! (the server function sends the browser back here), so the page adds nothing to the WASM.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::access::Permission;
use crate::api::{MarkRead, notifications};
use crate::model::{Inbox, Notification, notification_path, notification_reason};
use crate::ui::pages::common::{SignInPrompt, not_permitted};
use crate::ui::session::use_session;
use crate::ui::time::time;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page-head">
            <h1>"Notifications"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {Suspend::new(async move { match session.await {
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                Ok(info) if info.user.is_none() => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/notifications" message="Sign in to see your notifications."/> }.into_any()
                }
                Ok(info) if !info.permissions.view_issues => not_permitted(&info, Permission::ViewIssues),
                Ok(_) => match notifications().await {
                    Ok(inbox) => inbox_view(inbox),
                    Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
                },
            }})}
        </Suspense>
    }
}

fn inbox_view(inbox: Inbox) -> AnyView {
    if inbox.notifications.is_empty() {
        return view! {
            <p class="empty card" id="no-notifications">
                "Nothing yet. You are told here when an issue is assigned to you, when someone mentions you, \
                 and of comments, closing and reopening on issues you created, commented on or watch."
            </p>
        }
        .into_any();
    }
    let all_read = (inbox.unread == 0).then_some("true");
    view! {
        <form method="post" action=MarkRead::PATH class="inline inbox-actions">
            <input type="hidden" name="id" value="0"/>
            <button type="submit" class="secondary" id="mark-all-read" disabled=all_read>"Mark all read"</button>
        </form>
        <ul class="inbox" id="inbox">{inbox.notifications.into_iter().map(entry).collect_view()}</ul>
    }
    .into_any()
}

fn entry(notification: Notification) -> impl IntoView {
    let unread = notification.read_at.is_none();
    let class = if unread {
        "card notification unread"
    } else {
        "card notification"
    };
    let why = match notification.reason.as_str() {
        notification_reason::ASSIGNED => "Assigned to you",
        notification_reason::MENTIONED => "You were mentioned",
        notification_reason::ACCESS_ASKED => "A request for access to answer",
        notification_reason::ACCESS_ANSWERED => "Your request for access",
        _ => "You follow this issue",
    };
    view! {
        <li class=class data-notification-id=notification.id>
            <a class="notification-text" href=notification_path(&notification.reason, notification.issue_id)>{notification.summary}</a>
            <p class="issue-meta">{why} " · " {time(notification.at)}</p>
            {unread.then(|| view! {
                <form method="post" action=MarkRead::PATH class="inline">
                    <input type="hidden" name="id" value=notification.id/>
                    <button type="submit" class="secondary mark-read">"Mark read"</button>
                </form>
            })}
        </li>
    }
}
