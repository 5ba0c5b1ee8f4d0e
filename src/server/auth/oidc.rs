//! The relying-party side of OpenID Connect, on openidconnect: discovery (Asgardeo's issuer is
//! its token endpoint URL, discovery lives under it), the authorization code flow with PKCE
//! S256, state and nonce, ID token validation against the cached JWKS, refresh, revocation and
//! RP-initiated logout.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGrantType, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EndSessionUrl, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::access::AUTH_TIME_LEEWAY_SECONDS;
use crate::model::display_name;
use crate::server::auth::jwks::JwksCache;
use crate::server::auth::provider_client::{BoundedClient, CallError, client_secret_basic, read_limited};
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics::{self, timed};
use crate::server::storage::sign_ins::Tokens;
use crate::server::support::network::is_secure_or_loopback;

/// Discovery is retried at most this often while the IdP is unreachable.
const DISCOVERY_RETRY: Duration = Duration::from_secs(2);
/// The largest answer read from the token and introspection endpoints, and discovery.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// Metadata beyond what openidconnect models: logout, revocation, introspection, RFC 9207.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    pub end_session_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointNotSet>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OidcError {
    /// The IdP cannot be reached or is misconfigured: 503.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The IdP answered with something unusable (500, HTML, oversized): 502.
    #[error("the identity provider gave an invalid answer: {0}")]
    BadResponse(String),
    /// The IdP refused, or what it sent failed validation: 400.
    #[error("sign-in was refused: {0}")]
    Rejected(String),
    /// The grant (authorization code or refresh token) is no longer good (`invalid_grant`).
    #[error("the identity provider no longer accepts this grant")]
    InvalidGrant,
    /// The ID token names a signing key the cached JWKS does not have (yet).
    #[error("the ID token was signed with an unknown key")]
    UnknownKey,
}

/// What we discovered about the IdP.
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub extra: ExtraMetadata,
    /// Where forms may lead (CSP `form-action`): this app, plus the provider's origins a sign-in
    /// or sign-out form redirects to, e.g. `'self' https://api.asgardeo.io`.
    pub form_action: String,
}

/// Secrets of a sign-in in progress, kept sealed in the browser's pending sign-in cookie until
/// the callback.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSecrets {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// How the provider is asked to treat a sign-in (OIDC Core's `prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prompt {
    /// `prompt=none`: only if the provider's session allows it without any interaction (a
    /// silent re-authorization that picks up changed roles).
    None,
    /// `prompt=login`: ask for credentials even if the provider's session is live (sign in as
    /// someone else).
    Login,
}

/// What a sign-in asks of the provider beyond who the person is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asking {
    pub prompt: Option<Prompt>,
    /// A step-up: an authentication no older than this many seconds (OIDC Core's `max_age`,
    /// which makes `auth_time` required in the ID token). Sent with `prompt=login`, as
    /// providers differ in honouring `max_age` alone.
    pub max_age: Option<u64>,
}

/// The result of a successful code exchange.
#[derive(Debug)]
pub struct SignedIn {
    pub sub: String,
    pub sid: Option<String>,
    pub name: String,
    /// When the person authenticated at the provider (the ID token's `auth_time`).
    pub auth_time: Option<i64>,
    pub tokens: Tokens,
    /// Scopes from the token response; `None` when the IdP did not say.
    pub scopes: Option<Vec<String>>,
    pub expires_in: Option<Duration>,
}

#[derive(Debug)]
pub struct Refreshed {
    pub tokens: Tokens,
    pub scopes: Option<Vec<String>>,
    pub expires_in: Option<Duration>,
}

pub struct Oidc {
    issuer: String,
    client_id: String,
    client_secret: ClientSecret,
    redirect_uri: String,
    post_logout_redirect_uri: String,
    /// For the scopes sign-in requests, which follow config.json's changes.
    live: Arc<LiveConfig>,
    jwks_override: Option<String>,
    allow_insecure: bool,
    form_action_origins: Vec<String>,
    http: reqwest::Client,
    /// The same client for openidconnect's token requests, with answers bounded in size.
    token_http: BoundedClient,
    jwks: Arc<JwksCache>,
    discovered: RwLock<Option<Arc<Discovered>>>,
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
}

impl Oidc {
    pub fn new(live: Arc<LiveConfig>, http: reqwest::Client, jwks: Arc<JwksCache>) -> Self {
        let config = live.load_full();
        Self {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            client_secret: ClientSecret::new(config.client_secret.expose().to_string()),
            redirect_uri: config.redirect_uri(),
            post_logout_redirect_uri: config.post_logout_redirect_uri(),
            live,
            jwks_override: config.jwks_url.clone(),
            allow_insecure: config.allow_insecure_provider,
            form_action_origins: config.form_action_origins.clone(),
            token_http: BoundedClient::new(http.clone(), MAX_ANSWER_BYTES),
            http,
            jwks,
            discovered: RwLock::new(None),
            last_attempt: tokio::sync::Mutex::new(None),
        }
    }

    pub fn is_discovered(&self) -> bool {
        self.discovered.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// The CSP `form-action` sources, once the provider is known (`'self'` until then).
    pub fn form_action(&self) -> Option<String> {
        let found = self.discovered.read().unwrap_or_else(|p| p.into_inner());
        found.as_ref().map(|found| found.form_action.clone())
    }

    /// The IdP's metadata, discovered on first use and kept; retried while it fails.
    pub async fn discovered(&self) -> Result<Arc<Discovered>, OidcError> {
        if let Some(found) = self.discovered.read().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(found);
        }
        let mut last = self.last_attempt.lock().await;
        if let Some(found) = self.discovered.read().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(found);
        }
        if last.is_some_and(|at| at.elapsed() < DISCOVERY_RETRY) {
            return Err(OidcError::Unavailable("discovery failed moments ago".into()));
        }
        *last = Some(Instant::now());
        let found = Arc::new(timed("discovery", self.discover()).await.inspect_err(|error| {
            tracing::warn!(%error, issuer = %self.issuer, "OpenID Provider discovery failed");
        })?);
        tracing::info!(issuer = %found.issuer, "OpenID Provider discovered");
        *self.discovered.write().unwrap_or_else(|p| p.into_inner()) = Some(found.clone());
        Ok(found)
    }

    async fn discover(&self) -> Result<Discovered, OidcError> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| OidcError::Unavailable(e.to_string()))?;
        // Fetched here, not with openidconnect's `discover_async`: that also fetches the advertised
        // `jwks_uri` itself, while our keys may come from `JwksUrl` and are kept by the JwksCache.
        // `{issuer}/.well-known/openid-configuration`: with Asgardeo's issuer this is
        // `{org}/oauth2/token/.well-known/openid-configuration`, exactly where it serves it.
        let url = issuer
            .join(".well-known/openid-configuration")
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let response = self
            .http
            .get(url.as_str())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery request failed: {e}")))?;
        if !response.status().is_success() {
            return Err(OidcError::Unavailable(format!(
                "discovery answered {}",
                response.status()
            )));
        }
        let body = read_limited(response, MAX_DISCOVERY_BYTES)
            .await
            .map_err(OidcError::Unavailable)?;
        let metadata: Metadata = serde_json::from_slice(&body)
            .map_err(|e| OidcError::Unavailable(format!("discovery document is invalid: {e}")))?;
        if metadata.issuer().as_str() != self.issuer {
            return Err(OidcError::Unavailable(format!(
                "the discovered issuer `{}` differs from the configured `{}`",
                metadata.issuer().as_str(),
                self.issuer
            )));
        }
        let token_endpoint = metadata
            .token_endpoint()
            .ok_or_else(|| OidcError::Unavailable("discovery has no token_endpoint".into()))?
            .to_string();
        let jwks_uri = self
            .jwks_override
            .clone()
            .unwrap_or_else(|| metadata.jwks_uri().to_string());
        let extra = metadata.additional_metadata().clone();
        let authorization_endpoint = metadata.authorization_endpoint().to_string();
        let endpoints = [
            Some(&authorization_endpoint),
            Some(&token_endpoint),
            Some(&jwks_uri),
            extra.end_session_endpoint.as_ref(),
            extra.revocation_endpoint.as_ref(),
            extra.introspection_endpoint.as_ref(),
        ];
        for endpoint in endpoints.into_iter().flatten() {
            let url = url::Url::parse(endpoint)
                .map_err(|_| OidcError::Unavailable(format!("discovery names an invalid endpoint `{endpoint}`")))?;
            if !self.allow_insecure && !is_secure_or_loopback(&url) {
                return Err(OidcError::Unavailable(format!(
                    "discovery names the plain-http endpoint `{endpoint}` off this machine; refused \
                     (AuthorizationConfig.AllowInsecureProvider allows it, for development only)"
                )));
            }
        }
        let form_action = form_action_sources(
            [Some(&authorization_endpoint), extra.end_session_endpoint.as_ref()],
            &self.form_action_origins,
        );
        self.jwks.load(&jwks_uri).await.map_err(OidcError::Unavailable)?;
        Ok(Discovered {
            issuer: metadata.issuer().to_string(),
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            extra,
            form_action,
        })
    }

    fn client(&self, found: &Discovered) -> Result<Client, OidcError> {
        let bad = |e: openidconnect::url::ParseError| OidcError::Unavailable(e.to_string());
        Ok(CoreClient::new(
            ClientId::new(self.client_id.clone()),
            IssuerUrl::new(found.issuer.clone()).map_err(bad)?,
            self.jwks.keys().oidc.clone(),
        )
        .set_client_secret(self.client_secret.clone())
        .set_auth_uri(openidconnect::AuthUrl::new(found.authorization_endpoint.clone()).map_err(bad)?)
        .set_token_uri(openidconnect::TokenUrl::new(found.token_endpoint.clone()).map_err(bad)?)
        .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).map_err(bad)?))
    }

    /// Starts a sign-in: the authorize URL and the secrets to keep until the callback.
    pub async fn begin(&self, asking: Asking) -> Result<(String, PendingSecrets), OidcError> {
        let found = self.discovered().await?;
        let client = self.client(&found)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            // openidconnect adds `openid` itself.
            .add_scopes(
                self.live
                    .load()
                    .requested_scopes()
                    .into_iter()
                    .filter(|s| s != "openid")
                    .map(Scope::new),
            )
            .set_pkce_challenge(challenge);
        let prompt = match asking.max_age {
            Some(max_age) => {
                request = request.set_max_age(Duration::from_secs(max_age));
                Some(Prompt::Login)
            }
            None => asking.prompt,
        };
        if let Some(prompt) = prompt {
            request = request.add_prompt(match prompt {
                Prompt::None => CoreAuthPrompt::None,
                Prompt::Login => CoreAuthPrompt::Login,
            });
        }
        let (url, state, nonce) = request.url();
        Ok((
            url.to_string(),
            PendingSecrets {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Whether the IdP promised RFC 9207's `iss` on authorization responses.
    pub async fn sends_iss_parameter(&self) -> bool {
        self.discovered()
            .await
            .map(|found| found.extra.authorization_response_iss_parameter_supported)
            .unwrap_or(false)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Exchanges the code (client_secret_basic + PKCE verifier) and validates the ID token;
    /// with `max_age` (a step-up, at `now`), its `auth_time` must be given and that recent.
    pub async fn finish(
        &self,
        code: &str,
        pending: &PendingSecrets,
        (max_age, now): (Option<u64>, i64),
    ) -> Result<SignedIn, OidcError> {
        let found = self.discovered().await?;
        let client = self.client(&found)?;
        let exchange = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.token_http);
        let response = timed("token", exchange).await.map_err(token_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Rejected("the identity provider sent no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());

        let claims = match self.verify_id_token(id_token, &response, &nonce) {
            Err(OidcError::UnknownKey) => {
                // A key we have not seen: the IdP may have rotated. Fetch once (rate-limited).
                self.jwks.refetch_for_unknown_key().await;
                self.verify_id_token(id_token, &response, &nonce)?
            }
            other => other?,
        };
        check_auth_time(claims.auth_time, max_age, now)?;
        let tokens = Tokens {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            id_token: Some(id_token.to_string()),
        };
        Ok(SignedIn {
            sub: claims.sub,
            sid: claims.sid,
            name: claims.name,
            auth_time: claims.auth_time,
            tokens,
            scopes: response.scopes().map(|s| s.iter().map(|s| s.to_string()).collect()),
            expires_in: response.expires_in(),
        })
    }

    fn verify_id_token(
        &self,
        id_token: &CoreIdToken,
        response: &CoreTokenResponse,
        nonce: &Nonce,
    ) -> Result<IdClaims, OidcError> {
        let keys = self.jwks.keys();
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.client_id.clone()),
            IssuerUrl::new(self.issuer.clone()).map_err(|e| OidcError::Unavailable(e.to_string()))?,
            keys.oidc.clone(),
        )
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
        let claims = id_token.claims(&verifier, nonce).map_err(|error| match error {
            ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
                OidcError::UnknownKey
            }
            other => OidcError::Rejected(format!("the ID token is not valid: {other}")),
        })?;
        // OIDC Core §3.1.3.7: an `azp` must be us. (openidconnect checks it only with several
        // audiences.)
        if claims
            .authorized_party()
            .is_some_and(|azp| azp.as_str() != self.client_id)
        {
            return Err(OidcError::Rejected(
                "the ID token was issued to another client (azp)".into(),
            ));
        }
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| OidcError::Rejected(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| OidcError::Rejected(e.to_string()))?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| OidcError::Rejected(e.to_string()))?;
            if actual != *expected {
                return Err(OidcError::Rejected(
                    "the ID token's at_hash does not match the access token".into(),
                ));
            }
        }
        // The first claim that gives a name fit to show (see `display_name`).
        let full_name = || {
            let given = claims.given_name().and_then(|n| n.get(None)).map(|n| n.to_string());
            let family = claims.family_name().and_then(|n| n.get(None)).map(|n| n.to_string());
            match (given, family) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (Some(g), None) => Some(g),
                (None, Some(f)) => Some(f),
                (None, None) => None,
            }
        };
        let name = [
            claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
            full_name(),
            claims.preferred_username().map(|u| u.to_string()),
            claims.email().map(|e| e.to_string()),
        ]
        .into_iter()
        .flatten()
        .find_map(|candidate| display_name(&candidate))
        .unwrap_or_else(|| claims.subject().to_string());
        // `sid` is not modelled by openidconnect's core claims; the signature and every
        // standard claim were verified just above, so reading one more claim is safe.
        let sid = jsonwebtoken::dangerous::insecure_decode::<SidClaim>(id_token.to_string())
            .ok()
            .and_then(|data| data.claims.sid);
        Ok(IdClaims {
            sub: claims.subject().to_string(),
            sid,
            name,
            auth_time: claims.auth_time().map(|at| at.timestamp()),
        })
    }

    /// Redeems the refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Refreshed, OidcError> {
        let found = self.discovered().await?;
        let client = self.client(&found)?;
        let grant = RefreshToken::new(refresh_token.to_string());
        let exchange = client.exchange_refresh_token(&grant).request_async(&self.token_http);
        let response = timed("refresh", exchange).await.map_err(token_error)?;
        Ok(Refreshed {
            tokens: Tokens {
                access_token: response.access_token().secret().clone(),
                refresh_token: Some(
                    response
                        .refresh_token()
                        .map(|t| t.secret().clone())
                        .unwrap_or_else(|| refresh_token.to_string()),
                ),
                id_token: response.id_token().map(|t| t.to_string()),
            },
            scopes: response.scopes().map(|s| s.iter().map(|s| s.to_string()).collect()),
            expires_in: response.expires_in(),
        })
    }

    /// Revokes a refresh token (RFC 7009), when the IdP has a revocation endpoint. Best effort:
    /// signing out must not depend on the IdP being up.
    pub async fn revoke(&self, refresh_token: &str) {
        let Ok(found) = self.discovered().await else { return };
        let Some(endpoint) = found.extra.revocation_endpoint.clone() else {
            return;
        };
        let started = Instant::now();
        // Not openidconnect's `revoke_token`: it refuses any endpoint that is not https, and
        // discovery allows plain http on loopback (the dev IdP) and with AllowInsecureProvider.
        let response = self
            .client_authenticated_post(
                &endpoint,
                &[("token", refresh_token), ("token_type_hint", "refresh_token")],
            )
            .await;
        let revoked = response.as_ref().is_ok_and(|response| response.status().is_success());
        metrics::provider_call("revoke", started, revoked);
        match response {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(status = %response.status(), "refresh token revocation refused"),
            Err(error) => tracing::warn!(%error, "refresh token revocation failed"),
        }
    }

    /// A form POST with client_secret_basic (id and secret form-encoded, RFC 6749 §2.3.1).
    async fn client_authenticated_post(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, reqwest::Error> {
        client_secret_basic(self.http.post(url), &self.client_id, self.client_secret.secret())
            .form(form)
            .send()
            .await
    }

    /// Where to send the browser to end the IdP session, if the IdP supports RP-initiated logout.
    pub async fn end_session_url(&self, id_token: Option<&str>) -> Option<String> {
        let found = self.discovered().await.ok()?;
        let endpoint = EndSessionUrl::new(found.extra.end_session_endpoint.clone()?).ok()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.client_id.clone()))
            .set_state(CsrfToken::new_random());
        if let Ok(uri) = PostLogoutRedirectUrl::new(self.post_logout_redirect_uri.clone()) {
            request = request.set_post_logout_redirect_uri(uri);
        }
        if let Some(token) = id_token.and_then(|t| t.parse::<CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url().to_string())
    }

    /// RFC 7662 introspection with client_secret_basic. Returns the raw JSON answer.
    pub async fn introspect(&self, token: &str) -> Result<Vec<u8>, OidcError> {
        timed("introspect", self.introspect_now(token)).await
    }

    async fn introspect_now(&self, token: &str) -> Result<Vec<u8>, OidcError> {
        let found = self.discovered().await?;
        let endpoint = found
            .extra
            .introspection_endpoint
            .clone()
            .ok_or_else(|| OidcError::Unavailable("the identity provider has no introspection endpoint".into()))?;
        // Not openidconnect's `introspect`: introspection.rs judges the raw answer, parsing `scope`
        // as JWT access tokens' (a string or a list); openidconnect's answer takes only a string.
        let response = self
            .client_authenticated_post(&endpoint, &[("token", token), ("token_type_hint", "access_token")])
            .await
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OidcError::BadResponse(format!(
                "introspection answered {}",
                response.status()
            )));
        }
        read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(OidcError::BadResponse)
    }
}

/// The CSP `form-action` sources: this app, the origins of the provider's sign-in and sign-out
/// endpoints (the sign-in and sign-out forms are answered with redirects there, and browsers
/// check every hop of a form's redirects), Asgardeo's sign-in page when the provider is
/// Asgardeo (its authorize endpoint redirects to `accounts.asgardeo.io`), and the configured
/// `FormActionOrigins`.
fn form_action_sources(endpoints: [Option<&String>; 2], configured: &[String]) -> String {
    let mut origins = vec!["'self'".to_string()];
    for url in endpoints
        .into_iter()
        .flatten()
        .filter_map(|endpoint| url::Url::parse(endpoint).ok())
    {
        origins.push(url.origin().ascii_serialization());
        if url
            .host_str()
            .is_some_and(|host| host == "asgardeo.io" || host.ends_with(".asgardeo.io"))
        {
            origins.push("https://accounts.asgardeo.io".into());
        }
    }
    origins.extend(configured.iter().cloned());
    let mut unique: Vec<String> = Vec::new();
    for origin in origins {
        if !unique.contains(&origin) {
            unique.push(origin);
        }
    }
    unique.join(" ")
}

struct IdClaims {
    sub: String,
    sid: Option<String>,
    name: String,
    auth_time: Option<i64>,
}

/// OIDC Core §3.1.3.7 (13): when `max_age` was asked for, `auth_time` must be there and no
/// older than it (a provider that ignored the request, or replayed an old authentication, is
/// refused), nor in the future.
fn check_auth_time(auth_time: Option<i64>, max_age: Option<u64>, now: i64) -> Result<(), OidcError> {
    let Some(max_age) = max_age else {
        return Ok(());
    };
    match auth_time {
        Some(at) if at > now + AUTH_TIME_LEEWAY_SECONDS => {
            Err(OidcError::Rejected("the ID token's auth_time is in the future".into()))
        }
        None => Err(OidcError::Rejected(
            "the ID token has no auth_time, and a recent sign-in (max_age) was asked for".into(),
        )),
        // As `access::step_up_needed` judges it, so that what passes here passes there.
        Some(at) if at + (max_age as i64) < now => Err(OidcError::Rejected(format!(
            "the ID token's auth_time is {} s old; a sign-in within {max_age} s was asked for",
            now - at
        ))),
        Some(_) => Ok(()),
    }
}

#[derive(Deserialize)]
struct SidClaim {
    sid: Option<String>,
}

fn token_error(
    error: RequestTokenError<CallError, openidconnect::StandardErrorResponse<CoreErrorResponseType>>,
) -> OidcError {
    match error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            CoreErrorResponseType::InvalidGrant => OidcError::InvalidGrant,
            other => OidcError::Rejected(other.as_ref().to_string()),
        },
        RequestTokenError::Request(CallError::Unreachable(error)) => {
            OidcError::Unavailable(format!("token request failed: {error}"))
        }
        RequestTokenError::Request(CallError::BadAnswer(message)) => {
            OidcError::BadResponse(format!("token response is not valid: {message}"))
        }
        RequestTokenError::Parse(error, _) => OidcError::BadResponse(format!("token response is not valid: {error}")),
        RequestTokenError::Other(message) => OidcError::BadResponse(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_may_lead_here_to_the_provider_and_to_asgardeo_s_sign_in_page() {
        let authorize = "https://api.asgardeo.io/t/acme/oauth2/authorize".to_string();
        let logout = "https://api.asgardeo.io/t/acme/oidc/logout".to_string();
        assert_eq!(
            form_action_sources([Some(&authorize), Some(&logout)], &[]),
            "'self' https://api.asgardeo.io https://accounts.asgardeo.io"
        );
        let authorize = "http://127.0.0.1:9443/t/dev/oauth2/authorize".to_string();
        assert_eq!(
            form_action_sources([Some(&authorize), None], &["https://login.example.com".into()]),
            "'self' http://127.0.0.1:9443 https://login.example.com"
        );
    }

    #[test]
    fn a_step_up_s_id_token_says_when_and_that_is_recent_enough() {
        let now = 2_000_000_000;
        assert!(
            check_auth_time(None, None, now).is_ok(),
            "no step-up: auth_time is not needed"
        );
        assert!(check_auth_time(Some(now - 86_400), None, now).is_ok());
        assert!(check_auth_time(Some(now - 5), Some(60), now).is_ok());
        assert!(check_auth_time(Some(now - 60), Some(60), now).is_ok());
        for (auth_time, why) in [
            (None, "no auth_time"),
            (Some(now - 61), "is 61 s old"),
            (Some(now + 61 + AUTH_TIME_LEEWAY_SECONDS), "in the future"),
        ] {
            let refused = check_auth_time(auth_time, Some(60), now).unwrap_err();
            assert!(
                matches!(&refused, OidcError::Rejected(text) if text.contains(why)),
                "{refused:?}"
            );
        }
    }
}
