//! The protocol core: what the authorization, sign-in, token, introspection, revocation, userinfo and logout endpoints
//! decide, without axum types (`endpoints.rs` parses and renders). Start at `shared.rs`, then one file per endpoint.

mod authorize;
mod client_auth;
mod introspection;
mod logout;
mod shared;
mod token;
pub mod tokens;

pub use authorize::{AuthorizeError, LoginOutcome};
pub use client_auth::ClientCredentials;
pub use logout::LogoutOutcome;
pub use shared::{Params, Provider, Urls};
