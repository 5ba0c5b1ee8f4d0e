//! Data the browser and the server share, and the validation of what users type.

use serde::{Deserialize, Serialize};

use crate::access::Permissions;

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
pub const COMMENT_MAX_CHARS: usize = 10_000;
/// Issues per page of the board.
pub const PAGE_SIZE: i64 = 20;
/// Comments per page of an issue's thread.
pub const COMMENT_PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct Issue {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// `open` or `closed`.
    pub status: String,
    pub author_sub: String,
    pub author_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_name: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When the issue last changed (milliseconds since the Unix epoch).
    pub updated_at: i64,
    /// When it was closed, while it is closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by_name: Option<String>,
    pub comment_count: i64,
    /// Bumped by every change; an edit carries the version it was made from (REST: the `ETag`).
    pub version: i64,
}

impl Issue {
    pub fn is_open(&self) -> bool {
        self.status == OPEN
    }
}

pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// Issues per status (deleted ones not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    pub open: i64,
    pub closed: i64,
}

/// One page of issues, newest first. `next_before` continues the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssuePage {
    pub issues: Vec<Issue>,
    pub next_before: Option<i64>,
    /// Per status, under the same filters (assignee, author, search).
    pub counts: StatusCounts,
}

/// Which issues the board shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BoardFilter {
    /// `None`: open and closed.
    pub status: Option<&'static str>,
    pub assignee: AssigneeFilter,
    /// An author's `sub`.
    pub author: Option<String>,
    /// Words to find in titles, descriptions and comments.
    pub search: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Unassigned,
    Person(String),
}

impl BoardFilter {
    /// The filter from the board's query parameters: `status` (`open`, `closed`, `all`;
    /// `default_status` when absent), `assignee` (`anyone`, `me`, `unassigned`, or a `sub`),
    /// `author` (`me` or a `sub`), `q`. `me` is `caller_sub`.
    pub fn parse(
        status: Option<&str>,
        assignee: Option<&str>,
        author: Option<&str>,
        search: Option<&str>,
        default_status: Option<&'static str>,
        caller_sub: &str,
    ) -> Result<Self, String> {
        let status = match status.filter(|s| !s.is_empty()) {
            None => default_status,
            Some("open") => Some(OPEN),
            Some("closed") => Some(CLOSED),
            Some("all") => None,
            Some(_) => return Err("status is `open`, `closed` or `all`".into()),
        };
        let me = |value: &str| match value {
            "me" => caller_sub.to_string(),
            other => other.to_string(),
        };
        let assignee = match assignee.filter(|s| !s.is_empty()) {
            None | Some("anyone") => AssigneeFilter::Anyone,
            Some("unassigned") => AssigneeFilter::Unassigned,
            Some(person) => AssigneeFilter::Person(me(person)),
        };
        let author = author.filter(|s| !s.is_empty() && *s != "anyone").map(me);
        let search = search.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err("keep the search to 200 characters".into());
        }
        let person = match &assignee {
            AssigneeFilter::Person(sub) => Some(sub),
            _ => None,
        };
        if [person, author.as_ref(), search.as_ref()]
            .into_iter()
            .flatten()
            .any(|value| has_control_characters(value) || value.contains(['\n', '\r', '\t']))
        {
            return Err("the filters contain control characters".into());
        }
        Ok(Self {
            status,
            assignee,
            author,
            search,
        })
    }

    /// No filter but the status: the pages kept in memory.
    pub fn is_plain(&self) -> bool {
        self.assignee == AssigneeFilter::Anyone && self.author.is_none() && self.search.is_none()
    }
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct Comment {
    pub id: i64,
    pub issue_id: i64,
    pub body: String,
    pub author_sub: String,
    pub author_name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A page of an issue's comments, oldest first. `next_after` continues the thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    pub next_after: Option<i64>,
}

/// Someone who has signed in: an issue can be assigned to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct Person {
    pub sub: String,
    pub name: String,
}

/// An issue's page: the issue, the first page of its thread, and (for those who may assign)
/// the people it can be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueDetail {
    pub issue: Issue,
    pub comments: CommentPage,
    pub people: Vec<Person>,
}

/// A change to an issue; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<&'static str>,
    /// `Some(None)`: unassign.
    pub assignee: Option<Option<String>>,
}

impl IssueChange {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.status.is_none() && self.assignee.is_none()
    }
}

/// `open` or `closed` as the static names the database stores.
pub fn parse_status(status: &str) -> Option<&'static str> {
    match status {
        "open" => Some(OPEN),
        "closed" => Some(CLOSED),
        _ => None,
    }
}

/// A comment's body: trimmed, 1–10,000 characters, no control characters but line breaks and
/// tabs.
pub fn parse_comment(body: &str) -> Result<String, String> {
    let body = body.trim();
    let length = body.chars().count();
    if length == 0 {
        Err("Write a comment.".into())
    } else if length > COMMENT_MAX_CHARS {
        Err(format!(
            "Keep the comment to {COMMENT_MAX_CHARS} characters ({length} now)."
        ))
    } else if has_control_characters(body) {
        Err("The comment contains control characters.".into())
    } else {
        Ok(body.to_string())
    }
}

fn has_control_characters(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c))
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
    /// Whom to ask for more access (config.json), shown with the "why" lines.
    pub access_help: Option<crate::access::AccessHelp>,
    /// When the session ends (signed in only).
    pub deadlines: Option<SessionDeadlines>,
}

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
}

/// Per-field validation messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldErrors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
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
            ..FieldErrors::default()
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
    } else if has_control_characters(description) {
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
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub request_id: Option<String>,
    /// `sign_in`, `sign_out`, `authorization`, `issue_created`, `issue_edited`, `issue_closed`,
    /// `issue_reopened`, `issue_assigned`, `issue_deleted` or `comment_added`.
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}
