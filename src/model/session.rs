//! The caller's session and profile as the UI shows them.

use serde::{Deserialize, Serialize};

/// When a session ends: unless used again (`idle_ends_at`) and at the latest
/// (`absolute_ends_at`); seconds since the epoch, with the server's `now` so a browser whose
/// clock is off still counts right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDeadlines {
    pub now: i64,
    pub idle_ends_at: i64,
    pub absolute_ends_at: i64,
    /// How long before the end the page warns.
    pub warn_before: i64,
}

/// The profile page: who the identity provider says you are (absent claims are `None` or
/// empty), what you were granted, and your sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub started_at: i64,
    pub deadlines: SessionDeadlines,
    /// Every live session of yours, newest first; this one marked.
    pub sessions: Vec<SessionSummary>,
    /// How you are told by e-mail; absent when the server does not mail.
    #[serde(default)]
    pub mail: Option<super::notification::MailSettings>,
    /// Your requests for access, newest first, with their answers.
    #[serde(default)]
    pub access_requests: Vec<super::access_request::AccessRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Names the session for "Sign out this session"; reveals nothing of it.
    pub handle: String,
    /// e.g. "Chrome on Linux".
    pub browser: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub name: String,
    /// Names this user's drafts in the browser (an opaque keyed hash of their `sub`), so one
    /// person's unsent text is never offered to another on the same browser.
    pub drafts: String,
    /// Their unread notifications (up to one past `UNREAD_CAP`); 0 without the view scope.
    #[serde(default)]
    pub unread: i64,
}
