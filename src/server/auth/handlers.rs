//! `/auth/login`, `/auth/callback`, `/auth/logout`: the browser side of the OIDC flow.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::server::auth::oidc::OidcError;
use crate::server::auth::session::{
    AUTH_KEY, AuthState, PENDING_LIFETIME_SECONDS, now, open_pending, safe_return_to, seal_pending, short,
};
use crate::server::pages::error_page;
use crate::server::sign_ins::{SignInRow, seal_tokens};
use crate::server::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/backchannel-logout", post(backchannel_logout))
}

/// Query parameters; `Err` says what is wrong (repeated parameters are refused).
fn query_params(query: Option<&str>) -> Result<HashMap<String, String>, &'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).map_err(|_| "The address is not valid.")?;
    let mut params = HashMap::new();
    for (name, value) in pairs {
        if params.insert(name, value).is_some() {
            return Err("A parameter is repeated.");
        }
    }
    Ok(params)
}

fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is unavailable",
        "The identity provider could not be reached. Try again in a moment.",
    )
}

async fn login(State(state): State<AppState>, session: Session, RawQuery(query): RawQuery) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, "Bad request", problem),
    };
    let return_to = safe_return_to(params.get("return_to").map(String::as_str));
    if let Ok(Some(AuthState::SignedIn { sign_in, .. })) = session.get::<AuthState>(AUTH_KEY).await
        && matches!(state.sign_ins.get(&sign_in).await, Ok(Some(_)))
    {
        return Redirect::to(&return_to).into_response();
    }
    let (url, secrets) = match state.oidc.begin().await {
        Ok(started) => started,
        Err(error) => {
            tracing::warn!(%error, "sign-in could not start");
            return unavailable();
        }
    };
    let pending = AuthState::Pending {
        sealed: seal_pending(&state, &secrets),
        return_to,
        started_at: now(),
    };
    if let Err(error) = session.insert(AUTH_KEY, pending).await {
        tracing::error!(%error, "session store unavailable");
        return unavailable();
    }
    Redirect::to(&url).into_response()
}

async fn callback(State(state): State<AppState>, session: Session, RawQuery(query): RawQuery) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, "Bad request", problem),
    };
    let refused = |message: &str| error_page(StatusCode::BAD_REQUEST, "Sign-in failed", message);

    // The pending sign-in is consumed by the first callback, whatever its outcome: a replayed
    // callback finds nothing.
    let current = match session.get::<AuthState>(AUTH_KEY).await {
        Ok(current) => current,
        Err(_) => return unavailable(),
    };
    let Some(AuthState::Pending {
        sealed,
        return_to,
        started_at,
    }) = current
    else {
        return refused(
            "No sign-in is in progress in this browser (it may have been completed already). Start again from the sign-in button.",
        );
    };
    if session.remove::<AuthState>(AUTH_KEY).await.is_err() {
        return unavailable();
    }
    let Some(secrets) = open_pending(&state, &sealed) else {
        return refused("The sign-in could not be verified. Start again.");
    };
    if started_at + PENDING_LIFETIME_SECONDS < now() {
        return refused("The sign-in took too long. Start again.");
    }
    let state_matches = params.get("state").is_some_and(|given| {
        aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), secrets.state.as_bytes()).is_ok()
    });
    if !state_matches {
        tracing::warn!("callback with a missing or foreign state");
        return refused("The sign-in response does not belong to this browser's sign-in.");
    }
    match params.get("iss") {
        Some(iss) if iss != state.oidc.issuer() => {
            tracing::warn!("callback with a foreign iss");
            return refused("The sign-in response came from an unexpected identity provider.");
        }
        None if state.oidc.sends_iss_parameter().await => {
            return refused("The sign-in response does not name its identity provider.");
        }
        _ => {}
    }
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").map(String::as_str).unwrap_or_default();
        let status = if error == "access_denied" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        return error_page(
            status,
            "Sign-in was not completed",
            &format!("The identity provider answered: {error}. {description}"),
        );
    }
    let Some(code) = params.get("code") else {
        return refused("The sign-in response has no authorization code.");
    };

    let signed = match state.oidc.finish(code, &secrets).await {
        Ok(signed) => signed,
        Err(error) => {
            tracing::warn!(%error, "sign-in failed");
            return match error {
                OidcError::Unavailable(_) => unavailable(),
                OidcError::BadResponse(_) => error_page(
                    StatusCode::BAD_GATEWAY,
                    "Sign-in failed",
                    "The identity provider gave an invalid answer. Try again in a moment.",
                ),
                OidcError::Rejected(_) | OidcError::InvalidGrant => {
                    refused("The identity provider's answer did not pass validation. Start again.")
                }
            };
        }
    };
    let scopes = match signed.scopes.clone() {
        Some(scopes) => scopes,
        // The IdP did not list the granted scopes: read them from the verified access token.
        None => match state.tokens.verify_jwt(&signed.tokens.access_token).await {
            Ok((viewer, _)) => viewer.scopes,
            Err(_) => Vec::new(),
        },
    };
    let now = now();
    let id = crate::server::random_id();
    let row = SignInRow {
        sealed_tokens: seal_tokens(&state.sealer, &id, &signed.tokens),
        id,
        sub: signed.sub,
        sid: signed.sid,
        name: signed.name,
        scopes: scopes.join(" "),
        access_expires_at: now + signed.expires_in.map(|d| d.as_secs() as i64).unwrap_or(300),
        created_at: now,
        refreshed_at: now,
    };
    if let Err(error) = state.sign_ins.insert(&row).await {
        tracing::error!(%error, "could not store the sign-in");
        return unavailable();
    }
    // A new session id at the privilege change (session fixation).
    let stored = async {
        session.cycle_id().await?;
        session
            .insert(
                AUTH_KEY,
                AuthState::SignedIn {
                    sign_in: row.id.clone(),
                    renewed_at: now,
                },
            )
            .await
    };
    if let Err(error) = stored.await {
        tracing::error!(%error, "session store unavailable");
        let _ = state.sign_ins.delete(&row.id).await;
        return unavailable();
    }
    tracing::info!(sign_in = %short(&row.id), "signed in");
    Redirect::to(&return_to).into_response()
}

async fn logout(State(state): State<AppState>, session: Session) -> Response {
    let mut id_token = None;
    if let Ok(Some(AuthState::SignedIn { sign_in, .. })) = session.get::<AuthState>(AUTH_KEY).await
        && let Ok(Some(row)) = state.sign_ins.get(&sign_in).await
    {
        let tokens = row.tokens(&state.sealer);
        if let Err(error) = state.sign_ins.delete(&row.id).await {
            tracing::error!(%error, "could not end the sign-in");
            return unavailable();
        }
        if let Some(tokens) = tokens {
            if let Some(refresh_token) = &tokens.refresh_token {
                state.oidc.revoke(refresh_token).await;
            }
            id_token = tokens.id_token;
        }
        tracing::info!(sign_in = %short(&row.id), "signed out");
    }
    if let Err(error) = session.flush().await {
        tracing::warn!(%error, "could not delete the session");
    }
    let target = state
        .oidc
        .end_session_url(id_token.as_deref())
        .await
        .unwrap_or_else(|| "/".to_string());
    Redirect::to(&target).into_response()
}

/// The IdP ends a session server to server: every sign-in of that IdP session (`sid`), or of the
/// user (`sub`) when no `sid` is given, is deleted, so every instance sees it at once.
async fn backchannel_logout(State(state): State<AppState>, body: String) -> Response {
    let refuse = |description: &str| {
        (
            StatusCode::BAD_REQUEST,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({"error": "invalid_request", "error_description": description})),
        )
            .into_response()
    };
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    let Some(token) = token else {
        return refuse("logout_token is required");
    };
    if state.oidc.discovered().await.is_err() {
        return unavailable();
    }
    let target = match crate::server::auth::logout_token::verify(
        &state.jwks,
        &token,
        state.oidc.issuer(),
        &state.config.client_id,
        now(),
    )
    .await
    {
        Ok(target) => target,
        Err(reason) => {
            tracing::warn!(%reason, "back-channel logout token refused");
            return refuse("the logout token is not valid");
        }
    };
    match state
        .sign_ins
        .delete_by_sid_or_sub(target.sid.as_deref(), target.sub.as_deref())
        .await
    {
        Ok(ended) => {
            tracing::info!(ended, "back-channel logout");
            (StatusCode::OK, [(axum::http::header::CACHE_CONTROL, "no-store")]).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "back-channel logout could not end sessions");
            unavailable()
        }
    }
}
