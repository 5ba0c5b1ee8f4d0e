//! `GET /api/v1/me`: who the bearer token is, the scopes it carries, and, for each action, the
//! scopes this deployment's config.json asks for it, whether the token has them and, when not,
//! the line saying why. Any valid token may ask: it needs no scope of its own.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{BadRequest, InternalServerError, ServiceUnavailable, TooManyRequests, Unauthorized};
use super::extract::Bearer;
use crate::access::Permission;
use crate::server::state::AppState;

/// The caller behind the token and what it permits.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The token's subject (`sub`).
    pub sub: String,
    pub name: String,
    /// The application the token was issued to, when the token says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The scopes the token carries.
    pub scopes: Vec<String>,
    /// Every action, in a fixed order.
    pub permissions: Vec<ActionAccess>,
}

/// One action and whether the token may do it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionAccess {
    /// `view_issues`, `create_issue`, `comment`, `edit_issue`, `close_issue`, `assign_issue`,
    /// `delete_issue`, `manage_labels` or `view_audit`.
    pub action: String,
    pub allowed: bool,
    /// The scopes it needs, all of them (none, and `allowed` false, when config.json turns the
    /// action off).
    pub scopes: Vec<String>,
    /// Why it is refused, e.g. "You can't create issues: your access lacks the scope
    /// issues:create." Absent when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Who the token is, its scopes, and what each action needs and whether the token allows it.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "who_am_i",
    responses((status = 200, description = "Who the token is and what it permits", body = Me),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests), (status = 500, response = InternalServerError),
        (status = 503, response = ServiceUnavailable)),
    security(("bearer" = [])))]
pub(super) async fn me(State(state): State<AppState>, caller: Bearer) -> Json<Me> {
    let config = state.config.load();
    let features = &config.features;
    let viewer = caller.viewer;
    let mut decided = features.permissions(&viewer.scopes);
    if decided.refused.iter().any(|why| !why.missing.is_empty()) {
        let held = state.people.roles_of(&viewer.sub).await.unwrap_or_default();
        state.roles.explain_all(&mut decided, &held).await;
    }
    let permissions = Permission::ALL
        .into_iter()
        .map(|permission| ActionAccess {
            action: permission.name().to_string(),
            allowed: features.allows(&viewer.scopes, permission),
            scopes: features
                .required(permission)
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            why: decided.why_not(permission),
        })
        .collect();
    Json(Me {
        sub: viewer.sub,
        name: viewer.name,
        client_id: viewer.client_id,
        scopes: viewer.scopes,
        permissions,
    })
}
