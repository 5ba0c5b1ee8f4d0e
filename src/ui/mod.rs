//! The browser-facing UI, rendered on the server (Leptos islands): `app.rs` is the shell and
//! the router, `pages/` one file per page, and the pieces pages share (sign in/out forms, the
//! "why" lines, drafts, local times, the session notice, the sender the islands' forms share,
//! the islands' ear for changes made elsewhere). What a page shows comes from the server's
//! decision; UI code never calls into `server::` except to set a page's status.

pub mod account;
pub mod app;
pub(crate) mod drafts;
pub(crate) mod live;
pub mod pages;
#[cfg(feature = "hydrate")]
pub(crate) mod post;
pub mod session;
pub(crate) mod session_notice;
pub(crate) mod step_up;
pub(crate) mod submit;
pub mod time;
pub(crate) mod why;
