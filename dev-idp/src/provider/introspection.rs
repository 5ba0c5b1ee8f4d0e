//! What the provider tells about a token it issued: introspection (RFC 7662), revocation (RFC 7009) and userinfo.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::shared::Provider;
use super::tokens::user_claims;
use crate::directory::{Application, User};
use crate::error::{ErrorCode, OAuthError};
use crate::store::{Subject, digest_of};

#[derive(Serialize)]
pub struct Introspection(Map<String, Value>);

impl Provider {
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
}
