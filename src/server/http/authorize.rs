//! The one authorization step of every call, whichever door it came through: the scope decision
//! and how recent a sign-in the action needs (`access::require_recent`), counted in metrics, and
//! a refusal logged and recorded in the audit trail (a step-up is logged only: it is a question,
//! not a refusal of the person's access), and a read of the trail or the access review recorded
//! (hourly: `AuditTrail::record_read`).
//! Each door turns a refusal into its own answer (a server function's `AppError`, the REST
//! API's `ApiError`).

use tower_sessions::Session;

use crate::access::{self, Permission, Refusal, Viewer, Why};
use crate::error::AppError;
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics;
use crate::server::state::AppState;
use crate::server::storage::audit::{self, AuditTrail, Door, EventKind};
use crate::server::support::clock;

/// A call that may not go ahead: why (none when nobody is signed in), and the decision itself.
pub struct Refused {
    pub why: Option<Why>,
    pub refusal: Refusal,
}

/// Who is calling and through which door; `audit` records the refusals.
pub struct Call<'a> {
    pub viewer: Option<&'a Viewer>,
    pub door: Door,
    /// Read only for a refusal (a server function finds it in the request's context).
    pub request_id: &'a (dyn Fn() -> Option<String> + Sync),
    pub audit: &'a AuditTrail,
}

impl<'a> Call<'a> {
    /// The caller, when the configuration in force grants them `permission` (with a sign-in as
    /// recent as it asks).
    pub async fn authorize(&self, config: &LiveConfig, permission: Permission) -> Result<&'a Viewer, Refused> {
        let decision = access::require_recent(self.viewer, &config.load().features, permission, clock::now());
        self.judged(permission, decision).await
    }

    /// [`Self::authorize`] for what needs an action's scopes without being that action: seeing
    /// what acting needs (the deleted issues, the people to assign to, the create page's
    /// templates) or undoing a delete (restoring). The scopes, never a step-up: a step-up guards
    /// what cannot be taken back.
    pub async fn authorize_scopes_only(
        &self,
        config: &LiveConfig,
        permission: Permission,
    ) -> Result<&'a Viewer, Refused> {
        let decision = access::require(self.viewer, &config.load().features, permission);
        self.judged(permission, decision).await
    }

    async fn judged(
        &self,
        permission: Permission,
        decision: Result<&'a Viewer, Refusal>,
    ) -> Result<&'a Viewer, Refused> {
        metrics::authorization(permission, decision.is_ok(), self.door.name());
        let refusal = match decision {
            Ok(viewer) => {
                if let Some(recorded) = self.audit.record_read(viewer, permission, self.door) {
                    recorded.await;
                }
                return Ok(viewer);
            }
            Err(refusal) => refusal,
        };
        let why = refusal.why(self.viewer);
        if let Refusal::StepUp { max_age, .. } = &refusal {
            tracing::info!(
                sub = %self.viewer.map(|v| v.sub.as_str()).unwrap_or_default(),
                permission = permission.name(),
                via = self.door.name(),
                max_age,
                "refused: a more recent sign-in is needed"
            );
        }
        if let Some(why) = &why {
            let request_id = (self.request_id)();
            tracing::info!(
                sub = %self.viewer.map(|v| v.sub.as_str()).unwrap_or_default(),
                permission = why.permission.name(),
                via = self.door.name(),
                "refused: missing scope"
            );
            self.audit
                .record(audit::Event {
                    refused: true,
                    actor: self.viewer,
                    permission: Some(why.permission),
                    missing_scopes: why.missing.iter().map(String::as_str).collect(),
                    via: Some(self.door),
                    request_id: request_id.as_deref(),
                    ..audit::Event::new(EventKind::Authorization)
                })
                .await;
        }
        Err(Refused { why, refusal })
    }
}

/// The caller of a browser's own request (a file to download, not a server function), when
/// they may do `permission`; otherwise the status and the line to answer with.
pub async fn browser_caller(
    state: &AppState,
    session: &Session,
    permission: Permission,
) -> Result<Viewer, (u16, String)> {
    let viewer = state
        .sessions
        .viewer(session, clock::now())
        .await
        .map_err(|error| (error.status(), error.to_string()))?;
    let call = Call {
        viewer: viewer.as_ref(),
        door: Door::Browser,
        request_id: &|| None,
        audit: &state.audit,
    };
    match call.authorize(&state.config, permission).await {
        Ok(viewer) => Ok(viewer.clone()),
        Err(Refused { why: None, .. }) => Err((401, AppError::Unauthenticated.to_string())),
        Err(Refused { why: Some(why), .. }) => Err((403, why.line())),
    }
}
