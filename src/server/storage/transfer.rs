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

use std::fmt;
use std::io::{BufRead, BufWriter, Read, Write};

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::migrate::{Migrate, MigrateError};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::server::storage::db::Db;
use crate::server::storage::sql::{Param, Sql};
use crate::{bind_all, on_db};

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
}

/// A table as the export reads it and the import writes it. `columns` is in the order of the
/// row's fields and of [`Record::values`].
struct Table {
    name: &'static str,
    columns: &'static str,
    /// The unique column rows are exported in order of.
    key: &'static str,
    /// The key is text: ordered by bytes on both backends (PostgreSQL's default collation
    /// would order it by the server's locale).
    text_key: bool,
    /// PostgreSQL generates the ids (`GENERATED ALWAYS AS IDENTITY`) unless told to take them.
    identity: bool,
    /// How a row meets one already there when merging (`--into-non-empty`).
    on_merge: Option<&'static str>,
}

const ISSUES: Table = Table {
    name: "issues",
    columns: "id, title, description, status, author_sub, author_name, assignee_sub, assignee_name, \
              created_at, updated_at, closed_at, closed_by_sub, closed_by_name, version, comment_count, deleted_at",
    key: "id",
    text_key: false,
    identity: true,
    on_merge: None,
};

const COMMENTS: Table = Table {
    name: "comments",
    columns: "id, issue_id, body, author_sub, author_name, created_at",
    key: "id",
    text_key: false,
    identity: true,
    on_merge: None,
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
};

const AUDIT_EVENTS: Table = Table {
    name: "audit_events",
    columns: "id, at, request_id, event, outcome, actor_sub, actor_name, client_id, permission, \
              missing_scopes, via, detail",
    key: "id",
    text_key: false,
    identity: false,
    on_merge: None,
};

impl Table {
    /// A page of rows in key order: the first, or those after the key bound as `$1`.
    fn page_sql(&self, postgres: bool, continuing: bool) -> String {
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
enum Key {
    Int(i64),
    Text(String),
}

/// A row type the export reads from its table.
trait Exported: Sized + Send + Unpin + 'static {
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
    fn table(&self) -> Option<&'static Table> {
        match self {
            Self::Header(_) => None,
            Self::Issue(_) => Some(&ISSUES),
            Self::Comment(_) => Some(&COMMENTS),
            Self::Person(_) => Some(&PEOPLE),
            Self::AuditEvent(_) => Some(&AUDIT_EVENTS),
        }
    }

    /// The row's values in the order of its table's `columns`.
    fn values(&self) -> Vec<Param> {
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
            ],
        }
    }

    /// The record as an operator would name it.
    fn describe(&self) -> String {
        match self {
            Self::Header(_) => "the header".into(),
            Self::Issue(row) => format!("issue {}", row.id),
            Self::Comment(row) => format!("comment {} (on issue {})", row.id, row.issue_id),
            Self::Person(row) => format!("person {:?}", row.sub),
            Self::AuditEvent(row) => format!("audit event {}", row.id),
        }
    }
}

/// The versions of the migrations applied to `db`.
async fn applied_migrations(db: &Db) -> Result<Vec<i64>, MigrateError> {
    let applied = on_db!(db, |pool| pool.acquire().await?.list_applied_migrations().await?);
    Ok(applied.into_iter().map(|migration| migration.version).collect())
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

/// One consistent view of the database for the whole export: SQLite's read transaction (WAL)
/// sees the database as of its first read; PostgreSQL's `REPEATABLE READ` as of its first
/// statement.
enum Snapshot {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Snapshot {
    async fn begin(db: &Db) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Db::Sqlite(pool) => Self::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Self::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?,
            ),
        })
    }

    /// The page of `R`'s table after `after` (from the start: `None`).
    async fn page<R>(&mut self, after: Option<&Key>) -> Result<Vec<R>, sqlx::Error>
    where
        R: Exported + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>,
    {
        let sql = R::TABLE.page_sql(matches!(self, Self::Postgres(_)), after.is_some());
        match self {
            Self::Sqlite(tx) => {
                let mut query = sqlx::query_as::<sqlx::Sqlite, R>(&sql);
                query = match after {
                    None => query,
                    Some(Key::Int(id)) => query.bind(*id),
                    Some(Key::Text(text)) => query.bind(text.clone()),
                };
                query.bind(PAGE_ROWS).fetch_all(&mut **tx).await
            }
            Self::Postgres(tx) => {
                let mut query = sqlx::query_as::<sqlx::Postgres, R>(&sql);
                query = match after {
                    None => query,
                    Some(Key::Int(id)) => query.bind(*id),
                    Some(Key::Text(text)) => query.bind(text.clone()),
                };
                query.bind(PAGE_ROWS).fetch_all(&mut **tx).await
            }
        }
    }

    /// Ends the snapshot (it wrote nothing).
    async fn finish(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        }
    }
}

fn write_record(out: &mut impl Write, record: &Record) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, record).map_err(|error| TransferError::Write(error.into()))?;
    out.write_all(b"\n").map_err(TransferError::Write)
}

/// Writes every row of `R`'s table, page by page; how many.
async fn export_table<R>(snapshot: &mut Snapshot, out: &mut impl Write) -> Result<u64, TransferError>
where
    R: Exported + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>,
{
    let mut after: Option<Key> = None;
    let mut written = 0;
    loop {
        let rows = snapshot.page::<R>(after.as_ref()).await?;
        let full = rows.len() as i64 == PAGE_ROWS;
        after = rows.last().map(R::key);
        for row in rows {
            write_record(out, &row.into_record())?;
            written += 1;
        }
        if !full {
            return Ok(written);
        }
    }
}

/// Writes everything the team owns in `db` to `out` as JSON Lines (see the module's
/// documentation); what was written, per kind. `out` is buffered here. (No `Send` bound: a
/// locked stdout is not `Send`; with a `Send` writer the future is `Send` too.)
pub async fn export(db: &Db, out: &mut impl std::io::Write, options: &ExportOptions) -> Result<Counts, TransferError> {
    ensure_current(db).await?;
    // Before the snapshot takes a connection: a pool may have only one.
    let migrations = applied_migrations(db).await?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, out);
    let mut snapshot = Snapshot::begin(db).await?;
    write_record(
        &mut out,
        &Record::Header(Header {
            version: FORMAT_VERSION,
            migrations,
        }),
    )?;
    let issues = export_table::<IssueRow>(&mut snapshot, &mut out).await?;
    let comments = export_table::<CommentRow>(&mut snapshot, &mut out).await?;
    let people = export_table::<PersonRow>(&mut snapshot, &mut out).await?;
    let audit_events = match options.audit {
        true => export_table::<AuditEventRow>(&mut snapshot, &mut out).await?,
        false => 0,
    };
    snapshot.finish().await?;
    out.flush().map_err(TransferError::Write)?;
    Ok(Counts {
        issues,
        comments,
        people,
        audit_events,
    })
}

/// Reads line `number` into `line` (cleared first); `false` at the end of the input.
fn read_line(input: &mut impl BufRead, line: &mut String, number: usize) -> Result<bool, TransferError> {
    line.clear();
    let read = Read::take(&mut *input, MAX_LINE_BYTES + 1).read_line(line);
    match read {
        Ok(0) => Ok(false),
        Ok(n) if n as u64 > MAX_LINE_BYTES => Err(TransferError::Line {
            line: number,
            message: format!("longer than {} MiB: not a record", MAX_LINE_BYTES / (1024 * 1024)),
        }),
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => Err(TransferError::Line {
            line: number,
            message: "not UTF-8 text".into(),
        }),
        Err(error) => Err(TransferError::Read(error)),
    }
}

/// Checks the header line: an issues-app export, in this build's format.
fn check_header(text: &str) -> Result<(), TransferError> {
    let header: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| TransferError::NotAnExport("its first line is not a JSON object".into()))?;
    if header.get("kind").and_then(serde_json::Value::as_str) != Some(HEADER_KIND) {
        return Err(TransferError::NotAnExport(format!(
            "its first line is not the header ({{\"kind\":\"{HEADER_KIND}\",…}})"
        )));
    }
    match header.get("version") {
        Some(version) if version.as_u64() == Some(FORMAT_VERSION) => Ok(()),
        Some(version) => Err(TransferError::UnsupportedVersion {
            found: version.to_string(),
        }),
        None => Err(TransferError::UnsupportedVersion { found: "none".into() }),
    }
}

/// serde_json's message without its position in the (one-line) text, with the column.
fn json_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let bare = text.rsplit_once(" at line ").map_or(text.as_str(), |(bare, _)| bare);
    format!("{bare} (column {})", error.column())
}

fn parse_record(text: &str, line: usize) -> Result<Record, TransferError> {
    match serde_json::from_str::<Record>(text) {
        Ok(Record::Header(_)) => Err(TransferError::Line {
            line,
            message: "a second header: an export has one, on its first line".into(),
        }),
        Ok(record) => Ok(record),
        Err(error) => Err(TransferError::Line {
            line,
            message: json_problem(&error),
        }),
    }
}

/// Whether `db` has issues or people.
async fn holds_a_team(db: &Db) -> Result<bool, sqlx::Error> {
    for sql in [
        "SELECT EXISTS (SELECT 1 FROM issues)",
        "SELECT EXISTS (SELECT 1 FROM people)",
    ] {
        let found = on_db!(db, |pool| sqlx::query_scalar::<_, bool>(sql).fetch_one(pool).await)?;
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One `INSERT` of `rows` (all of `table`).
fn insert(table: &Table, rows: &[(usize, Record)], postgres: bool, merge: bool) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!("INSERT INTO {} ({})", table.name, table.columns));
    if postgres && table.identity {
        sql.push(" OVERRIDING SYSTEM VALUE");
    }
    sql.push(" VALUES ");
    for (index, (_, record)) in rows.iter().enumerate() {
        let placeholders: Vec<String> = record.values().into_iter().map(|value| sql.bind(value)).collect();
        if index > 0 {
            sql.push(", ");
        }
        sql.push(&format!("({})", placeholders.join(", ")));
    }
    if merge && let Some(clause) = table.on_merge {
        sql.push(" ");
        sql.push(clause);
    }
    sql
}

/// The statements storing `batch`: runs of one kind, at most `most` rows each, with the index
/// in `batch` of each one's first row.
fn inserts(batch: &[(usize, Record)], postgres: bool, merge: bool, most: usize) -> Vec<(usize, Sql)> {
    let mut statements = Vec::new();
    let mut start = 0;
    for run in batch.chunk_by(|(_, a), (_, b)| std::mem::discriminant(a) == std::mem::discriminant(b)) {
        for rows in run.chunks(most.max(1)) {
            if let Some(table) = rows.first().and_then(|(_, record)| record.table()) {
                statements.push((start, insert(table, rows, postgres, merge)));
            }
            start += rows.len();
        }
    }
    statements
}

/// Runs `statements` in one transaction: all or nothing.
async fn run_all(db: &Db, statements: &[(usize, Sql)]) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (_, sql) in statements {
            bind_all!(sqlx::query(&sql.text), sql).execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// Runs `statements` in a transaction that is undone whatever happens, up to the first that
/// fails: its index, and why.
async fn first_failure(db: &Db, statements: &[(usize, Sql)]) -> Result<Option<(usize, sqlx::Error)>, sqlx::Error> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        for (index, sql) in statements {
            if let Err(error) = bind_all!(sqlx::query(&sql.text), sql).execute(&mut *tx).await {
                return Ok(Some((*index, error)));
            }
        }
        tx.rollback().await?;
        Ok(None)
    })
}

/// What the database said about a record it refused, for an operator.
fn refusal(record: &Record, error: &sqlx::Error) -> String {
    let what = record.describe();
    match error {
        sqlx::Error::Database(error) if error.is_unique_violation() => format!(
            "{what} is already in the database (ids are kept as exported): {}",
            error.message()
        ),
        sqlx::Error::Database(error) if error.is_foreign_key_violation() => format!(
            "{what} refers to an issue neither in the database nor earlier in the export: {}",
            error.message()
        ),
        sqlx::Error::Database(error) => format!("{what}: {}", error.message()),
        error => format!("{what}: {error}"),
    }
}

/// Stores `batch` in one transaction. When the database refuses it, finds the line it refused
/// by trying the rows one at a time (undone again).
async fn write_batch(db: &Db, batch: &[(usize, Record)], merge: bool) -> Result<(), TransferError> {
    let postgres = matches!(db, Db::Postgres(_));
    let error = match run_all(db, &inserts(batch, postgres, merge, BATCH_ROWS)).await {
        Ok(()) => return Ok(()),
        Err(error @ sqlx::Error::Database(_)) => error,
        Err(error) => return Err(error.into()),
    };
    match first_failure(db, &inserts(batch, postgres, merge, 1)).await? {
        Some((index, failure)) => match batch.get(index) {
            Some((line, record)) => Err(TransferError::Line {
                line: *line,
                message: refusal(record, &failure),
            }),
            None => Err(failure.into()),
        },
        None => Err(error.into()),
    }
}

/// Reads the records after the header, storing them batch by batch.
async fn import_records(
    db: &Db,
    input: &mut impl BufRead,
    line: &mut String,
    merge: bool,
) -> Result<Counts, TransferError> {
    let mut counts = Counts::default();
    let mut batch: Vec<(usize, Record)> = Vec::with_capacity(BATCH_ROWS);
    let mut number = 1;
    loop {
        number += 1;
        let more = read_line(input, line, number)?;
        if more && line.trim().is_empty() {
            continue;
        }
        if more {
            batch.push((number, parse_record(line, number)?));
        }
        if batch.len() == BATCH_ROWS || (!more && !batch.is_empty()) {
            write_batch(db, &batch, merge).await?;
            for (_, record) in &batch {
                counts.add(record);
            }
            batch.clear();
        }
        if !more {
            return Ok(counts);
        }
    }
}

/// PostgreSQL draws new ids from sequences the import's given ids did not advance: each goes on
/// after the largest id now in its table. (SQLite's `AUTOINCREMENT` follows given ids itself.)
async fn continue_ids(db: &Db) -> Result<(), sqlx::Error> {
    let Db::Postgres(pool) = db else {
        return Ok(());
    };
    for table in ["issues", "comments", "audit_events"] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
        );
        sqlx::query(&sql).execute(pool).await?;
    }
    Ok(())
}

/// Reads an export (see the module's documentation) into `db`, keeping ids, authors and times;
/// what was stored, per kind. Refuses a database that already has issues or people unless
/// `options.into_non_empty`. Lines are stored [`BATCH_ROWS`] per transaction: after a failure
/// the batches before the failing one stay (import into a fresh database again).
pub async fn import(
    db: &Db,
    mut input: impl std::io::BufRead,
    options: &ImportOptions,
) -> Result<Counts, TransferError> {
    ensure_current(db).await?;
    let mut line = String::new();
    match read_line(&mut input, &mut line, 1) {
        Ok(true) => check_header(&line)?,
        Ok(false) => return Err(TransferError::NotAnExport("the input is empty".into())),
        Err(TransferError::Line { message, .. }) => return Err(TransferError::NotAnExport(message)),
        Err(error) => return Err(error),
    }
    if !options.into_non_empty && holds_a_team(db).await? {
        return Err(TransferError::NotEmpty);
    }
    let imported = import_records(db, &mut input, &mut line, options.into_non_empty).await;
    // Also after a failure: the batches stored before it keep their ids.
    let continued = continue_ids(db).await;
    let counts = imported?;
    continued?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Record> {
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
    fn unknown_fields_are_refused_rather_than_dropped() {
        let line = r#"{"kind":"person","sub":"a","name":"A","last_seen_at":1,"email":"a@example.com"}"#;
        let error = parse_record(line, 9).unwrap_err();
        assert!(
            matches!(&error, TransferError::Line { line: 9, message } if message.contains("email")),
            "{error}"
        );
    }

    #[test]
    fn runs_of_one_kind_become_one_statement() {
        let mut batch: Vec<(usize, Record)> = samples().into_iter().enumerate().collect();
        batch.insert(1, batch[0].clone());
        if let Some((_, Record::Issue(issue))) = batch.get_mut(1) {
            issue.id = 8;
        }
        let statements = inserts(&batch, true, false, BATCH_ROWS);
        let starts: Vec<usize> = statements.iter().map(|(start, _)| *start).collect();
        assert_eq!(starts, [0, 2, 3, 4]);
        assert!(
            statements[0].1.text.starts_with("INSERT INTO issues (id, title"),
            "{}",
            statements[0].1.text
        );
        assert!(statements[0].1.text.contains("OVERRIDING SYSTEM VALUE VALUES ($1, $2"));
        assert_eq!(statements[0].1.params.len(), 32);
        assert_eq!(inserts(&batch, false, false, 1).len(), 5);
        assert!(!inserts(&batch, false, false, 1)[0].1.text.contains("OVERRIDING"));
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
