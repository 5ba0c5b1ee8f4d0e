//! issues-app: an issue tracker whose access is decided by an OpenID Connect provider.
//!
//! Shared by the server and the browser: `access` (the one scope decision), `model`, `error`,
//! `api` (server functions) and `ui` (the Leptos pages). `server` is server-only.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod access;
pub mod api;
pub mod error;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// Islands mode: the page is server-rendered HTML; this starts the reactive system, the
/// islands on the page hydrate right after (Leptos' island script), and then the page is
/// marked `data-hydrated="true"` (what tests and the hydration benchmark wait for).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A task after the islands' hydration (which runs in microtasks once this returns).
    leptos::prelude::set_timeout(
        || {
            ui::time::localize_page();
            ui::session_notice::watch();
            ui::drafts::forget_on_sign_out();
            ui::step_up::resume();
            if let Ok(Some(app)) = leptos::prelude::document().query_selector(".app") {
                let _ = app.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
