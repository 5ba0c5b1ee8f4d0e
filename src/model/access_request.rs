//! Requests for access: a refused person asks an admin for an action's scopes, and sees the
//! answer on their profile.

use serde::{Deserialize, Serialize};

/// How long a reason may be.
pub const ACCESS_REASON_MAX_CHARS: usize = 500;
/// How long an admin's note may be.
pub const ACCESS_NOTE_MAX_CHARS: usize = 500;
/// How many requests one person may make in a day.
pub const ACCESS_REQUESTS_PER_DAY: i64 = 5;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    Open,
    Granted,
    Declined,
}

impl RequestState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Granted => "granted",
            Self::Declined => "declined",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Open, Self::Granted, Self::Declined]
            .into_iter()
            .find(|state| state.name() == name)
    }
}

/// One person's request for one action's access, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccessRequest {
    pub id: i64,
    /// Who asks: their subject at the identity provider, and their name.
    pub sub: String,
    pub name: String,
    /// The action, as `access::Permission::name` says it (e.g. `close_issue`).
    pub action: String,
    /// The scopes the refusal said were missing.
    pub scopes: Vec<String>,
    /// The roles that grant them, as the refusal named them (none when unknown).
    pub roles: Vec<String>,
    pub reason: String,
    pub state: RequestState,
    /// The admin's note with the answer.
    pub note: String,
    pub decided_by: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// What the Access page shows: the open requests, then the latest answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessReview {
    pub open: Vec<AccessRequest>,
    pub answered: Vec<AccessRequest>,
}

/// A reason or a note as typed: trimmed, 1 to `max` characters (a note may be empty: `min` 0),
/// no control characters but line breaks and tabs.
pub fn parse_access_text(text: &str, min: usize, max: usize) -> Result<String, String> {
    let text = text.trim();
    let length = text.chars().count();
    if length < min {
        return Err("Say in a few words why you need it.".to_string());
    }
    if length > max {
        return Err(format!("At most {max} characters."));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("Control characters are not allowed.".to_string());
    }
    Ok(text.to_string())
}

/// How long a scope may go unused before the access review points it out, in days.
pub const UNUSED_AFTER_DAYS: i64 = 90;

/// One person in the access review: who they are as last seen, what that lets them do, what
/// they hold but have not used, and what they were refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PersonAccess {
    pub sub: String,
    pub name: String,
    /// Their last sign-in here, milliseconds since the Unix epoch.
    pub last_seen_at: i64,
    pub roles: Vec<String>,
    /// The scopes their last sign-in was granted.
    pub scopes: Vec<String>,
    /// The actions those scopes allow under the configuration in force (`access::Permission`
    /// names).
    pub actions: Vec<String>,
    /// Granted scopes that some action needs but that no action of theirs used in the last
    /// `window_days` days (viewing counts as used by signing in; only what the audit trail
    /// records counts for the rest).
    pub unused_scopes: Vec<String>,
    /// Their refused calls per action in the last `window_days` days.
    pub refusals: Vec<Refusals>,
    /// The days the review looked back: [`UNUSED_AFTER_DAYS`], or fewer when the audit trail
    /// is kept for less (`Server.AuditRetentionDays`).
    pub window_days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Refusals {
    pub action: String,
    pub count: i64,
}
