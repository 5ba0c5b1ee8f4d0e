//! Access-token validation for the REST API: JWTs verified locally against the IdP's JWKS
//! (algorithm pinned to RS256, issuer exact, audience from config, `typ` must be `at+jwt` when
//! present), or via the IdP's introspection endpoint (`introspection.rs`). Verified tokens are
//! cached until they expire so repeated requests skip the signature work; a cached verification
//! is dropped when the key that made it leaves the IdP's JWKS.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::access::Viewer;
use crate::model::display_name;
use crate::server::auth::introspection::Introspector;
use crate::server::auth::jwks::JwksCache;
use crate::server::auth::oidc::Oidc;
use crate::server::auth::token::{Audience, ScopeClaim, TokenError, for_another_audience};
use crate::server::ops::config::TokenValidation;
use crate::server::ops::live::LiveConfig;
use crate::server::support::bounded_map::{BoundedMap, Replacement};

/// Longer than any real access token; anything bigger is refused before parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
const CACHE_CAPACITY: usize = 10_000;
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Deserialize)]
struct AccessClaims {
    sub: String,
    client_id: Option<String>,
    azp: Option<String>,
    exp: i64,
    scope: Option<ScopeClaim>,
    username: Option<String>,
    name: Option<String>,
    /// When the person authenticated (RFC 9470 §6.1), for actions that need it recent.
    auth_time: Option<i64>,
    /// Present only in ID tokens: their presence means someone sent the wrong token.
    nonce: Option<serde_json::Value>,
    at_hash: Option<serde_json::Value>,
}

/// A verified token remembered: who, until when, and the key set it was verified under.
struct Verified {
    viewer: Viewer,
    until: i64,
    keys_generation: u64,
    /// The configuration it was judged under (audiences, validation mode).
    config_generation: u64,
}

pub struct TokenVerifier {
    issuer: String,
    /// Accepted audiences and the validation mode follow config.json's changes.
    live: Arc<LiveConfig>,
    jwks: Arc<JwksCache>,
    oidc: Arc<Oidc>,
    introspector: Introspector,
    /// When full, the unexpired verifications stay; every insert makes room, even one that
    /// replaces a verification that went stale.
    cache: Mutex<BoundedMap<[u8; 32], Verified>>,
}

impl TokenVerifier {
    pub fn new(live: Arc<LiveConfig>, jwks: Arc<JwksCache>, oidc: Arc<Oidc>) -> Self {
        let issuer = live.load().issuer.clone();
        Self {
            introspector: Introspector::new(issuer.clone(), oidc.clone()),
            issuer,
            live,
            jwks,
            oidc,
            cache: Mutex::new(BoundedMap::new(CACHE_CAPACITY, Replacement::MakesRoom)),
        }
    }

    pub fn introspector(&self) -> &Introspector {
        &self.introspector
    }

    /// The caller behind `token`, sent from `client`.
    pub async fn verify(&self, token: &str, client: IpAddr, now: i64) -> Result<Viewer, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid("the access token is malformed".into()));
        }
        let key: [u8; 32] = {
            let hash = digest::digest(&digest::SHA256, token.as_bytes());
            let mut key = [0u8; 32];
            key.copy_from_slice(hash.as_ref());
            key
        };
        // A key that left the JWKS takes the verifications it made with it.
        let keys_generation = self.jwks.generation();
        let config_generation = self.live.generation();
        if let Some(verified) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
            && verified.until > now
            && verified.keys_generation == keys_generation
            && verified.config_generation == config_generation
        {
            return Ok(verified.viewer.clone());
        }
        // The keys come with discovery: without it no token can be judged (503, not 401).
        if self.oidc.discovered().await.is_err() {
            return Err(TokenError::Unavailable);
        }
        let config = self.live.load_full();
        let (viewer, until) = match config.token_validation {
            TokenValidation::Jwks => self.verify_jwt_for(token, &config.audiences).await?,
            TokenValidation::Introspection => {
                self.introspector
                    .judge(token, key, client, now, (&config.audiences, config_generation))
                    .await?
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let verified = Verified {
            viewer: viewer.clone(),
            until,
            keys_generation,
            config_generation,
        };
        cache.insert(key, verified, |_, cached| cached.until > now);
        Ok(viewer)
    }

    /// Verifies a JWT access token; returns the caller and when the token expires.
    pub async fn verify_jwt(&self, token: &str) -> Result<(Viewer, i64), TokenError> {
        let audiences = self.live.load().audiences.clone();
        self.verify_jwt_for(token, &audiences).await
    }

    async fn verify_jwt_for(&self, token: &str, audiences: &[String]) -> Result<(Viewer, i64), TokenError> {
        let invalid = |message: &str| TokenError::Invalid(message.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("the access token is not a valid JWT"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("the access token's algorithm is not accepted"));
        }
        if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() || header.x5c.is_some() {
            return Err(invalid(
                "the access token names its own key; only the IdP's JWKS is trusted",
            ));
        }
        if let Some(typ) = &header.typ {
            let typ = typ.to_ascii_lowercase();
            if typ != "at+jwt" && typ != "application/at+jwt" {
                return Err(invalid("the token is not an access token (typ)"));
            }
        }
        let key = self
            .jwks
            .decoding_key(header.kid.as_deref())
            .await
            .ok_or_else(|| invalid("the access token is signed with an unknown key"))?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            let reason = match error.kind() {
                ErrorKind::ExpiredSignature => "the access token has expired",
                ErrorKind::ImmatureSignature => "the access token is not valid yet",
                ErrorKind::InvalidIssuer => "the access token comes from another issuer",
                // The signature was verified first: the audience is the provider's word.
                ErrorKind::InvalidAudience => return TokenError::Invalid(another_audience(token, audiences)),
                ErrorKind::InvalidSignature => "the access token's signature is invalid",
                ErrorKind::MissingRequiredClaim(_) => "the access token lacks a required claim",
                _ => "the access token is invalid",
            };
            TokenError::Invalid(reason.into())
        })?;
        let claims = data.claims;
        if claims.nonce.is_some() || claims.at_hash.is_some() {
            return Err(invalid("an ID token is not an access token"));
        }
        let name = [claims.name, claims.username]
            .into_iter()
            .flatten()
            .find_map(|candidate| display_name(&candidate))
            .unwrap_or_else(|| claims.sub.clone());
        let viewer = Viewer {
            sub: claims.sub,
            name,
            scopes: claims.scope.map(ScopeClaim::into_list).unwrap_or_default(),
            client_id: claims.client_id.or(claims.azp),
            auth_time: claims.auth_time,
        };
        Ok((viewer, claims.exp))
    }
}

/// "For another audience", naming the token's `aud` (read once the signature is verified).
fn another_audience(token: &str, accepted: &[String]) -> String {
    #[derive(Deserialize)]
    struct Claims {
        aud: Option<Audience>,
    }
    let aud = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .ok()
        .and_then(|data| data.claims.aud)
        .map(Audience::into_list)
        .unwrap_or_default();
    for_another_audience(&aud, accepted)
}
