//! What both directions share: the format's constants, the options, what was moved (`Counts`)
//! and the one error type, and the check that the database has this build's record shapes.

use std::fmt;

use sqlx::migrate::MigrateError;

use crate::server::storage::db::Db;

/// The header's `kind`.
pub const HEADER_KIND: &str = "issues-app-export";
/// The format this build writes and reads. Bumped whenever a record's fields change in a way
/// older exports cannot be read by: a new optional field with a default (`audit_event`'s
/// `repeats`, 1 when absent; `issue`'s `priority` and `due_date`, 0 and none; `comment`'s
/// `edited_at`, `deleted_at`, `hidden_by_name` and `hidden_by_sub`, none) is not such a change, nor is a new kind
/// of record (`label`, `issue_label`, `issue_event`, `comment_revision`, `mention`: an older
/// export has none).
pub const FORMAT_VERSION: u64 = 1;
/// Rows an export reads per query.
pub const PAGE_ROWS: i64 = 1000;
/// Lines an import writes per transaction.
pub const BATCH_ROWS: usize = 500;
/// Longest line an import reads (a record is a few kilobytes; this bounds a damaged file's).
pub(super) const MAX_LINE_BYTES: u64 = 8 * 1024 * 1024;
/// The export's own buffer: one write per record would be one system call per line.
pub(super) const WRITE_BUFFER: usize = 64 * 1024;

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
    #[error("{}", crate::server::storage::db::newer_database(.versions))]
    NewerDatabase { versions: Vec<i64> },
    #[error(
        "the database already has issues, labels or people: import into an empty database, or pass \
         `--into-non-empty` to merge (ids are kept, so an issue, comment, comment revision, label or \
         issue event whose id is taken is refused, as is a label whose name is taken or a mention \
         already recorded; people are merged by `sub`)"
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
    /// Import into a database that already has issues, labels or people (`--into-non-empty`).
    pub into_non_empty: bool,
}

/// Records exported or imported, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub issues: u64,
    pub comments: u64,
    /// Comments' earlier bodies.
    pub comment_revisions: u64,
    /// People mentioned in issues' descriptions and comments.
    pub mentions: u64,
    pub people: u64,
    pub labels: u64,
    /// Labels put on issues (`issue_label` records).
    pub issue_labels: u64,
    /// Events of issues' histories.
    pub issue_events: u64,
    pub audit_events: u64,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counted = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {}, {}, {}, {}, {}, {}, {}",
            counted(self.issues, "issue", "issues"),
            counted(self.comments, "comment", "comments"),
            counted(self.comment_revisions, "comment revision", "comment revisions"),
            counted(self.mentions, "mention", "mentions"),
            counted(self.people, "person", "people"),
            counted(self.labels, "label", "labels"),
            counted(self.issue_labels, "label on an issue", "labels on issues"),
            counted(self.issue_events, "issue event", "issue events"),
            counted(self.audit_events, "audit event", "audit events"),
        )
    }
}

/// Refuses a database this build's record shapes do not match: one not migrated yet, or one a
/// newer build migrated (its columns would be left out).
pub(super) async fn ensure_current(db: &Db) -> Result<(), TransferError> {
    let status = db.migration_status().await?;
    if !status.unknown.is_empty() {
        return Err(TransferError::NewerDatabase {
            versions: status.unknown,
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

    #[test]
    fn counts_read_as_a_sentence() {
        let counts = Counts {
            issues: 12,
            comments: 1,
            comment_revisions: 2,
            mentions: 1,
            people: 3,
            labels: 2,
            issue_labels: 1,
            issue_events: 30,
            audit_events: 0,
        };
        assert_eq!(
            counts.to_string(),
            "12 issues, 1 comment, 2 comment revisions, 1 mention, 3 people, 2 labels, 1 label on an issue, \
             30 issue events, 0 audit events"
        );
    }
}
