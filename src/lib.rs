//! issues-app: an issue tracker whose access is decided by an OpenID Connect provider.
//!
//! Shared by the server and the browser: `access` (the one scope decision), `model`, `error`,
//! `api` (server functions) and `app` (the Leptos UI). `server` is server-only.

pub mod access;
pub mod account;
pub mod api;
pub mod app;
pub mod error;
mod issue_page;
pub mod model;
mod pages;
pub mod session;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
