//! `AppError`: what the browser may learn when a server function fails. Internal details stay
//! in the server log; each variant has its HTTP status.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::model::{FieldErrors, Issue};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("Your session ended. Sign in again.")]
    SessionEnded,
    /// config.json wants a sign-in no older than `max_age` seconds for this action
    /// (`Features.Issues.StepUp`): the person signs in again, and the call is sent again.
    #[error("This needs a recent sign-in at the identity provider.")]
    StepUp { max_age: u64 },
    /// The line saying why (see `access::Why::line`).
    #[error("{0}")]
    Forbidden(String),
    #[error("No such issue.")]
    NotFound,
    #[error("No such label.")]
    LabelNotFound,
    #[error("No such comment: it may have been deleted.")]
    CommentNotFound,
    /// A label of that name exists already; a request for access was answered already.
    #[error("{0}")]
    Conflict(String),
    /// The issue changed since the caller read it: the current issue, to show.
    #[error("Someone else changed this issue since you opened it. The current version is shown; nothing was saved.")]
    Stale(Box<Issue>),
    #[error("Please correct the highlighted fields.")]
    Invalid(FieldErrors),
    #[error("The request was refused: {0}")]
    BadRequest(String),
    #[error("The sign-in service is unavailable. Try again in a moment.")]
    Unavailable,
    #[error("You are not signed out: your session could not be ended. Try again in a moment.")]
    NotSignedOut,
    /// A search ran longer than searches may (`server::storage::issues`): its words match too
    /// much to read in time.
    #[error("The search took too long; use more specific words.")]
    SearchTooSlow,
    /// The caller already has as many searches running as one person may.
    #[error("You have other searches still running. Try again in a moment.")]
    TooManySearches,
    /// The server runs as many searches at once as it lets run, and none ended in time: its
    /// capacity, not the caller's doing.
    #[error("The server is busy with other searches; try again in a moment.")]
    SearchesBusy,
    /// The person asked for access as often as one may in a day.
    #[error("You have asked for access often today; the admins will answer those requests first.")]
    TooManyAccessRequests,
    #[error("Something went wrong on our side. Try again.")]
    Internal,
    /// The call did not reach the server or its answer could not be read.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::SessionEnded | Self::StepUp { .. } => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound | Self::LabelNotFound | Self::CommentNotFound => 404,
            Self::Stale(_) | Self::Conflict(_) => 409,
            Self::Invalid(_) => 422,
            Self::BadRequest(_) => 400,
            Self::TooManySearches | Self::TooManyAccessRequests => 429,
            Self::Unavailable | Self::NotSignedOut | Self::SearchTooSlow | Self::SearchesBusy => 503,
            Self::Internal | Self::Transport(_) => 500,
        }
    }

    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Invalid(errors) => Some(errors),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments that do not decode are the caller's fault: 400, not 500 (the status
            // follows the error: `server::http::status::of_call`).
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => Self::BadRequest(message),
            ServerFnErrorErr::UnsupportedRequestMethod(message) => Self::BadRequest(message),
            other => Self::Transport(other.to_string()),
        }
    }
}
