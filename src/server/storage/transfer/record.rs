//! The records of an export (its lines: the header, then rows of the team's tables) and the
//! tables they are rows of, as the export reads them and the import writes them.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::format::Counts;
use crate::server::storage::sql::Param;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The first line, and only there.
    #[serde(rename = "issues-app-export")]
    Header(Header),
    Issue(IssueRow),
    Comment(CommentRow),
    CommentRevision(CommentRevisionRow),
    Mention(MentionRow),
    Person(PersonRow),
    Label(LabelRow),
    IssueLabel(IssueLabelRow),
    IssueEvent(IssueEventRow),
    AuditEvent(AuditEventRow),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub version: u64,
    /// The versions of the migrations applied to the database exported.
    #[serde(default)]
    pub migrations: Vec<i64>,
}

/// A row of `issues`, deleted or not. Times in milliseconds since the Unix epoch. `priority`
/// and `due_date` (triage) read as 0 and none when absent: exports made before them import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct IssueRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// `open` or `closed`.
    pub status: String,
    pub author_sub: String,
    pub author_name: String,
    pub assignee_sub: Option<String>,
    pub assignee_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub closed_by_sub: Option<String>,
    pub closed_by_name: Option<String>,
    pub version: i64,
    pub comment_count: i64,
    /// When it was (soft-)deleted.
    pub deleted_at: Option<i64>,
    /// 0 (none) to 4 (urgent).
    #[serde(default)]
    pub priority: i64,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_date: Option<String>,
}

/// A row of `comments`, deleted or hidden or not. Times in milliseconds since the Unix epoch.
/// `edited_at`, `deleted_at`, `hidden_by_name` and `hidden_by_sub` read as none when absent: exports made before
/// comments could change import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct CommentRow {
    pub id: i64,
    pub issue_id: i64,
    /// Empty once its author deleted it.
    pub body: String,
    pub author_sub: String,
    pub author_name: String,
    pub created_at: i64,
    /// When its author last edited it (its earlier bodies are `comment_revision` records).
    #[serde(default)]
    pub edited_at: Option<i64>,
    /// When its author deleted it: its text erased (earlier bodies too), its place kept.
    #[serde(default)]
    pub deleted_at: Option<i64>,
    /// Who hid it (someone who may edit issues), while it is hidden.
    #[serde(default)]
    pub hidden_by_name: Option<String>,
    #[serde(default)]
    pub hidden_by_sub: Option<String>,
}

/// A row of `comment_revisions`: comment `comment_id`'s body as it was until `replaced_at`
/// (milliseconds since the Unix epoch), when `editor_name` replaced it. With its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct CommentRevisionRow {
    pub id: i64,
    pub comment_id: i64,
    pub body: String,
    pub replaced_at: i64,
    pub editor_name: String,
}

/// A row of `mentions`: person `sub` is mentioned in comment `comment_id` of issue `issue_id`
/// (0: in the issue's description), since `at` (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct MentionRow {
    pub issue_id: i64,
    pub comment_id: i64,
    pub sub: String,
    pub at: i64,
}

/// A row of `people`. `last_seen_at` in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct PersonRow {
    pub sub: String,
    pub name: String,
    pub last_seen_at: i64,
}

/// A row of `labels`. `created_at` in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct LabelRow {
    pub id: i64,
    pub name: String,
    /// The name as compared (lowercase), unique.
    pub name_key: String,
    /// `#rrggbb`.
    pub color: String,
    pub description: String,
    pub created_at: i64,
}

/// A row of `issue_labels`: label `label_id` is on issue `issue_id` (deleted or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct IssueLabelRow {
    pub issue_id: i64,
    pub label_id: i64,
}

/// A row of `issue_events`: one change in an issue's history. `at` in milliseconds since the
/// Unix epoch. Kept as long as its issue, so always exported (unlike the audit trail), with its
/// id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct IssueEventRow {
    pub id: i64,
    pub issue_id: i64,
    /// The column `kind` (`created`, `status`, `label_added`, …), written as `event` (as an
    /// audit event's): a record's `kind` is its tag.
    #[serde(rename = "event")]
    pub kind: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_sub: String,
    pub actor_name: String,
    pub at: i64,
}

/// A row of `audit_events`. `at` in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct AuditEventRow {
    pub id: i64,
    pub at: i64,
    pub request_id: Option<String>,
    pub event: String,
    pub outcome: String,
    pub actor_sub: Option<String>,
    pub actor_name: Option<String>,
    pub client_id: Option<String>,
    pub permission: Option<String>,
    pub missing_scopes: Option<String>,
    pub via: Option<String>,
    pub detail: Option<String>,
    /// How many times a refusal happened within its minute. Written only when more than once,
    /// and read as 1 when absent: exports made before it was counted import as they are, and a
    /// trail without repeats exports as it did then.
    #[serde(default = "once", skip_serializing_if = "is_once")]
    pub repeats: i64,
}

fn once() -> i64 {
    1
}

fn is_once(repeats: &i64) -> bool {
    *repeats == 1
}

/// A table as the export reads it and the import writes it. `columns` is in the order of the
/// row's fields and of [`Record::values`].
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) columns: &'static str,
    /// The unique column(s) rows are exported in order of.
    key: KeyColumns,
    /// PostgreSQL generates the ids (`GENERATED ALWAYS AS IDENTITY`) unless told to take them.
    pub(super) identity: bool,
    /// How a row meets one already there when merging (`--into-non-empty`).
    pub(super) on_merge: Option<&'static str>,
    /// The importing database numbers the rows (its first column, `id`, is left out): nothing
    /// refers to them, and a database that has run keeps what it recorded. In an empty one
    /// the numbers come out as exported, unless the export's had gaps.
    pub(super) numbered_on_import: bool,
}

/// The columns of a table's key.
enum KeyColumns {
    /// An integer column (`id`).
    Int(&'static str),
    /// A text column, ordered by bytes on both backends (PostgreSQL's default collation would
    /// order it by the server's locale).
    Text(&'static str),
    /// Two integer columns (a primary key of two), ordered by the first, then the second.
    IntPair(&'static str, &'static str),
    /// Two integer columns and a text column (a primary key of three), ordered by the first,
    /// then the second, then the text by bytes (as `Text`).
    IntIntText(&'static str, &'static str, &'static str),
}

const ISSUES: Table = Table {
    name: "issues",
    columns: "id, title, description, status, author_sub, author_name, assignee_sub, assignee_name, \
              created_at, updated_at, closed_at, closed_by_sub, closed_by_name, version, comment_count, \
              deleted_at, priority, due_date",
    key: KeyColumns::Int("id"),
    identity: true,
    on_merge: None,
    numbered_on_import: false,
};

const COMMENTS: Table = Table {
    name: "comments",
    columns: "id, issue_id, body, author_sub, author_name, created_at, edited_at, deleted_at, hidden_by_name, \
              hidden_by_sub",
    key: KeyColumns::Int("id"),
    identity: true,
    on_merge: None,
    numbered_on_import: false,
};

const COMMENT_REVISIONS: Table = Table {
    name: "comment_revisions",
    columns: "id, comment_id, body, replaced_at, editor_name",
    key: KeyColumns::Int("id"),
    identity: true,
    on_merge: None,
    numbered_on_import: false,
};

const MENTIONS: Table = Table {
    name: "mentions",
    columns: "issue_id, comment_id, sub, at",
    key: KeyColumns::IntIntText("issue_id", "comment_id", "sub"),
    identity: false,
    // A mention already recorded is refused, as a label already on an issue is.
    on_merge: None,
    numbered_on_import: false,
};

const PEOPLE: Table = Table {
    name: "people",
    columns: "sub, name, last_seen_at",
    key: KeyColumns::Text("sub"),
    identity: false,
    // The most recently seen name wins, as at sign-in.
    on_merge: Some(
        "ON CONFLICT (sub) DO UPDATE SET name = excluded.name, last_seen_at = excluded.last_seen_at \
         WHERE excluded.last_seen_at > people.last_seen_at",
    ),
    numbered_on_import: false,
};

const LABELS: Table = Table {
    name: "labels",
    columns: "id, name, name_key, color, description, created_at",
    key: KeyColumns::Int("id"),
    identity: true,
    // Ids are kept: a label whose id (or name) is taken is refused, as an issue is.
    on_merge: None,
    numbered_on_import: false,
};

const ISSUE_LABELS: Table = Table {
    name: "issue_labels",
    columns: "issue_id, label_id",
    key: KeyColumns::IntPair("issue_id", "label_id"),
    identity: false,
    on_merge: None,
    numbered_on_import: false,
};

const ISSUE_EVENTS: Table = Table {
    name: "issue_events",
    columns: "id, issue_id, kind, old_value, new_value, actor_sub, actor_name, at",
    key: KeyColumns::Int("id"),
    identity: true,
    on_merge: None,
    numbered_on_import: false,
};

const AUDIT_EVENTS: Table = Table {
    name: "audit_events",
    columns: "id, at, request_id, event, outcome, actor_sub, actor_name, client_id, permission, \
              missing_scopes, via, detail, repeats",
    key: KeyColumns::Int("id"),
    identity: false,
    on_merge: None,
    numbered_on_import: true,
};

/// Every table, in the order an export writes them: parents before the rows referring to
/// them (`comment_revisions` refers to comments; `issue_labels` to issues and labels; comments,
/// `mentions` and `issue_events` to issues), so an import inserting in file order meets every
/// foreign key.
pub(super) const TABLES: [&Table; 9] = [
    &ISSUES,
    &COMMENTS,
    &COMMENT_REVISIONS,
    &MENTIONS,
    &PEOPLE,
    &LABELS,
    &ISSUE_LABELS,
    &ISSUE_EVENTS,
    &AUDIT_EVENTS,
];

/// `column` as compared by bytes: SQLite's default (`BINARY`) does; PostgreSQL's default
/// collation would compare by the server's locale.
fn bytewise(column: &str, postgres: bool) -> String {
    match postgres {
        true => format!("{column} COLLATE \"C\""),
        false => column.to_string(),
    }
}

impl Table {
    /// A page of rows in key order: the first, or those after the key (bound as `$1`, or `$1`
    /// to `$n` for a key of n columns); the page's size is bound last.
    pub(super) fn page_sql(&self, postgres: bool, continuing: bool) -> String {
        let (order, after, limit) = match self.key {
            KeyColumns::Int(column) => (column.to_string(), format!("{column} > $1"), "$2"),
            KeyColumns::Text(column) => {
                let column = bytewise(column, postgres);
                let after = format!("{column} > $1");
                (column, after, "$2")
            }
            // A row value: both backends compare it column by column, and read it along the
            // primary key's index.
            KeyColumns::IntPair(first, second) => (
                format!("{first}, {second}"),
                format!("({first}, {second}) > ($1, $2)"),
                "$3",
            ),
            // The same, the text compared by bytes: PostgreSQL takes a column's collation
            // pair by pair in a row comparison. (There it reads the index for the integers and
            // sorts each pair's few people; SQLite's index is already in byte order.)
            KeyColumns::IntIntText(first, second, third) => {
                let third = bytewise(third, postgres);
                (
                    format!("{first}, {second}, {third}"),
                    format!("({first}, {second}, {third}) > ($1, $2, $3)"),
                    "$4",
                )
            }
        };
        let (columns, name) = (self.columns, self.name);
        match continuing {
            true => format!("SELECT {columns} FROM {name} WHERE {after} ORDER BY {order} LIMIT {limit}"),
            false => format!("SELECT {columns} FROM {name} ORDER BY {order} LIMIT $1"),
        }
    }
}

/// Where an export's next page starts.
pub(super) enum Key {
    Int(i64),
    Text(String),
    IntPair(i64, i64),
    IntIntText(i64, i64, String),
}

/// A row type the export reads from its table.
pub(super) trait Exported: Sized + Send + Unpin + 'static {
    const TABLE: &'static Table;
    fn key(&self) -> Key;
    fn into_record(self) -> Record;
}

impl Exported for IssueRow {
    const TABLE: &'static Table = &ISSUES;
    fn key(&self) -> Key {
        Key::Int(self.id)
    }
    fn into_record(self) -> Record {
        Record::Issue(self)
    }
}

impl Exported for CommentRow {
    const TABLE: &'static Table = &COMMENTS;
    fn key(&self) -> Key {
        Key::Int(self.id)
    }
    fn into_record(self) -> Record {
        Record::Comment(self)
    }
}

impl Exported for CommentRevisionRow {
    const TABLE: &'static Table = &COMMENT_REVISIONS;
    fn key(&self) -> Key {
        Key::Int(self.id)
    }
    fn into_record(self) -> Record {
        Record::CommentRevision(self)
    }
}

impl Exported for MentionRow {
    const TABLE: &'static Table = &MENTIONS;
    fn key(&self) -> Key {
        Key::IntIntText(self.issue_id, self.comment_id, self.sub.clone())
    }
    fn into_record(self) -> Record {
        Record::Mention(self)
    }
}

impl Exported for PersonRow {
    const TABLE: &'static Table = &PEOPLE;
    fn key(&self) -> Key {
        Key::Text(self.sub.clone())
    }
    fn into_record(self) -> Record {
        Record::Person(self)
    }
}

impl Exported for LabelRow {
    const TABLE: &'static Table = &LABELS;
    fn key(&self) -> Key {
        Key::Int(self.id)
    }
    fn into_record(self) -> Record {
        Record::Label(self)
    }
}

impl Exported for IssueLabelRow {
    const TABLE: &'static Table = &ISSUE_LABELS;
    fn key(&self) -> Key {
        Key::IntPair(self.issue_id, self.label_id)
    }
    fn into_record(self) -> Record {
        Record::IssueLabel(self)
    }
}

impl Exported for IssueEventRow {
    const TABLE: &'static Table = &ISSUE_EVENTS;
    fn key(&self) -> Key {
        Key::Int(self.id)
    }
    fn into_record(self) -> Record {
        Record::IssueEvent(self)
    }
}

impl Exported for AuditEventRow {
    const TABLE: &'static Table = &AUDIT_EVENTS;
    fn key(&self) -> Key {
        Key::Int(self.id)
    }
    fn into_record(self) -> Record {
        Record::AuditEvent(self)
    }
}

impl Record {
    /// The table the record is a row of (`None`: the header).
    pub(super) fn table(&self) -> Option<&'static Table> {
        match self {
            Self::Header(_) => None,
            Self::Issue(_) => Some(&ISSUES),
            Self::Comment(_) => Some(&COMMENTS),
            Self::CommentRevision(_) => Some(&COMMENT_REVISIONS),
            Self::Mention(_) => Some(&MENTIONS),
            Self::Person(_) => Some(&PEOPLE),
            Self::Label(_) => Some(&LABELS),
            Self::IssueLabel(_) => Some(&ISSUE_LABELS),
            Self::IssueEvent(_) => Some(&ISSUE_EVENTS),
            Self::AuditEvent(_) => Some(&AUDIT_EVENTS),
        }
    }

    /// The row's values in the order of its table's `columns`.
    pub(super) fn values(&self) -> Vec<Param> {
        match self {
            Self::Header(_) => Vec::new(),
            Self::Issue(row) => vec![
                Param::Int(row.id),
                Param::Text(row.title.clone()),
                Param::Text(row.description.clone()),
                Param::Text(row.status.clone()),
                Param::Text(row.author_sub.clone()),
                Param::Text(row.author_name.clone()),
                Param::OptText(row.assignee_sub.clone()),
                Param::OptText(row.assignee_name.clone()),
                Param::Int(row.created_at),
                Param::Int(row.updated_at),
                Param::OptInt(row.closed_at),
                Param::OptText(row.closed_by_sub.clone()),
                Param::OptText(row.closed_by_name.clone()),
                Param::Int(row.version),
                Param::Int(row.comment_count),
                Param::OptInt(row.deleted_at),
                Param::Int(row.priority),
                Param::OptText(row.due_date.clone()),
            ],
            Self::Comment(row) => vec![
                Param::Int(row.id),
                Param::Int(row.issue_id),
                Param::Text(row.body.clone()),
                Param::Text(row.author_sub.clone()),
                Param::Text(row.author_name.clone()),
                Param::Int(row.created_at),
                Param::OptInt(row.edited_at),
                Param::OptInt(row.deleted_at),
                Param::OptText(row.hidden_by_name.clone()),
                Param::OptText(row.hidden_by_sub.clone()),
            ],
            Self::CommentRevision(row) => vec![
                Param::Int(row.id),
                Param::Int(row.comment_id),
                Param::Text(row.body.clone()),
                Param::Int(row.replaced_at),
                Param::Text(row.editor_name.clone()),
            ],
            Self::Mention(row) => vec![
                Param::Int(row.issue_id),
                Param::Int(row.comment_id),
                Param::Text(row.sub.clone()),
                Param::Int(row.at),
            ],
            Self::Person(row) => vec![
                Param::Text(row.sub.clone()),
                Param::Text(row.name.clone()),
                Param::Int(row.last_seen_at),
            ],
            Self::Label(row) => vec![
                Param::Int(row.id),
                Param::Text(row.name.clone()),
                Param::Text(row.name_key.clone()),
                Param::Text(row.color.clone()),
                Param::Text(row.description.clone()),
                Param::Int(row.created_at),
            ],
            Self::IssueLabel(row) => vec![Param::Int(row.issue_id), Param::Int(row.label_id)],
            Self::IssueEvent(row) => vec![
                Param::Int(row.id),
                Param::Int(row.issue_id),
                Param::Text(row.kind.clone()),
                Param::OptText(row.old_value.clone()),
                Param::OptText(row.new_value.clone()),
                Param::Text(row.actor_sub.clone()),
                Param::Text(row.actor_name.clone()),
                Param::Int(row.at),
            ],
            Self::AuditEvent(row) => vec![
                Param::Int(row.id),
                Param::Int(row.at),
                Param::OptText(row.request_id.clone()),
                Param::Text(row.event.clone()),
                Param::Text(row.outcome.clone()),
                Param::OptText(row.actor_sub.clone()),
                Param::OptText(row.actor_name.clone()),
                Param::OptText(row.client_id.clone()),
                Param::OptText(row.permission.clone()),
                Param::OptText(row.missing_scopes.clone()),
                Param::OptText(row.via.clone()),
                Param::OptText(row.detail.clone()),
                Param::Int(row.repeats),
            ],
        }
    }

    /// The record as an operator would name it.
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Header(_) => "the header".into(),
            Self::Issue(row) => format!("issue {}", row.id),
            Self::Comment(row) => format!("comment {} (on issue {})", row.id, row.issue_id),
            Self::CommentRevision(row) => format!("revision {} (of comment {})", row.id, row.comment_id),
            Self::Mention(row) if row.comment_id == 0 => {
                format!("mention of {:?} (in issue {}'s description)", row.sub, row.issue_id)
            }
            Self::Mention(row) => format!(
                "mention of {:?} (in comment {} on issue {})",
                row.sub, row.comment_id, row.issue_id
            ),
            Self::Person(row) => format!("person {:?}", row.sub),
            Self::Label(row) => format!("label {} ({:?})", row.id, row.name),
            Self::IssueLabel(row) => format!("label {} on issue {}", row.label_id, row.issue_id),
            Self::IssueEvent(row) => format!("event {} (of issue {})", row.id, row.issue_id),
            Self::AuditEvent(row) => format!("audit event {}", row.id),
        }
    }

    /// What the record refers to, for an operator told it refers to something missing.
    pub(super) fn refers_to(&self) -> &'static str {
        match self {
            Self::IssueLabel(_) => "an issue or a label",
            Self::CommentRevision(_) => "a comment",
            _ => "an issue",
        }
    }
}

impl Counts {
    /// Counts `record` in its kind.
    pub(super) fn add(&mut self, record: &Record) {
        match record {
            Record::Header(_) => {}
            Record::Issue(_) => self.issues += 1,
            Record::Comment(_) => self.comments += 1,
            Record::CommentRevision(_) => self.comment_revisions += 1,
            Record::Mention(_) => self.mentions += 1,
            Record::Person(_) => self.people += 1,
            Record::Label(_) => self.labels += 1,
            Record::IssueLabel(_) => self.issue_labels += 1,
            Record::IssueEvent(_) => self.issue_events += 1,
            Record::AuditEvent(_) => self.audit_events += 1,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::format::FORMAT_VERSION;
    use super::*;

    pub(crate) fn samples() -> Vec<Record> {
        vec![
            Record::Issue(IssueRow {
                id: 7,
                title: "Login fails".into(),
                description: "Steps".into(),
                status: "closed".into(),
                author_sub: "john".into(),
                author_name: "John".into(),
                assignee_sub: None,
                assignee_name: None,
                created_at: 1,
                updated_at: 2,
                closed_at: Some(2),
                closed_by_sub: Some("john".into()),
                closed_by_name: Some("John".into()),
                version: 2,
                comment_count: 0,
                deleted_at: None,
                priority: 3,
                due_date: Some("2027-01-31".into()),
            }),
            Record::Comment(CommentRow {
                id: 1,
                issue_id: 7,
                body: "Same here".into(),
                author_sub: "emily".into(),
                author_name: "Emily".into(),
                created_at: 3,
                edited_at: Some(4),
                deleted_at: None,
                hidden_by_name: Some("John".into()),
                hidden_by_sub: Some("john".into()),
            }),
            Record::CommentRevision(CommentRevisionRow {
                id: 5,
                comment_id: 1,
                body: "Same".into(),
                replaced_at: 4,
                editor_name: "Emily".into(),
            }),
            Record::Mention(MentionRow {
                issue_id: 7,
                comment_id: 0,
                sub: "john".into(),
                at: 1,
            }),
            Record::Person(PersonRow {
                sub: "emily".into(),
                name: "Emily".into(),
                last_seen_at: 4,
            }),
            Record::Label(LabelRow {
                id: 2,
                name: "Bug".into(),
                name_key: "bug".into(),
                color: "#d73a4a".into(),
                description: "Something is broken".into(),
                created_at: 1,
            }),
            Record::IssueLabel(IssueLabelRow {
                issue_id: 7,
                label_id: 2,
            }),
            Record::IssueEvent(IssueEventRow {
                id: 3,
                issue_id: 7,
                kind: "label_added".into(),
                old_value: None,
                new_value: Some("Bug".into()),
                actor_sub: "john".into(),
                actor_name: "John".into(),
                at: 2,
            }),
            Record::AuditEvent(AuditEventRow {
                id: 1,
                at: 5,
                request_id: None,
                event: "issue_created".into(),
                outcome: "ok".into(),
                actor_sub: Some("john".into()),
                actor_name: Some("John".into()),
                client_id: None,
                permission: None,
                missing_scopes: None,
                via: Some("rest".into()),
                detail: None,
                repeats: 1,
            }),
            Record::AuditEvent(AuditEventRow {
                id: 2,
                at: 6,
                request_id: Some("r-2".into()),
                event: "authorization".into(),
                outcome: "refused".into(),
                actor_sub: Some("emily".into()),
                actor_name: Some("Emily".into()),
                client_id: None,
                permission: Some("create_issue".into()),
                missing_scopes: Some("issues:create".into()),
                via: Some("server_function".into()),
                detail: None,
                repeats: 50,
            }),
        ]
    }

    #[test]
    fn every_record_binds_one_value_per_column_of_its_table() {
        for record in samples() {
            let table = record.table().unwrap();
            assert_eq!(
                table.columns.split(',').count(),
                record.values().len(),
                "{}",
                table.name
            );
        }
    }

    #[test]
    fn a_record_is_one_tagged_line_that_reads_back_the_same() {
        for record in samples() {
            let line = serde_json::to_string(&record).unwrap();
            assert!(line.starts_with("{\"kind\":\""), "{line}");
            assert!(!line.contains('\n'));
            assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), record);
        }
        let header = Record::Header(Header {
            version: FORMAT_VERSION,
            migrations: vec![20261122000001],
        });
        assert_eq!(
            serde_json::to_string(&header).unwrap(),
            r#"{"kind":"issues-app-export","version":1,"migrations":[20261122000001]}"#
        );
    }

    #[test]
    fn every_kind_has_its_tag_and_its_table_in_file_order() {
        let kinds: Vec<String> = samples()
            .iter()
            .map(|record| {
                let line: serde_json::Value = serde_json::to_value(record).unwrap();
                format!("{} {}", line["kind"].as_str().unwrap(), record.table().unwrap().name)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "issue issues",
                "comment comments",
                "comment_revision comment_revisions",
                "mention mentions",
                "person people",
                "label labels",
                "issue_label issue_labels",
                "issue_event issue_events",
                "audit_event audit_events",
                "audit_event audit_events",
            ]
        );
        let names: Vec<&str> = TABLES.iter().map(|table| table.name).collect();
        assert_eq!(
            names,
            [
                "issues",
                "comments",
                "comment_revisions",
                "mentions",
                "people",
                "labels",
                "issue_labels",
                "issue_events",
                "audit_events"
            ]
        );
    }

    #[test]
    fn an_issue_event_is_written_with_its_kind_as_event() {
        let event = samples()
            .into_iter()
            .find(|record| matches!(record, Record::IssueEvent(_)))
            .unwrap();
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"kind":"issue_event","id":3,"issue_id":7,"event":"label_added","old_value":null,"new_value":"Bug","actor_sub":"john","actor_name":"John","at":2}"#
        );
    }

    #[test]
    fn pages_continue_after_their_key() {
        assert_eq!(
            ISSUES.page_sql(true, true),
            format!(
                "SELECT {} FROM issues WHERE id > $1 ORDER BY id LIMIT $2",
                ISSUES.columns
            )
        );
        assert_eq!(
            PEOPLE.page_sql(true, true),
            "SELECT sub, name, last_seen_at FROM people WHERE sub COLLATE \"C\" > $1 \
             ORDER BY sub COLLATE \"C\" LIMIT $2"
        );
        assert_eq!(
            PEOPLE.page_sql(false, false),
            "SELECT sub, name, last_seen_at FROM people ORDER BY sub LIMIT $1"
        );
        for postgres in [false, true] {
            assert_eq!(
                ISSUE_LABELS.page_sql(postgres, true),
                "SELECT issue_id, label_id FROM issue_labels WHERE (issue_id, label_id) > ($1, $2) \
                 ORDER BY issue_id, label_id LIMIT $3"
            );
            assert_eq!(
                ISSUE_LABELS.page_sql(postgres, false),
                "SELECT issue_id, label_id FROM issue_labels ORDER BY issue_id, label_id LIMIT $1"
            );
        }
        assert_eq!(
            MENTIONS.page_sql(true, true),
            "SELECT issue_id, comment_id, sub, at FROM mentions \
             WHERE (issue_id, comment_id, sub COLLATE \"C\") > ($1, $2, $3) \
             ORDER BY issue_id, comment_id, sub COLLATE \"C\" LIMIT $4"
        );
        assert_eq!(
            MENTIONS.page_sql(false, true),
            "SELECT issue_id, comment_id, sub, at FROM mentions WHERE (issue_id, comment_id, sub) > ($1, $2, $3) \
             ORDER BY issue_id, comment_id, sub LIMIT $4"
        );
        assert_eq!(
            MENTIONS.page_sql(false, false),
            "SELECT issue_id, comment_id, sub, at FROM mentions ORDER BY issue_id, comment_id, sub LIMIT $1"
        );
    }

    #[test]
    fn a_comment_exported_before_edits_reads_as_never_edited_deleted_or_hidden() {
        let older = r#"{"kind":"comment","id":1,"issue_id":7,"body":"Same here","author_sub":"emily","author_name":"Emily","created_at":3}"#;
        let record: Record = serde_json::from_str(older).unwrap();
        let Record::Comment(comment) = &record else {
            unreachable!("{record:?}")
        };
        assert_eq!(
            (comment.edited_at, comment.deleted_at, comment.hidden_by_name.as_deref()),
            (None, None, None)
        );
        assert_eq!(comment.hidden_by_sub, None);
        // Written with every column.
        let line = serde_json::to_string(&record).unwrap();
        assert!(
            line.ends_with(
                r#","created_at":3,"edited_at":null,"deleted_at":null,"hidden_by_name":null,"hidden_by_sub":null}"#
            ),
            "{line}"
        );
    }

    #[test]
    fn a_mention_is_named_by_where_it_is() {
        let mention = |comment_id| {
            Record::Mention(MentionRow {
                issue_id: 7,
                comment_id,
                sub: "john".into(),
                at: 1,
            })
        };
        assert_eq!(mention(0).describe(), "mention of \"john\" (in issue 7's description)");
        assert_eq!(mention(2).describe(), "mention of \"john\" (in comment 2 on issue 7)");
    }

    #[test]
    fn an_issue_exported_before_triage_reads_with_no_priority_and_no_due_date() {
        let Some(Record::Issue(issue)) = samples().into_iter().next() else {
            unreachable!()
        };
        let mut older = serde_json::to_value(Record::Issue(issue.clone())).unwrap();
        let fields = older.as_object_mut().unwrap();
        assert!(fields.remove("priority").is_some() && fields.remove("due_date").is_some());
        let record: Record = serde_json::from_str(&older.to_string()).unwrap();
        let expected = IssueRow {
            priority: 0,
            due_date: None,
            ..issue
        };
        assert_eq!(record, Record::Issue(expected));
        // Written with every column, triage too.
        let line = serde_json::to_string(&record).unwrap();
        assert!(
            line.ends_with(r#","deleted_at":null,"priority":0,"due_date":null}"#),
            "{line}"
        );
    }

    #[test]
    fn repeats_are_written_only_when_counted_and_older_exports_read_as_once() {
        let older = r#"{"kind":"audit_event","id":1,"at":5,"request_id":null,"event":"sign_in","outcome":"ok","actor_sub":null,"actor_name":null,"client_id":null,"permission":null,"missing_scopes":null,"via":null,"detail":null}"#;
        let record: Record = serde_json::from_str(older).unwrap();
        assert!(
            matches!(&record, Record::AuditEvent(row) if row.repeats == 1),
            "{record:?}"
        );
        // Written back the same: the line an older build wrote, and can read.
        assert_eq!(serde_json::to_string(&record).unwrap(), older);
        let Record::AuditEvent(mut row) = record else {
            unreachable!()
        };
        row.repeats = 50;
        let line = serde_json::to_string(&Record::AuditEvent(row)).unwrap();
        assert!(line.ends_with(r#","repeats":50}"#), "{line}");
    }
}
