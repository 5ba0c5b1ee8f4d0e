//! The sign-in core: `begin`, `complete` and `sign_out` over typed inputs, with one error type
//! whose `IntoResponse` picks the status and the page. The HTTP handlers and server functions
//! around it are thin adapters.

use axum::http::{HeaderMap, HeaderValue};
use serde::Deserialize;
use tower_sessions::Session;

use crate::server::auth::oidc::Oidc;
pub use crate::server::auth::oidc::{Asking, Prompt};
use crate::server::auth::pending::PendingSignIn;
use crate::server::auth::session::Sessions;
pub use crate::server::auth::sign_in_error::SignInError;

/// The provider's redirect back: `/auth/callback?code=…&state=…&iss=…` or `?error=…`. A
/// repeated parameter is refused by deserialization (`duplicate field`).
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where a sign-in start sends the browser.
pub enum Begun {
    /// Already signed in: straight to the return path.
    SignedIn { return_to: String },
    /// To the provider, with the pending sign-in's cookie.
    ToProvider {
        authorize_url: String,
        pending_cookie: HeaderValue,
    },
}

/// The longest `max_age` a sign-in asks for (`Features.Issues.StepUp` allows a day).
pub const MAX_AGE_LIMIT_SECONDS: u64 = 86_400;

/// Starts a sign-in that will come back to `return_to` (relative paths only). Without a
/// `prompt` or `max_age`, a signed-in session goes straight back; with one, the provider is
/// always asked: `prompt` `None` to pick up changed roles silently, `Login` to sign in as
/// someone else; `max_age` to prove again who one is (a step-up).
pub async fn begin(
    sessions: &Sessions,
    session: &Session,
    return_to: Option<&str>,
    asking: Asking,
    now: i64,
) -> Result<Begun, SignInError> {
    let return_to = safe_return_to(return_to);
    if asking.max_age.is_some_and(|max_age| max_age > MAX_AGE_LIMIT_SECONDS) {
        return Err(SignInError::BadRequest(format!(
            "max_age is at most {MAX_AGE_LIMIT_SECONDS} seconds"
        )));
    }
    if asking == Asking::default() && sessions.is_signed_in(session).await {
        return Ok(Begun::SignedIn { return_to });
    }
    // A step-up confirms the session's person: another one signing in is refused.
    let confirming = match asking.max_age {
        Some(_) => sessions.signed_in_as(session).await.map(|viewer| viewer.sub),
        None => None,
    };
    let (authorize_url, secrets) = sessions.oidc().begin(asking).await?;
    let pending_cookie = sessions.pending().set_cookie(&PendingSignIn {
        secrets,
        return_to,
        started_at: now,
        silent: asking.prompt == Some(Prompt::None) && asking.max_age.is_none(),
        max_age: asking.max_age,
        confirming,
    })?;
    Ok(Begun::ToProvider {
        authorize_url,
        pending_cookie,
    })
}

/// Finishes the sign-in the browser's pending cookie describes; answers the return path.
pub async fn complete(
    sessions: &Sessions,
    session: &Session,
    headers: &HeaderMap,
    query: CallbackQuery,
    (client, now): (std::net::IpAddr, i64),
) -> Result<String, SignInError> {
    let pending = sessions.pending().redeem(headers, query.state.as_deref(), now)?;
    check_issuer(sessions.oidc(), query.iss.as_deref()).await?;
    if let Some(error) = query.error {
        // A silent attempt the provider cannot answer without the user: ask them normally,
        // and still come back to the same page.
        if pending.silent && NEEDS_INTERACTION.contains(&error.as_str()) {
            return Err(SignInError::InteractionRequired {
                return_to: pending.return_to,
            });
        }
        return Err(SignInError::Denied {
            error,
            description: query.error_description.unwrap_or_default(),
        });
    }
    let code = query.code.ok_or(SignInError::NoCode)?;
    // Admitted only now, after the cookie is redeemed and the callback checked: a callback that
    // is not this browser's sign-in (no cookie, a replay, a foreign state, another issuer, no
    // code), which anyone can send, is refused without waiting for a slot or spending the
    // address's exchanges, so it cannot crowd out or use up those of the people behind it. The
    // cookie is used up by then whatever follows (every answer clears it, and a redeemed state
    // is never taken again), so a sign-in told busy starts again; `admit_exchange` counts an
    // exchange only once it has a slot, so that costs the address nothing.
    let exchanging = sessions.pending().admit_exchange(client, now).await?;
    let signed = sessions
        .oidc()
        .finish(&code, &pending.secrets, (pending.max_age, now))
        .await?;
    drop(exchanging);
    if pending.confirming.as_ref().is_some_and(|sub| *sub != signed.sub) {
        return Err(SignInError::SomeoneElse);
    }
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    sessions.start(session, signed, user_agent, now).await?;
    Ok(pending.return_to)
}

/// OIDC Core §3.1.2.6: the answers to `prompt=none` that mean "ask the user".
const NEEDS_INTERACTION: [&str; 4] = [
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
];

/// RFC 9207: the response names its issuer, and it is ours.
async fn check_issuer(oidc: &Oidc, iss: Option<&str>) -> Result<(), SignInError> {
    match iss {
        Some(iss) if iss != oidc.issuer() => Err(SignInError::IssuerMismatch),
        None if oidc.sends_iss_parameter().await => Err(SignInError::IssuerMissing),
        _ => Ok(()),
    }
}

/// Ends the session here (and its refresh token at the provider); answers where the browser
/// goes next: the provider's end-session page, or home.
pub async fn sign_out(sessions: &Sessions, session: &Session) -> Result<String, SignInError> {
    let id_token = sessions.end(session).await?;
    Ok(sessions
        .oidc()
        .end_session_url(id_token.as_deref())
        .await
        .unwrap_or_else(|| "/".to_string()))
}

/// Only same-origin relative paths are kept; anything else becomes `/`.
pub fn safe_return_to(raw: Option<&str>) -> String {
    let Some(path) = raw else { return "/".into() };
    let acceptable = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.starts_with("/auth/")
        && path.len() <= 1024
        && !path.chars().any(|c| c.is_control() || c == '\\');
    if acceptable { path.to_string() } else { "/".into() }
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_relative_paths_are_kept() {
        assert_eq!(safe_return_to(Some("/issues?x=1")), "/issues?x=1");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/auth/login",
            "issues",
        ] {
            assert_eq!(safe_return_to(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
