//! `issues-app export` / `issues-app import`: everything a team owns as JSON Lines — its issues
//! (soft-deleted ones too, every column, their triage included), their comments (edited, deleted
//! and hidden ones too) with the earlier bodies of those edited, who is mentioned where, the
//! people who signed in, the labels and which issues carry them, each issue's history and, when
//! asked, the audit trail — with ids, authors and times as stored, so a database moves between
//! SQLite and PostgreSQL (or to a new machine) and exports again byte for byte the same.
//!
//! The format: a header line `{"kind":"issues-app-export","version":1,"migrations":[…]}` (the
//! migrations applied to the database it came from, for the reader's information), then one
//! [`Record`] per line, tagged by `kind`: every `issue` (by id), every `comment` (by id), every
//! `comment_revision` (a comment's earlier body, by id), every `mention` (a person mentioned in an
//! issue's description, `comment_id` 0, or in a comment; by issue, comment, then `sub` in byte
//! order), every `person` (by `sub`, in byte order), every `label` (by id), every `issue_label` (a
//! label on an issue, by issue then label), every `issue_event` (an issue's history, by id), then
//! every `audit_event` (by id). Parents come before their children, so an import can insert line
//! by line. Times are integers exactly as stored (the same `BIGINT`/`INTEGER` on both backends):
//! issues, comments, comment revisions, mentions, labels and issue events in milliseconds since
//! the Unix epoch, people's `last_seen_at` and audit events' `at` in seconds. An audit event's
//! `repeats` (a refusal counted within its minute) is written only when more than 1, and read as
//! 1 when absent; an issue's `priority` (0–4) and `due_date` (`YYYY-MM-DD` or null) and a
//! comment's `edited_at`, `deleted_at`, `hidden_by_name` and `hidden_by_sub` are always written, and read as 0 and
//! null when absent (exports made before triage, or before comments could change), so the format
//! stays at version 1.
//!
//! An issue's history is kept as long as the issue and always exported; the audit trail only
//! with `--audit`, and its events are numbered by the importing database (nothing refers to
//! them). Every other id is kept.
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
//! two directions; `format.rs` what they share.

mod export;
mod format;
mod import;
mod record;

pub use export::export;
pub use format::{
    BATCH_ROWS, Counts, ExportOptions, FORMAT_VERSION, HEADER_KIND, ImportOptions, PAGE_ROWS, TransferError,
};
pub use import::import;
pub use record::{
    AuditEventRow, CommentRevisionRow, CommentRow, Header, IssueEventRow, IssueLabelRow, IssueRow, LabelRow,
    MentionRow, PersonRow, Record,
};
