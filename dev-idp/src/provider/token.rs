//! The token endpoint: the authorization code, refresh token, client credentials and password grants.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::shared::{Params, Provider, equal, is_pkce_value};
use super::tokens::{RefreshIssue, TokenResponse, granted_scopes, split_scopes};
use crate::directory::{Application, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::store::{Grant, Subject, digest_of};

impl Provider {
    // ----- token endpoint ---------------------------------------------------------------------

    pub fn token(&self, app: &Application, params: &Params) -> Result<TokenResponse, OAuthError> {
        let grant_type = params.require("grant_type")?;
        let Some(grant) = GrantType::parse(grant_type) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant type `{grant_type}` is not supported"),
            ));
        };
        if !app.allows(grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("the application may not use `{grant_type}`"),
            ));
        }
        match grant {
            GrantType::AuthorizationCode => self.exchange_code(app, params),
            GrantType::RefreshToken => self.refresh(app, params),
            GrantType::ClientCredentials => self.client_credentials(app, params),
            GrantType::Password => self.password(app, params),
        }
    }

    fn refresh_issue(&self, app: &Application) -> RefreshIssue {
        if app.allows(GrantType::RefreshToken) {
            RefreshIssue::New
        } else {
            RefreshIssue::None
        }
    }

    fn exchange_code(&self, app: &Application, params: &Params) -> Result<TokenResponse, OAuthError> {
        let code = params.require("code")?;
        let now = self.clock.now();
        let record = {
            let mut tables = self.store.lock();
            let Some(record) = tables.codes.get_mut(&digest_of(code)) else {
                return Err(OAuthError::invalid_grant("the authorization code is not valid"));
            };
            if record.redeemed {
                let grant_id = record.grant.id.clone();
                tables.revoke_grant(&grant_id);
                tracing::warn!(client_id = %app.client_id, "authorization code replayed; its tokens are revoked");
                return Err(OAuthError::invalid_grant("the authorization code was already used"));
            }
            // Any attempt consumes the code, so a verifier cannot be guessed by retrying.
            record.redeemed = true;
            record.clone()
        };
        if record.expires_at <= now {
            return Err(OAuthError::invalid_grant("the authorization code has expired"));
        }
        if record.grant.client_id != app.client_id {
            return Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if params.get("redirect_uri") != Some(record.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&record.code_challenge, params.get("code_verifier")) {
            (Some(challenge), Some(verifier)) => {
                if !is_pkce_value(verifier, 43, 128) {
                    return Err(OAuthError::invalid_grant(
                        "code_verifier must be 43 to 128 unreserved characters",
                    ));
                }
                let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
                if !equal(&computed, challenge) {
                    return Err(OAuthError::invalid_grant("PKCE verification failed"));
                }
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant("no code_challenge was sent for this code"));
            }
            (None, None) => {}
        }
        let still_signed_in = record
            .grant
            .sid
            .as_ref()
            .is_none_or(|sid| self.store.lock().sessions.values().any(|s| &s.sid == sid));
        if !still_signed_in {
            return Err(OAuthError::invalid_grant("the user has signed out"));
        }
        self.issue_tokens(app, &record.grant, self.refresh_issue(app))
    }

    fn refresh(&self, app: &Application, params: &Params) -> Result<TokenResponse, OAuthError> {
        let token = params.require("refresh_token")?;
        let now = self.clock.now();
        let key = digest_of(token);
        let record = {
            let mut tables = self.store.lock();
            let Some(record) = tables.refresh_tokens.get_mut(&key) else {
                return Err(OAuthError::invalid_grant("the refresh token is not valid"));
            };
            if record.revoked || record.expires_at <= now {
                return Err(OAuthError::invalid_grant("the refresh token is revoked or expired"));
            }
            if record.grant.client_id != app.client_id {
                return Err(OAuthError::invalid_grant(
                    "the refresh token was issued to another client",
                ));
            }
            if app.refresh_token_rotation {
                // Redeemed exactly once: a second redemption finds it revoked.
                record.revoked = true;
            }
            record.clone()
        };
        let mut grant = record.grant.clone();
        if let Some(scope) = params.get("scope") {
            let narrowed = split_scopes(Some(scope));
            if narrowed.iter().any(|s| !grant.scopes.contains(s)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "a refresh cannot widen the granted scopes",
                ));
            }
            grant.scopes = narrowed;
        }
        // Re-check the user's roles: a role removed since sign-in drops its scopes.
        // A role added since does not widen them: a refresh never exceeds the original grant
        // (RFC 6749 §6); the added scopes come with the next authorization.
        if let Subject::User(sub) = &grant.subject {
            let directory = self.directory();
            let Some(user) = directory.user_by_sub(sub) else {
                return Err(OAuthError::invalid_grant("the user no longer exists"));
            };
            grant.scopes = granted_scopes(&directory, app, Some(user), &grant.scopes);
        }
        grant.nonce = None;
        let refresh = if app.refresh_token_rotation {
            RefreshIssue::New
        } else {
            RefreshIssue::Keep(token.to_string())
        };
        self.issue_tokens(app, &grant, refresh)
    }

    fn client_credentials(&self, app: &Application, params: &Params) -> Result<TokenResponse, OAuthError> {
        if !app.is_confidential() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "a public client cannot use client_credentials",
            ));
        }
        let requested = split_scopes(params.get("scope"));
        let grant = Grant {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: app.client_id.clone(),
            subject: Subject::Application,
            scopes: granted_scopes(&self.directory(), app, None, &requested),
            sid: None,
            auth_time: None,
            nonce: None,
        };
        self.issue_tokens(app, &grant, RefreshIssue::None)
    }

    fn password(&self, app: &Application, params: &Params) -> Result<TokenResponse, OAuthError> {
        let username = params.require("username")?;
        let password = params.require("password")?;
        let directory = self.directory();
        let user = self
            .check_password(&directory, username, password)
            .map_err(|refusal| OAuthError::invalid_grant(refusal.to_string()))?;
        let requested = split_scopes(params.get("scope"));
        let now = self.clock.now();
        let grant = Grant {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: app.client_id.clone(),
            subject: Subject::User(user.sub),
            scopes: granted_scopes(&directory, app, Some(user), &requested),
            sid: None,
            auth_time: Some(now),
            nonce: None,
        };
        self.issue_tokens(app, &grant, self.refresh_issue(app))
    }
}
