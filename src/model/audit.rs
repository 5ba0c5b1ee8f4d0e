//! The audit trail as operators read it.

use serde::{Deserialize, Serialize};

/// One event of the audit trail, as operators read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub request_id: Option<String>,
    /// `sign_in`, `sign_out`, `sign_out_session`, `sign_out_everywhere`, `authorization`,
    /// `issue_created`, `issue_edited`, `issue_closed`, `issue_reopened`, `issue_assigned`,
    /// `issue_deleted`, `issue_restored`, `issue_triaged`, `comment_added`, `comment_edited`,
    /// `comment_deleted`, `comment_hidden`, `comment_shown`, `label_defined`, `label_changed`,
    /// `label_deleted`, `person_forgotten`, `deleted_issues_erased`, `webhook_redelivered`,
    /// `access_requested`, `access_answered`, `audit_read` or `access_reviewed` (the last two
    /// at most hourly per person).
    pub event: String,
    /// `ok` or `refused`.
    pub outcome: String,
    pub actor_sub: Option<String>,
    pub actor_name: Option<String>,
    /// The application a bearer token was issued to.
    pub client_id: Option<String>,
    /// What was refused (`create_issue`, …).
    pub permission: Option<String>,
    /// The scopes the caller lacked, space-separated.
    pub missing_scopes: Option<String>,
    /// `server_function`, `rest` or `browser`.
    pub via: Option<String>,
    /// Why a sign-in was refused, or the issue concerned.
    pub detail: Option<String>,
    /// How many times it happened: a refusal repeated within the same minute (the same event,
    /// caller and permission or reason) is counted on its first row, not recorded again. 1 for
    /// every other event. (Absent from older answers: 1.)
    #[serde(default = "once")]
    pub repeats: i64,
}

fn once() -> i64 {
    1
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}
