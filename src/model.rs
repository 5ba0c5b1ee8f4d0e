//! Data the browser and the server share, and the validation of what users type.

use serde::{Deserialize, Serialize};

use crate::access::Permissions;

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
/// Issues per page of the list.
pub const PAGE_SIZE: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Issue {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub author_sub: String,
    pub author_name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// One page of issues, newest first. `next_before` continues the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuePage {
    pub issues: Vec<Issue>,
    pub next_before: Option<i64>,
}

/// A page as the server function answers it. On the server it may carry the page's JSON,
/// written once when the page was cached and sent as is; in the browser it is the page read
/// from that JSON. Cloning shares the page.
#[derive(Debug, Clone, Default)]
pub struct SharedPage {
    page: std::sync::Arc<IssuePage>,
    #[cfg(feature = "ssr")]
    json: Option<std::sync::Arc<Box<serde_json::value::RawValue>>>,
}

impl SharedPage {
    pub fn new(page: IssuePage) -> Self {
        Self {
            page: std::sync::Arc::new(page),
            #[cfg(feature = "ssr")]
            json: None,
        }
    }

    /// `json` must be `page` serialized.
    #[cfg(feature = "ssr")]
    pub fn with_json(page: std::sync::Arc<IssuePage>, json: std::sync::Arc<Box<serde_json::value::RawValue>>) -> Self {
        Self { page, json: Some(json) }
    }
}

impl std::ops::Deref for SharedPage {
    type Target = IssuePage;
    fn deref(&self) -> &IssuePage {
        &self.page
    }
}

impl Serialize for SharedPage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[cfg(feature = "ssr")]
        if let Some(json) = &self.json {
            return json.serialize(serializer);
        }
        self.page.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SharedPage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IssuePage::deserialize(deserializer).map(Self::new)
    }
}

/// What the UI knows about the caller: decided on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user: Option<UserSummary>,
    pub permissions: Permissions,
    pub scopes: Vec<String>,
    /// Shown once, e.g. "Your session ended. Sign in again."
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub name: String,
}

/// Per-field validation messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors {
    pub title: Option<String>,
    pub description: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none()
    }
}

/// A validated new issue: title trimmed, 1–200 characters; description at most 10,000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssue {
    pub title: String,
    pub description: String,
}

impl NewIssue {
    pub fn parse(title: &str, description: &str) -> Result<Self, FieldErrors> {
        let title = title.trim();
        let description = description.trim_end();
        let errors = FieldErrors {
            title: title_problem(title),
            description: description_problem(description),
        };
        if errors.is_empty() {
            Ok(Self {
                title: title.to_string(),
                description: description.to_string(),
            })
        } else {
            Err(errors)
        }
    }
}

pub fn title_problem(title: &str) -> Option<String> {
    let title = title.trim();
    let length = title.chars().count();
    if length == 0 {
        Some("Enter a title.".into())
    } else if length > TITLE_MAX_CHARS {
        Some(format!(
            "Keep the title to {TITLE_MAX_CHARS} characters ({length} now)."
        ))
    } else if title.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Some("The title contains control characters.".into())
    } else {
        None
    }
}

pub fn description_problem(description: &str) -> Option<String> {
    let length = description.chars().count();
    if length > DESCRIPTION_MAX_CHARS {
        Some(format!(
            "Keep the description to {DESCRIPTION_MAX_CHARS} characters ({length} now)."
        ))
    } else if description
        .chars()
        .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c))
    {
        Some("The description contains control characters.".into())
    } else {
        None
    }
}

/// Unicode bidirectional overrides and isolates (the "Trojan Source" characters).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(NewIssue::parse("  Broken  ", "").unwrap().title, "Broken");
        assert!(NewIssue::parse("   ", "").unwrap_err().title.is_some());
        assert!(NewIssue::parse(&"x".repeat(201), "").unwrap_err().title.is_some());
        assert!(NewIssue::parse(&"é".repeat(200), "").is_ok());
        assert!(NewIssue::parse("a\u{0}b", "").unwrap_err().title.is_some());
        assert!(NewIssue::parse("a\u{202E}b", "").unwrap_err().title.is_some());
        assert!(
            NewIssue::parse("ok", &"d".repeat(10_001))
                .unwrap_err()
                .description
                .is_some()
        );
        assert!(NewIssue::parse("ok", "line one\nline two\ttab").is_ok());
        // Markup and SQL are data: stored as given.
        assert_eq!(
            NewIssue::parse("<script>x</script>", "").unwrap().title,
            "<script>x</script>"
        );
        assert_eq!(
            NewIssue::parse("'; DROP TABLE issues;--", "").unwrap().title,
            "'; DROP TABLE issues;--"
        );
    }
}

/// One event of the audit trail, as operators read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub request_id: Option<String>,
    /// `sign_in`, `sign_out`, `authorization` or `issue_created`.
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
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}
