//! Everything a request handler needs, passed as axum state and Leptos context. No globals.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::server::auth::bearer::TokenVerifier;
use crate::server::auth::jwks::JwksCache;
use crate::server::auth::oidc::Oidc;
use crate::server::auth::role_grants::RoleGuide;
use crate::server::auth::session::Sessions;
use crate::server::delivery::feed::Feed;
use crate::server::ops::live::LiveConfig;
use crate::server::storage::access_requests::AccessRequests;
use crate::server::storage::audit::AuditTrail;
use crate::server::storage::db::Db;
use crate::server::storage::issues::Issues;
use crate::server::storage::notifications::Notifications;
use crate::server::storage::people::People;
use crate::server::tracker::Tracker;

/// Cloned for every request (axum state, Leptos context): one reference count, not one per
/// field (those counters, shared by every core, showed up in profiles).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    /// The configuration in force: `config.load()` (config.json may change while serving).
    pub config: Arc<LiveConfig>,
    pub db: Db,
    pub oidc: Arc<Oidc>,
    pub jwks: Arc<JwksCache>,
    pub tokens: Arc<TokenVerifier>,
    pub sessions: Sessions,
    pub issues: Issues,
    pub people: People,
    pub audit: AuditTrail,
    /// What both front doors call once a caller is allowed.
    pub tracker: Tracker,
    /// The changes this instance hands to live pages as they happen.
    pub feed: Arc<Feed>,
    pub notifications: Notifications,
    /// Which roles grant which scopes, for the "why" lines.
    pub roles: RoleGuide,
    /// Requests for access and their answers.
    pub access_requests: AccessRequests,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
