//! Issues, their comments and the board's pages and filters.

use serde::{Deserialize, Serialize};

use super::triage::{Cursor, LabelEdit, LabelRef, Priority, Sort, label_key};
use super::validation::has_control_characters;

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
    #[cfg_attr(feature = "ssr", sqlx(try_from = "i64"))]
    pub priority: Priority,
    /// The day it is due (`YYYY-MM-DD`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "due_date"))]
    pub due: Option<String>,
    /// Its labels, by name. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub labels: Vec<LabelRef>,
}

impl Issue {
    pub fn is_open(&self) -> bool {
        self.status == OPEN
    }

    /// The cursor of the board page that starts after this issue in `sort` (see [`Cursor`]).
    pub fn cursor_after(&self, sort: Sort) -> String {
        match sort {
            Sort::Newest | Sort::Oldest => self.id.to_string(),
            Sort::Updated => format!("{}.{}", self.updated_at, self.id),
            Sort::Priority => format!("{}.{}", self.priority.rank(), self.id),
            Sort::Due => format!("{}.{}", self.due.as_deref().unwrap_or("none"), self.id),
        }
    }
}

pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// With a search, issues are counted up to this many per status: counting every match of a
/// common word would read them all.
pub const SEARCH_COUNT_CAP: i64 = 10_000;

/// A filtered board (an assignee, an author, labels, a priority) counts up to this many issues;
/// more read as `1,000+`. The unfiltered board's counts are kept, exact.
pub const FILTER_COUNT_CAP: i64 = 1_000;

/// Issues per status (deleted ones not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    pub open: i64,
    pub closed: i64,
    /// Counting stopped (a search's at 10,000 hits or at its time limit, a filtered board's at
    /// 1,000): `open` is at least this many, shown as "N+"; both flags are set together. Absent
    /// when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub open_capped: bool,
    /// As `open_capped`, for `closed`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed_capped: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A count as people read it: `1,234`, or `10,000+` for a count that stopped at the cap.
pub fn count_text(count: i64, capped: bool) -> String {
    let digits = count.unsigned_abs().to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    if count < 0 {
        text.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    if capped {
        text.push('+');
    }
    text
}

/// One page of issues, newest first. `next_before` continues the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssuePage {
    pub issues: Vec<Issue>,
    /// Newest first: the id to continue before (also in `next_cursor`).
    pub next_before: Option<i64>,
    /// Where the next page starts, in any sort: pass it back as `cursor`. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
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
    /// Issues carrying every one of these labels (their names as compared, lowercase).
    pub labels: Vec<String>,
    pub priority: Option<Priority>,
    /// Issues changed at or after this time (milliseconds since the Unix epoch): what a program
    /// polling the list has not seen.
    pub updated_since: Option<i64>,
    pub sort: Sort,
}

/// The board's view as its URL (and the server function's arguments) carry it: every filter,
/// the sort and where the page starts, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardQuery {
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub author: Option<String>,
    pub q: Option<String>,
    pub label: Option<String>,
    pub priority: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
}

impl BoardQuery {
    /// The filter and where the page starts: `cursor` in the filter's sort (a search reads
    /// newest first), or, newest first, `before` an issue's id.
    pub fn read(
        &self,
        before: Option<i64>,
        default_status: Option<&'static str>,
        caller_sub: &str,
    ) -> Result<(BoardFilter, Option<Cursor>), String> {
        let filter = BoardFilter::parse(
            self.status.as_deref(),
            self.assignee.as_deref(),
            self.author.as_deref(),
            self.q.as_deref(),
            default_status,
            caller_sub,
        )?
        .with_triage(self.label.as_deref(), self.priority.as_deref(), self.sort.as_deref())?;
        let sort = if filter.search.is_some() {
            Sort::Newest
        } else {
            filter.sort
        };
        let cursor = match (self.cursor.as_deref().filter(|c| !c.is_empty()), before) {
            (Some(cursor), _) => Some(Cursor::parse(sort, cursor)?),
            (None, Some(before)) if sort == Sort::Newest => Some(Cursor::before(before)),
            (None, Some(_)) => return Err("`before` goes with the newest-first sort; use `cursor`".into()),
            (None, None) => None,
        };
        Ok((filter, cursor))
    }
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
            ..Self::default()
        })
    }

    /// The triage filters and the order, from the query parameters `label` (names, comma
    /// separated), `priority` and `sort`.
    pub fn with_triage(
        mut self,
        labels: Option<&str>,
        priority: Option<&str>,
        sort: Option<&str>,
    ) -> Result<Self, String> {
        if let Some(labels) = labels.filter(|s| !s.trim().is_empty()) {
            let mut keys: Vec<String> = labels.split(',').map(label_key).filter(|key| !key.is_empty()).collect();
            keys.sort();
            keys.dedup();
            if keys.len() > 10
                || keys
                    .iter()
                    .any(|key| key.chars().count() > 50 || has_control_characters(key))
            {
                return Err("label names at most 10 labels of at most 50 characters".into());
            }
            self.labels = keys;
        }
        self.priority = match priority.filter(|s| !s.is_empty() && *s != "any") {
            None => None,
            Some(name) => Some(Priority::parse(name).ok_or("priority is `none`, `low`, `medium`, `high` or `urgent`")?),
        };
        self.sort = match sort.filter(|s| !s.is_empty()) {
            None => Sort::Newest,
            Some(name) => Sort::parse(name).ok_or("sort is `newest`, `oldest`, `updated`, `priority` or `due`")?,
        };
        Ok(self)
    }

    /// No filter but the status, newest first: the pages kept in memory.
    pub fn is_plain(&self) -> bool {
        self.unfiltered() && self.sort == Sort::Newest
    }

    /// No filter but the status, in any order: the counts kept in `issue_counts`.
    pub fn unfiltered(&self) -> bool {
        self.assignee == AssigneeFilter::Anyone
            && self.author.is_none()
            && self.search.is_none()
            && self.labels.is_empty()
            && self.priority.is_none()
            && self.updated_since.is_none()
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
    /// When its author last edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// When its author deleted it: its text is gone (`body` is empty), its place kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    /// Who hid it (someone who may edit issues), while it is hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_by_name: Option<String>,
    /// The body as the page shows it: Markdown rendered and sanitized on the server. Only in
    /// the page's data (server functions), not the REST API.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", sqlx(skip), schema(ignore))]
    pub body_html: String,
    /// Its earlier bodies, oldest first, when it was edited (the page's data only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ssr", sqlx(skip), schema(ignore))]
    pub revisions: Vec<CommentRevision>,
    /// The caller wrote it: they may edit and delete it (the page's data only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ssr", sqlx(skip), schema(ignore))]
    pub mine: bool,
}

/// A comment's body as it was before an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct CommentRevision {
    pub comment_id: i64,
    pub body: String,
    /// When it was replaced, and by whom (its author).
    pub replaced_at: i64,
    pub editor_name: String,
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

/// An issue as its page's controls need it: the issue and (for those who may assign) the
/// people it can be assigned to. The thread is read on its own (`list_comments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueDetail {
    pub issue: Issue,
    pub people: Vec<Person>,
    /// Every label, for those who may put them on (else none).
    pub labels: Vec<super::triage::Label>,
    /// The description as the page shows it: Markdown rendered and sanitized on the server.
    pub description_html: String,
}

/// Events of an issue's history on its page.
pub const HISTORY_PAGE_SIZE: i64 = 200;

/// A change to an issue; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<&'static str>,
    /// `Some(None)`: unassign.
    pub assignee: Option<Option<String>>,
    pub priority: Option<Priority>,
    /// `Some(None)`: no due date.
    pub due: Option<Option<String>>,
    pub labels: Option<LabelEdit>,
}

impl IssueChange {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.status.is_none()
            && self.assignee.is_none()
            && self.priority.is_none()
            && self.due.is_none()
            && self.labels.is_none()
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

/// A page as the server function answers it. On the server it may carry the page's JSON,
/// written once when the page was cached and sent as is; in the browser it is the page read
/// from that JSON. Cloning shares the page.
#[derive(Debug, Clone, Default)]
pub struct SharedPage {
    page: std::sync::Arc<IssuePage>,
    #[cfg(feature = "ssr")]
    json: Option<PageJsonText>,
}

/// A page's JSON, written once when the page was cached: to write into a larger document
/// (`raw`), or to send as the whole answer (`bytes`, the same text).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct PageJsonText {
    pub raw: std::sync::Arc<Box<serde_json::value::RawValue>>,
    pub bytes: bytes::Bytes,
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
    pub fn with_json(page: std::sync::Arc<IssuePage>, json: PageJsonText) -> Self {
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
            return json.raw.serialize(serializer);
        }
        self.page.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SharedPage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IssuePage::deserialize(deserializer).map(Self::new)
    }
}

/// `list_issues`' answer: JSON, as every server function's, but a page cached with its JSON is
/// sent as those very bytes (serializing it again would copy about 10 KB through a growing
/// buffer on every call).
pub struct PageJson;

impl leptos::server_fn::ContentType for PageJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl leptos::server_fn::FormatType for PageJson {
    const FORMAT_TYPE: leptos::server_fn::Format = leptos::server_fn::Format::Text;
}

impl leptos::server_fn::Encodes<SharedPage> for PageJson {
    type Error = serde_json::Error;

    fn encode(page: &SharedPage) -> Result<leptos::server_fn::Bytes, serde_json::Error> {
        #[cfg(feature = "ssr")]
        if let Some(json) = &page.json {
            return Ok(json.bytes.clone());
        }
        serde_json::to_vec(page).map(Into::into)
    }
}

impl leptos::server_fn::Decodes<SharedPage> for PageJson {
    type Error = serde_json::Error;

    fn decode(bytes: leptos::server_fn::Bytes) -> Result<SharedPage, serde_json::Error> {
        serde_json::from_slice(&bytes)
    }
}

#[cfg(all(test, feature = "ssr"))]
mod page_json_tests {
    use leptos::server_fn::{Decodes, Encodes};

    use super::{IssuePage, PageJson, PageJsonText, SharedPage, StatusCounts};

    fn page() -> IssuePage {
        IssuePage {
            next_before: Some(7),
            counts: StatusCounts {
                open: 2,
                closed: 1,
                ..StatusCounts::default()
            },
            ..IssuePage::default()
        }
    }

    #[test]
    fn a_cached_page_is_answered_with_its_own_bytes_and_reads_back_the_same() {
        let text = serde_json::to_string(&page()).unwrap();
        let json = PageJsonText {
            raw: std::sync::Arc::new(serde_json::value::RawValue::from_string(text.clone()).unwrap()),
            bytes: bytes::Bytes::from(text.clone()),
        };
        let cached = SharedPage::with_json(std::sync::Arc::new(page()), json.clone());
        let answer = PageJson::encode(&cached).unwrap();
        // The very buffer the cache holds: no copy.
        assert_eq!(answer.as_ptr(), json.bytes.as_ptr());
        assert_eq!(answer, text.as_bytes());
        let read: SharedPage = PageJson::decode(answer).unwrap();
        assert_eq!(*read, page());
        // A page without its JSON is serialized as any other answer.
        let plain = PageJson::encode(&SharedPage::new(page())).unwrap();
        assert_eq!(plain, text.as_bytes());
    }
}

#[cfg(test)]
mod count_tests {
    use super::{StatusCounts, count_text};

    #[test]
    fn counts_read_with_separators_and_a_plus_when_capped() {
        assert_eq!(count_text(0, false), "0");
        assert_eq!(count_text(999, false), "999");
        assert_eq!(count_text(1_234, false), "1,234");
        assert_eq!(count_text(10_000, true), "10,000+");
        assert_eq!(count_text(1_234_567, false), "1,234,567");
    }

    #[test]
    fn counts_without_the_cap_flags_read_and_write_as_before() {
        let counts: StatusCounts = serde_json::from_str(r#"{"open": 2, "closed": 1}"#).unwrap();
        assert_eq!(
            counts,
            StatusCounts {
                open: 2,
                closed: 1,
                ..StatusCounts::default()
            }
        );
        assert_eq!(serde_json::to_string(&counts).unwrap(), r#"{"open":2,"closed":1}"#);
        let capped = StatusCounts {
            open: 10_000,
            open_capped: true,
            ..counts
        };
        assert_eq!(
            serde_json::to_string(&capped).unwrap(),
            r#"{"open":10000,"closed":1,"open_capped":true}"#
        );
    }
}
