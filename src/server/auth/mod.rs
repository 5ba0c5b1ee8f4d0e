//! Who is calling: the OpenID Connect relying party and the browser's signed-in session, and
//! the bearer tokens programs send. Start at `sign_in.rs` (begin, complete, sign out), then
//! `session.rs` (the `Sessions` service) and `bearer.rs` (access-token verification).

pub mod bearer;
pub mod introspection;
pub mod jwks;
pub mod logout_token;
pub mod oidc;
pub mod pending;
pub mod profile;
pub mod provider_client;
pub mod role_grants;
pub mod session;
pub mod sign_in;
pub mod sign_in_error;
pub mod token;
