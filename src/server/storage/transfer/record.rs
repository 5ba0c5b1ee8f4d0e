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
    Person(PersonRow),
    AuditEvent(AuditEventRow),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub version: u64,
    /// The versions of the migrations applied to the database exported.
    #[serde(default)]
    pub migrations: Vec<i64>,
}

/// A row of `issues`, deleted or not. Times in milliseconds since the Unix epoch.
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
}

/// A row of `comments`. `created_at` in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct CommentRow {
    pub id: i64,
    pub issue_id: i64,
    pub body: String,
    pub author_sub: String,
    pub author_name: String,
    pub created_at: i64,
}

/// A row of `people`. `last_seen_at` in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct PersonRow {
    pub sub: String,
    pub name: String,
    pub last_seen_at: i64,
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
    /// The unique column rows are exported in order of.
    key: &'static str,
    /// The key is text: ordered by bytes on both backends (PostgreSQL's default collation
    /// would order it by the server's locale).
    text_key: bool,
    /// PostgreSQL generates the ids (`GENERATED ALWAYS AS IDENTITY`) unless told to take them.
    pub(super) identity: bool,
    /// How a row meets one already there when merging (`--into-non-empty`).
    pub(super) on_merge: Option<&'static str>,
    /// The importing database numbers the rows (its first column, `id`, is left out): nothing
    /// refers to them, and a database that has run keeps what it recorded. In an empty one
    /// the numbers come out as exported, unless the export's had gaps.
    pub(super) numbered_on_import: bool,
}

const ISSUES: Table = Table {
    name: "issues",
    columns: "id, title, description, status, author_sub, author_name, assignee_sub, assignee_name, \
              created_at, updated_at, closed_at, closed_by_sub, closed_by_name, version, comment_count, deleted_at",
    key: "id",
    text_key: false,
    identity: true,
    on_merge: None,
    numbered_on_import: false,
};

const COMMENTS: Table = Table {
    name: "comments",
    columns: "id, issue_id, body, author_sub, author_name, created_at",
    key: "id",
    text_key: false,
    identity: true,
    on_merge: None,
    numbered_on_import: false,
};

const PEOPLE: Table = Table {
    name: "people",
    columns: "sub, name, last_seen_at",
    key: "sub",
    text_key: true,
    identity: false,
    // The most recently seen name wins, as at sign-in.
    on_merge: Some(
        "ON CONFLICT (sub) DO UPDATE SET name = excluded.name, last_seen_at = excluded.last_seen_at \
         WHERE excluded.last_seen_at > people.last_seen_at",
    ),
    numbered_on_import: false,
};

const AUDIT_EVENTS: Table = Table {
    name: "audit_events",
    columns: "id, at, request_id, event, outcome, actor_sub, actor_name, client_id, permission, \
              missing_scopes, via, detail, repeats",
    key: "id",
    text_key: false,
    identity: false,
    on_merge: None,
    numbered_on_import: true,
};

impl Table {
    /// A page of rows in key order: the first, or those after the key bound as `$1`.
    pub(super) fn page_sql(&self, postgres: bool, continuing: bool) -> String {
        let key = match (postgres, self.text_key) {
            (true, true) => format!("{} COLLATE \"C\"", self.key),
            _ => self.key.to_string(),
        };
        let (columns, name) = (self.columns, self.name);
        match continuing {
            true => format!("SELECT {columns} FROM {name} WHERE {key} > $1 ORDER BY {key} LIMIT $2"),
            false => format!("SELECT {columns} FROM {name} ORDER BY {key} LIMIT $1"),
        }
    }
}

/// Where an export's next page starts.
pub(super) enum Key {
    Int(i64),
    Text(String),
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

impl Exported for PersonRow {
    const TABLE: &'static Table = &PEOPLE;
    fn key(&self) -> Key {
        Key::Text(self.sub.clone())
    }
    fn into_record(self) -> Record {
        Record::Person(self)
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
            Self::Person(_) => Some(&PEOPLE),
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
            ],
            Self::Comment(row) => vec![
                Param::Int(row.id),
                Param::Int(row.issue_id),
                Param::Text(row.body.clone()),
                Param::Text(row.author_sub.clone()),
                Param::Text(row.author_name.clone()),
                Param::Int(row.created_at),
            ],
            Self::Person(row) => vec![
                Param::Text(row.sub.clone()),
                Param::Text(row.name.clone()),
                Param::Int(row.last_seen_at),
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
            Self::Person(row) => format!("person {:?}", row.sub),
            Self::AuditEvent(row) => format!("audit event {}", row.id),
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
            Record::Person(_) => self.people += 1,
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
            }),
            Record::Comment(CommentRow {
                id: 1,
                issue_id: 7,
                body: "Same here".into(),
                author_sub: "emily".into(),
                author_name: "Emily".into(),
                created_at: 3,
            }),
            Record::Person(PersonRow {
                sub: "emily".into(),
                name: "Emily".into(),
                last_seen_at: 4,
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
