//! `issues-app export` / `issues-app import`: everything a team owns as JSON Lines — its issues
//! (soft-deleted ones too, every column), their comments, the people who signed in and, when
//! asked, the audit trail — with ids, authors and times as stored, so a database moves between
//! SQLite and PostgreSQL (or to a new machine) and exports again byte for byte the same.
//!
//! The format: a header line `{"kind":"issues-app-export","version":1,"migrations":[…]}` (the
//! migrations applied to the database it came from, for the reader's information), then one
//! [`Record`] per line, tagged by `kind`: every `issue` (by id), every `comment` (by id), every
//! `person` (by `sub`, in byte order), then every `audit_event` (by id). Parents come before
//! their children, so an import can insert line by line. Times are integers exactly as stored
//! (the same `BIGINT`/`INTEGER` on both backends): issues and comments in milliseconds since the
//! Unix epoch, people's `last_seen_at` and audit events' `at` in seconds.
//!
//! Not exported, by design: browser sessions (`sessions`, and the previous release's
//! `tower_sessions`), sign-ins with their sealed IdP tokens (`sign_ins`), and the back-channel
//! logout tokens already seen (`logout_tokens_seen`) — secrets and sign-in state belong to the
//! installation, not to the team; everyone signs in again after a move. What the database
//! derives (`issue_counts`, the full-text indexes) is rebuilt by its triggers and generated
//! columns as the rows go in.
//!
//! Both directions stream: an export reads keyset pages of [`PAGE_ROWS`] rows inside one
//! read-only snapshot (so a comment never refers to an issue the export lacks, even while the app
//! serves), and an import writes [`BATCH_ROWS`] lines per transaction; memory stays bounded
//! whatever the database's size. The database must be migrated first (`Db::migrate`).
//!
//! `record.rs` has the records and the tables they are rows of; `export.rs` and `import.rs` the
//! two directions.

use std::fmt;

use sqlx::migrate::MigrateError;

use crate::server::storage::db::Db;

mod export;
mod import;
mod record;

pub use export::export;
pub use import::import;
pub use record::{AuditEventRow, CommentRow, Header, IssueRow, PersonRow, Record};

/// The header's `kind`.
pub const HEADER_KIND: &str = "issues-app-export";
/// The format this build writes and reads. Bumped whenever a record's fields change.
pub const FORMAT_VERSION: u64 = 1;
/// Rows an export reads per query.
pub const PAGE_ROWS: i64 = 1000;
/// Lines an import writes per transaction.
pub const BATCH_ROWS: usize = 500;
/// Longest line an import reads (a record is a few kilobytes; this bounds a damaged file's).
const MAX_LINE_BYTES: u64 = 8 * 1024 * 1024;
/// The export's own buffer: one write per record would be one system call per line.
const WRITE_BUFFER: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database's migrations: {0}")]
    Migrations(#[from] MigrateError),
    #[error(
        "the database is not migrated: {pending} of this build's migrations are not applied yet \
         (starting the app applies them)"
    )]
    NotMigrated { pending: usize },
    #[error(
        "the database was migrated by a newer issues-app (migrations {versions}): use that version, \
         which knows its columns"
    )]
    NewerDatabase { versions: String },
    #[error(
        "the database already has issues or people: import into an empty database, or pass \
         `--into-non-empty` to merge (ids are kept, so an issue, comment or audit event whose id is \
         taken is refused; people are merged by `sub`)"
    )]
    NotEmpty,
    #[error("this is not an issues-app export: {0}")]
    NotAnExport(String),
    #[error(
        "this export is in format version {found}; this issues-app reads version {reads}: import it \
         with the version that wrote it",
        reads = FORMAT_VERSION
    )]
    UnsupportedVersion { found: String },
    /// A line that cannot be read or stored. Nothing of its batch was written (the batches
    /// before it were).
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("reading the export: {0}")]
    Read(#[source] std::io::Error),
    #[error("writing the export: {0}")]
    Write(#[source] std::io::Error),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Include the audit trail (`audit_event` records).
    pub audit: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Import into a database that already has issues or people (`--into-non-empty`).
    pub into_non_empty: bool,
}

/// Records exported or imported, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub issues: u64,
    pub comments: u64,
    pub people: u64,
    pub audit_events: u64,
}

impl Counts {
    fn add(&mut self, record: &Record) {
        match record {
            Record::Header(_) => {}
            Record::Issue(_) => self.issues += 1,
            Record::Comment(_) => self.comments += 1,
            Record::Person(_) => self.people += 1,
            Record::AuditEvent(_) => self.audit_events += 1,
        }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counted = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {}, {}",
            counted(self.issues, "issue", "issues"),
            counted(self.comments, "comment", "comments"),
            counted(self.people, "person", "people"),
            counted(self.audit_events, "audit event", "audit events"),
        )
    }
}

/// Refuses a database this build's record shapes do not match: one not migrated yet, or one a
/// newer build migrated (its columns would be left out).
async fn ensure_current(db: &Db) -> Result<(), TransferError> {
    let status = db.migration_status().await?;
    if !status.unknown.is_empty() {
        let versions: Vec<String> = status.unknown.iter().map(i64::to_string).collect();
        return Err(TransferError::NewerDatabase {
            versions: versions.join(", "),
        });
    }
    if status.pending > 0 {
        return Err(TransferError::NotMigrated {
            pending: status.pending,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn samples() -> Vec<Record> {
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
            }),
        ]
    }

    #[test]
    fn counts_read_as_a_sentence() {
        let counts = Counts {
            issues: 12,
            comments: 1,
            people: 3,
            audit_events: 0,
        };
        assert_eq!(counts.to_string(), "12 issues, 1 comment, 3 people, 0 audit events");
    }
}
