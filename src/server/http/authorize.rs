//! The one authorization step of every call, whichever door it came through: the scope decision
//! (`access::require`), counted in metrics, and a refusal logged and recorded in the audit trail.
//! Each door turns a refusal into its own answer (a server function's `AppError`, the REST
//! API's `ApiError`).

use crate::access::{self, Permission, Refusal, Viewer, Why};
use crate::server::ops::live::LiveConfig;
use crate::server::ops::metrics;
use crate::server::storage::audit::{self, AuditTrail, Door, EventKind};

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
    /// The caller, when the configuration in force grants them `permission`.
    pub async fn authorize(&self, config: &LiveConfig, permission: Permission) -> Result<&'a Viewer, Refused> {
        let decision = access::require(self.viewer, &config.load().features, permission);
        metrics::authorization(permission, decision.is_ok(), self.door.name());
        let refusal = match decision {
            Ok(viewer) => return Ok(viewer),
            Err(refusal) => refusal,
        };
        let why = refusal.why(self.viewer);
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
