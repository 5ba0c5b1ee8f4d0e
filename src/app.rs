//! The Leptos application: the HTML shell, the router and the page frame.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::api::session_info;
use crate::error::AppError;
use crate::model::SessionView;
use crate::pages::{HomePage, IssuesPage, NewIssuePage, NotFound};

/// The caller's session, loaded once per page from `session_info` and shared by every page.
#[derive(Clone, Copy)]
pub struct SessionContext(pub Resource<Result<SessionView, AppError>>);

pub fn use_session() -> Resource<Result<SessionView, AppError>> {
    expect_context::<SessionContext>().0
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::security::set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
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
    let session = Resource::new(|| (), |_| session_info());
    provide_context(SessionContext(session));

    // Effects never run during server rendering: this attribute proves the WASM is live.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Stylesheet id="leptos" href="/pkg/issues-app.css"/>
        <Title text="Issues"/>
        <Router>
            <div class="app" data-hydrated=move || if hydrated.get() { "true" } else { "false" }>
                <Header/>
                <main class="content">
                    <Routes fallback=|| view! { <NotFound/> }>
                        <Route path=path!("/") view=HomePage/>
                        <Route path=path!("/issues") view=IssuesPage/>
                        <Route path=path!("/issues/new") view=NewIssuePage/>
                    </Routes>
                </main>
                <footer class="footer">"Access decided by your organization's identity provider."</footer>
            </div>
        </Router>
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
            </nav>
            <div class="account">
                <Suspense fallback=|| ()>
                    {move || {
                        session
                            .get()
                            .map(|result| match result.ok().and_then(|info| info.user) {
                                Some(user) => {
                                    view! {
                                        <span class="user" id="user-name">{user.name}</span>
                                        <form method="post" action="/auth/logout" class="inline">
                                            <button type="submit" class="secondary" id="sign-out">
                                                "Sign out"
                                            </button>
                                        </form>
                                    }
                                        .into_any()
                                }
                                None => {
                                    view! {
                                        <a class="button" href="/auth/login?return_to=/" rel="external" id="header-sign-in">
                                            "Sign in"
                                        </a>
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
