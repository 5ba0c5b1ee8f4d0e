//! The Leptos application: the HTML shell, the router and the page frame. Rendered on the
//! server (islands mode): only `#[island]` components are hydrated in the browser.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::model::unread_text;
use crate::ui::account::{FormRefusal, SignInButton, SignOutButton};
use crate::ui::pages::issue::IssuePage;
use crate::ui::pages::profile::ProfilePage;
use crate::ui::pages::{
    AccessPage, AuditTrailPage, DeletedIssuesPage, HomePage, IssuesPage, LabelsPage, NewIssuePage, NotFound,
    NotificationsPage, WebhookDeliveriesPage,
};
use crate::ui::session::{provide_session, use_session};
use crate::ui::session_notice::SessionNotice;

/// The HTML document around the app. (The server sets its Content-Security-Policy where it
/// renders it.)
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Keyboard shortcuts (`?` lists them): plain JavaScript from this origin, no WASM.
                <script src="/shortcuts.js" defer nonce=leptos::nonce::use_nonce()></script>
                <script src="/mentions.js" defer nonce=leptos::nonce::use_nonce()></script>
                // The board, the issue page and the bell move as changes arrive (`GET /live`).
                <script src="/live.js" defer nonce=leptos::nonce::use_nonce()></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_session();

    view! {
        <Stylesheet id="leptos" href="/pkg/issues-app.css"/>
        <Title text="Issues"/>
        <Router>
            // The WASM sets it to "true" once the page's islands are live (see `hydrate`).
            <div class="app" data-hydrated="false">
                <a class="skip-link" href="#main">"Skip to content"</a>
                <Header/>
                <main class="content" id="main" tabindex="-1">
                    <FormRefusal/>
                    <Routes fallback=|| view! { <NotFound/> }>
                        <Route path=path!("/") view=HomePage/>
                        <Route path=path!("/issues") view=IssuesPage/>
                        // Rendered whole before it is sent: its status (403) depends on the session.
                        <Route path=path!("/issues/new") view=NewIssuePage ssr=SsrMode::Async/>
                        // Rendered whole before it is sent: its status (403) depends on the session.
                        <Route path=path!("/issues/deleted") view=DeletedIssuesPage ssr=SsrMode::Async/>
                        // Rendered whole before it is sent: a missing issue answers 404.
                        <Route path=path!("/issues/:id") view=IssuePage ssr=SsrMode::Async/>
                        <Route path=path!("/labels") view=LabelsPage/>
                        // Rendered whole before it is sent: signed out, it answers 401.
                        <Route path=path!("/notifications") view=NotificationsPage ssr=SsrMode::Async/>
                        // Rendered whole before it is sent: its status (403) depends on the session.
                        <Route path=path!("/audit") view=AuditTrailPage ssr=SsrMode::Async/>
                        // Rendered whole before it is sent: its status (403) depends on the session.
                        <Route path=path!("/audit/webhooks") view=WebhookDeliveriesPage ssr=SsrMode::Async/>
                        // Rendered whole before it is sent: its status (403) depends on the session.
                        <Route path=path!("/access") view=AccessPage ssr=SsrMode::Async/>
                        // Rendered whole before it is sent: signed out, it answers 401.
                        <Route path=path!("/profile") view=ProfilePage ssr=SsrMode::Async/>
                    </Routes>
                </main>
                <Suspense fallback=|| ()>
                    {move || {
                        use_session()
                            .get()
                            .and_then(Result::ok)
                            .and_then(|info| info.deadlines)
                            .map(|deadlines| view! { <SessionNotice deadlines/> })
                    }}
                </Suspense>
                <footer class="footer">"Access decided by your organization's identity provider."</footer>
                <ShortcutsHelp/>
            </div>
        </Router>
    }
}

/// The keyboard shortcuts' list (`?` opens it, `Escape` or its button closes it) and the
/// polite live region that tells screen readers what a shortcut did; public/shortcuts.js
/// drives both.
#[component]
fn ShortcutsHelp() -> impl IntoView {
    view! {
        <dialog id="shortcuts-help" class="shortcuts-help" aria-labelledby="shortcuts-help-title">
            <h2 id="shortcuts-help-title">"Keyboard shortcuts"</h2>
            <dl class="shortcut-list">
                <dt><kbd>"c"</kbd></dt>
                <dd>"New issue"</dd>
                <dt><kbd>"/"</kbd></dt>
                <dd>"Search the board"</dd>
                <dt><kbd>"j"</kbd>" / "<kbd>"k"</kbd></dt>
                <dd>"Next / previous issue on the board (Enter opens it)"</dd>
                <dt><kbd>"?"</kbd></dt>
                <dd>"Show this list"</dd>
                <dt><kbd>"Esc"</kbd></dt>
                <dd>"Close this list"</dd>
            </dl>
            <p class="muted">"Shortcuts are off while you type in a field."</p>
            <form method="dialog">
                <button type="submit" class="secondary" id="shortcuts-close">"Close"</button>
            </form>
        </dialog>
        <p id="shortcut-status" class="visually-hidden" aria-live="polite"></p>
    }
}

/// The bell: a link to the notifications with the unread count, which `public/live.js` keeps
/// current as changes arrive.
fn bell(unread: i64) -> impl IntoView {
    let count = unread_text(unread);
    let label = match &count {
        Some(count) => format!("Notifications, {count} unread"),
        None => "Notifications".to_string(),
    };
    view! {
        <a class="bell" id="bell" href="/notifications" aria-label=label title="Notifications">
            <svg class="bell-icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path d="M8 1.5a4.5 4.5 0 0 0-4.5 4.5v3L2 11.5h12L12.5 9V6A4.5 4.5 0 0 0 8 1.5zM6.2 13a1.9 1.9 0 0 0 3.6 0z"></path>
            </svg>
            <span class="bell-count" id="bell-count" hidden=count.is_none()>{count.clone().unwrap_or_default()}</span>
        </a>
    }
}

#[component]
fn Header() -> impl IntoView {
    let session = use_session();
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">
                <span class="logo" aria-hidden="true">"◆"</span>
                "Issues"
            </A>
            <nav class="nav" aria-label="Main">
                <A href="/issues">"All issues"</A>
                <Suspense fallback=|| ()>
                    {move || {
                        session.get().and_then(Result::ok).map(|info| {
                            view! {
                                {info.permissions.create_issue.then(|| view! { <A href="/issues/new" attr:id="new-issue-link">"New issue"</A> })}
                                {info.permissions.view_issues.then(|| view! { <A href="/labels" attr:id="labels-link">"Labels"</A> })}
                                {info.permissions.view_audit.then(|| view! { <A href="/audit" attr:id="audit-link">"Audit"</A> })}
                                {(info.permissions.review_access || info.permissions.view_audit).then(|| view! { <A href="/access" attr:id="access-link">"Access"</A> })}
                                {info.permissions.delete_issue.then(|| view! { <A href="/issues/deleted" attr:id="deleted-link">"Deleted"</A> })}
                            }
                        })
                    }}
                </Suspense>
            </nav>
            <div class="account">
                <Suspense fallback=|| ()>
                    {move || {
                        session
                            .get()
                            .map(|result| match result.ok().and_then(|info| Some((info.user?, info.permissions.view_issues))) {
                                Some((user, views)) => {
                                    view! {
                                        {views.then(|| bell(user.unread))}
                                        <a class="user" id="user-name" href="/profile" title="Your profile" data-drafts=user.drafts>
                                            {user.name}
                                        </a>
                                        <SignOutButton/>
                                    }
                                        .into_any()
                                }
                                None => {
                                    view! {
                                        <SignInButton return_to="/" id="header-sign-in" primary=false/>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
            </div>
        </header>
    }
}
