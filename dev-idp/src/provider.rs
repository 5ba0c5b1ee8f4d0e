//! The protocol core: everything the endpoints decide, without HTTP types. Handlers in
//! `endpoints/` extract parameters, call these methods and render the outcome.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::directory::{Application, Directory, GrantType, RoleChangeError, User};
use crate::error::{ErrorCode, OAuthError};
use crate::keys::SigningKeys;
use crate::store::{
    AuthRequest, CodeRecord, Grant, IdpSession, Interaction, SESSION_SECONDS, Store, Subject, digest_of, random_token,
};
use crate::throttle::PasswordThrottle;
pub mod tokens;

use tokens::{IdTokenHint, RefreshIssue, TokenResponse, granted_scopes, split_scopes, user_claims};

/// A code is good for this long (Asgardeo: 60 s by default).
pub const CODE_LIFETIME_SECONDS: i64 = 60;
/// A sign-in form may be left open this long.
pub const INTERACTION_LIFETIME_SECONDS: i64 = 600;

/// Where the provider is reachable and what it calls itself.
#[derive(Debug, Clone)]
pub struct Urls {
    /// `http://127.0.0.1:9443` — no trailing slash.
    pub base: String,
    /// `/t/dev`
    pub org_path: String,
    /// `{base}/t/{org}/oauth2/token` — Asgardeo's issuer is its token endpoint URL.
    pub issuer: String,
}

impl Urls {
    pub fn new(base: &str, organization: &str) -> Self {
        let base = base.trim_end_matches('/').to_string();
        let org_path = format!("/t/{organization}");
        let issuer = format!("{base}{org_path}/oauth2/token");
        Self { base, org_path, issuer }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}{}", self.base, self.org_path, path)
    }
}

pub struct Provider {
    /// Replaced whole when an administrator changes a user's roles; read it through
    /// [`Provider::directory`].
    pub directory: RwLock<Arc<Directory>>,
    pub keys: SigningKeys,
    pub store: Store,
    pub clock: Clock,
    pub urls: Urls,
    pub secure_cookies: bool,
    pub back_channel: reqwest::Client,
    /// Slows down repeated wrong passwords (sign-in form and password grant).
    pub throttle: PasswordThrottle,
}

/// Parameters of a request, with duplicates refused (RFC 6749 §3.1, §3.2).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(encoded: &str) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(encoded)
            .map_err(|_| OAuthError::invalid_request("the parameters are not valid form encoding"))?;
        let mut map = HashMap::new();
        for (name, value) in pairs {
            if map.insert(name.clone(), value).is_some() {
                return Err(OAuthError::invalid_request(format!("parameter `{name}` is repeated")));
            }
        }
        Ok(Self(map))
    }

    /// A parameter; empty values count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }
}

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
        interaction: Interaction,
        message: String,
    },
    /// Signed in: set the session cookie and redirect.
    SignedIn { session_cookie: String, redirect: String },
}

/// Why a username and password were not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("Wrong username or password. Please try again.")]
    Wrong,
    #[error("Too many wrong passwords for this username. Try again in {0} s.")]
    Wait(i64),
}

/// What logout led to.
pub enum LogoutOutcome {
    Redirect(String),
    SignedOut,
}

/// Client credentials as presented at an endpoint.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub via_basic: bool,
}

#[derive(Serialize)]
pub struct Introspection(Map<String, Value>);

impl Provider {
    // ----- directory --------------------------------------------------------------------------

    /// The directory as it stands. A request works on one snapshot throughout, so a change lands
    /// between requests, never halfway through one.
    pub fn directory(&self) -> Arc<Directory> {
        // Writers only ever store a whole new directory, so a poisoned lock still holds a sound one.
        let current = self.directory.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&*current)
    }

    /// Replaces `username`'s roles, as an administrator does in Asgardeo's console. The next
    /// authorization (a silent one too) grants by the new roles, and the next refresh drops
    /// scopes the user no longer has; tokens already issued keep theirs until they expire.
    pub fn set_user_roles(&self, username: &str, roles: Vec<String>) -> Result<(), RoleChangeError> {
        // Held while the new directory is made, so that two changes at once cannot lose one.
        let mut directory = self.directory.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let changed = directory.with_user_roles(username, roles.clone())?;
        *directory = Arc::new(changed);
        drop(directory);
        tracing::info!(username = %username, roles = ?roles, "user's roles changed");
        Ok(())
    }

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

    /// The user of `directory`, if `password` is theirs and they may try now (see `throttle.rs`).
    fn check_password<'a>(
        &self,
        directory: &'a Directory,
        username: &str,
        password: &str,
    ) -> Result<&'a User, PasswordRefusal> {
        let user = directory.user_by_username(username).ok_or(PasswordRefusal::Wrong)?;
        let now = self.clock.now();
        self.throttle
            .begin(&user.username, now)
            .map_err(PasswordRefusal::Wait)?;
        if !user.password.verify(password) {
            return Err(PasswordRefusal::Wrong);
        }
        self.throttle.succeeded(&user.username);
        Ok(user)
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
                    interaction,
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

    // ----- introspection, revocation, userinfo ------------------------------------------------

    /// RFC 7662. Unknown, expired and revoked tokens are `active: false`.
    pub fn introspect(&self, token: &str) -> Introspection {
        let now = self.clock.now();
        let key = digest_of(token);
        let tables = self.store.lock();
        let mut body = Map::new();
        if let Some(record) = tables
            .access_tokens
            .get(&key)
            .filter(|r| !r.revoked && r.expires_at > now)
        {
            body.insert("active".into(), json!(true));
            body.insert("token_type".into(), json!("Bearer"));
            body.insert("scope".into(), json!(record.scopes.join(" ")));
            body.insert("client_id".into(), json!(record.client_id));
            body.insert("aud".into(), json!(record.audience));
            body.insert("iat".into(), json!(record.issued_at));
            body.insert("nbf".into(), json!(record.issued_at));
            body.insert("exp".into(), json!(record.expires_at));
            body.insert("jti".into(), json!(record.jti));
            body.insert("iss".into(), json!(self.urls.issuer));
            self.describe_subject(&mut body, &record.subject, &record.client_id);
        } else if let Some(record) = tables
            .refresh_tokens
            .get(&key)
            .filter(|r| !r.revoked && r.expires_at > now)
        {
            body.insert("active".into(), json!(true));
            body.insert("token_type".into(), json!("Refresh"));
            body.insert("scope".into(), json!(record.grant.scopes.join(" ")));
            body.insert("client_id".into(), json!(record.grant.client_id));
            body.insert("iat".into(), json!(record.issued_at));
            body.insert("exp".into(), json!(record.expires_at));
            body.insert("iss".into(), json!(self.urls.issuer));
            self.describe_subject(&mut body, &record.grant.subject, &record.grant.client_id);
        } else {
            body.insert("active".into(), json!(false));
        }
        Introspection(body)
    }

    fn describe_subject(&self, body: &mut Map<String, Value>, subject: &Subject, client_id: &str) {
        match subject {
            Subject::User(sub) => {
                body.insert("sub".into(), json!(sub.to_string()));
                if let Some(user) = self.directory().user_by_sub(sub) {
                    body.insert("username".into(), json!(user.username));
                }
            }
            Subject::Application => {
                body.insert("sub".into(), json!(client_id));
            }
        }
    }

    /// RFC 7009: revoking a refresh token revokes its whole grant; an access token only itself.
    /// Tokens of other clients and unknown tokens are ignored (the answer is 200 regardless).
    pub fn revoke(&self, app: &Application, token: &str) {
        let key = digest_of(token);
        let mut tables = self.store.lock();
        let grant_id = tables
            .refresh_tokens
            .get(&key)
            .filter(|r| r.grant.client_id == app.client_id)
            .map(|r| r.grant.id.clone());
        if let Some(grant_id) = grant_id {
            tables.revoke_grant(&grant_id);
        } else if let Some(record) = tables.access_tokens.get_mut(&key)
            && record.client_id == app.client_id
        {
            record.revoked = true;
        }
    }

    pub fn userinfo(&self, access_token: &str) -> Result<Value, OAuthError> {
        let now = self.clock.now();
        let record = self
            .store
            .lock()
            .access_tokens
            .get(&digest_of(access_token))
            .filter(|r| !r.revoked && r.expires_at > now)
            .cloned()
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidToken, "the access token is not active"))?;
        let Subject::User(sub) = record.subject else {
            return Err(OAuthError::new(ErrorCode::InvalidToken, "the access token has no user"));
        };
        if !record.scopes.iter().any(|s| s == "openid") {
            return Err(OAuthError::new(
                ErrorCode::InvalidToken,
                "the access token lacks the openid scope",
            ));
        }
        let directory = self.directory();
        let user: &User = directory
            .user_by_sub(&sub)
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidToken, "the user no longer exists"))?;
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(sub.to_string()));
        claims.extend(user_claims(user, &record.scopes));
        Ok(Value::Object(claims))
    }

    // ----- logout -----------------------------------------------------------------------------

    pub fn logout(&self, params: &Params, session_cookie: Option<&str>) -> Result<LogoutOutcome, String> {
        let hint = match params.get("id_token_hint") {
            Some(token) => {
                let mut validation = Validation::new(Algorithm::RS256);
                validation.set_issuer(&[&self.urls.issuer]);
                // The hint may have expired: it identifies, it does not authorize.
                validation.validate_exp = false;
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["iss", "sub", "aud"]);
                let data = self
                    .keys
                    .verify::<IdTokenHint>(token, &validation)
                    .ok_or("The id_token_hint is not an ID token issued by this provider.")?;
                Some(data.claims)
            }
            None => None,
        };
        let client_id = match (params.get("client_id"), &hint) {
            (Some(client_id), Some(hint)) if !hint.aud.contains(client_id) => {
                return Err("client_id does not match the id_token_hint.".into());
            }
            (Some(client_id), _) => Some(client_id.to_string()),
            (None, Some(hint)) => match &hint.aud {
                tokens::Audience::One(aud) => Some(aud.clone()),
                tokens::Audience::Many(list) => list.first().cloned(),
            },
            (None, None) => None,
        };
        let directory = self.directory();
        let redirect = match params.get("post_logout_redirect_uri") {
            Some(uri) => {
                let app = client_id
                    .as_deref()
                    .and_then(|id| directory.application(id))
                    .ok_or("post_logout_redirect_uri needs id_token_hint or client_id to identify the application.")?;
                if !app.post_logout_redirect_uris.iter().any(|registered| registered == uri) {
                    return Err("The post_logout_redirect_uri is not registered for this application.".into());
                }
                let Ok(mut url) = url::Url::parse(uri) else {
                    return Err("The post_logout_redirect_uri is not a URL.".into());
                };
                if let Some(state) = params.get("state") {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }
            None => None,
        };

        let ended = {
            let mut tables = self.store.lock();
            let cookie_key = session_cookie.map(digest_of);
            let hinted_sid = hint.as_ref().and_then(|h| h.sid.clone());
            let keys: Vec<String> = tables
                .sessions
                .iter()
                .filter(|(key, session)| Some(*key) == cookie_key.as_ref() || Some(&session.sid) == hinted_sid.as_ref())
                .map(|(key, _)| key.clone())
                .collect();
            keys.iter()
                .filter_map(|key| tables.sessions.remove(key))
                .collect::<Vec<_>>()
        };
        for session in &ended {
            tracing::info!(sid = %session.sid, "IdP session ended");
            self.send_back_channel_logout(session);
        }
        Ok(match redirect {
            Some(url) => LogoutOutcome::Redirect(url),
            None => LogoutOutcome::SignedOut,
        })
    }

    /// OIDC Back-Channel Logout 1.0: a logout token to every application of the session that
    /// registered a back-channel URL. Sent in the background; failures are logged.
    fn send_back_channel_logout(&self, session: &IdpSession) {
        let directory = self.directory();
        for client_id in &session.clients {
            let Some(app) = directory.application(client_id) else {
                continue;
            };
            let Some(url) = app.back_channel_logout_url.clone() else {
                continue;
            };
            let now = self.clock.now();
            let claims = json!({
                "iss": self.urls.issuer,
                "aud": client_id,
                "iat": now,
                "exp": now + 120,
                "jti": uuid::Uuid::new_v4().to_string(),
                "sub": session.user_sub.to_string(),
                "sid": session.sid,
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            });
            let token = match self.keys.sign("logout+jwt", &claims) {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(%error, "could not sign a logout token");
                    continue;
                }
            };
            let client = self.back_channel.clone();
            tokio::spawn(async move {
                let result = client.post(url.clone()).form(&[("logout_token", token)]).send().await;
                match result {
                    Ok(response) if response.status().is_success() => {
                        tracing::info!(%url, "back-channel logout delivered");
                    }
                    Ok(response) => {
                        tracing::warn!(%url, status = %response.status(), "back-channel logout refused")
                    }
                    Err(error) => tracing::warn!(%url, %error, "back-channel logout failed"),
                }
            });
        }
    }
}

/// OIDC Session Management's `session_state`, as Asgardeo sends it.
fn session_state(client_id: &str, sid: &str) -> String {
    let salt = random_token();
    let hash = digest::digest(&digest::SHA256, format!("{client_id} {sid} {salt}").as_bytes());
    format!("{}.{salt}", URL_SAFE_NO_PAD.encode(hash))
}

/// RFC 7636 §4.1: unreserved characters, within the length bounds.
fn is_pkce_value(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Constant-time equality for secrets.
pub fn equal(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}
