//! The browser's sign-in URLs, as thin adapters over the sign-in core (`sign_in`):
//! `GET /auth/login?return_to=` (a link target), `GET /auth/callback` (the redirect URI
//! registered at the provider), `POST /auth/logout` (plain forms), and the provider's
//! `POST /auth/backchannel-logout`.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::server::auth::sign_in::{self, Begun, CallbackQuery, SignInError};
use crate::server::auth::{logout_token, profile};
use crate::server::http::error_body::ErrorBody;
use crate::server::ops::telemetry::request_id_of;
use crate::server::state::AppState;
use crate::server::storage::audit::{self, Door, EventKind};
use crate::server::storage::logout_tokens_seen;
use crate::server::storage::people::SignedIn;
use crate::server::support::clock;
use crate::server::support::network::client_address;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/backchannel-logout", post(backchannel_logout))
}

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    /// `none`: refresh my access silently; `login`: sign in as someone else.
    prompt: Option<sign_in::Prompt>,
    /// Seconds: prove again who one is, for an action that needs a recent sign-in (a step-up).
    max_age: Option<u64>,
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    login: Result<Query<LoginQuery>, QueryRejection>,
) -> Result<Response, SignInError> {
    let Query(LoginQuery {
        return_to,
        prompt,
        max_age,
    }) = login?;
    let asking = sign_in::Asking { prompt, max_age };
    Ok(
        match sign_in::begin(&state.sessions, &session, return_to.as_deref(), asking, clock::now()).await? {
            Begun::SignedIn { return_to } => Redirect::to(&return_to).into_response(),
            Begun::ToProvider {
                authorize_url,
                pending_cookie,
            } => ([(header::SET_COOKIE, pending_cookie)], Redirect::to(&authorize_url)).into_response(),
        },
    )
}

/// Whatever the outcome, the pending sign-in's cookie is removed: it was used.
async fn callback(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    session: Session,
    cookies: HeaderMap,
    callback: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let client = client_address(&cookies, peer, &state.config.load().trusted_proxies);
    let completed = async {
        let Query(callback) = callback?;
        let return_to =
            sign_in::complete(&state.sessions, &session, &cookies, callback, (client, clock::now())).await?;
        Ok::<_, SignInError>(Redirect::to(&return_to))
    };
    let clear = [(header::SET_COOKIE, state.sessions.pending().clear_cookie())];
    let completed = completed.await;
    crate::server::ops::metrics::sign_in(completed.as_ref().map(|_| ()).map_err(SignInError::reason));
    // A callback no sign-in of this browser started, or one no real sign-in could cause (a
    // state that is not the cookie's), is anyone's to send: counted (metrics), not recorded, so
    // it cannot fill the trail. The cookie is used up by every outcome, so a replay records
    // nothing either.
    let anonymous = matches!(
        &completed,
        Err(SignInError::BadRequest(_)
            | SignInError::NoPendingSignIn
            | SignInError::ForeignState
            | SignInError::TooManyExchanges { .. }
            | SignInError::InteractionRequired { .. })
    );
    if !anonymous {
        let who = match &completed {
            Ok(_) => state.sessions.signed_in_as(&session).await,
            Err(_) => None,
        };
        // Whom issues can be assigned to: everyone who has signed in; where to mail them, and
        // with which scopes they were last seen.
        if completed.is_ok()
            && let Ok(Some(current)) = state.sessions.peek(&session, clock::now()).await
        {
            let row = &current.row;
            let identity = profile::identity(&state.sessions, row);
            let seen = state.people.signed_in(
                SignedIn {
                    sub: &row.sub,
                    name: &row.name,
                    email: identity.email.as_deref(),
                    scopes: &row.scopes,
                    roles: &identity.roles,
                },
                clock::now(),
            );
            match seen.await {
                Ok(()) => state.roles.relearn(),
                Err(error) => tracing::error!(%error, "could not record who signed in"),
            }
        }
        state
            .audit
            .record(audit::Event {
                refused: completed.is_err(),
                actor: who.as_ref(),
                via: Some(Door::Browser),
                detail: completed.as_ref().err().map(|error| error.reason().to_string()),
                request_id: request_id_of(&cookies),
                ..audit::Event::new(EventKind::SignIn)
            })
            .await;
    }
    (clear, completed).into_response()
}

async fn logout(State(state): State<AppState>, session: Session, headers: HeaderMap) -> Result<Redirect, SignInError> {
    let who = state.sessions.signed_in_as(&session).await;
    let next = sign_in::sign_out(&state.sessions, &session).await?;
    if let Some(who) = &who {
        state.audit.record_sign_out(who, request_id_of(&headers)).await;
    }
    Ok(Redirect::to(&next))
}

/// The IdP ends a session server to server: every sign-in of that IdP session (`sid`), or of the
/// user (`sub`) when no `sid` is given, is deleted, so every instance sees it at once.
async fn backchannel_logout(State(state): State<AppState>, body: String) -> Response {
    let refuse = |description: &str| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            ErrorBody::new("invalid_request", description),
        )
            .into_response()
    };
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    let Some(token) = token else {
        return refuse("logout_token is required");
    };
    if let Err(error) = state.oidc.discovered().await {
        return SignInError::from(error).into_response();
    }
    let now = clock::now();
    let verified = logout_token::verify(
        &state.jwks,
        &token,
        state.oidc.issuer(),
        &state.config.load().client_id,
        now,
    )
    .await;
    let target = match verified {
        Ok(target) => target,
        Err(reason) => {
            tracing::warn!(%reason, "back-channel logout token refused");
            return refuse("the logout token is not valid");
        }
    };
    match logout_tokens_seen::first_use(&state.db, &target.jti, target.remember_until, now).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("back-channel logout token replayed; refused");
            return refuse("the logout token was used before");
        }
        Err(error) => {
            tracing::error!(%error, "back-channel logout could not check for a replay");
            return SignInError::Store.into_response();
        }
    }
    match state
        .sessions
        .sign_ins()
        .delete_by_sid_or_sub(target.sid.as_deref(), target.sub.as_deref())
        .await
    {
        Ok(ended) => {
            tracing::info!(ended, "back-channel logout");
            (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "back-channel logout could not end sessions");
            if let Err(error) = logout_tokens_seen::forget(&state.db, &target.jti).await {
                tracing::error!(%error, "back-channel logout: a retry of this token will be refused as a replay");
            }
            SignInError::Store.into_response()
        }
    }
}
