//! Token contents: JWT access tokens shaped like Asgardeo's, ID tokens, logout tokens.

use std::collections::BTreeSet;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::shared::Provider;
use crate::directory::{AccessTokenFormat, Application, Directory, User};
use crate::error::OAuthError;
use crate::store::{AccessRecord, Grant, RefreshRecord, Subject, digest_of, random_token};

/// OIDC scopes (and Asgardeo's `internal_login`) that are not API scopes: they pass through
/// for users without any role check.
pub const PASS_THROUGH_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "groups",
    "roles",
    "internal_login",
];

/// Asgardeo's RBAC: requested ∩ authorized for the app ∩ (for users) scopes of the user's roles.
/// Anything else is silently dropped. For applications (client_credentials) only API scopes.
pub fn granted_scopes(
    directory: &Directory,
    app: &Application,
    user: Option<&User>,
    requested: &[String],
) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested {
        if granted.contains(scope) {
            continue;
        }
        let allowed = if PASS_THROUGH_SCOPES.contains(&scope.as_str()) {
            user.is_some()
        } else if let Some(resource) = app.authorized_scopes.get(scope) {
            let rbac = directory
                .api_resources
                .iter()
                .find(|r| &r.identifier == resource)
                .is_none_or(|r| r.requires_authorization);
            match user {
                Some(user) if rbac => user.role_scopes.contains(scope),
                _ => true,
            }
        } else {
            false
        };
        if allowed {
            granted.push(scope.clone());
        }
    }
    granted
}

pub fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn from_list(mut list: Vec<String>) -> Self {
        if list.len() == 1 {
            Self::One(list.remove(0))
        } else {
            Self::Many(list)
        }
    }

    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(one) => one == value,
            Self::Many(many) => many.iter().any(|a| a == value),
        }
    }
}

/// Claims of a JWT access token, as Asgardeo issues them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub aut: String,
    pub aud: Audience,
    pub azp: String,
    pub client_id: String,
    pub scope: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub org_id: String,
    pub org_name: String,
    /// When the user authenticated (RFC 9470 §6.1), for APIs that want it recent. Beyond what
    /// Asgardeo's access tokens carry; absent for an application's own token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// The fields of an ID token this provider reads back (id_token_hint at logout; its `sub` is
/// required by the validation, not read).
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenHint {
    pub aud: Audience,
    pub sid: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// What to do about the refresh token when issuing.
pub enum RefreshIssue {
    None,
    New,
    /// Rotation is off: hand the same refresh token back.
    Keep(String),
}

/// `at_hash`: the left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6).
pub fn at_hash(access_token: &str) -> String {
    let hash = digest::digest(&digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
}

impl Provider {
    pub fn subject_id(&self, grant: &Grant) -> String {
        match &grant.subject {
            Subject::User(sub) => sub.to_string(),
            Subject::Application => grant.client_id.clone(),
        }
    }

    /// Issues an access token (and ID / refresh tokens where the grant allows) for `grant`.
    pub fn issue_tokens(
        &self,
        app: &Application,
        grant: &Grant,
        refresh: RefreshIssue,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.clock.now();
        let lifetimes = &app.lifetimes;
        let directory = self.directory();
        let user = match &grant.subject {
            Subject::User(sub) => directory.user_by_sub(sub),
            Subject::Application => None,
        };

        let resources: BTreeSet<&String> = grant
            .scopes
            .iter()
            .filter_map(|scope| app.authorized_scopes.get(scope))
            .collect();
        let mut audience = vec![app.client_id.clone()];
        audience.extend(resources.into_iter().cloned());

        let jti = uuid::Uuid::new_v4().to_string();
        let scope = grant.scopes.join(" ");
        let expires_at = now + lifetimes.access_token_seconds;
        let access_token = match app.access_token_format {
            AccessTokenFormat::Jwt => {
                let claims = AccessClaims {
                    sub: self.subject_id(grant),
                    aut: if user.is_some() {
                        "APPLICATION_USER"
                    } else {
                        "APPLICATION"
                    }
                    .into(),
                    aud: Audience::from_list(audience.clone()),
                    azp: app.client_id.clone(),
                    client_id: app.client_id.clone(),
                    scope: scope.clone(),
                    iss: self.urls.issuer.clone(),
                    iat: now,
                    nbf: now,
                    exp: expires_at,
                    jti: jti.clone(),
                    org_id: directory.organization.id.to_string(),
                    org_name: directory.organization.name.clone(),
                    auth_time: user.is_some().then(|| grant.auth_time.unwrap_or(now)),
                };
                self.keys
                    .sign("at+jwt", &claims)
                    .map_err(|e| OAuthError::server_error(e.to_string()))?
            }
            AccessTokenFormat::Opaque => uuid::Uuid::new_v4().to_string(),
        };

        let id_token = match user {
            Some(user) if grant.scopes.iter().any(|s| s == "openid") => {
                Some(self.id_token(app, grant, user, &access_token, now)?)
            }
            _ => None,
        };

        let refresh_token = match refresh {
            RefreshIssue::None => None,
            RefreshIssue::Keep(token) => Some(token),
            RefreshIssue::New => Some(random_token()),
        };

        let mut tables = self.store.lock();
        tables.prune(now);
        tables.make_room(now);
        tables.access_tokens.insert(
            digest_of(&access_token),
            AccessRecord {
                grant_id: grant.id.clone(),
                client_id: app.client_id.clone(),
                subject: grant.subject.clone(),
                scopes: grant.scopes.clone(),
                audience,
                jti,
                issued_at: now,
                expires_at,
                revoked: false,
            },
        );
        if let Some(token) = &refresh_token {
            let key = digest_of(token);
            tables.refresh_tokens.entry(key).or_insert_with(|| RefreshRecord {
                grant: grant.clone(),
                issued_at: now,
                expires_at: now + lifetimes.refresh_token_seconds,
                revoked: false,
            });
        }
        drop(tables);

        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetimes.access_token_seconds,
            refresh_token,
            id_token,
            scope,
        })
    }

    fn id_token(
        &self,
        app: &Application,
        grant: &Grant,
        user: &User,
        access_token: &str,
        now: i64,
    ) -> Result<String, OAuthError> {
        let directory = self.directory();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.urls.issuer));
        claims.insert("sub".into(), json!(user.sub.to_string()));
        claims.insert("aud".into(), json!(app.client_id));
        claims.insert("azp".into(), json!(app.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + app.lifetimes.id_token_seconds));
        claims.insert("auth_time".into(), json!(grant.auth_time.unwrap_or(now)));
        claims.insert("at_hash".into(), json!(at_hash(access_token)));
        claims.insert("amr".into(), json!(["BasicAuthenticator"]));
        claims.insert("org_id".into(), json!(directory.organization.id.to_string()));
        claims.insert("org_name".into(), json!(directory.organization.name));
        if let Some(nonce) = &grant.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(sid) = &grant.sid {
            claims.insert("sid".into(), json!(sid));
        }
        claims.extend(user_claims(user, &grant.scopes));
        self.keys
            .sign("JWT", &Value::Object(claims))
            .map_err(|e| OAuthError::server_error(e.to_string()))
    }
}

/// Profile claims released by scope (ID token and userinfo).
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let has = |name: &str| scopes.iter().any(|s| s == name);
    let mut claims = Map::new();
    if has("profile") {
        claims.insert("given_name".into(), json!(user.given_name));
        claims.insert("family_name".into(), json!(user.family_name));
        claims.insert("name".into(), json!(user.display_name()));
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert("username".into(), json!(user.username));
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(true));
    }
    if has("groups") {
        claims.insert("groups".into(), json!(user.groups));
    }
    if has("roles") {
        claims.insert("roles".into(), json!(user.roles));
    }
    claims
}
