//! Authentication: the OIDC relying party, the session's sign-in state, bearer tokens.

pub mod bearer;
pub mod handlers;
pub mod http;
pub mod introspection;
pub mod jwks;
pub mod logout_token;
pub mod oidc;
pub mod pending;
pub mod session;
pub mod sign_in;
pub mod sign_in_error;
