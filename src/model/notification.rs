//! What a change was (`change_kind`, as the outbox, webhooks and `GET /api/v1/events` name
//! it) and a person's notifications: what changed on issues that concern them (assigned to them,
//! mentioning them, or ones they created, commented on or watch), and requests for access
//! (asked, for those who answer them; answered, for the person who asked), as the bell and
//! `/notifications` show them.

use serde::{Deserialize, Serialize};

/// What a change was, as programs see it (the `type` of a webhook, the `kind` of an event).
pub mod change_kind {
    pub const ISSUE_CREATED: &str = "issue.created";
    pub const ISSUE_UPDATED: &str = "issue.updated";
    pub const ISSUE_DELETED: &str = "issue.deleted";
    pub const ISSUE_RESTORED: &str = "issue.restored";
    pub const COMMENT_CREATED: &str = "comment.created";
    pub const COMMENT_UPDATED: &str = "comment.updated";
    pub const COMMENT_DELETED: &str = "comment.deleted";
    pub const ALL: [&str; 7] = [
        ISSUE_CREATED,
        ISSUE_UPDATED,
        ISSUE_DELETED,
        ISSUE_RESTORED,
        COMMENT_CREATED,
        COMMENT_UPDATED,
        COMMENT_DELETED,
    ];
}

/// Why a notification reached someone.
pub mod notification_reason {
    pub const ASSIGNED: &str = "assigned";
    pub const MENTIONED: &str = "mentioned";
    pub const WATCHING: &str = "watching";
    /// Someone asked for access (to those who answer requests).
    pub const ACCESS_ASKED: &str = "access_asked";
    /// Their request for access was answered (to the person who asked).
    pub const ACCESS_ANSWERED: &str = "access_answered";
}

/// Where a notification leads: its issue, or for a request for access the Access page (those
/// who answer) or the asker's requests on their profile.
pub fn notification_path(reason: &str, issue_id: i64) -> String {
    match reason {
        notification_reason::ACCESS_ASKED => "/access".to_string(),
        notification_reason::ACCESS_ANSWERED => "/profile#access-requests".to_string(),
        _ => format!("/issues/{issue_id}"),
    }
}

/// Notifications the inbox shows at once, newest first.
pub const INBOX_SIZE: i64 = 50;
/// The bell counts up to this many unread ("99+").
pub const UNREAD_CAP: i64 = 99;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Notification {
    pub id: i64,
    /// 0 for a request for access.
    pub issue_id: i64,
    /// Why it reached them ([`notification_reason`]).
    pub reason: String,
    pub actor_name: String,
    /// "John commented on #12 “Login fails”".
    pub summary: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub read_at: Option<i64>,
}

/// The newest notifications and how many are unread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub notifications: Vec<Notification>,
    /// Up to one past [`UNREAD_CAP`].
    pub unread: i64,
}

/// How a person wants to be told of their notifications by e-mail (when the server mails).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailPreference {
    None,
    #[default]
    Immediately,
    Daily,
}

impl MailPreference {
    pub const ALL: [Self; 3] = [Self::Immediately, Self::Daily, Self::None];

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Immediately => "immediately",
            Self::Daily => "daily",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mail| mail.name() == name)
    }

    /// As the profile offers it.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "Never",
            Self::Immediately => "As it happens",
            Self::Daily => "Once a day, a digest",
        }
    }
}

/// What the profile shows of e-mail: the address the provider gave, and the preference. Absent
/// when the server does not mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSettings {
    pub address: Option<String>,
    pub preference: MailPreference,
}

/// The bell's count as people read it: nothing when none, `99+` past the cap.
pub fn unread_text(unread: i64) -> Option<String> {
    match unread {
        0 => None,
        n if n > UNREAD_CAP => Some(format!("{UNREAD_CAP}+")),
        n => Some(n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::unread_text;

    #[test]
    fn the_bell_counts_up_to_its_cap() {
        assert_eq!(unread_text(0), None);
        assert_eq!(unread_text(7).as_deref(), Some("7"));
        assert_eq!(unread_text(100).as_deref(), Some("99+"));
    }
}
