//! HTTP endpoints under Asgardeo's paths (`/t/{org}/…`), and one of dev-idp's own for tests
//! (`/t/{org}/dev/…`). Thin: extract, call the provider, render the outcome.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::json;

use crate::directory::RoleChangeError;
use crate::error::{ErrorCode, OAuthError};
use crate::pages;
use crate::provider::{AuthorizeError, ClientCredentials, LoginOutcome, LogoutOutcome, Params, Provider};
use crate::store::Interaction;

const SESSION_COOKIE: &str = "devidp_session";
const BINDING_COOKIE: &str = "devidp_login";
/// Form posts here are small; anything larger is refused with 413.
const MAX_BODY_BYTES: usize = 16 * 1024;

type Shared = State<Arc<Provider>>;

pub fn router(provider: Arc<Provider>) -> Router {
    let org = provider.urls.org_path.clone();
    let at = |path: &str| format!("{org}{path}");
    Router::new()
        .route("/", get(home))
        .route(&at("/oauth2/token/.well-known/openid-configuration"), get(discovery))
        .route(
            &at("/oauth2/oidcdiscovery/.well-known/openid-configuration"),
            get(discovery),
        )
        .route(&at("/oauth2/jwks"), get(jwks))
        .route(&at("/oauth2/authorize"), get(authorize))
        .route(&at("/commonauth"), post(login))
        .route(&at("/oauth2/token"), post(token))
        .route(&at("/oauth2/userinfo"), get(userinfo).post(userinfo))
        .route(&at("/oauth2/introspect"), post(introspect))
        .route(&at("/oauth2/revoke"), post(revoke))
        .route(&at("/oidc/logout"), get(logout).post(logout))
        .route(&at("/dev/users/{username}/roles"), put(set_user_roles))
        .route(&at("/dev/users/{username}/sessions/age"), post(age_user_sessions))
        .route("/t/{org}/{*rest}", get(unknown_org).post(unknown_org))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(provider)
}

async fn home(State(provider): Shared) -> Response {
    pages::page(
        StatusCode::OK,
        "dev-idp",
        &format!(
            "<h1>dev-idp</h1><p class=\"sub\">Development OpenID Provider.</p><p>Issuer: <code>{}</code></p>",
            pages::escape(&provider.urls.issuer)
        ),
    )
}

async fn unknown_org(Path((org, _rest)): Path<(String, String)>) -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        &format!("No such endpoint for organization `{org}`."),
    )
}

async fn discovery(State(provider): Shared) -> Response {
    let urls = &provider.urls;
    let body = json!({
        "issuer": urls.issuer,
        "authorization_endpoint": urls.endpoint("/oauth2/authorize"),
        "token_endpoint": urls.endpoint("/oauth2/token"),
        "userinfo_endpoint": urls.endpoint("/oauth2/userinfo"),
        "jwks_uri": urls.endpoint("/oauth2/jwks"),
        "introspection_endpoint": urls.endpoint("/oauth2/introspect"),
        "revocation_endpoint": urls.endpoint("/oauth2/revoke"),
        "end_session_endpoint": urls.endpoint("/oidc/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "address", "phone", "groups", "roles", "internal_login"],
        "claims_supported": ["sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr",
            "given_name", "family_name", "name", "preferred_username", "username", "email", "email_verified", "groups", "roles"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "request_parameter_supported": false,
    });
    (cache_control("public, max-age=300"), Json(body)).into_response()
}

async fn jwks(State(provider): Shared) -> Response {
    (cache_control("public, max-age=60"), Json(provider.keys.jwks())).into_response()
}

fn cache_control(value: &'static str) -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static(value))]
}

// ----- authorization and sign-in ------------------------------------------------------------

async fn authorize(State(provider): Shared, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(error) => return pages::error(StatusCode::BAD_REQUEST, &error.description),
    };
    let (request, prompt) = match provider.validate_authorize(&params) {
        Ok(valid) => valid,
        Err(AuthorizeError::Page(message)) => {
            return pages::error(StatusCode::BAD_REQUEST, &message);
        }
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            return Redirect::to(&provider.error_redirect(&redirect_uri, state.as_deref(), &error)).into_response();
        }
    };
    let prompts: Vec<&str> = prompt.as_deref().unwrap_or_default().split(' ').collect();
    // A session older than the `max_age` asked for counts as none: the user signs in again.
    let now = provider.clock.now();
    let session = cookie_value(&headers, SESSION_COOKIE)
        .and_then(|cookie| provider.session(&cookie))
        .filter(|session| request.max_age.is_none_or(|max_age| now - session.auth_time <= max_age));
    match session {
        Some(session) if !prompts.contains(&"login") => {
            return Redirect::to(&provider.issue_code(&request, &session, None)).into_response();
        }
        _ if prompts.contains(&"none") => {
            let error = OAuthError::new(crate::error::ErrorCode::LoginRequired, "the user is not signed in");
            return Redirect::to(&provider.error_redirect(&request.redirect_uri, request.state.as_deref(), &error))
                .into_response();
        }
        _ => {}
    }
    let binding = cookie_value(&headers, BINDING_COOKIE).unwrap_or_else(crate::store::random_token);
    let (interaction_id, interaction) = provider.start_interaction(request, binding.clone());
    let mut response = login_form(&provider, &interaction_id, &interaction, "", None);
    set_cookie(&provider, &mut response, BINDING_COOKIE, &binding, Some(600));
    response
}

fn login_form(
    provider: &Provider,
    interaction_id: &str,
    interaction: &Interaction,
    username: &str,
    error: Option<&str>,
) -> Response {
    pages::login(&pages::LoginForm {
        action: &format!("{}/commonauth", provider.urls.org_path),
        organization: &provider.directory().organization.name,
        application: &provider.application_name(&interaction.request.client_id),
        interaction_id,
        csrf_token: &interaction.csrf_token,
        username,
        error,
    })
}

async fn login(State(provider): Shared, headers: HeaderMap, body: String) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(params) => params,
        Err(error) => return pages::error(StatusCode::BAD_REQUEST, &error.description),
    };
    let field = |name: &str| params.get(name).unwrap_or_default().to_string();
    let username = field("username");
    let binding = cookie_value(&headers, BINDING_COOKIE);
    let outcome = provider.complete_login(
        &field("interaction"),
        &field("csrf_token"),
        binding.as_deref(),
        &username,
        &field("password"),
    );
    match outcome {
        LoginOutcome::Refused(message) => pages::error(StatusCode::BAD_REQUEST, &message),
        LoginOutcome::WrongCredentials {
            interaction_id,
            interaction,
            message,
        } => login_form(&provider, &interaction_id, &interaction, &username, Some(&message)),
        LoginOutcome::SignedIn {
            session_cookie,
            redirect,
        } => {
            let mut response = Redirect::to(&redirect).into_response();
            set_cookie(&provider, &mut response, SESSION_COOKIE, &session_cookie, None);
            set_cookie(&provider, &mut response, BINDING_COOKIE, "", Some(0));
            response
        }
    }
}

// ----- token, introspection, revocation, userinfo -------------------------------------------

async fn token(State(provider): Shared, headers: HeaderMap, body: String) -> Response {
    let result = form_params(&headers, &body).and_then(|params| {
        let credentials = client_credentials(&headers, &params)?;
        let app = provider.authenticate_client(&credentials)?;
        provider.token(&app, &params)
    });
    match result {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => {
            tracing::info!(error = %error.code, description = %error.description, "token request refused");
            error.into_response()
        }
    }
}

async fn introspect(State(provider): Shared, headers: HeaderMap, body: String) -> Response {
    let result = form_params(&headers, &body).and_then(|params| {
        let credentials = client_credentials(&headers, &params)?;
        provider.authenticate_client(&credentials)?;
        let token = params.require("token")?;
        Ok(provider.introspect(token))
    });
    match result {
        Ok(body) => (cache_control("no-store"), Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn revoke(State(provider): Shared, headers: HeaderMap, body: String) -> Response {
    let result = form_params(&headers, &body).and_then(|params| {
        let credentials = client_credentials(&headers, &params)?;
        let app = provider.authenticate_client(&credentials)?;
        provider.revoke(&app, params.require("token")?);
        Ok(())
    });
    match result {
        Ok(()) => (StatusCode::OK, cache_control("no-store")).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn userinfo(State(provider): Shared, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
        });
    let Some(token) = token else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token", "error_description": "a bearer token is required"})),
        )
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dev-idp\""),
        );
        return response;
    };
    match provider.userinfo(&token) {
        Ok(claims) => (cache_control("no-store"), Json(claims)).into_response(),
        Err(error) => error.into_response(),
    }
}

// ----- logout -------------------------------------------------------------------------------

async fn logout(
    State(provider): Shared,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    let params = if method == Method::POST {
        form_params(&headers, &body)
    } else {
        Params::parse(query.as_deref().unwrap_or_default())
    };
    let params = match params {
        Ok(params) => params,
        Err(error) => return pages::error(StatusCode::BAD_REQUEST, &error.description),
    };
    let session = cookie_value(&headers, SESSION_COOKIE);
    let mut response = match provider.logout(&params, session.as_deref()) {
        Ok(LogoutOutcome::Redirect(url)) => Redirect::to(&url).into_response(),
        Ok(LogoutOutcome::SignedOut) => pages::signed_out(),
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, &message),
    };
    set_cookie(&provider, &mut response, SESSION_COOKIE, "", Some(0));
    response
}

// ----- administration -----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    roles: Vec<String>,
}

/// What an administrator does in Asgardeo's console, for tests: replace a user's roles. 204, or
/// the token endpoint's error shape: 401 without a confidential client's credentials, 404 for an
/// unknown user, 400 for an unknown role or a malformed body.
async fn set_user_roles(
    State(provider): Shared,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let result = new_roles(&provider, &headers, &body).and_then(|roles| {
        provider.set_user_roles(&username, roles).map_err(|error| match error {
            RoleChangeError::UnknownUser(_) => OAuthError::new(ErrorCode::NotFound, error.to_string()),
            RoleChangeError::UnknownRole { .. } => OAuthError::invalid_request(error.to_string()),
        })
    });
    match result {
        Ok(()) => (StatusCode::NO_CONTENT, cache_control("no-store")).into_response(),
        Err(error) => {
            // Debug formatting: the username comes from the request and may hold line breaks.
            tracing::info!(
                username = ?username,
                error = %error.code,
                description = %error.description,
                "role change refused"
            );
            error.into_response()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeBody {
    seconds: i64,
}

/// For tests of actions that need a recent sign-in: `{"seconds": n}` makes the user's sign-ins
/// here n seconds older (0 to a day). 200 with how many, or the token endpoint's error shape as
/// for a role change.
async fn age_user_sessions(
    State(provider): Shared,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let result = admin_json::<AgeBody>(&provider, &headers, &body, "{\"seconds\": n}").and_then(|age| {
        if !(0..=86_400).contains(&age.seconds) {
            return Err(OAuthError::invalid_request("seconds is from 0 to 86400"));
        }
        provider
            .age_sessions(&username, age.seconds)
            .map_err(|error| OAuthError::new(ErrorCode::NotFound, error.to_string()))
    });
    match result {
        Ok(aged) => (
            StatusCode::OK,
            cache_control("no-store"),
            Json(serde_json::json!({ "aged": aged })),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

/// The roles asked for, once the caller has authenticated as a confidential application.
fn new_roles(provider: &Provider, headers: &HeaderMap, body: &str) -> Result<Vec<String>, OAuthError> {
    admin_json::<RolesBody>(provider, headers, body, "{\"roles\": [role names]}").map(|request| request.roles)
}

/// A JSON body of an administrator's request (`shape` says what it looks like), once the
/// caller has authenticated as a confidential application.
fn admin_json<T: serde::de::DeserializeOwned>(
    provider: &Provider,
    headers: &HeaderMap,
    body: &str,
    shape: &str,
) -> Result<T, OAuthError> {
    // The body is JSON, so the credentials can only come in the Authorization header.
    let credentials = client_credentials(headers, &Params::default())?;
    let app = provider.authenticate_client(&credentials)?;
    if !app.is_confidential() {
        return Err(OAuthError {
            basic_challenge: credentials.via_basic,
            ..OAuthError::invalid_client("only a confidential application may do this")
        });
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(OAuthError::invalid_request("the body must be application/json"));
    }
    serde_json::from_str(body).map_err(|error| OAuthError::invalid_request(format!("expected {shape}: {error}")))
}

// ----- helpers ------------------------------------------------------------------------------

fn form_params(headers: &HeaderMap, body: &str) -> Result<Params, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse(body)
}

/// Client authentication per RFC 6749 §2.3.1: HTTP Basic (form-encoded id and secret) or the
/// `client_id` / `client_secret` body parameters, never both.
fn client_credentials(headers: &HeaderMap, params: &Params) -> Result<ClientCredentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| encoded.trim().to_string());
    match basic {
        Some(encoded) => {
            if params.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            let invalid = || OAuthError {
                basic_challenge: true,
                ..OAuthError::invalid_client("malformed Basic credentials")
            };
            let decoded = STANDARD.decode(encoded).map_err(|_| invalid())?;
            let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
            let decode = |part: &str| {
                url::form_urlencoded::parse(format!("x={part}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
            };
            let client_id = decode(id).ok_or_else(invalid)?;
            if params.get("client_id").is_some_and(|body_id| body_id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(ClientCredentials {
                client_id,
                secret: decode(secret),
                via_basic: true,
            })
        }
        None => Ok(ClientCredentials {
            client_id: params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
                .to_string(),
            secret: params.get("client_secret").map(str::to_string),
            via_basic: false,
        }),
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_string())
        .filter(|value| !value.is_empty())
}

fn set_cookie(provider: &Provider, response: &mut Response, name: &str, value: &str, max_age_seconds: Option<i64>) {
    let mut cookie = Cookie::build((name, value))
        .path(provider.urls.org_path.clone())
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(provider.secure_cookies);
    if let Some(seconds) = max_age_seconds {
        cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
    }
    if let Ok(value) = HeaderValue::from_str(&cookie.build().to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
