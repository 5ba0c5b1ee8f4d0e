//! Triage: an issue's priority and due date, the labels put on it, the board's sorts, and the
//! events of an issue's history.

use serde::{Deserialize, Serialize};

use super::validation::has_control_characters;

/// How urgent an issue is; stored as 0–4, written as its name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Self; 5] = [Self::None, Self::Low, Self::Medium, Self::High, Self::Urgent];

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// As people read it: "No priority", "High", …
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "No priority",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Urgent => "Urgent",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|priority| priority.name() == name)
    }

    pub fn rank(self) -> i64 {
        self as i64
    }
}

impl TryFrom<i64> for Priority {
    type Error = String;
    fn try_from(rank: i64) -> Result<Self, String> {
        usize::try_from(rank)
            .ok()
            .and_then(|rank| Self::ALL.get(rank).copied())
            .ok_or_else(|| format!("no priority ranks {rank}"))
    }
}

/// A due date as written, `YYYY-MM-DD`, checked to be a day of the calendar (years 2000–2999).
pub fn parse_due(text: &str) -> Result<String, String> {
    let text = text.trim();
    let problem = || format!("A due date is a day written YYYY-MM-DD, e.g. 2027-01-31 (not `{text}`).");
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts[..] else {
        return Err(problem());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(problem());
    }
    let number = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(year), number(month), number(day)) else {
        return Err(problem());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(problem()),
    };
    if !(2000..=2999).contains(&year) || day == 0 || day > days {
        return Err(problem());
    }
    Ok(text.to_string())
}

pub const LABEL_NAME_MAX_CHARS: usize = 50;
pub const LABEL_DESCRIPTION_MAX_CHARS: usize = 200;
/// Labels one issue may carry.
pub const LABELS_PER_ISSUE_MAX: usize = 20;

/// A label as defined: a name, a colour (`#rrggbb`) and a short description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub description: String,
    /// Live issues carrying it (the counts per label).
    #[cfg_attr(feature = "ssr", sqlx(default))]
    #[serde(default)]
    pub issue_count: i64,
}

/// A label as an issue carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LabelRef {
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// A label to define or redefine, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelInput {
    pub name: String,
    pub color: String,
    pub description: String,
}

impl LabelInput {
    /// Name 1–50 characters (no control characters, no comma: filters list names with commas),
    /// colour `#rrggbb`, description at most 200 characters.
    pub fn parse(name: &str, color: &str, description: &str) -> Result<Self, String> {
        let name = name.trim();
        let length = name.chars().count();
        if length == 0 || length > LABEL_NAME_MAX_CHARS {
            return Err(format!("A label's name is 1 to {LABEL_NAME_MAX_CHARS} characters."));
        }
        if has_control_characters(name) || name.contains([',', '\n', '\r', '\t']) {
            return Err("A label's name has no commas or control characters.".into());
        }
        let color = color.trim().to_ascii_lowercase();
        if color.len() != 7 || !color.starts_with('#') || !color[1..].chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "A label's colour is written #rrggbb, e.g. #d73a4a (not `{color}`)."
            ));
        }
        let description = description.trim();
        if description.chars().count() > LABEL_DESCRIPTION_MAX_CHARS || has_control_characters(description) {
            return Err(format!(
                "A label's description is one line of at most {LABEL_DESCRIPTION_MAX_CHARS} characters."
            ));
        }
        Ok(Self {
            name: name.to_string(),
            color,
            description: description.to_string(),
        })
    }

    /// The name as compared: one label however it is capitalised.
    pub fn key(&self) -> String {
        label_key(&self.name)
    }
}

pub fn label_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// How the board orders issues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    /// Recently updated first.
    Updated,
    /// Most urgent first, newest first within a priority.
    Priority,
    /// Soonest due first; issues without a due date last.
    Due,
}

impl Sort {
    pub const ALL: [Self; 5] = [Self::Newest, Self::Oldest, Self::Updated, Self::Priority, Self::Due];

    pub fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Updated => "updated",
            Self::Priority => "priority",
            Self::Due => "due",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Newest => "Newest",
            Self::Oldest => "Oldest",
            Self::Updated => "Recently updated",
            Self::Priority => "Priority",
            Self::Due => "Due date",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.name() == name)
    }
}

/// Where a page of the board starts: after this issue, in the board's sort. Written as text
/// (`id`, or `key.id` where the sort has a key: the update time, the priority's rank, the due
/// date or `none`), read back only with the same sort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: CursorKey,
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorKey {
    /// Newest or oldest first: the id is the key.
    Id,
    /// Recently updated (the update time) or priority (its rank).
    Number(i64),
    /// Due date; `None`: the issues without one (they come last).
    Due(Option<String>),
}

impl Cursor {
    /// Newest first, from before issue `id` (the REST API's `before`).
    pub fn before(id: i64) -> Self {
        Self { key: CursorKey::Id, id }
    }

    pub fn parse(sort: Sort, text: &str) -> Result<Self, String> {
        let wrong = || format!("`{text}` is not a cursor of this sort: pass back a page's next_cursor");
        let (key, id) = match sort {
            Sort::Newest | Sort::Oldest => (None, text),
            _ => {
                let (key, id) = text.rsplit_once('.').ok_or_else(wrong)?;
                (Some(key), id)
            }
        };
        let id: i64 = id.parse().map_err(|_| wrong())?;
        let key = match (sort, key) {
            (Sort::Newest | Sort::Oldest, _) => CursorKey::Id,
            (Sort::Updated | Sort::Priority, Some(key)) => CursorKey::Number(key.parse().map_err(|_| wrong())?),
            (Sort::Due, Some("none")) => CursorKey::Due(None),
            (Sort::Due, Some(day)) => CursorKey::Due(Some(parse_due(day).map_err(|_| wrong())?)),
            _ => return Err(wrong()),
        };
        Ok(Self { key, id })
    }
}

/// What one event in an issue's history says happened.
pub mod event_kind {
    pub const CREATED: &str = "created";
    pub const TITLE: &str = "title";
    pub const DESCRIPTION: &str = "description";
    pub const STATUS: &str = "status";
    pub const ASSIGNEE: &str = "assignee";
    pub const PRIORITY: &str = "priority";
    pub const DUE: &str = "due";
    pub const LABEL_ADDED: &str = "label_added";
    pub const LABEL_REMOVED: &str = "label_removed";
    pub const DELETED: &str = "deleted";
    pub const RESTORED: &str = "restored";
    /// A comment was edited; `new_value` names it (`comment 7`), as do the others below. (A
    /// comment added is in the thread, which the timeline interleaves, not an event.)
    pub const COMMENT_EDITED: &str = "comment_edited";
    pub const COMMENT_DELETED: &str = "comment_deleted";
    pub const COMMENT_HIDDEN: &str = "comment_hidden";
    pub const COMMENT_SHOWN: &str = "comment_shown";
}

/// One change in an issue's history: who, when, and the value before and after (as people
/// read it: a name, a date, a label's name; absent where there was none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct IssueEvent {
    pub id: i64,
    pub issue_id: i64,
    /// `created`, `title`, `description`, `status`, `assignee`, `priority`, `due`,
    /// `label_added`, `label_removed`, `deleted`, `restored`, or about a comment (`new_value`
    /// names it): `comment_edited`, `comment_deleted`, `comment_hidden`, `comment_shown`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<String>,
    pub actor_sub: String,
    pub actor_name: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

/// A page of an issue's history, oldest first; `next_after` continues it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<IssueEvent>,
    pub next_after: Option<i64>,
}

/// How an edit changes an issue's labels (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelEdit {
    /// Exactly these.
    Set(Vec<String>),
    /// These as well.
    Add(Vec<String>),
    /// Not these.
    Remove(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_are_days_of_the_calendar() {
        assert_eq!(parse_due("2027-01-31").unwrap(), "2027-01-31");
        assert_eq!(parse_due(" 2028-02-29 ").unwrap(), "2028-02-29");
        for wrong in [
            "2027-02-29",
            "2027-13-01",
            "2027-1-01",
            "27-01-01",
            "2027-01-32",
            "",
            "2027/01/01",
            "1999-12-31",
            "2027-00-10",
            "+027-01-01",
        ] {
            assert!(parse_due(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn cursors_read_back_in_their_sort_only() {
        assert_eq!(Cursor::parse(Sort::Newest, "42").unwrap(), Cursor::before(42));
        assert_eq!(Cursor::parse(Sort::Priority, "3.17").unwrap().key, CursorKey::Number(3));
        assert_eq!(
            Cursor::parse(Sort::Due, "2027-01-31.9").unwrap().key,
            CursorKey::Due(Some("2027-01-31".into()))
        );
        assert_eq!(Cursor::parse(Sort::Due, "none.9").unwrap().key, CursorKey::Due(None));
        for (sort, wrong) in [
            (Sort::Newest, "x"),
            (Sort::Updated, "17"),
            (Sort::Due, "soon.3"),
            (Sort::Priority, "a.b"),
        ] {
            assert!(Cursor::parse(sort, wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn priorities_read_and_rank() {
        assert_eq!(Priority::parse("urgent"), Some(Priority::Urgent));
        assert_eq!(Priority::try_from(3).unwrap(), Priority::High);
        assert!(Priority::try_from(5).is_err());
        assert_eq!(serde_json::to_string(&Priority::Medium).unwrap(), "\"medium\"");
        assert!(Priority::Urgent > Priority::Low);
    }

    #[test]
    fn labels_are_checked_and_compared_without_case() {
        let label = LabelInput::parse(" Bug ", "#D73A4A", "Something is broken").unwrap();
        assert_eq!(
            (label.name.as_str(), label.color.as_str(), label.key()),
            ("Bug", "#d73a4a", "bug".to_string())
        );
        assert!(LabelInput::parse("", "#ffffff", "").is_err());
        assert!(LabelInput::parse("a,b", "#ffffff", "").is_err());
        assert!(LabelInput::parse("ok", "red", "").is_err());
        assert!(LabelInput::parse("ok", "#ggg000", "").is_err());
        assert!(LabelInput::parse(&"x".repeat(51), "#ffffff", "").is_err());
    }
}
