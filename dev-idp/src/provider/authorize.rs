//! The authorization endpoint and the sign-in form: request validation, IdP sessions, codes and the redirects back.

use std::collections::BTreeSet;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::shared::{Params, Provider, equal, is_pkce_value};
use super::tokens::{granted_scopes, split_scopes};
use crate::directory::GrantType;
use crate::error::{ErrorCode, OAuthError};
use crate::store::{
    AuthRequest, CodeRecord, Grant, IdpSession, Interaction, SESSION_SECONDS, Subject, digest_of, random_token,
};

/// A code is good for this long (Asgardeo: 60 s by default).
pub const CODE_LIFETIME_SECONDS: i64 = 60;
/// A sign-in form may be left open this long.
pub const INTERACTION_LIFETIME_SECONDS: i64 = 600;

/// How the authorization endpoint refuses a request.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The redirect URI cannot be trusted: tell the user, do not redirect (RFC 6749 §4.1.2.1).
    Page(String),
    /// Redirect the error back to the client.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

/// What the login form post led to.
pub enum LoginOutcome {
    /// Unknown or expired interaction, or CSRF failure: show this message.
    Refused(String),
    /// Wrong username or password, or too many wrong ones lately: show the form again.
    WrongCredentials {
        interaction_id: String,
        interaction: Box<Interaction>,
        message: String,
    },
    /// Signed in: set the session cookie and redirect.
    SignedIn { session_cookie: String, redirect: String },
}

impl Provider {
    // ----- authorization endpoint -------------------------------------------------------------

    pub fn validate_authorize(&self, params: &Params) -> Result<(AuthRequest, Option<String>), AuthorizeError> {
        let page = |message: &str| AuthorizeError::Page(message.to_string());
        let client_id = params
            .get("client_id")
            .ok_or_else(|| page("The request has no client_id."))?;
        let directory = self.directory();
        let app = directory
            .application(client_id)
            .ok_or_else(|| page("The application making this request is not registered."))?;
        let redirect_uri = params
            .get("redirect_uri")
            .ok_or_else(|| page("The request has no redirect_uri."))?;
        if !app.redirect_uris.iter().any(|registered| registered == redirect_uri) {
            return Err(page(
                "The redirect_uri does not match any URI registered for this application.",
            ));
        }
        let state = params.get("state").map(str::to_string);
        let fail = |code: ErrorCode, description: &str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_string(),
            state: state.clone(),
            error: OAuthError::new(code, description),
        };

        match params.get("response_type") {
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                ));
            }
            None => {
                return Err(fail(ErrorCode::InvalidRequest, "missing parameter `response_type`"));
            }
        }
        if !app.allows(GrantType::AuthorizationCode) {
            return Err(fail(
                ErrorCode::UnauthorizedClient,
                "the application may not use the authorization code grant",
            ));
        }
        if let Some(mode) = params.get("response_mode")
            && mode != "query"
        {
            return Err(fail(ErrorCode::InvalidRequest, "only response_mode=query is supported"));
        }
        let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
            (None, None) if app.pkce_mandatory || !app.is_confidential() => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "PKCE is required: send code_challenge with code_challenge_method=S256",
                ));
            }
            (None, None) => None,
            (Some(challenge), Some("S256")) if is_pkce_value(challenge, 43, 43) => Some(challenge.to_string()),
            (Some(_), Some("S256")) => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be 43 base64url characters",
                ));
            }
            (None, Some(_)) => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "code_challenge_method without code_challenge",
                ));
            }
            (Some(_), _) => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "only code_challenge_method=S256 is accepted; plain is refused",
                ));
            }
        };
        let max_age = match params.get("max_age") {
            None => None,
            Some(seconds) => match seconds.parse::<i64>() {
                Ok(seconds) if seconds >= 0 => Some(seconds),
                _ => {
                    return Err(fail(ErrorCode::InvalidRequest, "max_age must be a number of seconds"));
                }
            },
        };
        let prompt = params.get("prompt").map(str::to_string);
        if let Some(prompt) = &prompt {
            let values: Vec<&str> = prompt.split(' ').collect();
            if values.contains(&"none") && values.len() > 1 {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "prompt=none cannot be combined with other values",
                ));
            }
        }
        Ok((
            AuthRequest {
                client_id: app.client_id.clone(),
                redirect_uri: redirect_uri.to_string(),
                state,
                nonce: params.get("nonce").map(str::to_string),
                scopes: split_scopes(params.get("scope")),
                code_challenge,
                max_age,
            },
            prompt,
        ))
    }

    /// The IdP session behind a session cookie, if it is still there.
    pub fn session(&self, cookie: &str) -> Option<IdpSession> {
        let now = self.clock.now();
        let tables = self.store.lock();
        let session = tables.sessions.get(&digest_of(cookie));
        session.filter(|s| s.auth_time + SESSION_SECONDS > now).cloned()
    }

    pub fn start_interaction(&self, request: AuthRequest, browser_binding: String) -> (String, Interaction) {
        let interaction = Interaction {
            request,
            csrf_token: random_token(),
            browser_binding,
            expires_at: self.clock.now() + INTERACTION_LIFETIME_SECONDS,
        };
        let id = random_token();
        let mut tables = self.store.lock();
        tables.make_room(self.clock.now());
        tables.interactions.insert(id.clone(), interaction.clone());
        drop(tables);
        (id, interaction)
    }

    pub fn interaction(&self, id: &str) -> Option<Interaction> {
        let now = self.clock.now();
        self.store
            .lock()
            .interactions
            .get(id)
            .filter(|i| i.expires_at > now)
            .cloned()
    }

    pub fn application_name(&self, client_id: &str) -> String {
        self.directory()
            .application(client_id)
            .map(|app| app.name.clone())
            .unwrap_or_default()
    }

    pub fn complete_login(
        &self,
        interaction_id: &str,
        csrf_token: &str,
        browser_binding: Option<&str>,
        username: &str,
        password: &str,
    ) -> LoginOutcome {
        let expired = "This sign-in page has expired. Go back to the application and sign in again.";
        let Some(interaction) = self.interaction(interaction_id) else {
            return LoginOutcome::Refused(expired.into());
        };
        let bound = browser_binding.is_some_and(|b| equal(b, &interaction.browser_binding));
        if !bound || !equal(csrf_token, &interaction.csrf_token) {
            return LoginOutcome::Refused(
                "The sign-in form could not be verified (it was not opened in this browser). Go back to the application and sign in again.".into(),
            );
        }
        let directory = self.directory();
        let user = match self.check_password(&directory, username, password) {
            Ok(user) => user,
            Err(refusal) => {
                return LoginOutcome::WrongCredentials {
                    interaction_id: interaction_id.to_string(),
                    interaction: Box::new(interaction),
                    message: refusal.to_string(),
                };
            }
        };
        let cookie = random_token();
        let session = IdpSession {
            sid: uuid::Uuid::new_v4().to_string(),
            user_sub: user.sub,
            auth_time: self.clock.now(),
            clients: BTreeSet::new(),
        };
        {
            let mut tables = self.store.lock();
            tables.interactions.remove(interaction_id);
            tables.make_room(session.auth_time);
            tables.sessions.insert(digest_of(&cookie), session.clone());
        }
        tracing::info!(username = %user.username, "signed in");
        let redirect = self.issue_code(&interaction.request, &session, Some(&cookie));
        LoginOutcome::SignedIn {
            session_cookie: cookie,
            redirect,
        }
    }

    /// Issues a code for a signed-in user and returns the redirect back to the client.
    pub fn issue_code(&self, request: &AuthRequest, session: &IdpSession, cookie: Option<&str>) -> String {
        // The roles as they are now, not as they were at sign-in: a silent authorization
        // (prompt=none) picks up a change an administrator made since.
        let directory = self.directory();
        let scopes = match (
            directory.application(&request.client_id),
            directory.user_by_sub(&session.user_sub),
        ) {
            (Some(app), Some(user)) => granted_scopes(&directory, app, Some(user), &request.scopes),
            _ => Vec::new(),
        };
        let code = random_token();
        let now = self.clock.now();
        let record = CodeRecord {
            grant: Grant {
                id: uuid::Uuid::new_v4().to_string(),
                client_id: request.client_id.clone(),
                subject: Subject::User(session.user_sub),
                scopes,
                sid: Some(session.sid.clone()),
                auth_time: Some(session.auth_time),
                nonce: request.nonce.clone(),
            },
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            expires_at: now + CODE_LIFETIME_SECONDS,
            redeemed: false,
        };
        {
            let mut tables = self.store.lock();
            tables.make_room(now);
            tables.codes.insert(digest_of(&code), record);
            let key = cookie.map(digest_of).or_else(|| {
                tables
                    .sessions
                    .iter()
                    .find(|(_, s)| s.sid == session.sid)
                    .map(|(k, _)| k.clone())
            });
            if let Some(stored) = key.and_then(|key| tables.sessions.get_mut(&key)) {
                stored.clients.insert(request.client_id.clone());
            }
        }
        self.redirect_with(
            &request.redirect_uri,
            &[
                ("code", Some(code.as_str())),
                ("state", request.state.as_deref()),
                ("session_state", Some(&session_state(&request.client_id, &session.sid))),
            ],
        )
    }

    /// `redirect_uri` with `params` and RFC 9207's `iss` appended to its query.
    pub fn redirect_with(&self, redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
        let Ok(mut url) = url::Url::parse(redirect_uri) else {
            return redirect_uri.to_string();
        };
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("iss", &self.urls.issuer);
        }
        url.to_string()
    }

    pub fn error_redirect(&self, redirect_uri: &str, state: Option<&str>, error: &OAuthError) -> String {
        self.redirect_with(
            redirect_uri,
            &[
                ("error", Some(error.code.as_str())),
                ("error_description", Some(&error.description)),
                ("state", state),
            ],
        )
    }
}

/// OIDC Session Management's `session_state`, as Asgardeo sends it.
fn session_state(client_id: &str, sid: &str) -> String {
    let salt = random_token();
    let hash = digest::digest(&digest::SHA256, format!("{client_id} {sid} {salt}").as_bytes());
    format!("{}.{salt}", URL_SAFE_NO_PAD.encode(hash))
}
