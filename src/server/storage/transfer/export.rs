//! `export`: every row the team owns, table by table (in the order of `record::TABLES`) in keyset
//! pages from one read-only snapshot, written as JSON Lines after the header.

use std::io::{BufWriter, Write};

use sqlx::FromRow;
use sqlx::migrate::{Migrate, MigrateError};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::format::{Counts, ExportOptions, FORMAT_VERSION, PAGE_ROWS, TransferError, WRITE_BUFFER, ensure_current};
use super::record::{
    AuditEventRow, CommentRevisionRow, CommentRow, Exported, Header, IssueEventRow, IssueLabelRow, IssueRow, Key,
    LabelRow, MentionRow, PersonRow, Record,
};
use crate::on_db;
use crate::server::storage::db::Db;

/// The versions of the migrations applied to `db`.
async fn applied_migrations(db: &Db) -> Result<Vec<i64>, MigrateError> {
    let applied = on_db!(db, |pool| pool.acquire().await?.list_applied_migrations().await?);
    Ok(applied.into_iter().map(|migration| migration.version).collect())
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
                    Some(Key::IntPair(first, second)) => query.bind(*first).bind(*second),
                    Some(Key::IntIntText(first, second, text)) => query.bind(*first).bind(*second).bind(text.clone()),
                };
                query.bind(PAGE_ROWS).fetch_all(&mut **tx).await
            }
            Self::Postgres(tx) => {
                let mut query = sqlx::query_as::<sqlx::Postgres, R>(&sql);
                query = match after {
                    None => query,
                    Some(Key::Int(id)) => query.bind(*id),
                    Some(Key::Text(text)) => query.bind(text.clone()),
                    Some(Key::IntPair(first, second)) => query.bind(*first).bind(*second),
                    Some(Key::IntIntText(first, second, text)) => query.bind(*first).bind(*second).bind(text.clone()),
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
    // Each after what it refers to (see `record::TABLES`); an issue's history is kept as long
    // as the issue, so it always goes with it.
    let issues = export_table::<IssueRow>(&mut snapshot, &mut out).await?;
    let comments = export_table::<CommentRow>(&mut snapshot, &mut out).await?;
    let comment_revisions = export_table::<CommentRevisionRow>(&mut snapshot, &mut out).await?;
    let mentions = export_table::<MentionRow>(&mut snapshot, &mut out).await?;
    let people = export_table::<PersonRow>(&mut snapshot, &mut out).await?;
    let labels = export_table::<LabelRow>(&mut snapshot, &mut out).await?;
    let issue_labels = export_table::<IssueLabelRow>(&mut snapshot, &mut out).await?;
    let issue_events = export_table::<IssueEventRow>(&mut snapshot, &mut out).await?;
    let audit_events = match options.audit {
        true => export_table::<AuditEventRow>(&mut snapshot, &mut out).await?,
        false => 0,
    };
    snapshot.finish().await?;
    out.flush().map_err(TransferError::Write)?;
    Ok(Counts {
        issues,
        comments,
        comment_revisions,
        mentions,
        people,
        labels,
        issue_labels,
        issue_events,
        audit_events,
    })
}
