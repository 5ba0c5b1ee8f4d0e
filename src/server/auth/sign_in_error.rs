//! `SignInError`: why a sign-in or sign-out did not happen, and the page the browser sees for
//! it (status and escaped message); details stay in the server log.

use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::server::auth::oidc::OidcError;
use crate::server::http::error_page::error_page;

/// Why a sign-in (or a sign-out) did not happen. The browser sees the page for the variant;
/// details stay in the server log.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("no sign-in is in progress in this browser")]
    NoPendingSignIn,
    #[error("the sign-in took too long")]
    Expired,
    #[error("the callback's state is not this browser's")]
    ForeignState,
    #[error("the callback names another issuer")]
    IssuerMismatch,
    #[error("the callback does not name its issuer")]
    IssuerMissing,
    #[error("the provider answered {error}")]
    Denied { error: String, description: String },
    /// A silent sign-in (`prompt=none`) needs the user after all: start a normal one that
    /// comes back to `return_to`.
    #[error("the provider needs the user to interact")]
    InteractionRequired { return_to: String },
    #[error("the callback has no authorization code")]
    NoCode,
    /// A step-up (confirming who one is) came back as someone else: the session stays as it
    /// was, and nothing waiting for the step-up is done.
    #[error("a step-up signed in as someone else")]
    SomeoneElse,
    #[error("the provider cannot be reached: {0}")]
    ProviderUnreachable(String),
    #[error("the provider's answer is invalid: {0}")]
    ProviderAnswerInvalid(String),
    #[error("the provider's answer did not pass validation: {0}")]
    NotValid(String),
    #[error("the session store or the random number generator failed")]
    Store,
    #[error("the session could not be ended")]
    NotSignedOut,
    /// This client address has spent its code exchanges for now.
    #[error("too many sign-ins from this address; retry in {retry_after} s")]
    TooManyExchanges { retry_after: u64 },
    /// As many code exchanges as allowed at once are running.
    #[error("too many sign-ins at once")]
    Busy,
}

impl SignInError {
    /// A stable name for why, for metrics and records.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::NoPendingSignIn => "no_pending_sign_in",
            Self::Expired => "expired",
            Self::ForeignState => "foreign_state",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::IssuerMissing => "issuer_missing",
            Self::Denied { .. } => "denied",
            Self::InteractionRequired { .. } => "interaction_required",
            Self::NoCode => "no_code",
            Self::SomeoneElse => "someone_else",
            Self::ProviderUnreachable(_) => "provider_unreachable",
            Self::ProviderAnswerInvalid(_) => "provider_answer_invalid",
            Self::NotValid(_) => "not_valid",
            Self::Store => "store",
            Self::NotSignedOut => "not_signed_out",
            Self::TooManyExchanges { .. } => "too_many_exchanges",
            Self::Busy => "busy",
        }
    }
}

impl From<OidcError> for SignInError {
    fn from(error: OidcError) -> Self {
        match error {
            OidcError::Unavailable(reason) => Self::ProviderUnreachable(reason),
            OidcError::BadResponse(reason) => Self::ProviderAnswerInvalid(reason),
            other => Self::NotValid(other.to_string()),
        }
    }
}

/// A query that does not decode (a repeated parameter, bad encoding) is the caller's fault.
impl From<QueryRejection> for SignInError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl IntoResponse for SignInError {
    fn into_response(self) -> Response {
        if let Self::InteractionRequired { return_to } = &self {
            // `prompt=login`: to the provider even if this app's session is live (a signed-in
            // user refreshing their access), and it asks for credentials.
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", return_to)
                .append_pair("prompt", "login")
                .finish();
            return Redirect::to(&format!("/auth/login?{query}")).into_response();
        }
        let retry_after = match &self {
            Self::TooManyExchanges { retry_after } => Some(*retry_after),
            Self::Busy => Some(1),
            _ => None,
        };
        let failed = "Sign-in failed";
        let unavailable = "Sign-in is unavailable";
        let (status, title, message) = match &self {
            Self::BadRequest(problem) => (StatusCode::BAD_REQUEST, "Bad request", problem.clone()),
            Self::NoPendingSignIn => (
                StatusCode::BAD_REQUEST,
                failed,
                "No sign-in is in progress in this browser (it may have been completed already). Start again from the sign-in button.".into(),
            ),
            Self::Expired => (StatusCode::BAD_REQUEST, failed, "The sign-in took too long. Start again.".into()),
            Self::ForeignState => (
                StatusCode::BAD_REQUEST,
                failed,
                "The sign-in response does not belong to this browser's sign-in.".into(),
            ),
            Self::IssuerMismatch => (
                StatusCode::BAD_REQUEST,
                failed,
                "The sign-in response came from an unexpected identity provider.".into(),
            ),
            Self::IssuerMissing => (
                StatusCode::BAD_REQUEST,
                failed,
                "The sign-in response does not name its identity provider.".into(),
            ),
            Self::Denied { error, description } => (
                if error == "access_denied" { StatusCode::FORBIDDEN } else { StatusCode::BAD_REQUEST },
                "Sign-in was not completed",
                format!("The identity provider answered: {error}. {description}"),
            ),
            Self::InteractionRequired { .. } => (
                StatusCode::BAD_REQUEST,
                failed,
                "The identity provider needs you to sign in.".into(),
            ),
            Self::NoCode => (
                StatusCode::BAD_REQUEST,
                failed,
                "The sign-in response has no authorization code.".into(),
            ),
            Self::SomeoneElse => (
                StatusCode::FORBIDDEN,
                "Not confirmed",
                "You signed in as someone else than this session's person, so it was not confirmed: the \
                 session is as it was, and nothing was done. Sign out first to switch people."
                    .into(),
            ),
            Self::NotValid(_) => (
                StatusCode::BAD_REQUEST,
                failed,
                "The identity provider's answer did not pass validation. Start again.".into(),
            ),
            Self::ProviderAnswerInvalid(_) => (
                StatusCode::BAD_GATEWAY,
                failed,
                "The identity provider gave an invalid answer. Try again in a moment.".into(),
            ),
            Self::ProviderUnreachable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                unavailable,
                "The identity provider could not be reached. Try again in a moment.".into(),
            ),
            Self::Store => (
                StatusCode::SERVICE_UNAVAILABLE,
                unavailable,
                "Signing in is not possible right now. Try again in a moment.".into(),
            ),
            Self::NotSignedOut => (
                StatusCode::SERVICE_UNAVAILABLE,
                "You are not signed out",
                "Your session could not be ended because its store is unavailable: you are not signed out. Try again in a moment.".into(),
            ),
            Self::TooManyExchanges { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                failed,
                format!("Too many sign-ins from this address. Try again in {retry_after} seconds."),
            ),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                unavailable,
                "Too many sign-ins at once. Try again in a moment.".into(),
            ),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "sign-in failed");
        } else {
            tracing::warn!(error = %self, "sign-in refused");
        }
        let mut response = error_page(status, title, &message);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response
    }
}
