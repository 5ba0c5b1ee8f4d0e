//! The bearer-token REST API for programs: issues, their comments and history (`issues.rs`),
//! one comment's edits (`comments.rs`), labels (`labels.rs`), the audit trail and the OpenAPI
//! document. Errors follow RFC 6750 (`WWW-Authenticate`) with JSON bodies; authorization is the same `access::require` the
//! server functions use.
//!
//! Start at `router` below, then `issues.rs`; `extract.rs` and `error.rs` are what handlers share.

use axum::Router;
use axum::routing::get;

use crate::server::state::AppState;

mod access;
mod audit;
mod changes;
mod comments;
mod error;
mod export;
mod extract;
mod issues;
mod labels;
mod me;
mod openapi;
mod webhooks;

pub use error::ApiError;
pub use extract::Bearer;

use audit::audit_trail;
use issues::{change, comment, comments, create, delete, events, list, people, restore, show};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/issues", get(list).post(create))
        .route("/api/v1/issues/export", get(export::export))
        .route("/api/v1/issues/{id}", get(show).patch(change).delete(delete))
        .route("/api/v1/issues/{id}/comments", get(comments).post(comment))
        .route(
            "/api/v1/issues/{id}/comments/{comment_id}",
            axum::routing::patch(comments::change).delete(comments::delete),
        )
        .route("/api/v1/issues/{id}/events", get(events))
        .route("/api/v1/issues/{id}/restore", axum::routing::post(restore))
        .route("/api/v1/labels", get(labels::list).post(labels::define))
        .route(
            "/api/v1/labels/{id}",
            axum::routing::put(labels::redefine).delete(labels::delete),
        )
        .route("/api/v1/people", get(people))
        .route("/api/v1/me", get(me::me))
        .route("/api/v1/events", get(changes::list))
        .route("/api/v1/webhooks/deliveries", get(webhooks::list))
        .route(
            "/api/v1/webhooks/deliveries/{id}/redeliver",
            axum::routing::post(webhooks::redeliver),
        )
        .route("/api/v1/access-requests", get(access::list))
        .route("/api/v1/access-review", get(access::review))
        .route("/api/v1/audit", get(audit_trail))
        .route("/api/v1/openapi.json", get(openapi::document))
}
