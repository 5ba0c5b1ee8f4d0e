//! The page for addresses the router does not know (status 404).

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::status::of_page(404);
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the start"</a></p>
        </section>
    }
}
