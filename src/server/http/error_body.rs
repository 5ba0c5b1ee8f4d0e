//! The JSON error body that RFC 6749/6750-style answers share: `{"error": <code>, "error_description": <a
//! line for people>}`, with any members an answer adds; the REST API, the request guards, the time limit and
//! the back-channel logout all answer with it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// An error body: `error` (a code programs match on), `error_description` (a line for people), and the
/// members an answer adds (a 422's `fields`, a 403's `scope`). The members are one `serde_json` map, so
/// they are written in the order `json!` wrote them.
#[derive(Debug)]
#[must_use]
pub struct ErrorBody {
    members: Map<String, Value>,
}

impl ErrorBody {
    pub fn new(error: &str, description: impl Into<String>) -> Self {
        let mut members = Map::new();
        members.insert("error".to_owned(), Value::from(error));
        members.insert("error_description".to_owned(), Value::String(description.into()));
        Self { members }
    }

    /// Adds the member `name`. A value that cannot be written as JSON is left out (and logged).
    /// [`Self::with`] when there is a value.
    pub fn with_some(self, name: &str, value: Option<impl Serialize>) -> Self {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }

    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => {
                self.members.insert(name.to_owned(), value);
            }
            Err(error) => tracing::error!(%error, member = name, "an error body's member is not JSON: left out"),
        }
        self
    }
}

impl IntoResponse for ErrorBody {
    fn into_response(self) -> Response {
        Json(Value::Object(self.members)).into_response()
    }
}

/// `status` with the body `{"error": error, "error_description": description}`.
pub fn error_response(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (status, ErrorBody::new(error, description)).into_response()
}
