//! The edge: the serve loop and its time limits (`serve.rs`, `time_limit.rs`), the guards every
//! request passes (`security.rs`), and the thin adapters that turn requests into calls of the
//! services: the sign-in routes (`auth_routes.rs`), the server functions (`server_fns.rs`; those of notifications and webhooks in `delivery_fns.rs`,
//! of access in `access_fns.rs`, the board's bulk action in `bulk_fns.rs`), the
//! board as a file (`board_export.rs`), the REST API (`rest/`) and the site's files (`site.rs`); their JSON error bodies are
//! `error_body.rs`'s. Start at `serve.rs`, then `server_fns.rs`.

pub mod access_fns;
pub mod auth_routes;
pub mod authorize;
pub mod board_export;
pub mod bulk_fns;
pub mod delivery_fns;
pub mod error_body;
pub mod error_page;
pub mod live_stream;
pub mod metrics_endpoint;
pub mod rest;
pub mod security;
pub mod serve;
pub mod server_fns;
pub mod site;
pub mod status;
pub mod time_limit;
