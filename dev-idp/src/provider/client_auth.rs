//! Client authentication (client_secret_basic / client_secret_post) for the token, introspection and revocation
//! endpoints and dev-idp's own role endpoint.

use super::shared::{Provider, equal};
use crate::directory::Application;
use crate::error::OAuthError;

/// Client credentials as presented at an endpoint.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub via_basic: bool,
}

impl Provider {
    // ----- client authentication --------------------------------------------------------------

    /// The authenticated application, copied out of the directory: the directory may be
    /// replaced while the request runs.
    pub fn authenticate_client(&self, credentials: &ClientCredentials) -> Result<Application, OAuthError> {
        let refuse = || OAuthError {
            basic_challenge: credentials.via_basic,
            ..OAuthError::invalid_client("client authentication failed")
        };
        let directory = self.directory();
        let app = directory.application(&credentials.client_id).ok_or_else(refuse)?;
        match (&app.client_secret, &credentials.secret) {
            (Some(expected), Some(given)) => {
                let method = if credentials.via_basic {
                    crate::directory::ClientAuthMethod::ClientSecretBasic
                } else {
                    crate::directory::ClientAuthMethod::ClientSecretPost
                };
                if !app.client_auth_methods.contains(&method) || !equal(given, expected) {
                    return Err(refuse());
                }
            }
            // A public client identifies itself but has no secret to check.
            (None, None) => {}
            _ => return Err(refuse()),
        }
        Ok(app.clone())
    }
}
